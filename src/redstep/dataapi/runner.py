"""Running a statement on a connection and recording every step of its life.

SUBMITTED → PICKED (a worker took it) → STARTED (its SQL is on the engine) → FINISHED, FAILED or
ABORTED. ExecuteStatement SQL holding several statements runs as Redshift's simple query protocol
runs it: in one transaction, the last statement's result being the statement's result. A batch
runs its Sqls serially; in TRANSACTION mode a failure rolls back all of them (the failing one
reads FAILED, the ones before it FINISHED, the ones after it ABORTED, never run); in AUTO_COMMIT
mode each commits on its own and a failure does not stop the rest.

`LiveStatements` tracks statements not yet ended, so CancelStatement can interrupt the connection
running one and WaitTimeSeconds can wait for one to end.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from redstep.dataapi.results import ResultStore
from redstep.dataapi.statements import (
    ExecutionMode,
    StatementRecord,
    StatusString,
    SubStatementRecord,
)
from redstep.dataapi.store import StatementStore
from redstep.warehouse.base import Connection, QueryCancelled, Result, WarehouseError
from redstep.warehouse.dialect import split_script

logger = logging.getLogger(__name__)

INTERRUPTED_ERROR = "ERROR: statement interrupted: redstep stopped while it was running"
"""The Error of a statement that was active when the process ended."""
SHUTDOWN_REASON = "redstep was stopped"


def cancelled_error(query_id: int, reason: str | None) -> str:
    """Redshift's words for a cancelled query (`… on user's request` for CancelStatement)."""
    return f"ERROR: Query ({query_id}) cancelled {reason or 'on user' + chr(39) + 's request'}"


@dataclass(slots=True)
class _Live:
    done: threading.Event = field(default_factory=threading.Event)
    connection: Connection | None = None
    cancel_reason: str | None = None
    is_cancel_requested: bool = False
    is_claimed: bool = False


class LiveStatements:
    """Statements submitted and not yet ended, by (parent) id.

    A worker `claim`s a statement before running it; a cancel that comes first `withdraw`s it
    instead, so exactly one of them records how it ended.
    """

    def __init__(self) -> None:
        self._live: dict[str, _Live] = {}
        self._lock = threading.Lock()

    def add(self, statement_id: str) -> None:
        """Track a statement from its submission."""
        with self._lock:
            self._live[statement_id] = _Live()

    def ids(self) -> list[str]:
        """Every tracked statement."""
        with self._lock:
            return list(self._live)

    def count(self) -> int:
        """How many statements are active."""
        with self._lock:
            return len(self._live)

    def claim(self, statement_id: str) -> bool:
        """A worker takes the statement; False when it was withdrawn (or is unknown)."""
        with self._lock:
            live = self._live.get(statement_id)
            if live is None or live.is_cancel_requested:
                return False
            live.is_claimed = True
            return True

    def withdraw(self, statement_id: str, reason: str | None) -> bool:
        """Cancel a statement no worker has taken yet; False when one has (or it ended)."""
        with self._lock:
            live = self._live.get(statement_id)
            if live is None or live.is_claimed:
                return False
            live.is_cancel_requested = True
            live.cancel_reason = reason
            return True

    def attach(self, statement_id: str, connection: Connection) -> None:
        """Note the connection running the statement, for cancel to interrupt."""
        with self._lock:
            live = self._live.get(statement_id)
            if live is not None:
                live.connection = connection

    def is_cancel_requested(self, statement_id: str) -> bool:
        with self._lock:
            live = self._live.get(statement_id)
            return live is not None and live.is_cancel_requested

    def cancel_reason(self, statement_id: str) -> str | None:
        with self._lock:
            live = self._live.get(statement_id)
            return None if live is None else live.cancel_reason

    def cancel(self, statement_id: str, reason: str | None = None) -> bool:
        """Ask a running statement to stop, interrupting its connection; False when not live."""
        with self._lock:
            live = self._live.get(statement_id)
            if live is None:
                return False
            if not live.is_cancel_requested:
                live.is_cancel_requested = True
                live.cancel_reason = reason
            connection = live.connection
        if connection is not None:
            connection.cancel()
        return True

    def finish(self, statement_id: str) -> None:
        """The statement ended: wake whoever waits on it."""
        with self._lock:
            live = self._live.pop(statement_id, None)
        if live is not None:
            live.done.set()

    def wait(self, statement_id: str, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the statement to end; True when it has."""
        with self._lock:
            live = self._live.get(statement_id)
        return True if live is None else live.done.wait(timeout)


class Runner:
    """Runs statements on connections and writes their progress to the store and results."""

    def __init__(
        self,
        store: StatementStore,
        results: ResultStore,
        live: LiveStatements,
        now: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.results = results
        self.live = live
        self.now = now
        self._query_ids = itertools.count(store.max_query_id() + 1)
        self._query_id_lock = threading.Lock()

    def next_query_id(self) -> int:
        """A new RedshiftQueryId, increasing across restarts."""
        with self._query_id_lock:
            return next(self._query_ids)

    def run(self, record: StatementRecord, connection: Connection) -> StatementRecord:
        """Run a submitted statement to its end; return its final record."""
        if not self.live.claim(record.id):
            return record  # withdrawn by a cancel, which recorded it
        try:
            record = self._save(replace(record, status=StatusString.PICKED, updated_at=self.now()))
            if record.is_batch:
                return self._save(self._run_batch(record, connection))
            return self._save(self._run_single(record, connection))
        finally:
            self.live.finish(record.id)

    def fail_unstarted(self, record: StatementRecord, error: str) -> StatementRecord:
        """Record a statement that could not run at all (no connection)."""
        now = self.now()
        subs = tuple(
            replace(sub, status=StatusString.FAILED, error=error, updated_at=now)
            if index == 0
            else replace(sub, status=StatusString.ABORTED, updated_at=now)
            for index, sub in enumerate(record.sub_statements)
        )
        failed = replace(
            record, status=StatusString.FAILED, error=error, updated_at=now, sub_statements=subs
        )
        self._save(failed)
        self.live.finish(record.id)
        return failed

    def abort_unstarted(self, record: StatementRecord) -> StatementRecord:
        """Record a queued statement cancelled before any worker took it."""
        aborted = self._save(self._abort_unstarted(record))
        self.live.finish(record.id)
        return aborted

    def _abort_unstarted(self, record: StatementRecord) -> StatementRecord:
        now = self.now()
        reason = self.live.cancel_reason(record.id)
        subs = tuple(
            replace(sub, status=StatusString.ABORTED, updated_at=now)
            for sub in record.sub_statements
        )
        return replace(
            record,
            status=StatusString.ABORTED,
            error=cancelled_error(record.redshift_query_id, reason),
            updated_at=now,
            sub_statements=subs,
        )

    def _save(self, record: StatementRecord) -> StatementRecord:
        self.store.save(record)
        return record

    def _start(self, record: StatementRecord, connection: Connection) -> StatementRecord:
        started = replace(
            record,
            status=StatusString.STARTED,
            redshift_pid=connection.backend_pid,
            redshift_query_id=0 if record.is_batch else self.next_query_id(),
            updated_at=self.now(),
        )
        self._save(started)
        self.live.attach(record.id, connection)
        return started

    def _run_single(self, record: StatementRecord, connection: Connection) -> StatementRecord:
        record = self._start(record, connection)
        began = False
        clock = time.perf_counter_ns()
        try:
            if self.live.is_cancel_requested(record.id):
                raise QueryCancelled("cancelled before it started")
            parts = split_script(record.query_strings[0]) or [record.query_strings[0]]
            parameters = record.parameter_map or None
            if len(parts) > 1 and not connection.in_transaction:
                connection.begin()
                began = True
            result = Result()
            for part in parts:
                result = connection.execute(part, parameters)
            if began and connection.in_transaction:
                connection.commit()
                began = False
            return self._finished(record, record.id, result, time.perf_counter_ns() - clock)
        except WarehouseError as error:
            if began:
                _rollback(connection)
            return self._ended_with(record, error, time.perf_counter_ns() - clock)
        except Exception as error:
            logger.exception("statement %s failed inside redstep", record.id)
            if began:
                _rollback(connection)
            return self._ended_with(
                record, WarehouseError(f"internal error: {error}"), time.perf_counter_ns() - clock
            )

    def _finished(
        self, record: StatementRecord, result_id: str, result: Result, duration: int
    ) -> StatementRecord:
        rows, size = self._keep_result(record, result_id, result)
        return replace(
            record,
            status=StatusString.FINISHED,
            duration_ns=duration,
            has_result_set=result.has_result_set,
            result_rows=rows,
            result_size=size,
            updated_at=self.now(),
        )

    def _keep_result(
        self, record: StatementRecord, result_id: str, result: Result
    ) -> tuple[int, int]:
        if not result.has_result_set:
            return max(result.row_count, 0), 0
        summary = self.results.write(
            result_id, result.columns, result.rows, record.result_format, self.now()
        )
        return summary.total_rows, summary.size_bytes

    def _ended_with(
        self, record: StatementRecord, error: WarehouseError, duration: int
    ) -> StatementRecord:
        if isinstance(error, QueryCancelled):
            message = cancelled_error(record.redshift_query_id, self.live.cancel_reason(record.id))
            status = StatusString.ABORTED
        else:
            message = f"ERROR: {error.message}"
            status = StatusString.FAILED
        return replace(
            record, status=status, error=message, duration_ns=duration, updated_at=self.now()
        )

    def _run_batch(self, record: StatementRecord, connection: Connection) -> StatementRecord:
        record = self._start(record, connection)
        is_transaction = record.execution_mode is not ExecutionMode.AUTO_COMMIT
        parameters = record.parameter_map or None
        subs = list(record.sub_statements)
        clock = time.perf_counter_ns()
        began = False
        first_error: str | None = None
        status = StatusString.FINISHED
        try:
            if is_transaction and not connection.in_transaction:
                connection.begin()
                began = True
        except WarehouseError as error:
            return self._ended_with(record, error, 0)
        index = 0
        while index < len(subs):
            if self.live.is_cancel_requested(record.id):
                error_text = cancelled_error(0, self.live.cancel_reason(record.id))
                subs[index:] = [
                    _end_sub(sub, StatusString.ABORTED, self.now()) for sub in subs[index:]
                ]
                first_error, status = first_error or error_text, StatusString.ABORTED
                break
            sub = replace(
                subs[index],
                status=StatusString.STARTED,
                redshift_query_id=self.next_query_id(),
                updated_at=self.now(),
            )
            subs[index] = sub
            self._save(replace(record, sub_statements=tuple(subs)))
            sub_clock = time.perf_counter_ns()
            try:
                result = connection.execute(sub.query_string, parameters)
                rows, size = self._keep_result(record, sub.id, result)
                subs[index] = replace(
                    sub,
                    status=StatusString.FINISHED,
                    duration_ns=time.perf_counter_ns() - sub_clock,
                    has_result_set=result.has_result_set,
                    result_rows=rows,
                    result_size=size,
                    updated_at=self.now(),
                )
            except WarehouseError as error:
                cancelled = isinstance(error, QueryCancelled)
                reason = self.live.cancel_reason(record.id)
                text = (
                    cancelled_error(sub.redshift_query_id, reason)
                    if cancelled
                    else f"ERROR: {error.message}"
                )
                subs[index] = replace(
                    _end_sub(sub, StatusString.ABORTED if cancelled else StatusString.FAILED,
                             self.now()),
                    error=text,
                    duration_ns=time.perf_counter_ns() - sub_clock,
                )  # fmt: skip
                first_error = first_error or text
                status = StatusString.ABORTED if cancelled else StatusString.FAILED
                if is_transaction or cancelled:
                    rest = [
                        _end_sub(later, StatusString.ABORTED, self.now())
                        for later in subs[index + 1 :]
                    ]
                    subs[index + 1 :] = rest
                    break
            index += 1
        try:
            if began and connection.in_transaction:
                if status is StatusString.FINISHED:
                    connection.commit()
                else:
                    connection.rollback()
        except WarehouseError as error:
            first_error, status = f"ERROR: {error.message}", StatusString.FAILED
            _rollback(connection)
        return replace(
            record,
            status=status,
            error=first_error,
            duration_ns=time.perf_counter_ns() - clock,
            has_result_set=any(sub.has_result_set for sub in subs),
            sub_statements=tuple(subs),
            updated_at=self.now(),
        )


def _end_sub(sub: SubStatementRecord, status: StatusString, now: datetime) -> SubStatementRecord:
    return replace(sub, status=status, updated_at=now)


def _rollback(connection: Connection) -> None:
    try:
        if connection.in_transaction:
            connection.rollback()
    except WarehouseError:
        logger.exception("rolling back failed")


def interrupted(record: StatementRecord, now: datetime) -> StatementRecord:
    """The record of a statement that was active when redstep stopped: FAILED, saying so."""
    subs = tuple(
        sub
        if sub.status.is_terminal
        else replace(sub, status=StatusString.FAILED, error=INTERRUPTED_ERROR, updated_at=now)
        for sub in record.sub_statements
    )
    return replace(
        record,
        status=StatusString.FAILED,
        error=INTERRUPTED_ERROR,
        updated_at=now,
        sub_statements=subs,
    )

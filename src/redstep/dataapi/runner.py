"""Running a statement on a connection and recording every step of its life.

SUBMITTED → PICKED (a worker took it) → STARTED (its SQL is on the engine) → FINISHED, FAILED or
ABORTED. ExecuteStatement SQL holding several statements runs as Redshift's simple query protocol
runs it: in one transaction, the last statement's result being the statement's result. A batch
runs its Sqls serially; in TRANSACTION mode a failure rolls back all of them (the failing one
reads FAILED, the ones before it FINISHED, the ones after it ABORTED, never run); in AUTO_COMMIT
mode each commits on its own and a failure does not stop the rest.

Any exception ends the part that raised it, not only a SQL error: the statement reads FAILED
(`ERROR: internal error: …` when the error is redstep's own) and its transaction is rolled back.
Before each part the runner checks for a cancel, so one that came while nothing ran on the engine
(between parts, or before the SQL got there) still stops the statement; and a cancel interrupts
the connection again, from a thread of its own, until the statement ends, for the moment when the
engine has the SQL but is not yet running it. CancelStatement therefore returns at once.

`LiveStatements` tracks statements not yet ended, so CancelStatement can interrupt the connection
running one and WaitTimeSeconds can wait for one to end.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
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
from redstep.warehouse.base import (
    Connection,
    QueryCancelled,
    Result,
    WarehouseError,
    WarehouseUnavailable,
)
from redstep.warehouse.dialect import split_script

logger = logging.getLogger(__name__)

INTERRUPTED_ERROR = "ERROR: statement interrupted: redstep stopped while it was running"
"""The Error of a statement that was active when the process ended."""
SHUTDOWN_REASON = "redstep was stopped"
REINTERRUPT_SECONDS = 0.05
"""How often a cancelled statement's connection is interrupted again until the statement ends."""
CANCEL_PERSISTENCE_SECONDS = 10.0
"""How long a cancel keeps interrupting a statement that does not end."""


USER_REQUEST = "on user's request"
"""Why a statement stopped when CancelStatement stopped it."""


def cancelled_error(query_id: int, reason: str | None) -> str:
    """Redshift's words for a cancelled query (`… on user's request` for CancelStatement)."""
    return f"ERROR: Query ({query_id}) cancelled {reason or USER_REQUEST}"


def cancelled_outcome(query_id: int, reason: str | None) -> tuple[StatusString, str]:
    """How a cancelled statement ends: ABORTED when a caller stopped it; FAILED with
    INTERRUPTED_ERROR when redstep's own stop did, as if the process had died — the caller
    asked for nothing, and a workflow told them apart must see one kind of interruption."""
    if reason == SHUTDOWN_REASON:
        return StatusString.FAILED, INTERRUPTED_ERROR
    return StatusString.ABORTED, cancelled_error(query_id, reason)


@dataclass(slots=True)
class _Live:
    done: threading.Event = field(default_factory=threading.Event)
    interrupting: threading.Lock = field(default_factory=threading.Lock)
    """Held while interrupting and while ending, so no interrupt lands on the next statement."""
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
        """Ask a statement to stop; False when it is not live. Returns at once.

        Its connection is interrupted now and, on a background thread, again every
        REINTERRUPT_SECONDS until the statement ends (for at most CANCEL_PERSISTENCE_SECONDS):
        an interrupt that reaches the engine while it is still preparing the SQL is lost, and
        the runner's own check before each part cannot see that moment.
        """
        with self._lock:
            live = self._live.get(statement_id)
            if live is None:
                return False
            is_first_request = not live.is_cancel_requested
            live.is_cancel_requested = True
            if is_first_request:
                live.cancel_reason = reason
        if is_first_request:
            threading.Thread(
                target=self._interrupt_until_done,
                args=(live,),
                name=f"redstep-cancel-{statement_id[:8]}",
                daemon=True,
            ).start()
        return True

    def _interrupt_until_done(self, live: _Live) -> None:
        deadline = time.monotonic() + CANCEL_PERSISTENCE_SECONDS
        while True:
            with live.interrupting:
                if live.done.is_set():
                    return
                connection = live.connection
                if connection is not None:
                    try:
                        connection.cancel()
                    except Exception:  # a failed interrupt is retried; the statement still ends
                        logger.exception("interrupting a statement failed")
            if live.done.wait(REINTERRUPT_SECONDS) or time.monotonic() >= deadline:
                return

    def finish(self, statement_id: str) -> None:
        """The statement ended: wake whoever waits on it."""
        with self._lock:
            live = self._live.pop(statement_id, None)
        if live is not None:
            with live.interrupting:  # an interrupt under way finishes before the worker moves on
                live.done.set()

    def wait(self, statement_id: str, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the statement to end; True when it has."""
        with self._lock:
            live = self._live.get(statement_id)
        return True if live is None else live.done.wait(timeout)


_Ended = tuple[StatementRecord, Exception | None]
"""A statement's final record, and the error that leaves its connection in doubt (if any)."""


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
        """Run a submitted statement to its end; return its final record.

        Whatever goes wrong, the statement ends (FAILED when nothing else said how) and no
        transaction it opened is left open on `connection`. An error that leaves the connection in
        doubt (WarehouseUnavailable, or any error that is not the warehouse's) is raised again
        once recorded, so the worker replaces the connection.
        """
        if not self.live.claim(record.id):
            return record  # withdrawn by a cancel, which recorded it
        doubt: Exception | None = None
        try:
            record = self._save(replace(record, status=StatusString.PICKED, updated_at=self.now()))
            run = self._run_batch if record.is_batch else self._run_single
            ended, doubt = run(record, connection)
            # A backend may learn its session's id only by running (Redshift's Data API does).
            record = self._save(replace(ended, redshift_pid=connection.backend_pid))
        except Exception as error:
            logger.exception("statement %s failed outside its own error handling", record.id)
            _rollback(connection)
            record = self._save_quietly(failed(record, error_text(error), self.now()))
            doubt = error
        finally:
            self.live.finish(record.id)
        if doubt is not None:
            raise doubt
        return record

    def fail_unstarted(self, record: StatementRecord, error: str) -> StatementRecord:
        """Record a statement that could not run at all (no connection)."""
        now = self.now()
        subs = tuple(
            replace(sub, status=StatusString.FAILED, error=error, updated_at=now)
            if index == 0
            else replace(sub, status=StatusString.ABORTED, updated_at=now)
            for index, sub in enumerate(record.sub_statements)
        )
        ended = replace(
            record, status=StatusString.FAILED, error=error, updated_at=now, sub_statements=subs
        )
        self._save(ended)
        self.live.finish(record.id)
        return ended

    def abort_unstarted(self, record: StatementRecord) -> StatementRecord:
        """Record a queued statement cancelled before any worker took it (see
        `cancelled_outcome`)."""
        now = self.now()
        status, error = cancelled_outcome(
            record.redshift_query_id, self.live.cancel_reason(record.id)
        )
        aborted = replace(
            record,
            status=status,
            error=error,
            updated_at=now,
            sub_statements=_end_subs(record.sub_statements, StatusString.ABORTED, now),
        )
        self._save(aborted)
        self.live.finish(record.id)
        return aborted

    def _save(self, record: StatementRecord) -> StatementRecord:
        self.store.save(record)
        return record

    def _save_quietly(self, record: StatementRecord) -> StatementRecord:
        try:
            self.store.save(record)
        except Exception:  # the store itself failing must not keep the statement live
            logger.exception("recording how statement %s ended failed", record.id)
        return record

    def _check_cancel(self, statement_id: str) -> None:
        """Stop before the next part: an interrupt that came between parts, or before the SQL
        reached the engine, interrupted nothing."""
        if self.live.is_cancel_requested(statement_id):
            raise QueryCancelled("cancelled before it reached the engine")

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

    def _run_single(self, record: StatementRecord, connection: Connection) -> _Ended:
        record = self._start(record, connection)
        parameters = record.parameter_map or None
        began = False
        clock = time.perf_counter_ns()
        try:
            parts = split_script(record.query_strings[0]) or [record.query_strings[0]]
            if len(parts) > 1 and not connection.in_transaction:
                connection.begin()
                began = True
            result = Result()
            for part in parts:
                deque(result.rows, maxlen=0)  # an earlier part's rows: unreturned, but may fail
                self._check_cancel(record.id)
                result = connection.execute(part, parameters)
            rows, size = self._keep_result(record, record.id, result)
            if began and connection.in_transaction:
                connection.commit()
        except Exception as error:
            if began:
                _rollback(connection)
            return self._ended_with(record, error, time.perf_counter_ns() - clock), _doubt(error)
        finished = replace(
            record,
            status=StatusString.FINISHED,
            duration_ns=time.perf_counter_ns() - clock,
            has_result_set=result.has_result_set,
            result_rows=rows,
            result_size=size,
            updated_at=self.now(),
        )
        return finished, None

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
        self, record: StatementRecord, error: Exception, duration: int
    ) -> StatementRecord:
        status, message = self._outcome(record.id, record.redshift_query_id, error)
        return replace(
            record, status=status, error=message, duration_ns=duration, updated_at=self.now()
        )

    def _outcome(
        self, statement_id: str, query_id: int, error: Exception
    ) -> tuple[StatusString, str]:
        """How a part that raised `error` ended: as `cancelled_outcome` says when cancelled,
        FAILED otherwise."""
        if isinstance(error, QueryCancelled):
            return cancelled_outcome(query_id, self.live.cancel_reason(statement_id))
        if not isinstance(error, WarehouseError):
            logger.exception("statement %s failed inside redstep", statement_id)
        return StatusString.FAILED, error_text(error)

    def _run_batch(self, record: StatementRecord, connection: Connection) -> _Ended:
        record = self._start(record, connection)
        is_transaction = record.execution_mode is not ExecutionMode.AUTO_COMMIT
        parameters = record.parameter_map or None
        subs = list(record.sub_statements)
        clock = time.perf_counter_ns()
        try:
            began = is_transaction and not connection.in_transaction
            if began:
                connection.begin()
        except Exception as error:
            ended = self._ended_with(record, error, 0)
            subs = list(_end_subs(record.sub_statements, StatusString.ABORTED, self.now()))
            return replace(ended, sub_statements=tuple(subs)), _doubt(error)
        status, first_error, doubt = StatusString.FINISHED, None, None
        for index, waiting in enumerate(subs):
            sub = replace(
                waiting,
                status=StatusString.STARTED,
                redshift_query_id=self.next_query_id(),
                updated_at=self.now(),
            )
            subs[index] = sub
            self.store.save_sub_statements(subs[max(index - 1, 0) : index + 1])
            sub_clock = time.perf_counter_ns()
            try:
                self._check_cancel(record.id)
                result = connection.execute(sub.query_string, parameters)
                rows, size = self._keep_result(record, sub.id, result)
            except Exception as error:
                status, text = self._outcome(record.id, sub.redshift_query_id, error)
                subs[index] = replace(
                    sub, status=status, error=text, updated_at=self.now(),
                    duration_ns=time.perf_counter_ns() - sub_clock,
                )  # fmt: skip
                first_error, doubt = first_error or text, doubt or _doubt(error)
                if is_transaction or status is StatusString.ABORTED or doubt is not None:
                    rest = _end_subs(subs[index + 1 :], StatusString.ABORTED, self.now())
                    subs[index + 1 :] = rest
                    break
                continue
            subs[index] = replace(
                sub,
                status=StatusString.FINISHED,
                duration_ns=time.perf_counter_ns() - sub_clock,
                has_result_set=result.has_result_set,
                result_rows=rows,
                result_size=size,
                updated_at=self.now(),
            )
        try:
            if began and connection.in_transaction:
                if status is StatusString.FINISHED:
                    connection.commit()
                else:
                    connection.rollback()
        except Exception as error:
            status, first_error = StatusString.FAILED, error_text(error)
            doubt = doubt or _doubt(error)
            _rollback(connection)
        is_finished = status is StatusString.FINISHED
        ended = replace(
            record,
            status=status,
            error=first_error,
            duration_ns=time.perf_counter_ns() - clock,
            has_result_set=any(sub.has_result_set for sub in subs),
            result_rows=sum(max(sub.result_rows, 0) for sub in subs) if is_finished else -1,
            result_size=sum(max(sub.result_size, 0) for sub in subs) if is_finished else -1,
            sub_statements=tuple(subs),
            updated_at=self.now(),
        )
        return ended, doubt


def error_text(error: Exception) -> str:
    """A statement's Error for `error`: the warehouse's words, Redshift-style."""
    if isinstance(error, WarehouseError):
        return f"ERROR: {error.message}"
    return f"ERROR: internal error: {error}"


def _doubt(error: Exception) -> Exception | None:
    """`error` when the connection it came from can no longer be trusted."""
    if isinstance(error, WarehouseUnavailable) or not isinstance(error, WarehouseError):
        return error
    return None


def _end_subs(
    subs: Sequence[SubStatementRecord], status: StatusString, now: datetime
) -> tuple[SubStatementRecord, ...]:
    return tuple(replace(sub, status=status, updated_at=now) for sub in subs)


def _rollback(connection: Connection) -> None:
    try:
        if connection.in_transaction:
            connection.rollback()
    except Exception:  # the connection is dropped after an error it cannot roll back
        logger.exception("rolling back failed")


def failed(record: StatementRecord, error: str, now: datetime) -> StatementRecord:
    """The record of a statement that ended abruptly: it and its unended parts read FAILED."""
    subs = tuple(
        sub
        if sub.status.is_terminal
        else replace(sub, status=StatusString.FAILED, error=error, updated_at=now)
        for sub in record.sub_statements
    )
    return replace(
        record, status=StatusString.FAILED, error=error, updated_at=now, sub_statements=subs
    )


def interrupted(record: StatementRecord, now: datetime) -> StatementRecord:
    """The record of a statement that was active when redstep stopped: FAILED, saying so."""
    return failed(record, INTERRUPTED_ERROR, now)

"""The durable `ExecutionStore`: state machines, executions, journal, history and timers in SQLite.

`SqliteExecutionStore` is the store's operations over its tables: those of state machines and
executions here, those of map runs inherited (`redstep.runtime.sqlite_map_runs`). The tables live
in the project's control-plane database, `.redstep/store.sqlite`: `redstep.runtime.sqlite_database`
owns the file (its tables, connections, transactions and WAL checkpoints), and
`redstep.runtime.sqlite_rows` how a record is a row.

Every write is one `BEGIN IMMEDIATE … COMMIT` transaction, rolled back on any exception, so an
execution is always exactly its committed journal.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from redstep.asl.paths import to_json
from redstep.engine.commands import ExecutionStatus
from redstep.runtime.sqlite_map_runs import SqliteMapRuns
from redstep.runtime.sqlite_rows import (
    EXECUTION_COLUMNS,
    MACHINE_COLUMNS,
    events_from_rows,
    execution_from_row,
    execution_row,
    insert_signal,
    machine_from_row,
    machine_row,
    marks,
    require_execution,
    time_text,
    write_activation,
)
from redstep.runtime.store import (
    REDRIVABLE_STATUSES,
    Completion,
    ExecutionRecord,
    Page,
    Redriven,
    SignalRecord,
    StateMachineRecord,
    StoreConflict,
    TimerRecord,
    changed_tags,
    redriven_record,
    token_redrive,
    with_token,
)
from redstep.runtime.tokens import decode_token, encode_token

_decode = json.loads


class SqliteExecutionStore(SqliteMapRuns):
    """The `ExecutionStore` kept in `state_dir / "store.sqlite"`."""

    # -- state machines --------------------------------------------------------------------------
    def put_state_machine(self, record: StateMachineRecord) -> None:
        """Insert a state machine (StoreConflict when the ARN exists) with its first revision."""
        row = machine_row(record)
        with self._transaction() as db:
            try:
                db.execute(
                    f"INSERT INTO state_machines ({MACHINE_COLUMNS}) VALUES ({marks(10)})",
                    row,
                )
            except sqlite3.IntegrityError as error:
                raise StoreConflict(f"state machine {record.arn} already exists") from error
            db.execute(
                f"INSERT OR REPLACE INTO state_machine_revisions ({MACHINE_COLUMNS}) "
                f"VALUES ({marks(10)})",
                row,
            )

    def update_state_machine(self, record: StateMachineRecord) -> None:
        """Replace the current fields and record the revision (KeyError when the ARN is unknown);
        the rows of earlier revisions stay, so their executions can still be described."""
        row = machine_row(record)
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE state_machines SET name = ?, definition = ?, role_arn = ?, type = ?, "
                "creation_date = ?, revision_id = ?, update_date = ?, description = ?, tags = ? "
                "WHERE arn = ?",
                (*row[1:], record.arn),
            )
            if cursor.rowcount != 1:
                raise KeyError(record.arn)
            db.execute(
                f"INSERT OR REPLACE INTO state_machine_revisions ({MACHINE_COLUMNS}) "
                f"VALUES ({marks(10)})",
                row,
            )

    def get_state_machine(self, arn: str) -> StateMachineRecord | None:
        """The state machine's current fields, or None."""
        with self._connections.use() as db:
            row = db.execute(
                f"SELECT {MACHINE_COLUMNS} FROM state_machines WHERE arn = ?", (arn,)
            ).fetchone()
        return None if row is None else machine_from_row(row)

    def get_revision(self, arn: str, revision_id: str) -> StateMachineRecord | None:
        """The state machine as it was at a revision (what an execution ran)."""
        with self._connections.use() as db:
            row = db.execute(
                f"SELECT {MACHINE_COLUMNS} FROM state_machine_revisions "
                "WHERE arn = ? AND revision_id = ?",
                (arn, revision_id),
            ).fetchone()
        return None if row is None else machine_from_row(row)

    def list_state_machines(self) -> list[StateMachineRecord]:
        """Every state machine, ordered by creation date then name."""
        with self._connections.use() as db:
            rows = db.execute(
                f"SELECT {MACHINE_COLUMNS} FROM state_machines ORDER BY creation_date, name, arn"
            )
            return [machine_from_row(row) for row in rows]

    def delete_state_machine(self, arn: str) -> None:
        """Forget the state machine. Its revisions stay, so that executions still running on
        it finish and DescribeStateMachineForExecution still answers (AWS deletes a machine
        only once its executions are done)."""
        with self._transaction() as db:
            db.execute("DELETE FROM state_machines WHERE arn = ?", (arn,))

    def update_tags(
        self,
        arn: str,
        add: Mapping[str, str],
        remove: Collection[str],
        limit: int | None = None,
    ) -> dict[str, str]:
        """Change the current tags only: the revision rows keep theirs (see ExecutionStore)."""
        with self._transaction() as db:
            row = db.execute("SELECT tags FROM state_machines WHERE arn = ?", (arn,)).fetchone()
            if row is None:
                raise KeyError(arn)
            tags = changed_tags(_decode(row[0]), add, remove, limit, arn)
            db.execute("UPDATE state_machines SET tags = ? WHERE arn = ?", (to_json(tags), arn))
        return tags

    # -- executions ------------------------------------------------------------------------------
    def put_execution(self, record: ExecutionRecord, start: SignalRecord) -> None:
        """Insert the execution and its first signal, unprocessed (StoreConflict on the ARN).

        The signal's sequence number is the store's to hand out: `start.seq` and
        `start.is_processed` are ignored."""
        with self._transaction() as db:
            try:
                db.execute(
                    f"INSERT INTO executions ({EXECUTION_COLUMNS}) VALUES ({marks(13)})",
                    execution_row(record),
                )
            except sqlite3.IntegrityError as error:
                raise StoreConflict(f"execution {record.arn} already exists") from error
            insert_signal(db, record.arn, start.kind, start.fields, start.at, is_processed=False)

    def get_execution(self, arn: str) -> ExecutionRecord | None:
        """The execution, or None."""
        with self._connections.use() as db:
            row = db.execute(
                f"SELECT {EXECUTION_COLUMNS} FROM executions WHERE arn = ?", (arn,)
            ).fetchone()
        return None if row is None else execution_from_row(row)

    def list_executions(
        self,
        state_machine_arn: str | None,
        status: ExecutionStatus | None,
        limit: int,
        next_token: str | None,
        redriven: bool | None = None,
    ) -> Page:
        """Newest first (start date, then ARN), `limit` to a page (< 1: all on one page); the
        token is the key of the page's last item, so a page never repeats or skips an item when
        executions start between requests."""
        clauses: list[str] = []
        values: list[object] = []
        if redriven is not None:
            clauses.append("redrive_count > 0" if redriven else "redrive_count = 0")
        if state_machine_arn is not None:
            clauses.append("state_machine_arn = ?")
            values.append(state_machine_arn)
        if status is not None:
            clauses.append("status = ?")
            values.append(str(status))
        if next_token is not None:
            clauses.append("(start_date, arn) < (?, ?)")
            values.extend(decode_token(next_token, "executions", 2))
        condition = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._connections.use() as db:
            rows = db.execute(
                f"SELECT {EXECUTION_COLUMNS} FROM executions {condition} "
                "ORDER BY start_date DESC, arn DESC LIMIT ?",
                [*values, limit + 1 if limit > 0 else -1],
            )
            items = [execution_from_row(row) for row in rows]
        if limit < 1 or len(items) <= limit:
            return Page(items=items, next_token=None)
        last = items[limit - 1]
        return Page(
            items=items[:limit],
            next_token=encode_token("executions", [time_text(last.start_date), last.arn]),
        )

    def redrive_execution(
        self, arn: str, at: datetime, client_token: str | None, kind: str, fields: dict[str, Any]
    ) -> Redriven:
        """See `ExecutionStore.redrive_execution`: checked and written in one transaction."""
        with self._transaction() as db:
            row = db.execute(
                f"SELECT {EXECUTION_COLUMNS}, redrive_tokens FROM executions WHERE arn = ?",
                (arn,),
            ).fetchone()
            if row is None:
                raise KeyError(arn)
            record = execution_from_row(row)
            kept = _decode(row[-1] or "[]")
            tokens = [(used, datetime.fromisoformat(made)) for used, made in kept]
            made = token_redrive(tokens, client_token, at)
            if made is not None:
                return Redriven(record, made, is_new=False)
            if record.status not in REDRIVABLE_STATUSES:
                raise StoreConflict(f"execution {arn} is {record.status.value}")
            tokens = with_token(tokens, client_token, at)
            db.execute(
                "UPDATE executions SET status = ?, stop_date = NULL, output = NULL, "
                "error = NULL, cause = NULL, redrive_count = redrive_count + 1, "
                "redrive_date = ?, redrive_tokens = ? WHERE arn = ?",
                (
                    str(ExecutionStatus.RUNNING),
                    time_text(at),
                    to_json([[used, time_text(made)] for used, made in tokens]),
                    arn,
                ),
            )
            insert_signal(db, arn, kind, fields, at, is_processed=False)
        return Redriven(redriven_record(record, at), at, is_new=True)

    def running_executions(self) -> list[ExecutionRecord]:
        """Every RUNNING execution, oldest first: what a restarted executor resumes."""
        with self._connections.use() as db:
            rows = db.execute(
                f"SELECT {EXECUTION_COLUMNS} FROM executions WHERE status = ? "
                "ORDER BY start_date, arn",
                (str(ExecutionStatus.RUNNING),),
            )
            return [execution_from_row(row) for row in rows]

    # -- journal, history, timers ----------------------------------------------------------------
    def add_signal(
        self, execution_arn: str, kind: str, fields: dict[str, Any], at: datetime
    ) -> int:
        """Append an unprocessed signal (KeyError for an unknown execution); return its seq."""
        with self._transaction() as db:
            require_execution(db, execution_arn)
            return insert_signal(db, execution_arn, kind, fields, at, is_processed=False)

    def signals(self, execution_arn: str) -> list[SignalRecord]:
        """The execution's journal in sequence order, processed and not."""
        with self._connections.use() as db:
            rows = db.execute(
                "SELECT seq, kind, fields, at, is_processed FROM execution_signals "
                "WHERE execution_arn = ? ORDER BY seq",
                (execution_arn,),
            )
            return [
                SignalRecord(
                    seq=seq,
                    kind=kind,
                    fields=_decode(fields),
                    at=datetime.fromisoformat(at),
                    is_processed=bool(is_processed),
                )
                for seq, kind, fields, at, is_processed in rows
            ]

    def commit(
        self,
        execution_arn: str,
        signal_seq: int,
        at: datetime,
        events: Sequence[dict[str, Any]],
        new_timers: Sequence[TimerRecord],
        cleared_timers: Sequence[int],
        completion: Completion | None,
    ) -> None:
        """One activation, atomically. StoreConflict when the signal is not this execution's
        or was processed already: another activation got there first, and nothing is written."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE execution_signals SET at = ?, is_processed = 1 "
                "WHERE seq = ? AND execution_arn = ? AND is_processed = 0",
                (time_text(at), signal_seq, execution_arn),
            )
            if cursor.rowcount != 1:
                raise StoreConflict(f"signal {signal_seq} of {execution_arn} is not pending")
            write_activation(db, execution_arn, events, new_timers, cleared_timers, completion)

    def commit_signal(
        self,
        execution_arn: str,
        kind: str,
        fields: dict[str, Any],
        at: datetime,
        events: Sequence[dict[str, Any]],
        new_timers: Sequence[TimerRecord],
        cleared_timers: Sequence[int],
        completion: Completion | None,
    ) -> int:
        """`add_signal` and `commit` in one transaction; return the signal's sequence number."""
        with self._transaction() as db:
            require_execution(db, execution_arn)
            seq = insert_signal(db, execution_arn, kind, fields, at, is_processed=True)
            write_activation(db, execution_arn, events, new_timers, cleared_timers, completion)
        return seq

    def history(
        self, execution_arn: str, reverse: bool, limit: int, after_event_id: int | None
    ) -> list[dict[str, Any]]:
        """Events by id (descending when `reverse`) after `after_event_id`; `limit` < 1 means
        every one."""
        order, beyond = ("DESC", "<") if reverse else ("ASC", ">")
        condition = "" if after_event_id is None else f"AND id {beyond} ?"
        values: list[object] = [execution_arn]
        if after_event_id is not None:
            values.append(after_event_id)
        values.append(limit if limit > 0 else -1)
        with self._connections.use() as db:
            rows = db.execute(
                "SELECT id, previous_event_id, type, timestamp, details FROM history_events "
                f"WHERE execution_arn = ? {condition} ORDER BY id {order} LIMIT ?",
                values,
            )
            return events_from_rows(rows)

    def event_count(self, execution_arn: str) -> int:
        """How many history events the execution has."""
        with self._connections.use() as db:
            row = db.execute(
                "SELECT count(*) FROM history_events WHERE execution_arn = ?", (execution_arn,)
            ).fetchone()
        return int(row[0])

    def timers(self, execution_arn: str) -> list[TimerRecord]:
        """The execution's pending timers, soonest first."""
        with self._connections.use() as db:
            rows = db.execute(
                "SELECT timer_id, due FROM execution_timers WHERE execution_arn = ? "
                "ORDER BY due, timer_id",
                (execution_arn,),
            )
            return [
                TimerRecord(execution_arn, timer_id, datetime.fromisoformat(due))
                for timer_id, due in rows
            ]

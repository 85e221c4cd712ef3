"""The durable `ExecutionStore`: state machines, executions, journal, history and timers in SQLite.

The tables live in the project's control-plane database, `.redstep/store.sqlite` (WAL mode),
which the Data API's statement store shares; this module creates its own tables idempotently and
touches no others. Each call borrows a connection for its span (`SqliteConnections`), so the
executor's workers, the API's request threads and the tasks' threads may call the store at once;
SQLite serialises the writers.

Every write is one `BEGIN IMMEDIATE … COMMIT` transaction, rolled back on any exception, so an
execution is always exactly its committed journal. `synchronous=NORMAL` keeps commits durable
against a crash of the process (not of the machine) and makes an activation's commit cheap; a
thread of the store's own copies the WAL back into the database, so that no commit waits for it.

Times are stored as ISO-8601 text in UTC with microseconds, so that text order is time order for
the columns listings sort on; they read back as timezone-aware datetimes equal to those written.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redstep.asl.paths import to_json
from redstep.engine.commands import ExecutionStatus
from redstep.runtime.store import (
    REDRIVABLE_STATUSES,
    Completion,
    ExecutionRecord,
    MapRunChild,
    MapRunRecord,
    MapRunStatus,
    Page,
    Redriven,
    SignalRecord,
    StateMachineRecord,
    StoreConflict,
    TimerRecord,
    changed_tags,
    token_redrive,
    with_token,
)
from redstep.runtime.tokens import decode_token, encode_token
from redstep.sqlite_connections import SqliteConnections

STORE_FILE = "store.sqlite"

_SCHEMA = """
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS state_machines (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    type TEXT NOT NULL,
    creation_date TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    update_date TEXT,
    description TEXT NOT NULL,
    tags TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS state_machines_by_creation ON state_machines (creation_date, name);
CREATE TABLE IF NOT EXISTS state_machine_revisions (
    arn TEXT NOT NULL,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    type TEXT NOT NULL,
    creation_date TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    update_date TEXT,
    description TEXT NOT NULL,
    tags TEXT NOT NULL,
    PRIMARY KEY (arn, revision_id)
);
CREATE TABLE IF NOT EXISTS executions (
    arn TEXT PRIMARY KEY,
    state_machine_arn TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    name TEXT NOT NULL,
    input TEXT NOT NULL,
    status TEXT NOT NULL,
    start_date TEXT NOT NULL,
    stop_date TEXT,
    output TEXT,
    error TEXT,
    cause TEXT
);
CREATE INDEX IF NOT EXISTS executions_by_start ON executions (start_date, arn);
CREATE INDEX IF NOT EXISTS executions_by_machine
    ON executions (state_machine_arn, start_date, arn);
CREATE INDEX IF NOT EXISTS executions_by_status ON executions (status, start_date, arn);
CREATE TABLE IF NOT EXISTS execution_signals (
    seq INTEGER PRIMARY KEY,
    execution_arn TEXT NOT NULL,
    kind TEXT NOT NULL,
    fields TEXT NOT NULL,
    at TEXT NOT NULL,
    is_processed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS execution_signals_by_execution
    ON execution_signals (execution_arn, seq);
CREATE TABLE IF NOT EXISTS history_events (
    execution_arn TEXT NOT NULL,
    id INTEGER NOT NULL,
    previous_event_id INTEGER NOT NULL,
    type TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    details TEXT,
    PRIMARY KEY (execution_arn, id)
);
CREATE TABLE IF NOT EXISTS execution_timers (
    execution_arn TEXT NOT NULL,
    timer_id INTEGER NOT NULL,
    due TEXT NOT NULL,
    PRIMARY KEY (execution_arn, timer_id)
);
COMMIT;
"""

#: Map runs and the link from each child execution to its run: tables of their own, so that a
#: store.sqlite made before them opens as it was and gains them.
_MAP_RUN_SCHEMA = """
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS map_runs (
    arn TEXT PRIMARY KEY,
    execution_arn TEXT NOT NULL,
    state_machine_arn TEXT NOT NULL,
    status TEXT NOT NULL,
    start_date TEXT NOT NULL,
    max_concurrency INTEGER NOT NULL,
    tolerated_failure_count INTEGER,
    tolerated_failure_percentage REAL,
    stop_date TEXT,
    item_total INTEGER,
    child_total INTEGER,
    results_written INTEGER NOT NULL,
    answer TEXT
);
CREATE INDEX IF NOT EXISTS map_runs_by_execution ON map_runs (execution_arn, start_date, arn);
CREATE TABLE IF NOT EXISTS map_run_executions (
    execution_arn TEXT PRIMARY KEY,
    map_run_arn TEXT NOT NULL,
    child_index INTEGER NOT NULL,
    items INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS map_run_executions_by_run
    ON map_run_executions (map_run_arn, child_index);
COMMIT;
"""
_MAP_RUN_COLUMNS = (
    "arn, execution_arn, state_machine_arn, status, start_date, max_concurrency, "
    "tolerated_failure_count, tolerated_failure_percentage, stop_date, item_total, child_total, "
    "results_written, answer"
)

_MACHINE_COLUMNS = (
    "arn, name, definition, role_arn, type, creation_date, revision_id, update_date, "
    "description, tags"
)
_EXECUTION_COLUMNS = (
    "arn, state_machine_arn, revision_id, name, input, status, start_date, stop_date, output, "
    "error, cause, redrive_count, redrive_date"
)
#: Columns `executions` gained after its first release (see `_add_columns`), with their types.
_ADDED_EXECUTION_COLUMNS = {
    "redrive_count": "INTEGER NOT NULL DEFAULT 0",
    "redrive_date": "TEXT",
    "redrive_tokens": "TEXT",  # JSON: [[client token, redrive date], ...], oldest first
}
_INSERT_EVENT = (
    "INSERT INTO history_events (execution_arn, id, previous_event_id, type, timestamp, details) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
#: The members of an event kept in columns; every other member goes to the JSON `details`.
_EVENT_COLUMNS = frozenset({"id", "previousEventId", "type", "timestamp"})

#: How long the checkpointer lets writes gather before it copies them into the database.
CHECKPOINT_DELAY = 0.25
#: SQLite's own checkpoint, inside a commit, only if the checkpointer falls this far behind.
_FALLBACK_CHECKPOINT_PAGES = 20_000

_decode = json.loads


class SqliteExecutionStore:
    """The `ExecutionStore` kept in `state_dir / "store.sqlite"`."""

    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / STORE_FILE
        self._connections = SqliteConnections(self.path, _set_up)
        with self._connections.use() as db:
            db.executescript(_SCHEMA)
            db.executescript(_MAP_RUN_SCHEMA)
            _add_columns(db)
        self._checkpointer = _Checkpointer(self.path)

    # -- connections and transactions ------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; IMMEDIATE takes the write lock up front, so a transaction
        never fails half-way for want of it."""
        with self._connections.use() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        self._checkpointer.written()

    def close(self) -> None:
        """Stop the checkpointer and close every connection."""
        self._checkpointer.close()
        self._connections.close()

    # -- state machines --------------------------------------------------------------------------
    def put_state_machine(self, record: StateMachineRecord) -> None:
        """Insert a state machine (StoreConflict when the ARN exists) with its first revision."""
        row = _machine_row(record)
        with self._transaction() as db:
            try:
                db.execute(
                    f"INSERT INTO state_machines ({_MACHINE_COLUMNS}) VALUES ({_marks(10)})", row
                )
            except sqlite3.IntegrityError as error:
                raise StoreConflict(f"state machine {record.arn} already exists") from error
            db.execute(
                f"INSERT OR REPLACE INTO state_machine_revisions ({_MACHINE_COLUMNS}) "
                f"VALUES ({_marks(10)})",
                row,
            )

    def update_state_machine(self, record: StateMachineRecord) -> None:
        """Replace the current fields and record the revision (KeyError when the ARN is unknown);
        the rows of earlier revisions stay, so their executions can still be described."""
        row = _machine_row(record)
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
                f"INSERT OR REPLACE INTO state_machine_revisions ({_MACHINE_COLUMNS}) "
                f"VALUES ({_marks(10)})",
                row,
            )

    def get_state_machine(self, arn: str) -> StateMachineRecord | None:
        """The state machine's current fields, or None."""
        with self._connections.use() as db:
            row = db.execute(
                f"SELECT {_MACHINE_COLUMNS} FROM state_machines WHERE arn = ?", (arn,)
            ).fetchone()
        return None if row is None else _machine_from_row(row)

    def get_revision(self, arn: str, revision_id: str) -> StateMachineRecord | None:
        """The state machine as it was at a revision (what an execution ran)."""
        with self._connections.use() as db:
            row = db.execute(
                f"SELECT {_MACHINE_COLUMNS} FROM state_machine_revisions "
                "WHERE arn = ? AND revision_id = ?",
                (arn, revision_id),
            ).fetchone()
        return None if row is None else _machine_from_row(row)

    def list_state_machines(self) -> list[StateMachineRecord]:
        """Every state machine, ordered by creation date then name."""
        with self._connections.use() as db:
            rows = db.execute(
                f"SELECT {_MACHINE_COLUMNS} FROM state_machines ORDER BY creation_date, name, arn"
            )
            return [_machine_from_row(row) for row in rows]

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
                    f"INSERT INTO executions ({_EXECUTION_COLUMNS}) VALUES ({_marks(13)})",
                    _execution_row(record),
                )
            except sqlite3.IntegrityError as error:
                raise StoreConflict(f"execution {record.arn} already exists") from error
            _insert_signal(db, record.arn, start.kind, start.fields, start.at, is_processed=False)

    def get_execution(self, arn: str) -> ExecutionRecord | None:
        """The execution, or None."""
        with self._connections.use() as db:
            row = db.execute(
                f"SELECT {_EXECUTION_COLUMNS} FROM executions WHERE arn = ?", (arn,)
            ).fetchone()
        return None if row is None else _execution_from_row(row)

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
                f"SELECT {_EXECUTION_COLUMNS} FROM executions {condition} "
                "ORDER BY start_date DESC, arn DESC LIMIT ?",
                [*values, limit + 1 if limit > 0 else -1],
            )
            items = [_execution_from_row(row) for row in rows]
        if limit < 1 or len(items) <= limit:
            return Page(items=items, next_token=None)
        last = items[limit - 1]
        return Page(
            items=items[:limit],
            next_token=encode_token("executions", [_text(last.start_date), last.arn]),
        )

    def redrive_execution(
        self, arn: str, at: datetime, client_token: str | None, kind: str, fields: dict[str, Any]
    ) -> Redriven:
        """See `ExecutionStore.redrive_execution`: checked and written in one transaction."""
        with self._transaction() as db:
            row = db.execute(
                f"SELECT {_EXECUTION_COLUMNS}, redrive_tokens FROM executions WHERE arn = ?",
                (arn,),
            ).fetchone()
            if row is None:
                raise KeyError(arn)
            record = _execution_from_row(row)
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
                    _text(at),
                    to_json([[used, _text(made)] for used, made in tokens]),
                    arn,
                ),
            )
            _insert_signal(db, arn, kind, fields, at, is_processed=False)
        redriven = replace(
            record,
            status=ExecutionStatus.RUNNING,
            stop_date=None,
            output=None,
            error=None,
            cause=None,
            redrive_count=record.redrive_count + 1,
            redrive_date=at,
        )
        return Redriven(redriven, at, is_new=True)

    def running_executions(self) -> list[ExecutionRecord]:
        """Every RUNNING execution, oldest first: what a restarted executor resumes."""
        with self._connections.use() as db:
            rows = db.execute(
                f"SELECT {_EXECUTION_COLUMNS} FROM executions WHERE status = ? "
                "ORDER BY start_date, arn",
                (str(ExecutionStatus.RUNNING),),
            )
            return [_execution_from_row(row) for row in rows]

    # -- journal, history, timers ----------------------------------------------------------------
    def add_signal(
        self, execution_arn: str, kind: str, fields: dict[str, Any], at: datetime
    ) -> int:
        """Append an unprocessed signal (KeyError for an unknown execution); return its seq."""
        with self._transaction() as db:
            _require_execution(db, execution_arn)
            return _insert_signal(db, execution_arn, kind, fields, at, is_processed=False)

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
                (_text(at), signal_seq, execution_arn),
            )
            if cursor.rowcount != 1:
                raise StoreConflict(f"signal {signal_seq} of {execution_arn} is not pending")
            _write_activation(db, execution_arn, events, new_timers, cleared_timers, completion)

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
            _require_execution(db, execution_arn)
            seq = _insert_signal(db, execution_arn, kind, fields, at, is_processed=True)
            _write_activation(db, execution_arn, events, new_timers, cleared_timers, completion)
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
            return _events_from_rows(rows)

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

    # -- map runs --------------------------------------------------------------------------------
    def put_map_run(self, record: MapRunRecord, child_machine: StateMachineRecord) -> None:
        """Insert the map run (StoreConflict on its ARN) and its children's revision if new."""
        with self._transaction() as db:
            try:
                db.execute(
                    f"INSERT INTO map_runs ({_MAP_RUN_COLUMNS}) VALUES ({_marks(13)})",
                    _map_run_row(record),
                )
            except sqlite3.IntegrityError as error:
                raise StoreConflict(f"map run {record.arn} already exists") from error
            db.execute(
                f"INSERT OR IGNORE INTO state_machine_revisions ({_MACHINE_COLUMNS}) "
                f"VALUES ({_marks(10)})",
                _machine_row(child_machine),
            )

    def get_map_run(self, arn: str) -> MapRunRecord | None:
        with self._connections.use() as db:
            row = db.execute(
                f"SELECT {_MAP_RUN_COLUMNS} FROM map_runs WHERE arn = ?", (arn,)
            ).fetchone()
        return None if row is None else _map_run_from_row(row)

    def update_map_run(self, record: MapRunRecord) -> None:
        """Replace the map run's fields (KeyError when its ARN is unknown)."""
        with self._transaction() as db:
            assignments = ", ".join(f"{c.strip()} = ?" for c in _MAP_RUN_COLUMNS.split(","))
            cursor = db.execute(
                f"UPDATE map_runs SET {assignments} WHERE arn = ?",
                (*_map_run_row(record), record.arn),
            )
            if cursor.rowcount != 1:
                raise KeyError(record.arn)

    def list_map_runs(self, execution_arn: str) -> list[MapRunRecord]:
        with self._connections.use() as db:
            rows = db.execute(
                f"SELECT {_MAP_RUN_COLUMNS} FROM map_runs WHERE execution_arn = ? "
                "ORDER BY start_date, arn",
                (execution_arn,),
            )
            return [_map_run_from_row(row) for row in rows]

    def put_map_run_child(
        self, map_run_arn: str, index: int, items: int, record: ExecutionRecord, start: SignalRecord
    ) -> None:
        """The child execution, its first signal and its link to the run, in one transaction."""
        row = _execution_row(record)
        with self._transaction() as db:
            try:
                db.execute(
                    f"INSERT INTO executions ({_EXECUTION_COLUMNS}) VALUES ({_marks(len(row))})",
                    row,
                )
            except sqlite3.IntegrityError as error:
                raise StoreConflict(f"execution {record.arn} already exists") from error
            _insert_signal(db, record.arn, start.kind, start.fields, start.at, is_processed=False)
            db.execute(
                "INSERT INTO map_run_executions (execution_arn, map_run_arn, child_index, items) "
                "VALUES (?, ?, ?, ?)",
                (record.arn, map_run_arn, index, items),
            )

    def map_run_children(self, map_run_arn: str) -> list[MapRunChild]:
        with self._connections.use() as db:
            rows = db.execute(
                f"SELECT child_index, items, {_columns_of('e', _EXECUTION_COLUMNS)} "
                "FROM map_run_executions AS c JOIN executions AS e ON e.arn = c.execution_arn "
                "WHERE c.map_run_arn = ? ORDER BY child_index",
                (map_run_arn,),
            )
            return [MapRunChild(row[0], row[1], _execution_from_row(row[2:])) for row in rows]

    def map_run_counts(self, map_run_arn: str) -> dict[ExecutionStatus, tuple[int, int]]:
        with self._connections.use() as db:
            rows = db.execute(
                "SELECT e.status, count(*), sum(c.items) FROM map_run_executions AS c "
                "JOIN executions AS e ON e.arn = c.execution_arn "
                "WHERE c.map_run_arn = ? GROUP BY e.status",
                (map_run_arn,),
            )
            return {ExecutionStatus(status): (count, items) for status, count, items in rows}

    def list_map_run_executions(
        self,
        map_run_arn: str,
        status: ExecutionStatus | None,
        limit: int,
        next_token: str | None,
    ) -> Page:
        """Newest first, paged as `list_executions` pages (the token is the last item's key)."""
        clauses = ["c.map_run_arn = ?"]
        values: list[object] = [map_run_arn]
        if status is not None:
            clauses.append("e.status = ?")
            values.append(str(status))
        if next_token is not None:
            clauses.append("(e.start_date, e.arn) < (?, ?)")
            values.extend(decode_token(next_token, "map-run-executions", 2))
        with self._connections.use() as db:
            rows = db.execute(
                f"SELECT child_index, items, {_columns_of('e', _EXECUTION_COLUMNS)} "
                "FROM map_run_executions AS c JOIN executions AS e ON e.arn = c.execution_arn "
                f"WHERE {' AND '.join(clauses)} ORDER BY e.start_date DESC, e.arn DESC LIMIT ?",
                [*values, limit + 1 if limit > 0 else -1],
            )
            items = [MapRunChild(row[0], row[1], _execution_from_row(row[2:])) for row in rows]
        if limit < 1 or len(items) <= limit:
            return Page(items=items, next_token=None)
        last = items[limit - 1].execution
        return Page(
            items=items[:limit],
            next_token=encode_token("map-run-executions", [_text(last.start_date), last.arn]),
        )

    def map_run_of(self, execution_arn: str) -> str | None:
        with self._connections.use() as db:
            row = db.execute(
                "SELECT map_run_arn FROM map_run_executions WHERE execution_arn = ?",
                (execution_arn,),
            ).fetchone()
        return None if row is None else str(row[0])


class _Checkpointer:
    """Copies the WAL back into the database file on a thread of its own.

    SQLite's automatic checkpoint runs inside the commit that crosses its threshold: one commit
    in every few would pay for writing back and syncing everyone's pages, tens of milliseconds.
    The store's connections leave that as a fallback far off, and this thread checkpoints a
    moment after writes instead. PASSIVE never waits for, nor blocks, readers or writers; what it
    cannot copy yet, the next round does.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._written = threading.Event()
        self._closing = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"redstep-checkpoint {path}", daemon=True
        )
        self._thread.start()

    def written(self) -> None:
        """A transaction committed: checkpoint soon."""
        self._written.set()

    def close(self) -> None:
        self._closing.set()
        self._written.set()
        self._thread.join()

    def _run(self) -> None:
        db = sqlite3.connect(self._path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA synchronous=NORMAL")
            while True:
                self._written.wait()
                if self._closing.wait(CHECKPOINT_DELAY):
                    return
                self._written.clear()
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.OperationalError:
                    # Busy with another connection's checkpoint; the next write brings us back.
                    self._written.set()
        finally:
            db.close()


# -- connections -----------------------------------------------------------------------------------
def _set_up(db: sqlite3.Connection) -> None:
    # No isolation level: the module's implicit BEGIN would defeat BEGIN IMMEDIATE.
    db.isolation_level = None
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"PRAGMA wal_autocheckpoint={_FALLBACK_CHECKPOINT_PAGES}")


# -- writing ---------------------------------------------------------------------------------------
def _add_columns(db: sqlite3.Connection) -> None:
    """Give a store.sqlite made before them the columns `executions` gained since (existing rows
    read as never redriven); checked and added in one transaction, so that two processes
    opening the same file at once do not both add them."""
    db.execute("BEGIN IMMEDIATE")
    try:
        present = {row[1] for row in db.execute("PRAGMA table_info(executions)")}
        for name, kind in _ADDED_EXECUTION_COLUMNS.items():
            if name not in present:
                db.execute(f"ALTER TABLE executions ADD COLUMN {name} {kind}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _require_execution(db: sqlite3.Connection, execution_arn: str) -> None:
    if db.execute("SELECT 1 FROM executions WHERE arn = ?", (execution_arn,)).fetchone() is None:
        raise KeyError(execution_arn)


def _insert_signal(
    db: sqlite3.Connection,
    execution_arn: str,
    kind: str,
    fields: dict[str, Any],
    at: datetime,
    *,
    is_processed: bool,
) -> int:
    cursor = db.execute(
        "INSERT INTO execution_signals (execution_arn, kind, fields, at, is_processed) "
        "VALUES (?, ?, ?, ?, ?)",
        (execution_arn, kind, to_json(fields), _text(at), int(is_processed)),
    )
    seq = cursor.lastrowid
    assert seq is not None
    return seq


def _write_activation(
    db: sqlite3.Connection,
    execution_arn: str,
    events: Sequence[dict[str, Any]],
    new_timers: Sequence[TimerRecord],
    cleared_timers: Sequence[int],
    completion: Completion | None,
) -> None:
    """Everything of `commit` but the signal, inside the caller's transaction; StoreConflict
    when an event id is in the history already or a new timer's id is pending."""
    try:
        _write_rows(db, execution_arn, events, new_timers, cleared_timers, completion)
    except sqlite3.IntegrityError as error:
        raise StoreConflict(f"{execution_arn}: {error}") from error


def _write_rows(
    db: sqlite3.Connection,
    execution_arn: str,
    events: Sequence[dict[str, Any]],
    new_timers: Sequence[TimerRecord],
    cleared_timers: Sequence[int],
    completion: Completion | None,
) -> None:
    # The rows are built inline, not by a helper per event: at thousands of events per
    # activation the function calls would be a measurable share of the commit. An activation's
    # events mostly share one timestamp, so each distinct one is formatted once.
    stamps = {moment: _text(moment) for moment in {event["timestamp"] for event in events}}
    db.executemany(
        _INSERT_EVENT,
        [
            (
                execution_arn,
                event["id"],
                event["previousEventId"],
                event["type"],
                stamps[event["timestamp"]],
                to_json(rest)
                if (rest := {k: v for k, v in event.items() if k not in _EVENT_COLUMNS})
                else None,
            )
            for event in events
        ],
    )
    if cleared_timers:
        db.executemany(
            "DELETE FROM execution_timers WHERE execution_arn = ? AND timer_id = ?",
            [(execution_arn, timer_id) for timer_id in cleared_timers],
        )
    if new_timers:
        db.executemany(
            "INSERT INTO execution_timers (execution_arn, timer_id, due) VALUES (?, ?, ?)",
            [(timer.execution_arn, timer.timer_id, _text(timer.due)) for timer in new_timers],
        )
    if completion is not None:
        db.execute(
            "UPDATE executions SET status = ?, stop_date = ?, output = ?, error = ?, cause = ? "
            "WHERE arn = ?",
            (
                str(completion.status),
                _text(completion.stop_date),
                completion.output,
                completion.error,
                completion.cause,
                execution_arn,
            ),
        )
        db.execute("DELETE FROM execution_timers WHERE execution_arn = ?", (execution_arn,))


# -- rows ------------------------------------------------------------------------------------------
def _marks(count: int) -> str:
    return ", ".join("?" * count)


def _text(moment: datetime) -> str:
    """ISO-8601 in UTC with microseconds always written, so that text order is time order."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError(f"a naive datetime cannot be stored: {moment!r}")
    if offset:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


def _optional_time(moment: datetime | None) -> str | None:
    return None if moment is None else _text(moment)


def _read_optional_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _machine_row(record: StateMachineRecord) -> tuple[object, ...]:
    return (
        record.arn,
        record.name,
        record.definition,
        record.role_arn,
        record.type,
        _text(record.creation_date),
        record.revision_id,
        _optional_time(record.update_date),
        record.description,
        to_json(record.tags),
    )


def _machine_from_row(row: Sequence[Any]) -> StateMachineRecord:
    arn, name, definition, role_arn, kind, created, revision_id, updated, description, tags = row
    return StateMachineRecord(
        arn=arn,
        name=name,
        definition=definition,
        role_arn=role_arn,
        type=kind,
        creation_date=datetime.fromisoformat(created),
        revision_id=revision_id,
        update_date=_read_optional_time(updated),
        description=description,
        tags=_decode(tags),
    )


def _execution_row(record: ExecutionRecord) -> tuple[object, ...]:
    return (
        record.arn,
        record.state_machine_arn,
        record.revision_id,
        record.name,
        record.input,
        str(record.status),
        _text(record.start_date),
        _optional_time(record.stop_date),
        record.output,
        record.error,
        record.cause,
        record.redrive_count,
        _optional_time(record.redrive_date),
    )


def _execution_from_row(row: Sequence[Any]) -> ExecutionRecord:
    return ExecutionRecord(
        arn=row[0],
        state_machine_arn=row[1],
        revision_id=row[2],
        name=row[3],
        input=row[4],
        status=ExecutionStatus(row[5]),
        start_date=datetime.fromisoformat(row[6]),
        stop_date=_read_optional_time(row[7]),
        output=row[8],
        error=row[9],
        cause=row[10],
        redrive_count=row[11],
        redrive_date=_read_optional_time(row[12]),
    )


def _columns_of(table: str, columns: str) -> str:
    """`a, b` as `t.a, t.b`, for a join."""
    return ", ".join(f"{table}.{column.strip()}" for column in columns.split(","))


def _map_run_row(record: MapRunRecord) -> tuple[object, ...]:
    return (
        record.arn,
        record.execution_arn,
        record.state_machine_arn,
        str(record.status),
        _text(record.start_date),
        record.max_concurrency,
        record.tolerated_failure_count,
        record.tolerated_failure_percentage,
        _optional_time(record.stop_date),
        record.item_total,
        record.child_total,
        record.results_written,
        record.answer,
    )


def _map_run_from_row(row: Sequence[Any]) -> MapRunRecord:
    return MapRunRecord(
        arn=row[0],
        execution_arn=row[1],
        state_machine_arn=row[2],
        status=MapRunStatus(row[3]),
        start_date=datetime.fromisoformat(row[4]),
        max_concurrency=row[5],
        tolerated_failure_count=row[6],
        tolerated_failure_percentage=row[7],
        stop_date=_read_optional_time(row[8]),
        item_total=row[9],
        child_total=row[10],
        results_written=row[11],
        answer=row[12],
    )


def _events_from_rows(rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """History events from their rows; an activation's events mostly share a timestamp, so each
    distinct one is parsed once."""
    moments: dict[str, datetime] = {}
    events: list[dict[str, Any]] = []
    for event_id, previous_id, event_type, timestamp, details in rows:
        moment = moments.get(timestamp)
        if moment is None:
            moment = moments[timestamp] = datetime.fromisoformat(timestamp)
        event: dict[str, Any] = {
            "timestamp": moment,
            "type": event_type,
            "id": event_id,
            "previousEventId": previous_id,
        }
        if details is not None:
            event.update(_decode(details))
        events.append(event)
    return events

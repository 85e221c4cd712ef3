"""The SQLite file the durable store keeps its tables in, `.redstep/store.sqlite`: the tables
(created idempotently; columns added since are added to a file made before them), the settings
of its connections, its write transactions, and the thread that checkpoints its WAL.

The file is the project's control-plane database, which the Data API's statement store shares;
this module creates the store's own tables and touches no others. Each call borrows a connection
for its span (`SqliteConnections`), so that the executor's workers, the API's request threads
and the tasks' threads may use the file at once; SQLite serialises the writers.

Every write is one `BEGIN IMMEDIATE … COMMIT` transaction, rolled back on any exception.
`synchronous=NORMAL` keeps commits durable against a crash of the process (not of the machine)
and makes a commit cheap; a thread of the store's own copies the WAL back into the database, so
that no commit waits for it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from redstep.sqlite_connections import SqliteConnections

STORE_FILE = "store.sqlite"

#: The store's tables as first released (a file made then has exactly these).
SCHEMA = """
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
MAP_RUN_SCHEMA = """
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
    answer TEXT,
    redrive_count INTEGER NOT NULL DEFAULT 0,
    redrive_date TEXT
);
CREATE INDEX IF NOT EXISTS map_runs_by_execution ON map_runs (execution_arn, start_date, arn);
CREATE TABLE IF NOT EXISTS map_run_executions (
    execution_arn TEXT PRIMARY KEY,
    map_run_arn TEXT NOT NULL,
    child_index INTEGER NOT NULL,
    items INTEGER NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS map_run_executions_by_run
    ON map_run_executions (map_run_arn, child_index);
COMMIT;
"""

#: Columns tables gained after they were first made (see `_add_columns`), with their types.
_ADDED_COLUMNS = {
    "executions": {
        "redrive_count": "INTEGER NOT NULL DEFAULT 0",
        "redrive_date": "TEXT",
        "redrive_tokens": "TEXT",  # JSON: [[client token, redrive date], ...], oldest first
    },
    "map_runs": {"redrive_count": "INTEGER NOT NULL DEFAULT 0", "redrive_date": "TEXT"},
    "map_run_executions": {"attempt": "INTEGER NOT NULL DEFAULT 0"},
}

#: How long the checkpointer lets writes gather before it copies them into the database.
CHECKPOINT_DELAY = 0.25
#: SQLite's own checkpoint, inside a commit, only if the checkpointer falls this far behind.
_FALLBACK_CHECKPOINT_PAGES = 20_000


class SqliteDatabase:
    """`state_dir / "store.sqlite"` with the store's tables: connections to read with
    (`_connections.use()`) and write transactions (`_transaction()`) for the store's methods."""

    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / STORE_FILE
        self._connections = SqliteConnections(self.path, _set_up)
        with self._connections.use() as db:
            db.executescript(SCHEMA)
            db.executescript(MAP_RUN_SCHEMA)
            _add_columns(db)
        self._checkpointer = _Checkpointer(self.path)

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


# -- tables ----------------------------------------------------------------------------------------
def _add_columns(db: sqlite3.Connection) -> None:
    """Give a store.sqlite made before them the columns its tables gained since (existing rows
    read as never redriven); checked and added in one transaction, so that two processes
    opening the same file at once do not both add them."""
    db.execute("BEGIN IMMEDIATE")
    try:
        for table, columns in _ADDED_COLUMNS.items():
            present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            for name, kind in columns.items():
                if name not in present:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise

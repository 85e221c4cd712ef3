"""Connections to one SQLite database file, each lent to one thread for one use at a time.

Every Step Functions task runs on a short-lived thread of its own: a connection kept per thread
until the store closed would, run after run, use up the process's file descriptors. So a
connection is lent for the span of one use and, given back, kept for the next user on any thread;
a new one opens only when every kept one is lent out, and the number open is the most uses there
ever were at once. Uses nest: a use inside another on the same thread gets the same connection,
so that a read inside a write transaction sees it, and no second transaction waits, on another
connection, for the lock its own thread holds.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_TIMEOUT_SECONDS = 30
"""How long a statement waits for another connection's lock before SQLite calls it busy."""


class SqliteConnections:
    """The connections to the database at `path`; `set_up` prepares each one as it opens
    (isolation level, PRAGMAs)."""

    def __init__(self, path: Path, set_up: Callable[[sqlite3.Connection], None]) -> None:
        self.path = path
        self._set_up = set_up
        self._lock = threading.Lock()
        self._opened: list[sqlite3.Connection] = []
        self._kept: list[sqlite3.Connection] = []
        self._lent = threading.local()
        self._is_closed = False

    @property
    def open_count(self) -> int:
        """How many connections are open, lent out or kept."""
        with self._lock:
            return len(self._opened)

    @contextmanager
    def use(self) -> Iterator[sqlite3.Connection]:
        """A connection for this thread until the block ends. Fetch rows inside the block: the
        connection's next user may be on another thread."""
        held: sqlite3.Connection | None = getattr(self._lent, "db", None)
        if held is not None:
            yield held
            return
        db = self._borrow()
        self._lent.db = db
        try:
            yield db
        finally:
            self._lent.db = None
            self._give_back(db)

    def close(self) -> None:
        """Close every connection, lent out or kept; a use after this raises ProgrammingError."""
        with self._lock:
            self._is_closed = True
            opened, self._opened, self._kept = self._opened, [], []
        for db in opened:
            db.close()

    def _borrow(self) -> sqlite3.Connection:
        with self._lock:
            self._require_open()
            if self._kept:
                return self._kept.pop()
        # Opened outside the lock: setting up may wait on the database, and give-backs must not.
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False)
        try:
            self._set_up(db)
            with self._lock:
                self._require_open()
                self._opened.append(db)
        except BaseException:
            db.close()
            raise
        return db

    def _give_back(self, db: sqlite3.Connection) -> None:
        try:
            if db.in_transaction:  # never hand a transaction left open on to the next user
                db.rollback()
        except sqlite3.Error:
            self._discard(db)  # in doubt: not to be lent again
            return
        with self._lock:
            if not self._is_closed:  # else close() closed it
                self._kept.append(db)

    def _discard(self, db: sqlite3.Connection) -> None:
        with self._lock:
            if db in self._opened:
                self._opened.remove(db)
        db.close()

    def _require_open(self) -> None:
        if self._is_closed:
            raise sqlite3.ProgrammingError(f"the connections to {self.path} are closed")

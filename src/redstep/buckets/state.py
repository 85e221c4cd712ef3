"""What the bucket store remembers between runs: the digests it has computed, and bucket dates.

Nothing is kept beside the objects in the bucket folders, so an object's ETag (the MD5 of its
content, or the multipart ETag its completion made) and its CRC32 (what GetObject's checksum
mode answers) have to be computed from the file or remembered. `StoreState` remembers them in a
small SQLite database, `buckets.sqlite`, beside the staging folder (`.redstep/buckets.sqlite` in
a project), so that a listing after a restart does not read every object again, and an object
completed from parts keeps its multipart ETag.

- Digests are remembered against the file's identity (`files.etag_identity`: device, inode,
  size, mtime and ctime). Any rewrite changes one of them, so they are answered only for the
  very content they were computed from; one row per (device, inode), replaced when the file
  changes.
- Who writes a file knows what it wrote: its digests replace whatever the row had
  (`remember`). A reader that hashed a file it found (`remember(..., replace=False)`) never
  replaces a row for the same identity: the row may be a multipart completion's, saved while
  the reader hashed, and its ETag is not the content's MD5.
- The table holds about `etag_limit` rows. Each row carries the tick it was last used at, and
  when the table grows past the limit the least recently used rows go. A hit rewrites its tick
  only once the row is old enough to be near eviction, so reading a hot object costs no write.
- Each bucket's first-seen time is kept too: ListBuckets's CreationDate, which must not move when
  objects are added (a folder's mtime does).

The database is a cache, and a failure to use it only costs hashing. A database SQLite says is
not one, or is corrupt (SQLITE_NOTADB, SQLITE_CORRUPT), is removed and started afresh. Any other
failure (a lock another process holds, a full disk, a folder that cannot be made) is taken as
passing: it is logged once, the call answers as if nothing were remembered, and a later call
tries again (an open that failed, only after `RETRY_SECONDS` on the injected clock, so that a
database locked elsewhere does not cost every request a wait). One connection serves every
thread, behind a lock; `close` (which `Buckets.close` calls) closes it.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from redstep.buckets.files import EtagIdentity

logger = logging.getLogger(__name__)

T = TypeVar("T")

STATE_FILE = "buckets.sqlite"
"""The database's name, beside the staging folder."""
ETAG_LIMIT = 250_000
"""About how many files' digests are remembered (some 30 MB on disk)."""
BUSY_TIMEOUT = 10.0
"""How long, in seconds, a statement waits for a lock another connection holds before failing."""
RETRY_SECONDS = 30.0
"""How long after a failed open the database is left alone before it is opened again."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS etags (
    device INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    etag TEXT NOT NULL,
    used INTEGER NOT NULL,
    crc32 INTEGER,  -- NULL until known (rows made before it was kept have none)
    PRIMARY KEY (device, inode)
);
CREATE INDEX IF NOT EXISTS etags_by_use ON etags (used);
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY,
    created INTEGER NOT NULL  -- seconds since the epoch, UTC
);
"""
_INSERT = (
    "INSERT INTO etags (device, inode, size, mtime_ns, ctime_ns, etag, crc32, used)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (device, inode) DO UPDATE SET size = excluded.size,"
    " mtime_ns = excluded.mtime_ns, ctime_ns = excluded.ctime_ns, etag = excluded.etag,"
    " crc32 = excluded.crc32, used = excluded.used"
)
_UNLESS_SAME_FILE = (
    " WHERE etags.size != excluded.size OR etags.mtime_ns != excluded.mtime_ns"
    " OR etags.ctime_ns != excluded.ctime_ns"
)
_RESET_CODES = frozenset({sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT})


@dataclass(frozen=True, slots=True)
class Digests:
    """What is remembered of one file's content: its ETag (quoted), and its CRC32 if known."""

    etag: str
    crc32: int | None = None


class StoreState:
    """The store's remembered digests and bucket dates, in the database `locate()` names.

    `locate` is called when the database is first needed, so a store that never computes an ETag
    never makes one. `clock` (monotonic seconds) times the wait before a failed open is retried.
    """

    def __init__(
        self,
        locate: Callable[[], Path],
        *,
        etag_limit: int = ETAG_LIMIT,
        busy_timeout: float = BUSY_TIMEOUT,
        retry_seconds: float = RETRY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._locate = locate
        self._etag_limit = max(1, etag_limit)
        self._busy_timeout = busy_timeout
        self._retry_seconds = retry_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._finalizer: weakref.finalize[[sqlite3.Connection], StoreState] | None = None
        self._retry_at = float("-inf")
        self._is_failing = False  # a failure was logged, and nothing has worked since
        self._needs_reset = False  # found corrupt while in use: start afresh at the next open
        self._tick = 0
        self._inserted = 0

    # -- digests -------------------------------------------------------------------------------

    def digests(self, identity: EtagIdentity) -> Digests | None:
        """What is remembered for the file with `identity`, or None."""
        device, inode, size, mtime_ns, ctime_ns = identity

        def look_up(connection: sqlite3.Connection) -> Digests | None:
            row = connection.execute(
                "SELECT size, mtime_ns, ctime_ns, etag, crc32, used FROM etags"
                " WHERE device = ? AND inode = ?",
                (device, inode),
            ).fetchone()
            if row is None or tuple(row[:3]) != (size, mtime_ns, ctime_ns):
                return None
            if self._tick - row[5] >= self._etag_limit // 2:
                # Old enough to be near eviction: this use counts. Younger rows are safe
                # without the write, since fewer than half the limit is newer than them.
                self._tick += 1
                connection.execute(
                    "UPDATE etags SET used = ? WHERE device = ? AND inode = ?",
                    (self._tick, device, inode),
                )
            return Digests(str(row[3]), None if row[4] is None else int(row[4]))

        return self._using(look_up, None)

    def remember(self, identity: EtagIdentity, digests: Digests, *, replace: bool = True) -> None:
        """Remember `digests` for the file with `identity`, replacing what its inode had.

        With `replace=False` (a reader's digests, computed from the content), a row already
        there for this very file (the same size and times) is kept as it is.
        """

        def insert(connection: sqlite3.Connection) -> None:
            self._tick += 1
            self._inserted += 1
            connection.execute(
                _INSERT if replace else _INSERT + _UNLESS_SAME_FILE,
                (*identity, digests.etag, digests.crc32, self._tick),
            )
            # Count now and then, not on every insert: the limit is "about".
            if self._inserted >= max(1, self._etag_limit // 8):
                self._inserted = 0
                self._evict(connection)

        self._using(insert, None)

    def remember_crc32(self, identity: EtagIdentity, crc32: int) -> None:
        """Add `crc32` to what is remembered for the file with `identity`, if anything is."""
        device, inode, size, mtime_ns, ctime_ns = identity

        def update(connection: sqlite3.Connection) -> None:
            connection.execute(
                "UPDATE etags SET crc32 = ? WHERE device = ? AND inode = ? AND size = ?"
                " AND mtime_ns = ? AND ctime_ns = ? AND crc32 IS NULL",
                (crc32, device, inode, size, mtime_ns, ctime_ns),
            )

        self._using(update, None)

    def _evict(self, connection: sqlite3.Connection) -> None:
        (count,) = connection.execute("SELECT COUNT(*) FROM etags").fetchone()
        if count > self._etag_limit:
            connection.execute(
                "DELETE FROM etags WHERE rowid IN (SELECT rowid FROM etags ORDER BY used LIMIT ?)",
                (count - self._etag_limit,),
            )

    # -- buckets -------------------------------------------------------------------------------

    def first_seen(self, bucket: str, seen: datetime) -> datetime:
        """When `bucket` was first seen: the `seen` recorded the first time this is asked."""

        def record(connection: sqlite3.Connection) -> datetime:
            connection.execute(
                "INSERT OR IGNORE INTO buckets (name, created) VALUES (?, ?)",
                (bucket, int(seen.timestamp())),
            )
            (created,) = connection.execute(
                "SELECT created FROM buckets WHERE name = ?", (bucket,)
            ).fetchone()
            return datetime.fromtimestamp(created, UTC)

        return self._using(record, seen)

    def close(self) -> None:
        """Close the database; a later call opens it again."""
        with self._lock:
            self._close()

    # -- the database --------------------------------------------------------------------------

    def _using(self, action: Callable[[sqlite3.Connection], T], fallback: T) -> T:
        """What `action` answers on the open database; `fallback` when the database fails."""
        with self._lock:
            connection = self._open()
            if connection is None:
                return fallback
            try:
                answer = action(connection)
            except sqlite3.Error as error:
                self._fail(error)
                return fallback
            if self._is_failing:
                self._is_failing = False
                logger.info("the bucket state is kept again")
            return answer

    def _open(self) -> sqlite3.Connection | None:
        """The connection, opened when first needed; None while the database cannot be opened."""
        if self._connection is not None:
            return self._connection
        if self._clock() < self._retry_at:
            return None  # it failed not long ago: no wait on it for every call
        try:
            path = self._locate()
            if self._needs_reset:
                _start_afresh(path, "it was found corrupt")
            try:
                connection, tick = _connect(path, self._busy_timeout)
            except sqlite3.DatabaseError as error:
                if not _is_unreadable(error):
                    raise  # a lock, a full disk: passing, and no reason to lose what it holds
                _start_afresh(path, str(error))
                connection, tick = _connect(path, self._busy_timeout)
        except (sqlite3.Error, OSError) as error:
            self._fail(error)
            self._retry_at = self._clock() + self._retry_seconds
            return None
        self._needs_reset = False
        self._connection, self._tick = connection, tick
        # Should the store be dropped without `close`, the connection still goes with it.
        self._finalizer = weakref.finalize(self, _close_quietly, connection)
        return connection

    def _fail(self, error: Exception) -> None:
        if not self._is_failing:
            logger.warning("the bucket state is not kept for now (ETags are hashed): %s", error)
            self._is_failing = True
        if isinstance(error, sqlite3.DatabaseError) and _is_unreadable(error):
            self._needs_reset = True
            self._close()

    def _close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # closes the connection, once
        self._finalizer = None
        self._connection = None


def _connect(path: Path, busy_timeout: float) -> tuple[sqlite3.Connection, int]:
    """The database at `path`, made ready; and the latest tick its rows were used at."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Autocommit: every statement is its own transaction, and none is held open between calls.
    connection = sqlite3.connect(
        path, timeout=busy_timeout, check_same_thread=False, isolation_level=None
    )
    try:
        # A lost last write after a power cut costs one more MD5, so no sync per commit.
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.executescript(_SCHEMA)
        columns = {row[1] for row in connection.execute("PRAGMA table_info(etags)")}
        if "crc32" not in columns:  # made before CRC32s were kept
            connection.execute("ALTER TABLE etags ADD COLUMN crc32 INTEGER")
        (tick,) = connection.execute("SELECT COALESCE(MAX(used), 0) FROM etags").fetchone()
    except BaseException:
        connection.close()
        raise
    return connection, int(tick)


def _is_unreadable(error: sqlite3.DatabaseError) -> bool:
    """Whether SQLite says the file is not a database, or a corrupt one (never a passing state)."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and (code & 0xFF) in _RESET_CODES  # extended codes: the low byte


def _start_afresh(path: Path, reason: str) -> None:
    # A cache that cannot be read is worth nothing: remove it, and its journal.
    logger.warning("the bucket state %s is unreadable (%s); starting it afresh", path, reason)
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            path.with_name(path.name + suffix).unlink()


def _close_quietly(connection: sqlite3.Connection) -> None:
    with contextlib.suppress(sqlite3.Error):
        connection.close()

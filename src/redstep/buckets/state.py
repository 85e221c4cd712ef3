"""What the bucket store remembers between runs: the ETags it has computed, and its buckets' dates.

Nothing is kept beside the objects in the bucket folders, so an object's ETag (the MD5 of its
content, or the multipart ETag its completion made) has to be computed from the file or
remembered. `StoreState` remembers it in a small SQLite database, `buckets.sqlite`, beside the
staging folder (`.redstep/buckets.sqlite` in a project), so that a listing after a restart does
not read every object again, and an object completed from parts keeps its multipart ETag.

- An ETag is remembered against the file's identity (`files.etag_identity`: device, inode, size,
  mtime and ctime). Any rewrite changes one of them, so an ETag is answered only for the very
  content it was computed from; one row per (device, inode), replaced when the file changes.
- The table holds about `etag_limit` rows. Each row carries the tick it was last used at, and
  when the table grows past the limit the least recently used rows go. A hit rewrites its tick
  only once the row is old enough to be near eviction, so reading a hot object costs no write.
- Each bucket's first-seen time is kept too: ListBuckets's CreationDate, which must not move when
  objects are added (a folder's mtime does).

The database is a cache: if it cannot be opened or written, that is logged and the store goes on
computing ETags from the files. One connection serves every thread, behind a lock; it is closed
when the state is collected.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from redstep.buckets.files import EtagIdentity

logger = logging.getLogger(__name__)

STATE_FILE = "buckets.sqlite"
"""The database's name, beside the staging folder."""
ETAG_LIMIT = 250_000
"""About how many ETags are remembered (some 30 MB on disk)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS etags (
    device INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    etag TEXT NOT NULL,
    used INTEGER NOT NULL,
    PRIMARY KEY (device, inode)
);
CREATE INDEX IF NOT EXISTS etags_by_use ON etags (used);
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY,
    created INTEGER NOT NULL  -- seconds since the epoch, UTC
);
"""


class StoreState:
    """The store's remembered ETags and bucket dates, in the database `locate()` names.

    `locate` is called when the database is first needed, so a store that never computes an ETag
    never makes one.
    """

    def __init__(self, locate: Callable[[], Path], *, etag_limit: int = ETAG_LIMIT) -> None:
        self._locate = locate
        self._etag_limit = max(1, etag_limit)
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._is_broken = False
        self._tick = 0
        self._inserted = 0

    # -- ETags ---------------------------------------------------------------------------------

    def etag(self, identity: EtagIdentity) -> str | None:
        """The ETag remembered for the file with `identity`, or None."""
        device, inode, size, mtime_ns, ctime_ns = identity
        with self._lock:
            connection = self._open()
            if connection is None:
                return None
            try:
                row = connection.execute(
                    "SELECT size, mtime_ns, ctime_ns, etag, used FROM etags"
                    " WHERE device = ? AND inode = ?",
                    (device, inode),
                ).fetchone()
                if row is None or tuple(row[:3]) != (size, mtime_ns, ctime_ns):
                    return None
                if self._tick - row[4] >= self._etag_limit // 2:
                    # Old enough to be near eviction: this use counts. Younger rows are safe
                    # without the write, since fewer than half the limit is newer than them.
                    self._tick += 1
                    connection.execute(
                        "UPDATE etags SET used = ? WHERE device = ? AND inode = ?",
                        (self._tick, device, inode),
                    )
                return str(row[3])
            except sqlite3.Error as error:
                self._fail(error)
                return None

    def remember_etag(self, identity: EtagIdentity, etag: str) -> None:
        """Remember `etag` for the file with `identity`, replacing what its inode had."""
        with self._lock:
            connection = self._open()
            if connection is None:
                return
            self._tick += 1
            self._inserted += 1
            try:
                connection.execute(
                    "INSERT OR REPLACE INTO etags"
                    " (device, inode, size, mtime_ns, ctime_ns, etag, used)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (*identity, etag, self._tick),
                )
                # Count now and then, not on every insert: the limit is "about".
                if self._inserted >= max(1, self._etag_limit // 8):
                    self._inserted = 0
                    self._evict(connection)
            except sqlite3.Error as error:
                self._fail(error)

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
        with self._lock:
            connection = self._open()
            if connection is None:
                return seen
            try:
                connection.execute(
                    "INSERT OR IGNORE INTO buckets (name, created) VALUES (?, ?)",
                    (bucket, int(seen.timestamp())),
                )
                (created,) = connection.execute(
                    "SELECT created FROM buckets WHERE name = ?", (bucket,)
                ).fetchone()
            except sqlite3.Error as error:
                self._fail(error)
                return seen
        return datetime.fromtimestamp(created, UTC)

    def close(self) -> None:
        """Close the database; a later call opens it again."""
        with self._lock:
            if self._connection is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._connection.close()
                self._connection = None

    # -- the database --------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection | None:
        """The connection, opened when first needed; None once the database has failed."""
        if self._connection is not None or self._is_broken:
            return self._connection
        try:
            path = self._locate()
            connection = _connect(path)
        except sqlite3.DatabaseError as error:
            # A cache that cannot be read is worth nothing: start it again, once.
            logger.warning(
                "the bucket state %s is unreadable (%s); starting it afresh", path, error
            )
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(OSError):
                    path.with_name(path.name + suffix).unlink()
            try:
                connection = _connect(path)
            except sqlite3.Error as again:
                self._fail(again)
                return None
        except (sqlite3.Error, OSError) as error:
            self._fail(error)
            return None
        weakref.finalize(self, connection.close)
        self._connection = connection
        (self._tick,) = connection.execute("SELECT COALESCE(MAX(used), 0) FROM etags").fetchone()
        return connection

    def _fail(self, error: Exception) -> None:
        # Logged once: from here on ETags are computed from the files, as without a database.
        if not self._is_broken:
            logger.warning("the bucket state is not kept from here on: %s", error)
        self._is_broken = True
        if self._connection is not None:
            with contextlib.suppress(sqlite3.Error):
                self._connection.close()
            self._connection = None


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Autocommit: every statement is its own transaction, and none is held open between calls.
    connection = sqlite3.connect(path, timeout=10, check_same_thread=False, isolation_level=None)
    try:
        # A lost last write after a power cut costs one more MD5, so no sync per commit.
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.executescript(_SCHEMA)
    except BaseException:
        connection.close()
        raise
    return connection

"""SqliteConnections: connections lent for one use, kept for the next, closed together."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from redstep.sqlite_connections import SqliteConnections


def set_up(db: sqlite3.Connection) -> None:
    db.isolation_level = None
    db.execute("PRAGMA journal_mode=WAL")


@pytest.fixture
def connections(tmp_path: Path) -> Iterator[SqliteConnections]:
    opened = SqliteConnections(tmp_path / "test.sqlite", set_up)
    with opened.use() as db:
        db.execute("CREATE TABLE t (x INTEGER)")
    yield opened
    opened.close()


def hold_two_at_once(connections: SqliteConnections) -> list[sqlite3.Connection]:
    """The connections two threads were lent while both held one."""
    both = threading.Barrier(2, timeout=10)
    lent: list[sqlite3.Connection] = []

    def hold() -> None:
        with connections.use() as db:
            lent.append(db)
            both.wait()

    threads = [threading.Thread(target=hold) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return lent


def test_short_lived_threads_share_one_kept_connection(connections: SqliteConnections) -> None:
    def insert() -> None:
        with connections.use() as db:
            db.execute("INSERT INTO t VALUES (1)")

    for _ in range(50):
        thread = threading.Thread(target=insert)
        thread.start()
        thread.join()
    assert connections.open_count == 1
    with connections.use() as db:
        assert db.execute("SELECT count(*) FROM t").fetchone() == (50,)


def test_each_connection_is_set_up_once(tmp_path: Path) -> None:
    set_ups: list[sqlite3.Connection] = []
    connections = SqliteConnections(tmp_path / "test.sqlite", set_ups.append)
    for _ in range(3):
        with connections.use() as db:
            db.execute("SELECT 1")
    hold_two_at_once(connections)
    assert len(set_ups) == connections.open_count == 2
    connections.close()


def test_a_nested_use_gets_the_same_connection(connections: SqliteConnections) -> None:
    with connections.use() as outer:
        outer.execute("BEGIN IMMEDIATE")
        outer.execute("INSERT INTO t VALUES (1)")
        with connections.use() as inner:
            assert inner is outer
            assert inner.execute("SELECT count(*) FROM t").fetchone() == (1,)
        assert outer.in_transaction  # the inner use ending gives nothing back
        outer.execute("COMMIT")
    assert connections.open_count == 1


def test_uses_at_once_get_different_connections(connections: SqliteConnections) -> None:
    first, second = hold_two_at_once(connections)
    assert first is not second
    assert connections.open_count == 2
    hold_two_at_once(connections)
    assert connections.open_count == 2  # both were kept and lent again


def test_a_transaction_left_open_is_not_handed_on(connections: SqliteConnections) -> None:
    with connections.use() as db:
        db.execute("BEGIN")
        db.execute("INSERT INTO t VALUES (1)")
    with connections.use() as db:
        assert not db.in_transaction
        assert db.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_close_closes_every_connection_lent_or_kept(connections: SqliteConnections) -> None:
    kept = hold_two_at_once(connections)
    with connections.use() as lent:
        connections.close()
        assert connections.open_count == 0
    for db in [*kept, lent]:
        with pytest.raises(sqlite3.ProgrammingError, match="closed database"):
            db.execute("SELECT 1")


def test_a_use_after_close_raises(connections: SqliteConnections) -> None:
    connections.close()
    with (
        pytest.raises(sqlite3.ProgrammingError, match=r"test\.sqlite are closed"),
        connections.use() as db,
    ):
        db.execute("SELECT 1")
    connections.close()  # closing twice is harmless

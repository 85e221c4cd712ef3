"""`Connection.reset_session` on every backend: afterwards the connection is as a new session
finds it (no temporary objects, settings or prepared statements), and nothing else is touched."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from redstep.warehouse import Connection, WarehouseError
from redstep.warehouse.registry import WarehouseOptions, open_warehouse


def exists(connection: Connection, name: str) -> bool:
    try:
        connection.execute(f"select * from {name}")
    except WarehouseError as error:
        if "does not exist" in error.message:
            return False
        raise
    return True


@pytest.fixture
def only_in_s1(connect: Callable[[], Connection]) -> None:
    """Schema s1 with a table `only_in_s1`, which `public` on the search_path cannot see."""
    setup = connect()
    setup.execute("create schema s1")
    setup.execute("create table s1.only_in_s1 (a int)")


# -- temporary objects --------------------------------------------------------------------------


def test_reset_drops_every_temporary_object_and_nothing_else(
    connect: Callable[[], Connection],
) -> None:
    session = connect()
    session.execute("create table kept (a int)")
    session.execute("insert into kept values (1)")
    session.execute("create temp table plain (a int)")
    session.execute("create table #hashed (id bigint identity(1, 1), a int)")
    session.execute("insert into #hashed (a) values (2)")
    session.execute("select a into #selected from kept")
    session.execute("create temp view shown as select a from plain")
    session.execute("create temp sequence counter")
    session.reset_session()
    for name in ("plain", "hashed", "selected", "shown"):
        assert not exists(session, name), name
    assert list(session.execute("select a from kept").rows) == [(1,)]
    # Every name is free again, the identity's sequence included.
    session.execute("create table #hashed (id bigint identity(1, 1), a int)")
    session.execute("insert into #hashed (a) values (3)")
    assert list(session.execute("select id, a from #hashed").rows) == [(1, 3)]
    session.execute("create temp sequence counter")
    session.execute("create temp view shown as select 1 as a")


def test_reset_drops_what_a_committed_transaction_created(
    connect: Callable[[], Connection],
) -> None:
    session = connect()
    session.begin()
    session.execute("create temp table staged (a int)")
    session.commit()
    session.reset_session()
    assert not exists(session, "staged")


@pytest.mark.usefixtures("only_in_s1")
def test_reset_leaves_other_sessions_alone(connect: Callable[[], Connection]) -> None:
    owner, other = connect(), connect()
    owner.execute("create temp table mine (a int)")
    owner.execute("set search_path to s1, public")
    other.execute("create temp table theirs (a int)")
    other.execute("set search_path to s1")
    other.reset_session()
    assert exists(owner, "mine")
    assert exists(owner, "only_in_s1")


# -- settings and prepared statements -----------------------------------------------------------


@pytest.mark.usefixtures("only_in_s1")
def test_reset_undoes_set_search_path(connect: Callable[[], Connection]) -> None:
    session = connect()
    session.execute("set search_path to s1")
    assert exists(session, "only_in_s1")
    session.reset_session()
    assert not exists(session, "only_in_s1")
    session.execute("create table in_public (a int)")  # the default schema is public again
    assert exists(session, "public.in_public")


@pytest.mark.parametrize("warehouse_url", ["postgres"], indirect=True)
@pytest.mark.usefixtures("only_in_s1")
def test_reset_undoes_set_config_on_postgres(connect: Callable[[], Connection]) -> None:
    session = connect()
    session.execute("select set_config('search_path', 's1', false)")
    session.execute("select set_config('TimeZone', 'America/New_York', false)")
    assert exists(session, "only_in_s1")
    session.reset_session()
    assert not exists(session, "only_in_s1")
    # Redshift's UTC is the session's default, not a SET the reset undoes.
    assert list(session.execute("select current_setting('TimeZone')").rows) == [("UTC",)]


def test_postgres_keeps_the_urls_options_and_resets_to_them(
    postgres_url: str, tmp_path: Path
) -> None:
    url = f"{postgres_url}?options=-c%20statement_timeout%3D12345"
    warehouse = open_warehouse(url, WarehouseOptions(root=tmp_path))
    try:
        session = warehouse.connect()
        session.execute("select set_config('statement_timeout', '1s', false)")
        session.reset_session()
        settings = "select current_setting('statement_timeout'), current_setting('TimeZone')"
        assert list(session.execute(settings).rows) == [("12345ms", "UTC")]
    finally:
        warehouse.close()


def test_reset_deallocates_prepared_statements(connect: Callable[[], Connection]) -> None:
    session = connect()
    session.execute("prepare pp as select 42")
    assert list(session.execute("execute pp").rows) == [(42,)]
    session.reset_session()
    with pytest.raises(WarehouseError, match="pp"):
        session.execute("execute pp")
    session.execute("prepare pp as select 43")  # the name is free again
    assert list(session.execute("execute pp").rows) == [(43,)]


@pytest.mark.usefixtures("only_in_s1")
def test_reset_keeps_the_session_setup(connect: Callable[[], Connection]) -> None:
    session = connect()
    session.execute("set search_path to s1")
    session.reset_session()
    assert list(session.execute("select 7 / 2").rows) == [(3,)]  # Redshift's integer division
    assert list(session.execute("select current_setting('TimeZone')").rows) == [("UTC",)]


@pytest.mark.usefixtures("only_in_s1")
def test_a_connection_keeps_its_state_until_reset(connect: Callable[[], Connection]) -> None:
    """What a session (SessionId) relies on: nothing is reset between its statements."""
    session = connect()
    session.execute("create temp table scratch (a int)")
    session.execute("insert into scratch values (1)")
    session.execute("prepare pp as select a from scratch")
    session.execute("set search_path to s1")
    assert list(session.execute("execute pp").rows) == [(1,)]
    assert exists(session, "only_in_s1")
    assert exists(session, "scratch")


# -- DuckDB: a reset is a new cursor, and only when something may need it -------------------------


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_duckdb_resets_only_after_sql_that_may_leave_session_state(
    connect: Callable[[], Connection],
) -> None:
    session = connect()
    session.execute("create table kept (a int)")

    def cursor_after(sql: str) -> object:
        before = session._cursor  # type: ignore[attr-defined]
        session.execute(sql)
        session.reset_session()
        return before is not session._cursor  # type: ignore[attr-defined]

    for sql in (
        "insert into kept values (1)",
        "select a from kept",
        "update kept set a = 2",
        "delete from kept where a = 3",
        "with x as (select 1 as a) select * from x",
    ):
        assert cursor_after(sql) is False, sql
    for sql in (
        "create temp table plain (a int)",
        "set search_path to public",
        "reset search_path",
        "/* a comment */ set search_path to public",
        "-- a comment\nprepare pp as select 1",
    ):
        assert cursor_after(sql) is True, sql
    # A long comment header before a statement that leaves nothing: looking for a SET after it
    # once backtracked exponentially (this statement took minutes; the test's timeout catches it).
    header = "".join(f"-- line {n} of a script's header, with words\n" for n in range(40))
    assert cursor_after(header + "delete from kept where a = 3") is False


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_duckdb_drops_temporary_macros_and_types(connect: Callable[[], Connection]) -> None:
    session = connect()
    session.execute("create temp macro plus_one(x) as x + 1")
    session.execute(
        "create or replace temporary /* a table macro */ macro answer() as table select 42"
    )
    session.execute("create temp type mood as enum ('ok', 'sad')")
    session.execute("create temp table moods (m mood)")
    session.reset_session()
    for sql in ("select plus_one(1)", "select * from answer()", "select 'ok'::mood"):
        with pytest.raises(WarehouseError):
            session.execute(sql)
    session.execute("create temp macro plus_one(x) as x + 1")
    session.execute("create temp type mood as enum ('ok')")
    session.execute("create temp table moods (m mood)")

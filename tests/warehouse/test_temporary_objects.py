"""`Connection.discard_temporary_objects` on every backend, and the dialect's
`Translation.has_temporary_effect` that lets it do nothing after statements that create none."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from redstep.warehouse import Connection, Warehouse, WarehouseError
from redstep.warehouse.dialect import Target, translate

# -- which statements may create a temporary object ---------------------------------------------

INERT = [
    "select 1",
    "with x as (select 1 as a) select * from x union all select 2",
    "insert into t values (1)",
    "insert into t with x as (select 1 as a) select a from x",
    "update t set a = 1 from s where t.b = s.b",
    "delete from t using s where t.b = s.b",
    "merge into t using s on t.a = s.a when matched then delete",
    "truncate t",
    "begin",
    "commit",
    "rollback",
    "analyze t",
    "vacuum t",
    "set search_path to etl, public",
    "set query_group to 'etl'",
    "alter table t alter column c encode zstd",
]
MAY_CREATE = [
    "create temp table t (a int)",
    "create temporary table t as select 1 as a",
    "create table #t (a int)",
    "create table t (a int)",  # DDL: on PostgreSQL, pg_temp may lead the search_path
    "select 1 as a into #t",
    "select 1 as a into temp table t",
    "with x as (select 1 as a) select * into #t from x",
    "drop table t",
    "call make_staging()",
    "this is not sql",
]


@pytest.mark.parametrize("target", list(Target))
@pytest.mark.parametrize("statement", INERT)
def test_queries_dml_and_control_have_no_temporary_effect(statement: str, target: Target) -> None:
    assert translate(statement, target).has_temporary_effect is False


@pytest.mark.parametrize("target", list(Target))
@pytest.mark.parametrize("statement", MAY_CREATE)
def test_ddl_select_into_and_the_unknown_may_create_temporary_objects(
    statement: str, target: Target
) -> None:
    assert translate(statement, target).has_temporary_effect is True


def test_a_function_of_the_users_may_create_one_on_postgres_only() -> None:
    statement = "select refresh_staging(1)"  # PL/pgSQL may create a table; a DuckDB macro cannot
    assert translate(statement, Target.POSTGRES).has_temporary_effect is True
    assert translate(statement, Target.DUCKDB).has_temporary_effect is False


# -- discarding, on each backend ----------------------------------------------------------------


@pytest.fixture
def connect(warehouse: Warehouse) -> Iterator[Callable[[], Connection]]:
    """Open sessions on the warehouse; all are closed after the test."""
    opened: list[Connection] = []

    def open_one() -> Connection:
        connection = warehouse.connect()
        opened.append(connection)
        return connection

    yield open_one
    for connection in opened:
        connection.close()


def exists(connection: Connection, name: str) -> bool:
    try:
        connection.execute(f"select * from {name}")
    except WarehouseError as error:
        if "does not exist" in error.message:
            return False
        raise
    return True


def test_discard_drops_every_temporary_object_and_nothing_else(
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
    session.discard_temporary_objects()
    for name in ("plain", "hashed", "selected", "shown"):
        assert not exists(session, name), name
    assert session.execute("select a from kept").rows == [(1,)]
    # Every name is free again, the identity's sequence included.
    session.execute("create table #hashed (id bigint identity(1, 1), a int)")
    session.execute("insert into #hashed (a) values (3)")
    assert session.execute("select id, a from #hashed").rows == [(1, 3)]
    session.execute("create temp sequence counter")
    session.execute("create temp view shown as select 1 as a")


def test_discard_drops_what_a_committed_transaction_created(
    connect: Callable[[], Connection],
) -> None:
    session = connect()
    session.begin()
    session.execute("create temp table staged (a int)")
    session.commit()
    session.discard_temporary_objects()
    assert not exists(session, "staged")


def test_discard_leaves_other_sessions_alone(connect: Callable[[], Connection]) -> None:
    owner, other = connect(), connect()
    owner.execute("create temp table mine (a int)")
    other.execute("create temp table theirs (a int)")
    other.discard_temporary_objects()
    assert exists(owner, "mine")


class _CountingExecute:
    """Stands in for a driver's connection, counting its `execute` calls."""

    def __init__(self, target: Any) -> None:
        self._target = target
        self.executed = 0

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        self.executed += 1
        return self._target.execute(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


_DRIVER_CONNECTION = {"duckdb": "_cursor", "postgresql": "_connection"}


def test_discard_costs_no_call_to_the_engine_after_statements_that_create_nothing(
    warehouse: Warehouse, connect: Callable[[], Connection], monkeypatch: pytest.MonkeyPatch
) -> None:
    session = connect()
    session.execute("create table kept (a int)")
    session.execute("create temp table plain (a int)")
    session.discard_temporary_objects()
    attribute = _DRIVER_CONNECTION[warehouse.name]
    driver = _CountingExecute(getattr(session, attribute))
    monkeypatch.setattr(session, attribute, driver)
    session.execute("insert into kept values (1)")
    session.execute("select a from kept")
    session.execute("begin")
    session.execute("update kept set a = 2")
    session.execute("commit")
    before = driver.executed
    session.discard_temporary_objects()
    assert driver.executed == before
    session.execute("create temp table plain (a int)")
    before = driver.executed
    session.discard_temporary_objects()
    assert driver.executed > before
    assert not exists(session, "plain")


# -- DuckDB's own temporary objects ---------------------------------------------------------------


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_duckdb_discards_temporary_macros_and_types(connect: Callable[[], Connection]) -> None:
    session = connect()
    session.execute("create temp macro plus_one(x) as x + 1")
    session.execute(
        "create or replace temporary /* a table macro */ macro answer() as table select 42"
    )
    session.execute("create temp type mood as enum ('ok', 'sad')")
    session.execute("create temp table moods (m mood)")
    session.discard_temporary_objects()
    for sql in ("select plus_one(1)", "select * from answer()", "select 'ok'::mood"):
        with pytest.raises(WarehouseError):
            session.execute(sql)
    session.execute("create temp macro plus_one(x) as x + 1")
    session.execute("create temp type mood as enum ('ok')")
    session.execute("create temp table moods (m mood)")

"""REDSHIFT.md: DML forms and transaction statements inside scripts."""

from __future__ import annotations

from collections.abc import Callable

from redstep.warehouse.base import Connection

Run = Callable[..., list[tuple[object, ...]]]


def _tables(run: Run) -> None:
    run(
        "create table dim (id int primary key, price numeric(8, 2), label varchar(10))",
        "create table stage (id int, price numeric(8, 2), label varchar(10))",
        "insert into dim values (1, 1.00, 'a'), (2, 2.00, 'b')",
        "insert into stage values (2, 2.50, 'bb'), (3, 3.00, 'c')",
    )


def test_update_from(run: Run) -> None:
    _tables(run)
    rows = run(
        "update dim set price = s.price, label = s.label from stage s where dim.id = s.id",
        "select id, label from dim order by id",
    )
    assert rows == [(1, "a"), (2, "bb")]


def test_delete_using(run: Run) -> None:
    _tables(run)
    assert run("delete from dim using stage where dim.id = stage.id", "select id from dim") == [
        (1,)
    ]


def test_merge(run: Run) -> None:
    _tables(run)
    rows = run(
        "merge into dim using stage on dim.id = stage.id"
        " when matched then update set label = stage.label"
        " when not matched then insert (id, price, label)"
        " values (stage.id, stage.price, stage.label)",
        "select id, label from dim order by id",
    )
    assert rows == [(1, "a"), (2, "bb"), (3, "c")]


def test_insert_with_cte_select(run: Run) -> None:
    _tables(run)
    rows = run(
        "insert into dim (id, label) with fresh as (select id + 10 as id, label from stage)"
        " select id, label from fresh",
        "select id from dim order by id",
    )
    assert rows == [(1,), (2,), (12,), (13,)]


def test_begin_and_rollback_statements(run: Run, connection: Connection) -> None:
    run("create table t (a int)")
    run("begin", "insert into t values (1)", "rollback")
    run("start transaction", "insert into t values (2)", "abort")
    assert run("select count(*) from t") == [(0,)]
    assert not connection.in_transaction


def test_commit_and_end_statements(run: Run, connection: Connection) -> None:
    run("create table t (a int)")
    run("begin transaction", "insert into t values (1)", "commit")
    run("begin", "insert into t values (2)", "end transaction")
    run("begin", "insert into t values (3)", "end")
    assert run("select count(*) from t") == [(3,)]
    assert not connection.in_transaction


def test_truncate_commits_and_cannot_be_rolled_back(run: Run) -> None:
    run("create table t (a int)", "insert into t values (1)")
    run("begin", "insert into t values (2)", "truncate t", "rollback")
    assert run("select count(*) from t") == [(0,)]
    run("insert into t values (3)", "begin", "insert into t values (4)", "truncate table t")
    run("insert into t values (5)", "rollback")
    assert run("select count(*) from t") == [(0,)]

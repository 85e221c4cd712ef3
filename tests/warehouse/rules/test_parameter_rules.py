"""REDSHIFT.md: Data API parameters are bound as values, never pasted into the SQL text."""

from __future__ import annotations

from collections.abc import Callable

Run = Callable[..., list[tuple[object, ...]]]


def test_named_parameters_are_bound(run: Run) -> None:
    run("create table t (id int, name varchar(20))")
    run("insert into t values (:id, :name)", parameters={"id": "1", "name": "o'brien %s"})
    rows = run(
        "select name, ':id', '%' || name from t where id = :id and name like 'o%' -- :nope",
        parameters={"id": "1"},
    )
    assert rows == [("o'brien %s", ":id", "%o'brien %s")]


def test_casts_are_not_parameters(run: Run) -> None:
    assert run("select :n::int + 1, 10 % 3", parameters={"n": "41"}) == [(42, 1)]

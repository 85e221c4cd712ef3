"""Result column names: unnamed select items are named as Redshift names them."""

from __future__ import annotations

from redstep.warehouse.base import Connection


def test_unnamed_items_are_named_as_redshift_names_them(connection: Connection) -> None:
    connection.execute("create table t (a int, b varchar(10))")
    result = connection.execute(
        "select 7/2, count(*), max(b), cast(a as bigint), a::varchar, current_date, sysdate, "
        "case when a > 0 then 1 end, a, t.b, a + 1 as named from t group by a, b"
    )
    assert [column.name for column in result.columns] == [
        "?column?",
        "count",
        "max",
        "a",
        "a",
        "date",
        "timestamp",
        "case",
        "a",
        "b",
        "named",
    ]


def test_a_cast_of_an_expression_is_named_after_its_type(connection: Connection) -> None:
    result = connection.execute("select '1'::int, cast(2 as numeric(5, 1)), 3::float8")
    assert [column.name for column in result.columns] == ["int4", "numeric", "float8"]

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


def test_a_function_call_is_named_by_the_function_as_written(connection: Connection) -> None:
    connection.execute("create table t (a int, b varchar(10), d date)")
    result = connection.execute(
        "select decode(a, 1, 'x'), charindex('a', b), strpos(b, 'a'), dateadd(day, 1, d),"
        " datediff(day, d, d), date_trunc('day', d), to_char(d, 'YYYY'), to_date(b, 'YYYY'),"
        " date_part(year, d), regexp_substr(b, 'a'), len(b), LEN(b), Upper(b) from t"
    )
    assert [column.name for column in result.columns] == [
        "decode",
        "charindex",
        "strpos",
        "dateadd",
        "datediff",
        "date_trunc",
        "to_char",
        "to_date",
        "date_part",
        "regexp_substr",
        "len",
        "len",
        "upper",
    ]


def test_aggregates_within_group_and_over_are_named_by_the_function(
    connection: Connection,
) -> None:
    connection.execute("create table t (a int, b varchar(10))")
    result = connection.execute(
        "select listagg(b, ',') within group (order by b),"
        " percentile_cont(0.5) within group (order by a), median(a),"
        " count(*) over (), sum(a) over (partition by b), row_number() over (order by a),"
        " extract(year from current_date) from t group by a, b"
    )
    assert [column.name for column in result.columns] == [
        "listagg",
        "percentile_cont",
        "median",
        "count",
        "sum",
        "row_number",
        "date_part",
    ]

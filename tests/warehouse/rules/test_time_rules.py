"""REDSHIFT.md: sysdate, getdate, trunc, current_date and the date functions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from redstep.warehouse.base import Connection

Run = Callable[..., list[tuple[object, ...]]]


def test_sysdate_is_transaction_start_timestamp_without_time_zone(
    run: Run, connection: Connection
) -> None:
    connection.begin()
    first = run("select sysdate")[0][0]
    run("select count(*) from (select 1) x")
    second = run("select sysdate")[0][0]
    connection.commit()
    assert isinstance(first, dt.datetime)
    assert first.tzinfo is None
    assert first == second
    utc_now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert abs((utc_now - first).total_seconds()) < 60


def test_getdate_is_current_utc_timestamp(run: Run) -> None:
    value = run("select getdate()")[0][0]
    assert isinstance(value, dt.datetime)
    assert value.tzinfo is None
    utc_now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert abs((utc_now - value).total_seconds()) < 60


def test_trunc_of_timestamp_is_a_date(run: Run) -> None:
    rows = run(
        "select trunc(sysdate), trunc(cast('2024-03-04 05:06:07' as timestamp)), trunc(3.7),"
        " current_date"
    )
    assert isinstance(rows[0][0], dt.date)
    assert not isinstance(rows[0][0], dt.datetime)
    assert rows[0][1] == dt.date(2024, 3, 4)
    assert float(str(rows[0][2])) == 3.0
    assert rows[0][3] == dt.datetime.now(dt.UTC).date()


def test_dateadd_and_datediff(run: Run) -> None:
    rows = run(
        "select dateadd(day, 1, '2024-02-28'::date), dateadd(month, 1, '2024-01-31'::date),"
        " dateadd(hour, -2, '2024-01-01 01:00:00'::timestamp),"
        " datediff(day, '2024-01-01'::date, '2024-03-01'::date),"
        " datediff(month, '2024-01-31'::date, '2024-02-01'::date),"
        " datediff(year, '2023-12-31'::date, '2024-01-01'::date),"
        " datediff(hour, '2024-01-01 10:59:00'::timestamp, '2024-01-01 11:01:00'::timestamp)"
    )
    assert rows == [
        (
            dt.datetime(2024, 2, 29),
            dt.datetime(2024, 2, 29),
            dt.datetime(2023, 12, 31, 23),
            60,
            1,
            1,
            1,
        )
    ]


def test_date_trunc_and_date_part(run: Run) -> None:
    rows = run(
        "select date_trunc('month', '2024-03-15 10:00:00'::timestamp),"
        " date_part(year, '2024-03-15'::date), date_part(dow, '2024-03-17'::date),"
        " extract(month from '2024-03-15'::date)"
    )
    assert rows[0][0] == dt.datetime(2024, 3, 1)
    assert [int(str(v).split(".")[0]) for v in rows[0][1:]] == [2024, 0, 3]


def test_convert_timezone(run: Run) -> None:
    rows = run(
        "select convert_timezone('UTC', 'America/New_York', '2024-01-01 12:00:00'::timestamp),"
        " convert_timezone('America/New_York', '2024-07-01 12:00:00'::timestamp)"
    )
    assert rows == [(dt.datetime(2024, 1, 1, 7), dt.datetime(2024, 7, 1, 8))]


def test_to_char_and_to_date(run: Run) -> None:
    rows = run(
        "select to_char('2024-03-05'::date, 'YYYY-MM-DD'), to_char('2024-03-05'::date, 'YYYYMM'),"
        " to_date('05/03/2024', 'DD/MM/YYYY')"
    )
    assert rows == [("2024-03-05", "202403", dt.date(2024, 3, 5))]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("trunc(-3.7)", -3),
        ("trunc(price * 2)", 5),
        ("trunc(cast(price as numeric(8, 2)))", 2),
        ("trunc(price::float8)", 2),
        ("trunc(sum(price))", 2),
        ("trunc(avg(price))", 2),
        ("trunc(count(*) / 1.0)", 1),
        ("trunc(median(price))", 2),
        ("trunc(stddev(price))", None),
        ("trunc(variance(price))", None),
        ("trunc(percentile_cont(0.5) within group (order by price))", 2),
        ("trunc(round(price, 1))", 2),
        ("trunc(abs(price))", 2),
        ("trunc(ceil(price))", 3),
        ("trunc(floor(price))", 2),
        ("trunc(power(price, 2))", 6),
        ("trunc(sqrt(price))", 1),
        ("trunc(ln(price))", 0),
        ("trunc(log(price))", 0),
        ("trunc(exp(price))", 12),
        ("trunc(mod(7, 4) + 0.5)", 3),
        ("trunc(price, 1)", 2.5),
    ],
)
def test_trunc_of_a_number_stays_numeric(run: Run, expression: str, expected: float | None) -> None:
    run("create table t (price numeric(8, 2))", "insert into t values (2.56)")
    value = run(f"select {expression} from t")[0][0]
    assert (value if value is None else float(str(value))) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "trunc(sysdate)",
        "trunc(getdate())",
        "trunc(current_timestamp)",
        "trunc(cast(s as timestamp))",
        "trunc(s::date)",
        "trunc(dateadd(day, 1, s))",
        "trunc(date_trunc('hour', s))",
        "trunc(convert_timezone('UTC', 'UTC', s))",
        "trunc(s)",
    ],
)
def test_trunc_of_a_timestamp_is_a_date(run: Run, expression: str) -> None:
    run("create table t (s timestamp)", "insert into t values (sysdate)")
    value = run(f"select {expression} from t")[0][0]
    assert isinstance(value, dt.date)
    assert not isinstance(value, dt.datetime)

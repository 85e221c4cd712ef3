"""REDSHIFT.md: sysdate, getdate, trunc, current_date and the date functions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

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

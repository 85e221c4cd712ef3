"""REDSHIFT.md: arithmetic — integer division, division by zero, numeric overflow."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from redstep.warehouse.base import WarehouseError

Run = Callable[..., list[tuple[object, ...]]]


def test_int_division_truncates_toward_zero(run: Run) -> None:
    assert run("select 7/2, -7/2, 7/-2, 1/3") == [(3, -3, -3, 0)]
    rows = run(
        "create table t (a int, b bigint, c smallint)",
        "insert into t values (7, 2, 4)",
        "select a / b, a / c, b / c from t",
    )
    assert rows == [(3, 1, 0)]


def test_numeric_division_keeps_fractions(run: Run) -> None:
    rows = run("select 7.0 / 2, cast(7 as numeric(10, 2)) / 2")
    assert [Decimal(str(value)) for value in rows[0]] == [Decimal("3.5"), Decimal("3.5")]


@pytest.mark.parametrize(
    "expression",
    ["1/0", "cast(1 as bigint) / 0", "1.5 / 0", "cast(1 as numeric(10, 2)) / 0", "5 % 0"],
)
def test_division_by_zero_is_an_error(run: Run, expression: str) -> None:
    with pytest.raises(WarehouseError, match="division by zero"):
        run(f"select {expression}")


def test_one_over_count_of_no_rows_is_division_by_zero(run: Run) -> None:
    run("create table sales (d date)")
    with pytest.raises(WarehouseError, match="division by zero"):
        run("select 1/count(1) from sales where d = '2024-01-01'")


def test_numeric_overflow_is_an_error(run: Run) -> None:
    run("create table t (a numeric(5, 2))")
    with pytest.raises(WarehouseError, match=r"(?i)overflow|out of range"):
        run("insert into t values (12345.67)")
    with pytest.raises(WarehouseError, match=r"(?i)overflow|out of range"):
        run("select cast(2147483647 as int) + cast(1 as int)")

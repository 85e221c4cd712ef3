"""Helpers for the REDSHIFT.md rule tests: run Redshift SQL on the `warehouse` fixture."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from redstep.warehouse.base import Connection, Parameters, Warehouse

Run = Callable[..., list[tuple[object, ...]]]


@pytest.fixture
def connection(warehouse: Warehouse) -> Iterator[Connection]:
    """One session on the warehouse under test."""
    opened = warehouse.connect()
    yield opened
    opened.close()


@pytest.fixture
def run(connection: Connection) -> Run:
    """Run statements in order; return the rows of the last one."""

    def run_all(*statements: str, parameters: Parameters | None = None) -> list[tuple[object, ...]]:
        rows: list[tuple[object, ...]] = []
        for statement in statements:
            rows = list(connection.execute(statement, parameters).rows)
        return rows

    return run_all

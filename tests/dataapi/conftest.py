"""Fixtures for the Data API suite: a project on a DuckDB file, a service over it, a clock."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from redstep.dataapi.service import DataApiService
from redstep.project import DEFAULT_WAREHOUSE, Project


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.current = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A project in tmp_path whose default warehouse is a DuckDB file."""
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    return Project(root=tmp_path, warehouses=MappingProxyType({DEFAULT_WAREHOUSE: url}))


@pytest.fixture
def make_service(project: Project) -> Iterator[Callable[..., DataApiService]]:
    """Make services on the project (closed at the end of the test)."""
    made: list[DataApiService] = []

    def make(**options: Any) -> DataApiService:
        service = DataApiService(project, **options)
        made.append(service)
        return service

    yield make
    for service in made:
        service.close()


@pytest.fixture
def service(make_service: Callable[..., DataApiService]) -> DataApiService:
    """A running service on the project."""
    return make_service()


@pytest.fixture
def clock() -> Clock:
    """A hand-moved clock to inject as the service's `now`."""
    return Clock()


def wait_for(service: DataApiService, statement_id: str, timeout: float = 30) -> dict[str, Any]:
    """Poll DescribeStatement (long polling, bounded) until the statement has ended."""
    deadline = time.monotonic() + timeout
    while True:
        described = dict(service.describe_statement({"Id": statement_id, "WaitTimeSeconds": 2}))
        if described["Status"] in ("FINISHED", "FAILED", "ABORTED"):
            return described
        assert time.monotonic() < deadline, f"statement still {described['Status']}"


def run(service: DataApiService, sql: str, **request: Any) -> dict[str, Any]:
    """Execute `sql` and wait for it to end; return DescribeStatement's answer."""
    submitted = service.execute_statement({"Sql": sql, "Database": "dev", **request})
    return wait_for(service, submitted["Id"])


def wait_until(condition: Callable[[], bool], timeout: float = 20) -> None:
    """Poll `condition` every 20 ms until it holds, failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.02)


@pytest.fixture(name="run")
def run_fixture() -> Callable[..., dict[str, Any]]:
    """`run(service, sql, **request)`: execute and wait; DescribeStatement's answer."""
    return run


@pytest.fixture(name="wait_for")
def wait_for_fixture() -> Callable[..., dict[str, Any]]:
    """`wait_for(service, id)`: poll until the statement ended; DescribeStatement's answer."""
    return wait_for


@pytest.fixture(name="wait_until")
def wait_until_fixture() -> Callable[..., None]:
    """`wait_until(condition)`: poll a condition with a bound."""
    return wait_until

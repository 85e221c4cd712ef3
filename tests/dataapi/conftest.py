"""Fixtures for the Data API suite: a project on a DuckDB file, a service over it, a clock, and
a fake warehouse for failures a real engine will not produce on demand."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from redstep.dataapi.service import DataApiService
from redstep.project import DEFAULT_WAREHOUSE, Project
from redstep.warehouse.base import (
    Capabilities,
    Column,
    Connection,
    Parameters,
    QueryCancelled,
    Result,
    Table,
    WarehouseUnavailable,
)
from redstep.warehouse.registry import WarehouseOptions

LOSE_CONNECTION = "select 'the server goes away'"
"""SQL on which a fake connection reports its connection lost."""
BLOCK = "select 'wait for the gate'"
"""SQL that blocks a fake connection until the gate opens (or, when cancel works, a cancel)."""


class FakeConnection:
    """A connection to `FakeWarehouse`: answers `select 1`-like SQL with one row, and obeys
    LOSE_CONNECTION and BLOCK. Its backend_pid is its number: 1 for the first one opened.
    `resets` counts its `reset_session` calls, which raise when the warehouse's `reset_error` is
    set."""

    def __init__(self, warehouse: FakeWarehouse, number: int) -> None:
        self.warehouse = warehouse
        self.number = number
        self.is_closed = False
        self.is_cancel_called = False
        self.resets = 0
        self.wake = threading.Event()
        self._in_transaction = False

    def execute(self, sql: str, parameters: Parameters | None = None) -> Result:
        if sql == LOSE_CONNECTION:
            raise WarehouseUnavailable("server closed the connection unexpectedly")
        if sql == BLOCK:
            self.warehouse.blocked.release()
            self.wake.wait(10)
            if self.is_cancel_called:
                raise QueryCancelled("canceling statement due to user request")
            return Result()
        if self.warehouse.after_execute is not None:
            self.warehouse.after_execute(sql)
        return Result(columns=(Column("n", "int4"),), rows=[(1,)], row_count=1)

    def begin(self) -> None:
        self._in_transaction = True

    def commit(self) -> None:
        self._in_transaction = False

    def rollback(self) -> None:
        self._in_transaction = False

    @property
    def in_transaction(self) -> bool:
        return self._in_transaction

    @property
    def backend_pid(self) -> int:
        return self.number

    def cancel(self) -> None:
        self.is_cancel_called = True
        if self.warehouse.is_cancel_honoured:
            self.wake.set()

    def reset_session(self) -> None:
        self.resets += 1
        if self.warehouse.reset_error is not None:
            raise self.warehouse.reset_error

    def close(self) -> None:
        self.is_closed = True
        self.wake.set()


class FakeWarehouse:
    """A warehouse whose connections the test inspects and steers."""

    LOSE_CONNECTION = LOSE_CONNECTION
    BLOCK = BLOCK
    name = "fake"
    capabilities = Capabilities(
        supports_cancel=True,
        supports_concurrent_connections=True,
        supports_transactional_ddl=True,
    )
    database = "dev"

    def __init__(self) -> None:
        self.connections: list[FakeConnection] = []
        self.is_cancel_honoured = True
        self.after_execute: Callable[[str], None] | None = None
        """Called with the SQL after each ordinary statement, on the worker's thread."""
        self.blocked = threading.Semaphore(0)
        """Released once each time a connection starts BLOCK."""
        self.reset_error: Exception | None = None
        """Raised by every connection's `reset_session` while set."""

    def connect(self) -> Connection:
        connection = FakeConnection(self, len(self.connections) + 1)
        self.connections.append(connection)
        return connection

    def open_gate(self) -> None:
        """Let every BLOCK finish."""
        for connection in self.connections:
            connection.wake.set()

    def list_databases(self) -> list[str]:
        return ["dev"]

    def list_schemas(self, database: str) -> list[str]:
        return ["public"]

    def list_tables(self, database: str, schema: str | None = None) -> list[Table]:
        return []

    def describe_table(self, database: str, schema: str, table: str) -> list[Column]:
        return []

    def close(self) -> None:
        """The fake holds nothing to release."""


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


def _services_on(project: Project) -> Iterator[Callable[..., DataApiService]]:
    """Make services on `project`, each closed once the test ends."""
    made: list[DataApiService] = []

    def make(**options: Any) -> DataApiService:
        service = DataApiService(project, **options)
        made.append(service)
        return service

    yield make
    for service in made:
        service.close()


@pytest.fixture
def make_service(project: Project) -> Iterator[Callable[..., DataApiService]]:
    """Make services on the project (closed at the end of the test)."""
    yield from _services_on(project)


@pytest.fixture
def make_backend_service(
    warehouse_url: str, tmp_path: Path
) -> Iterator[Callable[..., DataApiService]]:
    """Make services on a project whose warehouse is DuckDB, then PostgreSQL (where reachable)."""
    project = Project(
        root=tmp_path, warehouses=MappingProxyType({DEFAULT_WAREHOUSE: warehouse_url})
    )
    yield from _services_on(project)


@pytest.fixture
def service(make_service: Callable[..., DataApiService]) -> DataApiService:
    """A running service on the project."""
    return make_service()


@pytest.fixture
def fake_warehouse() -> FakeWarehouse:
    """A fake warehouse; pass `warehouse_opener=lambda url, options: fake` to the service."""
    return FakeWarehouse()


@pytest.fixture
def fake_service(
    make_service: Callable[..., DataApiService], fake_warehouse: FakeWarehouse
) -> Callable[..., DataApiService]:
    """Make services whose every warehouse is `fake_warehouse`."""

    def make(**options: Any) -> DataApiService:
        def opener(url: str, warehouse_options: WarehouseOptions) -> FakeWarehouse:
            return fake_warehouse

        return make_service(warehouse_opener=opener, **options)

    return make


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

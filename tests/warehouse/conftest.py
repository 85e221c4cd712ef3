"""Fixtures the warehouse tests share."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from redstep.warehouse import Connection, Warehouse


@pytest.fixture
def connect(warehouse: Warehouse) -> Iterator[Callable[[], Connection]]:
    """Open sessions on the warehouse; all are closed after the test."""
    opened: list[Connection] = []

    def open_one() -> Connection:
        connection = warehouse.connect()
        opened.append(connection)
        return connection

    yield open_one
    for connection in opened:
        connection.close()

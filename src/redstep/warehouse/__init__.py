"""SQL backends behind one protocol: DuckDB (embedded default), PostgreSQL, and Redshift through
its Data API."""

from __future__ import annotations

from redstep.warehouse.base import (
    Capabilities,
    Column,
    Connection,
    QueryCancelled,
    Result,
    Table,
    Warehouse,
    WarehouseError,
    WarehouseUnavailable,
)
from redstep.warehouse.registry import (
    WarehouseOptions,
    WarehouseUrlError,
    check_url,
    open_warehouse,
)

__all__ = [
    "Capabilities",
    "Column",
    "Connection",
    "QueryCancelled",
    "Result",
    "Table",
    "Warehouse",
    "WarehouseError",
    "WarehouseOptions",
    "WarehouseUnavailable",
    "WarehouseUrlError",
    "check_url",
    "open_warehouse",
]

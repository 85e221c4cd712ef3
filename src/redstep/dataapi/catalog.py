"""The catalog operations of the Data API: ListDatabases, ListSchemas, ListTables, DescribeTable.

They read the warehouse's catalog directly (no statement is recorded), filter by LIKE-style
patterns (`%` any run of characters, `_` one character) and page the answer with NextToken.
Warehouse errors are mapped here, in one place: a warehouse that cannot be reached is
DatabaseConnectionException, any other catalog error a ValidationException.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, TypeVar

from redstep.dataapi.errors import DatabaseConnectionException, ValidationException
from redstep.dataapi.fields import column_metadata
from redstep.dataapi.paging import like_pattern, page
from redstep.dataapi.shapes import (
    DescribeTableResponse,
    ListDatabasesResponse,
    ListSchemasResponse,
    ListTablesResponse,
)
from redstep.dataapi.validation import check_exclusive_target, validate_request
from redstep.dataapi.workers import Warehouses
from redstep.project import Project
from redstep.warehouse.base import Table, Warehouse, WarehouseError, WarehouseUnavailable

T = TypeVar("T")

PAGE_SIZE = 1000
"""Items per page when the request gives no MaxResults."""


class Catalog:
    """Answers the catalog operations from the project's warehouses."""

    def __init__(self, project: Project, warehouses: Warehouses) -> None:
        self._project = project
        self._warehouses = warehouses

    def list_databases(self, request: Mapping[str, Any]) -> ListDatabasesResponse:
        """ListDatabases."""
        validate_request("ListDatabases", request)
        warehouse = self._warehouse(request)
        databases = _read(warehouse.list_databases)
        chosen, token = _page(databases, "ListDatabases", request)
        response: ListDatabasesResponse = {"Databases": chosen}
        if token:
            response["NextToken"] = token
        return response

    def list_schemas(self, request: Mapping[str, Any]) -> ListSchemasResponse:
        """ListSchemas, filtered by SchemaPattern."""
        validate_request("ListSchemas", request)
        warehouse = self._warehouse(request)
        database = _database(warehouse, request.get("Database"))
        pattern = like_pattern(request.get("SchemaPattern"))
        schemas = [
            schema
            for schema in _read(partial(warehouse.list_schemas, database))
            if _matches(pattern, schema)
        ]
        chosen, token = _page(schemas, "ListSchemas", request)
        response: ListSchemasResponse = {"Schemas": chosen}
        if token:
            response["NextToken"] = token
        return response

    def list_tables(self, request: Mapping[str, Any]) -> ListTablesResponse:
        """ListTables, filtered by SchemaPattern and TablePattern."""
        validate_request("ListTables", request)
        warehouse = self._warehouse(request)
        database = _database(warehouse, request.get("Database"))
        tables = _tables(
            warehouse, database, request.get("SchemaPattern"), request.get("TablePattern")
        )
        chosen, token = _page(tables, "ListTables", request)
        response: ListTablesResponse = {
            "Tables": [{"name": t.name, "schema": t.schema, "type": t.type} for t in chosen]
        }
        if token:
            response["NextToken"] = token
        return response

    def describe_table(self, request: Mapping[str, Any]) -> DescribeTableResponse:
        """DescribeTable: the columns of the tables that Schema and Table name (as patterns)."""
        validate_request("DescribeTable", request)
        warehouse = self._warehouse(request)
        database = _database(warehouse, request.get("Database"))
        tables = _tables(warehouse, database, request.get("Schema"), request.get("Table"))
        columns = [
            column_metadata(column)
            for table in tables
            for column in _read(
                partial(warehouse.describe_table, database, table.schema, table.name)
            )
        ]
        chosen, token = _page(columns, "DescribeTable", request)
        response: DescribeTableResponse = {"ColumnList": chosen}
        if len(tables) == 1:
            response["TableName"] = tables[0].name
        if token:
            response["NextToken"] = token
        return response

    def _warehouse(self, request: Mapping[str, Any]) -> Warehouse:
        check_exclusive_target(request)
        name = self._project.warehouse_name(
            request.get("ClusterIdentifier") or request.get("WorkgroupName")
        )
        try:
            return self._warehouses.get(name)
        except WarehouseError as error:
            raise DatabaseConnectionException(error.message) from error


def _database(warehouse: Warehouse, requested: str | None) -> str:
    """The warehouse database a request's Database names (Redshift's `dev` is the default)."""
    return requested if requested in _read(warehouse.list_databases) else warehouse.database


def _tables(
    warehouse: Warehouse, database: str, schema_pattern: str | None, table_pattern: str | None
) -> list[Table]:
    """The database's tables whose schema and name match the LIKE patterns (None matches all)."""
    schemas, names = like_pattern(schema_pattern), like_pattern(table_pattern)
    return [
        table
        for table in _read(partial(warehouse.list_tables, database))
        if _matches(schemas, table.schema) and _matches(names, table.name)
    ]


def _matches(pattern: str | None, name: str) -> bool:
    return pattern is None or re.fullmatch(pattern, name) is not None


def _page(items: list[T], operation: str, request: Mapping[str, Any]) -> tuple[list[T], str | None]:
    return page(items, operation, request.get("NextToken"), request.get("MaxResults"), PAGE_SIZE)


def _read(read: Callable[[], T]) -> T:
    """Run a catalog read, mapping the warehouse's errors to the Data API's."""
    try:
        return read()
    except WarehouseUnavailable as error:
        raise DatabaseConnectionException(error.message) from error
    except WarehouseError as error:
        raise ValidationException(f"ERROR: {error.message}") from error

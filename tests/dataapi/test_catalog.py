"""ListDatabases, ListSchemas, ListTables, DescribeTable, with patterns and pages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from redstep.dataapi.service import DataApiService
from redstep.project import DEFAULT_WAREHOUSE, Project


@pytest.fixture
def tables(service: DataApiService, run: Callable[..., dict[str, Any]]) -> DataApiService:
    described = run(
        service,
        "create schema sales; create table sales.orders (id int not null, amount numeric(10,2), "
        "note varchar(20) default 'none'); create table sales.order_lines (id int); "
        "create table public.customers (name varchar(30))",
    )
    assert described["Status"] == "FINISHED", described.get("Error")
    return service


def test_list_databases(tables: DataApiService) -> None:
    databases = tables.list_databases({"Database": "dev"})["Databases"]
    assert databases
    assert all(isinstance(name, str) for name in databases)


def test_list_schemas_with_pattern(tables: DataApiService) -> None:
    schemas = tables.list_schemas({"Database": "dev"})["Schemas"]
    assert {"public", "sales"} <= set(schemas)
    assert tables.list_schemas({"Database": "dev", "SchemaPattern": "sa%"})["Schemas"] == ["sales"]
    assert tables.list_schemas({"Database": "dev", "SchemaPattern": "s_les"})["Schemas"] == [
        "sales"
    ]


def test_list_tables_with_patterns_and_pages(tables: DataApiService) -> None:
    listed = tables.list_tables({"Database": "dev", "SchemaPattern": "sales"})["Tables"]
    assert [(t["schema"], t["name"]) for t in listed] == [
        ("sales", "order_lines"), ("sales", "orders")
    ]  # fmt: skip
    assert listed[0]["type"] == "TABLE"
    only = tables.list_tables({"Database": "dev", "TablePattern": "cust%"})["Tables"]
    assert [t["name"] for t in only] == ["customers"]
    first = tables.list_tables({"Database": "dev", "SchemaPattern": "sales", "MaxResults": 1})
    assert len(first["Tables"]) == 1
    second = tables.list_tables(
        {"Database": "dev", "SchemaPattern": "sales", "MaxResults": 1,
         "NextToken": first["NextToken"]}
    )  # fmt: skip
    assert [t["name"] for t in second["Tables"]] == ["orders"]
    assert "NextToken" not in second


def test_describe_table(tables: DataApiService) -> None:
    described = tables.describe_table({"Database": "dev", "Schema": "sales", "Table": "orders"})
    assert described["TableName"] == "orders"
    columns = described["ColumnList"]
    assert [c["name"] for c in columns] == ["id", "amount", "note"]
    assert [c["typeName"] for c in columns] == ["int4", "numeric", "varchar"]
    assert columns[0]["nullable"] == 0
    assert (columns[1]["precision"], columns[1]["scale"]) == (10, 2)
    assert columns[2]["schemaName"] == "sales"
    assert columns[2]["tableName"] == "orders"
    assert "none" in columns[2]["columnDefault"]


def test_string_precision_is_the_declared_length_on_postgresql(
    postgres_url: str, tmp_path: Path
) -> None:
    project = Project(root=tmp_path, warehouses=MappingProxyType({DEFAULT_WAREHOUSE: postgres_url}))
    with DataApiService(project) as service:
        made = service.execute_statement(
            {"Sql": "create table words (short varchar(10), plain varchar, code char(3))",
             "Database": "dev", "WaitTimeSeconds": 10}
        )  # fmt: skip
        assert made["Status"] == "FINISHED", made
        described = service.describe_table({"Database": "dev", "Table": "words"})["ColumnList"]
        selected = service.execute_statement(
            {"Sql": "select * from words", "Database": "dev", "WaitTimeSeconds": 10}
        )
        metadata = service.get_statement_result({"Id": selected["Id"]})["ColumnMetadata"]
    for columns in (described, metadata):
        assert [(c["typeName"], c["precision"]) for c in columns] == [
            ("varchar", 10), ("varchar", 256), ("char", 3)
        ]  # fmt: skip

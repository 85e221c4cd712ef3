"""The backend registry: a URL scheme picks a backend, a typo gets a suggestion."""

from __future__ import annotations

from pathlib import Path

import pytest

from redstep.warehouse import WarehouseOptions, WarehouseUrlError, check_url
from redstep.warehouse.registry import open_warehouse


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("duckdb:///:memory:", "duckdb"),
        ("duckdb:///.redstep/warehouse.duckdb", "duckdb"),
        ("duckdb:////tmp/absolute.duckdb", "duckdb"),
        ("postgresql://postgres@127.0.0.1:5432/test", "postgresql"),
        ("postgres://postgres@localhost/test", "postgres"),
    ],
)
def test_known_schemes_are_accepted(url: str, scheme: str) -> None:
    assert check_url(url) == scheme


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///x.db", "unknown warehouse scheme 'sqlite'"),
        ("postgresq://h/db", "did you mean 'postgresql'"),
        ("warehouse.duckdb", "is not a warehouse URL"),
        ("duckdb:///", "names no database file"),
        ("postgresql://", "names neither a host nor a database"),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, message: str) -> None:
    with pytest.raises(WarehouseUrlError, match=message):
        check_url(url)


def test_a_relative_duckdb_path_resolves_against_the_project(tmp_path: Path) -> None:
    warehouse = open_warehouse(
        "duckdb:///.redstep/warehouse.duckdb", WarehouseOptions(root=tmp_path)
    )
    try:
        assert (warehouse.name, warehouse.database) == ("duckdb", "dev")
        warehouse.connect().execute("create table t (a int)")
    finally:
        warehouse.close()
    assert (tmp_path / ".redstep" / "warehouse.duckdb").is_file()

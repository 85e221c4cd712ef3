"""Fixtures shared by the whole suite: warehouses on every available backend."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from redstep.warehouse.base import Warehouse
from redstep.warehouse.registry import WarehouseOptions, open_warehouse

POSTGRES_URL_VARIABLE = "REDSTEP_TEST_POSTGRES_URL"


def _postgres_server_url() -> str:
    """The server the PostgreSQL tests use, or skip them saying why."""
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(
            f"PostgreSQL tests need {POSTGRES_URL_VARIABLE} (e.g. postgresql://postgres@127.0.0.1:5432/test)"
        )
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            pass
    except Exception as error:  # any failure to reach the server is a reason to skip
        pytest.skip(f"PostgreSQL at {url} is not reachable: {error}")
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL to a fresh, empty PostgreSQL database, dropped after the test."""
    import psycopg

    server_url = _postgres_server_url()
    name = f"redstep_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(server_url)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to an empty warehouse, once per backend; PostgreSQL skips when unavailable."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def buckets(tmp_path: Path) -> dict[str, Path]:
    """One local bucket, `test-bucket`, for COPY and UNLOAD."""
    folder = tmp_path / "buckets" / "test-bucket"
    folder.mkdir(parents=True)
    return {"test-bucket": folder}


@pytest.fixture
def warehouse(warehouse_url: str, tmp_path: Path, buckets: dict[str, Path]) -> Iterator[Warehouse]:
    """An open, empty warehouse, once per backend."""
    opened = open_warehouse(warehouse_url, WarehouseOptions(root=tmp_path, buckets=buckets))
    yield opened
    opened.close()

"""Fixtures for the example projects: a fresh copy of one, on each warehouse backend, running."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from redstep.api.local_endpoint import open_services
from redstep.cli.init import create_project
from redstep.project import load_project
from redstep.services import Services


@pytest.fixture(params=["duckdb", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """The warehouse backend the example runs on; PostgreSQL skips when no server is there."""
    return str(request.param)


@pytest.fixture
def sales_project(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A fresh copy of the sales data pipeline example, on `backend`."""
    url = None if backend == "duckdb" else str(request.getfixturevalue("postgres_url"))
    return create_project(tmp_path / "sales_data_pipeline", example="sales", warehouse_url=url)


@pytest.fixture
def sales_services(sales_project: Path) -> Iterator[Services]:
    """The copy's services, open, with the endpoint its Lambda function's boto3 clients call."""
    with open_services(load_project(sales_project)) as services:
        yield services

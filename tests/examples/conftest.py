"""Fixtures for the example projects: a fresh copy of one, on each warehouse backend, running."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from redstep.api.local_endpoint import open_services
from redstep.project import load_project
from redstep.services import Services

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SALES_EXAMPLE = EXAMPLES / "sales_data_pipeline"
DUCKDB_URL = 'url = "duckdb:///.redstep/warehouse.duckdb"'
"""The example's warehouse line, which a PostgreSQL copy replaces."""


def copy_example(source: Path, destination: Path, warehouse_url: str | None = None) -> Path:
    """Copy an example project without its state, on another warehouse when a URL is given."""
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns(".redstep"))
    if warehouse_url is not None:
        config = destination / "redstep.toml"
        text = config.read_text(encoding="utf-8")
        assert DUCKDB_URL in text, "the example's [warehouse] url changed: update DUCKDB_URL"
        config.write_text(text.replace(DUCKDB_URL, f'url = "{warehouse_url}"'), encoding="utf-8")
    return destination


@pytest.fixture(params=["duckdb", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """The warehouse backend the example runs on; PostgreSQL skips when no server is there."""
    return str(request.param)


@pytest.fixture
def sales_project(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A fresh copy of the sales data pipeline example, on `backend`."""
    url = None if backend == "duckdb" else str(request.getfixturevalue("postgres_url"))
    return copy_example(SALES_EXAMPLE, tmp_path / "sales_data_pipeline", url)


@pytest.fixture
def sales_services(sales_project: Path) -> Iterator[Services]:
    """The copy's services, open, with the endpoint its Lambda function's boto3 clients call."""
    with open_services(load_project(sales_project)) as services:
        yield services

"""Fixtures shared by the whole suite: warehouses on every available backend.

The `redshift-data` backend needs a Redshift: here it is a real redstep Data API endpoint, served
in-process over a DuckDB warehouse, that boto3 reaches through AWS_ENDPOINT_URL_REDSHIFT_DATA.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import pytest

from redstep.warehouse.base import Warehouse
from redstep.warehouse.registry import WarehouseOptions, open_warehouse

if TYPE_CHECKING:
    from redstep.services import Services

POSTGRES_URL_VARIABLE = "REDSTEP_TEST_POSTGRES_URL"
REDSHIFT_TEST_ENGINE = "duckdb"
"""The engine behind the test endpoint of the `redshift-data` backend."""
AWS_TEST_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",  # never ask an instance metadata service
}
"""What boto3 needs to sign requests to a local endpoint, and nothing of the machine's own."""


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


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """Dummy AWS credentials and region in the environment, without the machine's AWS
    settings (profiles, config files, endpoints); returned for a subprocess's environment."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    environment = {
        **AWS_TEST_ENVIRONMENT,
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return environment


REDSHIFT_TEST_URL = "redshift-data://redstep-test/dev?db_user=tester"
"""The `redshift-data://` URL of the test endpoint (its cluster routes to its default warehouse)."""


@pytest.fixture
def redshift_services(
    tmp_path: Path,
    buckets: dict[str, Path],
    aws_environment: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Services]:
    """The Redshift of REDSHIFT_TEST_URL: a redstep Data API endpoint served in this process
    over an empty DuckDB warehouse with the `buckets` fixture's bucket, which boto3 reaches
    through AWS_ENDPOINT_URL_REDSHIFT_DATA; its services, for a test to look behind it."""
    from live_server import live_server

    from redstep.api.app import App
    from redstep.project import load_project
    from redstep.services import Services

    root = tmp_path / "redshift"
    root.mkdir()
    (root / "redstep.toml").write_text(
        f"[buckets.test-bucket]\npath = {json.dumps(str(buckets['test-bucket']))}\n"
    )
    with Services.open(load_project(root)) as services, live_server(App(services)) as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL_REDSHIFT_DATA", endpoint)
        yield services


@pytest.fixture
def redshift_data_url(redshift_services: Services) -> str:
    """A `redshift-data://` URL to an empty warehouse (see `redshift_services`)."""
    return REDSHIFT_TEST_URL


@pytest.fixture(params=["duckdb", "postgres", "redshift-data"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to an empty warehouse, once per backend; PostgreSQL skips when unavailable."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    if request.param == "redshift-data":
        return str(request.getfixturevalue("redshift_data_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def engine_name(warehouse: Warehouse) -> str:
    """The engine that runs the warehouse's SQL: the backend's own, or for `redshift` the one
    behind the test endpoint."""
    return REDSHIFT_TEST_ENGINE if warehouse.name == "redshift" else warehouse.name


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

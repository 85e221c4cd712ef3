"""Fixtures of the S3 suites: the S3 endpoint alone, served by uvicorn over a store of their own.

`server` is one uvicorn per suite module; each test brings its own store (`store`), over two
bucket folders (`folders`) and a staging folder (`staging`) in its tmp_path.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import live_server
from s3_server import METHODS, S3Server, client_of
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from redstep.api.s3 import s3_endpoint
from redstep.buckets import Buckets


@pytest.fixture(scope="module")
def server() -> Iterator[S3Server]:
    served = S3Server(url="")

    async def answer(request: Request) -> Response:
        return await s3_endpoint(request, served.store)

    route = Route("/{path:path}", answer, methods=METHODS)
    # The same endpoint below a mount too: its paths are relative to where it is mounted.
    app = Starlette(routes=[Mount("/mounted", routes=[route]), route])
    with live_server(app) as url:
        served.url = url
        yield served


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    return {"data": tmp_path / "buckets" / "data", "other": tmp_path / "buckets" / "other"}


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    return tmp_path / "state" / "uploads"


@pytest.fixture
def store(server: S3Server, folders: dict[str, Path], staging: Path) -> Buckets:
    server.store = Buckets(folders, staging=staging)
    return server.store


@pytest.fixture(scope="module")
def s3(server: S3Server) -> Any:
    return client_of(server)


@pytest.fixture
def heard(store: Buckets) -> list[tuple[str, str]]:
    """The `(bucket, key)` of every object written, in order, as the store's subscribers hear."""
    told: list[tuple[str, str]] = []
    store.subscribe(lambda bucket, info, reason: told.append((bucket, info.key)))
    return told


@pytest.fixture
def http(server: S3Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url) as client:
        yield client

"""Fixtures for the endpoint suite: a project, its services, the app on a live port, and boto3
clients whose every response is checked against botocore's model."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from held_tasks import HeldTasks
from live_server import live_server
from wire_check import check_wire

from redstep.api.app import App
from redstep.project import Project, load_project
from redstep.services import Services

HELLO = {
    "StartAt": "Hello",
    "States": {"Hello": {"Type": "Pass", "Result": "${Greeting}", "End": True}},
}
CLIENT_CONFIG = Config(
    inject_host_prefix=False,  # StartSyncExecution and TestState would go to sync-127.0.0.1
    retries={"max_attempts": 1},
    s3={"addressing_style": "path"},
    connect_timeout=5,
    read_timeout=30,
)

ClientFactory = Callable[[str], Any]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A project with a bucket and one state machine declared in redstep.toml."""
    (tmp_path / "workflows").mkdir()
    (tmp_path / "workflows" / "hello.asl.json").write_text(json.dumps(HELLO))
    (tmp_path / "redstep.toml").write_text(
        """
[buckets.data]
path = "data"

[state_machines.hello]
definition = "workflows/hello.asl.json"
substitutions = { Greeting = "hello, world" }
"""
    )
    return load_project(tmp_path)


@pytest.fixture
def held() -> HeldTasks:
    """The task runner: it holds every task until the test answers it."""
    return HeldTasks()


@pytest.fixture
def services(project: Project, held: HeldTasks) -> Iterator[Services]:
    with Services.open(project, tasks=held) as opened:
        yield opened


@pytest.fixture
def endpoint(services: Services) -> Iterator[str]:
    """The base URL of the app serving `services`."""
    with live_server(App(services)) as url:
        yield url


@pytest.fixture
def client(endpoint: str) -> ClientFactory:
    """`client("stepfunctions")`: a boto3 client of the server, its responses checked."""

    def make(service: str) -> Any:
        made = boto3.client(
            service,
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=CLIENT_CONFIG,
        )
        if made.meta.service_model.protocol == "json":
            check_wire(made)
        return made

    return make

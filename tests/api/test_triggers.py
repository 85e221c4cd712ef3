"""Triggers end to end through the served project: a PutObject under a bucket trigger's prefix
and a schedule's fire time on the virtual clock each start exactly one execution."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from redstep.project import Project, load_project
from redstep.runtime.clock import VirtualClock
from redstep.services import Services

ECHO = {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}
NAP = {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 3600, "End": True}}}
START = datetime(2026, 11, 27, 1, 59, 30, tzinfo=UTC)
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:echo"


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "echo.asl.json").write_text(json.dumps(ECHO))
    (tmp_path / "nap.asl.json").write_text(json.dumps(NAP))
    (tmp_path / "redstep.toml").write_text(
        """
[buckets.landing]
path = "landing"

[state_machines.echo]
definition = "echo.asl.json"

[state_machines.nap]
definition = "nap.asl.json"

[triggers.nightly]
state_machine = "echo"
schedule = "cron(0 2 * * ? *)"
input = { run = "nightly" }

[triggers.on-upload]
state_machine = "echo"
bucket = "landing"
prefix = "incoming/"
"""
    )
    return load_project(tmp_path)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def services(project: Project, clock: VirtualClock) -> Iterator[Services]:
    with Services.open(project, clock=clock) as opened:
        yield opened


def executions(services: Services, count: int, timeout: float = 10) -> list[dict[str, Any]]:
    """The machine's executions once there are `count` of them, or after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        listed = services.engine.list_executions({"stateMachineArn": MACHINE})["executions"]
        if len(listed) >= count or time.monotonic() > deadline:
            return list(listed)
        time.sleep(0.02)


def object_keys(services: Services, listed: list[dict[str, Any]]) -> list[str]:
    keys = []
    for execution in listed:
        event = json.loads(services.engine.wait(execution["executionArn"], 10)["output"])
        assert (event["source"], event["detail-type"]) == ("aws.s3", "Object Created")
        keys.append(event["detail"]["object"]["key"])
    return sorted(keys)


def test_each_put_under_the_prefix_starts_one_execution(
    services: Services, client: Callable[[str], Any], project: Project
) -> None:
    s3 = client("s3")
    s3.put_object(Bucket="landing", Key="incoming/day1.csv", Body=b"a,b\n")
    s3.put_object(Bucket="landing", Key="elsewhere/day1.csv", Body=b"a,b\n")
    s3.put_object(Bucket="landing", Key="incoming/day1.csv", Body=b"a,b\n1,2\n")
    started = executions(services, 2)
    assert all(e["name"].startswith("on-upload-") for e in started)
    # A file dropped in afterwards is seen by the folder watcher, which would have reported
    # the puts' own writes before it: once its execution is there, a second one per put would be.
    (project.buckets["landing"] / "incoming" / "sentinel.csv").write_bytes(b"a,b\n")
    deadline = time.monotonic() + 10
    while "incoming/sentinel.csv" not in object_keys(services, started := executions(services, 3)):
        assert time.monotonic() < deadline, "the dropped file started nothing"
    assert object_keys(services, started) == [
        "incoming/day1.csv",
        "incoming/day1.csv",
        "incoming/sentinel.csv",
    ]


def test_a_schedule_fires_at_the_time_its_expression_names(
    services: Services, clock: VirtualClock
) -> None:
    assert executions(services, 1, timeout=0.5) == []
    clock.skip_to(START + timedelta(seconds=30))
    services.triggers.wake()
    (fired,) = executions(services, 1)
    assert fired["name"] == "nightly-20261127T020000Z"
    assert json.loads(services.engine.wait(fired["executionArn"], 10)["output"]) == {
        "run": "nightly"
    }
    clock.skip_to(START + timedelta(hours=1))
    services.triggers.wake()
    (nightly,) = [t for t in services.triggers.next_fires(clock.now()) if t.trigger == "nightly"]
    assert nightly.next_fire == datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    assert len(executions(services, 2, timeout=0.5)) == 1, "one execution per fire time"


def test_a_schedule_fires_at_its_time_while_another_execution_waits_on_the_virtual_clock(
    services: Services,
) -> None:
    """The engine skips the hour its other execution waits, but not past the fire time."""
    nap = services.engine.start_execution(
        {"stateMachineArn": MACHINE.replace(":echo", ":nap"), "name": "nap"}
    )
    (fired,) = executions(services, 1)
    assert fired["name"] == "nightly-20261127T020000Z"
    fire_time = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    assert fire_time <= fired["startDate"] < fire_time + timedelta(seconds=5)
    napped = services.engine.wait(nap["executionArn"], 10)
    assert napped["status"] == "SUCCEEDED"
    assert napped["stopDate"] >= START + timedelta(hours=1)

"""Triggers starting executions on the real engine: one execution per fire time, even when asked
twice, and a missing state machine logged without stopping the service."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from redstep.project import TriggerConfig
from redstep.runtime.clock import VirtualClock
from redstep.runtime.engine import Engine
from redstep.runtime.sqlite_store import SqliteExecutionStore
from redstep.triggers import STATE_FILE, Triggers, starting_on

ROLE = "arn:aws:iam::123456789012:role/redstep"
DEFINITION = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
NIGHTLY = {
    "nightly": TriggerConfig(
        name="nightly",
        state_machine="sales_data_pipeline",
        input=None,
        schedule="cron(0 2 * * ? *)",
        catch_up=True,
    )
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(at("2024-11-27T01:00"))


@pytest.fixture
def engine(tmp_path: Path, clock: VirtualClock) -> Iterator[Engine]:
    with Engine(SqliteExecutionStore(tmp_path / "store"), clock=clock) as engine:
        yield engine


def triggers(engine: Engine, clock: VirtualClock, state: Path) -> Triggers:
    return Triggers(NIGHTLY, starting_on(engine), clock=clock, state_file=state / STATE_FILE)


def executions(engine: Engine) -> list[dict[str, object]]:
    arn = engine.region.state_machine_arn("sales_data_pipeline")
    return list(engine.list_executions({"stateMachineArn": arn})["executions"])


def test_a_fire_time_starts_one_execution_even_when_started_twice(
    tmp_path: Path, engine: Engine, clock: VirtualClock
) -> None:
    engine.create_state_machine(
        {"name": "sales_data_pipeline", "definition": json.dumps(DEFINITION), "roleArn": ROLE}
    )
    with triggers(engine, clock, tmp_path) as first:
        first.tick(clock.now())
    saved = tmp_path / "saved.json"
    shutil.copy(tmp_path / STATE_FILE, saved)
    with triggers(engine, clock, tmp_path) as second:
        (fired,) = second.tick(at("2024-11-27T02:00"))
    (execution,) = executions(engine)
    assert execution["name"] == "nightly-20241127T020000Z"
    described = engine.wait(str(execution["executionArn"]), timeout=10)
    assert json.loads(described["input"])["detail-type"] == "Scheduled Event"

    shutil.copy(saved, tmp_path / STATE_FILE)  # a crash before the state was saved
    with triggers(engine, clock, tmp_path) as third:
        (again,) = third.tick(at("2024-11-27T02:00"))
    assert again.execution_name == fired.execution_name
    assert again.error is not None
    assert "Execution Already Exists" in again.error
    assert len(executions(engine)) == 1


def test_a_missing_state_machine_is_logged_and_the_next_fire_still_tries(
    tmp_path: Path, engine: Engine, clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    service = triggers(engine, clock, tmp_path)
    with caplog.at_level(logging.ERROR):
        (failed,) = service.tick(at("2024-11-27T02:00"))
    assert failed.error is not None
    assert "Does Not Exist" in failed.error
    assert "could not start nightly-20241127T020000Z" in caplog.text
    engine.create_state_machine(
        {"name": "sales_data_pipeline", "definition": json.dumps(DEFINITION), "roleArn": ROLE}
    )
    (fired,) = service.tick(at("2024-11-28T02:00"))
    assert fired.error is None
    assert [e["name"] for e in executions(engine)] == ["nightly-20241128T020000Z"]

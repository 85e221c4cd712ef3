"""How distributed Map runs end when something other than their children decides it, through
the Engine on a virtual clock: an Express parent, a store that fails mid-run, a cancel while the
results are written, UpdateMapRun lowering a threshold below the failures counted; and what a
run's children tell of themselves afterwards (result entries, redrive status).

The machine around one distributed Map and the wait come from distributed_maps (tests/helpers);
test_map_runs.py's other shapes are repeated here in brief: test modules are not imported from
one another."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from distributed_maps import WAIT, distributed, eventually, held_tasks
from held_tasks import HeldTasks

from redstep.asl.timestamps import format_timestamp
from redstep.buckets import Buckets
from redstep.engine.signals import TaskFailed, TaskSucceeded
from redstep.runtime import map_runs
from redstep.runtime.clock import VirtualClock
from redstep.runtime.engine import Engine
from redstep.runtime.errors import ExecutionNotRedrivable
from redstep.runtime.map_runs import EXCEEDED_CAUSE
from redstep.runtime.redrive_eligibility import MAP_RUN_NOT_REDRIVABLE
from redstep.runtime.sqlite_store import SqliteExecutionStore
from redstep.runtime.store import ExecutionRecord, SignalRecord

ROLE = "arn:aws:iam::123456789012:role/test"
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
HELD = {
    "StartAt": "T",
    "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}},
}
FAIL_WHEN_ASKED = {
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.fail", "BooleanEquals": True, "Next": "Fail"}],
            "Default": "Done",
        },
        "Fail": {"Type": "Fail", "Error": "Item.Bad", "Cause": "the item is bad"},
        "Done": {"Type": "Pass", "End": True},
    },
}
WRITER = {
    "Resource": "arn:aws:states:::s3:putObject",
    "Parameters": {"Bucket": "data", "Prefix": "results"},
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def engine(tmp_path: Path, folder: Path) -> Iterator[Engine]:
    buckets = Buckets({"data": folder}, staging=tmp_path / "staging")
    with Engine(
        SqliteExecutionStore(tmp_path / "state"), clock=VirtualClock(), buckets=buckets
    ) as opened:
        yield opened
    buckets.close()


@pytest.fixture
def held() -> HeldTasks:
    return HeldTasks()


@pytest.fixture
def held_engine(tmp_path: Path, held: HeldTasks) -> Iterator[Engine]:
    with Engine(
        SqliteExecutionStore(tmp_path / "held"), clock=VirtualClock(), tasks=held
    ) as opened:
        yield opened


def start(engine: Engine, definition: dict[str, Any], given: Any, kind: str = "STANDARD") -> str:
    request = {"name": "Machine", "definition": json.dumps(definition), "roleArn": ROLE}
    arn = engine.create_state_machine({**request, "type": kind})["stateMachineArn"]
    started = engine.start_execution({"stateMachineArn": arn, "input": json.dumps(given)})
    return str(started["executionArn"])


def map_run_of(engine: Engine, parent: str) -> str:
    eventually(
        lambda: bool(engine.handle("ListMapRuns", {"executionArn": parent})["mapRuns"]),
        "the map run",
    )
    return str(engine.handle("ListMapRuns", {"executionArn": parent})["mapRuns"][0]["mapRunArn"])


def describe_map_run(engine: Engine, map_run_arn: str) -> dict[str, Any]:
    return dict(engine.handle("DescribeMapRun", {"mapRunArn": map_run_arn}))


def children(engine: Engine, map_run_arn: str, status: str | None = None) -> list[str]:
    request = {"mapRunArn": map_run_arn} | ({} if status is None else {"statusFilter": status})
    return [child["executionArn"] for child in engine.list_executions(request)["executions"]]


def fail(task: Any) -> None:
    _, command, report = task
    report(TaskFailed(command.task_id, "Boom", "the task failed"))


def pascal(described: dict[str, Any]) -> dict[str, Any]:
    """DescribeExecution as a result file repeats it: PascalCase, ISO dates, no mapRunArn."""
    entry: dict[str, Any] = {}
    for member, value in sorted(described.items()):
        if member == "mapRunArn":
            continue
        if isinstance(value, dict):
            value = {key[0].upper() + key[1:]: item for key, item in value.items()}
        elif isinstance(value, datetime):
            value = format_timestamp(value)
        entry[member[0].upper() + member[1:]] = value
    return entry


# -- Express parents -----------------------------------------------------------------------------


def test_an_express_parent_runs_its_distributed_map(engine: Engine) -> None:
    definition = distributed(
        PASS, ItemSelector={"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"}
    )
    request = {"name": "Quick", "definition": json.dumps(definition), "roleArn": ROLE}
    arn = engine.create_state_machine({**request, "type": "EXPRESS"})["stateMachineArn"]
    given = json.dumps({"items": ["a", "b", "c"]})
    answered = engine.start_sync_execution({"stateMachineArn": arn, "input": given})
    assert answered["status"] == "SUCCEEDED", answered
    assert json.loads(answered["output"]) == [
        {"value": "a", "index": 0},
        {"value": "b", "index": 1},
        {"value": "c", "index": 2},
    ]
    # The run and its children are durable, though their parent is not.
    [record] = engine.store.list_map_runs(answered["executionArn"])
    assert record.status.value == "SUCCEEDED"
    kids = engine.store.map_run_children(record.arn)
    assert [child.execution.status.value for child in kids] == ["SUCCEEDED"] * 3


# -- failures that are not the children's --------------------------------------------------------


def test_a_store_failure_mid_run_aborts_the_children_still_running(
    held_engine: Engine, held: HeldTasks, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = held_engine.store
    put_child = store.put_map_run_child
    failures: list[int] = []

    def locked_once(
        map_run_arn: str,
        index: int,
        items: int,
        record: ExecutionRecord,
        start: SignalRecord,
        attempt: int = 0,
    ) -> None:
        if index == 2 and not failures:
            failures.append(index)
            raise sqlite3.OperationalError("database is locked")
        put_child(map_run_arn, index, items, record, start, attempt)

    monkeypatch.setattr(store, "put_map_run_child", locked_once)
    parent = start(held_engine, distributed(HELD, MaxConcurrency=2), {"items": [0, 1, 2]})
    first, second = held_tasks(held, 2)
    _, command, report = first
    report(TaskSucceeded(command.task_id, {"done": True}))  # room for the third

    described = held_engine.wait(parent, WAIT)
    assert (described["status"], described["error"]) == ("FAILED", "States.Runtime")
    assert "database is locked" in described["cause"]
    assert failures == [2]
    still_held = second[0]
    assert held_engine.wait(still_held, 5)["status"] == "ABORTED"
    assert (still_held, second[1].task_id) in held.cancelled
    map_run = describe_map_run(held_engine, map_run_of(held_engine, parent))
    assert map_run["status"] == "FAILED"
    counts = map_run["executionCounts"]
    assert (counts["succeeded"], counts["aborted"], counts["pending"]) == (1, 1, 1)


def test_a_cancel_while_results_are_written_lets_them_be_written_and_aborts_the_run(
    engine: Engine, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writing, written = threading.Event(), threading.Event()
    write = map_runs.write_results

    def slow_write(*arguments: Any) -> Any:
        writing.set()
        assert written.wait(WAIT)
        return write(*arguments)

    monkeypatch.setattr(map_runs, "write_results", slow_write)
    parent = start(engine, distributed(PASS, ResultWriter=WRITER), {"items": [1, 2]})
    assert writing.wait(WAIT)
    engine.stop_execution({"executionArn": parent})
    assert engine.describe_execution({"executionArn": parent})["status"] == "ABORTED"
    written.set()

    map_run_arn = map_run_of(engine, parent)
    eventually(
        lambda: describe_map_run(engine, map_run_arn)["status"] != "RUNNING", "the run's end"
    )
    map_run = describe_map_run(engine, map_run_arn)
    assert map_run["status"] == "ABORTED"
    assert map_run["executionCounts"]["resultsWritten"] == 2
    manifest = folder / "results" / map_run_arn.rpartition(":")[2] / "manifest.json"
    assert json.loads(manifest.read_text())["MapRunArn"] == map_run_arn
    events = engine.get_execution_history({"executionArn": parent})["events"]
    assert events[-1]["type"] == "ExecutionAborted"


def test_lowering_the_tolerated_count_below_the_failures_counted_fails_the_run_at_once(
    held_engine: Engine, held: HeldTasks
) -> None:
    definition = distributed(HELD, MaxConcurrency=1, ToleratedFailureCount=5)
    parent = start(held_engine, definition, {"items": [0, 1, 2, 3, 4]})
    map_run_arn = map_run_of(held_engine, parent)
    fail(held_tasks(held, 1)[0])
    fail(held_tasks(held, 2)[1])
    held_tasks(held, 3)  # the third child runs; two have failed, within the five tolerated

    def counted() -> bool:
        counts = describe_map_run(held_engine, map_run_arn)["itemCounts"]
        return bool(counts["failed"] == 2 and counts["running"] == 1)

    eventually(counted, "two failures and a third child running")
    held_engine.handle("UpdateMapRun", {"mapRunArn": map_run_arn, "toleratedFailureCount": 1})

    described = held_engine.wait(parent, WAIT)
    assert (described["status"], described["error"], described["cause"]) == (
        "FAILED",
        "States.ExceedToleratedFailureThreshold",
        EXCEEDED_CAUSE,
    )
    map_run = describe_map_run(held_engine, map_run_arn)
    assert (map_run["status"], map_run["toleratedFailureCount"]) == ("FAILED", 1)
    counts = map_run["itemCounts"]
    assert (counts["failed"], counts["aborted"], counts["pending"]) == (2, 1, 2)


# -- what the children tell afterwards -----------------------------------------------------------


def test_result_entries_are_the_children_as_described_without_describing_each(
    engine: Engine, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    described_during_run: list[Any] = []
    describe = engine.describe_execution

    def counted_describe(request: Any) -> Any:
        described_during_run.append(request)
        return describe(request)

    monkeypatch.setattr(engine, "describe_execution", counted_describe)
    definition = distributed(FAIL_WHEN_ASKED, ToleratedFailureCount=1, ResultWriter=WRITER)
    given = {"items": [{"fail": False}, {"fail": True}, {"fail": False}]}
    parent = start(engine, definition, given)
    engine.executor.wait(parent, WAIT)
    assert described_during_run == []
    monkeypatch.undo()

    assert engine.describe_execution({"executionArn": parent})["status"] == "SUCCEEDED"
    run_id = map_run_of(engine, parent).rpartition(":")[2]
    entries = [
        *json.loads((folder / "results" / run_id / "SUCCEEDED_0.json").read_text()),
        *json.loads((folder / "results" / run_id / "FAILED_0.json").read_text()),
    ]
    assert [entry["Status"] for entry in entries] == ["SUCCEEDED", "SUCCEEDED", "FAILED"]
    for entry in entries:
        described = engine.describe_execution({"executionArn": entry["ExecutionArn"]})
        assert entry == pascal(described)
    assert (entries[2]["RedriveStatus"], entries[2]["RedriveStatusReason"]) == (
        "NOT_REDRIVABLE",
        MAP_RUN_NOT_REDRIVABLE,
    )


def test_a_failed_child_is_not_redrivable_when_nothing_redrives_its_map_run(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    definition = distributed(FAIL_WHEN_ASKED, ToleratedFailureCount=1)
    parent = start(engine, definition, {"items": [{"fail": True}, {"fail": False}]})
    assert engine.wait(parent, WAIT)["status"] == "SUCCEEDED"
    map_run_arn = map_run_of(engine, parent)
    [failed] = children(engine, map_run_arn, "FAILED")
    [succeeded] = children(engine, map_run_arn, "SUCCEEDED")

    looked_up: list[str] = []
    map_run_of_child = engine.store.map_run_of

    def counted_map_run_of(execution_arn: str) -> str | None:
        looked_up.append(execution_arn)
        return map_run_of_child(execution_arn)

    monkeypatch.setattr(engine.store, "map_run_of", counted_map_run_of)
    described = engine.describe_execution({"executionArn": failed})
    assert looked_up == [failed]  # once
    assert (described["redriveStatus"], described["redriveStatusReason"]) == (
        "NOT_REDRIVABLE",
        MAP_RUN_NOT_REDRIVABLE,
    )
    assert described["mapRunArn"] == map_run_arn
    with pytest.raises(ExecutionNotRedrivable, match=MAP_RUN_NOT_REDRIVABLE):
        engine.redrive_execution({"executionArn": failed})
    other = engine.describe_execution({"executionArn": succeeded})
    assert (other["redriveStatus"], other["redriveStatusReason"]) == (
        "NOT_REDRIVABLE",
        "Execution is SUCCEEDED and cannot be redriven",
    )
    map_run = describe_map_run(engine, map_run_arn)
    assert map_run["executionCounts"]["failuresNotRedrivable"] == 1
    assert map_run["itemCounts"]["failuresNotRedrivable"] == 1

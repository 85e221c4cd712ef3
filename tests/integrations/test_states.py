"""`states:startExecution.sync` / `.sync:2` with an EXPRESS child: a Standard parent runs it to
its end, reads it from memory (DescribeExecution refuses its ARN), stops it with its task, and
fails the task, instead of waiting forever, when a restart forgot it.

The Standard-child cases live in test_workflows.py, beside the other integrations.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from redstep.api.local_endpoint import open_services
from redstep.integrations.states import EXPRESS_CHILD_GONE
from redstep.project import Project, load_project
from redstep.runtime.clock import VirtualClock
from redstep.runtime.express import is_express_arn
from redstep.services import Services

ROLE = "arn:aws:iam::123456789012:role/test"
DOUBLE = {
    "Double": {"Type": "Pass", "Parameters": {"twice.$": "States.MathAdd($.n, $.n)"}, "End": True}
}
LONG_WAIT = {"Wait": {"Type": "Wait", "Seconds": 120, "End": True}}


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return load_project(tmp_path)


@pytest.fixture
def services(project: Project) -> Iterator[Services]:
    with open_services(project, clock=VirtualClock()) as opened:
        yield opened


def create(services: Services, name: str, states: dict[str, Any], kind: str = "STANDARD") -> str:
    definition = {"StartAt": next(iter(states)), "States": states}
    created = services.engine.create_state_machine(
        {"name": name, "definition": json.dumps(definition), "roleArn": ROLE, "type": kind}
    )
    return str(created["stateMachineArn"])


def start_child(child: str, suffix: str, given: Any, **more: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": f"arn:aws:states:::states:startExecution{suffix}",
        "Parameters": {"StateMachineArn": child, "Input": given},
        "End": True,
        **more,
    }


def run_parent(services: Services, task: dict[str, Any]) -> dict[str, Any]:
    parent = create(services, "parent", {"T": task})
    started = services.engine.start_execution({"stateMachineArn": parent})
    return services.engine.wait(started["executionArn"], timeout=30)


def submitted_child(services: Services, parent_execution: str) -> str | None:
    """The child ARN the parent's task has told (its TaskSubmitted), once it has."""
    events = services.engine.get_execution_history(
        {"executionArn": parent_execution, "maxResults": 1000}
    )["events"]
    for event in events:
        if event["type"] == "TaskSubmitted":
            return str(json.loads(event["taskSubmittedEventDetails"]["output"])["ExecutionArn"])
    return None


def wait_for(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + 30
    while not (found := condition()):
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.02)
    return found


@pytest.mark.parametrize(
    ("suffix", "output"), [(".sync", '{"twice":8}'), (".sync:2", {"twice": 8})]
)
def test_a_standard_parent_runs_an_express_child_to_its_end(
    services: Services, suffix: str, output: Any
) -> None:
    child = create(services, "kid", DOUBLE, "EXPRESS")
    described = run_parent(services, start_child(child, suffix, {"n": 4}))
    assert described["status"] == "SUCCEEDED", described
    result = json.loads(described["output"])
    assert is_express_arn(result["ExecutionArn"])
    assert (result["Status"], result["StateMachineArn"], result["Output"]) == (
        "SUCCEEDED",
        child,
        output,
    )
    assert isinstance(result["StartDate"], int)
    assert isinstance(result["StopDate"], int)
    # the task has its answer: the child is no longer held in memory for it
    assert result["ExecutionArn"] not in services.engine.express.store._pinned


def test_many_express_children_ending_together_are_each_answered(services: Services) -> None:
    # More children than redstep keeps ended Express executions: each is pinned until its
    # task has read it, so none is pushed out first.
    child = create(services, "kid", DOUBLE, "EXPRESS")
    each = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemProcessor": {
            "StartAt": "T",
            "States": {"T": start_child(child, ".sync:2", {"n.$": "$"})},
        },
        "ResultSelector": {"twice.$": "$[*].Output.twice"},
        "End": True,
    }
    parent = create(services, "parent", {"Each": each})
    started = services.engine.start_execution(
        {"stateMachineArn": parent, "input": json.dumps({"items": list(range(150))})}
    )
    described = services.engine.wait(started["executionArn"], timeout=60)
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert json.loads(described["output"])["twice"] == [2 * n for n in range(150)]
    assert services.engine.express.store._pinned == set()


def test_a_failed_express_child_fails_the_task_with_its_description(services: Services) -> None:
    child = create(
        services, "kid", {"F": {"Type": "Fail", "Error": "Boom", "Cause": "bad"}}, "EXPRESS"
    )
    described = run_parent(services, start_child(child, ".sync", {}))
    assert (described["status"], described["error"]) == ("FAILED", "States.TaskFailed")
    cause = json.loads(described["cause"])
    assert (cause["Status"], cause["Error"], cause["Cause"]) == ("FAILED", "Boom", "bad")
    assert is_express_arn(cause["ExecutionArn"])


def test_without_sync_an_express_child_is_started_and_left_to_run(services: Services) -> None:
    child = create(services, "kid", DOUBLE, "EXPRESS")
    described = run_parent(services, start_child(child, "", {"n": 1}))
    result = json.loads(described["output"])
    assert set(result) == {"ExecutionArn", "SdkHttpMetadata", "SdkResponseMetadata", "StartDate"}
    assert services.engine.express.store._pinned == set()


def test_stopping_the_parent_stops_its_express_child(project: Project) -> None:
    with open_services(project) as services:  # a real clock: the child's wait holds it
        child = create(services, "kid", LONG_WAIT, "EXPRESS")
        parent = create(services, "parent", {"T": start_child(child, ".sync", {})})
        started = services.engine.start_execution({"stateMachineArn": parent})["executionArn"]
        arn = wait_for(lambda: submitted_child(services, started), "the child started")
        services.engine.stop_execution({"executionArn": started})
        stopped = services.engine.wait(arn, timeout=20)
        assert stopped["status"] == "ABORTED"
        assert started in stopped["cause"]
        wait_for(lambda: arn not in services.engine.express.store._pinned, "the child released")


def test_an_express_child_a_restart_forgot_fails_the_task(project: Project) -> None:
    with open_services(project) as first:  # a real clock: the child still waits at the stop
        child = create(first, "kid", LONG_WAIT, "EXPRESS")
        parent = create(first, "parent", {"T": start_child(child, ".sync:2", {})})
        started = first.engine.start_execution({"stateMachineArn": parent})["executionArn"]
        arn = wait_for(lambda: submitted_child(first, started), "the child started")
    with open_services(project, clock=VirtualClock()) as second:
        described = second.engine.wait(started, timeout=30)
        assert (described["status"], described["error"]) == ("FAILED", "States.TaskFailed")
        assert described["cause"] == EXPRESS_CHILD_GONE.format(child=arn)
        assert second.engine.express.store.kept() == []  # not started again

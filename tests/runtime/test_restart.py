"""A process killed with SIGKILL in the middle of an execution: the next engine finishes it.

The first engine runs in a subprocess and is killed once the execution is under way; the
engine started here afterwards must resume the execution from its journal, finish it with the
output an uninterrupted run gives, and never record a completed state twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from redstep.project import load_project
from redstep.runtime.clock import VirtualClock
from redstep.runtime.engine import Engine
from redstep.runtime.sqlite_store import SqliteExecutionStore

ROLE = "arn:aws:iam::123456789012:role/test"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:Machine:run"

#: Runs in the subprocess: start the execution, say "ready" once it has recorded
#: `ready_events` events, then idle until killed.
CHILD = textwrap.dedent(
    """
    import json, sys, time
    from redstep.project import load_project
    from redstep.runtime.engine import Engine

    folder, definition, given, ready_events, role = sys.argv[1:6]
    engine = Engine.open(load_project(folder), max_history_events=None)
    arn = engine.create_state_machine(
        {"name": "Machine", "definition": definition, "roleArn": role}
    )["stateMachineArn"]
    run = engine.start_execution({"stateMachineArn": arn, "name": "run", "input": given})
    while engine.store.event_count(run["executionArn"]) < int(ready_events):
        time.sleep(0.01)
    print("ready", flush=True)
    time.sleep(600)
    """
)


def run_and_kill(folder: Path, definition: dict[str, Any], given: Any, ready_events: int) -> None:
    arguments = [str(folder), json.dumps(definition), json.dumps(given), str(ready_events), ROLE]
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, *arguments], stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL


def finish(folder: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with Engine.open(load_project(folder), clock=VirtualClock(), max_history_events=None) as engine:
        arn = EXECUTION
        described = engine.wait(arn, timeout=60)
        history = engine.get_execution_history({"executionArn": arn, "maxResults": 1000})
        events = list(history["events"])
        while "nextToken" in history:
            history = engine.get_execution_history(
                {"executionArn": arn, "maxResults": 1000, "nextToken": history["nextToken"]}
            )
            events += history["events"]
        return described, events


def test_an_execution_killed_while_waiting_finishes_after_restart(tmp_path: Path) -> None:
    definition = {
        "StartAt": "Before",
        "States": {
            "Before": {
                "Type": "Pass",
                "Result": {"step": 1},
                "ResultPath": "$.before",
                "Next": "Sleep",
            },
            "Sleep": {"Type": "Wait", "Seconds": 3600, "Next": "After"},
            "After": {"Type": "Pass", "Result": "done", "ResultPath": "$.after", "End": True},
        },
    }
    run_and_kill(tmp_path, definition, {"id": 7}, ready_events=4)
    store = SqliteExecutionStore(load_project(tmp_path).state_dir)
    assert [e["type"] for e in store.history(EXECUTION, False, 100, None)][-1] == "WaitStateEntered"
    store.close()
    described, events = finish(tmp_path)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"id": 7, "before": {"step": 1}, "after": "done"}
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "WaitStateEntered",
        "WaitStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert [e["id"] for e in events] == list(range(1, 9))
    waited = events[4]["timestamp"] - events[3]["timestamp"]
    assert waited.total_seconds() == pytest.approx(3600, abs=5)


def test_an_engine_that_does_not_resume_leaves_the_execution_as_it_was(tmp_path: Path) -> None:
    definition = {
        "StartAt": "Sleep",
        "States": {"Sleep": {"Type": "Wait", "Seconds": 3600, "End": True}},
    }
    run_and_kill(tmp_path, definition, {}, ready_events=2)
    project = load_project(tmp_path)
    # On the virtual clock a resumed execution would end at once (see the test above).
    with Engine.open(project, clock=VirtualClock(), resume=False) as engine:
        assert engine.wait(EXECUTION, timeout=1)["status"] == "RUNNING"
        assert engine.store.event_count(EXECUTION) == 2
    described, _ = finish(tmp_path)  # an engine that resumes it later still can
    assert described["status"] == "SUCCEEDED"


def test_a_long_loop_killed_midway_finishes_with_the_same_output(tmp_path: Path) -> None:
    loop = {
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Parameters": {"i": 0, "n.$": "$.n"}, "Next": "Check"},
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.i", "NumericLessThanPath": "$.n", "Next": "Inc"}],
                "Default": "Done",
            },
            "Inc": {
                "Type": "Pass",
                "Parameters": {"i.$": "States.MathAdd($.i, 1)", "n.$": "$.n"},
                "Next": "Check",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    run_and_kill(tmp_path, loop, {"n": 20000}, ready_events=3000)
    store = SqliteExecutionStore(load_project(tmp_path).state_dir)
    recorded_before_restart = store.event_count(EXECUTION)
    store.close()
    described, events = finish(tmp_path)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"i": 20000, "n": 20000}
    # every transition once: Init, 20001 checks, 20000 increments, Done; two events each
    assert len(events) == 2 + 2 * (1 + 20001 + 20000 + 1)
    assert 3000 <= recorded_before_restart < len(events)
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    entered = [e["stateEnteredEventDetails"] for e in events if e["type"] == "PassStateEntered"]
    assert [json.loads(d["input"]).get("i") for d in entered[1:]] == list(range(20000))

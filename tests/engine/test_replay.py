"""Replay: a journal of signals fed to a fresh interpreter reproduces the history and commands.

This is what makes executions durable — the executor resumes a crashed execution by replaying
its journal — so it is checked two ways: against live runs (every prefix of a journal leaves the
same pending tasks and timers), and against recorded histories in `histories/` (definition,
journal and the exact events it must produce), which pin the history format down.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from asl_driver import Trace, drive, new_interpreter

from redstep.engine.commands import ScheduleTask
from redstep.engine.signals import (
    Signal,
    TaskFailed,
    TaskSucceeded,
    signal_from_record,
    signal_to_record,
)

HISTORIES = Path(__file__).parent / "histories"
TASK = "arn:aws:states:::lambda:invoke"

#: Tasks, a retry with backoff, a catch, a Wait, a Parallel and a Map in one workflow.
WORKFLOW: dict[str, Any] = {
    "StartAt": "Fetch",
    "States": {
        "Fetch": {
            "Type": "Task",
            "Resource": TASK,
            "Parameters": {"FunctionName": "fetch", "Payload.$": "$"},
            "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 2, "MaxAttempts": 2}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Pause"}],
            "ResultPath": "$.fetched",
            "Next": "Pause",
        },
        "Pause": {"Type": "Wait", "Seconds": 30, "Next": "Both"},
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Each",
                    "States": {
                        "Each": {
                            "Type": "Map",
                            "ItemsPath": "$.items",
                            "MaxConcurrency": 2,
                            "ItemProcessor": {
                                "StartAt": "Work",
                                "States": {"Work": {"Type": "Task", "Resource": TASK, "End": True}},
                            },
                            "End": True,
                        }
                    },
                },
                {"StartAt": "Note", "States": {"Note": {"Type": "Pass", "End": True}}},
            ],
            "End": True,
        },
    },
}


def flaky_then_fine(command: ScheduleTask) -> Signal:
    """Fail the first two `fetch` calls, answer every other task with its parameters."""
    if command.state_name == "Fetch" and command.task_id <= 2:
        return TaskFailed(command.task_id, "Flaky", "try again")
    return TaskSucceeded(command.task_id, {"echo": command.parameters})


def replay(definition: dict[str, Any], given: Any, journal: list[tuple[Signal, datetime]]) -> Trace:
    trace = Trace(new_interpreter(definition, given))
    for signal, at in journal:
        trace.feed(signal, at)
    return trace


def test_replaying_a_journal_reproduces_events_and_commands() -> None:
    live = drive(WORKFLOW, {"items": [1, 2, 3]}, flaky_then_fine)
    assert live.completion.status == "SUCCEEDED"
    replayed = replay(WORKFLOW, {"items": [1, 2, 3]}, live.journal)
    assert replayed.events == live.events
    assert replayed.commands == live.commands


def test_every_prefix_of_a_journal_leaves_the_same_work_pending() -> None:
    """What a resumed executor re-arms and re-dispatches is what the live run waited on."""
    given = {"items": [1, 2, 3]}
    live = drive(WORKFLOW, given, flaky_then_fine)
    for length in range(1, len(live.journal) + 1):
        prefix = replay(WORKFLOW, given, live.journal[:length])
        tasks, timers = live.pending[length - 1]
        assert prefix.interpreter.pending_tasks == tasks
        assert prefix.interpreter.pending_timers == timers
        assert prefix.events == live.events[: len(prefix.events)]
    assert any(tasks for tasks, _ in live.pending)
    assert any(timers for _, timers in live.pending)


def _recorded_cases() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


@pytest.mark.parametrize("path", _recorded_cases(), ids=lambda path: path.stem)
def test_recorded_history(path: Path) -> None:
    recorded = json.loads(path.read_text())
    journal = [
        (signal_from_record(entry["kind"], entry["fields"]), datetime.fromisoformat(entry["at"]))
        for entry in recorded["journal"]
    ]
    trace = replay(recorded["definition"], recorded["input"], journal)
    assert [_jsonable(event) for event in trace.events] == recorded["events"]


def _jsonable(event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "timestamp": event["timestamp"].isoformat()}


def record(path: Path, definition: dict[str, Any], given: Any, trace: Trace) -> None:
    """Write a recorded history (used once, by hand, to add a case to `histories/`)."""
    journal = []
    for signal, at in trace.journal:
        kind, fields = signal_to_record(signal)
        journal.append({"kind": kind, "fields": fields, "at": at.isoformat()})
    path.write_text(
        json.dumps(
            {
                "definition": definition,
                "input": given,
                "journal": journal,
                "events": [_jsonable(event) for event in trace.events],
            },
            indent=1,
        )
        + "\n"
    )

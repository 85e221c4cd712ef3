"""SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat: a task answered by its token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from held_tasks import HeldTasks

from redstep.engine.commands import ScheduleTask
from redstep.runtime.clock import VirtualClock
from redstep.runtime.engine import Engine
from redstep.runtime.errors import (
    InvalidOutput,
    InvalidToken,
    TaskDoesNotExist,
    TaskTimedOut,
    ValidationException,
)
from redstep.runtime.memory_store import MemoryExecutionStore

ROLE = "arn:aws:iam::123456789012:role/test"
CALLBACK = "arn:aws:states:::lambda:invoke.waitForTaskToken"
GONE = "Task Timed Out: 'Provided task does not exist anymore'"


def task_machine(**task: Any) -> dict[str, Any]:
    return {
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": CALLBACK, **task},
            "Handled": {"Type": "Pass", "End": True},
        }
        if "Catch" in task
        else {"T": {"Type": "Task", "Resource": CALLBACK, **task}},
    }


@pytest.fixture
def held() -> HeldTasks:
    return HeldTasks()


@pytest.fixture
def store() -> MemoryExecutionStore:
    return MemoryExecutionStore()


@pytest.fixture
def engine(store: MemoryExecutionStore, held: HeldTasks) -> Iterator[Engine]:
    with Engine(store, clock=VirtualClock(), tasks=held) as engine:
        yield engine


def start(engine: Engine, definition: dict[str, Any], given: Any = None) -> str:
    machine = engine.create_state_machine(
        {"name": "Callback", "definition": json.dumps(definition), "roleArn": ROLE}
    )
    started = engine.start_execution(
        {"stateMachineArn": machine["stateMachineArn"], "input": json.dumps(given or {})}
    )
    return str(started["executionArn"])


def next_task(held: HeldTasks, count: int = 1) -> ScheduleTask:
    """The `count`-th task the runner was given, once it has been given it."""
    for _ in range(200):
        if len(held.started) >= count:
            return held.started[count - 1][1]
        held.arrived.clear()
        held.arrived.wait(0.05)
    raise AssertionError(f"the runner was given {len(held.started)} tasks, not {count}")


def test_send_task_success_ends_the_task_with_its_output(engine: Engine, held: HeldTasks) -> None:
    arn = start(engine, task_machine(End=True, ResultPath="$.answer"), {"order": 7})
    token = next_task(held).task_token
    assert token.startswith(f"{arn}#")
    assert engine.send_task_success({"taskToken": token, "output": '{"ok": true}'}) == {}
    described = engine.wait(arn, 5)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"order": 7, "answer": {"ok": True}}
    history = engine.get_execution_history({"executionArn": arn})["events"]
    assert "TaskSucceeded" in [event["type"] for event in history]


def test_an_answered_task_cannot_be_answered_again(engine: Engine, held: HeldTasks) -> None:
    arn = start(engine, task_machine(End=True))
    token = next_task(held).task_token
    engine.send_task_success({"taskToken": token, "output": "1"})
    engine.wait(arn, 5)
    for operation, request in (
        ("SendTaskSuccess", {"taskToken": token, "output": "2"}),
        ("SendTaskFailure", {"taskToken": token}),
        ("SendTaskHeartbeat", {"taskToken": token}),
    ):
        with pytest.raises(TaskTimedOut) as raised:
            engine.handle(operation, request)
        assert raised.value.message == GONE
        assert raised.value.members() == {"message": GONE}


def test_send_task_failure_fails_the_execution_with_its_error(
    engine: Engine, held: HeldTasks
) -> None:
    arn = start(engine, task_machine(End=True))
    token = next_task(held).task_token
    engine.send_task_failure({"taskToken": token, "error": "Rejected", "cause": "by a human"})
    described = engine.wait(arn, 5)
    assert described["status"] == "FAILED"
    assert (described["error"], described["cause"]) == ("Rejected", "by a human")


def test_a_failure_without_error_or_cause_fails_with_neither(
    engine: Engine, held: HeldTasks
) -> None:
    arn = start(engine, task_machine(End=True))
    engine.send_task_failure({"taskToken": next_task(held).task_token})
    described = engine.wait(arn, 5)
    assert described["status"] == "FAILED"
    assert "error" not in described
    assert "cause" not in described


def test_a_sent_failure_is_caught(engine: Engine, held: HeldTasks) -> None:
    definition = task_machine(
        End=True, Catch=[{"ErrorEquals": ["Rejected"], "Next": "Handled", "ResultPath": "$.why"}]
    )
    arn = start(engine, definition)
    engine.send_task_failure({"taskToken": next_task(held).task_token, "error": "Rejected"})
    described = engine.wait(arn, 5)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"why": {"Error": "Rejected"}}


def test_a_sent_failure_is_retried_with_a_new_token(engine: Engine, held: HeldTasks) -> None:
    definition = task_machine(
        End=True, Retry=[{"ErrorEquals": ["Flaky"], "IntervalSeconds": 5, "MaxAttempts": 1}]
    )
    arn = start(engine, definition)
    first = next_task(held).task_token
    engine.send_task_failure({"taskToken": first, "error": "Flaky"})
    second = next_task(held, 2).task_token  # the retry waits its 5 s on the virtual clock
    assert second != first
    with pytest.raises(TaskTimedOut):
        engine.send_task_success({"taskToken": first, "output": "{}"})
    engine.send_task_success({"taskToken": second, "output": '"second time"'})
    described = engine.wait(arn, 5)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == "second time"


def test_a_heartbeat_starts_heartbeat_seconds_over(
    engine: Engine, held: HeldTasks, store: MemoryExecutionStore
) -> None:
    arn = start(engine, task_machine(End=True, HeartbeatSeconds=3600))
    token = next_task(held).task_token
    [before] = store.timers(arn)
    assert engine.send_task_heartbeat({"taskToken": token}) == {}
    [after] = store.timers(arn)
    assert after.timer_id != before.timer_id  # the old deadline is cleared, a new one set
    assert after.due > before.due
    engine.send_task_success({"taskToken": token, "output": "{}"})
    assert engine.wait(arn, 5)["status"] == "SUCCEEDED"


def test_a_task_past_its_heartbeat_is_timed_out(engine: Engine, held: HeldTasks) -> None:
    arn = start(engine, task_machine(End=True, HeartbeatSeconds=1))
    token = next_task(held).task_token
    described = engine.wait(arn, 10)
    assert (described["status"], described["error"]) == ("FAILED", "States.Timeout")
    with pytest.raises(TaskTimedOut, match="Provided task does not exist anymore"):
        engine.send_task_heartbeat({"taskToken": token})


def test_a_stopped_execution_has_no_open_task(engine: Engine, held: HeldTasks) -> None:
    arn = start(engine, task_machine(End=True))
    token = next_task(held).task_token
    engine.stop_execution({"executionArn": arn})
    with pytest.raises(TaskTimedOut, match="Provided task does not exist anymore"):
        engine.send_task_success({"taskToken": token, "output": "{}"})


@pytest.mark.parametrize(
    "token",
    [
        "not a token",
        "arn:aws:states:us-east-1:123456789012:execution:Callback:run",  # no task
        "arn:aws:states:us-east-1:123456789012:execution:Callback:run#0",
        "arn:aws:states:us-east-1:123456789012:execution:Callback:run#x",
        "arn:aws:states:us-east-1:123456789012:stateMachine:Callback#1",
    ],
)
def test_a_token_this_engine_did_not_issue_is_invalid(engine: Engine, token: str) -> None:
    with pytest.raises(InvalidToken) as raised:
        engine.send_task_success({"taskToken": token, "output": "{}"})
    assert raised.value.message == "Invalid Token: 'Invalid token'"


def test_a_task_that_never_was_does_not_exist(engine: Engine, held: HeldTasks) -> None:
    arn = start(engine, task_machine(End=True))
    next_task(held)
    with pytest.raises(TaskDoesNotExist) as raised:
        engine.send_task_success({"taskToken": f"{arn}#2", "output": "{}"})
    assert raised.value.code == "TaskDoesNotExist"
    unknown = "arn:aws:states:us-east-1:123456789012:execution:Callback:unknown#1"
    with pytest.raises(TaskDoesNotExist):
        engine.send_task_heartbeat({"taskToken": unknown})


@pytest.mark.parametrize("output", ["{not json", '{"x": NaN}', "", "1e400"])
def test_output_must_be_json(engine: Engine, held: HeldTasks, output: str) -> None:
    arn = start(engine, task_machine(End=True))
    token = next_task(held).task_token
    with pytest.raises(InvalidOutput) as raised:
        engine.send_task_success({"taskToken": token, "output": output})
    assert raised.value.message.startswith("Invalid Output: '")
    engine.send_task_success({"taskToken": token, "output": "null"})  # still open
    assert engine.wait(arn, 5)["status"] == "SUCCEEDED"


def test_the_token_and_output_are_required_and_never_echoed(engine: Engine) -> None:
    with pytest.raises(ValidationException) as raised:
        engine.send_task_success({})
    assert raised.value.message == (
        "2 validation errors detected: Value at 'taskToken' failed to satisfy constraint: "
        "Member must not be null; Value at 'output' failed to satisfy constraint: Member "
        "must not be null"
    )
    with pytest.raises(ValidationException, match="less than or equal to 2048"):
        engine.send_task_heartbeat({"taskToken": "t" * 2049})


def test_an_answer_reaches_an_execution_resumed_after_a_restart(held: HeldTasks) -> None:
    store = MemoryExecutionStore()
    with Engine(store, clock=VirtualClock(), tasks=held) as first:
        arn = start(first, task_machine(End=True))
        token = next_task(held).task_token
    again = HeldTasks()
    with Engine(store, clock=VirtualClock(), tasks=again) as second:
        second.send_task_success({"taskToken": token, "output": '{"late": true}'})
        described = second.wait(arn, 5)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"late": True}
    signals = [signal.kind for signal in store.signals(arn)]
    assert signals.count("TaskSucceeded") == 1  # journaled once, consumed once


def test_the_runner_may_answer_through_the_engine_from_its_own_call(
    store: MemoryExecutionStore,
) -> None:
    """A runner that sends the answer while it is being started (on the executor's thread)."""

    class AnswersAtOnce:
        engine: Engine

        def start(self, execution_arn: str, command: ScheduleTask, report: Any) -> None:
            self.engine.send_task_success({"taskToken": command.task_token, "output": '"now"'})

        def cancel(self, execution_arn: str, task_id: int) -> None:
            pass

    runner = AnswersAtOnce()
    with Engine(store, clock=VirtualClock(), tasks=runner) as engine:
        runner.engine = engine
        arn = start(engine, task_machine(End=True))
        described = engine.wait(arn, 5)
    assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", "now")

"""SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat: a task answered by its token."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from held_tasks import HeldTasks

from redstep.asl.json_text import JSON_TOO_DEEP, MAX_JSON_DEPTH
from redstep.engine.commands import ScheduleTask
from redstep.engine.signals import Signal, TaskSucceeded
from redstep.runtime import callback_api
from redstep.runtime.clock import VirtualClock
from redstep.runtime.engine import Engine
from redstep.runtime.errors import (
    InvalidOutput,
    InvalidToken,
    StepFunctionsError,
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


@pytest.mark.parametrize(
    "output",
    [
        "{not json",
        '{"x": NaN}',
        "",
        "1e400",
        pytest.param("[" * 1000 + "]" * 1000, id="nested-past-the-readers-stack"),
        pytest.param("[" * 257 + "]" * 257, id="nested-past-the-limit"),
    ],
)
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
            """Nothing to cancel: the task is answered as it starts."""

    runner = AnswersAtOnce()
    with Engine(store, clock=VirtualClock(), tasks=runner) as engine:
        runner.engine = engine
        arn = start(engine, task_machine(End=True))
        described = engine.wait(arn, 5)
    assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", "now")


def test_a_too_deep_output_is_named_as_such(engine: Engine, held: HeldTasks) -> None:
    start(engine, task_machine(End=True))
    token = next_task(held).task_token
    with pytest.raises(InvalidOutput) as raised:
        engine.send_task_success({"taskToken": token, "output": "[" * 5000 + "]" * 5000})
    assert raised.value.message == f"Invalid Output: '{JSON_TOO_DEEP}'"


def test_a_runners_answer_nested_too_deeply_fails_the_task(engine: Engine, held: HeldTasks) -> None:
    """A runner's answer cannot be refused: the task fails instead of the executor."""
    for count, depth in enumerate((MAX_JSON_DEPTH + 1, 5000), start=1):
        arn = start(engine, task_machine(End=True))
        next_task(held, count)
        _, command, report = held.started[-1]
        deep: Any = []
        for _ in range(depth - 1):
            deep = [deep]
        report(TaskSucceeded(command.task_id, deep))
        described = engine.wait(arn, 5)
        assert (described["status"], described["error"]) == ("FAILED", "States.Runtime")
        assert described["cause"] == f"The task's output is nested too deeply: {JSON_TOO_DEEP}"


class BlocksTheLoop(HeldTasks):
    """Holds callback tasks; a task of BLOCKER's resource keeps the executor's loop busy (its
    runner is started on the loop) until `release` is set."""

    BLOCKER = "arn:aws:states:::aws-sdk:s3:headObject"

    def __init__(self) -> None:
        super().__init__()
        self.blocking = threading.Event()
        self.release = threading.Event()

    def start(
        self, execution_arn: str, command: ScheduleTask, report: Callable[[Signal], None]
    ) -> None:
        if command.resource != self.BLOCKER:
            super().start(execution_arn, command, report)
            return
        self.blocking.set()
        assert self.release.wait(10)


def test_an_answer_the_busy_executor_did_not_take_in_time_has_no_effect(
    store: MemoryExecutionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller is told it failed (a 500, which botocore retries), so it must not also take
    effect later: the retry would then find the task closed although the answer was taken."""
    monkeypatch.setattr(callback_api, "ANSWER_WAIT_SECONDS", 0.2)
    runner = BlocksTheLoop()
    with Engine(store, clock=VirtualClock(), tasks=runner) as engine:
        arn = start(engine, task_machine(End=True))
        token = next_task(runner).task_token
        blocker = {
            "StartAt": "B",
            "States": {"B": {"Type": "Task", "Resource": runner.BLOCKER, "End": True}},
        }
        machine = engine.create_state_machine(
            {"name": "Blocker", "definition": json.dumps(blocker), "roleArn": ROLE}
        )
        engine.start_execution({"stateMachineArn": machine["stateMachineArn"]})
        assert runner.blocking.wait(5)
        with pytest.raises(StepFunctionsError) as raised:
            engine.send_task_success({"taskToken": token, "output": '"first"'})
        assert (raised.value.code, raised.value.http_status) == ("InternalServerError", 500)
        assert "nothing was delivered" in raised.value.message
        runner.release.set()
        # The retry is queued behind the withdrawn answer, and finds the task still open.
        engine.send_task_success({"taskToken": token, "output": '"again"'})
        described = engine.wait(arn, 5)
    assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", "again")
    assert [signal.kind for signal in store.signals(arn)].count("TaskSucceeded") == 1

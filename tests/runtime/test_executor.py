"""The executor across restarts and failures: nothing answered runs twice, nothing is lost."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

import pytest
from held_tasks import HeldTasks

from redstep.engine.commands import ScheduleTask
from redstep.engine.signals import Signal, TaskSubmitted, TaskSucceeded
from redstep.runtime import executor as executor_module
from redstep.runtime.clock import VirtualClock
from redstep.runtime.engine import Engine
from redstep.runtime.errors import ExecutionAlreadyExists, TaskTimedOut
from redstep.runtime.executor import Delivery
from redstep.runtime.memory_store import MemoryExecutionStore
from redstep.runtime.store import Completion, TimerRecord

ROLE = "arn:aws:iam::123456789012:role/test"
TASK = {
    "StartAt": "T",
    "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}},
}


def engine_on(store: MemoryExecutionStore, tasks: HeldTasks | None = None) -> Engine:
    return Engine(store, clock=VirtualClock(), tasks=tasks)


def start_task(engine: Engine, definition: dict[str, Any] = TASK) -> str:
    machine = engine.create_state_machine(
        {"name": "Machine", "definition": json.dumps(definition), "roleArn": ROLE}
    )
    run = engine.start_execution({"stateMachineArn": machine["stateMachineArn"], "input": "{}"})
    return str(run["executionArn"])


def test_a_task_answered_before_the_crash_is_not_started_again() -> None:
    store = MemoryExecutionStore()
    held = HeldTasks()
    with engine_on(store, held) as first:
        arn = start_task(first)
        assert held.arrived.wait(5)
    # the answer reached the journal, the process died before it was processed
    store.add_signal(
        arn, "TaskSucceeded", {"task_id": 1, "output": {"ok": True}}, datetime.now(UTC)
    )
    again = HeldTasks()
    with engine_on(store, again) as second:
        described = second.wait(arn, timeout=5)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"ok": True}
    assert again.started == []


def test_a_task_unanswered_at_the_crash_is_started_once_more() -> None:
    store = MemoryExecutionStore()
    held = HeldTasks()
    with engine_on(store, held) as first:
        arn = start_task(first)
        assert held.arrived.wait(5)
    again = HeldTasks()
    with engine_on(store, again) as second:
        assert again.arrived.wait(5)
        [(execution, command, report)] = again.started
        assert (execution, command.task_id) == (arn, 1)
        report(TaskSucceeded(1, "late"))
        assert second.wait(arn, timeout=5)["status"] == "SUCCEEDED"
    history = store.history(arn, False, 100, None)
    lost = [e for e in history if e["type"] == "TaskFailed"]
    assert [e["type"] for e in history][2:6] == [
        "TaskScheduled",
        "TaskFailed",
        "TaskScheduled",
        "TaskSucceeded",
    ]
    assert lost[0]["taskFailedEventDetails"]["error"] == "States.TaskFailed"
    assert "stopped while this task was in flight" in lost[0]["taskFailedEventDetails"]["cause"]


def crash_with_task_in_flight(
    store: MemoryExecutionStore, definition: dict[str, Any] = TASK, times: int = 1
) -> str:
    """Start an execution whose task is handed out, then stop the engine `times` times while
    the task is still in flight."""
    held = HeldTasks()
    with engine_on(store, held) as first:
        arn = start_task(first, definition)
        assert held.arrived.wait(5)
    for _ in range(times - 1):
        again = HeldTasks()
        with engine_on(store, again):
            assert again.arrived.wait(5)
    return arn


def test_a_task_interrupted_twice_fails_with_states_task_failed() -> None:
    store = MemoryExecutionStore()
    arn = crash_with_task_in_flight(store, times=2)
    with engine_on(store, HeldTasks()) as third:
        described = third.wait(arn, timeout=5)
    assert described["status"] == "FAILED"
    assert described["error"] == "States.TaskFailed"
    types = [e["type"] for e in store.history(arn, False, 100, None)]
    assert types.count("TaskScheduled") == 2
    assert types.count("TaskFailed") == 2


def test_a_state_retrying_task_failures_decides_for_itself() -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Retry": [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 0}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    store = MemoryExecutionStore()
    arn = crash_with_task_in_flight(store, definition)
    again = HeldTasks()
    with engine_on(store, again) as second:
        described = second.wait(arn, timeout=5)
    assert described["status"] == "SUCCEEDED"  # caught at once: MaxAttempts 0 forbids a rerun
    assert again.started == []
    assert json.loads(described["output"])["Error"] == "States.TaskFailed"


@pytest.mark.parametrize(
    ("resource", "runs_again"),
    [
        ("arn:aws:states:::lambda:invoke.waitForTaskToken", False),  # still waits for its token
        ("arn:aws:states:::states:startExecution.sync:2", True),  # joins its child again
    ],
)
def test_a_submitted_task_is_not_interrupted(resource: str, runs_again: bool) -> None:
    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": resource, "End": True}},
    }
    store = MemoryExecutionStore()
    held = HeldTasks()
    with engine_on(store, held) as first:
        arn = start_task(first, definition)
        assert held.arrived.wait(5)
        [(_, command, report)] = held.started
        report(TaskSubmitted(command.task_id, {"ExecutionArn": "child"}))
    again = HeldTasks()
    with engine_on(store, again) as second:
        assert again.arrived.wait(1) is runs_again
        token = command.task_token
        second.send_task_success({"taskToken": token, "output": '"done"'})
        assert second.wait(arn, timeout=5)["status"] == "SUCCEEDED"
    types = [e["type"] for e in store.history(arn, False, 100, None)]
    assert types.count("TaskSubmitted") == 1
    assert "TaskFailed" not in types


def test_an_execution_outlives_the_deletion_of_its_state_machine() -> None:
    store = MemoryExecutionStore()
    held = HeldTasks()
    with engine_on(store, held) as first:
        arn = start_task(first)
        assert held.arrived.wait(5)
        first.delete_state_machine(
            {"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:Machine"}
        )
    again = HeldTasks()
    with engine_on(store, again) as second:
        assert again.arrived.wait(5)
        again.started[0][2](TaskSucceeded(1, {}))
        assert second.wait(arn, timeout=5)["status"] == "SUCCEEDED"
        described = second.describe_state_machine_for_execution({"executionArn": arn})
        assert json.loads(described["definition"]) == TASK


def test_concurrent_starts_of_one_name_agree() -> None:
    store = MemoryExecutionStore()
    with engine_on(store, HeldTasks()) as engine:
        machine = engine.create_state_machine(
            {"name": "Machine", "definition": json.dumps(TASK), "roleArn": ROLE}
        )
        outcomes: list[object] = []

        def start() -> None:
            for _ in range(20):
                try:
                    outcomes.append(
                        engine.start_execution(
                            {
                                "stateMachineArn": machine["stateMachineArn"],
                                "name": "same",
                                "input": "{}",
                            }
                        )["executionArn"]
                    )
                except ExecutionAlreadyExists as error:
                    outcomes.append(error)

        threads = [threading.Thread(target=start) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(outcomes) == 80
    assert {type(outcome) for outcome in outcomes} == {str}  # still running: all idempotent
    assert len(set(outcomes)) == 1


class FailingOnce(MemoryExecutionStore):
    """A store whose first commit fails, as a full disk would make it."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    def commit(
        self,
        execution_arn: str,
        signal_seq: int,
        at: datetime,
        events: Sequence[dict[str, Any]],
        new_timers: Sequence[TimerRecord],
        cleared_timers: Sequence[int],
        completion: Completion | None,
    ) -> None:
        if self.failures:
            self.failures -= 1
            raise OSError("disk full")
        super().commit(
            execution_arn, signal_seq, at, events, new_timers, cleared_timers, completion
        )


def test_a_failed_commit_is_retried_from_the_store(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(executor_module, "RETRY_COMMIT_SECONDS", 0.01)
    store = FailingOnce()
    with engine_on(store) as engine:
        machine = engine.create_state_machine(
            {
                "name": "Machine",
                "definition": json.dumps(
                    {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
                ),
                "roleArn": ROLE,
            }
        )
        run = engine.start_execution(
            {"stateMachineArn": machine["stateMachineArn"], "input": '{"a": 1}'}
        )
        described = engine.wait(run["executionArn"], timeout=5)
    assert described["status"] == "SUCCEEDED"
    assert store.failures == 0
    assert "could not record a step" in caplog.text
    types = [e["type"] for e in store.history(run["executionArn"], False, 100, None)]
    assert types == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]


class SlowToJournal(MemoryExecutionStore):
    """Once `is_slow` is set, journaling a signal waits until the test lets it go on."""

    def __init__(self) -> None:
        super().__init__()
        self.is_slow = False
        self.entered = threading.Event()
        self.proceed = threading.Event()

    def add_signal(
        self, execution_arn: str, kind: str, fields: dict[str, Any], at: datetime
    ) -> int:
        if self.is_slow:
            self.entered.set()
            assert self.proceed.wait(5)
        return super().add_signal(execution_arn, kind, fields, at)


def test_an_answer_the_loop_has_begun_on_is_waited_for_past_the_timeout() -> None:
    """The timeout withdraws only an answer the loop has not reached: one it is already taking
    is seen through, so an answer is never both refused to its sender and delivered."""
    store = SlowToJournal()
    held = HeldTasks()
    with engine_on(store, held) as engine:
        arn = start_task(engine)
        assert held.arrived.wait(5)
        timed_out = threading.Event()

        def run_out_once_begun(done: Future[Delivery], timeout: float | None) -> Delivery:
            assert store.entered.wait(5)  # the loop is journaling the answer...
            timed_out.set()
            raise TimeoutError  # ...when the sender's timeout runs out

        engine.executor.wait_for_outcome = run_out_once_begun
        store.is_slow = True
        outcome: list[Delivery] = []
        answer = TaskSucceeded(1, "taken")
        sender = threading.Thread(
            target=lambda: outcome.append(engine.executor.answer_task(arn, answer, 0.2))
        )
        sender.start()
        assert timed_out.wait(5)
        store.is_slow = False
        store.proceed.set()
        sender.join(5)
        assert outcome == [Delivery.DELIVERED]
        assert engine.wait(arn, 5)["status"] == "SUCCEEDED"


def test_an_answer_the_loop_has_not_reached_in_time_is_withdrawn() -> None:
    """The loop is busy journaling one execution's answer when another answer's timeout runs
    out: that answer is withdrawn, and has no effect even once the loop is free."""
    store = SlowToJournal()
    held = HeldTasks()
    with engine_on(store, held) as engine:
        busy, other = start_task(engine), start_task(engine)
        while len(held.started) < 2:
            assert held.arrived.wait(5)
            held.arrived.clear()

        def run_out_if_bounded(done: Future[Delivery], timeout: float | None) -> Delivery:
            if timeout is None:
                return done.result()
            raise TimeoutError  # at once: the loop is still held on the first answer

        engine.executor.wait_for_outcome = run_out_if_bounded
        store.is_slow = True
        first: list[Delivery] = []
        sender = threading.Thread(
            target=lambda: first.append(engine.executor.answer_task(busy, TaskSucceeded(1, "a")))
        )
        sender.start()
        assert store.entered.wait(5)  # the loop is held: nothing queued behind it can begin
        with pytest.raises(TimeoutError):
            engine.executor.answer_task(other, TaskSucceeded(1, "withdrawn"), 0.2)
        store.is_slow = False
        store.proceed.set()
        sender.join(5)
        assert first == [Delivery.DELIVERED]
        assert engine.wait(busy, 5)["status"] == "SUCCEEDED"
        assert engine.describe_execution({"executionArn": other})["status"] == "RUNNING"
        assert [entry.kind for entry in store.signals(other)] == ["Start"]
        assert engine.executor.answer_task(other, TaskSucceeded(1, "b")) == Delivery.DELIVERED
        assert json.loads(engine.wait(other, 5)["output"]) == "b"


class AnsweringWhileStarted:
    """Answers each task it starts through SendTask* at once, on the executor's loop, as a
    runner that finishes its work inside `start` would; records what each answer met."""

    def __init__(self, answers: Sequence[str]) -> None:
        self.answers = answers
        self.engine: Engine | None = None
        self.outcomes: list[str] = []

    def start(
        self, execution_arn: str, command: ScheduleTask, report: Callable[[Signal], None]
    ) -> None:
        assert self.engine is not None
        for number, operation in enumerate(self.answers):
            request: dict[str, Any] = {"taskToken": command.task_token}
            if operation == "SendTaskSuccess":
                request["output"] = json.dumps(number)
            try:
                self.engine.handle(operation, request)
            except TaskTimedOut as error:
                self.outcomes.append(error.code)
            else:
                self.outcomes.append("OK")

    def cancel(self, execution_arn: str, task_id: int) -> None:
        """Nothing to cancel: the task is answered as it starts."""


@pytest.mark.parametrize(
    ("answers", "outcomes"),
    [
        pytest.param(
            ["SendTaskSuccess", "SendTaskSuccess"], ["OK", "TaskTimedOut"], id="success-twice"
        ),
        pytest.param(
            ["SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"],
            ["OK", "TaskTimedOut", "TaskTimedOut"],
            id="anything-after-a-success",
        ),
        pytest.param(
            ["SendTaskHeartbeat", "SendTaskSuccess", "SendTaskSuccess"],
            ["OK", "OK", "TaskTimedOut"],
            id="a-heartbeat-leaves-it-open",
        ),
    ],
)
def test_a_second_answer_in_one_activation_finds_the_task_closed(
    answers: list[str], outcomes: list[str]
) -> None:
    """On the loop an answer is only queued, behind the activation that started the task, so
    the interpreter still counts the task pending: the answer queued closes it all the same."""
    store = MemoryExecutionStore()
    runner = AnsweringWhileStarted(answers)
    with Engine(store, clock=VirtualClock(), tasks=runner) as engine:
        runner.engine = engine
        arn = start_task(engine)
        described = engine.wait(arn, timeout=5)
    assert runner.outcomes == outcomes
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == answers.index("SendTaskSuccess")
    kinds = [entry.kind for entry in store.signals(arn)]
    assert kinds.count("TaskSucceeded") == 1
    assert "TaskFailed" not in kinds


# -- waiting for an end ----------------------------------------------------------------------------

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def test_the_executor_keeps_no_watch_for_executions_that_ended() -> None:
    with engine_on(MemoryExecutionStore()) as engine:
        standard = engine.create_state_machine(
            {"name": "Standard", "definition": json.dumps(PASS), "roleArn": ROLE}
        )["stateMachineArn"]
        express = engine.create_state_machine(
            {"name": "Fast", "definition": json.dumps(PASS), "roleArn": ROLE, "type": "EXPRESS"}
        )["stateMachineArn"]
        waited = [
            engine.start_execution({"stateMachineArn": standard})["executionArn"]
            for _ in range(100)
        ]
        for _ in range(100):
            engine.start_sync_execution({"stateMachineArn": express})
        never_waited = [
            engine.start_execution({"stateMachineArn": arn})["executionArn"]
            for arn in (standard, express)
            for _ in range(100)
        ]
        for arn in waited:
            assert engine.wait(arn, timeout=5)["status"] == "SUCCEEDED"
        assert engine.wait(never_waited[0], timeout=5)["status"] == "SUCCEEDED"
        assert engine.wait(never_waited[-1], timeout=5)["status"] == "SUCCEEDED"
        assert engine.executor._watches == {}
        # after the end, a wait answers at once, however long it would wait
        assert all(engine.executor.wait(arn, timeout=0) for arn in waited)
        assert engine.executor.wait(waited[0]) is True
        assert engine.executor._watches == {}


def test_waiters_on_a_running_execution_are_woken_by_its_end_and_leave_nothing() -> None:
    held = HeldTasks()
    with engine_on(MemoryExecutionStore(), held) as engine:
        arn = start_task(engine)
        assert held.arrived.wait(5)
        assert engine.executor.wait(arn, timeout=0.01) is False  # still running
        woken: list[bool] = []
        waiters = [
            threading.Thread(target=lambda: woken.append(engine.executor.wait(arn, 10)))
            for _ in range(3)
        ]
        for waiter in waiters:
            waiter.start()
        held.started[0][2](TaskSucceeded(1, {}))
        for waiter in waiters:
            waiter.join(10)
        assert woken == [True, True, True]
        assert engine.executor._watches == {}


def test_a_wait_for_an_unknown_execution_times_out_and_leaves_nothing() -> None:
    with engine_on(MemoryExecutionStore()) as engine:
        unknown = "arn:aws:states:us-east-1:123456789012:execution:Machine:nobody"
        assert engine.executor.wait(unknown, timeout=0.01) is False
        assert engine.executor._watches == {}

"""Redrive in the pure interpreter: what runs again, what keeps its result, what the history says.

Each test runs an execution to its end on a virtual timeline, feeds it `Redrive`, and runs it on.
A state that must fail only before the redrive reads `$$.Execution.RedriveCount`, which the
redrive raises; a task fails or succeeds as the test's answer decides.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from asl_driver import T0, Trace, new_interpreter

from redstep.engine.commands import (
    CancelTimer,
    CompleteExecution,
    ScheduleTask,
    StartTimer,
)
from redstep.engine.interpreter import TRANSITION_BUDGET, Interpreter
from redstep.engine.signals import (
    Continue,
    Redrive,
    Signal,
    Start,
    Stop,
    TaskFailed,
    TaskStarted,
    TaskSucceeded,
    TimerFired,
)

TASK = "arn:aws:states:::lambda:invoke"
LATER = timedelta(hours=1)
"""How long after the end each test redrives."""

#: How a test answers a task: a signal, or None to leave it running.
Answer = Callable[[ScheduleTask], Signal | None]


def machine(*states: tuple[str, dict[str, Any]], **top: Any) -> dict[str, Any]:
    return {"StartAt": states[0][0], "States": dict(states), **top}


def task(name: str, **fields: Any) -> dict[str, Any]:
    """A Task whose parameters name it and carry its input and its retry count."""
    parameters = {"name": name, "input.$": "$", "retry.$": "$$.State.RetryCount"}
    return {"Type": "Task", "Resource": TASK, "Parameters": parameters, **fields}


def fails_before_redrive(then: str) -> dict[str, Any]:
    """A Choice that fails its flow at once (States.NoChoiceMatched) until the execution is
    redriven, and then goes on to `then`."""
    return {
        "Type": "Choice",
        "Choices": [
            {"Variable": "$$.Execution.RedriveCount", "NumericGreaterThan": 0, "Next": then}
        ],
    }


class Run:
    """One execution, driven: tasks answered by `answer`, timers fired when they fall due."""

    def __init__(self, definition: dict[str, Any], given: Any = None, answer: Answer | None = None):
        self.trace = Trace(new_interpreter(definition, given))
        self.answer = answer
        self.now = T0
        self.timers: dict[int, datetime] = {}
        self.answers: deque[Signal] = deque()
        self.seen = 0
        self.scheduled: list[ScheduleTask] = []
        self.most_outstanding = 0

    @property
    def interpreter(self) -> Interpreter:
        return self.trace.interpreter

    @property
    def events(self) -> list[dict[str, Any]]:
        return self.trace.events

    def start(self) -> Run:
        self.trace.feed(Start(), self.now)
        self._go()
        return self

    def redrive(self) -> Run:
        self.now += LATER
        self.trace.feed(Redrive(), self.now)
        self._go()
        return self

    def stop(self) -> Run:
        self.now += timedelta(seconds=1)
        self.trace.feed(Stop("Halt", "stopped by the test"), self.now)
        self.answers.clear()
        return self

    def status(self) -> str:
        return self.interpreter.status.value

    def completion(self) -> CompleteExecution:
        return [c for c in self.trace.commands if isinstance(c, CompleteExecution)][-1]

    def output(self) -> Any:
        done = self.completion()
        assert done.status == "SUCCEEDED", done
        assert done.output is not None
        return json.loads(done.output)

    def since_redrive(self, occurrence: int = -1) -> list[dict[str, Any]]:
        """The events after the `occurrence`th ExecutionRedriven (the last by default)."""
        marks = [i for i, e in enumerate(self.events) if e["type"] == "ExecutionRedriven"]
        return self.events[marks[occurrence] + 1 :]

    def _go(self) -> None:
        while True:
            for command in self.trace.commands[self.seen :]:
                match command:
                    case StartTimer(timer_id=timer_id, due=due):
                        self.timers[timer_id] = due
                    case CancelTimer(timer_id=timer_id):
                        self.timers.pop(timer_id, None)
                    case ScheduleTask():
                        self.scheduled.append(command)
                        signal = None if self.answer is None else self.answer(command)
                        if signal is not None:
                            self.answers.extend((TaskStarted(command.task_id), signal))
            self.seen = len(self.trace.commands)
            self.most_outstanding = max(self.most_outstanding, len(self.interpreter.pending_tasks))
            if self.interpreter.is_finished:
                self.answers.clear()
                return
            if self.interpreter.has_more:
                self.trace.feed(Continue(), self.now)
            elif self.answers:
                self.trace.feed(self.answers.popleft(), self.now)
            elif self.timers:
                timer_id = min(self.timers, key=lambda key: (self.timers[key], key))
                self.now = max(self.now, self.timers.pop(timer_id))
                self.trace.feed(TimerFired(timer_id), self.now)
            else:
                return


def types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def entered(events: list[dict[str, Any]]) -> list[str]:
    return [
        event["stateEnteredEventDetails"]["name"]
        for event in events
        if event["type"].endswith("StateEntered")
    ]


def scheduled_names(events: list[dict[str, Any]]) -> list[str]:
    return [
        json.loads(event["taskScheduledEventDetails"]["parameters"])["name"]
        for event in events
        if event["type"] == "TaskScheduled"
    ]


class Answers:
    """Tasks answered by name: each name fails its first `failures[name]` attempts (with
    `error`), then succeeds with `{"done": name}`."""

    def __init__(self, failures: dict[str, int] | None = None, error: str = "Boom") -> None:
        self.failures = Counter(failures or {})
        self.error = error
        self.calls: list[str] = []

    def __call__(self, command: ScheduleTask) -> Signal:
        name = command.parameters["name"]
        self.calls.append(name)
        if self.failures[name] > 0:
            self.failures[name] -= 1
            return TaskFailed(command.task_id, self.error, f"{name} broke")
        return TaskSucceeded(command.task_id, {"done": name})


# -- a failed Task -------------------------------------------------------------------------------


def test_a_failed_task_is_entered_again_with_its_input_and_the_rest_runs_on() -> None:
    answers = Answers({"Load": 1})
    definition = machine(
        (
            "Prepare",
            {"Type": "Pass", "Result": {"day": 2}, "ResultPath": "$.prepared", "Next": "Load"},
        ),
        ("Load", task("Load", ResultPath="$.load", Next="Report")),
        ("Report", task("Report", ResultPath="$.report", End=True)),
    )
    run = Run(definition, {"run": 1}, answers).start()
    assert run.status() == "FAILED"
    assert run.completion().error == "Boom"
    failed_at = run.events[-1]["id"]
    load_input = next(e for e in run.events if e["type"] == "TaskStateEntered")[
        "stateEnteredEventDetails"
    ]["input"]

    run.redrive()
    assert run.status() == "SUCCEEDED"
    after = run.since_redrive()
    redriven = run.events[-len(after) - 1]
    assert redriven["type"] == "ExecutionRedriven"
    assert redriven["executionRedrivenEventDetails"] == {"redriveCount": 1}
    assert redriven["previousEventId"] == failed_at
    assert redriven["timestamp"] == T0 + LATER
    # the state that failed is entered again, from the redrive, with the input it had
    assert after[0]["type"] == "TaskStateEntered"
    assert after[0]["previousEventId"] == redriven["id"]
    assert after[0]["stateEnteredEventDetails"]["input"] == load_input
    assert entered(after) == ["Load", "Report"]
    assert answers.calls == ["Load", "Load", "Report"]  # Prepare never ran again
    assert run.output() == {
        "run": 1,
        "prepared": {"day": 2},
        "load": {"done": "Load"},
        "report": {"done": "Report"},
    }
    assert [e["id"] for e in run.events] == list(range(1, len(run.events) + 1))
    assert run.interpreter.info.redrive_count == 1


def test_a_redriven_state_counts_its_retries_from_zero() -> None:
    answers = Answers({"Load": 6})
    retry = [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 2}]
    run = Run(machine(("Load", task("Load", Retry=retry, End=True))), {}, answers).start()
    assert run.status() == "FAILED"
    assert [c.parameters["retry"] for c in run.scheduled] == [0, 1, 2]

    run.redrive()
    assert run.status() == "FAILED"  # three attempts again, all failed
    assert [c.parameters["retry"] for c in run.scheduled[3:]] == [0, 1, 2]
    assert types(run.since_redrive()).count("TaskScheduled") == 3

    run.redrive()  # no failure left: the first attempt succeeds
    assert run.status() == "SUCCEEDED"
    assert [c.parameters["retry"] for c in run.scheduled[6:]] == [0]


def test_a_fail_state_fails_again_as_aws_redrives_it() -> None:
    definition = machine(
        ("Work", task("Work", Next="Broken")),
        ("Broken", {"Type": "Fail", "Error": "Broken", "Cause": "always"}),
    )
    answers = Answers()
    run = Run(definition, {}, answers).start().redrive()
    assert run.status() == "FAILED"
    assert types(run.since_redrive()) == ["FailStateEntered", "ExecutionFailed"]
    assert answers.calls == ["Work"]


# -- timed out, aborted --------------------------------------------------------------------------


def test_a_timed_out_execution_runs_again_with_its_timeout_started_over() -> None:
    held: list[ScheduleTask] = []

    def never_the_first(command: ScheduleTask) -> Signal | None:
        held.append(command)
        return None if len(held) == 1 else TaskSucceeded(command.task_id, {"ok": True})

    definition = machine(
        ("First", {"Type": "Pass", "Next": "Slow"}),
        ("Slow", task("Slow", End=True)),
        TimeoutSeconds=30,
    )
    run = Run(definition, {}, never_the_first).start()
    assert run.status() == "TIMED_OUT"
    assert run.now == T0 + timedelta(seconds=30)

    run.redrive()
    redriven_at = T0 + timedelta(seconds=30) + LATER
    timers = [c for c in run.trace.commands if isinstance(c, StartTimer)]
    assert timers[-1].due == redriven_at + timedelta(seconds=30)  # the timeout starts over
    assert run.status() == "SUCCEEDED"
    assert entered(run.since_redrive()) == ["Slow"]
    assert len(held) == 2


def test_a_redriven_execution_times_out_again_from_the_redrive() -> None:
    definition = machine(("Slow", task("Slow", End=True)), TimeoutSeconds=30)
    run = Run(definition, {}, lambda command: None).start().redrive()
    assert run.status() == "TIMED_OUT"
    assert run.events[-1]["timestamp"] == T0 + timedelta(seconds=30) + LATER + timedelta(seconds=30)


def test_an_aborted_execution_runs_again_from_the_state_it_was_stopped_in() -> None:
    answers = Answers()
    definition = machine(
        ("Pause", {"Type": "Wait", "Seconds": 60, "Next": "Load"}),
        ("Load", task("Load", End=True)),
    )
    run = Run(definition, {}, answers)
    run.trace.feed(Start(), run.now)
    run.stop()
    assert run.status() == "ABORTED"
    assert types(run.events)[-2:] == ["WaitStateEntered", "ExecutionAborted"]

    run.redrive()
    assert run.status() == "SUCCEEDED"
    assert entered(run.since_redrive()) == ["Pause", "Load"]
    assert answers.calls == ["Load"]


# -- Parallel ------------------------------------------------------------------------------------


def parallel_of(*branches: dict[str, Any]) -> dict[str, Any]:
    return machine(
        (
            "Both",
            {
                "Type": "Parallel",
                "Branches": list(branches),
                "ResultPath": "$.results",
                "Next": "After",
            },
        ),
        ("After", {"Type": "Pass", "End": True}),
    )


def branch(*states: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {"StartAt": states[0][0], "States": dict(states)}


def test_a_parallel_redrives_only_its_failed_and_cut_branches() -> None:
    answers = Answers({"B": 1})
    definition = parallel_of(
        branch(("A", task("A", End=True))),
        branch(("B", task("B", End=True))),
        branch(
            ("Wait", {"Type": "Wait", "Seconds": 3600, "Next": "C"}), ("C", task("C", End=True))
        ),
    )
    run = Run(definition, {"x": 1}, answers).start()
    assert run.status() == "FAILED"
    assert "WaitStateAborted" in types(run.events)  # C's branch was cut short
    assert answers.calls == ["A", "B"]

    run.redrive()
    assert run.status() == "SUCCEEDED"
    after = run.since_redrive()
    assert types(after)[:2] == ["ParallelStateEntered", "ParallelStateStarted"]
    assert after[0]["previousEventId"] == run.events[-len(after) - 1]["id"]
    assert sorted(entered(after)) == ["After", "B", "Both", "C", "Wait"]
    assert answers.calls == ["A", "B", "B", "C"]  # A kept its result
    assert types(after)[-5:] == [
        "ParallelStateSucceeded",
        "ParallelStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert run.output()["results"] == [{"done": "A"}, {"done": "B"}, {"done": "C"}]
    # each redriven branch's first event follows the new ParallelStateStarted
    started = after[1]["id"]
    firsts = [
        e for e in after if e.get("stateEnteredEventDetails", {}).get("name") in ("B", "Wait")
    ]
    assert [e["previousEventId"] for e in firsts] == [started, started]


def test_a_branch_cut_before_it_entered_its_first_state_starts_from_it() -> None:
    answers = Answers()
    definition = parallel_of(
        branch(
            ("Check", fails_before_redrive("Fixed")),
            ("Fixed", {"Type": "Pass", "End": True}),
        ),
        branch(("Late", task("Late", End=True))),
    )
    run = Run(definition, {}, answers).start()
    assert (run.status(), run.completion().error) == ("FAILED", "States.NoChoiceMatched")
    assert answers.calls == []  # the second branch never entered its state

    run.redrive()
    assert run.status() == "SUCCEEDED"
    assert answers.calls == ["Late"]
    assert sorted(entered(run.since_redrive())) == ["After", "Both", "Check", "Fixed", "Late"]


def test_a_branch_redrives_from_its_own_failed_state() -> None:
    answers = Answers({"B2": 1})
    definition = parallel_of(
        branch(("A", task("A", End=True))),
        branch(("B1", task("B1", Next="B2")), ("B2", task("B2", End=True))),
    )
    run = Run(definition, {}, answers).start().redrive()
    assert run.status() == "SUCCEEDED"
    assert answers.calls == ["A", "B1", "B2", "B2"]
    assert entered(run.since_redrive()) == ["Both", "B2", "After"]


def test_a_parallel_that_failed_of_its_own_runs_whole_again() -> None:
    answers = Answers()
    definition = machine(
        (
            "Both",
            {
                "Type": "Parallel",
                "Branches": [branch(("A", task("A", End=True)))],
                "ResultSelector": {"missing.$": "$[0].nowhere"},
                "End": True,
            },
        ),
    )
    run = Run(definition, {}, answers).start()
    assert (run.status(), run.completion().error) == ("FAILED", "States.Runtime")
    run.redrive()
    assert run.status() == "FAILED"
    assert answers.calls == ["A", "A"]


# -- inline Map ----------------------------------------------------------------------------------


def map_of(items: list[Any], **fields: Any) -> dict[str, Any]:
    return machine(
        (
            "Each",
            {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    **branch(
                        (
                            "Work",
                            task(
                                "Work",
                                Parameters={"name.$": "States.Format('item{}', $)"},
                                End=True,
                            ),
                        )
                    ),
                },
                "ResultPath": "$.results",
                **fields,
                "End": True,
            },
        ),
    )


def test_an_inline_map_redrives_only_its_unsuccessful_iterations() -> None:
    answers = Answers({"item2": 1, "item4": 1})
    definition = map_of(list(range(6)), MaxConcurrency=2, ToleratedFailureCount=1)
    run = Run(definition, {"items": list(range(6))}, answers).start()
    assert run.status() == "FAILED"
    first = list(answers.calls)

    def indices(event_type: str, events: list[dict[str, Any]]) -> set[int]:
        key = event_type[0].lower() + event_type[1:] + "EventDetails"
        return {e[key]["index"] for e in events if e["type"] == event_type}

    succeeded = indices("MapIterationSucceeded", run.events)
    failed = indices("MapIterationFailed", run.events)
    cut = indices("MapIterationAborted", run.events)
    assert failed == {2, 4}  # item 2's failure was tolerated, item 4's was one too many
    unsuccessful = set(range(6)) - succeeded
    assert unsuccessful >= failed | cut

    run.redrive()
    assert run.status() == "SUCCEEDED"
    again = answers.calls[len(first) :]
    assert sorted(again) == sorted(f"item{i}" for i in unsuccessful)
    assert run.output()["results"] == [{"done": f"item{i}"} for i in range(6)]
    after = run.since_redrive()
    assert types(after)[:2] == ["MapStateEntered", "MapStateStarted"]
    assert after[1]["mapStateStartedEventDetails"] == {"length": 6}
    assert indices("MapIterationStarted", after) == unsuccessful
    assert indices("MapIterationSucceeded", after) == unsuccessful
    assert run.most_outstanding <= 2  # MaxConcurrency holds for the redriven iterations too


def test_a_map_cut_short_redrives_the_iterations_it_cut_and_those_it_never_started() -> None:
    held: list[str] = []

    def item0_fails_while_item1_runs(command: ScheduleTask) -> Signal | None:
        name = command.parameters["name"]
        held.append(name)
        if held.count(name) == 1 and name == "item1":
            return None  # still running when item 0 fails
        if held.count(name) == 1 and name == "item0":
            return TaskFailed(command.task_id, "Boom", None)
        return TaskSucceeded(command.task_id, name)

    definition = map_of(list(range(4)), MaxConcurrency=2)
    run = Run(definition, {"items": list(range(4))}, item0_fails_while_item1_runs).start()
    assert run.status() == "FAILED"
    assert "MapIterationAborted" in types(run.events)
    assert held == ["item0", "item1"]

    run.redrive()
    assert run.status() == "SUCCEEDED"
    assert held[2:] == ["item0", "item1", "item2", "item3"]
    assert run.output()["results"] == ["item0", "item1", "item2", "item3"]


def selector_map(items: list[Any], bad: int, **fields: Any) -> tuple[dict[str, Any], Any]:
    """A Map whose ItemSelector fails on item `bad` until the execution is redriven (it reads
    the item's text at index RedriveCount: not JSON before, the item's index after)."""
    definition = machine(
        (
            "Each",
            {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemSelector": {
                    "x.$": "States.StringToJson("
                    "States.ArrayGetItem($$.Map.Item.Value, $$.Execution.RedriveCount))"
                },
                "ItemProcessor": branch(
                    ("Work", task("Work", Parameters={"x.$": "$.x"}, End=True))
                ),
                **fields,
                "End": True,
            },
        ),
    )
    given = {"items": [["{bad" if i == bad else str(i), str(i)] for i in items]}
    return definition, given


def test_a_map_whose_item_selector_failed_redrives_every_iteration_that_did_not_succeed() -> None:
    # Item 0 fails (tolerated), item 1 succeeds, items 2 and 3 are still running when item 4's
    # ItemSelector fails: the Map fails of its own and cuts 2 and 3.
    seen: Counter[int] = Counter()

    def answer(command: ScheduleTask) -> Signal | None:
        x = command.parameters["x"]
        seen[x] += 1
        if seen[x] == 1 and x == 0:
            return TaskFailed(command.task_id, "Boom", "item 0 broke")
        if seen[x] == 1 and x in (2, 3):
            return None
        return TaskSucceeded(command.task_id, x)

    definition, given = selector_map(list(range(6)), 4, MaxConcurrency=3, ToleratedFailureCount=5)
    run = Run(definition, given, answer).start()
    assert (run.status(), run.completion().error) == ("FAILED", "States.Runtime")
    assert sorted(seen) == [0, 1, 2, 3]

    run.redrive()
    assert run.status() == "SUCCEEDED"
    assert sorted(seen.elements()) == [0, 0, 1, 2, 2, 3, 3, 4, 5]  # item 1 alone is kept
    assert run.output() == [0, 1, 2, 3, 4, 5]
    started = [
        e["mapIterationStartedEventDetails"]["index"]
        for e in run.since_redrive()
        if e["type"] == "MapIterationStarted"
    ]
    assert sorted(started) == [0, 2, 3, 4, 5]
    assert run.most_outstanding <= 3


def test_iterations_queued_when_a_later_item_selector_failed_start_on_redrive() -> None:
    # No MaxConcurrency: items 0 and 1 are queued to start, never entered, when item 2's
    # ItemSelector fails.
    calls: list[int] = []

    def answer(command: ScheduleTask) -> Signal:
        calls.append(command.parameters["x"])
        return TaskSucceeded(command.task_id, command.parameters["x"])

    definition, given = selector_map(list(range(4)), 2)
    run = Run(definition, given, answer).start()
    assert run.status() == "FAILED"
    assert calls == []

    run.redrive()
    assert run.status() == "SUCCEEDED"
    assert sorted(calls) == [0, 1, 2, 3]
    assert run.output() == [0, 1, 2, 3]


def test_a_redriven_iteration_containing_a_parallel_reruns_only_the_failed_branch() -> None:
    answers = Answers({"inner-b": 1})
    inner = {
        "Type": "Parallel",
        "Branches": [
            branch(("IA", task("inner-a", Parameters={"name": "inner-a"}, End=True))),
            branch(("IB", task("inner-b", Parameters={"name": "inner-b"}, End=True))),
        ],
        "End": True,
    }
    definition = machine(
        (
            "Each",
            {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": branch(("Inner", inner)),
                "End": True,
            },
        ),
    )
    run = Run(definition, {"items": [1]}, answers).start().redrive()
    assert run.status() == "SUCCEEDED"
    assert answers.calls == ["inner-a", "inner-b", "inner-b"]
    assert run.output() == [[{"done": "inner-a"}, {"done": "inner-b"}]]


# -- redriven again, replayed, refused ------------------------------------------------------------


def test_a_second_redrive_counts_two_and_the_context_object_sees_it() -> None:
    answers = Answers({"Load": 2})
    definition = machine(
        (
            "Load",
            task(
                "Load",
                Parameters={"name": "Load", "count.$": "$$.Execution.RedriveCount"},
                End=True,
            ),
        ),
    )
    run = Run(definition, {}, answers).start().redrive()
    assert run.status() == "FAILED"
    run.redrive()
    assert run.status() == "SUCCEEDED"
    redriven = [e for e in run.events if e["type"] == "ExecutionRedriven"]
    assert [e["executionRedrivenEventDetails"] for e in redriven] == [
        {"redriveCount": 1},
        {"redriveCount": 2},
    ]
    assert [c.parameters["count"] for c in run.scheduled] == [0, 1, 2]


def test_a_journal_with_redrives_replays_to_the_same_history() -> None:
    answers = Answers({"B": 2, "item1": 1})
    definition = machine(
        (
            "Both",
            {
                "Type": "Parallel",
                "Branches": [
                    branch(("A", task("A", End=True))),
                    branch(("B", task("B", End=True))),
                ],
                "ResultPath": "$.both",
                "Next": "Each",
            },
        ),
        (
            "Each",
            {
                "Type": "Map",
                "ItemsPath": "$.items",
                "Parameters": {"name.$": "States.Format('item{}', $$.Map.Item.Value)"},
                "ItemProcessor": branch(
                    ("W", task("W", Parameters={"name.$": "$.name"}, End=True))
                ),
                "End": True,
            },
        ),
        TimeoutSeconds=100000,
    )
    run = Run(definition, {"items": [0, 1, 2]}, answers).start().redrive().redrive().redrive()
    assert run.status() == "SUCCEEDED"
    assert types(run.events).count("ExecutionRedriven") == 3

    fresh = new_interpreter(definition, {"items": [0, 1, 2]})
    replayed: list[dict[str, Any]] = []
    for signal, at in run.trace.journal:
        replayed.extend(fresh.activate(signal, at).events)
    assert replayed == run.events
    assert fresh.status == run.interpreter.status


def test_a_redrive_of_a_running_or_succeeded_execution_changes_nothing() -> None:
    running = new_interpreter(machine(("T", task("T", End=True))))
    running.activate(Start(), T0)
    assert running.activate(Redrive(), T0).events == []
    assert not running.is_finished

    done = Run(machine(("P", {"Type": "Pass", "End": True})), {}).start()
    assert done.status() == "SUCCEEDED"
    decision = done.interpreter.activate(Redrive(), T0 + LATER)
    assert (decision.events, decision.commands) == ([], [])


def test_a_state_queued_when_the_execution_was_stopped_is_entered_not_the_one_before() -> None:
    # More Pass states than one activation enters: it yields with the next one queued, and a
    # StopExecution arrives before it goes on.
    count = TRANSITION_BUDGET + 5
    states = [
        (f"P{i}", {"Type": "Pass", **({"Next": f"P{i + 1}"} if i < count - 1 else {"End": True})})
        for i in range(count)
    ]
    run = Run(machine(*states), {})
    run.trace.feed(Start(), T0)
    assert run.interpreter.has_more
    run.stop()
    assert run.status() == "ABORTED"
    # the last state entered (and exited): the next one was only queued
    assert entered(run.events)[-1] == f"P{TRANSITION_BUDGET - 1}"

    run.redrive()
    assert run.status() == "SUCCEEDED"
    assert entered(run.since_redrive())[0] == f"P{TRANSITION_BUDGET}"
    assert len(entered(run.events)) == count

"""A driver for the pure interpreter, for tests: it plays the executor's part on a virtual
timeline, answering tasks as the test says and firing timers in the order they fall due."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from redstep.asl.parse import parse_definition
from redstep.engine.commands import (
    CancelTimer,
    Command,
    CompleteExecution,
    ScheduleTask,
    StartTimer,
)
from redstep.engine.context import ExecutionInfo
from redstep.engine.interpreter import Interpreter
from redstep.engine.signals import Continue, Signal, Start, TaskStarted, TimerFired

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
EXECUTION_ARN = "arn:aws:states:us-east-1:123456789012:execution:Machine:run-1"

#: How a test answers a scheduled task: a signal now, or None to leave it running.
Answer = Callable[[ScheduleTask], Signal | None]


@dataclass
class Trace:
    """Everything one driven execution did."""

    interpreter: Interpreter
    events: list[dict[str, Any]] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    journal: list[tuple[Signal, datetime]] = field(default_factory=list)
    #: after each signal: the tasks and timers the execution then waited on
    pending: list[tuple[list[ScheduleTask], list[StartTimer]]] = field(default_factory=list)

    @property
    def types(self) -> list[str]:
        return [event["type"] for event in self.events]

    @property
    def completion(self) -> CompleteExecution:
        done = [c for c in self.commands if isinstance(c, CompleteExecution)]
        assert len(done) == 1, self.types
        return done[0]

    @property
    def output(self) -> Any:
        assert self.completion.status == "SUCCEEDED", self.completion
        assert self.completion.output is not None
        return json.loads(self.completion.output)

    def event(self, event_type: str, occurrence: int = 0) -> dict[str, Any]:
        return [e for e in self.events if e["type"] == event_type][occurrence]

    def details(self, event_type: str, occurrence: int = 0) -> dict[str, Any]:
        event = self.event(event_type, occurrence)
        return next(value for key, value in event.items() if key.endswith("EventDetails"))

    def feed(self, signal: Signal, at: datetime) -> None:
        self.journal.append((signal, at))
        decision = self.interpreter.activate(signal, at)
        self.events.extend(decision.events)
        self.commands.extend(decision.commands)
        self.pending.append((self.interpreter.pending_tasks, self.interpreter.pending_timers))


def new_interpreter(
    definition: dict[str, Any], given: Any = None, seed: int = 7, max_events: int | None = None
) -> Interpreter:
    info = ExecutionInfo(
        execution_arn=EXECUTION_ARN,
        name="run-1",
        state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:Machine",
        state_machine_name="Machine",
        role_arn="arn:aws:iam::123456789012:role/test",
        input=json.dumps({} if given is None else given),
        start_time=T0,
        seed=seed,
    )
    return Interpreter(parse_definition(json.dumps(definition)), info, max_events)


def drive(
    definition: dict[str, Any],
    given: Any = None,
    answer: Answer | None = None,
    stop_at: int | None = None,
) -> Trace:
    """Run an execution to its end: each task started, then answered by `answer`; timers fired
    in due order."""
    trace = Trace(new_interpreter(definition, given))
    timers: dict[int, datetime] = {}
    answers: deque[Signal] = deque()
    seen = 0
    now = T0
    trace.feed(Start(), now)
    while not trace.interpreter.is_finished:
        for command in trace.commands[seen:]:
            match command:
                case StartTimer(timer_id=timer_id, due=due):
                    timers[timer_id] = due
                case CancelTimer(timer_id=timer_id):
                    timers.pop(timer_id, None)
                case ScheduleTask() if answer is not None:
                    signal = answer(command)
                    if signal is not None:
                        answers.extend((TaskStarted(command.task_id), signal))
        seen = len(trace.commands)
        if stop_at is not None and len(trace.journal) >= stop_at:
            break
        if trace.interpreter.has_more:
            trace.feed(Continue(), now)
        elif answers:
            trace.feed(answers.popleft(), now)
        elif timers:
            timer_id = min(timers, key=lambda key: (timers[key], key))
            now = max(now, timers.pop(timer_id))
            trace.feed(TimerFired(timer_id), now)
        else:
            break
    return trace

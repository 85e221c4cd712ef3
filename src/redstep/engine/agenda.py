"""What an execution waits on — its timers and its tasks — and the commands that keep the
outside world in step with them.

Every change goes through here, so a timer set or a task scheduled is always also a command, and
one cancelled is always a cancelling command: the executor's view never drifts from the
interpreter's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from redstep.engine.commands import CancelTask, CancelTimer, Command, ScheduleTask, StartTimer
from redstep.engine.flows import Flow


@dataclass(slots=True)
class Task:
    """A scheduled task and the timers that bound it (TimeoutSeconds, HeartbeatSeconds)."""

    flow: Flow
    command: ScheduleTask
    timeout_timer: int | None = None
    heartbeat_timer: int | None = None
    is_submitted: bool = False  # its call went through; it waits for its answer
    submission: Any = None  # what that call answered
    was_interrupted: bool = False  # run again once after redstep stopped while it ran


@dataclass(slots=True)
class Timer:
    flow: Flow | None  # None for the execution's own TimeoutSeconds
    due: datetime
    fire: Callable[[], None] = field(repr=False)


class Agenda:
    """Timers and tasks by id; `commands` collects what one activation asks of the world."""

    def __init__(self) -> None:
        self.commands: list[Command] = []
        self.tasks: dict[int, Task] = {}
        self.timers: dict[int, Timer] = {}
        self._next_task_id = 1
        self._next_timer_id = 1

    def next_task_id(self) -> int:
        task_id = self._next_task_id
        self._next_task_id += 1
        return task_id

    @property
    def next_task_number(self) -> int:
        """The id the next scheduled task will get: every lower id (from 1) was scheduled."""
        return self._next_task_id

    def schedule(self, flow: Flow, command: ScheduleTask) -> Task:
        task = Task(flow, command)
        self.tasks[command.task_id] = task
        self.commands.append(command)
        return task

    def dispatch_again(self, task: Task) -> None:
        """Tell the world to run a task it lost track of (redstep stopped while it ran): from
        the start, or, once its call went through, to join what the call started."""
        self.commands.append(dataclasses.replace(task.command, submission=task.submission))

    def end_task(self, task_id: int) -> Task | None:
        """Stop waiting on a task (it answered, or timed out): clear its timers."""
        task = self.tasks.pop(task_id, None)
        if task is not None:
            for timer_id in (task.timeout_timer, task.heartbeat_timer):
                if timer_id is not None:
                    self.cancel_timer(timer_id)
        return task

    def cancel_task(self, task_id: int) -> Task | None:
        """End a task and tell the world to stop it."""
        task = self.end_task(task_id)
        if task is not None:
            self.commands.append(CancelTask(task_id))
        return task

    def start_timer(self, flow: Flow | None, due: datetime, fire: Callable[[], None]) -> int:
        timer_id = self._next_timer_id
        self._next_timer_id += 1
        self.timers[timer_id] = Timer(flow, due, fire)
        self.commands.append(StartTimer(timer_id, due))
        return timer_id

    def cancel_timer(self, timer_id: int) -> None:
        if self.timers.pop(timer_id, None) is not None:
            self.commands.append(CancelTimer(timer_id))

    def pop_timer(self, timer_id: int) -> Timer | None:
        """The timer that fired, no longer pending."""
        return self.timers.pop(timer_id, None)

    def cancel_all(self) -> None:
        for timer_id in list(self.timers):
            self.cancel_timer(timer_id)
        for task_id in list(self.tasks):
            self.cancel_task(task_id)

    @property
    def pending_tasks(self) -> list[ScheduleTask]:
        return [task.command for task in self.tasks.values()]

    @property
    def pending_timers(self) -> list[StartTimer]:
        return [StartTimer(timer_id, timer.due) for timer_id, timer in self.timers.items()]

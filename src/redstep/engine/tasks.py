"""Task states: scheduling a task, its timers, and its answer (or its loss in a restart).

`TaskSteps` is part of the interpreter (mixed into `Interpreter`, as `ContainerSteps` is);
`TaskHost` names what it uses of the rest of the interpreter.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from redstep.asl.errors import Failure, StatesError
from redstep.asl.model import State, TaskState
from redstep.asl.paths import to_json
from redstep.asl.resources import is_callback
from redstep.engine.agenda import Task
from redstep.engine.commands import MAP_RUN_RESOURCE, ScheduleTask
from redstep.engine.containers import Host
from redstep.engine.events import payload, resource_parts, task_event
from redstep.engine.flows import Flow
from redstep.engine.inspection import Stage
from redstep.engine.resolve import task_seconds
from redstep.engine.retry import find_retrier

#: Why a task in flight when redstep stopped is recorded as failed (see `_task_interrupted`).
INTERRUPTED_CAUSE = (
    "redstep stopped while this task was in flight: whether it did its work is unknown"
)

#: The largest input, output or result a state may pass on (AWS's 256 KiB quota).
MAX_PAYLOAD_BYTES = 256 * 1024


class TaskHost(Host, Protocol):
    """What a Task needs of the interpreter it is part of, beyond what Parallel and Map need."""

    _now: datetime

    def _inspect(self, flow: Flow, stage: Stage, value: Any) -> None: ...

    def _map_run_ended(self, task: Task, result: Any, failure: Failure | None) -> None: ...

    # the steps below, used by one another
    def _scheduled(self, command: ScheduleTask) -> dict[str, Any]: ...

    def _heartbeat_timer(self, task: Task) -> int: ...

    def _end_task(self, task_id: int) -> Task | None: ...

    def _task_timed_out(self, task_id: int) -> None: ...

    def _task_failed(self, task: Task, step: str, failure: Failure) -> None: ...


class TaskSteps:
    """The Task half of the interpreter."""

    def _run_task(self: TaskHost, flow: Flow, state: TaskState) -> None:
        effective = self._input(flow, state.filters)
        task_id = self._agenda.next_task_id()
        flow.task_id = task_id
        parameters = (
            effective
            if state.parameters is None
            else state.parameters.evaluate(effective, self._scope(flow))
        )
        self._inspect(flow, Stage.AFTER_PARAMETERS, parameters)
        self._inspect(flow, Stage.AFTER_ARGUMENTS, parameters)
        scope = self._scope(flow)
        timeouts = state.timeouts
        timeout = task_seconds(
            timeouts.timeout_seconds,
            timeouts.timeout_seconds_path,
            "TimeoutSecondsPath",
            effective,
            scope,
        )
        heartbeat = task_seconds(
            timeouts.heartbeat_seconds,
            timeouts.heartbeat_seconds_path,
            "HeartbeatSecondsPath",
            effective,
            scope,
        )
        command = ScheduleTask(
            task_id,
            state.name,
            state.resource,
            parameters,
            timeout,
            heartbeat,
            self._task_token(task_id),
        )
        self._emit(flow, *task_event(command.resource, "Scheduled", self._scheduled(command)))
        task = self._agenda.schedule(flow, command)
        if timeout is not None:
            task.timeout_timer = self._agenda.start_timer(
                flow,
                self._now + timedelta(seconds=timeout),
                lambda: self._task_timed_out(task_id),
            )
        if heartbeat is not None:
            task.heartbeat_timer = self._heartbeat_timer(task)

    def _scheduled(self: TaskHost, command: ScheduleTask) -> dict[str, Any]:
        details: dict[str, Any] = {
            "region": self.info.region,
            "parameters": to_json(command.parameters),
        }
        if command.timeout_seconds is not None:
            details["timeoutInSeconds"] = command.timeout_seconds
        if command.heartbeat_seconds is not None:
            details["heartbeatInSeconds"] = command.heartbeat_seconds
        return details

    def _heartbeat_timer(self: TaskHost, task: Task) -> int:
        assert task.command.heartbeat_seconds is not None
        task_id = task.command.task_id
        return self._agenda.start_timer(
            task.flow,
            self._now + timedelta(seconds=task.command.heartbeat_seconds),
            lambda: self._task_timed_out(task_id),
        )

    def _end_task(self: TaskHost, task_id: int) -> Task | None:
        """The task an answer is for, no longer waited on; None if nothing waits for it."""
        task = self._agenda.end_task(task_id)
        if task is None or not task.flow.is_alive:
            return None
        task.flow.task_id = None
        return task

    def _task_interrupted(self: TaskHost, task_id: int) -> None:
        """redstep stopped while the task was in flight: run it again, once.

        A callback whose call went through still waits for its token, and a `.sync` job is
        joined again (its runner is told what the call started). Any other task may or may not
        have done its work, so it runs again with the same token (at least once): the history
        records the lost attempt as a TaskFailed with States.TaskFailed and the new one as a
        TaskScheduled; its TimeoutSeconds and HeartbeatSeconds run on from the first attempt. A
        state whose Retry names that error decides for itself, and a task interrupted a second
        time fails with it.
        """
        task = self._agenda.tasks.get(task_id)
        if task is None or not task.flow.is_alive:
            return
        if task.is_submitted or task.command.resource == MAP_RUN_RESOURCE:
            # a map run is joined again: its runner finds the children it already started
            if not is_callback(task.command.resource):
                self._agenda.dispatch_again(task)
            return
        state = task.flow.state
        assert isinstance(state, TaskState)
        failure = Failure(StatesError.TASK_FAILED.value, INTERRUPTED_CAUSE)
        if task.was_interrupted or find_retrier(state.retry, failure.error) is not None:
            ended = self._end_task(task_id)
            assert ended is not None
            self._task_failed(ended, "Failed", failure)
            return
        task.was_interrupted = True
        self._emit(task.flow, *task_event(state.resource, "Failed", error_details(failure)))
        self._emit(
            task.flow, *task_event(state.resource, "Scheduled", self._scheduled(task.command))
        )
        self._agenda.dispatch_again(task)

    def _task_timed_out(self: TaskHost, task_id: int) -> None:
        """TimeoutSeconds or HeartbeatSeconds ran out: both are States.Timeout, with no cause."""
        task = self._agenda.cancel_task(task_id)
        if task is not None and task.flow.is_alive:
            task.flow.task_id = None
            self._task_failed(task, "TimedOut", Failure(StatesError.TIMEOUT.value, None))

    def _task_succeeded(self: TaskHost, task: Task, output: Any) -> None:
        if task.command.resource == MAP_RUN_RESOURCE:
            self._map_run_ended(task, output, None)
            return
        flow = task.flow
        state = flow.state
        assert isinstance(state, TaskState)
        text = to_json(output)
        too_large = size_failure(text, state)
        if too_large is not None:  # AWS refuses the result before ResultSelector sees it
            self._state_failed(flow, too_large)
            return
        self._emit(flow, *task_event(state.resource, "Succeeded", payload(text, "output")))
        self._guarded(
            flow, self._finish_state, state.results, state.filters, state.transition, output
        )

    def _task_failed(self: TaskHost, task: Task, step: str, failure: Failure) -> None:
        """The task failed (`step` Failed) or ran out of time (TimedOut)."""
        if task.command.resource == MAP_RUN_RESOURCE:
            self._map_run_ended(task, None, failure)
            return
        flow = task.flow
        assert isinstance(flow.state, TaskState)
        self._emit(flow, *task_event(flow.state.resource, step, error_details(failure)))
        self._state_failed(flow, failure)


def size_failure(text: str, state: State) -> Failure | None:
    """States.DataLimitExceeded when JSON text is over 256 KiB, naming the state (or, for a
    Task, its resource) as AWS does."""
    if len(text) <= MAX_PAYLOAD_BYTES // 4 or len(text.encode()) <= MAX_PAYLOAD_BYTES:
        return None
    name = state.name
    if isinstance(state, TaskState):
        resource_type, resource = resource_parts(state.resource)
        name = resource if resource.startswith("arn:") else resource_type
    return Failure(
        StatesError.DATA_LIMIT_EXCEEDED.value,
        f"The state/task '{name}' returned a result with a size exceeding the maximum number "
        "of bytes service limit.",
    )


def error_details(failure: Failure) -> dict[str, str]:
    """`error` and `cause` as event details carry them: absent, never null."""
    details = {}
    if failure.error is not None:
        details["error"] = failure.error
    if failure.cause is not None:
        details["cause"] = failure.cause
    return details

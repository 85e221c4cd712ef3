"""What an execution asks the outside world to do: the outputs of the interpreter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypedDict

#: The resource of the agenda task that runs a distributed Map's map run (see `MapRunRequest`).
MAP_RUN_RESOURCE = "arn:aws:states:::map-run"


class ExecutionStatus(StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    ABORTED = "ABORTED"
    PENDING_REDRIVE = "PENDING_REDRIVE"


@dataclass(frozen=True, slots=True)
class ScheduleTask:
    """Run a Task state's resource with its parameters; answer with Task* signals."""

    task_id: int
    state_name: str
    resource: str
    parameters: Any
    timeout_seconds: int | None
    heartbeat_seconds: int | None
    task_token: str
    submission: Any = None
    """When the task is dispatched again after a restart: what its call answered before (a
    `.sync` child's start), so that the runner joins what it started instead of calling again."""


class MapRunRequest(TypedDict):
    """The parameters of a MAP_RUN_RESOURCE task: a distributed Map's settings, resolved.

    `items` is None when an ItemReader reads them; `input` is the state's effective input (what
    ItemSelector's `$` and BatchInput see), `variables` the workflow variables ItemSelector reads
    (the children, separate executions, see none). The map run answers with the state's result (the
    children's outputs in item order, or the ResultWriter's description), or fails.
    """

    mapRunArn: str
    stateName: str
    executionType: str
    input: Any
    variables: dict[str, Any]
    items: list[Any] | None
    itemReader: dict[str, Any] | None
    itemBatcher: dict[str, Any] | None
    resultWriter: dict[str, Any] | None
    maxConcurrency: int
    toleratedFailureCount: int | None
    toleratedFailurePercentage: float | None
    redriveCount: int
    """0 for a new map run; n for the n-th redrive of `mapRunArn`, which ran before."""


@dataclass(frozen=True, slots=True)
class CancelTask:
    task_id: int


@dataclass(frozen=True, slots=True)
class StartTimer:
    """Deliver TimerFired(timer_id) at `due`."""

    timer_id: int
    due: datetime


@dataclass(frozen=True, slots=True)
class CancelTimer:
    timer_id: int


@dataclass(frozen=True, slots=True)
class CompleteExecution:
    """The execution ended; `output` is JSON text when it succeeded."""

    status: ExecutionStatus
    output: str | None = None
    error: str | None = None
    cause: str | None = None


Command = ScheduleTask | CancelTask | StartTimer | CancelTimer | CompleteExecution

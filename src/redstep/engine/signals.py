"""What the outside world tells an execution: the inputs of the deterministic interpreter.

Every signal the interpreter has consumed is journaled with the time it was consumed at, so that
feeding the same signals to a fresh interpreter reproduces the same history and commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Start:
    """Begin the execution with the input recorded when it was started."""


@dataclass(frozen=True, slots=True)
class Continue:
    """Carry on after an activation stopped at its transition budget."""


@dataclass(frozen=True, slots=True)
class TaskStarted:
    task_id: int


@dataclass(frozen=True, slots=True)
class TaskSucceeded:
    task_id: int
    output: Any


@dataclass(frozen=True, slots=True)
class TaskFailed:
    task_id: int
    error: str | None
    cause: str | None


@dataclass(frozen=True, slots=True)
class TaskSubmitted:
    """A callback (`.waitForTaskToken`) or job (`.sync`) task's call went through: the task now
    waits for its answer; `output` is what the call returned."""

    task_id: int
    output: Any


@dataclass(frozen=True, slots=True)
class TaskHeartbeat:
    task_id: int


@dataclass(frozen=True, slots=True)
class TaskInterrupted:
    """redstep stopped while the task was in flight: nothing knows whether its work was done."""

    task_id: int


@dataclass(frozen=True, slots=True)
class TimerFired:
    timer_id: int


@dataclass(frozen=True, slots=True)
class Stop:
    """StopExecution: abort with an optional error and cause."""

    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True, slots=True)
class Redrive:
    """RedriveExecution: a FAILED, TIMED_OUT or ABORTED execution runs again from the states
    that did not succeed (see `redstep.engine.redrive`). It carries nothing: the interpreter
    counts its redrives itself, so that a replay numbers them the same."""


Signal = (
    Start
    | Continue
    | TaskStarted
    | TaskSubmitted
    | TaskSucceeded
    | TaskFailed
    | TaskHeartbeat
    | TaskInterrupted
    | TimerFired
    | Stop
    | Redrive
)

_KINDS: dict[str, type[Signal]] = {
    cls.__name__: cls
    for cls in (
        Start,
        Continue,
        TaskStarted,
        TaskSubmitted,
        TaskSucceeded,
        TaskFailed,
        TaskHeartbeat,
        TaskInterrupted,
        TimerFired,
        Stop,
        Redrive,
    )
}


def signal_to_record(signal: Signal) -> tuple[str, dict[str, Any]]:
    """A signal as (kind, fields), the form the journal stores."""
    return type(signal).__name__, {
        name: getattr(signal, name) for name in type(signal).__dataclass_fields__
    }


def signal_from_record(kind: str, fields: dict[str, Any]) -> Signal:
    """The signal a journal record holds."""
    return _KINDS[kind](**fields)

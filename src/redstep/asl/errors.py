"""The States Language's error names and the failure value every state can end with.

A failure is data (`Failure`), recorded in the history and matched by Retry and Catch. Inside the
pure evaluation of one state a failure travels as `StatesFailure`; the engine turns it back into
a `Failure` at the state's boundary, so no Python exception crosses a transition.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class StatesError(StrEnum):
    """The predefined error names (States Language spec, "Errors")."""

    ALL = "States.ALL"
    BRANCH_FAILED = "States.BranchFailed"
    DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"
    EXCEED_TOLERATED_FAILURE_THRESHOLD = "States.ExceedToleratedFailureThreshold"
    HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
    INTRINSIC_FAILURE = "States.IntrinsicFailure"
    ITEM_READER_FAILED = "States.ItemReaderFailed"
    NO_CHOICE_MATCHED = "States.NoChoiceMatched"
    PARAMETER_PATH_FAILURE = "States.ParameterPathFailure"
    PERMISSIONS = "States.Permissions"
    QUERY_EVALUATION_ERROR = "States.QueryEvaluationError"
    RESULT_PATH_MATCH_FAILURE = "States.ResultPathMatchFailure"
    RESULT_WRITER_FAILED = "States.ResultWriterFailed"
    RUNTIME = "States.Runtime"
    TASK_FAILED = "States.TaskFailed"
    TIMEOUT = "States.Timeout"


#: Errors that end the execution whatever its Retry and Catch say. AWS documents that a
#: States.Runtime error is never retried or caught. (It documents the same for
#: States.DataLimitExceeded, yet executions recorded on AWS show a Task's DataLimitExceeded caught,
#: by name and by States.ALL; redstep follows the recordings.)
TERMINAL_ERRORS = frozenset({StatesError.RUNTIME})


@dataclass(frozen=True, slots=True)
class Failure:
    """An error name and a cause, either of which AWS allows to be absent."""

    error: str | None
    cause: str | None = None


class StatesFailure(Exception):
    """A failure raised while one state's input or output is being computed."""

    def __init__(self, error: str, cause: str | None = None) -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.failure = Failure(error, cause)


def is_terminal(error: str | None) -> bool:
    """Whether no Retry or Catch may handle `error`."""
    return error in TERMINAL_ERRORS


def matches(error_equals: Iterable[str], error: str | None) -> bool:
    """Whether a Retrier's or Catcher's ErrorEquals list handles `error`.

    States.ALL matches every error but the terminal one; States.TaskFailed matches every error
    but States.Timeout (and the terminal one), as the spec defines the two wildcards.
    """
    if is_terminal(error):
        return False
    name = error or ""
    for candidate in error_equals:
        if candidate == name or candidate == StatesError.ALL:
            return True
        if candidate == StatesError.TASK_FAILED and name != StatesError.TIMEOUT:
            return True
    return False

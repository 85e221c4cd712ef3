"""What a state computed between its input and its output, for TestState's DEBUG and TRACE views.

The interpreter reports each stage of a state's data flow (its raw input, after InputPath, after
Parameters, what a Task hands its resource, its raw result, after ResultSelector, after
ResultPath, the workflow variables as the state leaves) and how it handled a failure (the
failure, the retrier that will retry it, the catcher that caught it) to an `Inspector`, when it
was given one. It reports every stage whatever the state's query language: which of them a
JSONPath or a JSONata state shows is the reader's choice (TestState shows afterParameters for
the one, afterArguments for the other). `StateInspection` keeps what one named state reported,
each value as the JSON text the wire carries. Executions run without an inspector and pay
nothing for this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from redstep.asl.errors import Failure
from redstep.asl.paths import to_json


class Stage(StrEnum):
    """A stage of a state's data flow, named as TestState's `inspectionData` names it."""

    INPUT = "input"
    AFTER_INPUT_PATH = "afterInputPath"
    AFTER_PARAMETERS = "afterParameters"
    #: What a Task hands its resource: a JSONata state's Arguments (the state's input when it
    #: has none); in a JSONPath state the same value as AFTER_PARAMETERS.
    AFTER_ARGUMENTS = "afterArguments"
    RESULT = "result"
    AFTER_RESULT_SELECTOR = "afterResultSelector"
    AFTER_RESULT_PATH = "afterResultPath"
    #: Every variable the state's scope holds as the state leaves, its Assign done.
    VARIABLES = "variables"


class Inspector(Protocol):
    """Told by the interpreter what a state computes and how it handles a failure."""

    def stage(self, state: str, stage: Stage, value: Any) -> None: ...

    def failed(self, state: str, failure: Failure) -> None: ...

    def retrying(self, state: str, retrier: int, delay: float) -> None: ...

    def caught(self, state: str, catcher: int) -> None: ...


@dataclass(slots=True)
class StateInspection:
    """What the state named `state` reported, the first time it reported each thing."""

    state: str
    stages: dict[Stage, str] = field(default_factory=dict)
    failure: Failure | None = None
    retry: tuple[int, float] | None = None  # (retrier index, backoff in seconds)
    catch: int | None = None  # catcher index

    def stage(self, state: str, stage: Stage, value: Any) -> None:
        """Keep a stage's value as JSON text (`to_json` copies it: later changes don't show)."""
        if state == self.state and stage not in self.stages:
            self.stages[stage] = to_json(value)

    def failed(self, state: str, failure: Failure) -> None:
        if state == self.state and self.failure is None:
            self.failure = failure

    def retrying(self, state: str, retrier: int, delay: float) -> None:
        if state == self.state and self.retry is None:
            self.retry = (retrier, delay)

    def caught(self, state: str, catcher: int) -> None:
        if state == self.state and self.catch is None:
            self.catch = catcher

"""The running part of a Parallel or Map state: its children and what they returned."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from redstep.asl.errors import StatesError, StatesFailure
from redstep.asl.model import ToleratedFailure
from redstep.asl.paths import Path, display

if TYPE_CHECKING:
    from redstep.engine.interpreter import Flow


class ParallelRun:
    """A Parallel state's branches; results keep the branches' order."""

    __slots__ = ("children", "cursor", "flow", "remaining", "results")

    def __init__(self, flow: Flow, branches: int) -> None:
        self.flow = flow
        self.children: list[Flow] = []
        self.results: list[Any] = [None] * branches
        self.remaining = branches
        self.cursor = flow.last_event


class MapRun:
    """A Map state's iterations: at most `max_concurrency` run at once, in index order."""

    __slots__ = (
        "active",
        "completed",
        "cursor",
        "effective",
        "failures",
        "flow",
        "items",
        "last_ended",
        "max_concurrency",
        "next_index",
        "results",
        "tolerated",
        "tolerated_configured",
    )

    def __init__(
        self,
        flow: Flow,
        items: list[Any],
        effective: Any,
        max_concurrency: int,
        tolerated: int | None,
        started: int,
    ) -> None:
        self.flow = flow
        self.items = items
        self.effective = effective
        self.max_concurrency = max_concurrency
        self.tolerated = tolerated if tolerated is not None else 0
        self.tolerated_configured = tolerated is not None
        self.results: list[Any] = [None] * len(items)
        self.active: dict[int, Flow] = {}
        self.next_index = 0
        self.completed = 0
        self.failures = 0
        self.cursor = started  # where the next MapIterationStarted points (AWS's numbering)
        self.last_ended = started

    @property
    def has_room(self) -> bool:
        return self.next_index < len(self.items) and len(self.active) < self.max_concurrency


def tolerated_failures(
    tolerated: ToleratedFailure, total: int, select: Callable[[Path], Any]
) -> int | None:
    """How many iterations may fail before the Map fails; None when the state sets no limit.

    With both a count and a percentage the stricter one wins. The …Path forms are read from the
    state's input and checked as AWS checks them.
    """
    count = tolerated.count
    if tolerated.count_path is not None:
        value = select(tolerated.count_path)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise StatesFailure(
                StatesError.RUNTIME,
                f'The ToleratedFailureCountPath field refers to value "{display(value)}" which '
                f"is not a valid integer: {tolerated.count_path.text}",
            )
        count = value
    percentage = tolerated.percentage
    if tolerated.percentage_path is not None:
        value = select(tolerated.percentage_path)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise StatesFailure(
                StatesError.RUNTIME,
                f'The ToleratedFailurePercentagePath field refers to value "{display(value)}" '
                f"which is not a valid float: {tolerated.percentage_path.text}",
            )
        if not 0 <= value <= 100:
            raise StatesFailure(
                StatesError.RUNTIME, "ToleratedFailurePercentage must be between 0 and 100."
            )
        percentage = value
    limits = []
    if count is not None:
        limits.append(count)
    if percentage is not None:
        limits.append(math.floor(total * percentage / 100))
    return min(limits) if limits else None

"""Paths of control through a state machine: the execution itself, a Parallel branch, a Map
iteration (`Flow`), and the running part of a Parallel or Map state (`ParallelRun`, `MapRun`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from redstep.asl.model import State, StateMachine


class Flow:
    """One path of control through a StateMachine: the execution, a branch, an iteration."""

    __slots__ = (
        "assigned",
        "attempts",
        "container",
        "data",
        "entered_at",
        "entered_from",
        "entered_id",
        "index",
        "is_alive",
        "last_event",
        "machine",
        "parent",
        "state",
        "task_id",
        "timer_id",
        "variables",
        "visible",
    )

    def __init__(
        self,
        machine: StateMachine,
        parent: ParallelRun | MapRun | None,
        index: int,
        last_event: int,
    ) -> None:
        self.machine = machine
        self.parent = parent
        self.index = index
        self.last_event = last_event  # where this flow's next event points (previousEventId)
        self.is_alive = True
        self.state: State | None = None
        self.data: Any = None  # the current state's raw input
        self.entered_id = 0
        self.entered_from = 0  # the previousEventId of the state's Entered event
        self.entered_at: datetime | None = None
        self.attempts: dict[int, int] = {}  # retrier index -> retries made in the current state
        self.container: ParallelRun | MapRun | None = None
        self.task_id: int | None = None
        self.timer_id: int | None = None
        self.variables: dict[str, Any] = {}  # the variables this flow's scope assigned
        self.assigned: dict[str, Any] | None = None  # what the current state assigns on exit
        # what visible_variables merged: the outer flows wait in their Parallel or Map, so only
        # this flow's own assignments change it
        self.visible: dict[str, Any] | None = None

    def visible_variables(self) -> dict[str, Any]:
        """The variables this flow's states read: its own over those of the flows around it
        (a branch or an iteration reads the outer scopes' variables, as they were when it
        started, and never assigns them)."""
        if self.parent is None:
            return self.variables
        if self.visible is None:
            outer = self.parent.flow.visible_variables()
            self.visible = (
                {**outer, **self.variables}
                if outer and self.variables
                else (outer or self.variables)
            )
        return self.visible

    def assign(self, values: dict[str, Any]) -> None:
        """Variables a state assigned, as it exits: new values replace old ones."""
        self.variables.update(values)
        self.visible = None


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

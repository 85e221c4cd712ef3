"""How far an execution got, state by state, from its history events: what the graph colours.

`ExecutionProgress` is fed the events in order (as GetExecutionHistory returns them) and says,
for each, which states' status it changed. A state is *running* while one of its visits is (a
loop or a Map enters a state many times); once none is, its status is the gravest outcome of
its visits: failed, then cancelled, then caught (its error went to a Catcher), then succeeded.

An event without a state's name belongs to the state whose event it follows (`previousEventId`):
a task's events follow its state's entry. Each visit runs inside a Parallel's or a Map's visit
(or at the top): the one whose event its entry follows, or the one its predecessor ran inside.
A Parallel's or Map's own events (…StateFailed, …StateStarted) may follow an event deep inside
it; they belong to the innermost running Parallel or Map visit around that event that has not
failed already (an outer group's failure follows the inner one's). When one fails, is aborted or
starts again (a retry), what still runs inside that visit ends: failed if it caused the failure,
else cancelled, as AWS cancels a failed Parallel's other branches; a state whose error made its
group fail with no failure event of its own is the one the failure follows. The `…StateAborted`
events point at the failure, not at the state aborted, and are nobody's. Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class StateStatus(StrEnum):
    NOT_STARTED = "not-started"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CAUGHT = "caught"
    CANCELLED = "cancelled"


GRAVITY = (StateStatus.FAILED, StateStatus.CANCELLED, StateStatus.CAUGHT, StateStatus.SUCCEEDED)
"""Ended visits' outcomes, gravest first: the one a state shows once none of its visits runs."""

TASK_FAILURES = frozenset(
    {
        "ActivityFailed",
        "ActivityScheduleFailed",
        "ActivityTimedOut",
        "LambdaFunctionFailed",
        "LambdaFunctionScheduleFailed",
        "LambdaFunctionStartFailed",
        "LambdaFunctionTimedOut",
        "TaskFailed",
        "TaskStartFailed",
        "TaskSubmitFailed",
        "TaskTimedOut",
        # a JSONata expression failed: it names its state instead of pointing into it
        "EvaluationFailed",
    }
)
TASK_SCHEDULED = frozenset({"ActivityScheduled", "LambdaFunctionScheduled", "TaskScheduled"})
TASK_RESULTS = frozenset({"LambdaFunctionSucceeded", "TaskSucceeded"})
GROUP_FAILURES = frozenset({"MapStateFailed", "ParallelStateFailed"})
GROUP_ABORTS = frozenset({"MapStateAborted", "ParallelStateAborted"})
GROUP_STARTS = frozenset({"MapStateStarted", "ParallelStateStarted"})
GROUP_SUCCESSES = frozenset({"MapStateSucceeded", "ParallelStateSucceeded"})
GROUP_EVENTS = GROUP_FAILURES | GROUP_ABORTS | GROUP_STARTS | GROUP_SUCCESSES
EXECUTION_ENDS = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed attempt of a visit: retried, caught, or the visit's end."""

    event_type: str
    timestamp: datetime
    error: str | None
    cause: str | None


@dataclass(slots=True)
class Visit:
    """One entry into a state, from its …StateEntered event to its …StateExited (if any)."""

    name: str
    state_type: str
    """The state's Type, from its entry event (`Task`, `Parallel`, …)."""
    entered_event_id: int
    entered: datetime
    input: str | None
    exited: datetime | None = None
    output: str | None = None
    status: StateStatus = StateStatus.RUNNING
    failures: list[Failure] = field(default_factory=list)
    retries: int = 0
    """How many failed attempts were followed by another."""
    results: list[str] = field(default_factory=list)
    """The task's results (TaskSucceeded, LambdaFunctionSucceeded output), JSON text."""
    is_failing: bool = False
    """A failure that no retry has followed yet: an exit now means a Catcher caught it."""
    has_started: bool = False
    """A Parallel or Map whose branches or iterations started: starting again is a retry."""
    parent: Visit | None = field(default=None, repr=False)
    """The Parallel's or Map's visit this visit runs inside; None at the top level."""

    @property
    def is_group(self) -> bool:
        return self.state_type in ("Parallel", "Map")

    def is_inside(self, group: Visit) -> bool:
        parent = self.parent
        while parent is not None and parent is not group:
            parent = parent.parent
        return parent is group


class ExecutionProgress:
    """The status of an execution and of each of its states, one history event at a time."""

    def __init__(self, *, keeps_data: bool = True) -> None:
        """Without `keeps_data`, visits keep no input, output or task result (only statuses,
        failures and retries are wanted: a long-lived reader of a large history)."""
        self.keeps_data = keeps_data
        self.execution_status = "RUNNING"
        self.visits: dict[str, list[Visit]] = {}
        self._counts: dict[str, Counter[StateStatus]] = {}
        """State name -> how many of its visits have each status."""
        self._running: dict[int, Visit] = {}
        """The visits running, by their entry's event id."""
        self._visit_of: dict[int, Visit] = {}
        """Event id -> the visit it happened in (or, for a MapIteration… event, its Map's)."""
        self._exits: set[int] = set()
        """The ids of …StateExited events: what follows one happens in another state."""
        self._unexplained: list[Visit] = []
        """Visits that failed with no error of their own: the execution's failure names it."""
        self._before: dict[str, StateStatus] = {}
        """The statuses, before the event being applied, of the states it changes."""

    def status(self, name: str) -> StateStatus:
        """A state's status: running while any visit runs, else its visits' gravest outcome."""
        counts = self._counts.get(name)
        if not counts:
            return StateStatus.NOT_STARTED
        if counts[StateStatus.RUNNING]:
            return StateStatus.RUNNING
        return next(status for status in GRAVITY if counts[status])

    def visit_of(self, event_id: int) -> Visit | None:
        """The visit an event (applied already) happened in, if any."""
        return self._visit_of.get(event_id)

    def step(self, event: Mapping[str, Any]) -> str | None:
        """The state an event (applied already) happened in, if any."""
        visit = self._visit_of.get(event["id"])
        return visit.name if visit is not None else None

    def apply(self, event: Mapping[str, Any]) -> dict[str, StateStatus]:
        """Take the next history event; return the states whose status it changed."""
        self._before = {}
        self._apply(event["type"], event)
        return {
            name: status
            for name, before in self._before.items()
            if (status := self.status(name)) != before
        }

    def _apply(self, kind: str, event: Mapping[str, Any]) -> None:
        event_id: int = event["id"]
        timestamp: datetime = event["timestamp"]
        previous: int = event.get("previousEventId", 0)
        if kind.endswith("StateEntered"):
            self._enter(kind, event)
            return
        if kind in EXECUTION_ENDS:
            self.execution_status = EXECUTION_ENDS[kind]
            self._end_running(event)
            return
        if kind == "ExecutionRedriven":  # it runs again; its states' new visits follow
            self.execution_status = "RUNNING"
            return
        if kind.startswith("MapIteration"):
            self._map_iteration(kind, event_id, previous)
            return
        if kind.endswith("StateExited"):
            visit = self._exiting(event["stateExitedEventDetails"]["name"], previous)
        elif kind in GROUP_EVENTS:
            visit = self._group_visit(kind, previous)
        elif kind.endswith("StateAborted"):
            visit = None  # it points at the failure that aborted its state, not at that state
        elif kind == "EvaluationFailed":
            visit = self._running_visit(event["evaluationFailedEventDetails"]["state"])
        else:
            visit = None if previous in self._exits else self._visit_of.get(previous)
        if visit is None:
            return
        self._visit_of[event_id] = visit
        if kind.endswith("StateExited"):
            self._exits.add(event_id)
            visit.exited = timestamp
            if self.keeps_data:
                visit.output = event["stateExitedEventDetails"].get("output")
            if visit.is_failing:  # caught: no later failure of the execution explains it
                self._unexplained = [
                    other
                    for other in self._unexplained
                    if other is not visit and not other.is_inside(visit)
                ]
            self._set(visit, StateStatus.CAUGHT if visit.is_failing else StateStatus.SUCCEEDED)
            return
        if kind in TASK_FAILURES or kind in GROUP_FAILURES:
            details = event_details(event)
            visit.failures.append(
                Failure(kind, timestamp, details.get("error"), details.get("cause"))
            )
            visit.is_failing = True
            if kind in GROUP_FAILURES:
                if details.get("error") is None:  # AWS's carry none: the execution's may
                    self._unexplained.append(visit)
                self._blame(previous, visit)
                self._end_inside(visit)
        elif kind in GROUP_ABORTS:
            self._end_inside(visit)
        elif kind in GROUP_STARTS:
            if visit.has_started:  # a retry: what the last attempt left running ends
                self._end_inside(visit)
                visit.retries += 1
                visit.is_failing = False
            visit.has_started = True
        elif kind in TASK_SCHEDULED and visit.is_failing:
            visit.is_failing = False
            visit.retries += 1
        elif kind in TASK_RESULTS and self.keeps_data:
            output = event_details(event).get("output")
            if output is not None:
                visit.results.append(output)

    def _enter(self, kind: str, event: Mapping[str, Any]) -> None:
        details = event["stateEnteredEventDetails"]
        name: str = details["name"]
        self._touch(name)
        visit = Visit(
            name,
            kind.removesuffix("StateEntered"),
            event["id"],
            event["timestamp"],
            details.get("input") if self.keeps_data else None,
            parent=self._container(event.get("previousEventId", 0)),
        )
        visit.is_failing = visit.state_type == "Fail"  # it fails whatever it is given
        self.visits.setdefault(name, []).append(visit)
        self._counts.setdefault(name, Counter())[StateStatus.RUNNING] += 1
        self._running[visit.entered_event_id] = visit
        self._visit_of[visit.entered_event_id] = visit

    def _running_visit(self, name: str) -> Visit | None:
        """The latest running visit of a state."""
        return next((v for v in reversed(self._running.values()) if v.name == name), None)

    def _container(self, event_id: int) -> Visit | None:
        """The Parallel's or Map's visit that what follows an event runs inside: the group the
        event happened in (its start, an iteration's), else the one its state runs inside."""
        visit = self._visit_of.get(event_id)
        if visit is None:
            return None
        if visit.is_group and event_id not in self._exits:
            return visit
        return visit.parent

    def _map_iteration(self, kind: str, event_id: int, previous: int) -> None:
        """MapIteration… events are their Map's; a failed iteration's state failed."""
        if kind == "MapIterationFailed":
            self._blame(previous, None)
        owner = self._container(previous)
        if owner is not None:
            self._visit_of[event_id] = owner

    def _blame(self, previous: int, group: Visit | None) -> None:
        """A group (or a Map's iteration) failed just after `previous`: the running state that
        event is of failed, with an error of its own or one the execution's failure gives."""
        culprit = self._visit_of.get(previous)
        if culprit is None or culprit is group or culprit.status is not StateStatus.RUNNING:
            return
        culprit.is_failing = True
        if not culprit.failures:
            self._unexplained.append(culprit)
        self._set(culprit, StateStatus.FAILED)

    def _set(self, visit: Visit, status: StateStatus) -> None:
        """Give a visit its status, noting the state's before the event changes it."""
        self._touch(visit.name)
        counts = self._counts[visit.name]
        counts[visit.status] -= 1
        counts[status] += 1
        visit.status = status
        if status is not StateStatus.RUNNING:
            self._running.pop(visit.entered_event_id, None)

    def _touch(self, name: str) -> None:
        if name not in self._before:
            self._before[name] = self.status(name)

    def _exiting(self, name: str, previous_event_id: int) -> Visit | None:
        """The visit a …StateExited event of `name` ends: the one whose event it follows, or
        (a Parallel or Map exits after the last event inside it) the one around that event."""
        visit = self._visit_of.get(previous_event_id)
        while visit is not None and (visit.name != name or visit.status is not StateStatus.RUNNING):
            visit = visit.parent
        return visit

    def _group_visit(self, kind: str, previous_event_id: int) -> Visit | None:
        """The running Parallel or Map visit a group event belongs to: the innermost one around
        the event it follows (or holding it). A group that failed already does not fail again:
        the failure is its parent's."""
        state_type = "Map" if kind.startswith("Map") else "Parallel"
        can_fail_again = kind in GROUP_STARTS
        visit = self._visit_of.get(previous_event_id)
        if visit is not None and (previous_event_id in self._exits or not visit.is_group):
            visit = visit.parent
        while visit is not None and not (
            visit.state_type == state_type
            and visit.status is StateStatus.RUNNING
            and (can_fail_again or not visit.is_failing)
        ):
            visit = visit.parent
        return visit

    def _end_inside(self, group: Visit) -> None:
        """What still runs inside a Parallel's or Map's visit ends: failed when its own failure
        is why, else cancelled."""
        for visit in list(self._running.values()):
            if visit.is_inside(group):
                self._set(visit, StateStatus.FAILED if visit.is_failing else StateStatus.CANCELLED)

    def _end_running(self, event: Mapping[str, Any]) -> None:
        """The execution ended. What still runs was cancelled (aborted), failed (timed out,
        or made the execution fail), or was cut short by another state's failure.

        A state whose own error (a bad path, a runtime error) fails the execution records no
        failure event: ExecutionFailed follows that state's last event directly, and its error
        is that state's (or, through the groups it failed, the one a group's failure blamed)."""
        kind = event["type"]
        details = event_details(event)
        failure = Failure(kind, event["timestamp"], details.get("error"), details.get("cause"))
        if kind == "ExecutionFailed":
            self._blame(event.get("previousEventId", 0), None)
            for visit in self._unexplained:
                if visit.failures and visit.failures[-1].error is None:
                    visit.failures[-1] = failure
                elif not visit.failures:
                    visit.failures.append(failure)
        for visit in list(self._running.values()):
            if visit.is_failing and not visit.failures:  # the execution's error is its own
                visit.failures.append(failure)
            if kind == "ExecutionAborted":
                self._set(visit, StateStatus.CANCELLED)
            elif kind == "ExecutionTimedOut" or visit.is_failing:
                self._set(visit, StateStatus.FAILED)
            else:
                self._set(visit, StateStatus.CANCELLED)


def event_details(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """An event's `…EventDetails` member (empty when it has none)."""
    return next((v for k, v in event.items() if k.endswith("EventDetails")), {})

"""How far an execution got, state by state, from its history events: what the graph colours.

`ExecutionProgress` is fed the events in order (as GetExecutionHistory returns them) and says,
for each, which states' status it changed. A state is *running* while one of its visits is (a
loop or a Map enters a state many times); once none is, its status is the gravest outcome of
its visits: failed, then cancelled, then caught (its error went to a Catcher), then succeeded.

An event without a state's name belongs to the state whose event it follows (`previousEventId`):
a task's events follow its state's entry. A Parallel or Map state's own events (…StateFailed,
…StateStarted) may follow an event of a state inside it; they belong to the innermost running
Parallel or Map that holds that state (and has not failed already: an outer group's failure
follows the inner one's). When one fails, is aborted or starts again (a retry), the states still
running inside it end: failed if a failure of theirs is why, else cancelled, as AWS cancels a
failed Parallel's other branches. The `…StateAborted` events of those states point at the
failure, not at them, and so are not theirs. Pure: no clock, no I/O.
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
    }
)
TASK_SCHEDULED = frozenset({"ActivityScheduled", "LambdaFunctionScheduled", "TaskScheduled"})
TASK_RESULTS = frozenset({"LambdaFunctionSucceeded", "TaskSucceeded"})
GROUP_FAILURES = frozenset({"MapStateFailed", "ParallelStateFailed"})
GROUP_ABORTS = frozenset({"MapStateAborted", "ParallelStateAborted"})
GROUP_STARTS = frozenset({"MapStateStarted", "ParallelStateStarted"})
GROUP_EVENTS = GROUP_FAILURES | GROUP_ABORTS | GROUP_STARTS
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


class ExecutionProgress:
    """The status of an execution and of each of its states, one history event at a time."""

    def __init__(self, members: Mapping[str, frozenset[str]]) -> None:
        """`members`: each Parallel or Map state's name -> the states inside it, at any depth."""
        self.members = members
        self.execution_status = "RUNNING"
        self.visits: dict[str, list[Visit]] = {}
        self._counts: dict[str, Counter[StateStatus]] = {}
        """State name -> how many of its visits have each status."""
        self._running: dict[int, Visit] = {}
        """The visits running, by their entry's event id."""
        self._visit_of: dict[int, Visit] = {}
        """Event id -> the visit it happened in."""
        self._exits: set[int] = set()
        """The ids of …StateExited events: what follows one happens in another state."""
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
        if kind.endswith("StateExited"):
            visit = self._exiting(event["stateExitedEventDetails"]["name"], previous)
        elif kind in GROUP_EVENTS:
            visit = self._group_visit(kind, previous)
        elif kind.endswith("StateAborted") or kind.startswith("MapIteration"):
            visit = None  # they point at the failure (or the item's last state), not their own
            if kind == "MapIterationFailed":
                self._fail_iteration(previous)
        else:
            visit = None if previous in self._exits else self._visit_of.get(previous)
        if visit is None:
            return
        self._visit_of[event_id] = visit
        if kind.endswith("StateExited"):
            self._exits.add(event_id)
            visit.exited = timestamp
            visit.output = event["stateExitedEventDetails"].get("output")
            self._set(visit, StateStatus.CAUGHT if visit.is_failing else StateStatus.SUCCEEDED)
            return
        if kind in TASK_FAILURES or kind in GROUP_FAILURES:
            details = event_details(event)
            visit.failures.append(
                Failure(kind, timestamp, details.get("error"), details.get("cause"))
            )
            visit.is_failing = True
            if kind in GROUP_FAILURES:
                self._end_members(visit)
        elif kind in GROUP_ABORTS:
            self._end_members(visit)
        elif kind in GROUP_STARTS:
            if visit.has_started:  # a retry: what the last attempt left running ends
                self._end_members(visit)
                visit.retries += 1
                visit.is_failing = False
            visit.has_started = True
        elif kind in TASK_SCHEDULED and visit.is_failing:
            visit.is_failing = False
            visit.retries += 1
        elif kind in TASK_RESULTS:
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
            details.get("input"),
        )
        visit.is_failing = visit.state_type == "Fail"  # it fails whatever it is given
        self.visits.setdefault(name, []).append(visit)
        self._counts.setdefault(name, Counter())[StateStatus.RUNNING] += 1
        self._running[visit.entered_event_id] = visit
        self._visit_of[visit.entered_event_id] = visit

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
        (a Parallel or Map exits after the last event inside it) the oldest running one."""
        visit = self._visit_of.get(previous_event_id)
        if visit is not None and visit.name == name and visit.status is StateStatus.RUNNING:
            return visit
        return next((v for v in self._running.values() if v.name == name), None)

    def _group_visit(self, kind: str, previous_event_id: int) -> Visit | None:
        """The running Parallel or Map visit a group event belongs to: the innermost one
        holding the state whose event it follows, or that state itself. A group that failed
        already does not fail again: the failure is its parent's."""
        previous = self._visit_of.get(previous_event_id)
        if previous is None:
            return None
        state_type = "Map" if kind.startswith("Map") else "Parallel"
        can_fail_again = kind in GROUP_STARTS
        candidates = [
            (len(self.members.get(visit.name, ())), visit)
            for visit in self._running.values()
            if visit.state_type == state_type
            and (can_fail_again or not visit.is_failing)
            and (visit is previous or previous.name in self.members.get(visit.name, ()))
        ]
        return min(candidates, key=lambda pair: pair[0])[1] if candidates else None

    def _fail_iteration(self, previous_event_id: int) -> None:
        """A Map's iteration failed (its failure tolerated, or not yet the Map's): the state
        whose failure it was ends failed."""
        visit = self._visit_of.get(previous_event_id)
        if visit is not None and visit.status is StateStatus.RUNNING and visit.is_failing:
            self._set(visit, StateStatus.FAILED)

    def _end_members(self, group: Visit) -> None:
        """What still runs inside a Parallel or Map ends: failed when its own failure is why,
        else cancelled."""
        inside = self.members.get(group.name, frozenset())
        for visit in list(self._running.values()):
            if visit.name in inside:
                failed = visit.is_failing
                self._set(visit, StateStatus.FAILED if failed else StateStatus.CANCELLED)

    def _end_running(self, event: Mapping[str, Any]) -> None:
        """The execution ended. What still runs was cancelled (aborted), failed (timed out,
        or made the execution fail), or was cut short by another state's failure.

        A state whose own error (a bad path, a runtime error) fails the execution records no
        failure event: ExecutionFailed follows that state's last event directly."""
        kind = event["type"]
        details = event_details(event)
        culprit = self._visit_of.get(event.get("previousEventId", 0))
        is_running = culprit is not None and culprit.status is StateStatus.RUNNING
        if kind == "ExecutionFailed" and culprit is not None and is_running:
            culprit.is_failing = True
        for visit in list(self._running.values()):
            if visit.is_failing and not visit.failures:  # the execution's error is its own
                visit.failures.append(
                    Failure(kind, event["timestamp"], details.get("error"), details.get("cause"))
                )
            if kind == "ExecutionAborted":
                self._set(visit, StateStatus.CANCELLED)
            elif kind == "ExecutionTimedOut" or visit.is_failing:
                self._set(visit, StateStatus.FAILED)
            else:
                self._set(visit, StateStatus.CANCELLED)


def event_details(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """An event's `…EventDetails` member (empty when it has none)."""
    return next((v for k, v in event.items() if k.endswith("EventDetails")), {})

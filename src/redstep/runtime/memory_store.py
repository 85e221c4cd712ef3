"""The `ExecutionStore` held in memory: the fake the executor's and API's tests run against.

It behaves as `SqliteExecutionStore` does, down to what survives a round trip: signal fields and
the details of history events are kept as JSON text, so a value JSON cannot carry fails here as
it fails there, and what is read back is a fresh copy, never the caller's object. Every operation
holds one lock and checks everything before it changes anything, so each is atomic.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from redstep.asl.paths import to_json
from redstep.engine.commands import ExecutionStatus
from redstep.runtime.errors import InvalidToken
from redstep.runtime.store import (
    REDRIVABLE_STATUSES,
    Completion,
    ExecutionRecord,
    MapRunChild,
    MapRunRecord,
    Page,
    Redriven,
    RedriveTokens,
    SignalRecord,
    StateMachineRecord,
    StoreConflict,
    TimerRecord,
    changed_tags,
    redriven_record,
    token_redrive,
    with_token,
)
from redstep.runtime.tokens import decode_token, encode_token

_EVENT_COLUMNS = frozenset({"id", "previousEventId", "type", "timestamp"})


@dataclass(slots=True)
class _Signal:
    execution_arn: str
    kind: str
    fields: str
    at: datetime
    is_processed: bool


@dataclass(frozen=True, slots=True)
class _Event:
    event_id: int
    previous_id: int
    type: str
    timestamp: datetime
    details: str | None


class MemoryExecutionStore:
    """The `ExecutionStore` in dicts and lists, guarded by one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._machines: dict[str, StateMachineRecord] = {}
        self._revisions: dict[tuple[str, str], StateMachineRecord] = {}
        self._executions: dict[str, ExecutionRecord] = {}
        self._signals: dict[int, _Signal] = {}
        self._history: dict[str, list[_Event]] = {}
        self._timers: dict[str, dict[int, TimerRecord]] = {}
        self._last_seq = 0
        self._map_runs: dict[str, MapRunRecord] = {}
        # child execution ARN -> (its map run's ARN, its index, the items it holds)
        self._map_run_links: dict[str, tuple[str, int, int, int]] = {}
        self._redrive_tokens: dict[str, RedriveTokens] = {}

    def close(self) -> None:
        """Nothing to release; the data stays readable, as a reopened database would be."""

    # -- state machines --------------------------------------------------------------------------
    def put_state_machine(self, record: StateMachineRecord) -> None:
        with self._lock:
            if record.arn in self._machines:
                raise StoreConflict(f"state machine {record.arn} already exists")
            self._machines[record.arn] = _copy(record)
            self._revisions[record.arn, record.revision_id] = _copy(record)

    def update_state_machine(self, record: StateMachineRecord) -> None:
        with self._lock:
            if record.arn not in self._machines:
                raise KeyError(record.arn)
            self._machines[record.arn] = _copy(record)
            self._revisions[record.arn, record.revision_id] = _copy(record)

    def get_state_machine(self, arn: str) -> StateMachineRecord | None:
        with self._lock:
            record = self._machines.get(arn)
        return None if record is None else _copy(record)

    def get_revision(self, arn: str, revision_id: str) -> StateMachineRecord | None:
        with self._lock:
            record = self._revisions.get((arn, revision_id))
        return None if record is None else _copy(record)

    def list_state_machines(self) -> list[StateMachineRecord]:
        with self._lock:
            records = sorted(
                self._machines.values(), key=lambda m: (m.creation_date, m.name, m.arn)
            )
        return [_copy(record) for record in records]

    def delete_state_machine(self, arn: str) -> None:
        with self._lock:
            self._machines.pop(arn, None)  # revisions stay: see SqliteExecutionStore

    def update_tags(
        self,
        arn: str,
        add: Mapping[str, str],
        remove: Collection[str],
        limit: int | None = None,
    ) -> dict[str, str]:
        with self._lock:
            record = self._machines.get(arn)
            if record is None:
                raise KeyError(arn)
            tags = changed_tags(record.tags, add, remove, limit, arn)
            self._machines[arn] = replace(record, tags=tags)
        return dict(tags)

    # -- executions ------------------------------------------------------------------------------
    def put_execution(self, record: ExecutionRecord, start: SignalRecord) -> None:
        fields = to_json(start.fields)
        with self._lock:
            if record.arn in self._executions:
                raise StoreConflict(f"execution {record.arn} already exists")
            self._executions[record.arn] = record
            self._signals[self._next_seq()] = _Signal(
                record.arn, start.kind, fields, start.at, is_processed=False
            )

    def get_execution(self, arn: str) -> ExecutionRecord | None:
        with self._lock:
            return self._executions.get(arn)

    def list_executions(
        self,
        state_machine_arn: str | None,
        status: ExecutionStatus | None,
        limit: int,
        next_token: str | None,
        redriven: bool | None = None,
    ) -> Page:
        after = None if next_token is None else _position(next_token)
        with self._lock:
            matching = [
                record
                for record in self._executions.values()
                if (state_machine_arn is None or record.state_machine_arn == state_machine_arn)
                and (status is None or record.status == status)
                and (redriven is None or (record.redrive_count > 0) == redriven)
                and (after is None or (record.start_date, record.arn) < after)
            ]
        matching.sort(key=lambda record: (record.start_date, record.arn), reverse=True)
        if limit < 1 or len(matching) <= limit:
            return Page(items=list(matching), next_token=None)
        last = matching[limit - 1]
        return Page(
            items=matching[:limit],
            next_token=encode_token("executions", [last.start_date.isoformat(), last.arn]),
        )

    def redrive_execution(
        self, arn: str, at: datetime, client_token: str | None, kind: str, fields: dict[str, Any]
    ) -> Redriven:
        text = to_json(fields)
        with self._lock:
            record = self._executions.get(arn)
            if record is None:
                raise KeyError(arn)
            tokens = self._redrive_tokens.get(arn, [])
            made = token_redrive(tokens, client_token, at)
            if made is not None:
                return Redriven(record, made, is_new=False)
            if record.status not in REDRIVABLE_STATUSES:
                raise StoreConflict(f"execution {arn} is {record.status.value}")
            record = redriven_record(record, at)
            self._executions[arn] = record
            self._redrive_tokens[arn] = with_token(tokens, client_token, at)
            self._signals[self._next_seq()] = _Signal(arn, kind, text, at, is_processed=False)
        return Redriven(record, at, is_new=True)

    def running_executions(self) -> list[ExecutionRecord]:
        with self._lock:
            running = [
                record
                for record in self._executions.values()
                if record.status is ExecutionStatus.RUNNING
            ]
        return sorted(running, key=lambda record: (record.start_date, record.arn))

    # -- journal, history, timers ----------------------------------------------------------------
    def add_signal(
        self, execution_arn: str, kind: str, fields: dict[str, Any], at: datetime
    ) -> int:
        text = to_json(fields)
        with self._lock:
            if execution_arn not in self._executions:
                raise KeyError(execution_arn)
            seq = self._next_seq()
            self._signals[seq] = _Signal(execution_arn, kind, text, at, is_processed=False)
            return seq

    def signals(self, execution_arn: str) -> list[SignalRecord]:
        with self._lock:
            journal = [
                (seq, signal)
                for seq, signal in self._signals.items()
                if signal.execution_arn == execution_arn
            ]
        return [
            SignalRecord(
                seq, signal.kind, json.loads(signal.fields), signal.at, signal.is_processed
            )
            for seq, signal in sorted(journal, key=lambda pair: pair[0])
        ]

    def commit(
        self,
        execution_arn: str,
        signal_seq: int,
        at: datetime,
        events: Sequence[dict[str, Any]],
        new_timers: Sequence[TimerRecord],
        cleared_timers: Sequence[int],
        completion: Completion | None,
    ) -> None:
        stored = _stored_events(events)
        with self._lock:
            signal = self._signals.get(signal_seq)
            if signal is None or signal.execution_arn != execution_arn or signal.is_processed:
                raise StoreConflict(f"signal {signal_seq} of {execution_arn} is not pending")
            self._check_activation(execution_arn, stored, new_timers, cleared_timers)
            signal.at, signal.is_processed = at, True
            self._apply(execution_arn, stored, new_timers, cleared_timers, completion)

    def commit_signal(
        self,
        execution_arn: str,
        kind: str,
        fields: dict[str, Any],
        at: datetime,
        events: Sequence[dict[str, Any]],
        new_timers: Sequence[TimerRecord],
        cleared_timers: Sequence[int],
        completion: Completion | None,
    ) -> int:
        text = to_json(fields)
        stored = _stored_events(events)
        with self._lock:
            if execution_arn not in self._executions:
                raise KeyError(execution_arn)
            self._check_activation(execution_arn, stored, new_timers, cleared_timers)
            seq = self._next_seq()
            self._signals[seq] = _Signal(execution_arn, kind, text, at, is_processed=True)
            self._apply(execution_arn, stored, new_timers, cleared_timers, completion)
        return seq

    def history(
        self, execution_arn: str, reverse: bool, limit: int, after_event_id: int | None
    ) -> list[dict[str, Any]]:
        with self._lock:
            events = list(self._history.get(execution_arn, ()))
        if reverse:
            events.reverse()
        if after_event_id is not None:
            events = [
                event
                for event in events
                if (event.event_id < after_event_id if reverse else event.event_id > after_event_id)
            ]
        return [_event_dict(event) for event in (events[:limit] if limit > 0 else events)]

    def event_count(self, execution_arn: str) -> int:
        with self._lock:
            return len(self._history.get(execution_arn, ()))

    def timers(self, execution_arn: str) -> list[TimerRecord]:
        with self._lock:
            pending = list(self._timers.get(execution_arn, {}).values())
        return sorted(pending, key=lambda timer: (timer.due, timer.timer_id))

    # -- map runs --------------------------------------------------------------------------------
    def put_map_run(self, record: MapRunRecord, child_machine: StateMachineRecord) -> None:
        with self._lock:
            if record.arn in self._map_runs:
                raise StoreConflict(f"map run {record.arn} already exists")
            self._map_runs[record.arn] = record
            key = (child_machine.arn, child_machine.revision_id)
            self._revisions.setdefault(key, _copy(child_machine))

    def get_map_run(self, arn: str) -> MapRunRecord | None:
        with self._lock:
            return self._map_runs.get(arn)

    def update_map_run(self, record: MapRunRecord) -> None:
        with self._lock:
            if record.arn not in self._map_runs:
                raise KeyError(record.arn)
            self._map_runs[record.arn] = record

    def list_map_runs(self, execution_arn: str) -> list[MapRunRecord]:
        with self._lock:
            runs = [run for run in self._map_runs.values() if run.execution_arn == execution_arn]
        return sorted(runs, key=lambda run: (run.start_date, run.arn))

    def put_map_run_child(
        self,
        map_run_arn: str,
        index: int,
        items: int,
        record: ExecutionRecord,
        start: SignalRecord,
        attempt: int = 0,
    ) -> None:
        fields = to_json(start.fields)
        with self._lock:
            if record.arn in self._executions:
                raise StoreConflict(f"execution {record.arn} already exists")
            self._executions[record.arn] = record
            self._signals[self._next_seq()] = _Signal(
                record.arn, start.kind, fields, start.at, is_processed=False
            )
            self._map_run_links[record.arn] = (map_run_arn, index, items, attempt)

    def set_map_run_child_attempt(self, execution_arn: str, attempt: int) -> None:
        with self._lock:
            link = self._map_run_links.get(execution_arn)
            if link is not None:  # as SQLite's UPDATE, nothing for a child it does not know
                self._map_run_links[execution_arn] = (*link[:3], attempt)

    def map_run_children(self, map_run_arn: str) -> list[MapRunChild]:
        with self._lock:
            children = [
                MapRunChild(index, items, self._executions[arn], attempt)
                for arn, (run, index, items, attempt) in self._map_run_links.items()
                if run == map_run_arn
            ]
        return sorted(children, key=lambda child: child.index)

    def map_run_pending_redrive(self, map_run_arn: str, attempt: int) -> tuple[int, int]:
        pending = [
            child
            for child in self.map_run_children(map_run_arn)
            if child.attempt < attempt and child.execution.status in REDRIVABLE_STATUSES
        ]
        return len(pending), sum(child.items for child in pending)

    def map_run_counts(self, map_run_arn: str) -> dict[ExecutionStatus, tuple[int, int]]:
        counts: dict[ExecutionStatus, tuple[int, int]] = {}
        for child in self.map_run_children(map_run_arn):
            executions, items = counts.get(child.execution.status, (0, 0))
            counts[child.execution.status] = (executions + 1, items + child.items)
        return counts

    def list_map_run_executions(
        self,
        map_run_arn: str,
        status: ExecutionStatus | None,
        limit: int,
        next_token: str | None,
        redriven: bool | None = None,
    ) -> Page:
        after = None if next_token is None else _position(next_token, "map-run-executions")
        children = [
            child
            for child in self.map_run_children(map_run_arn)
            if (status is None or child.execution.status == status)
            and (redriven is None or (child.execution.redrive_count > 0) == redriven)
            and (after is None or (child.execution.start_date, child.execution.arn) < after)
        ]
        children.sort(key=lambda child: (child.execution.start_date, child.execution.arn))
        children.reverse()
        if limit < 1 or len(children) <= limit:
            return Page(items=children, next_token=None)
        last = children[limit - 1].execution
        return Page(
            items=children[:limit],
            next_token=encode_token("map-run-executions", [last.start_date.isoformat(), last.arn]),
        )

    def map_run_of(self, execution_arn: str) -> str | None:
        with self._lock:
            link = self._map_run_links.get(execution_arn)
        return None if link is None else link[0]

    # -- inside the lock -------------------------------------------------------------------------
    def _next_seq(self) -> int:
        self._last_seq += 1
        return self._last_seq

    def _check_activation(
        self,
        execution_arn: str,
        events: list[_Event],
        new_timers: Sequence[TimerRecord],
        cleared_timers: Sequence[int],
    ) -> None:
        """Refuse what SQLite's keys would: a repeated event id or pending timer id."""
        known = {event.event_id for event in self._history.get(execution_arn, ())}
        ids = [event.event_id for event in events]
        if len(set(ids)) != len(ids) or known.intersection(ids):
            raise StoreConflict(f"history of {execution_arn} already has one of events {ids}")
        pending = set(self._timers.get(execution_arn, {})).difference(cleared_timers)
        for timer in new_timers:
            if timer.timer_id in pending:
                raise StoreConflict(f"timer {timer.timer_id} of {execution_arn} is pending")
            pending.add(timer.timer_id)

    def _apply(
        self,
        execution_arn: str,
        events: list[_Event],
        new_timers: Sequence[TimerRecord],
        cleared_timers: Sequence[int],
        completion: Completion | None,
    ) -> None:
        history = self._history.setdefault(execution_arn, [])
        history.extend(events)
        history.sort(key=lambda event: event.event_id)
        timers = self._timers.setdefault(execution_arn, {})
        for timer_id in cleared_timers:
            timers.pop(timer_id, None)
        for timer in new_timers:
            timers[timer.timer_id] = timer
        if completion is not None:
            self._executions[execution_arn] = replace(
                self._executions[execution_arn],
                status=completion.status,
                stop_date=completion.stop_date,
                output=completion.output,
                error=completion.error,
                cause=completion.cause,
            )
            timers.clear()


def _copy(record: StateMachineRecord) -> StateMachineRecord:
    return replace(record, tags=dict(record.tags))


def _stored_events(events: Sequence[dict[str, Any]]) -> list[_Event]:
    """The events as the store keeps them; raises, before anything is written, on an event that
    JSON cannot carry."""
    stored: list[_Event] = []
    for event in events:
        rest = {key: value for key, value in event.items() if key not in _EVENT_COLUMNS}
        stored.append(
            _Event(
                event["id"],
                event["previousEventId"],
                event["type"],
                event["timestamp"],
                to_json(rest) if rest else None,
            )
        )
    return stored


def _event_dict(event: _Event) -> dict[str, Any]:
    result: dict[str, Any] = {
        "timestamp": event.timestamp,
        "type": event.type,
        "id": event.event_id,
        "previousEventId": event.previous_id,
    }
    if event.details is not None:
        result.update(json.loads(event.details))
    return result


def _position(token: str, scope: str = "executions") -> tuple[datetime, str]:
    start_date, arn = decode_token(token, scope, 2)
    try:
        return datetime.fromisoformat(start_date), str(arn)
    except (TypeError, ValueError):
        raise InvalidToken(f"Invalid Token: '{token}'") from None

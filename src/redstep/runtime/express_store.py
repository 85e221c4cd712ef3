"""Where Express executions are kept: in memory, beside the durable store (`ExpressStore`).

The executor keeps every execution's journal, history and timers in the store it is given; this
one holds those of Express executions in memory and passes everything else to the durable store,
so that one executor runs both kinds (one loop, one notion of idle for a virtual clock to skip
on) and no Express execution touches the disk. Why they are kept so: `redstep.runtime.express`.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from redstep.asl.paths import to_json
from redstep.engine.commands import ExecutionStatus
from redstep.runtime.store import (
    Completion,
    ExecutionRecord,
    ExecutionStore,
    SignalRecord,
    StoreConflict,
    TimerRecord,
)

#: How many ended Express executions redstep's own views can still read.
KEEP_ENDED = 100


@dataclass(slots=True)
class _Entry:
    """A journal entry; its fields as JSON text, so that what is read back is a fresh copy."""

    kind: str
    fields: str
    at: datetime
    is_processed: bool


@dataclass(slots=True)
class _Run:
    record: ExecutionRecord
    journal: dict[int, _Entry] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    timers: dict[int, TimerRecord] = field(default_factory=dict)


class ExpressStore:
    """The executor's store: Express executions in memory, everything else in `durable`.

    An execution is routed here when it was put with `put_express` and is still kept (running,
    pinned by a synchronous caller, or among the last KEEP_ENDED ended); every other ARN, and
    every operation that is not about one execution's journal, goes to the durable store. Other
    members of ExecutionStore (state machines, tags, map runs and whatever the Protocol gains)
    are the durable store's, through `__getattr__`, so that the Protocol may grow without this
    class. `running_executions` and `list_executions` never show an Express execution: none is
    resumed, none is listed.
    """

    def __init__(self, durable: ExecutionStore, keep_ended: int = KEEP_ENDED) -> None:
        self.durable = durable
        self._keep_ended = keep_ended
        self._lock = threading.Lock()
        self._runs: dict[str, _Run] = {}
        self._ended: deque[str] = deque()
        self._pinned: set[str] = set()
        self._last_seq = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.durable, name)

    # -- Express executions --------------------------------------------------------------------

    def put_express(self, record: ExecutionRecord, start: SignalRecord, *, pinned: bool) -> None:
        """Keep a new RUNNING Express execution and its first signal (StoreConflict on ARN);
        a pinned one is kept after it ends until `release`d."""
        fields = to_json(start.fields)
        with self._lock:
            if record.arn in self._runs:
                raise StoreConflict(f"execution {record.arn} already exists")
            run = _Run(record)
            run.journal[self._next_seq()] = _Entry(start.kind, fields, start.at, False)
            self._runs[record.arn] = run
            if pinned:
                self._pinned.add(record.arn)

    def release(self, arn: str) -> None:
        """A synchronous caller has its answer: the execution is kept as any other ended one."""
        with self._lock:
            self._pinned.discard(arn)
            run = self._runs.get(arn)
            if run is not None and run.record.status is not ExecutionStatus.RUNNING:
                self._forget_ended(arn)

    def is_express(self, arn: str) -> bool:
        with self._lock:
            return arn in self._runs

    def kept(self) -> list[str]:
        """The ARNs of the Express executions kept: running, pinned, or among the last ended."""
        with self._lock:
            return list(self._runs)

    # -- ExecutionStore, routed by execution ---------------------------------------------------

    def put_execution(self, record: ExecutionRecord, start: SignalRecord) -> None:
        self.durable.put_execution(record, start)

    def get_execution(self, arn: str) -> ExecutionRecord | None:
        with self._lock:
            run = self._runs.get(arn)
        return self.durable.get_execution(arn) if run is None else run.record

    def add_signal(
        self, execution_arn: str, kind: str, fields: dict[str, Any], at: datetime
    ) -> int:
        text = to_json(fields)
        with self._lock:
            run = self._runs.get(execution_arn)
            if run is not None:
                seq = self._next_seq()
                run.journal[seq] = _Entry(kind, text, at, False)
                return seq
        return self.durable.add_signal(execution_arn, kind, fields, at)

    def signals(self, execution_arn: str) -> list[SignalRecord]:
        with self._lock:
            run = self._runs.get(execution_arn)
            journal = None if run is None else sorted(run.journal.items())
        if journal is None:
            return self.durable.signals(execution_arn)
        return [
            SignalRecord(seq, entry.kind, json.loads(entry.fields), entry.at, entry.is_processed)
            for seq, entry in journal
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
        with self._lock:
            run = self._runs.get(execution_arn)
            if run is not None:
                entry = run.journal.get(signal_seq)
                if entry is None or entry.is_processed:
                    raise StoreConflict(f"signal {signal_seq} of {execution_arn} is not pending")
                entry.at, entry.is_processed = at, True
                self._apply(run, events, new_timers, cleared_timers, completion)
                return
        self.durable.commit(
            execution_arn, signal_seq, at, events, new_timers, cleared_timers, completion
        )

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
        with self._lock:
            run = self._runs.get(execution_arn)
            if run is not None:
                seq = self._next_seq()
                run.journal[seq] = _Entry(kind, text, at, True)
                self._apply(run, events, new_timers, cleared_timers, completion)
                return seq
        return self.durable.commit_signal(
            execution_arn, kind, fields, at, events, new_timers, cleared_timers, completion
        )

    def history(
        self, execution_arn: str, reverse: bool, limit: int, after_event_id: int | None
    ) -> list[dict[str, Any]]:
        with self._lock:
            run = self._runs.get(execution_arn)
            events = None if run is None else list(run.events)
        if events is None:
            return self.durable.history(execution_arn, reverse, limit, after_event_id)
        if reverse:
            events.reverse()
        if after_event_id is not None:
            events = [
                event
                for event in events
                if (event["id"] < after_event_id if reverse else event["id"] > after_event_id)
            ]
        return [dict(event) for event in (events[:limit] if limit > 0 else events)]

    def event_count(self, execution_arn: str) -> int:
        with self._lock:
            run = self._runs.get(execution_arn)
            if run is not None:
                return len(run.events)
        return self.durable.event_count(execution_arn)

    def timers(self, execution_arn: str) -> list[TimerRecord]:
        with self._lock:
            run = self._runs.get(execution_arn)
            pending = None if run is None else list(run.timers.values())
        if pending is None:
            return self.durable.timers(execution_arn)
        return sorted(pending, key=lambda timer: (timer.due, timer.timer_id))

    # -- inside the lock -----------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._last_seq += 1
        return self._last_seq

    def _apply(
        self,
        run: _Run,
        events: Sequence[dict[str, Any]],
        new_timers: Sequence[TimerRecord],
        cleared_timers: Sequence[int],
        completion: Completion | None,
    ) -> None:
        # The interpreter hands each activation's events over and keeps none: they are kept as
        # given, and readers get copies.
        run.events.extend(events)
        for timer_id in cleared_timers:
            run.timers.pop(timer_id, None)
        for timer in new_timers:
            run.timers[timer.timer_id] = timer
        if completion is None:
            return
        run.record = dataclasses.replace(
            run.record,
            status=completion.status,
            stop_date=completion.stop_date,
            output=completion.output,
            error=completion.error,
            cause=completion.cause,
        )
        run.timers.clear()
        run.journal.clear()  # never replayed again: an ended execution is not resumed
        if run.record.arn not in self._pinned:
            self._forget_ended(run.record.arn)

    def _forget_ended(self, arn: str) -> None:
        """Keep `arn` among the last ended; forget the oldest beyond KEEP_ENDED."""
        self._ended.append(arn)
        while len(self._ended) > self._keep_ended:
            self._runs.pop(self._ended.popleft(), None)

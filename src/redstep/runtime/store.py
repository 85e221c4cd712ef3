"""The durable control plane's seam: state machines, executions, their history and journal.

`ExecutionStore` is the Protocol; `redstep.runtime.sqlite_store` keeps it in SQLite (WAL) under
`.redstep/store.sqlite`, `redstep.runtime.memory_store` in memory for tests. Everything an
activation of the interpreter produces — the signal it consumed, the history events, the timers
it set and cleared, and the end of the execution — is written by one `commit` call, in one
transaction: after a crash, an execution is exactly its committed journal.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from redstep.engine.commands import ExecutionStatus


class StoreConflict(Exception):
    """A write that would break the store's invariants: a state machine or execution ARN that
    exists already, a commit of a signal that is not pending (two activations racing), or more
    tags than the caller's limit."""


@dataclass(frozen=True, slots=True)
class StateMachineRecord:
    arn: str
    name: str
    definition: str
    role_arn: str
    type: str  # STANDARD | EXPRESS
    creation_date: datetime
    revision_id: str
    update_date: datetime | None = None
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ExecutionRecord:
    arn: str
    state_machine_arn: str
    revision_id: str
    name: str
    input: str
    status: ExecutionStatus
    start_date: datetime
    stop_date: datetime | None = None
    output: str | None = None
    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True, slots=True)
class SignalRecord:
    """One journal entry: a signal and when it was (or will be) consumed."""

    seq: int
    kind: str
    fields: dict[str, Any]
    at: datetime
    is_processed: bool


@dataclass(frozen=True, slots=True)
class TimerRecord:
    execution_arn: str
    timer_id: int
    due: datetime


@dataclass(frozen=True, slots=True)
class Completion:
    status: ExecutionStatus
    stop_date: datetime
    output: str | None = None
    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """A page of a listing; `next_token` is None on the last page."""

    items: list[Any]
    next_token: str | None


class ExecutionStore(Protocol):
    # -- state machines --------------------------------------------------------------------
    def put_state_machine(self, record: StateMachineRecord) -> None:
        """Insert a state machine (StoreConflict when the ARN exists) with its first revision."""

    def update_state_machine(self, record: StateMachineRecord) -> None:
        """Replace a state machine's current fields, keeping its earlier revisions readable."""

    def get_state_machine(self, arn: str) -> StateMachineRecord | None: ...

    def get_revision(self, arn: str, revision_id: str) -> StateMachineRecord | None:
        """The state machine as it was at a revision (what an execution ran)."""

    def list_state_machines(self) -> list[StateMachineRecord]:
        """Every state machine, ordered by creation date then name."""

    def delete_state_machine(self, arn: str) -> None:
        """Forget the state machine but keep its revisions for the executions that ran it."""

    def update_tags(
        self,
        arn: str,
        add: Mapping[str, str],
        remove: Collection[str],
        limit: int | None = None,
    ) -> dict[str, str]:
        """Set the tags in `add` and drop the keys in `remove`, in one transaction, and return
        the state machine's tags as they now stand.

        Tags belong to the state machine, not to a revision: no revision is made, and those
        already recorded keep the tags they had. KeyError when the ARN is unknown; StoreConflict,
        with nothing written, when the tags would number more than `limit`."""

    # -- executions ------------------------------------------------------------------------
    def put_execution(self, record: ExecutionRecord, start: SignalRecord) -> None:
        """Insert a RUNNING execution and its first, unprocessed signal (StoreConflict on ARN).

        The store numbers signals itself: `start.seq` and `start.is_processed` are not read."""

    def get_execution(self, arn: str) -> ExecutionRecord | None: ...

    def list_executions(
        self,
        state_machine_arn: str | None,
        status: ExecutionStatus | None,
        limit: int,
        next_token: str | None,
    ) -> Page:
        """Newest first (start date, then ARN); tokens are opaque strings."""

    def running_executions(self) -> list[ExecutionRecord]:
        """Every RUNNING execution, oldest first: what a restarted executor resumes."""

    # -- journal, history, timers ------------------------------------------------------------
    def add_signal(
        self, execution_arn: str, kind: str, fields: dict[str, Any], at: datetime
    ) -> int:
        """Append an unprocessed signal; return its sequence number (increasing per store)."""

    def signals(self, execution_arn: str) -> list[SignalRecord]:
        """The execution's journal in sequence order, processed and not."""

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
        """One activation, atomically: mark the signal processed at `at`, append the events,
        add and clear timers, and when `completion` is given end the execution (status, dates,
        output/error/cause) and clear its remaining timers."""

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
        """`add_signal` and `commit` in one transaction (a signal produced and consumed by the
        executor itself, such as TimerFired or Continue); return the signal's sequence number."""

    def history(
        self, execution_arn: str, reverse: bool, limit: int, after_event_id: int | None
    ) -> list[dict[str, Any]]:
        """Events by id (descending when `reverse`), starting after `after_event_id`."""

    def event_count(self, execution_arn: str) -> int: ...

    def timers(self, execution_arn: str) -> list[TimerRecord]: ...

    def close(self) -> None: ...


def changed_tags(
    tags: Mapping[str, str],
    add: Mapping[str, str],
    remove: Collection[str],
    limit: int | None,
    arn: str,
) -> dict[str, str]:
    """`tags` with `add` set and `remove` dropped; StoreConflict past `limit` (for the stores)."""
    changed = {key: value for key, value in tags.items() if key not in remove}
    changed.update(add)
    if limit is not None and len(changed) > limit:
        raise StoreConflict(f"state machine {arn} would have {len(changed)} tags")
    return changed

"""The durable control plane's seam: state machines, executions, their history and journal.

`ExecutionStore` is the Protocol; `redstep.runtime.sqlite_store` keeps it in SQLite (WAL) under
`.redstep/store.sqlite`, `redstep.runtime.memory_store` in memory for tests. Everything an
activation of the interpreter produces — the signal it consumed, the history events, the timers
it set and cleared, and the end of the execution — is written by one `commit` call, in one
transaction: after a crash, an execution is exactly its committed journal.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from redstep.engine.commands import ExecutionStatus
from redstep.engine.redrive import REDRIVABLE


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
    redrive_count: int = 0
    redrive_date: datetime | None = None  # of the last redrive


@dataclass(frozen=True, slots=True)
class Redriven:
    """What `redrive_execution` did: the execution as it now stands, the date of the redrive
    the request asked for, and whether this call made it (False: the client token named a
    redrive made already, and nothing was written)."""

    record: ExecutionRecord
    redrive_date: datetime
    is_new: bool


#: RedriveExecution's idempotency: AWS answers again for the last 10 client tokens that redrove
#: an execution, each for 15 minutes after its first use.
REDRIVE_TOKENS_KEPT = 10
REDRIVE_TOKEN_LIFETIME = timedelta(minutes=15)

#: The statuses a redrive may follow.
REDRIVABLE_STATUSES = REDRIVABLE


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


class MapRunStatus(StrEnum):
    """DescribeMapRun's `status`."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    ABORTED = "ABORTED"


@dataclass(frozen=True, slots=True)
class MapRunRecord:
    """A distributed Map's map run (`redstep.runtime.map_runs`): its settings, how far it got,
    and, once it ended, the answer it gave the Map state (JSON text: `{"output": …}` or
    `{"error": …, "cause": …}`), so that the state asking again is answered the same.

    `state_machine_arn` is its children's (`<machine>/<label>`); the totals are known once
    its items are read. A count or percentage of None was not set (DescribeMapRun says 0).
    `redrive_count` counts the redrives of its parent that redrove it, the last at
    `redrive_date`."""

    arn: str
    execution_arn: str
    state_machine_arn: str
    status: MapRunStatus
    start_date: datetime
    max_concurrency: int
    tolerated_failure_count: int | None = None
    tolerated_failure_percentage: float | None = None
    stop_date: datetime | None = None
    item_total: int | None = None
    child_total: int | None = None
    results_written: int = 0
    answer: str | None = None
    redrive_count: int = 0
    redrive_date: datetime | None = None


@dataclass(frozen=True, slots=True)
class MapRunChild:
    """A child execution of a map run: its place among the children, the items it holds, and
    the run's attempt (its redrive count) that last started or redrove it."""

    index: int
    items: int
    execution: ExecutionRecord
    attempt: int = 0


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
        redriven: bool | None = None,
    ) -> Page:
        """Newest first (start date, then ARN); tokens are opaque strings. `redriven`: only
        those redriven at least once (True) or never (False)."""

    def redrive_execution(
        self, arn: str, at: datetime, client_token: str | None, kind: str, fields: dict[str, Any]
    ) -> Redriven:
        """Commit a redrive at `at`, in one transaction: the execution RUNNING again (no stop
        date, output, error or cause), its redrive count and date, and the signal (kind, fields)
        journaled unprocessed. When `client_token` is one of its recent redrives' (see
        `REDRIVE_TOKENS_KEPT`), nothing is written. KeyError when the ARN is unknown;
        StoreConflict when the execution is not in a status a redrive may follow."""

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

    # -- map runs ------------------------------------------------------------------------------
    def put_map_run(self, record: MapRunRecord, child_machine: StateMachineRecord) -> None:
        """Insert a map run (StoreConflict when its ARN exists) and, if new, the revision its
        children run (a revision only: ListStateMachines does not show it)."""

    def get_map_run(self, arn: str) -> MapRunRecord | None: ...

    def update_map_run(self, record: MapRunRecord) -> None:
        """Replace a map run's fields (KeyError when its ARN is unknown)."""

    def list_map_runs(self, execution_arn: str) -> list[MapRunRecord]:
        """The map runs an execution started, oldest first."""

    def put_map_run_child(
        self,
        map_run_arn: str,
        index: int,
        items: int,
        record: ExecutionRecord,
        start: SignalRecord,
        attempt: int = 0,
    ) -> None:
        """`put_execution` of a map run's child and its link to the run (started by the run's
        `attempt`), in one transaction (StoreConflict when the execution exists, and then
        nothing is written)."""

    def set_map_run_child_attempt(self, execution_arn: str, attempt: int) -> None:
        """The run's `attempt` redrives the child."""

    def map_run_children(self, map_run_arn: str) -> list[MapRunChild]:
        """The children a map run started, by index."""

    def map_run_counts(self, map_run_arn: str) -> dict[ExecutionStatus, tuple[int, int]]:
        """How many of a map run's children, and of their items, stand in each status."""

    def map_run_pending_redrive(self, map_run_arn: str, attempt: int) -> tuple[int, int]:
        """How many of a map run's children, and of their items, did not succeed in an attempt
        before `attempt`: those the run's redrive `attempt` has yet to redrive."""

    def list_map_run_executions(
        self,
        map_run_arn: str,
        status: ExecutionStatus | None,
        limit: int,
        next_token: str | None,
        redriven: bool | None = None,
    ) -> Page:
        """A map run's children as `MapRunChild`, newest first (start date, then ARN), as
        `list_executions` pages (and filters) them."""

    def map_run_of(self, execution_arn: str) -> str | None:
        """The ARN of the map run that started the execution, if one did."""

    def close(self) -> None: ...


RedriveTokens = list[tuple[str, datetime]]
"""An execution's recent redrives' client tokens, with the dates of the redrives, oldest first."""


def redriven_record(record: ExecutionRecord, at: datetime) -> ExecutionRecord:
    """The execution as a redrive at `at` leaves it (`ExecutionStore.redrive_execution`)."""
    return replace(
        record,
        status=ExecutionStatus.RUNNING,
        stop_date=None,
        output=None,
        error=None,
        cause=None,
        redrive_count=record.redrive_count + 1,
        redrive_date=at,
    )


def token_redrive(tokens: RedriveTokens, token: str | None, at: datetime) -> datetime | None:
    """The date of the redrive `token` made, if it is among `tokens` and still young at `at`."""
    if token is None:
        return None
    return next(
        (made for used, made in tokens if used == token and at - made < REDRIVE_TOKEN_LIFETIME),
        None,
    )


def with_token(tokens: RedriveTokens, token: str | None, at: datetime) -> RedriveTokens:
    """`tokens` with a redrive made at `at` by `token` (if any), keeping the last few."""
    if token is None:
        return tokens
    kept = [(used, made) for used, made in tokens if used != token]
    return [*kept, (token, at)][-REDRIVE_TOKENS_KEPT:]


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

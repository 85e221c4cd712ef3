"""Whether an execution may be redriven now, and why not: DescribeExecution's `redriveStatus` and
`redriveStatusReason`, and the ExecutionNotRedrivable that RedriveExecution answers.

The two agree by AWS's definition: an execution is NOT_REDRIVABLE exactly when RedriveExecution
would refuse it, and the reason is given only then. The reasons are the `redriveStatusReason`
texts AWS documents, but for two of redstep's own (modelled: AWS words neither): the redrive
limit's, and a Map Run's child's.

A Map Run's child that did not succeed is REDRIVABLE_BY_MAP_RUN while its Map Run can redrive it
(`map_run_redrives`: redriving the parent redrives the same Map Run, which redrives only its
unsuccessful children), and NOT_REDRIVABLE otherwise (`MAP_RUN_NOT_REDRIVABLE`: its Map Run
succeeded with the failure tolerated, say). Either way RedriveExecution refuses it: only its
parent's redrive redrives it.
"""

from __future__ import annotations

from datetime import timedelta

from redstep.asl.json_text import read_json
from redstep.engine.redrive import NEW_MAP_RUN_ERRORS
from redstep.runtime.clock import Clock
from redstep.runtime.errors import ExecutionNotRedrivable
from redstep.runtime.store import (
    REDRIVABLE_STATUSES,
    ExecutionRecord,
    ExecutionStore,
    MapRunRecord,
    MapRunStatus,
)

REDRIVABLE = "REDRIVABLE"
NOT_REDRIVABLE = "NOT_REDRIVABLE"
REDRIVABLE_BY_MAP_RUN = "REDRIVABLE_BY_MAP_RUN"
#: Why a Map Run's child that did not succeed may not be redriven (module docstring); modelled.
MAP_RUN_NOT_REDRIVABLE = "Execution was started by a Map Run that cannot be redriven"
#: Why RedriveExecution refuses a child its Map Run can redrive; modelled.
BY_MAP_RUN_ONLY = (
    "Execution was started by a Map Run: redrive its parent execution, which redrives the Map Run"
)

#: RedriveExecution's limits: AWS redrives an execution within 14 days of its end, within a
#: year of its start, and (a modelled limit, as AWS's on a Map Run's redrives) 1000 times.
REDRIVABLE_PERIOD = timedelta(days=14)
MAX_OPEN_TIME = timedelta(days=365)
MAX_REDRIVES = 1000


def redrive_status(
    store: ExecutionStore,
    clock: Clock,
    max_history_events: int | None,
    record: ExecutionRecord,
    map_run_arn: str | None,
) -> tuple[str, str | None]:
    """(`redriveStatus`, `redriveStatusReason`) as DescribeExecution answers them, for an
    execution started by the Map Run `map_run_arn` (None: by no Map Run); the reason is None
    but for NOT_REDRIVABLE."""
    if map_run_arn is not None:
        by_map_run = _redrivable_by(store, clock, max_history_events, map_run_arn)
        return map_run_child_redrive_status(record, by_map_run)
    reason = _own_reason(store, clock, max_history_events, record)
    return (REDRIVABLE, None) if reason is None else (NOT_REDRIVABLE, reason)


def map_run_redrives(
    store: ExecutionStore, clock: Clock, max_history_events: int | None, record: MapRunRecord
) -> bool:
    """Whether redriving the map run's parent would redrive it (and so its unsuccessful
    children): it failed or was aborted, not reading its items or writing its results (then a
    new one starts: `redstep.engine.redrive`), and its parent may be redriven now (AWS: "If the
    parent workflow isn't redrivable, you can't redrive the child workflow executions")."""
    if record.status not in (MapRunStatus.FAILED, MapRunStatus.ABORTED):
        return False
    if record.answer is not None and read_json(record.answer).get("error") in NEW_MAP_RUN_ERRORS:
        return False
    parent = store.get_execution(record.execution_arn)
    return parent is not None and _own_reason(store, clock, max_history_events, parent) is None


def _redrivable_by(
    store: ExecutionStore, clock: Clock, max_history_events: int | None, map_run_arn: str
) -> bool:
    """Whether the map run `map_run_arn` names would be redriven (`map_run_redrives`)."""
    map_run = store.get_map_run(map_run_arn)
    return map_run is not None and map_run_redrives(store, clock, max_history_events, map_run)


def map_run_child_redrive_status(
    record: ExecutionRecord, by_map_run: bool
) -> tuple[str, str | None]:
    """(`redriveStatus`, `redriveStatusReason`) of a Map Run's child, `by_map_run` saying
    whether its Map Run can redrive it (module docstring)."""
    if record.status not in REDRIVABLE_STATUSES:
        return NOT_REDRIVABLE, status_reason(record)
    if by_map_run:
        return REDRIVABLE_BY_MAP_RUN, None
    return NOT_REDRIVABLE, MAP_RUN_NOT_REDRIVABLE


def refuse_redrive(
    store: ExecutionStore, clock: Clock, max_history_events: int | None, record: ExecutionRecord
) -> None:
    """ExecutionNotRedrivable when RedriveExecution must refuse before it tries: an execution
    ended FAILED, TIMED_OUT or ABORTED that may not be redriven now (a Map Run's child among
    them). One RUNNING or SUCCEEDED is left to the store, which honours a client token first."""
    reason = not_redrivable_reason(store, clock, max_history_events, record)
    if reason is not None and record.status in REDRIVABLE_STATUSES:
        raise ExecutionNotRedrivable(reason)


def not_redrivable_reason(
    store: ExecutionStore, clock: Clock, max_history_events: int | None, record: ExecutionRecord
) -> str | None:
    """Why RedriveExecution would refuse the execution now, as DescribeExecution's
    `redriveStatusReason` words it (AWS's documented reasons, but the redrive limit's and a
    Map Run's child's), or None."""
    if record.status not in REDRIVABLE_STATUSES:
        return status_reason(record)
    map_run_arn = store.map_run_of(record.arn)
    if map_run_arn is not None:
        by_map_run = _redrivable_by(store, clock, max_history_events, map_run_arn)
        return BY_MAP_RUN_ONLY if by_map_run else MAP_RUN_NOT_REDRIVABLE
    return _own_reason(store, clock, max_history_events, record)


def _own_reason(
    store: ExecutionStore, clock: Clock, max_history_events: int | None, record: ExecutionRecord
) -> str | None:
    """`not_redrivable_reason` of an execution no Map Run started."""
    if record.status not in REDRIVABLE_STATUSES:
        return status_reason(record)
    if store.get_state_machine(record.state_machine_arn) is None:
        return "State machine is in DELETING status"  # deleted, here at once
    now = clock.now()
    if now - record.start_date > MAX_OPEN_TIME:
        return "Execution has exceeded the max execution time"
    if record.stop_date is not None and now - record.stop_date > REDRIVABLE_PERIOD:
        return "Execution redrivable period exceeded"
    limit = max_history_events
    # room for ExecutionRedriven and one event more
    if limit is not None and store.event_count(record.arn) >= limit - 1:
        return "Execution history event limit exceeded"
    if record.redrive_count >= MAX_REDRIVES:  # wording modelled
        return f"Execution has been redriven {MAX_REDRIVES} times, the most it may be"
    return None


def status_reason(record: ExecutionRecord) -> str:
    """AWS's documented reason for an execution RUNNING or SUCCEEDED."""
    return f"Execution is {record.status.value} and cannot be redriven"

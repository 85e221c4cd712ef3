"""The map runs as the Step Functions API tells them: ListMapRuns, DescribeMapRun, UpdateMapRun
and ListExecutions with `mapRunArn`, over the store's `MapRunRecord`s (the Engine registers
them), and the ARN a map run goes by (`MapRunArn`).

DescribeMapRun's counts are the store's, counted from the children's own records (so they are
what ListExecutions shows, however the run ended): `total` is every child (or item) the run
will start, `pending` those not started yet, `resultsWritten` those a ResultWriter wrote (items:
those of the children it wrote), `pendingRedrive` those a redrive running now has yet to redrive,
and `failuresNotRedrivable` the others that failed, timed out or were aborted, when the run
cannot be redriven (`redstep.runtime.redrive_eligibility`). A tolerated count or percentage never
set reads 0, as on AWS.

Wordings: ResourceNotFound's is the engine's ("Resource not found: '<arn>'"); InvalidArn's that
of the other ARNs; the ValidationExceptions of UpdateMapRun with nothing to change or on a run
that has ended, and of ListExecutions given both a state machine and a map run, are modelled
(AWS's own were not seen).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redstep.engine.commands import ExecutionStatus
from redstep.runtime.arns import execution_parts
from redstep.runtime.clock import Clock
from redstep.runtime.errors import (
    ExecutionDoesNotExist,
    InvalidArn,
    ResourceNotFound,
    ValidationException,
)
from redstep.runtime.messages import (
    DEFAULT_PAGE_SIZE,
    Request,
    Response,
    listed_execution,
    page,
)
from redstep.runtime.redrive_eligibility import map_run_redrives
from redstep.runtime.store import ExecutionStore, MapRunRecord, MapRunStatus
from redstep.runtime.tokens import encode_token
from redstep.runtime.validation import validate_request

#: UpdateMapRun's effect on a run: (record, maxConcurrency, toleratedFailureCount,
#: toleratedFailurePercentage), each None when not given.
Update = Callable[[MapRunRecord, int | None, int | None, float | None], None]

_CHILD_NAMES = uuid.UUID("3d6f0f52-8c1e-4c8a-9a55-3f0c9b7e21d4")
_MAP_RUN_ARN = re.compile(
    r"(?P<prefix>arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}):mapRun:"
    r"(?P<path>[^:/]+/[^:]+):(?P<run_id>[^:]+)\Z"
)


@dataclass(frozen=True, slots=True)
class MapRunArn:
    """`arn:<partition>:states:<region>:<account>:mapRun:<machine>/<label>:<id>`, in parts."""

    prefix: str
    path: str
    run_id: str

    @classmethod
    def parse(cls, text: Any) -> MapRunArn:
        """The parts of a map run's ARN; InvalidArn when `text` is not one."""
        match = _MAP_RUN_ARN.match(text) if isinstance(text, str) else None
        if match is None:
            raise InvalidArn(f"Invalid Arn: 'Invalid ARN prefix: {text}'")
        return cls(match["prefix"], match["path"], match["run_id"])

    def __str__(self) -> str:
        return f"{self.prefix}:mapRun:{self.path}:{self.run_id}"

    @property
    def state_machine_arn(self) -> str:
        """The ARN its children's state machine goes by (`<machine>/<label>`)."""
        return f"{self.prefix}:stateMachine:{self.path}"

    def child_arn(self, index: int) -> str:
        """The ARN of its child `index`: named after the run and the index, so that it is the
        same child after a restart."""
        name = uuid.uuid5(_CHILD_NAMES, f"{self}#{index}")
        return f"{self.prefix}:execution:{self.path}:{name}"


def list_map_runs(store: ExecutionStore, request: Request) -> Response:
    """ListMapRuns: the map runs an execution started, oldest first."""
    validate_request("ListMapRuns", request)
    execution_arn = request["executionArn"]
    execution_parts(execution_arn)
    if store.get_execution(execution_arn) is None:
        raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{execution_arn}'")
    runs = store.list_map_runs(execution_arn)
    scope = f"map_runs:{execution_arn}"
    offset, size = page(request, scope)
    items = []
    for run in runs[offset : offset + size]:
        item: Response = {
            "executionArn": run.execution_arn,
            "mapRunArn": run.arn,
            "stateMachineArn": run.state_machine_arn,
            "startDate": run.start_date,
        }
        if run.stop_date is not None:
            item["stopDate"] = run.stop_date
        items.append(item)
    response: Response = {"mapRuns": items}
    if offset + size < len(runs):
        response["nextToken"] = encode_token(scope, [offset + size])
    return response


def describe_map_run(
    store: ExecutionStore, clock: Clock, max_history_events: int | None, request: Request
) -> Response:
    """DescribeMapRun: a run's settings, status and counts (whether its failures may be
    redriven depends on its parent: the clock and the history limit tell)."""
    validate_request("DescribeMapRun", request)
    record = _map_run(store, request["mapRunArn"])
    execution_counts, item_counts = _counts(store, clock, max_history_events, record)
    response: Response = {
        "mapRunArn": record.arn,
        "executionArn": record.execution_arn,
        "status": record.status.value,
        "startDate": record.start_date,
        "maxConcurrency": record.max_concurrency,
        "toleratedFailurePercentage": float(record.tolerated_failure_percentage or 0),
        "toleratedFailureCount": record.tolerated_failure_count or 0,
        "itemCounts": item_counts,
        "executionCounts": execution_counts,
        "redriveCount": record.redrive_count,
    }
    if record.stop_date is not None:
        response["stopDate"] = record.stop_date
    if record.redrive_date is not None:
        response["redriveDate"] = record.redrive_date
    return response


def update_map_run(store: ExecutionStore, update: Update, request: Request) -> Response:
    """UpdateMapRun: new settings for a RUNNING run's children not started yet."""
    validate_request("UpdateMapRun", request)
    changes = [
        request.get(member)
        for member in ("maxConcurrency", "toleratedFailureCount", "toleratedFailurePercentage")
    ]
    if all(change is None for change in changes):
        raise ValidationException(
            "At least one of maxConcurrency, toleratedFailureCount or toleratedFailurePercentage "
            "must be given"
        )
    record = _map_run(store, request["mapRunArn"])
    if record.status is not MapRunStatus.RUNNING:
        raise not_running(record)
    count, percentage = changes[1], changes[2]
    update(
        record,
        changes[0],
        count,
        None if percentage is None else float(percentage),
    )
    return {}


def list_map_run_executions(store: ExecutionStore, request: Request) -> Response:
    """ListExecutions with `mapRunArn`: the run's children, newest first, with how many items
    each holds (`itemCount`)."""
    arn = request["mapRunArn"]
    if request.get("stateMachineArn") is not None:
        raise ValidationException(
            "Specify either a stateMachineArn or a mapRunArn to list executions, not both"
        )
    _map_run(store, arn)
    status = request.get("statusFilter")
    redrive_filter = request.get("redriveFilter")
    listed = store.list_map_run_executions(
        arn,
        ExecutionStatus(status) if status else None,
        request.get("maxResults") or DEFAULT_PAGE_SIZE,
        request.get("nextToken"),
        redriven=None if redrive_filter is None else redrive_filter == "REDRIVEN",
    )
    executions = [
        listed_execution(child.execution) | {"mapRunArn": arn, "itemCount": child.items}
        for child in listed.items
    ]
    response: Response = {"executions": executions}
    if listed.next_token is not None:
        response["nextToken"] = listed.next_token
    return response


def not_running(record: MapRunRecord) -> ValidationException:
    """What UpdateMapRun answers for a run that has ended (modelled wording)."""
    return ValidationException(
        f"Map Run {record.arn} is {record.status.value}: only a RUNNING Map Run is updated"
    )


def _map_run(store: ExecutionStore, arn: Any) -> MapRunRecord:
    MapRunArn.parse(arn)
    record = store.get_map_run(arn)
    if record is None:
        raise ResourceNotFound(f"Resource not found: '{arn}'", arn)
    return record


def _counts(
    store: ExecutionStore, clock: Clock, max_history_events: int | None, record: MapRunRecord
) -> tuple[Response, Response]:
    """(executionCounts, itemCounts) as DescribeMapRun gives them."""
    counts = store.map_run_counts(record.arn)
    totals = (record.child_total or 0, record.item_total or 0)
    redrivable = map_run_redrives(store, clock, max_history_events, record)
    waiting = (
        store.map_run_pending_redrive(record.arn, record.redrive_count)
        if record.status is MapRunStatus.RUNNING
        else (0, 0)
    )
    described: list[Response] = []
    for place in (0, 1):

        def count(status: ExecutionStatus, place: int = place) -> int:
            return counts.get(status, (0, 0))[place]

        started = sum(pair[place] for pair in counts.values())
        ended = started - count(ExecutionStatus.RUNNING)
        written = (record.results_written if place == 0 else ended) if record.results_written else 0
        unsuccessful = sum(
            count(status)
            for status in (
                ExecutionStatus.FAILED,
                ExecutionStatus.TIMED_OUT,
                ExecutionStatus.ABORTED,
            )
        )
        described.append(
            {
                "pending": max(totals[place] - started, 0),
                "running": count(ExecutionStatus.RUNNING),
                "succeeded": count(ExecutionStatus.SUCCEEDED),
                "failed": count(ExecutionStatus.FAILED),
                "timedOut": count(ExecutionStatus.TIMED_OUT),
                "aborted": count(ExecutionStatus.ABORTED),
                "total": totals[place],
                "resultsWritten": written,
                "failuresNotRedrivable": 0 if redrivable else unsuccessful - waiting[place],
                "pendingRedrive": waiting[place],
            }
        )
    return described[0], described[1]

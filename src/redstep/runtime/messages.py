"""The requests and responses of the Step Functions operations, as the runtime passes them.

A request is a mapping with the wire's member names and a response a dict of them, so that the
CLI, the HTTP API and Python callers share one implementation (`redstep.runtime.engine`). This
module owns those two types and the request checks several operations share that botocore's
model cannot express: an execution's input and name, a member an operation needs though the
model leaves it optional, an offset page token; GetExecutionHistory's trimming of an event to its
metadata; and an execution as DescribeExecution and ListExecutions tell it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from redstep.asl.json_text import InvalidJsonText, read_json
from redstep.engine.commands import ExecutionStatus
from redstep.engine.tasks import MAX_PAYLOAD_BYTES
from redstep.runtime.arns import check_name
from redstep.runtime.errors import InvalidExecutionInput, InvalidToken, ValidationException
from redstep.runtime.store import ExecutionRecord
from redstep.runtime.tokens import decode_token

DEFAULT_PAGE_SIZE = 100

Request = Mapping[str, Any]
Response = dict[str, Any]


def required(request: Request, member: str) -> Any:
    """A member the model leaves optional that this operation needs all the same."""
    value = request.get(member)
    if value is None:
        raise ValidationException(
            f"1 validation error detected: Value null at '{member}' failed to satisfy "
            "constraint: Member must not be null"
        )
    return value


def name_and_input(request: Request) -> tuple[str, str]:
    """A start's execution name (a UUID when none is given) and input, both checked."""
    name = check_name(request.get("name") or str(uuid.uuid4()))
    text = request.get("input")
    text = "{}" if text is None else text
    check_input(text)
    return name, text


def check_input(text: Any) -> None:
    """InvalidExecutionInput, worded as AWS's, unless `text` is JSON text within the quota."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidExecutionInput(
            "Invalid State Machine Execution Input: 'Invalid execution input.'"
        )
    if len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise InvalidExecutionInput(
            "Invalid State Machine Execution Input: 'The input size exceeds the maximum allowed "
            f"({MAX_PAYLOAD_BYTES} bytes)'"
        )
    try:
        read_json(text)
    except InvalidJsonText as error:
        raise InvalidExecutionInput(
            f"Invalid State Machine Execution Input: '{error}: {text[:200]}'"
        ) from None


def page(request: Request, scope: str) -> tuple[int, int]:
    """(offset, size) of the page a listing of `scope` asks for, from its `nextToken` and
    `maxResults`."""
    token = request.get("nextToken")
    offset = decode_token(token, scope, 1)[0] if token else 0
    if not isinstance(offset, int):
        raise InvalidToken(f"Invalid Token: '{token}'")
    return offset, request.get("maxResults") or DEFAULT_PAGE_SIZE


def without_data(event: dict[str, Any]) -> dict[str, Any]:
    """An event without its input and output (GetExecutionHistory includeExecutionData=false)."""
    trimmed: dict[str, Any] = {}
    for key, value in event.items():
        if isinstance(value, dict) and key.endswith("EventDetails"):
            value = {k: v for k, v in value.items() if k not in ("input", "output")}
        trimmed[key] = value
    return trimmed


def described_execution(record: ExecutionRecord, with_data: bool) -> Response:
    """An execution as DescribeExecution tells it, but for its redrive and map run members (the
    engine's to add); `with_data` False leaves out its input and output (METADATA_ONLY)."""
    response: Response = {
        "executionArn": record.arn,
        "stateMachineArn": record.state_machine_arn,
        "name": record.name,
        "status": record.status.value,
        "startDate": record.start_date,
        "inputDetails": {"included": with_data},
    }
    if with_data:
        response["input"] = record.input
    if record.stop_date is not None:
        response["stopDate"] = record.stop_date
    if record.status is ExecutionStatus.SUCCEEDED:
        if with_data:
            response["output"] = record.output
        response["outputDetails"] = {"included": with_data}
    if record.error is not None:
        response["error"] = record.error
    if record.cause is not None:
        response["cause"] = record.cause
    return response


def listed_execution(record: ExecutionRecord) -> Response:
    """An execution as ListExecutions lists it (an ExecutionListItem)."""
    item: Response = {
        "executionArn": record.arn,
        "stateMachineArn": record.state_machine_arn,
        "name": record.name,
        "status": record.status.value,
        "startDate": record.start_date,
        "redriveCount": record.redrive_count,
    }
    if record.stop_date is not None:
        item["stopDate"] = record.stop_date
    if record.redrive_date is not None:
        item["redriveDate"] = record.redrive_date
    return item

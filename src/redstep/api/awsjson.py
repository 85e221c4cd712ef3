"""AWS's JSON protocols (awsJson 1.0 and 1.1): the `X-Amz-Target` header names the service and the
operation, the body is a JSON object, and the answer is a JSON object or an error.

    POST /  X-Amz-Target: AWSStepFunctions.StartExecution   Content-Type: application/x-amz-json-1.0
    POST /  X-Amz-Target: RedshiftData.ExecuteStatement     Content-Type: application/x-amz-json-1.1

Errors are answered as AWS's services answer them: a 4xx/5xx status and a body holding `__type`
and the error's modelled members (`message` for Step Functions, `Message` for Redshift Data).
Requests no service of ours takes get what AWS's front end answers: an unknown target is
`UnknownOperationException` and a body that is not a JSON object is `SerializationException`,
both 400 and spelled as AWS spells them (`com.amazon.coral.service#…`). Timestamps are written as
epoch seconds and blobs as base64, as botocore reads them.
"""

from __future__ import annotations

import base64
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import orjson

from redstep.dataapi.errors import DataApiError
from redstep.runtime.errors import StepFunctionsError

log = logging.getLogger("redstep.api")

MAX_BODY_BYTES = 16 * 1024 * 1024
"""The largest JSON request taken: AWS's own limits on every member are far below it."""
CORAL = "com.amazon.coral.service#"
FRONT_END_ERRORS = frozenset({"UnknownOperationException", "SerializationException"})
"""Errors AWS's request layer answers before any service code runs; their `__type` carries the
layer's namespace (`com.amazon.coral.service#SerializationException`)."""


class Service(Protocol):
    """What a JSON service offers the protocol: its operations, by their wire names."""

    @property
    def operations(self) -> list[str]: ...

    def handle(self, operation: str, request: Mapping[str, Any]) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True)
class JsonService:
    """A service as the wire names it: its target prefix, JSON version and error spelling."""

    target_prefix: str
    """`AWSStepFunctions`, `RedshiftData`: what precedes the `.` in X-Amz-Target."""
    json_version: str
    """`1.0` or `1.1`; the content type is `application/x-amz-json-<version>`."""
    message_member: str
    """`message` or `Message`: how the service's errors spell their text."""
    internal_error: str
    """The `__type` of an unexpected failure inside redstep (a 500)."""
    service: Service
    operations: frozenset[str] = field(init=False)
    """The service's operations, taken once (the service lists them anew when asked)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "operations", frozenset(self.service.operations))

    @property
    def content_type(self) -> str:
        return f"application/x-amz-json-{self.json_version}"


@dataclass(frozen=True, slots=True)
class JsonAnswer:
    """An HTTP answer of the JSON protocols: status, content type and body."""

    status: int
    body: bytes
    content_type: str
    operation: str
    """What the request log calls the call: `AWSStepFunctions.StartExecution`, or the target."""
    error: str | None = None


def answer(
    services: Mapping[str, JsonService], target: str | None, content_type: str, body: bytes
) -> JsonAnswer:
    """Run the call a JSON request asks for and write its answer (never raises)."""
    prefix, _, operation = (target or "").partition(".")
    entry = services.get(prefix)
    if entry is None or operation not in entry.operations:
        # An unknown target has no content type of its own: answer in JSON 1.0's.
        kind = entry.content_type if entry else "application/x-amz-json-1.0"
        return error_answer(400, "UnknownOperationException", {}, kind, target or "-")
    name = f"{prefix}.{operation}"
    if content_type.split(";")[0].strip().lower() != entry.content_type:
        return error_answer(400, "UnknownOperationException", {}, entry.content_type, name)
    if len(body) > MAX_BODY_BYTES:
        members = {entry.message_member: f"Request body exceeds {MAX_BODY_BYTES} bytes"}
        return error_answer(
            413, "RequestEntityTooLargeException", members, entry.content_type, name
        )
    try:
        request = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError as error:
        members = {entry.message_member: f"Request body is not JSON: {error}"}
        return error_answer(400, "SerializationException", members, entry.content_type, name)
    if not isinstance(request, dict):
        members = {entry.message_member: "Start of structure or map expected."}
        return error_answer(400, "SerializationException", members, entry.content_type, name)
    try:
        body = encode(entry.service.handle(operation, request))
    except (StepFunctionsError, DataApiError) as error:
        return error_answer(
            error.http_status, error.code, error.members(), entry.content_type, name
        )
    except Exception:
        log.exception("%s failed", name)
        members = {entry.message_member: "An internal error occurred in redstep; see its log."}
        return error_answer(500, entry.internal_error, members, entry.content_type, name)
    return JsonAnswer(200, body, entry.content_type, name)


def encode(value: Mapping[str, Any]) -> bytes:
    """A response as botocore reads it: datetimes as epoch seconds, bytes as base64, and NaN or
    an infinity (handed over as a float subclass, see `NonFiniteDouble`) as Smithy's strings."""
    return orjson.dumps(value, default=_wire_value, option=orjson.OPT_PASSTHROUGH_DATETIME)


def _wire_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, float):  # orjson asks only for float subclasses
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return float(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def error_answer(
    status: int,
    code: str,
    members: Mapping[str, str],
    content_type: str,
    operation: str,
) -> JsonAnswer:
    """An error as the JSON protocols write it: `__type` (namespaced for the front end's own
    errors) and the error's members."""
    wire_type = f"{CORAL}{code}" if code in FRONT_END_ERRORS else code
    body = encode({"__type": wire_type, **members})
    return JsonAnswer(status, body, content_type, operation, error=code)

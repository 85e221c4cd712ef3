"""Lambda: `arn:aws:states:::lambda:invoke` and a function's ARN as the resource, over the
project's local functions.

`lambda:invoke` answers with Lambda's Invoke response (`Payload`, `StatusCode`,
`ExecutedVersion`, …); a function ARN as the resource answers with the function's result alone.
A function error fails the task with the error's type as its name (`ValueError`,
`Runtime.ExitError`) and Lambda's error object as its cause; an error Lambda gives no type for (a
function that timed out) is `Lambda.Unknown`, as Step Functions names it. Every version and
alias runs the project's code as it is: the executed version is always `$LATEST`.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from redstep.functions import (
    LATEST,
    Functions,
    Invocation,
    InvocationResult,
    RequestEntityTooLargeException,
)
from redstep.integrations.failure import TaskFailure
from redstep.integrations.job import Job
from redstep.integrations.optimized import compact_json, http_date, http_metadata, service_error

UNKNOWN_ERROR = "Lambda.Unknown"
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")

#: FunctionName as Lambda takes it: a name, a partial ARN or a full ARN, each with an optional
#: version or alias after a colon.
_FUNCTION_NAME = re.compile(
    r"(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):)?(?:(?P<account>\d{12}):)?"
    r"(?:function:)?(?P<name>[a-zA-Z0-9_-]{1,64})(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?\Z"
)


def invoke(functions: Functions, parameters: Any, job: Job) -> dict[str, Any]:
    """`lambda:invoke` with its Parameters (FunctionName, Payload, InvocationType, Qualifier)."""
    if not isinstance(parameters, dict):
        raise _validation("The Parameters of lambda:invoke must be an object")
    name = _function_name(functions, parameters.get("FunctionName"))
    invocation_type = parameters.get("InvocationType", "RequestResponse")
    if invocation_type not in INVOCATION_TYPES:
        raise _validation(
            f"1 validation error detected: Value '{invocation_type}' at 'invocationType' failed "
            f"to satisfy constraint: Member must satisfy enum value set: {list(INVOCATION_TYPES)}"
        )
    request_id = str(uuid.uuid4())
    if invocation_type == "DryRun":
        return _response(request_id, 204, "", 0)
    invocation = _invoke(functions, name, parameters.get("Payload"), job, request_id)
    if invocation_type == "Event":  # queued: the task does not wait for the function
        return _response(request_id, 202, "", 0)
    result = _result(invocation, job)
    _raise_function_error(result)
    return _response(request_id, result.status_code, _decoded(result.payload), len(result.payload))


def call_function(functions: Functions, function_arn: str, payload: Any, job: Job) -> Any:
    """A function's ARN as the resource: the effective input in, the function's result out."""
    name = _function_name(functions, function_arn)
    result = _result(_invoke(functions, name, payload, job, str(uuid.uuid4())), job)
    _raise_function_error(result, compact=False)
    return _decoded(result.payload)


def _invoke(functions: Functions, name: str, payload: Any, job: Job, request_id: str) -> Invocation:
    try:
        return functions.invoke(name, _payload_text(payload), log=job.log, request_id=request_id)
    except RequestEntityTooLargeException as error:
        raise service_error(
            "Lambda.RequestEntityTooLargeException",
            "AWSLambda",
            "RequestEntityTooLargeException",
            str(error),
            413,
        ) from None


def _result(invocation: Invocation, job: Job) -> InvocationResult:
    """The function's answer; cancelling the task kills its worker."""
    job.on_cancel(invocation.cancel)
    return invocation.result()


def _function_name(functions: Functions, given: object) -> str:
    if given is None:
        raise _validation(
            "1 validation error detected: Value null at 'functionName' failed to satisfy "
            "constraint: Member must not be null"
        )
    match = _FUNCTION_NAME.match(given) if isinstance(given, str) else None
    if match is None:
        raise _validation(
            f"1 validation error detected: Value '{given}' at 'functionName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: "
            r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?"
            r"(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?"
        )
    name = match["name"]
    if name not in functions:
        raise service_error(
            "Lambda.ResourceNotFoundException",
            "AWSLambda",
            "ResourceNotFoundException",
            f"Function not found: {functions.arn(name)}",
            404,
        )
    return name


def _payload_text(payload: Any) -> bytes:
    """What the function receives: the Payload as JSON text (none, or null, as `{}`)."""
    if payload is None:
        return b"{}"
    return compact_json(payload).encode()


def _decoded(payload: bytes) -> Any:
    """The function's answer as the task sees it: JSON decoded, or the text when it is not JSON."""
    text = payload.decode(errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _raise_function_error(result: InvocationResult, *, compact: bool = True) -> None:
    """A function error as the task's failure: named by its type, Lambda's error object as the
    cause (re-written compactly by lambda:invoke, as the runtime wrote it for a function ARN)."""
    if result.function_error is None:
        return
    text = result.payload.decode(errors="replace")
    error = _decoded(result.payload)
    error_type = error.get("errorType") if isinstance(error, dict) else None
    if compact and isinstance(error, dict):
        text = compact_json(error)
    if isinstance(error_type, str) and error_type:
        raise TaskFailure(error_type, text)
    raise TaskFailure(
        UNKNOWN_ERROR,
        "The cause could not be determined because Lambda did not return an error type. "
        f"Returned payload: {text}",
    )


def _response(request_id: str, status: int, payload: Any, length: int) -> dict[str, Any]:
    """Lambda's Invoke response as the lambda:invoke integration returns it: the payload and
    the HTTP response it came in (`AllHttpHeaders` in the order Lambda sends them,
    `HttpHeaders` sorted)."""
    headers = {
        "X-Amz-Executed-Version": LATEST,
        "x-amzn-Remapped-Content-Length": "0",
        "Connection": "keep-alive",
        "x-amzn-RequestId": request_id,
        "Content-Length": str(length),
        "Date": http_date(),
        "Content-Type": "application/json",
    }
    return {
        "ExecutedVersion": LATEST,
        "Payload": payload,
        "SdkHttpMetadata": http_metadata(headers, status),
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": status,
    }


def _validation(message: str) -> TaskFailure:
    """A request Lambda refuses: the SDK names an error it does not model by its service."""
    return service_error("Lambda.AWSLambdaException", "AWSLambda", "ValidationException", message)

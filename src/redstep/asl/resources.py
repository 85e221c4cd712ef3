"""What a Task state's `Resource` names: a service integration and its pattern, a Lambda
function, or an activity.

    arn:aws:states:::lambda:invoke                       Lambda, request-response
    arn:aws:states:::lambda:invoke.waitForTaskToken      ... then wait for the task token
    arn:aws:states:::states:startExecution.sync:2        a nested execution, run to its end
    arn:aws:states:::aws-sdk:redshiftdata:executeStatement
    arn:aws:lambda:us-east-1:123456789012:function:NAME  a Lambda function, called directly

AWS refuses, when a state machine is created, a resource that is none of these, and a pattern
the service does not support (AWS's table, "Integrating services with Step Functions"): Lambda
and the AWS SDK integrations answer at once or wait for a callback, never run a job (`.sync`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Pattern(StrEnum):
    """How Step Functions waits on a service (the resource's suffix)."""

    REQUEST_RESPONSE = ""
    SYNC = ".sync"
    SYNC_JSON = ".sync:2"
    CALLBACK = ".waitForTaskToken"


@dataclass(frozen=True, slots=True)
class Integration:
    """`arn:aws:states:::<service>:<action><pattern>`."""

    service: str  # "lambda", "states", "aws-sdk:s3", ...
    action: str  # "invoke", "startExecution", "getObject", ...
    pattern: Pattern


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """A Lambda function's ARN as the resource: its input is the payload, its result the output."""

    function_arn: str


Resource = Integration | FunctionCall

_INTEGRATION = re.compile(
    r"arn:aws[a-z-]*:states:[a-z0-9-]*:(?:\d{12})?:"
    r"(?P<service>aws-sdk:[a-z0-9]+|[a-z0-9-]+):(?P<action>[A-Za-z0-9]+)"
    r"(?P<pattern>\.sync:2|\.sync|\.waitForTaskToken)?\Z"
)
_FUNCTION = re.compile(
    r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(?::[A-Za-z0-9$_-]+)?\Z"
)

_ACTIVITY = re.compile(r"arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:activity:[^:]+\Z")

#: The services whose integrations never run a job (`.sync`, `.sync:2`).
_NO_JOBS = ("lambda", "aws-sdk:")


def parse_resource(resource: str) -> Resource | None:
    """The integration or function a resource names; None when it is neither."""
    if _FUNCTION.match(resource):
        return FunctionCall(resource)
    match = _INTEGRATION.match(resource)
    if match is None:
        return None
    return Integration(match["service"], match["action"], Pattern(match["pattern"] or ""))


def is_callback(resource: str) -> bool:
    """Whether the task waits for SendTaskSuccess or its kin (`.waitForTaskToken`)."""
    return resource.endswith(Pattern.CALLBACK.value)


def is_function(resource: str) -> bool:
    """Whether the resource is a Lambda function's ARN, called directly."""
    return _FUNCTION.match(resource) is not None


def unrecognized(resource: str) -> str:
    """What AWS says of a resource it does not take."""
    return (
        f"The resource provided {resource} is not recognized. The value is not a valid resource "
        "ARN, or the resource is not available in this region."
    )


def is_recognized(resource: str) -> bool:
    """Whether AWS would take this resource in a definition (redstep may still not run it)."""
    if _ACTIVITY.match(resource):
        return True
    parsed = parse_resource(resource)
    if isinstance(parsed, Integration) and parsed.pattern in (Pattern.SYNC, Pattern.SYNC_JSON):
        return not parsed.service.startswith(_NO_JOBS)
    return parsed is not None

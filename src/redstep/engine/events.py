"""History events, shaped exactly as GetExecutionHistory returns them.

An event is a plain dict: `timestamp`, `type`, `id`, `previousEventId` and at most one details
member (`stateEnteredEventDetails`, …). Payloads inside details are JSON text, as on the wire.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from redstep.asl.model import (
    ChoiceState,
    FailState,
    MapState,
    ParallelState,
    PassState,
    State,
    SucceedState,
    TaskState,
    WaitState,
)
from redstep.asl.resources import is_function

HistoryEvent = dict[str, Any]

#: The prefix of `<Prefix>StateEntered` / `…Exited` / `…Aborted` for each node type.
STATE_EVENT_PREFIX: dict[type[State], str] = {
    PassState: "Pass",
    TaskState: "Task",
    ChoiceState: "Choice",
    WaitState: "Wait",
    SucceedState: "Succeed",
    FailState: "Fail",
    ParallelState: "Parallel",
    MapState: "Map",
}

#: The details member each event type carries (types absent here carry none).
DETAILS_KEY: dict[str, str] = {
    "ExecutionStarted": "executionStartedEventDetails",
    "ExecutionSucceeded": "executionSucceededEventDetails",
    "ExecutionFailed": "executionFailedEventDetails",
    "ExecutionAborted": "executionAbortedEventDetails",
    "ExecutionTimedOut": "executionTimedOutEventDetails",
    "TaskScheduled": "taskScheduledEventDetails",
    "TaskStarted": "taskStartedEventDetails",
    "TaskSubmitted": "taskSubmittedEventDetails",
    "TaskSucceeded": "taskSucceededEventDetails",
    "TaskFailed": "taskFailedEventDetails",
    "TaskTimedOut": "taskTimedOutEventDetails",
    "LambdaFunctionScheduled": "lambdaFunctionScheduledEventDetails",
    "LambdaFunctionSucceeded": "lambdaFunctionSucceededEventDetails",
    "LambdaFunctionFailed": "lambdaFunctionFailedEventDetails",
    "LambdaFunctionTimedOut": "lambdaFunctionTimedOutEventDetails",
    "MapStateStarted": "mapStateStartedEventDetails",
    "MapIterationStarted": "mapIterationStartedEventDetails",
    "MapIterationSucceeded": "mapIterationSucceededEventDetails",
    "MapIterationFailed": "mapIterationFailedEventDetails",
    "MapIterationAborted": "mapIterationAbortedEventDetails",
    "MapRunStarted": "mapRunStartedEventDetails",
    "MapRunFailed": "mapRunFailedEventDetails",
    "MapRunRedriven": "mapRunRedrivenEventDetails",
    "ExecutionRedriven": "executionRedrivenEventDetails",
    "EvaluationFailed": "evaluationFailedEventDetails",
}


def details_key(event_type: str) -> str | None:
    """The details member of an event type: stateEnteredEventDetails for any `…StateEntered`."""
    if event_type.endswith("StateEntered"):
        return "stateEnteredEventDetails"
    if event_type.endswith("StateExited"):
        return "stateExitedEventDetails"
    return DETAILS_KEY.get(event_type)


def make_event(
    event_type: str,
    event_id: int,
    previous_id: int,
    timestamp: datetime,
    details: dict[str, Any] | None = None,
) -> HistoryEvent:
    event: HistoryEvent = {
        "timestamp": timestamp,
        "type": event_type,
        "id": event_id,
        "previousEventId": previous_id,
    }
    if details is not None:
        key = details_key(event_type)
        assert key is not None, f"{event_type} carries no details"
        event[key] = details
    return event


def payload(text: str, field: str) -> dict[str, Any]:
    """`{field: text, fieldDetails: {truncated: false}}` as AWS writes inputs and outputs."""
    return {field: text, f"{field}Details": {"truncated": False}}


def resource_parts(resource: str) -> tuple[str, str]:
    """(resourceType, resource) as Task events name them.

    `arn:aws:states:::lambda:invoke` → ("lambda", "invoke");
    `arn:aws:states:::aws-sdk:s3:getObject.sync` → ("aws-sdk:s3", "getObject.sync");
    a Lambda function or activity ARN → ("lambda" | "activity", the ARN).
    """
    parts = resource.split(":")
    if len(parts) >= 6 and parts[2] == "states" and parts[5]:
        service = parts[5:]
        return ":".join(service[:-1]) or service[0], service[-1]
    if len(parts) >= 3 and parts[2] == "lambda":
        return "lambda", resource
    if len(parts) >= 6 and parts[5] == "activity":
        return "activity", resource
    return parts[2] if len(parts) > 2 else resource, resource


def task_event(
    resource: str, step: str, details: dict[str, Any]
) -> tuple[str, dict[str, Any] | None]:
    """The event of a Task's `step` (Scheduled, Started, Submitted, Succeeded, Failed, TimedOut)
    and its details: `Task<step>` naming the resource, or, for a Lambda function's ARN,
    `LambdaFunction<step>` as AWS records those (the parameters as `input`, no resource after
    scheduling, no details when started)."""
    if not is_function(resource):
        resource_type, name = resource_parts(resource)
        return f"Task{step}", {"resourceType": resource_type, "resource": name, **details}
    if step == "Started":
        return "LambdaFunctionStarted", None
    if step == "Scheduled":
        scheduled = {**payload(details["parameters"], "input"), "resource": resource}
        if "timeoutInSeconds" in details:
            scheduled["timeoutInSeconds"] = details["timeoutInSeconds"]
        return "LambdaFunctionScheduled", scheduled
    return f"LambdaFunction{step}", details

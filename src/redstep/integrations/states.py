"""Step Functions: `arn:aws:states:::states:startExecution`, and `.sync` / `.sync:2` to wait for
the child's end.

The child is started on the same engine. Without a Name it gets a UUID, as on AWS, derived
from the parent's task so that starting it again (after a restart) finds the same child:
StartExecution is idempotent for a name and input. `.sync` answers with the child's
DescribeExecution (`Input` and `Output` as JSON text; parsed with `.sync:2`); a child that did
not succeed fails the task with States.TaskFailed and that description as the cause. Stopping
the parent's task (StopExecution, a timeout) stops the child. Put
`"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"` in the Input to link the
child to its parent, as AWS's console does.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from email.utils import formatdate
from typing import Any

from redstep.asl.resources import Pattern
from redstep.integrations.failure import TaskFailure
from redstep.integrations.job import Job
from redstep.runtime.engine import Engine
from redstep.runtime.errors import StepFunctionsError

#: How often a `.sync` task looks whether it was cancelled while its child runs on.
POLL_SECONDS = 1.0
_CHILD_NAMES = uuid.UUID("6f1f9a3e-2b9c-4c55-9d38-5b6f3a1c0e21")


def start_execution(
    engine: Engine,
    parameters: Any,
    pattern: Pattern,
    job: Job,
    submitted: Callable[[Any], None],
) -> Any:
    """Start the child; with `.sync`/`.sync:2`, tell `submitted` and wait for its end."""
    if not isinstance(parameters, dict):
        raise _failure("ValidationException", "The Parameters of startExecution must be an object")
    request: dict[str, Any] = {
        "stateMachineArn": parameters.get("StateMachineArn"),
        "name": parameters.get("Name") or str(uuid.uuid5(_CHILD_NAMES, job.task_token)),
    }
    given = parameters.get("Input")
    if given is not None:
        request["input"] = given if isinstance(given, str) else _json(given)
    try:
        started = engine.start_execution(request)
    except StepFunctionsError as error:
        raise _failure(error.code, error.message) from None
    child = started["executionArn"]
    answer = {
        "ExecutionArn": child,
        "SdkHttpMetadata": _http_metadata(),
        "SdkResponseMetadata": {"RequestId": str(uuid.uuid4())},
        "StartDate": _millis(started["startDate"]),
    }
    if pattern not in (Pattern.SYNC, Pattern.SYNC_JSON):
        return answer
    job.on_cancel(lambda: _stop(engine, child, job.execution_arn))
    submitted(answer)
    while not engine.executor.wait(child, POLL_SECONDS):
        if job.is_cancelled:
            return None
    described = _described(engine.describe_execution({"executionArn": child}), pattern)
    if described["Status"] != "SUCCEEDED":
        raise TaskFailure("States.TaskFailed", _json(dict(sorted(described.items()))))
    return described


def _described(response: dict[str, Any], pattern: Pattern) -> dict[str, Any]:
    """DescribeExecution as the `.sync` integrations return it: PascalCase members, dates in
    epoch milliseconds, `Input` and `Output` parsed with `.sync:2`."""
    described: dict[str, Any] = {}
    for member, value in response.items():
        name = member[0].upper() + member[1:]
        if isinstance(value, datetime):
            value = _millis(value)
        elif isinstance(value, dict):
            value = {key[0].upper() + key[1:]: item for key, item in value.items()}
        elif name in ("Input", "Output") and pattern is Pattern.SYNC_JSON:
            value = json.loads(value)
        described[name] = value
    return dict(sorted(described.items()))


def _stop(engine: Engine, child: str, parent: str) -> None:
    cause = f"The task of {parent} that started this execution no longer waits for it"
    with contextlib.suppress(StepFunctionsError):  # it ended meanwhile
        engine.stop_execution({"executionArn": child, "cause": cause})


def _failure(code: str, message: str) -> TaskFailure:
    """A Step Functions API error as the integration names it."""
    exception = code if code.endswith("Exception") else f"{code}Exception"
    return TaskFailure(
        f"StepFunctions.{exception}",
        f"{message} (Service: AWSStepFunctions; Status Code: 400; Error Code: {code}; "
        f"Request ID: {uuid.uuid4()}; Proxy: null)",
    )


def _http_metadata() -> dict[str, Any]:
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "Date": formatdate(usegmt=True),
        "connection": "keep-alive",
        "x-amzn-RequestId": str(uuid.uuid4()),
    }
    return {
        "AllHttpHeaders": {name: [value] for name, value in headers.items()},
        "HttpHeaders": headers,
        "HttpStatusCode": 200,
    }


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

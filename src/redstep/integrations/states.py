"""Step Functions: `arn:aws:states:::states:startExecution`, and `.sync` / `.sync:2` to wait for
the child's end.

The child is started on the same engine. Without a Name it gets a UUID, as on AWS, derived
from the parent's task, so that a task run again after a restart finds the child it started;
one that had told its start joins the child again. `.sync` answers with the child's
DescribeExecution (`Input` and `Output` as JSON text; parsed with `.sync:2`); a child that did
not succeed fails the task with States.TaskFailed and that description as the cause. Stopping
the parent's task (StopExecution, a timeout) stops the child. Put
`"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"` in the Input to link the
child to its parent, as AWS's console does.

The child may be an EXPRESS state machine's execution (the parent may not: an Express
definition runs no `.sync` task). AWS's DescribeExecution refuses its ARN, so the task reads it
from redstep's in-memory Express executions (`redstep.runtime.express`), pinned there from its
start until the task has its answer, so that other Express executions ending meanwhile cannot
push it out. A restart forgets every Express execution: a task that joins one again after a
restart fails with States.TaskFailed (`EXPRESS_CHILD_GONE`) instead of waiting forever.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from redstep.asl.resources import Pattern
from redstep.integrations.failure import TaskFailure
from redstep.integrations.job import Job
from redstep.integrations.optimized import compact_json, http_date, http_metadata, service_error
from redstep.integrations.sdk import error_name
from redstep.runtime import express
from redstep.runtime.arns import state_machine_name
from redstep.runtime.engine import Engine
from redstep.runtime.errors import ExecutionAlreadyExists, StepFunctionsError
from redstep.runtime.messages import name_and_input
from redstep.runtime.state_machine_api import existing_state_machine
from redstep.runtime.validation import validate_request

#: How often a `.sync` task looks whether it was cancelled while its child runs on.
POLL_SECONDS = 1.0
_CHILD_NAMES = uuid.UUID("6f1f9a3e-2b9c-4c55-9d38-5b6f3a1c0e21")
#: The cause of States.TaskFailed for a `.sync` task whose Express child a restart forgot.
EXPRESS_CHILD_GONE = (
    "The Express execution {child} that this task started is gone: redstep keeps Express "
    "executions in memory only, and it stopped while the execution ran. Use a STANDARD child "
    "state machine for a child that must survive a restart"
)


def start_execution(
    engine: Engine,
    parameters: Any,
    pattern: Pattern,
    job: Job,
    submitted: Callable[[Any], None],
    submission: Any = None,
) -> Any:
    """Start the child; with `.sync`/`.sync:2`, tell `submitted` and wait for its end.

    `submission` is the start's answer from before a restart: the child is joined, not started
    again.
    """
    if isinstance(submission, dict) and isinstance(submission.get("ExecutionArn"), str):
        return _joined(engine, submission["ExecutionArn"], pattern, job)
    is_joined = pattern in (Pattern.SYNC, Pattern.SYNC_JSON)
    answer = _start(engine, parameters, job, is_joined=is_joined)
    if not is_joined:
        return answer
    child = answer["ExecutionArn"]
    job.on_cancel(lambda: _stop(engine, child, job.execution_arn))
    try:
        submitted(answer)
    except BaseException:
        engine.express.store.release(child)  # no task will join it (a no-op for a Standard one)
        raise
    return _joined(engine, child, pattern, job)


def _start(engine: Engine, parameters: Any, job: Job, *, is_joined: bool) -> dict[str, Any]:
    """StartExecution as the integration answers it. Without a Name, the child's is derived
    from the task's token: an execution of that name is this task's own child, started before
    redstep stopped, and is answered as if just started. A child the task joins (`is_joined`)
    that is an Express execution is pinned in memory until `_joined_express` releases it."""
    if not isinstance(parameters, dict):
        raise _failure("ValidationException", "The Parameters of startExecution must be an object")
    named = parameters.get("Name")
    request: dict[str, Any] = {
        "stateMachineArn": parameters.get("StateMachineArn"),
        "name": named or str(uuid.uuid5(_CHILD_NAMES, job.task_token)),
    }
    given = parameters.get("Input")
    if given is not None:
        request["input"] = given if isinstance(given, str) else compact_json(given)
    try:
        started = (
            _start_pinned_express(engine, request) if is_joined else engine.start_execution(request)
        )
    except ExecutionAlreadyExists as error:
        if named:
            raise _failure(error.code, error.message) from None
        machine = state_machine_name(request["stateMachineArn"])
        arn = engine.region.execution_arn(machine, request["name"])
        started = engine.describe_execution({"executionArn": arn})
    except StepFunctionsError as error:
        raise _failure(error.code, error.message) from None
    return {
        "ExecutionArn": started["executionArn"],
        "SdkHttpMetadata": http_metadata(
            {
                "x-amzn-RequestId": str(uuid.uuid4()),
                "connection": "keep-alive",
                "Content-Type": "application/x-amz-json-1.0",
                "Date": http_date(),
            },
            200,
        ),
        "SdkResponseMetadata": {"RequestId": str(uuid.uuid4())},
        "StartDate": _millis(started["startDate"]),
    }


def _start_pinned_express(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    """StartExecution, but an Express child is kept in memory until released: the checks and
    the start of `Engine.start_execution`'s Express branch, with the pin it does not offer."""
    validate_request("StartExecution", request)
    machine = existing_state_machine(engine.store, request["stateMachineArn"])
    if machine.type != express.EXPRESS:
        return engine.start_execution(request)
    name, text = name_and_input(request)
    return express.started(engine.express.start(machine, name, text, pinned=True))


def _joined(engine: Engine, child: str, pattern: Pattern, job: Job) -> Any:
    """Wait for the child's end: its description when it succeeded, else States.TaskFailed."""
    if express.is_express_arn(child):
        return _joined_express(engine, child, pattern, job)
    job.on_cancel(lambda: _stop(engine, child, job.execution_arn))
    while not engine.executor.wait(child, POLL_SECONDS):
        if job.is_cancelled:
            return None
    described = _described(engine.describe_execution({"executionArn": child}), pattern)
    if described["Status"] != "SUCCEEDED":
        raise TaskFailure("States.TaskFailed", compact_json(described))
    return described


def _joined_express(engine: Engine, child: str, pattern: Pattern, job: Job) -> Any:
    """`_joined` for an Express child: described from memory, released once the task has its
    answer (or no longer waits); States.TaskFailed when a restart forgot it."""
    if not engine.express.store.is_express(child):
        raise TaskFailure("States.TaskFailed", EXPRESS_CHILD_GONE.format(child=child))
    job.on_cancel(lambda: _stop(engine, child, job.execution_arn))
    try:
        while not engine.executor.wait(child, POLL_SECONDS):
            if job.is_cancelled:
                return None
        described = _described(engine.express.describe(child), pattern)
    finally:
        engine.express.store.release(child)
    if described["Status"] != "SUCCEEDED":
        raise TaskFailure("States.TaskFailed", compact_json(described))
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
    if express.is_express_arn(child):  # StopExecution refuses its ARN, as AWS's does
        engine.express.stop(child, cause=cause)
        return
    with contextlib.suppress(StepFunctionsError):  # it ended meanwhile
        engine.stop_execution({"executionArn": child, "cause": cause})


def _failure(code: str, message: str) -> TaskFailure:
    """A Step Functions API error as the integration names it."""
    return service_error(error_name("StepFunctions", code), "AWSStepFunctions", code, message)


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)

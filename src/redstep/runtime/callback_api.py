"""Task callbacks as the Step Functions API tells them: SendTaskSuccess, SendTaskFailure and
SendTaskHeartbeat (the Engine registers them), answering a task that waits for its token
(`.waitForTaskToken`).

A task token names its execution and task (`redstep.runtime.arns.task_token_parts`); the answer
goes to the executor (`Executor.answer_task`). Wordings: InvalidToken's and TaskTimedOut's are
AWS's; InvalidOutput's and TaskDoesNotExist's are modelled.
"""

from __future__ import annotations

from redstep.asl.json_text import InvalidJsonText, read_json
from redstep.engine.signals import TaskFailed, TaskHeartbeat, TaskSucceeded
from redstep.runtime.arns import task_token_parts
from redstep.runtime.errors import (
    InvalidOutput,
    InvalidToken,
    StepFunctionsError,
    TaskDoesNotExist,
    TaskTimedOut,
)
from redstep.runtime.executor import Delivery, Executor, TaskAnswer
from redstep.runtime.messages import Request, Response
from redstep.runtime.validation import validate_request

#: How long SendTask* waits for the executor to take the answer before giving up.
ANSWER_WAIT_SECONDS = 10.0


def send_task_success(executor: Executor, request: Request) -> Response:
    """The task of `taskToken` succeeded with `output` (JSON text). InvalidOutput's wording
    is modelled."""
    validate_request("SendTaskSuccess", request)
    execution_arn, task_id = _task_of(request["taskToken"])
    text = request["output"]
    try:
        output = read_json(text)
    except InvalidJsonText as error:
        raise InvalidOutput(f"Invalid Output: '{error}'") from None
    _answer_task(executor, execution_arn, TaskSucceeded(task_id, output))
    return {}


def send_task_failure(executor: Executor, request: Request) -> Response:
    """The task of `taskToken` failed with `error` and `cause` (either may be absent)."""
    validate_request("SendTaskFailure", request)
    execution_arn, task_id = _task_of(request["taskToken"])
    failed = TaskFailed(task_id, request.get("error"), request.get("cause"))
    _answer_task(executor, execution_arn, failed)
    return {}


def send_task_heartbeat(executor: Executor, request: Request) -> Response:
    """The task of `taskToken` is alive: its HeartbeatSeconds starts over."""
    validate_request("SendTaskHeartbeat", request)
    execution_arn, task_id = _task_of(request["taskToken"])
    _answer_task(executor, execution_arn, TaskHeartbeat(task_id))
    return {}


def _answer_task(executor: Executor, execution_arn: str, answer: TaskAnswer) -> None:
    """Deliver the answer; a 500 (InternalServerError) when the executor is too busy to take
    it in time, and then the answer has had no effect, so that the retry botocore makes of
    a 500 finds the task still open."""
    try:
        delivery = executor.answer_task(execution_arn, answer, ANSWER_WAIT_SECONDS)
    except TimeoutError:
        raise StepFunctionsError(
            f"The executor was too busy to take the answer within {ANSWER_WAIT_SECONDS:g} "
            "seconds; nothing was delivered and the task is unchanged: send the answer again"
        ) from None
    match delivery:
        case Delivery.DELIVERED:
            return
        case Delivery.TASK_CLOSED:
            raise TaskTimedOut("Task Timed Out: 'Provided task does not exist anymore'")
        case Delivery.NO_TASK:  # wording modelled on TaskTimedOut's
            raise TaskDoesNotExist("Task Does Not Exist: 'Provided task does not exist'")


def _task_of(token: str) -> tuple[str, int]:
    """(execution ARN, task id) of a task token; InvalidToken, worded as AWS's, when the token
    is not one this engine issued."""
    parts = task_token_parts(token)
    if parts is None:
        raise InvalidToken("Invalid Token: 'Invalid token'")
    return parts

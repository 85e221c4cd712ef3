"""State machines that use every integration, run end to end on a project's services: local
functions whose own boto3 clients reach redstep, the Data API and S3 called directly, nested
executions, callbacks, and every error path named as AWS names it."""

from __future__ import annotations

import json
import os
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from redstep.api.local_endpoint import open_services
from redstep.project import Project, load_project
from redstep.runtime.clock import VirtualClock
from redstep.runtime.errors import StateMachineDoesNotExist
from redstep.services import Services

TARGET = {"ClusterIdentifier": "local", "Database": "dev", "DbUser": "awsuser"}
ROLE = "arn:aws:iam::123456789012:role/test"
INVOKE = "arn:aws:states:::lambda:invoke"

HANDLERS = {
    "batch": """
        import time
        import boto3

        def handler(event, context):
            data = boto3.client("redshift-data")
            submitted = data.batch_execute_statement(Sqls=event["sqls"], **event["target"])
            while True:
                described = data.describe_statement(Id=submitted["Id"])
                if described["Status"] in ("FINISHED", "FAILED", "ABORTED"):
                    statements = len(described["SubStatements"])
                    return {"Status": described["Status"], "Statements": statements}
                time.sleep(0.02)
    """,
    "read_script": """
        import boto3

        def handler(event, context):
            print("reading", event["key"])
            obj = boto3.client("s3").get_object(Bucket=event["bucket"], Key=event["key"])
            return {"script": obj["Body"].read().decode()}
    """,
    "fails": """
        def handler(event, context):
            raise ValueError("row 7 is bad")
    """,
    "slow": """
        import os, pathlib, time

        def handler(event, context):
            if "pid_file" in event:
                pathlib.Path(event["pid_file"]).write_text(str(os.getpid()))
            time.sleep(event.get("seconds", 30))
            return "woke"
    """,
    "exits": """
        import sys

        def handler(event, context):
            sys.exit(3)
    """,
    "hand_off": """
        import pathlib

        def handler(event, context):
            pathlib.Path(event["path"]).write_text(event["token"])
            return {"handed": True}
    """,
    "echo": """
        def handler(event, context):
            return {"event": event, "function": context.function_name}
    """,
}
HANDLERS["sleepy"] = HANDLERS["slow"]  # the same code, with a function timeout of 30 s
TIMEOUTS = {"slow": 1}


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A project with a bucket and a function per handler above."""
    (tmp_path / "functions").mkdir()
    (tmp_path / "scripts").mkdir()
    config = ['[buckets.scripts]\npath = "scripts"\n']
    for name, code in HANDLERS.items():
        (tmp_path / "functions" / f"{name}.py").write_text(textwrap.dedent(code))
        config.append(
            f'[functions.{name}]\nhandler = "functions/{name}.py:handler"\n'
            f"timeout = {TIMEOUTS.get(name, 30)}\n"
        )
    (tmp_path / "redstep.toml").write_text("\n".join(config))
    return load_project(tmp_path)


@pytest.fixture
def services(project: Project) -> Iterator[Services]:
    """The project's services, open with a virtual clock (Wait states cost nothing) and the
    endpoint its functions call."""
    with open_services(project, clock=VirtualClock()) as opened:
        yield opened


def run(
    services: Services, states: dict[str, Any], given: Any = None, name: str = "machine"
) -> dict[str, Any]:
    """Create a state machine of `states` (StartAt: the first), run it to its end, describe it."""
    engine = services.engine
    machine = engine.create_state_machine(
        {
            "name": name,
            "definition": json.dumps({"StartAt": next(iter(states)), "States": states}),
            "roleArn": ROLE,
        }
    )
    started = engine.start_execution(
        {"stateMachineArn": machine["stateMachineArn"], "input": json.dumps(given or {})}
    )
    return engine.wait(started["executionArn"], timeout=60)


def history(services: Services, execution_arn: str) -> list[dict[str, Any]]:
    return services.engine.get_execution_history(
        {"executionArn": execution_arn, "maxResults": 1000}
    )["events"]


def invoke(function: str, payload: Any, **more: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": INVOKE,
        "Parameters": {"FunctionName": function, "Payload": payload},
        "End": True,
        **more,
    }


def caught(**task: Any) -> dict[str, Any]:
    """A task whose every failure is caught into $.failure, then the execution succeeds."""
    return {
        "T": {
            **task,
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Ok"}],
        },
        "Ok": {"Type": "Pass", "End": True},
    }


def output(described: dict[str, Any]) -> Any:
    assert described["status"] == "SUCCEEDED", described
    return json.loads(described["output"])


# -- Lambda functions ------------------------------------------------------------------------


def test_a_handler_runs_sql_through_its_own_boto3_client(services: Services) -> None:
    sqls = [
        "create table public.sales (id int, amount decimal(10,2))",
        "insert into public.sales values (1, 9.50), (2, 3.25)",
    ]
    described = run(services, {"T": invoke("batch", {"sqls": sqls, "target": TARGET})})
    result = output(described)
    assert result["Payload"] == {"Status": "FINISHED", "Statements": 2}
    assert result["StatusCode"] == 200
    assert result["ExecutedVersion"] == "$LATEST"
    assert result["SdkHttpMetadata"]["HttpStatusCode"] == 200
    assert set(result) == {
        "ExecutedVersion",
        "Payload",
        "SdkHttpMetadata",
        "SdkResponseMetadata",
        "StatusCode",
    }
    counted = services.dataapi.handle(
        "ExecuteStatement",
        {"Sql": "select count(*) from public.sales", "WaitTimeSeconds": 20, **TARGET},
    )
    rows = services.dataapi.handle("GetStatementResult", {"Id": counted["Id"]})["Records"]
    assert rows == [[{"longValue": 2}]]


def test_a_handler_reads_a_script_from_a_bucket_and_logs_per_execution(
    services: Services,
) -> None:
    (services.project.root / "scripts" / "sql").mkdir()
    (services.project.root / "scripts" / "sql" / "setup.sql").write_text("select 1;")
    described = run(
        services,
        {"T": invoke("read_script", {"bucket": "scripts", "key": "sql/setup.sql"})},
    )
    assert output(described)["Payload"] == {"script": "select 1;"}
    log = services.integrations.log_path(described["executionArn"]).read_text()
    assert "START RequestId:" in log
    assert "reading sql/setup.sql" in log
    assert "END RequestId:" in log


def test_a_function_arn_as_the_resource_gets_the_input_and_gives_its_result(
    services: Services,
) -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:echo"
    described = run(services, {"T": {"Type": "Task", "Resource": arn, "End": True}}, {"a": 1})
    assert output(described) == {"event": {"a": 1}, "function": "echo"}
    types = [event["type"] for event in history(services, described["executionArn"])]
    assert types == [
        "ExecutionStarted",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]


@pytest.mark.parametrize(
    "function_name",
    [
        "echo",
        "echo:$LATEST",
        "123456789012:function:echo",
        "arn:aws:lambda:us-east-1:123456789012:function:echo",
        "arn:aws:lambda:us-east-1:123456789012:function:echo:live",
    ],
)
def test_every_spelling_of_a_function_name_invokes_it(
    services: Services, function_name: str
) -> None:
    described = run(services, {"T": invoke(function_name, {"k": "v"})})
    assert output(described)["Payload"] == {"event": {"k": "v"}, "function": "echo"}


def test_a_raised_exception_is_the_error_named_by_its_type(services: Services) -> None:
    described = run(services, caught(**invoke("fails", {})))
    failure = output(described)["failure"]
    assert failure["Error"] == "ValueError"
    cause = json.loads(failure["Cause"])
    assert list(cause) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert cause["errorMessage"] == "row 7 is bad"
    assert cause["errorType"] == "ValueError"
    assert any('raise ValueError("row 7 is bad")' in line for line in cause["stackTrace"])
    assert failure["Cause"] == json.dumps(cause, separators=(",", ":"))


def test_retry_on_the_handlers_error_name_runs_it_again(services: Services) -> None:
    retried = invoke(
        "fails",
        {},
        Retry=[{"ErrorEquals": ["ValueError"], "IntervalSeconds": 1, "MaxAttempts": 2}],
    )
    described = run(services, {"T": retried})
    assert described["status"] == "FAILED"
    assert described["error"] == "ValueError"
    types = [event["type"] for event in history(services, described["executionArn"])]
    assert types.count("TaskScheduled") == 3


def test_a_function_that_times_out_is_lambda_unknown(services: Services) -> None:
    described = run(services, caught(**invoke("slow", {"seconds": 30})))
    failure = output(described)["failure"]
    assert failure["Error"] == "Lambda.Unknown"
    assert failure["Cause"].startswith(
        "The cause could not be determined because Lambda did not return an error type. "
        'Returned payload: {"errorMessage":"'
    )
    assert failure["Cause"].endswith('Task timed out after 1.00 seconds"}')
    # the killed worker is replaced: the function answers again
    again = run(services, {"T": invoke("slow", {"seconds": 0})}, name="again")
    assert output(again)["Payload"] == "woke"


@pytest.mark.parametrize("limit", ["TimeoutSeconds", "HeartbeatSeconds"])
def test_the_states_timeout_kills_a_running_function(
    services: Services, limit: str, tmp_path: Path
) -> None:
    described = run(services, caught(**invoke("sleepy", {"seconds": 0.5}), **{limit: 1}))
    assert "failure" not in output(described)  # within the state's limit: it answered
    pid_file = tmp_path / "pid"
    slow = invoke("sleepy", {"seconds": 30, "pid_file": str(pid_file)}, **{limit: 1})
    described = run(services, caught(**slow), name="too-slow")
    assert output(described)["failure"] == {"Error": "States.Timeout", "Cause": ""}
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while is_running(pid):
        assert time.monotonic() < deadline, "the function's worker outlived its task"
        time.sleep(0.02)


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_handler_that_exits_is_a_runtime_exit_error(services: Services) -> None:
    described = run(services, caught(**invoke("exits", {})))
    failure = output(described)["failure"]
    assert failure["Error"] == "Runtime.ExitError"
    assert json.loads(failure["Cause"])["errorMessage"].endswith(
        "Error: Runtime exited with error: exit status 3"
    )
    assert output(run(services, {"T": invoke("echo", {})}, name="after"))["Payload"]


def test_an_unknown_function_is_resource_not_found(services: Services) -> None:
    described = run(services, caught(**invoke("missing", {})))
    failure = output(described)["failure"]
    assert failure["Error"] == "Lambda.ResourceNotFoundException"
    assert failure["Cause"].startswith(
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:missing "
        "(Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException;"
    )


def test_a_missing_or_malformed_function_name_is_refused_as_lambda_refuses_it(
    services: Services,
) -> None:
    task = invoke("echo", {})
    del task["Parameters"]["FunctionName"]
    failure = output(run(services, caught(**task)))["failure"]
    assert failure["Error"] == "Lambda.AWSLambdaException"
    assert failure["Cause"].startswith(
        "1 validation error detected: Value null at 'functionName' failed to satisfy "
        "constraint: Member must not be null (Service: AWSLambda; Status Code: 400; "
        "Error Code: ValidationException;"
    )
    failure = output(run(services, caught(**invoke("no spaces!", {})), name="bad"))["failure"]
    assert failure["Error"] == "Lambda.AWSLambdaException"
    assert "Value 'no spaces!' at 'functionName'" in failure["Cause"]


def test_an_event_invocation_does_not_wait_for_the_function(services: Services) -> None:
    task = invoke("slow", {"seconds": 0.5})
    task["Parameters"]["InvocationType"] = "Event"
    result = output(run(services, {"T": task}))
    assert (result["StatusCode"], result["Payload"]) == (202, "")


# -- the Redshift Data API and S3, called directly -------------------------------------------


def test_execute_then_poll_describe_statement_until_finished(services: Services) -> None:
    sdk = "arn:aws:states:::aws-sdk:redshiftdata"
    states = {
        "Submit": {
            "Type": "Task",
            "Resource": f"{sdk}:executeStatement",
            "Parameters": {"Sql": "select 42 as answer", **TARGET},
            "ResultSelector": {"Id.$": "$.Id"},
            "Next": "Wait",
        },
        "Wait": {"Type": "Wait", "Seconds": 2, "Next": "Describe"},
        "Describe": {
            "Type": "Task",
            "Resource": f"{sdk}:describeStatement",
            "Parameters": {"Id.$": "$.Id"},
            "Next": "Finished?",
        },
        "Finished?": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.Status", "StringEquals": "FINISHED", "Next": "Result"},
                {"Variable": "$.Status", "StringEquals": "FAILED", "Next": "Failed"},
            ],
            "Default": "Wait",
        },
        "Result": {
            "Type": "Task",
            "Resource": f"{sdk}:getStatementResult",
            "Parameters": {"Id.$": "$.Id"},
            "ResultSelector": {"answer.$": "$.Records[0][0].LongValue"},
            "End": True,
        },
        "Failed": {"Type": "Fail", "Error": "SqlFailed"},
    }
    described = run(services, states)
    assert output(described) == {"answer": 42}


def test_a_data_api_error_is_named_for_retry_and_catch(services: Services) -> None:
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:redshiftdata:describeStatement",
        "Parameters": {"Id": "00000000-0000-0000-0000-000000000000"},
        "End": True,
    }
    failure = output(run(services, caught(**task)))["failure"]
    assert failure["Error"] == "RedshiftData.ResourceNotFoundException"
    task["Parameters"] = {"Sql": "select 1", "WaitTimeSeconds": 99, **TARGET}  # at most 30
    task["Resource"] = "arn:aws:states:::aws-sdk:redshiftdata:executeStatement"
    failure = output(run(services, caught(**task), name="invalid"))["failure"]
    assert failure["Error"] == "RedshiftData.ValidationException"
    assert failure["Cause"].startswith("waitTimeSeconds must be less than or equal to 30 ")


def test_s3_put_then_get_through_the_sdk_integration(services: Services) -> None:
    s3 = "arn:aws:states:::aws-sdk:s3"
    states = {
        "Put": {
            "Type": "Task",
            "Resource": f"{s3}:putObject",
            "Parameters": {"Bucket": "scripts", "Key": "out/note.txt", "Body": "hello"},
            "ResultPath": None,
            "Next": "Get",
        },
        "Get": {
            "Type": "Task",
            "Resource": f"{s3}:getObject",
            "Parameters": {"Bucket": "scripts", "Key": "out/note.txt"},
            "ResultSelector": {"Body.$": "$.Body"},
            "End": True,
        },
    }
    # Step Functions writes the Body as JSON text: a string keeps its quotes
    assert output(run(services, states)) == {"Body": '"hello"'}
    assert (services.project.root / "scripts" / "out" / "note.txt").read_text() == '"hello"'


# -- nested executions -----------------------------------------------------------------------

CHILD = {
    "Double": {"Type": "Pass", "Parameters": {"twice.$": "States.MathAdd($.n, $.n)"}, "End": True}
}


def create(services: Services, name: str, states: dict[str, Any]) -> str:
    definition = {"StartAt": next(iter(states)), "States": states}
    created = services.engine.create_state_machine(
        {"name": name, "definition": json.dumps(definition), "roleArn": ROLE}
    )
    return str(created["stateMachineArn"])


def start_child(child_arn: str, suffix: str, given: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": f"arn:aws:states:::states:startExecution{suffix}",
        "Parameters": {
            "StateMachineArn": child_arn,
            "Input": {**given, "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"},
        },
        "End": True,
    }


def test_a_parent_runs_a_child_to_its_end_with_sync(services: Services) -> None:
    child = create(services, "child", CHILD)
    described = run(services, {"T": start_child(child, ".sync", {"n": 4})}, name="parent")
    result = output(described)
    assert result["Status"] == "SUCCEEDED"
    assert json.loads(result["Output"]) == {"twice": 8}
    child_input = json.loads(result["Input"])
    assert child_input["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"] == described["executionArn"]
    assert isinstance(result["StartDate"], int)
    assert isinstance(result["StopDate"], int)
    assert result["StateMachineArn"] == child
    types = [event["type"] for event in history(services, described["executionArn"])]
    assert types[2:6] == ["TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded"]


def test_sync_2_gives_the_childs_output_as_json(services: Services) -> None:
    child = create(services, "child", CHILD)
    result = output(run(services, {"T": start_child(child, ".sync:2", {"n": 5})}, name="parent"))
    assert result["Output"] == {"twice": 10}


def test_without_sync_the_parent_goes_on_at_once(services: Services) -> None:
    child = create(services, "child", CHILD)
    result = output(run(services, {"T": start_child(child, "", {"n": 1})}, name="parent"))
    assert set(result) == {"ExecutionArn", "SdkHttpMetadata", "SdkResponseMetadata", "StartDate"}
    assert services.engine.wait(result["ExecutionArn"], timeout=10)["status"] == "SUCCEEDED"


def test_a_failed_child_fails_the_task_with_its_description(services: Services) -> None:
    child = create(services, "child", {"F": {"Type": "Fail", "Error": "Boom", "Cause": "bad"}})
    failure = output(run(services, caught(**start_child(child, ".sync", {})), name="parent"))[
        "failure"
    ]
    assert failure["Error"] == "States.TaskFailed"
    cause = json.loads(failure["Cause"])
    assert (cause["Status"], cause["Error"], cause["Cause"]) == ("FAILED", "Boom", "bad")
    assert list(cause) == sorted(cause)


def test_a_missing_child_machine_is_named_as_aws_names_it(services: Services) -> None:
    missing = "arn:aws:states:us-east-1:123456789012:stateMachine:nope"
    failure = output(run(services, caught(**start_child(missing, ".sync", {})), name="parent"))[
        "failure"
    ]
    assert failure["Error"] == "StepFunctions.StateMachineDoesNotExistException"
    assert failure["Cause"].startswith(f"State Machine Does Not Exist: '{missing}'")


def test_stopping_the_parent_stops_its_sync_child(services: Services) -> None:
    waits = {
        "Hold": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "echo", "Payload": {"token.$": "$$.Task.Token"}},
            "End": True,
        }
    }
    child = create(services, "child", waits)
    parent = create(services, "parent", {"T": start_child(child, ".sync", {})})
    engine = services.engine
    started = engine.start_execution({"stateMachineArn": parent})
    children: list[dict[str, Any]] = []
    deadline = time.monotonic() + 20
    while not children and time.monotonic() < deadline:
        children = engine.list_executions({"stateMachineArn": child})["executions"]
        time.sleep(0.02)
    [child_execution] = children
    engine.stop_execution({"executionArn": started["executionArn"]})
    stopped = engine.wait(child_execution["executionArn"], timeout=20)
    assert stopped["status"] == "ABORTED"
    assert started["executionArn"] in stopped["cause"]


# -- callbacks -------------------------------------------------------------------------------


def test_a_callback_is_completed_from_a_second_thread(services: Services, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    task = {
        "Type": "Task",
        "Resource": f"{INVOKE}.waitForTaskToken",
        "Parameters": {
            "FunctionName": "hand_off",
            "Payload": {"path": str(token_file), "token.$": "$$.Task.Token"},
        },
        "End": True,
    }

    def answer() -> None:
        """Approve once the task has handed its token off and waits (the function may still be
        returning when the token arrives: an answer before that would come first)."""
        machine = "arn:aws:states:us-east-1:123456789012:stateMachine:machine"

        def waiting() -> bool:
            try:
                runs = services.engine.list_executions({"stateMachineArn": machine})["executions"]
            except StateMachineDoesNotExist:  # not created yet
                return False
            return bool(runs) and any(
                event["type"] == "TaskSubmitted"
                for event in history(services, runs[0]["executionArn"])
            )

        wait_for(waiting, "the task waits for its token")
        services.engine.send_task_success(
            {"taskToken": token_file.read_text(), "output": json.dumps({"approved": True})}
        )

    answering = threading.Thread(target=answer)
    answering.start()
    described = run(services, {"T": task})
    answering.join()
    assert output(described) == {"approved": True}
    types = [event["type"] for event in history(services, described["executionArn"])]
    assert types[2:6] == ["TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded"]


def test_a_callback_failure_and_a_missed_heartbeat_are_named(services: Services) -> None:
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:s3:putObject.waitForTaskToken",
        "Parameters": {"Bucket": "scripts", "Key": "token", "Body.$": "$$.Task.Token"},
        "End": True,
    }
    token_path = services.project.root / "scripts" / "token"

    def fail() -> None:
        deadline = time.monotonic() + 30
        while not token_path.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        token = json.loads(token_path.read_text())  # the Body, written as JSON text
        services.engine.send_task_failure({"taskToken": token, "error": "Rejected", "cause": "no"})

    failing = threading.Thread(target=fail)
    failing.start()
    failure = output(run(services, caught(**task)))["failure"]
    failing.join()
    assert failure == {"Error": "Rejected", "Cause": "no"}
    token_path.unlink()
    described = run(services, caught(**task, HeartbeatSeconds=1), name="silent")
    assert output(described)["failure"] == {"Error": "States.Timeout", "Cause": ""}


# -- restarts and the virtual clock ----------------------------------------------------------


def wait_for(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + 30
    while not (found := condition()):
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.02)
    return found


def test_a_sync_task_rejoins_its_child_after_a_restart(project: Project) -> None:
    waits = {"Wait": {"Type": "Wait", "Seconds": 1, "End": True}}
    with open_services(project) as first:  # a real clock: the child's wait outlasts the stop
        child = create(first, "child", waits)
        parent = create(first, "parent", {"T": start_child(child, ".sync:2", {})})
        started = first.engine.start_execution({"stateMachineArn": parent})["executionArn"]
        wait_for(
            lambda: first.engine.list_executions({"stateMachineArn": child})["executions"],
            "the child started",
        )
    time.sleep(1.2)  # the child's wait is over when redstep comes back: it ends at once
    with open_services(project) as second:
        described = second.engine.wait(started, timeout=30)
        assert output(described)["Status"] == "SUCCEEDED"
        children = second.engine.list_executions({"stateMachineArn": child})["executions"]
        assert len(children) == 1  # joined, not started again
        types = [event["type"] for event in history(second, started)]
    assert types == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]


def test_a_virtual_clock_never_skips_a_sync_task_past_its_timeout(services: Services) -> None:
    child = create(services, "child", CHILD)
    timed = {"T": {**start_child(child, ".sync:2", {"n": 1}), "TimeoutSeconds": 3600}}
    parent = create(services, "parent", timed)
    runs = [
        services.engine.start_execution({"stateMachineArn": parent})["executionArn"]
        for _ in range(10)
    ]
    statuses = [services.engine.wait(arn, timeout=30)["status"] for arn in runs]
    assert statuses == ["SUCCEEDED"] * 10


def test_a_callback_waits_on_after_a_restart_under_a_virtual_clock(project: Project) -> None:
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:s3:putObject.waitForTaskToken",
        "Parameters": {"Bucket": "scripts", "Key": "token", "Body.$": "$$.Task.Token"},
        "TimeoutSeconds": 3600,
        "End": True,
    }
    token_path = project.root / "scripts" / "token"
    with open_services(project, clock=VirtualClock()) as first:
        machine = create(first, "asks", {"T": task})
        started = first.engine.start_execution({"stateMachineArn": machine})["executionArn"]
        token = json.loads(
            wait_for(lambda: token_path.exists() and token_path.read_text(), "a token")
        )
    with open_services(project, clock=VirtualClock()) as second:
        time.sleep(0.3)  # time for a clock wrongly skipping to the timeout to do so
        assert second.engine.describe_execution({"executionArn": started})["status"] == "RUNNING"
        second.engine.send_task_success({"taskToken": token, "output": '"yes"'})
        assert output(second.engine.wait(started, timeout=30)) == "yes"

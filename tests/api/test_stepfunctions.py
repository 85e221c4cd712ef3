"""Step Functions through `redstep serve`, driven by boto3: every operation, and its errors
raised as the modelled exception classes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from held_tasks import HeldTasks

from redstep.project import ProjectError, load_project
from redstep.services import Services

ROLE = "arn:aws:iam::123456789012:role/test"
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
WAIT = json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}})
TASK = json.dumps(
    {
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "f", "Payload": {"token.$": "$$.Task.Token"}},
                "HeartbeatSeconds": 600,
                "End": True,
            }
        },
    }
)


@pytest.fixture
def sfn(client: Callable[[str], Any]) -> Any:
    return client("stepfunctions")


def create(sfn: Any, name: str, definition: str = PASS) -> str:
    arn: str = sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE)[
        "stateMachineArn"
    ]
    return arn


def test_state_machines_from_redstep_toml_are_there_at_start(sfn: Any) -> None:
    machines = sfn.list_state_machines()["stateMachines"]
    assert [m["name"] for m in machines] == ["hello"]
    described = sfn.describe_state_machine(stateMachineArn=machines[0]["stateMachineArn"])
    assert json.loads(described["definition"])["States"]["Hello"]["Result"] == "hello, world"


def test_state_machine_lifecycle(sfn: Any) -> None:
    arn = create(sfn, "lifecycle")
    assert arn == "arn:aws:states:us-east-1:123456789012:stateMachine:lifecycle"
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert described["status"] == "ACTIVE"
    assert isinstance(described["creationDate"], datetime)
    updated = sfn.update_state_machine(stateMachineArn=arn, definition=WAIT)
    assert updated["revisionId"] != described["revisionId"]
    assert sfn.describe_state_machine(stateMachineArn=arn)["definition"] == WAIT
    names = [m["name"] for m in sfn.list_state_machines()["stateMachines"]]
    assert names == ["hello", "lifecycle"]
    sfn.delete_state_machine(stateMachineArn=arn)
    with pytest.raises(sfn.exceptions.StateMachineDoesNotExist, match="lifecycle"):
        sfn.describe_state_machine(stateMachineArn=arn)


def test_list_state_machines_pages(sfn: Any) -> None:
    for index in range(3):
        create(sfn, f"m{index}")
    pages = sfn.get_paginator("list_state_machines").paginate(PaginationConfig={"PageSize": 2})
    sizes = [len(page["stateMachines"]) for page in pages]
    assert sizes == [2, 2]


def test_validate_state_machine_definition(sfn: Any) -> None:
    assert sfn.validate_state_machine_definition(definition=PASS)["result"] == "OK"
    bad = sfn.validate_state_machine_definition(
        definition=json.dumps({"StartAt": "Nowhere", "States": {}})
    )
    assert bad["result"] == "FAIL"
    assert bad["diagnostics"][0]["severity"] == "ERROR"


def test_an_execution_runs_and_is_described(sfn: Any, services: Services) -> None:
    arn = create(sfn, "runs")
    started = sfn.start_execution(stateMachineArn=arn, name="first", input='{"a": 1}')
    execution = started["executionArn"]
    assert execution == "arn:aws:states:us-east-1:123456789012:execution:runs:first"
    services.engine.wait(execution, 10)
    described = sfn.describe_execution(executionArn=execution)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"a": 1}
    assert described["stopDate"] >= described["startDate"]
    listed = sfn.list_executions(stateMachineArn=arn, statusFilter="SUCCEEDED")["executions"]
    assert [e["name"] for e in listed] == ["first"]
    events = sfn.get_execution_history(executionArn=execution)["events"]
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    for_execution = sfn.describe_state_machine_for_execution(executionArn=execution)
    assert for_execution["definition"] == PASS


def test_stop_execution(sfn: Any) -> None:
    arn = create(sfn, "waits", WAIT)
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    stopped = sfn.stop_execution(executionArn=execution, error="Bored", cause="took too long")
    assert isinstance(stopped["stopDate"], datetime)
    described = sfn.describe_execution(executionArn=execution)
    assert (described["status"], described["error"], described["cause"]) == (
        "ABORTED",
        "Bored",
        "took too long",
    )


def test_start_sync_execution_answers_as_aws_does_for_a_standard_machine(sfn: Any) -> None:
    arn = create(sfn, "standard")
    with pytest.raises(sfn.exceptions.StateMachineTypeNotSupported):
        sfn.start_sync_execution(stateMachineArn=arn, input="{}")


def test_redrive_of_a_running_execution_is_refused(sfn: Any) -> None:
    arn = create(sfn, "running", WAIT)
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    with pytest.raises(sfn.exceptions.ExecutionNotRedrivable):
        sfn.redrive_execution(executionArn=execution)


def _held_token(held: HeldTasks) -> str:
    assert held.arrived.wait(10)
    token = held.started[-1][1].task_token
    assert token is not None
    return token


def test_send_task_success_heartbeat_and_failure(
    sfn: Any, services: Services, held: HeldTasks
) -> None:
    arn = create(sfn, "callbacks", TASK)
    first = sfn.start_execution(stateMachineArn=arn, name="succeeds")["executionArn"]
    token = _held_token(held)
    sfn.send_task_heartbeat(taskToken=token)
    sfn.send_task_success(taskToken=token, output='{"done": true}')
    services.engine.wait(first, 10)
    assert json.loads(sfn.describe_execution(executionArn=first)["output"]) == {"done": True}
    with pytest.raises(sfn.exceptions.TaskTimedOut):
        sfn.send_task_success(taskToken=token, output="{}")

    held.arrived.clear()
    second = sfn.start_execution(stateMachineArn=arn, name="fails")["executionArn"]
    token = _held_token(held)
    sfn.send_task_failure(taskToken=token, error="Broken", cause="on purpose")
    services.engine.wait(second, 10)
    described = sfn.describe_execution(executionArn=second)
    assert (described["status"], described["error"], described["cause"]) == (
        "FAILED",
        "Broken",
        "on purpose",
    )


def test_a_token_that_is_not_one_is_invalid(sfn: Any) -> None:
    with pytest.raises(sfn.exceptions.InvalidToken):
        sfn.send_task_success(taskToken="not-a-token", output="{}")


def test_tags(sfn: Any) -> None:
    arn = create(sfn, "tagged")
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "team", "value": "data"}])
    sfn.tag_resource(resourceArn=arn, tags=[{"key": "cost", "value": "low"}])
    tags = sfn.list_tags_for_resource(resourceArn=arn)["tags"]
    assert sorted((t["key"], t["value"]) for t in tags) == [("cost", "low"), ("team", "data")]
    sfn.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "cost", "value": "low"}]
    missing = arn.replace("tagged", "absent")
    with pytest.raises(sfn.exceptions.ResourceNotFound):
        sfn.list_tags_for_resource(resourceArn=missing)


def test_test_state_runs_one_state(sfn: Any) -> None:
    state = {"Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.a, 1)"}, "Next": "After"}
    answer = sfn.test_state(
        definition=json.dumps(state), roleArn=ROLE, input='{"a": 41}', inspectionLevel="DEBUG"
    )
    assert answer["status"] == "SUCCEEDED"
    assert json.loads(answer["output"]) == {"sum": 42}
    assert answer["nextState"] == "After"
    assert json.loads(answer["inspectionData"]["afterParameters"]) == {"sum": 42}


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (
            lambda sfn: sfn.describe_execution(
                executionArn="arn:aws:states:us-east-1:123456789012:execution:hello:absent"
            ),
            "ExecutionDoesNotExist",
        ),
        (
            lambda sfn: sfn.describe_state_machine(
                stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:absent"
            ),
            "StateMachineDoesNotExist",
        ),
        (lambda sfn: sfn.describe_state_machine(stateMachineArn="arn:nonsense"), "InvalidArn"),
        (
            lambda sfn: sfn.create_state_machine(name="bad", definition="{", roleArn=ROLE),
            "InvalidDefinition",
        ),
        (
            lambda sfn: sfn.create_state_machine(name="x" * 81, definition=PASS, roleArn=ROLE),
            "ValidationException",
        ),
        (
            lambda sfn: sfn.create_state_machine(name="a b", definition=PASS, roleArn=ROLE),
            "InvalidName",
        ),
        (
            lambda sfn: sfn.start_execution(
                stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:hello",
                input="{not json",
            ),
            "InvalidExecutionInput",
        ),
        (
            lambda sfn: sfn.list_executions(
                stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:hello",
                statusFilter="SLEEPING",
            ),
            "ValidationException",
        ),
    ],
)
def test_errors_raise_the_modelled_exception_classes(sfn: Any, call: Any, error: str) -> None:
    with pytest.raises(getattr(sfn.exceptions, error)) as raised:
        call(sfn)
    assert raised.value.response["Error"]["Message"]


def test_a_bad_state_machine_in_redstep_toml_is_a_project_error(tmp_path: Path) -> None:
    (tmp_path / "flow.json").write_text(PASS)
    (tmp_path / "redstep.toml").write_text(
        '[state_machines."bad name"]\ndefinition = "flow.json"\n'
    )
    with pytest.raises(ProjectError, match=r"state_machines\.bad name: InvalidName"):
        Services.open(load_project(tmp_path))
    (tmp_path / "redstep.toml").write_text('[state_machines.good]\ndefinition = "flow.json"\n')
    with Services.open(load_project(tmp_path)) as services:  # the failed start let go of it all
        names = [m["name"] for m in services.engine.list_state_machines({})["stateMachines"]]
        assert names == ["good"]


def test_a_changed_definition_or_role_in_redstep_toml_updates_the_machine(tmp_path: Path) -> None:
    (tmp_path / "flow.json").write_text(PASS)
    config = '[state_machines.flow]\ndefinition = "flow.json"\n'
    (tmp_path / "redstep.toml").write_text(config)
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:flow"
    with Services.open(load_project(tmp_path)) as services:
        first = services.engine.describe_state_machine({"stateMachineArn": arn})
    with Services.open(load_project(tmp_path)) as services:  # nothing changed: same revision
        again = services.engine.describe_state_machine({"stateMachineArn": arn})
    assert again["revisionId"] == first["revisionId"]
    (tmp_path / "redstep.toml").write_text(config + f'role_arn = "{ROLE}"\n')
    with Services.open(load_project(tmp_path)) as services:
        described = services.engine.describe_state_machine({"stateMachineArn": arn})
    assert (described["roleArn"], described["definition"]) == (ROLE, PASS)
    (tmp_path / "flow.json").write_text(WAIT)
    with Services.open(load_project(tmp_path)) as services:
        described = services.engine.describe_state_machine({"stateMachineArn": arn})
    assert described["definition"] == WAIT


def test_the_served_operations(services: Services) -> None:
    """Those of the model that redstep serves; the others answer UnknownOperationException."""
    assert set(services.engine.operations) == {
        "CreateStateMachine",
        "UpdateStateMachine",
        "DescribeStateMachine",
        "DescribeStateMachineForExecution",
        "ListStateMachines",
        "DeleteStateMachine",
        "ValidateStateMachineDefinition",
        "StartExecution",
        "StartSyncExecution",
        "DescribeExecution",
        "ListExecutions",
        "GetExecutionHistory",
        "StopExecution",
        "RedriveExecution",
        "SendTaskSuccess",
        "SendTaskFailure",
        "SendTaskHeartbeat",
        "TestState",
        "TagResource",
        "UntagResource",
        "ListTagsForResource",
        "ListMapRuns",
        "DescribeMapRun",
        "UpdateMapRun",
    }


def test_an_operation_of_the_model_redstep_does_not_serve(sfn: Any) -> None:
    with pytest.raises(ClientError) as raised:
        sfn.list_activities()
    assert raised.value.response["Error"]["Code"] == "UnknownOperationException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

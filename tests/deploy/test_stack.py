"""Deploying: the plan, a dry run, and the boto3 calls of a deployment, against clients whose
responses are stubbed and whose every call is validated by botocore and recorded."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from redstep.deploy.errors import DeployError
from redstep.deploy.stack import (
    TEMPLATE_BODY_LIMIT,
    Deployer,
    Deployment,
    Outcome,
    plan_deployment,
    template_changes,
)
from redstep.deploy.template import export_project
from redstep.project import Project, load_project

STACK = "sales"
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/sales/0a1b2c3d"
CHANGE_SET = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/redstep-1/4e5f"
NOT_FOUND = ("ValidationError", f"Stack with id {STACK} does not exist")
SQL_FILES = [
    "generate.sql", "load_dim_customer_address.sql", "load_dim_item.sql",
    "load_fact_store_sales.sql", "setup.sql", "validate.sql",
]  # fmt: skip


@dataclass
class Recorded:
    """Stubbed clients and every call made through them: (operation, parameters)."""

    s3: Any
    cloudformation: Any
    s3_stub: Stubber
    cf_stub: Stubber
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    said: list[str] = field(default_factory=list)

    def operations(self) -> list[str]:
        return [operation for operation, _ in self.calls]

    def params(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == operation]


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    clients = [
        boto3.client(
            service,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        for service in ("s3", "cloudformation")
    ]
    stubbers = [Stubber(client) for client in clients]
    record = Recorded(*clients, *stubbers)
    for client in clients:

        def keep(params: dict[str, Any], model: Any, **_: Any) -> None:
            record.calls.append((model.name, dict(params)))

        client.meta.events.register("provide-client-params", keep)
    for stubber in stubbers:
        stubber.activate()
    yield record
    for stubber in stubbers:
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def fake_install(requirements: Path, target: Path) -> None:
    """pip's part, without the network: a module in the target folder."""
    (target / "sqlparse.py").write_text("# installed\n")


def deployer(recorded: Recorded) -> Deployer:
    return Deployer(
        recorded.s3,
        recorded.cloudformation,
        recorded.said.append,
        install=fake_install,
        sleep=lambda _: None,
    )


def stack(status: str, **rest: Any) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackName": STACK, "StackId": STACK_ID, "StackStatus": status,
                "CreationTime": dt.datetime(2026, 11, 27, tzinfo=dt.UTC), **rest,
            }
        ]
    }  # fmt: skip


def event(number: int, status: str, resource: str) -> dict[str, Any]:
    return {
        "StackId": STACK_ID, "EventId": f"event-{number}", "StackName": STACK,
        "LogicalResourceId": resource, "ResourceStatus": status,
        "Timestamp": dt.datetime(2026, 11, 27, 12, 0, number, tzinfo=dt.UTC),
    }  # fmt: skip


# -- the plan -----------------------------------------------------------------------------------


def test_the_plan_uploads_the_scripts_the_package_and_the_large_template(sales: Project) -> None:
    export = export_project(sales)
    plan = plan_deployment(sales, export, STACK, {"SalesScriptsBucket": "acme-sales-scripts"})
    assert [(u.bucket, u.key) for u in plan.uploads] == [
        *[("acme-sales-scripts", name) for name in SQL_FILES],
        ("acme-sales-scripts", export.packages["redshift_batch_data_api"].key),
    ]
    assert plan.parameters == {
        "ClusterIdentifier": "sales-cluster", "DbUser": "awsuser", "Database": "dev",
        "SalesScriptsBucket": "acme-sales-scripts",
    }  # fmt: skip
    assert len(plan.template_text.encode()) > TEMPLATE_BODY_LIMIT
    assert plan.template_upload is not None
    assert plan.template_upload.bucket == "acme-sales-scripts"
    assert plan.template_upload.key.startswith(f"redstep/templates/{STACK}/")
    assert json.loads(plan.template_text) == json.loads(json.dumps(export.template))


def test_the_plan_refuses_an_unknown_parameter(sales: Project) -> None:
    with pytest.raises(DeployError, match="the template has no parameter Bucket"):
        plan_deployment(sales, export_project(sales), STACK, {"Bucket": "x"})


def test_the_plan_asks_for_a_parameter_without_a_default(tmp_path: Path) -> None:
    (tmp_path / "workflows").mkdir()
    definition = {
        "StartAt": "Q",
        "States": {
            "Q": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:redshiftdata:executeStatement",
                "Parameters": {"WorkgroupName": "wg", "Database": "dev", "Sql": "select 1"},
                "End": True,
            }
        },
    }
    (tmp_path / "workflows" / "q.asl.json").write_text(json.dumps(definition))
    (tmp_path / "redstep.toml").write_text(
        '[state_machines.q]\ndefinition = "workflows/q.asl.json"\n'
    )
    project = load_project(tmp_path)
    with pytest.raises(DeployError, match="give a value for WorkgroupId: --parameter WorkgroupId="):
        plan_deployment(project, export_project(project), STACK, {})
    plan = plan_deployment(project, export_project(project), STACK, {"WorkgroupId": "1234"})
    assert plan.parameters["WorkgroupId"] == "1234"
    assert plan.template_upload is None  # small: sent in the call


def test_template_changes_are_listed_resource_by_resource() -> None:
    old = {"Resources": {"A": {"Type": "X", "Properties": {"v": 1}}, "Gone": {"Type": "Y"}}}
    new = {"Resources": {"A": {"Type": "X", "Properties": {"v": 2}}, "B": {"Type": "Z"}}}
    assert template_changes(old, new) == ["Modify  A  X", "Add     B  Z", "Remove  Gone  Y"]
    assert template_changes(new, new) == []


# -- a dry run ----------------------------------------------------------------------------------


def test_a_dry_run_of_a_new_stack_reads_only(sales: Project, recorded: Recorded) -> None:
    recorded.cf_stub.add_client_error("describe_stacks", *NOT_FOUND)
    plan = plan_deployment(sales, export_project(sales), STACK, {})
    deployer(recorded).dry_run(plan)
    assert recorded.operations() == ["DescribeStacks"]
    uploads = [line for line in recorded.said if line.startswith("would upload")]
    assert uploads[0] == (
        f"would upload {sales.root / 'sql' / 'generate.sql'} to s3://sales-scripts/generate.sql"
    )
    assert uploads[-2].startswith("would upload the package of function redshift_batch_data_api")
    assert uploads[-1].startswith("would upload the template to s3://sales-scripts/redstep/")
    changes = recorded.said[recorded.said.index(f"would create stack {STACK}:") + 1 :]
    assert changes[:2] == [
        "  Add     RedshiftBatchDataApiFunctionRole  AWS::IAM::Role",
        "  Add     RedshiftBatchDataApiFunction  AWS::Lambda::Function",
    ]
    assert "  parameter ClusterIdentifier = sales-cluster" in changes


def test_a_dry_run_of_an_existing_stack_shows_what_changes(
    sales: Project, recorded: Recorded
) -> None:
    export = export_project(sales)
    old = json.loads(json.dumps(export.template))
    old["Resources"]["RedshiftBatchDataApiFunction"]["Properties"]["Timeout"] = 30
    old["Resources"]["Retired"] = {"Type": "AWS::SNS::Topic"}
    stub = recorded.cf_stub
    stub.add_response("describe_stacks", stack("UPDATE_COMPLETE"))
    stub.add_response("get_template", {"TemplateBody": json.dumps(old)})
    deployer(recorded).dry_run(plan_deployment(sales, export, STACK, {}))
    assert recorded.operations() == ["DescribeStacks", "GetTemplate"]
    assert recorded.params("GetTemplate") == [{"StackName": STACK, "TemplateStage": "Original"}]
    start = recorded.said.index(f"would update stack {STACK} (UPDATE_COMPLETE):")
    assert recorded.said[start + 1 : start + 3] == [
        "  Modify  RedshiftBatchDataApiFunction  AWS::Lambda::Function",
        "  Remove  Retired  AWS::SNS::Topic",
    ]


# -- a deployment -------------------------------------------------------------------------------


def test_a_deployment_uploads_creates_the_stack_and_follows_it(
    sales: Project, recorded: Recorded
) -> None:
    export = export_project(sales)
    plan = plan_deployment(sales, export, STACK, {})
    assert plan.template_upload is not None
    stub = recorded.cf_stub
    stub.add_client_error("describe_stacks", *NOT_FOUND)
    for _ in [*plan.uploads, plan.template_upload]:
        recorded.s3_stub.add_response("put_object", {"ETag": '"x"'})
    stub.add_response("create_change_set", {"Id": CHANGE_SET, "StackId": STACK_ID})
    stub.add_response("describe_change_set", {"Status": "CREATE_PENDING"})
    change = {"Action": "Add", "LogicalResourceId": "RedshiftBatchDataApiFunction",
              "ResourceType": "AWS::Lambda::Function"}  # fmt: skip
    stub.add_response(
        "describe_change_set",
        {"Status": "CREATE_COMPLETE", "Changes": [{"Type": "Resource", "ResourceChange": change}]},
    )
    stub.add_response(
        "describe_stack_events", {"StackEvents": [event(0, "REVIEW_IN_PROGRESS", STACK)]}
    )
    stub.add_response("execute_change_set", {})
    stub.add_response(
        "describe_stack_events",
        {"StackEvents": [event(2, "CREATE_IN_PROGRESS", "RedshiftBatchDataApiFunctionRole"),
                         event(1, "CREATE_IN_PROGRESS", STACK),
                         event(0, "REVIEW_IN_PROGRESS", STACK)]},
    )  # fmt: skip
    stub.add_response("describe_stacks", stack("CREATE_IN_PROGRESS"))
    stub.add_response(
        "describe_stack_events",
        {"StackEvents": [event(3, "CREATE_COMPLETE", STACK),
                         event(2, "CREATE_IN_PROGRESS", "RedshiftBatchDataApiFunctionRole")]},
    )  # fmt: skip
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:SalesDataPipeline-x"
    outputs = [{"OutputKey": "SalesDataPipelineStateMachineArn", "OutputValue": arn}]
    stub.add_response("describe_stacks", stack("CREATE_COMPLETE", Outputs=outputs))

    assert deployer(recorded).deploy(plan) == Outcome("CREATE_COMPLETE", is_changed=True)

    puts = recorded.params("PutObject")
    assert [(p["Bucket"], p["Key"]) for p in puts] == [
        *[("sales-scripts", name) for name in SQL_FILES],
        ("sales-scripts", export.packages["redshift_batch_data_api"].key),
        ("sales-scripts", plan.template_upload.key),
    ]
    assert puts[4]["Body"] == (sales.root / "sql" / "setup.sql").read_bytes()
    with zipfile.ZipFile(io.BytesIO(puts[6]["Body"])) as archive:
        assert archive.namelist() == ["redshift_batch_data_api.py", "sqlparse.py"]
    assert json.loads(puts[7]["Body"]) == json.loads(plan.template_text)
    (created,) = recorded.params("CreateChangeSet")
    assert created["ChangeSetType"] == "CREATE"
    assert created["Capabilities"] == ["CAPABILITY_IAM"]
    assert created["TemplateURL"] == (
        f"https://s3.amazonaws.com/sales-scripts/{plan.template_upload.key}"
    )
    assert {
        p["ParameterKey"]: p["ParameterValue"] for p in created["Parameters"]
    } == plan.parameters
    assert recorded.operations()[0] == "DescribeStacks"  # before any upload
    assert recorded.operations()[len(puts) + 1 :] == [
        "CreateChangeSet", "DescribeChangeSet", "DescribeChangeSet",
        "DescribeStackEvents", "ExecuteChangeSet", "DescribeStackEvents", "DescribeStacks",
        "DescribeStackEvents", "DescribeStacks",
    ]  # fmt: skip
    followed = recorded.said[recorded.said.index(f"create stack {STACK}:") :]
    assert followed == [
        f"create stack {STACK}:",
        "  Add     RedshiftBatchDataApiFunction  AWS::Lambda::Function",
        f"  12:00:01  CREATE_IN_PROGRESS   {STACK}",
        "  12:00:02  CREATE_IN_PROGRESS   RedshiftBatchDataApiFunctionRole",
        f"  12:00:03  CREATE_COMPLETE      {STACK}",
        f"  SalesDataPipelineStateMachineArn = {arn}",
        f"stack {STACK}: CREATE_COMPLETE",
    ]


def existing_stack_change_set(
    recorded: Recorded, sales: Project, described: dict[str, Any]
) -> Deployment:
    """A deployment to an existing stack, stubbed up to its change set, `described` so."""
    plan = plan_deployment(sales, export_project(sales), STACK, {})
    stub = recorded.cf_stub
    stub.add_response("describe_stacks", stack("UPDATE_COMPLETE"))
    for _ in [*plan.uploads, plan.template_upload]:
        recorded.s3_stub.add_response("put_object", {})
    stub.add_response("create_change_set", {"Id": CHANGE_SET, "StackId": STACK_ID})
    stub.add_response("describe_change_set", described)
    return plan


def failed_change_set(recorded: Recorded, sales: Project, reason: str) -> Deployment:
    return existing_stack_change_set(recorded, sales, {"Status": "FAILED", "StatusReason": reason})


def test_a_deployment_without_changes_ends_at_the_change_set(
    sales: Project, recorded: Recorded
) -> None:
    reason = (
        "The submitted information didn't contain changes. Submit different information to "
        "create a change set."
    )
    plan = failed_change_set(recorded, sales, reason)
    recorded.cf_stub.add_response("delete_change_set", {})
    outcome = deployer(recorded).deploy(plan)
    assert outcome == Outcome("UPDATE_COMPLETE", is_changed=False)
    assert outcome.is_success
    (created,) = recorded.params("CreateChangeSet")
    assert created["ChangeSetType"] == "UPDATE"
    assert "ExecuteChangeSet" not in recorded.operations()
    assert recorded.params("DeleteChangeSet") == [{"ChangeSetName": CHANGE_SET, "StackName": STACK}]
    assert recorded.said[-1] == f"stack {STACK}: no changes"


def test_a_failed_change_set_is_an_error_with_its_reason(
    sales: Project, recorded: Recorded
) -> None:
    plan = failed_change_set(recorded, sales, "Parameter DbUser failed to validate")
    recorded.cf_stub.add_response("delete_change_set", {})
    with pytest.raises(DeployError, match="the change set failed: Parameter DbUser failed"):
        deployer(recorded).deploy(plan)
    assert "ExecuteChangeSet" not in recorded.operations()
    assert recorded.params("DeleteChangeSet") == [{"ChangeSetName": CHANGE_SET, "StackName": STACK}]


@pytest.mark.parametrize(
    ("status", "message"),
    [("ROLLBACK_COMPLETE", "stack sales is ROLLBACK_COMPLETE: CloudFormation cannot update it"),
     ("UPDATE_IN_PROGRESS", "stack sales is UPDATE_IN_PROGRESS: wait for it to settle")],
)  # fmt: skip
@pytest.mark.parametrize("is_dry_run", [False, True])
def test_a_stack_that_cannot_take_a_change_set_is_refused_before_any_upload(
    sales: Project, recorded: Recorded, status: str, message: str, is_dry_run: bool
) -> None:
    recorded.cf_stub.add_response("describe_stacks", stack(status))
    plan = plan_deployment(sales, export_project(sales), STACK, {})
    with pytest.raises(DeployError, match=message):
        (deployer(recorded).dry_run if is_dry_run else deployer(recorded).deploy)(plan)
    assert recorded.operations() == ["DescribeStacks"]
    assert not any(line.startswith(("upload", "would upload")) for line in recorded.said)


def test_a_deployment_that_rolls_back_is_no_success(sales: Project, recorded: Recorded) -> None:
    described = {"Status": "CREATE_COMPLETE", "Changes": []}
    plan = existing_stack_change_set(recorded, sales, described)
    stub = recorded.cf_stub
    stub.add_response("describe_stack_events", {"StackEvents": []})
    stub.add_response("execute_change_set", {})
    failed = event(1, "UPDATE_FAILED", "RedshiftBatchDataApiFunction")
    failed["ResourceStatusReason"] = "Error occurred while GetObject. S3 Error Code: NoSuchKey"
    stub.add_response("describe_stack_events", {"StackEvents": [failed]})
    stub.add_response("describe_stacks", stack("UPDATE_ROLLBACK_COMPLETE"))
    outcome = deployer(recorded).deploy(plan)
    assert outcome == Outcome("UPDATE_ROLLBACK_COMPLETE", is_changed=True)
    assert not outcome.is_success
    assert recorded.said[-2:] == [
        "  12:00:01  UPDATE_FAILED        RedshiftBatchDataApiFunction  Error occurred while "
        "GetObject. S3 Error Code: NoSuchKey",
        f"stack {STACK}: UPDATE_ROLLBACK_COMPLETE",
    ]

"""The CloudFormation template of a project: valid for cfn-lint, least privilege, and carrying
the project's definitions so that, substituted back, they are the definitions that run locally."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest
import yaml
from cfnlint.api import lint
from cfnlint.config import ManualArgs

from redstep.deploy.errors import ExportError
from redstep.deploy.template import Export, export_project, template_text
from redstep.project import Project
from redstep.warehouse.dialect import split_script

ProjectMaker = Callable[..., Project]

PARTITION = "arn:${AWS::Partition}"
HERE = "${AWS::Region}:${AWS::AccountId}"
CLUSTER_ARN = {"Fn::Sub": f"{PARTITION}:redshift:{HERE}:cluster:${{ClusterIdentifier}}"}
CREDENTIALS = {
    "Effect": "Allow",
    "Action": ["redshift:GetClusterCredentials"],
    "Resource": [
        {"Fn::Sub": f"{PARTITION}:redshift:{HERE}:dbuser:${{ClusterIdentifier}}/${{DbUser}}"},
        {"Fn::Sub": f"{PARTITION}:redshift:{HERE}:dbname:${{ClusterIdentifier}}/${{Database}}"},
    ],
}
OWN_STATEMENTS = {"StringEquals": {"redshift-data:statement-owner-iam-userid": "${aws:userid}"}}


def lint_findings(template: Mapping[str, Any]) -> list[str]:
    """cfn-lint's errors, warnings and informational findings on the YAML redstep writes."""
    config = ManualArgs(regions=["us-east-1"], include_checks=["I"])
    return [
        f"{match.rule.id} line {match.linenumber}: {match.message}"
        for match in lint(template_text(template), config=config)
    ]


def policies(template: Mapping[str, Any], role: str) -> list[dict[str, Any]]:
    """The statements of a role's inline policies."""
    properties = template["Resources"][role]["Properties"]
    return [
        statement
        for policy in properties.get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def substituted(export: Export, name: str, values: Mapping[str, str]) -> Any:
    """A state machine's definition from the template with its substitutions filled in."""
    properties = export.template["Resources"][name]["Properties"]
    text = json.dumps(properties["Definition"])
    for key in properties.get("DefinitionSubstitutions", {}):
        text = text.replace(f"${{{key}}}", values[key])
    assert "${" not in text
    return json.loads(text)


# -- the example --------------------------------------------------------------------------------


def test_the_example_passes_cfn_lint_without_a_finding(sales: Project) -> None:
    export = export_project(sales)
    assert lint_findings(export.template) == []


def test_the_example_as_json_passes_cfn_lint_too(sales: Project) -> None:
    text = template_text(export_project(sales).template, as_json=True)
    assert lint(text, config=ManualArgs(regions=["us-east-1"])) == []


def test_yaml_reads_back_as_the_template(sales: Project) -> None:
    template = export_project(sales).template
    text = template_text(template)
    assert yaml.safe_load(text) == json.loads(json.dumps(template))
    lines = {line.strip() for line in text.splitlines()}
    script = (sales.root / "sql" / "load_dim_item.sql").read_text()
    statements = split_script(script, with_comments=False)
    assert any("\n" in statement for statement in statements)
    for statement in statements:  # each line of the SQL is a line of the YAML, as written
        assert all(line.strip() in lines for line in statement.splitlines() if line.strip())


def test_parameters_are_the_redshift_target_and_the_bucket_with_the_projects_values(
    sales: Project,
) -> None:
    parameters = export_project(sales).template["Parameters"]
    defaults = {name: spec.get("Default") for name, spec in parameters.items()}
    assert defaults == {
        "ClusterIdentifier": "sales-cluster",
        "DbUser": "awsuser",
        "Database": "dev",
        "SalesScriptsBucket": "sales-scripts",
    }


def test_the_definitions_substituted_back_are_the_projects(sales: Project) -> None:
    export = export_project(sales)
    local = {
        "ClusterIdentifier": "sales-cluster",
        "DbUser": "awsuser",
        "Database": "dev",
        "SalesScriptsBucket": "sales-scripts",
        "RedshiftBatchDataApiFunctionArn": "redshift_batch_data_api",
    }
    for machine, logical_id in [
        ("sales_data_pipeline", "SalesDataPipelineStateMachine"),
        ("sales_data_pipeline_lambda", "SalesDataPipelineLambdaStateMachine"),
    ]:
        expected = json.loads(sales.state_machines[machine].definition)
        assert substituted(export, logical_id, local) == expected


def test_sql_statement_lists_are_inlined_in_the_definition(sales: Project) -> None:
    properties = export_project(sales).template["Resources"]["SalesDataPipelineStateMachine"][
        "Properties"
    ]
    setup = properties["Definition"]["States"]["Setup"]["Parameters"]
    script = (sales.root / "sql" / "setup.sql").read_text()
    assert setup["Sqls"] == split_script(script, with_comments=False)
    assert setup["ClusterIdentifier"] == "${ClusterIdentifier}"
    assert properties["DefinitionSubstitutions"] == {
        "ClusterIdentifier": {"Ref": "ClusterIdentifier"},
        "Database": {"Ref": "Database"},
        "DbUser": {"Ref": "DbUser"},
    }


def test_the_function_keeps_its_settings_and_reads_the_stacks_parameters(sales: Project) -> None:
    export = export_project(sales)
    properties = export.template["Resources"]["RedshiftBatchDataApiFunction"]["Properties"]
    package = export.packages["redshift_batch_data_api"]
    assert properties["Handler"] == "redshift_batch_data_api.handler"
    assert properties["Runtime"] == "python3.12"
    assert (properties["Timeout"], properties["MemorySize"]) == (60, 128)
    assert properties["Code"] == {"S3Bucket": {"Ref": "SalesScriptsBucket"}, "S3Key": package.key}
    assert properties["Environment"]["Variables"] == {
        "CLUSTER_IDENTIFIER": {"Ref": "ClusterIdentifier"},
        "DATABASE": {"Ref": "Database"},
        "DB_USER": {"Ref": "DbUser"},
    }


def test_the_state_machines_policies_name_exactly_their_resources(sales: Project) -> None:
    template = export_project(sales).template
    assert policies(template, "SalesDataPipelineStateMachineRole") == [
        {"Effect": "Allow", "Action": ["redshift-data:BatchExecuteStatement"],
         "Resource": [CLUSTER_ARN]},
        CREDENTIALS,
        {"Effect": "Allow", "Action": ["redshift-data:DescribeStatement"], "Resource": ["*"]},
    ]  # fmt: skip
    function_arn = {"Fn::GetAtt": ["RedshiftBatchDataApiFunction", "Arn"]}
    assert policies(template, "SalesDataPipelineLambdaStateMachineRole") == [
        {"Effect": "Allow", "Action": ["lambda:InvokeFunction"],
         "Resource": [function_arn, {"Fn::Sub": "${RedshiftBatchDataApiFunction.Arn}:*"}]},
    ]  # fmt: skip


def test_the_functions_policy_names_exactly_its_resources(sales: Project) -> None:
    template = export_project(sales).template
    bucket = "${SalesScriptsBucket}"
    assert policies(template, "RedshiftBatchDataApiFunctionRole") == [
        {"Effect": "Allow", "Action": ["redshift-data:BatchExecuteStatement"],
         "Resource": [CLUSTER_ARN]},
        CREDENTIALS,
        {"Effect": "Allow", "Action": ["redshift-data:DescribeStatement"], "Resource": ["*"],
         "Condition": OWN_STATEMENTS},
        {"Effect": "Allow", "Action": ["s3:GetObject"],
         "Resource": [{"Fn::Sub": f"{PARTITION}:s3:::{bucket}/*"}]},
        {"Effect": "Allow", "Action": ["s3:ListBucket"],
         "Resource": [{"Fn::Sub": f"{PARTITION}:s3:::{bucket}"}]},
    ]  # fmt: skip
    role = template["Resources"]["RedshiftBatchDataApiFunctionRole"]["Properties"]
    assert role["ManagedPolicyArns"] == [
        {"Fn::Sub": f"{PARTITION}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}
    ]


def test_no_data_api_or_s3_grant_is_on_every_resource_beyond_what_aws_requires(
    sales: Project,
) -> None:
    """AWS gives DescribeStatement and its kin no resource type: "*" is all there is (and a
    function's are limited to its own statements). Everything else names its resource."""
    template = export_project(sales).template
    seen = 0
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for statement in policies(template, name):
            if not any(a.startswith(("redshift-data:", "s3:")) for a in statement["Action"]):
                continue
            seen += 1
            if "*" in statement["Resource"]:
                assert set(statement["Action"]) <= {
                    "redshift-data:DescribeStatement", "redshift-data:GetStatementResult",
                    "redshift-data:CancelStatement", "redshift-data:ListStatements",
                }  # fmt: skip
                if name.endswith("FunctionRole"):
                    assert statement["Condition"] == OWN_STATEMENTS
    assert seen == 6  # two on the state machine, four on the function


def test_roles_trust_only_their_service_in_this_account(sales: Project) -> None:
    resources = export_project(sales).template["Resources"]
    trusted = {
        name: resource["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
        for name, resource in resources.items()
        if resource["Type"] == "AWS::IAM::Role"
    }
    assert {name: t["Principal"]["Service"] for name, t in trusted.items()} == {
        "RedshiftBatchDataApiFunctionRole": "lambda.amazonaws.com",
        "SalesDataPipelineStateMachineRole": "states.amazonaws.com",
        "SalesDataPipelineLambdaStateMachineRole": "states.amazonaws.com",
    }
    for statement in trusted.values():
        assert statement["Condition"] == {
            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
        }


def test_outputs_are_every_arn(sales: Project) -> None:
    outputs = export_project(sales).template["Outputs"]
    assert {name: output["Value"] for name, output in outputs.items()} == {
        "SalesDataPipelineStateMachineArn": {"Ref": "SalesDataPipelineStateMachine"},
        "SalesDataPipelineLambdaStateMachineArn": {"Ref": "SalesDataPipelineLambdaStateMachine"},
        "RedshiftBatchDataApiFunctionArn": {"Fn::GetAtt": ["RedshiftBatchDataApiFunction", "Arn"]},
    }


# -- other targets and integrations --------------------------------------------------------------

DATA_API = "arn:aws:states:::aws-sdk:redshiftdata"


def one_task(resource: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "StartAt": "Task",
        "States": {
            "Task": {"Type": "Task", "Resource": resource, "Parameters": parameters, "End": True}
        },
    }


SERVERLESS_QUERY = one_task(
    f"{DATA_API}:executeStatement",
    {"WorkgroupName": "analytics", "Database": "sales", "Sql": "select 1"},
)


def test_a_serverless_target_grants_get_credentials_on_the_workgroup(
    make_project: ProjectMaker,
) -> None:
    export = export_project(make_project(machines={"query": SERVERLESS_QUERY}))
    workgroup = {"Fn::Sub": f"{PARTITION}:redshift-serverless:{HERE}:workgroup/${{WorkgroupId}}"}
    assert policies(export.template, "QueryStateMachineRole") == [
        {"Effect": "Allow", "Action": ["redshift-data:ExecuteStatement"], "Resource": [workgroup]},
        {"Effect": "Allow", "Action": ["redshift-serverless:GetCredentials"],
         "Resource": [workgroup]},
    ]  # fmt: skip
    parameters = export.template["Parameters"]
    assert list(parameters) == ["WorkgroupName", "WorkgroupId", "Database"]
    assert parameters["WorkgroupName"]["Default"] == "analytics"
    assert "Default" not in parameters["WorkgroupId"]  # only the deployer knows it
    assert lint_findings(export.template) == []


def test_the_callers_target_overrides_the_projects(make_project: ProjectMaker) -> None:
    project = make_project(machines={"query": SERVERLESS_QUERY})
    export = export_project(project, {"WorkgroupName": "prod", "Database": "warehouse"})
    defaults = {k: v.get("Default") for k, v in export.template["Parameters"].items()}
    assert defaults == {"WorkgroupName": "prod", "WorkgroupId": None, "Database": "warehouse"}


def test_a_redshift_data_warehouse_url_is_the_target(make_project: ProjectMaker) -> None:
    query = one_task(f"{DATA_API}:executeStatement", {"Database": "sales", "Sql": "select 1"})
    project = make_project(
        machines={"query": query},
        toml='[warehouse]\nurl = "redshift-data://prod-cluster/sales?db_user=etl"\n',
    )
    defaults = {
        k: v.get("Default") for k, v in export_project(project).template["Parameters"].items()
    }
    assert defaults == {"ClusterIdentifier": "prod-cluster", "DbUser": "etl", "Database": "sales"}


def test_nested_executions_are_granted_on_the_started_machine_only(
    make_project: ProjectMaker,
) -> None:
    parent = one_task(
        "arn:aws:states:::states:startExecution.sync:2",
        {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:child",
         "Input": {"run_date.$": "$.run_date"}},
    )  # fmt: skip
    child = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    export = export_project(make_project(machines={"parent": parent, "child": child}))
    rule = "StepFunctionsGetEventsForStepFunctionsExecutionRule"
    assert policies(export.template, "ParentStateMachineRole") == [
        {"Effect": "Allow", "Action": ["states:StartExecution"],
         "Resource": [{"Ref": "ChildStateMachine"}]},
        {"Effect": "Allow", "Action": ["states:DescribeExecution", "states:StopExecution"],
         "Resource": [{"Fn::Sub": f"{PARTITION}:states:{HERE}:execution:"
                                  "${ChildStateMachine.Name}:*"}]},
        {"Effect": "Allow",
         "Action": ["events:DescribeRule", "events:PutRule", "events:PutTargets"],
         "Resource": [{"Fn::Sub": f"{PARTITION}:events:{HERE}:rule/{rule}"}]},
    ]  # fmt: skip
    assert policies(export.template, "ChildStateMachineRole") == []
    definition = export.template["Resources"]["ParentStateMachine"]["Properties"]
    assert definition["Definition"]["States"]["Task"]["Parameters"]["StateMachineArn"] == (
        "${ChildStateMachineArn}"
    )
    assert lint_findings(export.template) == []


def test_an_s3_task_is_granted_on_its_bucket(make_project: ProjectMaker) -> None:
    machine = one_task(
        "arn:aws:states:::aws-sdk:s3:getObject", {"Bucket": "data", "Key": "input.csv"}
    )
    export = export_project(make_project(machines={"read": machine}))
    assert policies(export.template, "ReadStateMachineRole") == [
        {"Effect": "Allow", "Action": ["s3:GetObject"],
         "Resource": [{"Fn::Sub": f"{PARTITION}:s3:::${{DataBucket}}/*"}]},
    ]  # fmt: skip
    assert export.template["Parameters"] == {
        "DataBucket": {
            "Type": "String", "Description": "The S3 bucket the project calls data",
            "Default": "data",
        }
    }  # fmt: skip
    assert lint_findings(export.template) == []


SMALL_FUNCTION = """
import boto3

s3 = boto3.client("s3")


def handler(event, context):
    return s3.get_object(Bucket=event["bucket"], Key=event["key"])["Body"].read().decode()
"""


def test_a_small_function_goes_inline_and_reads_only_the_buckets_it_is_given(
    make_project: ProjectMaker,
) -> None:
    machine = one_task(
        "arn:aws:states:::lambda:invoke",
        {"FunctionName": "reader", "Payload": {"bucket": "data", "key": "input.csv"}},
    )
    project = make_project(
        machines={"read": machine},
        functions={"reader": SMALL_FUNCTION},
        toml="[buckets.other]\npath = 'other'\n",
    )
    export = export_project(project)
    properties = export.template["Resources"]["ReaderFunction"]["Properties"]
    assert properties["Code"] == {"ZipFile": SMALL_FUNCTION}
    assert properties["Handler"] == "index.handler"
    assert export.packages == {}
    assert policies(export.template, "ReaderFunctionRole") == [
        {"Effect": "Allow", "Action": ["s3:GetObject"],
         "Resource": [{"Fn::Sub": f"{PARTITION}:s3:::${{DataBucket}}/*"}]},
        {"Effect": "Allow", "Action": ["s3:ListBucket"],
         "Resource": [{"Fn::Sub": f"{PARTITION}:s3:::${{DataBucket}}"}]},
    ]  # fmt: skip
    assert "OtherBucket" not in export.template["Parameters"]
    assert lint_findings(export.template) == []


@pytest.mark.parametrize(
    ("machine", "functions", "message"),
    [
        (one_task("arn:aws:states:::lambda:invoke", {"FunctionName.$": "$.name"}), {},
         "Task 'Task': FunctionName is chosen at run time, and could be granted none"),
        (one_task("arn:aws:states:::lambda:invoke", {"FunctionName": "elsewhere"}), {},
         "invokes 'elsewhere', which is not one of the project's functions"),
        (one_task("arn:aws:states:::sns:publish", {"TopicArn": "x", "Message": "hi"}), {},
         "redstep cannot export the permissions of arn:aws:states:::sns:publish"),
        (one_task("arn:aws:states:::aws-sdk:s3:getObject", {"Bucket.$": "$.b", "Key": "k"}), {},
         "Task 'Task': Bucket is chosen at run time, and could be granted none"),
        (one_task("arn:aws:states:::lambda:invoke", {"FunctionName": "notify"}),
         {"notify": "import boto3\nsns = boto3.client('sns')\n"
                    "def handler(e, c):\n    sns.publish(TopicArn='t', Message='m')\n"},
         "function 'notify' (functions/notify.py line 4): redstep cannot export the "
         "permissions of sns"),
    ],
)  # fmt: skip
def test_what_cannot_be_granted_is_an_error_that_says_where(
    make_project: ProjectMaker, machine: dict[str, Any], functions: dict[str, str], message: str
) -> None:
    project = make_project(machines={"machine": machine}, functions=functions)
    with pytest.raises(ExportError, match=re.escape(message)):
        export_project(project)


def test_two_clusters_cannot_be_granted_as_one_target(make_project: ProjectMaker) -> None:
    machines = {
        name: one_task(
            f"{DATA_API}:executeStatement",
            {"ClusterIdentifier": name, "DbUser": "u", "Database": "d", "Sql": "select 1"},
        )
        for name in ("first", "second")
    }
    with pytest.raises(ExportError, match="more than one ClusterIdentifier"):
        export_project(make_project(machines=machines))


def test_a_cluster_without_a_user_is_an_error(make_project: ProjectMaker) -> None:
    query = one_task(
        f"{DATA_API}:executeStatement",
        {"ClusterIdentifier": "c", "Database": "d", "Sql": "select 1"},
    )
    with pytest.raises(ExportError, match="needs a database user: --db-user"):
        export_project(make_project(machines={"query": query}))


def test_a_paginated_call_is_granted_as_its_operation(make_project: ProjectMaker) -> None:
    source = (
        "import boto3\n\nredshift = boto3.client('redshift-data')\n\n\n"
        "def handler(event, context):\n"
        "    pages = redshift.get_paginator('list_statements').paginate()\n"
        "    return [s['Id'] for page in pages for s in page['Statements']]\n"
    )
    machine = one_task("arn:aws:states:::lambda:invoke", {"FunctionName": "lister"})
    export = export_project(
        make_project(machines={"m": machine}, functions={"lister": source}),
        {"ClusterIdentifier": "c", "DbUser": "u"},
    )
    assert policies(export.template, "ListerFunctionRole") == [
        {"Effect": "Allow", "Action": ["redshift-data:ListStatements"], "Resource": ["*"],
         "Condition": OWN_STATEMENTS},
    ]  # fmt: skip


@pytest.mark.parametrize(
    "line",
    ["boto3.client('s3').get_object(Bucket='data', Key='k')",
     "self_s3 = [boto3.client('s3')]",
     "table = boto3.resource('dynamodb').Table('t')"],
)  # fmt: skip
def test_a_client_whose_calls_cannot_be_followed_is_an_error(
    make_project: ProjectMaker, line: str
) -> None:
    source = f"import boto3\n\n\ndef handler(event, context):\n    {line}\n"
    machine = one_task("arn:aws:states:::lambda:invoke", {"FunctionName": "opaque"})
    project = make_project(machines={"m": machine}, functions={"opaque": source})
    with pytest.raises(ExportError, match=r"opaque.py line 5: a \w+ client not kept in a name"):
        export_project(project)


def test_a_function_reading_a_bucket_it_is_not_named_is_an_error(
    make_project: ProjectMaker,
) -> None:
    machine = one_task(
        "arn:aws:states:::lambda:invoke",
        {"FunctionName": "reader", "Payload": {"bucket.$": "$.bucket", "key": "input.csv"}},
    )
    project = make_project(machines={"read": machine}, functions={"reader": SMALL_FUNCTION})
    with pytest.raises(ExportError, match="function 'reader' calls S3, but neither"):
        export_project(project)


def test_code_goes_to_the_named_bucket_or_a_code_bucket_parameter(
    make_project: ProjectMaker,
) -> None:
    machine = one_task("arn:aws:states:::lambda:invoke", {"FunctionName": "big"})
    source = "def handler(event, context):\n    return event\n" + "# padding\n" * 500
    project = make_project(
        machines={"m": machine}, functions={"big": source}, toml="[buckets.other]\npath = 'o'\n"
    )
    asked = export_project(project)  # two buckets: which one is not the project's to say
    assert asked.code_bucket_parameter == "CodeBucket"
    assert "Default" not in asked.template["Parameters"]["CodeBucket"]
    code = asked.template["Resources"]["BigFunction"]["Properties"]["Code"]
    assert code == {"S3Bucket": {"Ref": "CodeBucket"}, "S3Key": asked.packages["big"].key}
    assert lint_findings(asked.template) == []
    named = export_project(project, code_bucket="other")
    assert named.code_bucket_parameter == "OtherBucket"
    assert named.template["Parameters"] == {
        "OtherBucket": {
            "Type": "String", "Description": "The S3 bucket the project calls other",
            "Default": "other",
        }
    }  # fmt: skip
    elsewhere = export_project(project, code_bucket="acme-artifacts")
    assert elsewhere.template["Parameters"]["CodeBucket"]["Default"] == "acme-artifacts"


def test_overriding_the_target_keeps_the_functions_reading_the_parameters(sales: Project) -> None:
    export = export_project(sales, {"ClusterIdentifier": "prod", "DbUser": "etl", "Database": "dw"})
    properties = export.template["Resources"]["RedshiftBatchDataApiFunction"]["Properties"]
    assert properties["Environment"]["Variables"] == {
        "CLUSTER_IDENTIFIER": {"Ref": "ClusterIdentifier"},
        "DATABASE": {"Ref": "Database"},
        "DB_USER": {"Ref": "DbUser"},
    }
    defaults = {k: v.get("Default") for k, v in export.template["Parameters"].items()}
    assert defaults["ClusterIdentifier"] == "prod"


def test_an_s3_address_in_the_environment_follows_the_buckets_parameter(
    make_project: ProjectMaker,
) -> None:
    machine = one_task("arn:aws:states:::lambda:invoke", {"FunctionName": "reader"})
    project = make_project(
        machines={"m": machine},
        functions={"reader": SMALL_FUNCTION},
        toml='[functions.reader.environment]\nINPUT = "s3://data/in/x.csv"\n',
    )
    properties = export_project(project).template["Resources"]["ReaderFunction"]["Properties"]
    assert properties["Environment"]["Variables"] == {
        "INPUT": {"Fn::Sub": "s3://${DataBucket}/in/x.csv"}
    }


def test_a_function_is_granted_what_its_handler_and_its_imports_call_not_its_siblings(
    make_project: ProjectMaker,
) -> None:
    reader = (
        "import boto3\nfrom helpers import listing\n\ns3 = boto3.client('s3')\n\n\n"
        "def handler(event, context):\n"
        "    return s3.get_object(Bucket='data', Key='k'), listing()\n"
    )
    helpers = (
        "import boto3\n\nredshift = boto3.client('redshift-data')\n\n\n"
        "def listing():\n    return redshift.list_statements()\n"
    )
    writer = (
        "import boto3\n\ns3 = boto3.client('s3')\nout = s3\n\n\n"
        "def handler(event, context):\n    out.put_object(Bucket='data', Key='k', Body=b'')\n"
        "    s3.delete_object(Bucket='data', Key='old')\n"
    )
    machine = one_task(
        "arn:aws:states:::lambda:invoke", {"FunctionName": "reader", "Payload": {"b": "data"}}
    )
    other = one_task(
        "arn:aws:states:::lambda:invoke", {"FunctionName": "writer", "Payload": {"b": "data"}}
    )
    project = make_project(
        machines={"read": machine, "write": other},
        functions={"reader": reader, "writer": writer, "helpers": helpers},
    )
    export = export_project(project, {"ClusterIdentifier": "c", "DbUser": "u"})
    actions = {
        role: sorted(a for st in policies(export.template, role) for a in st["Action"])
        for role in ("ReaderFunctionRole", "WriterFunctionRole")
    }
    assert actions == {
        "ReaderFunctionRole": ["redshift-data:ListStatements", "s3:GetObject", "s3:ListBucket"],
        "WriterFunctionRole": ["s3:DeleteObject", "s3:PutObject"],  # through `out` too
    }


def test_a_client_passed_along_cannot_be_followed(make_project: ProjectMaker) -> None:
    source = (
        "import boto3\n\ns3 = boto3.client('s3')\n\n\n"
        "def handler(event, context):\n    return helper(s3)\n"
    )
    machine = one_task("arn:aws:states:::lambda:invoke", {"FunctionName": "passer"})
    project = make_project(machines={"m": machine}, functions={"passer": source})
    with pytest.raises(
        ExportError, match=r"functions/passer.py line 7: the s3 client 's3' is used"
    ):
        export_project(project)


def test_an_s3_copy_reads_its_source_bucket_and_writes_its_destination(
    make_project: ProjectMaker,
) -> None:
    machine = one_task(
        "arn:aws:states:::aws-sdk:s3:copyObject",
        {"Bucket": "archive", "Key": "x.csv", "CopySource": "data/in/x.csv"},
    )
    project = make_project(machines={"copy": machine}, toml="[buckets.archive]\npath = 'a'\n")
    export = export_project(project)
    assert policies(export.template, "CopyStateMachineRole") == [
        {"Effect": "Allow", "Action": ["s3:PutObject"],
         "Resource": [{"Fn::Sub": f"{PARTITION}:s3:::${{ArchiveBucket}}/*"}]},
        {"Effect": "Allow", "Action": ["s3:GetObject"],
         "Resource": [{"Fn::Sub": f"{PARTITION}:s3:::${{DataBucket}}/*"}]},
    ]  # fmt: skip
    parameters = export.template["Resources"]["CopyStateMachine"]["Properties"]
    assert parameters["Definition"]["States"]["Task"]["Parameters"]["CopySource"] == (
        "${DataBucket}/in/x.csv"
    )
    assert lint_findings(export.template) == []


@pytest.mark.parametrize(
    ("machines", "functions", "toml", "message"),
    [
        ({}, {"a_b": "def handler(e, c):\n    pass\n", "a-b": "def handler(e, c):\n    pass\n"},
         "", "functions 'a_b' and 'a-b' would both be ABFunction"),
        ({}, {}, "[buckets.code]\npath = 'c'\n",
         "bucket 'code' would be the template's CodeBucket parameter"),
    ],
)  # fmt: skip
def test_names_that_would_be_one_resource_are_refused(
    make_project: ProjectMaker,
    machines: dict[str, Any],
    functions: dict[str, str],
    toml: str,
    message: str,
) -> None:
    with pytest.raises(ExportError, match=re.escape(message)):
        export_project(make_project(machines=machines, functions=functions, toml=toml))


def test_machines_that_start_each_other_are_refused(make_project: ProjectMaker) -> None:
    def starting(other: str) -> dict[str, Any]:
        arn = f"arn:aws:states:us-east-1:123456789012:stateMachine:{other}"
        return one_task("arn:aws:states:::states:startExecution", {"StateMachineArn": arn})

    project = make_project(machines={"first": starting("second"), "second": starting("first")})
    with pytest.raises(ExportError, match="state machines start each other"):
        export_project(project)


@pytest.mark.parametrize(
    ("parameters", "member"),
    [({"ClusterIdentifier.$": "$.cluster", "Database": "d", "DbUser": "u", "Sql": "select 1"},
      "ClusterIdentifier"),
     ({"ClusterIdentifier": "{% $states.input.cluster %}", "Database": "d", "DbUser": "u",
       "Sql": "select 1"}, "ClusterIdentifier")],
)  # fmt: skip
def test_a_redshift_chosen_at_run_time_is_refused(
    make_project: ProjectMaker, parameters: dict[str, Any], member: str
) -> None:
    project = make_project(machines={"q": one_task(f"{DATA_API}:executeStatement", parameters)})
    with pytest.raises(ExportError, match=f"{member} is chosen at run time"):
        export_project(project)


def test_parameters_nothing_uses_are_left_out(make_project: ProjectMaker) -> None:
    query = one_task(f"{DATA_API}:executeStatement", {"Database": "sales", "Sql": "select 1"})
    project = make_project(
        machines={"query": query},
        toml='[warehouse]\nurl = "redshift-data://workgroup:analytics/sales"\n',
    )
    export = export_project(project)
    assert list(export.template["Parameters"]) == ["WorkgroupId", "Database"]
    assert lint_findings(export.template) == []


def test_a_project_without_the_data_api_has_no_redshift_parameters(
    make_project: ProjectMaker,
) -> None:
    passing = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    plain = export_project(make_project(machines={"p": passing}), {"ClusterIdentifier": "c"})
    assert "Parameters" not in plain.template
    assert lint_findings(plain.template) == []


def test_a_client_imported_by_name_from_a_module_of_the_package_is_followed(
    make_project: ProjectMaker,
) -> None:
    clients = "import boto3\n\ns3 = boto3.client('s3')\n"
    reader = (
        "from clients import s3 as storage\n\n\n"
        "def handler(event, context):\n    return storage.head_object(Bucket='data', Key='k')\n"
    )
    machine = one_task("arn:aws:states:::lambda:invoke", {"FunctionName": "reader"})
    project = make_project(
        machines={"m": machine},
        functions={"reader": reader, "clients": clients},
        toml='[functions.reader.environment]\nBUCKET = "data"\n',
    )
    statements = policies(export_project(project).template, "ReaderFunctionRole")
    assert [statement["Action"] for statement in statements] == [
        ["s3:GetObject"],
        ["s3:ListBucket"],
    ]

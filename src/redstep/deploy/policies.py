"""Least-privilege IAM policies for what the project's code calls (`redstep.deploy.calls`).

Each grant names exactly its resources, as AWS's Service Authorization Reference allows:

    redshift-data:ExecuteStatement, BatchExecuteStatement, ListDatabases, ListSchemas,
      ListTables, DescribeTable           the cluster (…:cluster:ID) or workgroup (…:workgroup/ID)
    redshift-data:DescribeStatement, GetStatementResult, CancelStatement, ListStatements
                                          no resource type: "*"; a function's only on its own
                                          statements (statement-owner-iam-userid = aws:userid,
                                          its role's session being named after the function);
                                          a state machine's without that condition, as nothing
                                          documents that its tasks share one role session
    redshift:GetClusterCredentials        the database user and the database of the cluster
    redshift-serverless:GetCredentials    the workgroup
    s3:GetObject, s3:PutObject, ...       the bucket's objects (bucket/*)
    s3:ListBucket                         the bucket
    lambda:InvokeFunction                 the function, its versions and aliases
    states:StartExecution                 the state machine; `.sync` adds Describe/StopExecution
                                          on its executions and the EventBridge rule Step
                                          Functions manages for it
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from redstep.deploy.calls import FunctionCalls, MachineCalls
from redstep.deploy.names import bucket_parameter, function_id, state_machine_id
from redstep.deploy.target import Target

Statement = dict[str, Any]
PolicyDocument = dict[str, Any]

OWN_STATEMENT_ACTIONS = frozenset(
    {"DescribeStatement", "GetStatementResult", "CancelStatement", "ListStatements"}
)
"""Data API actions without a resource type: granted on "*" for the caller's statements only."""
_PREFIX = "arn:${AWS::Partition}"
_HERE = "${AWS::Region}:${AWS::AccountId}"
SYNC_RULE = "StepFunctionsGetEventsForStepFunctionsExecutionRule"
"""The EventBridge rule Step Functions keeps for `.sync` integrations."""


def _sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def warehouse_arn(target: Target) -> dict[str, str]:
    """The cluster's or the workgroup's ARN."""
    if target.is_serverless:
        return _sub(f"{_PREFIX}:redshift-serverless:{_HERE}:workgroup/${{WorkgroupId}}")
    return _sub(f"{_PREFIX}:redshift:{_HERE}:cluster:${{ClusterIdentifier}}")


def data_api_statements(
    actions: Iterable[str], target: Target, *, is_own_statements_only: bool
) -> list[Statement]:
    """What calling these Data API actions on the target takes, credentials included; with
    `is_own_statements_only`, the actions on statements are limited to the caller's own."""
    wanted = set(actions)
    if not wanted:
        return []
    statements = []
    on_warehouse = sorted(wanted - OWN_STATEMENT_ACTIONS)
    if on_warehouse:
        statements.append(
            _allow([f"redshift-data:{action}" for action in on_warehouse], [warehouse_arn(target)])
        )
        statements.append(credentials_statement(target))
    own = sorted(wanted & OWN_STATEMENT_ACTIONS)
    if own:
        statement = _allow([f"redshift-data:{action}" for action in own], ["*"])
        if is_own_statements_only:
            statement["Condition"] = {
                "StringEquals": {"redshift-data:statement-owner-iam-userid": "${aws:userid}"}
            }
        statements.append(statement)
    return statements


def credentials_statement(target: Target) -> Statement:
    """The temporary database credentials the Data API gets on the caller's behalf."""
    if target.is_serverless:
        return _allow(["redshift-serverless:GetCredentials"], [warehouse_arn(target)])
    return _allow(
        ["redshift:GetClusterCredentials"],
        [
            _sub(f"{_PREFIX}:redshift:{_HERE}:dbuser:${{ClusterIdentifier}}/${{DbUser}}"),
            _sub(f"{_PREFIX}:redshift:{_HERE}:dbname:${{ClusterIdentifier}}/${{Database}}"),
        ],
    )


def s3_statements(grants: Iterable[tuple[str, str]]) -> list[Statement]:
    """(IAM action, bucket) pairs as statements: object actions on `bucket/*`, ListBucket on the
    bucket. The bucket is written as `Fn::Sub` takes it (`bucket_text`)."""
    by_bucket: dict[str, set[str]] = {}
    for action, bucket in grants:
        by_bucket.setdefault(bucket, set()).add(action)
    statements = []
    for bucket, actions in sorted(by_bucket.items()):
        objects = sorted(actions - {"s3:ListBucket"})
        if objects:
            statements.append(_allow(objects, [_bucket_arn(bucket, "/*")]))
        if "s3:ListBucket" in actions:
            statements.append(_allow(["s3:ListBucket"], [_bucket_arn(bucket, "")]))
    return statements


def _bucket_arn(bucket: str, suffix: str) -> dict[str, str]:
    return _sub(f"{_PREFIX}:s3:::{bucket}{suffix}")


def bucket_text(bucket: str, project_buckets: Iterable[str]) -> str:
    """A bucket in an `Fn::Sub` text: a project bucket is its parameter, another its name."""
    return f"${{{bucket_parameter(bucket)}}}" if bucket in project_buckets else bucket


def function_policy(calls: FunctionCalls, target: Target) -> PolicyDocument:
    """What a function's code calls: the Data API on the target, S3 on the buckets it is given
    (reading one grants ListBucket too, so a missing key reads as missing, not as denied)."""
    statements = data_api_statements(calls.data_api_actions, target, is_own_statements_only=True)
    actions = set(calls.s3_actions)
    if actions & {"s3:GetObject"}:
        actions.add("s3:ListBucket")
    statements += s3_statements(
        (action, bucket_text(bucket, calls.buckets))
        for bucket in calls.buckets
        for action in actions
    )
    return _document(statements)


def machine_policy(calls: MachineCalls, target: Target, buckets: Iterable[str]) -> PolicyDocument:
    """What a state machine's tasks call; `buckets` are the project's (named by parameter)."""
    project_buckets = set(buckets)
    statements: list[Statement] = []
    if calls.functions:
        arns = []
        for name in sorted(calls.functions):
            arn = {"Fn::GetAtt": [function_id(name), "Arn"]}
            arns += [arn, {"Fn::Sub": f"${{{function_id(name)}.Arn}}:*"}]
        statements.append(_allow(["lambda:InvokeFunction"], arns))
    statements += data_api_statements(calls.data_api_actions, target, is_own_statements_only=False)
    statements += s3_statements(
        (action, bucket_text(bucket, project_buckets)) for action, bucket in calls.s3_actions
    )
    if calls.started_machines:
        started = [{"Ref": state_machine_id(name)} for name in sorted(calls.started_machines)]
        statements.append(_allow(["states:StartExecution"], started))
    if calls.synced_machines:
        executions = [
            _sub(f"{_PREFIX}:states:{_HERE}:execution:${{{state_machine_id(name)}.Name}}:*")
            for name in sorted(calls.synced_machines)
        ]
        statements.append(_allow(["states:DescribeExecution", "states:StopExecution"], executions))
        statements.append(
            _allow(
                ["events:DescribeRule", "events:PutRule", "events:PutTargets"],
                [_sub(f"{_PREFIX}:events:{_HERE}:rule/{SYNC_RULE}")],
            )
        )
    return _document(statements)


def _allow(actions: list[str], resources: list[Any]) -> Statement:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


def _document(statements: list[Statement]) -> PolicyDocument:
    return {"Version": "2012-10-17", "Statement": statements}

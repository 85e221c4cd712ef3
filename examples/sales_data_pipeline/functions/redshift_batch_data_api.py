"""A Lambda function that runs the pipeline's SQL scripts through the Redshift Data API.

The `sales_data_pipeline_lambda` workflow calls it with an `action`, as AWS's sample does:

    {"action": "run_script", "bucket": "sales-scripts", "script": "load_dim_item.sql",
     "parameters": {"run_date": "2003-01-02"}}
        reads s3://<bucket>/<script>, submits its statements as one BatchExecuteStatement (one
        transaction) and answers {"Id": "<statement id>"} without waiting for it;
    {"action": "get_status", "id": "<statement id>"}
        answers {"Id", "Status", "ResultRows" (one count per statement), "Error"} once the
        statement ends, or after WAIT_SECONDS with a status that is not final yet. "Error" is
        always there: the statement's error when DescribeStatement gives one (a FAILED
        statement's; an ABORTED one may have none), null otherwise.

An error the Data API answers is raised as boto3 raises it, so the workflow sees its name
(`ActiveStatementsExceededException`, `InternalServerException`, ...) and retries the transient
ones: run_script only those after which the statement surely did not run.

The cluster, database and user come from the function's environment (CLUSTER_IDENTIFIER,
DATABASE, DB_USER). It is plain boto3 and runs on AWS Lambda as it is, packaged with sqlparse
and a boto3 recent enough for DescribeStatement's WaitTimeSeconds; under redstep, the clients
reach redstep's own endpoint.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
import sqlparse

WAIT_SECONDS = 20
"""How long one get_status waits for the statement to end (the Data API allows up to 30)."""

# Made once per container, as Lambda reuses it across invocations.
data_api = boto3.client("redshift-data")
s3 = boto3.client("s3")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Run the event's action."""
    action = event.get("action")
    if action == "run_script":
        return run_script(event["bucket"], event["script"], event.get("parameters") or {})
    if action == "get_status":
        return get_status(event["id"])
    raise ValueError(f"unknown action {action!r}: expected 'run_script' or 'get_status'")


def run_script(bucket: str, script: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """Submit the script's statements as one batch, bound to `parameters` (`:name` in the SQL)."""
    text = s3.get_object(Bucket=bucket, Key=script)["Body"].read().decode("utf-8")
    request: dict[str, Any] = {
        "ClusterIdentifier": os.environ["CLUSTER_IDENTIFIER"],
        "Database": os.environ["DATABASE"],
        "DbUser": os.environ["DB_USER"],
        "Sqls": statements(text),
        "StatementName": script,
    }
    # The Data API refuses an empty parameter list, and a parameter no statement uses.
    if parameters:
        request["Parameters"] = [
            {"name": name, "value": str(value)} for name, value in parameters.items()
        ]
    return {"Id": data_api.batch_execute_statement(**request)["Id"]}


def get_status(statement_id: str) -> dict[str, Any]:
    """The statement's status, waiting for it to end (long polling) up to WAIT_SECONDS.

    "Error" is null rather than left out when the statement has none, so that the workflow's
    ResultSelector always finds it."""
    described = data_api.describe_statement(Id=statement_id, WaitTimeSeconds=WAIT_SECONDS)
    return {
        "Id": described["Id"],
        "Status": described["Status"],
        "ResultRows": [sub.get("ResultRows", -1) for sub in described.get("SubStatements", [])],
        "Error": described.get("Error"),
    }


def statements(script: str) -> list[str]:
    """The script's statements, without comments or the `;` that ends them."""
    found = []
    for statement in sqlparse.split(script):
        text = sqlparse.format(statement, strip_comments=True).strip().rstrip(";").strip()
        if text:  # a fragment that held only comments
            found.append(text)
    return found

"""End to end: one redstep orchestrates the sample pipeline while another runs its SQL as Redshift.

Project B is the sales example served by a real `redstep serve`: to project A, it is Redshift.
Project A is the same example whose warehouse is `redshift-data://sales-cluster/dev`, run by
`python -m redstep run` with AWS_ENDPOINT_URL_REDSHIFT_DATA pointing at B, as a user would point
it at AWS. Both workflows of the example run: the one calling the Data API itself, and the Lambda
one, whose function calls A's own endpoint (A's Data API), which forwards to B.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from serve_process import Server, serving

from redstep.cli.init import create_project

RUN_DATE_SK = 2452642  # 2003-01-02, the run date of a run without input
# (ss_item_sk, ss_customer_sk, ss_ticket_number, ss_quantity, ss_net_paid) of that day's sales.
SALES_OF_THE_RUN_DATE = [
    (502, 1002, 1002, 4, "11.80"),
    (503, 1001, 1001, 1, "9.68"),
    (504, 1003, 1005, 2, "7.70"),
    (505, 1004, 1004, 6, "12.60"),
    (506, 1004, 1004, 1, "12.60"),
    (507, 1001, 1001, 2, "31.98"),
    (508, 1002, 1002, 3, "12.30"),
    (509, 1003, 1003, 1, "29.30"),
]
A_URL = "redshift-data://sales-cluster/dev?db_user=awsuser"
JSON = ("--output", "json")


@pytest.fixture
def redshift(tmp_path: Path) -> Iterator[Server]:
    """Project B, served: the Redshift of project A."""
    project = create_project(tmp_path / "b", example="sales")
    with serving(project) as server:
        yield server


def data_api(server: Server) -> Any:
    return boto3.client(
        "redshift-data",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def run_on_redshift(
    server: Server, state_machine: str, project: Path, aws: dict[str, str]
) -> dict[str, Any]:
    """`python -m redstep run STATE_MACHINE --project A`, its Redshift being B; its JSON. `aws`
    is the `aws_environment` fixture's (the machine's own AWS_ variables are gone by then)."""
    environment = {**os.environ, **aws, "AWS_ENDPOINT_URL_REDSHIFT_DATA": server.url}
    ran = subprocess.run(
        [sys.executable, "-m", "redstep", "run", state_machine, "--project", str(project), *JSON],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, f"{ran.stdout}\n{ran.stderr}\n{server.log()}"
    outcome: dict[str, Any] = json.loads(ran.stdout)
    return outcome


def query(server: Server, sql: str) -> list[list[Any]]:
    """Run `sql` on B through its Data API; the rows, each value as its Field holds it."""
    client = data_api(server)
    statement = client.execute_statement(
        Sql=sql, ClusterIdentifier="sales-cluster", Database="dev", DbUser="awsuser"
    )
    described = client.describe_statement(Id=statement["Id"], WaitTimeSeconds=20)
    assert described["Status"] == "FINISHED", described
    records = client.get_statement_result(Id=statement["Id"])["Records"]
    return [[next(iter(field.values())) for field in record] for record in records]


def statements_run_on(server: Server) -> list[dict[str, Any]]:
    """Every statement B ran, as ListStatements reports it."""
    paginator = data_api(server).get_paginator("list_statements")
    return [
        statement for page in paginator.paginate(Status="ALL") for statement in page["Statements"]
    ]


@pytest.mark.parametrize("state_machine", ["sales_data_pipeline", "sales_data_pipeline_lambda"])
def test_the_pipeline_runs_its_sql_on_redshift(
    redshift: Server, state_machine: str, tmp_path: Path, aws_environment: dict[str, str]
) -> None:
    project = create_project(tmp_path / "a", example="sales", warehouse_url=A_URL)
    outcome = run_on_redshift(redshift, state_machine, project, aws_environment)
    assert outcome["status"] == "SUCCEEDED", outcome
    sales_query = (
        "select ss_item_sk, ss_customer_sk, ss_ticket_number, ss_quantity, ss_net_paid "
        f"from store_sales where ss_sold_date_sk = {RUN_DATE_SK} order by 1, 4"
    )
    sales = query(redshift, sales_query)
    assert [tuple(row) for row in sales] == SALES_OF_THE_RUN_DATE
    ran = statements_run_on(redshift)
    sqls = [statement["QueryString"] for statement in ran]
    fact_load = (project / "sql" / "load_fact_store_sales.sql").read_text()
    assert any(sql.startswith("insert into store_sales") and sql in fact_load for sql in sqls)
    assert any(sql.startswith("select 1 / count(1) as has_sales") for sql in sqls)
    # Each came from A's warehouse, one statement at a time in its sessions: the Lambda function
    # called A's endpoint, not B (whose batches it would have run as they are).
    pipeline = [statement for statement in ran if statement["QueryString"] != sales_query]
    assert all(not s["IsBatchStatement"] and s.get("SessionId") for s in pipeline)
    assert not (project / ".redstep" / "warehouse.duckdb").exists()  # nothing ran locally

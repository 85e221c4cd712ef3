"""BatchExecuteStatement: sub-statements, TRANSACTION and AUTO_COMMIT, on DuckDB and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from redstep.dataapi.errors import ResourceNotFoundException, ValidationException
from redstep.dataapi.service import DataApiService
from redstep.project import DEFAULT_WAREHOUSE, Project

Run = Callable[..., dict[str, Any]]


@pytest.fixture(params=["duckdb", "postgres"])
def any_service(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A service on DuckDB, then on PostgreSQL (skipped where no server is reachable)."""
    if request.param == "duckdb":
        url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    project = Project(root=tmp_path, warehouses=MappingProxyType({DEFAULT_WAREHOUSE: url}))
    with DataApiService(project) as service:
        yield service


def _count(service: DataApiService, run: Run, table: str) -> int:
    described = run(service, f"select count(*) from {table}")
    assert described["Status"] == "FINISHED", described.get("Error")
    records = service.get_statement_result({"Id": described["Id"]})["Records"]
    return int(records[0][0]["longValue"])


def test_failing_third_statement_rolls_back_the_batch(
    any_service: DataApiService, run: Run, wait_for: Run
) -> None:
    service = any_service
    run(service, "create table kept (a int)")
    submitted = service.batch_execute_statement(
        {
            "Sqls": [
                "insert into kept values (1)",
                "insert into kept values (2)",
                "select 1/0",
                "insert into kept values (4)",
            ],
            "Database": "dev",
        }
    )
    described = wait_for(service, submitted["Id"])
    assert described["Status"] == "FAILED"
    assert described["Error"] == "ERROR: division by zero"
    assert described["ExecutionMode"] == "TRANSACTION"
    assert "QueryString" not in described
    assert (described["ResultRows"], described["ResultSize"], described["RedshiftQueryId"]) == (
        -1,
        -1,
        0,
    )
    subs = described["SubStatements"]
    assert [sub["Id"] for sub in subs] == [f"{submitted['Id']}:{n}" for n in (1, 2, 3, 4)]
    assert [sub["Status"] for sub in subs] == ["FINISHED", "FINISHED", "FAILED", "ABORTED"]
    assert subs[2]["Error"] == "ERROR: division by zero"
    assert "Error" not in subs[0]
    assert subs[0]["QueryString"] == "insert into kept values (1)"
    assert _count(service, run, "kept") == 0


def test_transaction_batch_results_by_sub_statement(
    any_service: DataApiService, wait_for: Run
) -> None:
    service = any_service
    submitted = service.batch_execute_statement(
        {"Sqls": ["create table b (a int)", "insert into b values (5)", "select a from b"]}
    )
    described = wait_for(service, submitted["Id"])
    assert described["Status"] == "FINISHED"
    assert described["HasResultSet"] is True
    subs = described["SubStatements"]
    assert [sub["HasResultSet"] for sub in subs] == [False, False, True]
    assert subs[2]["ResultRows"] == 1
    assert all(sub["RedshiftQueryId"] > 0 for sub in subs)
    result = service.get_statement_result({"Id": subs[2]["Id"]})
    assert result["Records"] == [[{"longValue": 5}]]
    one = service.describe_statement({"Id": subs[1]["Id"]})
    assert one["Id"] == subs[1]["Id"]
    assert one["QueryString"] == "insert into b values (5)"
    assert one["Status"] == "FINISHED"
    with pytest.raises(ValidationException) as raised:
        service.get_statement_result({"Id": submitted["Id"]})
    assert raised.value.message == (
        "BatchExecuteStatement result can only be retrieved with sub-statement id."
    )
    with pytest.raises(ResourceNotFoundException, match=r"Query does not exist\."):
        service.describe_statement({"Id": f"{submitted['Id']}:9"})


def test_auto_commit_keeps_what_succeeded(
    any_service: DataApiService, run: Run, wait_for: Run
) -> None:
    service = any_service
    run(service, "create table ac (a int)")
    submitted = service.batch_execute_statement(
        {
            "Sqls": ["insert into ac values (1)", "select 1/0", "insert into ac values (3)"],
            "ExecutionMode": "AUTO_COMMIT",
        }
    )
    described = wait_for(service, submitted["Id"])
    assert described["Status"] == "FAILED"
    assert described["ExecutionMode"] == "AUTO_COMMIT"
    assert [sub["Status"] for sub in described["SubStatements"]] == [
        "FINISHED", "FAILED", "FINISHED"
    ]  # fmt: skip
    assert _count(service, run, "ac") == 2


def test_batch_wait_time_seconds(service: DataApiService) -> None:
    submitted = service.batch_execute_statement(
        {"Sqls": ["select 1", "select 2"], "WaitTimeSeconds": 10}
    )
    assert submitted["Status"] == "FINISHED"
    assert submitted["HasResultSet"] is True


def test_a_finished_batch_sums_its_sub_statements(any_service: DataApiService) -> None:
    service = any_service
    submitted = service.batch_execute_statement(
        {"Sqls": ["select 'one' as word", "select 'three' as word"], "WaitTimeSeconds": 10}
    )
    assert submitted["Status"] == "FINISHED"
    described = service.describe_statement({"Id": submitted["Id"]})
    subs = described["SubStatements"]
    assert [(sub["ResultRows"], sub["ResultSize"]) for sub in subs] == [(1, 3), (1, 5)]
    assert (described["RedshiftQueryId"], described["ResultRows"], described["ResultSize"]) == (
        0,
        2,
        8,
    )
    assert described["HasResultSet"] is True


def test_a_running_batch_shows_which_statements_ended_and_which_runs(
    fake_service: Callable[..., DataApiService], fake_warehouse: Any
) -> None:
    service = fake_service(pool_size=1)
    statement_id = service.batch_execute_statement({"Sqls": ["select 1", fake_warehouse.BLOCK]})[
        "Id"
    ]
    assert fake_warehouse.blocked.acquire(timeout=10)
    described = service.describe_statement({"Id": statement_id})
    statuses = [sub["Status"] for sub in described["SubStatements"]]
    assert (described["Status"], statuses) == ("STARTED", ["FINISHED", "STARTED"])
    fake_warehouse.open_gate()
    described = service.describe_statement({"Id": statement_id, "WaitTimeSeconds": 5})
    assert described["Status"] == "FINISHED"

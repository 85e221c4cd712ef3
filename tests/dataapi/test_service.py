"""ExecuteStatement, DescribeStatement and GetStatementResult end to end, on DuckDB."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from redstep.dataapi.errors import ValidationException
from redstep.dataapi.service import DataApiService
from redstep.dataapi.statements import StatementRecord

Run = Callable[..., dict[str, Any]]
LONG_QUERY = "select count(*) from range(3000000000)"
"""Seconds of work on DuckDB: still running when the submitting call returns."""


def test_execute_returns_at_once_with_an_id(service: DataApiService, wait_for: Run) -> None:
    submitted = service.execute_statement(
        {"Sql": LONG_QUERY, "Database": "dev", "ClusterIdentifier": "c1"}
    )
    assert uuid.UUID(submitted["Id"])
    assert submitted["Status"] in ("SUBMITTED", "PICKED", "STARTED")
    assert isinstance(submitted["CreatedAt"], datetime)
    assert submitted["CreatedAt"].tzinfo is not None
    assert submitted["ClusterIdentifier"] == "c1"
    assert submitted["Database"] == "dev"
    assert service.describe_statement({"Id": submitted["Id"]})["Status"] != "FINISHED"
    service.cancel_statement({"Id": submitted["Id"]})
    assert wait_for(service, submitted["Id"], timeout=10)["Status"] == "ABORTED"


def test_describe_a_finished_statement(service: DataApiService, wait_for: Run) -> None:
    submitted = service.execute_statement(
        {"Sql": "select 7/2 as half", "Database": "dev", "ClusterIdentifier": "c1"}
    )
    described = wait_for(service, submitted["Id"])
    assert described["Status"] == "FINISHED"
    assert described["QueryString"] == "select 7/2 as half"
    assert described["HasResultSet"] is True
    assert described["ResultRows"] == 1
    assert described["ResultSize"] > 0
    assert described["Duration"] > 0
    assert described["RedshiftQueryId"] > 0
    assert described["ClusterIdentifier"] == "c1"
    assert "SubStatements" not in described


def test_result_holds_typed_fields_and_metadata(service: DataApiService, run: Run) -> None:
    described = run(
        service,
        "select 7/2 as half, 1.5::numeric(5,2) as price, 2.5::float8 as ratio, 'x' as name, "
        "true as flag, null::int as nothing, date '2024-01-02' as day, "
        "timestamp '2024-01-02 03:04:05.120' as moment",
    )
    result = service.get_statement_result({"Id": described["Id"]})
    assert result["TotalNumRows"] == 1
    assert result["Records"] == [
        [
            {"longValue": 3},
            {"stringValue": "1.50"},
            {"doubleValue": 2.5},
            {"stringValue": "x"},
            {"booleanValue": True},
            {"isNull": True},
            {"stringValue": "2024-01-02"},
            {"stringValue": "2024-01-02 03:04:05.12"},
        ]
    ]
    names = [column["name"] for column in result["ColumnMetadata"]]
    assert names == ["half", "price", "ratio", "name", "flag", "nothing", "day", "moment"]
    types = [column["typeName"] for column in result["ColumnMetadata"]]
    assert types == [
        "int4", "numeric", "float8", "varchar", "bool", "int4", "date", "timestamp"
    ]  # fmt: skip
    price = result["ColumnMetadata"][1]
    assert (price["precision"], price["scale"]) == (5, 2)
    assert "NextToken" not in result


def test_sql_error_reads_failed_with_redshift_wording(service: DataApiService, run: Run) -> None:
    described = run(service, "select 1/0")
    assert described["Status"] == "FAILED"
    assert described["Error"] == "ERROR: division by zero"
    assert described["ResultRows"] == -1
    with pytest.raises(ValidationException) as raised:
        service.get_statement_result({"Id": described["Id"]})
    assert raised.value.message == (
        "Query does not have result. Please check query status with DescribeStatement."
    )


def test_statement_without_result_set(service: DataApiService, run: Run) -> None:
    assert run(service, "create table t (a int)")["HasResultSet"] is False
    inserted = run(service, "insert into t values (1), (2), (3)")
    assert inserted["Status"] == "FINISHED"
    assert inserted["ResultRows"] == 3
    with pytest.raises(ValidationException, match="Query does not have result"):
        service.get_statement_result({"Id": inserted["Id"]})


def test_several_statements_in_one_sql_run_together(service: DataApiService, run: Run) -> None:
    described = run(
        service, "create table t (a int); insert into t values (1), (2); select count(*) from t"
    )
    assert described["Status"] == "FINISHED"
    result = service.get_statement_result({"Id": described["Id"]})
    assert result["Records"] == [[{"longValue": 2}]]


def test_several_statements_fail_as_one_transaction(service: DataApiService, run: Run) -> None:
    run(service, "create table t (a int)")
    failed = run(service, "insert into t values (1); select 1/0")
    assert failed["Status"] == "FAILED"
    counted = run(service, "select count(*) from t")
    assert service.get_statement_result({"Id": counted["Id"]})["Records"] == [[{"longValue": 0}]]


def test_parameters_are_bound_and_echoed(service: DataApiService, run: Run) -> None:
    parameters = [{"name": "n", "value": "41"}, {"name": "word", "value": "it's"}]
    described = run(
        service, "select cast(:n as int) + 1 as answer, :word as word", Parameters=parameters
    )
    assert described["Status"] == "FINISHED", described.get("Error")
    assert described["QueryParameters"] == parameters
    result = service.get_statement_result({"Id": described["Id"]})
    assert result["Records"] == [[{"longValue": 42}, {"stringValue": "it's"}]]


def test_wait_time_seconds_returns_the_ended_statement(service: DataApiService) -> None:
    submitted = service.execute_statement({"Sql": "select 1", "WaitTimeSeconds": 10})
    assert submitted["Status"] == "FINISHED"
    assert submitted["HasResultSet"] is True
    assert submitted["RedshiftPid"] > 0
    result = service.get_statement_result({"Id": submitted["Id"], "WaitTimeSeconds": 1})
    assert result["Records"] == [[{"longValue": 1}]]


def test_client_token_submits_once(service: DataApiService, run: Run) -> None:
    run(service, "create table hits (a int)")
    request = {"Sql": "insert into hits values (1)", "ClientToken": "token-1"}
    first = service.execute_statement({**request, "WaitTimeSeconds": 10})
    again = service.execute_statement({**request, "WaitTimeSeconds": 10})
    assert again["Id"] == first["Id"]
    counted = run(service, "select count(*) from hits")
    assert service.get_statement_result({"Id": counted["Id"]})["Records"] == [[{"longValue": 1}]]
    other = service.execute_statement({**request, "ClientToken": "token-2", "WaitTimeSeconds": 5})
    assert other["Id"] != first["Id"]
    with pytest.raises(ValidationException, match="ClientToken token-1"):
        service.execute_statement({"Sql": "select 2", "ClientToken": "token-1"})


def test_one_client_token_submits_once_however_many_callers_race(
    service: DataApiService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both callers look the token up before either records its statement, unless the look-up
    # and the insert are one step: then the second caller waits for the first and finds it.
    both_looked = threading.Barrier(2)
    find = service.store.find_by_client_token

    def find_together(client_token: str, since: datetime) -> StatementRecord | None:
        found = find(client_token, since)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_looked.wait(timeout=0.5)  # gives the other caller time to look up too
        return found

    monkeypatch.setattr(service.store, "find_by_client_token", find_together)
    request = {"Sql": "select 1", "ClientToken": "same-token"}
    ids: list[str] = []
    callers = [
        threading.Thread(target=lambda: ids.append(service.execute_statement(request)["Id"]))
        for _ in range(2)
    ]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(10)
    assert len(ids) == 2
    assert ids[0] == ids[1]
    listed = service.list_statements({"Status": "ALL"})["Statements"]
    assert [statement["Id"] for statement in listed] == ids[:1]


def test_handle_dispatches_by_wire_name(service: DataApiService) -> None:
    submitted = service.handle("ExecuteStatement", {"Sql": "select 1", "WaitTimeSeconds": 10})
    described = service.handle("DescribeStatement", {"Id": submitted["Id"]})
    assert described["Status"] == "FINISHED"
    assert set(service.operations) == {
        "ExecuteStatement", "BatchExecuteStatement", "DescribeStatement", "GetStatementResult",
        "GetStatementResultV2", "CancelStatement", "ListStatements", "ListDatabases",
        "ListSchemas", "ListTables", "DescribeTable", "ListSessions",
    }  # fmt: skip
    with pytest.raises(ValidationException):
        service.handle("Nope", {})


def test_routing_to_a_named_warehouse(project: Any, tmp_path: Any) -> None:
    from types import MappingProxyType

    from redstep.project import Project

    named = Project(
        root=project.root,
        warehouses=MappingProxyType(
            {**project.warehouses, "analytics": f"duckdb:///{tmp_path / 'analytics.duckdb'}"}
        ),
    )
    with DataApiService(named) as service:
        made = service.execute_statement(
            {"Sql": "create table only_here (a int)", "ClusterIdentifier": "analytics",
             "WaitTimeSeconds": 10}
        )  # fmt: skip
        assert made["Status"] == "FINISHED"
        elsewhere = service.execute_statement(
            {"Sql": "select * from only_here", "ClusterIdentifier": "other", "WaitTimeSeconds": 10}
        )
        assert elsewhere["Status"] == "FAILED"
        here = service.execute_statement(
            {"Sql": "select * from only_here", "WorkgroupName": "analytics", "WaitTimeSeconds": 10}
        )
        assert here["Status"] == "FINISHED"


def test_an_unterminated_string_fails_the_statement_as_redshift_says(
    service: DataApiService, run: Run
) -> None:
    described = run(service, "select 1; select 'abc")
    assert described["Status"] == "FAILED"
    assert described["Error"] == 'ERROR: unterminated quoted string at or near "\'abc"'
    batch = service.batch_execute_statement({"Sqls": ["select 1", "select $$ open"]})
    parent = service.describe_statement({"Id": batch["Id"], "WaitTimeSeconds": 10})
    assert [sub["Status"] for sub in parent["SubStatements"]] == ["FINISHED", "FAILED"]
    assert parent["SubStatements"][1]["Error"] == (
        'ERROR: unterminated dollar-quoted string at or near "$$ open"'
    )

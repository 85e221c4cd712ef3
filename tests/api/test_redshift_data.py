"""The Redshift Data API through `redstep serve`, driven by boto3: every operation of the model,
and errors raised as the modelled exception classes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

TARGET = {"ClusterIdentifier": "local", "Database": "dev", "DbUser": "awsuser"}


@pytest.fixture
def data(client: Callable[[str], Any]) -> Any:
    return client("redshift-data")


def run(data: Any, sql: str, **extra: Any) -> dict[str, Any]:
    submitted = data.execute_statement(Sql=sql, WaitTimeSeconds=20, **TARGET, **extra)
    described: dict[str, Any] = data.describe_statement(Id=submitted["Id"])
    assert described["Status"] == "FINISHED", described
    return described


def test_every_operation_of_the_model(data: Any) -> None:
    assert set(data.meta.service_model.operation_names) == {
        "BatchExecuteStatement",
        "CancelStatement",
        "DescribeStatement",
        "DescribeTable",
        "ExecuteStatement",
        "GetStatementResult",
        "GetStatementResultV2",
        "ListDatabases",
        "ListSchemas",
        "ListSessions",
        "ListStatements",
        "ListTables",
    }, "a new operation in the model: serve it, then list it here"


def test_execute_describe_and_fetch(data: Any) -> None:
    described = run(
        data,
        "select 7/2 as half, :name as name, 'x'::varbyte as raw",
        Parameters=[{"name": "name", "value": "redstep"}],
    )
    result = data.get_statement_result(Id=described["Id"])
    assert [c["name"] for c in result["ColumnMetadata"]] == ["half", "name", "raw"]
    half, name, raw = result["Records"][0]
    assert (half, name) == ({"longValue": 3}, {"stringValue": "redstep"})
    assert raw == {"blobValue": b"x"}
    assert result["TotalNumRows"] == 1


def test_csv_results(data: Any) -> None:
    described = run(data, "select 1 as one, 'a,b' as two", ResultFormat="CSV")
    result = data.get_statement_result_v2(Id=described["Id"])
    assert result["ResultFormat"] == "CSV"
    assert result["Records"] == [{"CSVRecords": 'one,two\n1,"a,b"\n'}]


def test_batch_and_catalog(data: Any) -> None:
    submitted = data.batch_execute_statement(
        Sqls=[
            "create table public.sales (id int, amount decimal(10,2))",
            "insert into public.sales values (1, 9.50)",
        ],
        WaitTimeSeconds=20,
        **TARGET,
    )
    described = data.describe_statement(Id=submitted["Id"])
    assert described["Status"] == "FINISHED"
    assert [s["Id"] for s in described["SubStatements"]] == [
        f"{submitted['Id']}:1",
        f"{submitted['Id']}:2",
    ]
    assert "dev" in data.list_databases(**TARGET)["Databases"]
    assert "public" in data.list_schemas(**TARGET)["Schemas"]
    tables = data.list_tables(SchemaPattern="public", TablePattern="sales", **TARGET)["Tables"]
    assert [t["name"] for t in tables] == ["sales"]
    columns = data.describe_table(Schema="public", Table="sales", **TARGET)["ColumnList"]
    assert [c["name"] for c in columns] == ["id", "amount"]
    listed = data.list_statements(Status="FINISHED")["Statements"]
    assert submitted["Id"] in [s["Id"] for s in listed]


def test_cancel_and_sessions(data: Any) -> None:
    submitted = data.execute_statement(
        Sql="select count(*) from range(3000000000)", SessionKeepAliveSeconds=60, **TARGET
    )
    assert data.cancel_statement(Id=submitted["Id"])["Status"] is True
    sessions = data.list_sessions()["Sessions"]
    assert submitted["SessionId"] in [s["SessionId"] for s in sessions]


def test_errors_raise_the_modelled_exception_classes(data: Any) -> None:
    with pytest.raises(data.exceptions.ResourceNotFoundException) as missing:
        data.describe_statement(Id="00000000-0000-0000-0000-000000000000")
    assert missing.value.response["ResourceId"] == "00000000-0000-0000-0000-000000000000"
    with pytest.raises(data.exceptions.ValidationException, match="id must satisfy"):
        data.describe_statement(Id="not an id")
    with pytest.raises(data.exceptions.ValidationException, match="ClusterIdentifier and"):
        data.execute_statement(Sql="select 1", ClusterIdentifier="one", WorkgroupName="two")
    failed = data.execute_statement(Sql="select 1/0", WaitTimeSeconds=20, **TARGET)
    described = data.describe_statement(Id=failed["Id"])
    assert described["Status"] == "FAILED"
    assert "division by zero" in described["Error"]


def test_nan_and_infinities_are_written_as_smithys_strings(data: Any) -> None:
    described = run(
        data,
        "select 'NaN'::float8 as nan, 'Infinity'::float8 as up, '-Infinity'::float8 as down, "
        "1.5::float8 as plain",
    )
    (row,) = data.get_statement_result(Id=described["Id"])["Records"]
    # botocore hands the strings over as they are (SDKs that follow Smithy parse them); before,
    # they were written as null, which boto3 refused ("one and only one member set").
    assert [cell["doubleValue"] for cell in row] == ["NaN", "Infinity", "-Infinity", 1.5]

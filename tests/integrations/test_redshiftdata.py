"""The `aws-sdk:redshiftdata` integration over a real DataApiService on a DuckDB project: what each
action's result is (names capitalized, unmodelled members dropped, instants as Java writes them,
members in alphabetical order), and how each failure is named and worded."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from sdk_calls import Call, failure

from redstep.dataapi.errors import DataApiError
from redstep.dataapi.service import DataApiService
from redstep.integrations.failure import TaskFailure
from redstep.integrations.redshiftdata import call_redshiftdata
from redstep.integrations.sdk import instant_text, sfn_name
from redstep.project import load_project

NOW = datetime(2026, 9, 24, 2, 36, 45, 123456, UTC)
"""The service's clock: every statement is created and updated at this instant."""
NOW_TEXT = "2026-09-24T02:36:45.123Z"
"""NOW as the task's result writes it: Java's Instant.toString, to the millisecond."""
REQUEST_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def statement_id(number: int) -> str:
    return f"00000000-0000-4000-8000-{number:012d}"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[DataApiService]:
    """The Data API of a project whose default warehouse is DuckDB, on a stopped clock, naming
    its statements 00000000-0000-4000-8000-000000000001, ...02, ..."""
    (tmp_path / "redstep.toml").write_text('[warehouse]\nurl = "duckdb:///warehouse.duckdb"\n')
    numbers = count(1)
    opened = DataApiService(
        load_project(tmp_path), now=lambda: NOW, new_id=lambda: statement_id(next(numbers))
    )
    yield opened
    opened.close()


@pytest.fixture
def call(service: DataApiService) -> Call:
    def run(action: str, parameters: Any) -> Any:
        return call_redshiftdata(service, action, parameters)

    return run


def service_message(service: DataApiService, operation: str, request: dict[str, Any]) -> str:
    """The message the service itself answers `request` with."""
    with pytest.raises(DataApiError) as caught:
        service.handle(operation, request)
    return caught.value.message


def cause_of(message: str, status: int = 400) -> str:
    """A pattern for the SDK's wording of a Redshift Data API error."""
    return (
        re.escape(message)
        + rf" \(Service: RedshiftData, Status Code: {status}, Request ID: {REQUEST_ID}\)"
        + r" \(SDK Attempt Count: 1\)"
    )


def wait_until_ended(call: Call, statement: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        described: dict[str, Any] = call("describeStatement", {"Id": statement})
        if described["Status"] in ("FINISHED", "FAILED", "ABORTED"):
            return described
        assert time.monotonic() < deadline, described
        time.sleep(0.02)


def assert_sorted(value: Any) -> None:
    """Every object in `value` has its members in alphabetical order, as Jackson writes them."""
    if isinstance(value, dict):
        assert list(value) == sorted(value)
        for item in value.values():
            assert_sorted(item)
    elif isinstance(value, list):
        for item in value:
            assert_sorted(item)


# -- a statement, start to finish ---------------------------------------------------------------


SQL = (
    "select 1 as n, 'a' as s, null::varchar as z, 1.5::double as d, true as b where :wanted = 'yes'"
)


def test_execute_then_describe_until_finished_then_get_the_result(call: Call) -> None:
    submitted = call(
        "executeStatement",
        {
            "Sql": SQL,
            "Database": "dev",
            "Parameters": [{"Name": "wanted", "Value": "yes"}],
            "StatementName": "nightly",
        },
    )
    assert submitted == {
        "CreatedAt": NOW_TEXT,
        "Database": "dev",
        "Id": statement_id(1),
        "Status": "SUBMITTED",
    }
    assert list(submitted) == sorted(submitted)

    described = wait_until_ended(call, statement_id(1))
    duration = described.pop("Duration")
    assert isinstance(duration, int)
    assert duration > 0
    assert described == {
        "CreatedAt": NOW_TEXT,
        "Database": "dev",
        "HasResultSet": True,
        "Id": statement_id(1),
        "QueryParameters": [{"Name": "wanted", "Value": "yes"}],
        "QueryString": SQL,
        "RedshiftPid": described["RedshiftPid"],
        "RedshiftQueryId": described["RedshiftQueryId"],
        "ResultFormat": "JSON",
        "ResultRows": 1,
        "ResultSize": described["ResultSize"],
        "Status": "FINISHED",
        "UpdatedAt": NOW_TEXT,
    }
    assert isinstance(described["RedshiftPid"], int)
    assert isinstance(described["RedshiftQueryId"], int)
    assert_sorted(described)

    result = call("getStatementResult", {"Id": statement_id(1)})
    assert result["Records"] == [
        [
            {"LongValue": 1},
            {"StringValue": "a"},
            {"IsNull": True},
            {"DoubleValue": 1.5},
            {"BooleanValue": True},
        ]
    ]
    assert result["TotalNumRows"] == 1
    assert [column["Name"] for column in result["ColumnMetadata"]] == ["n", "s", "z", "d", "b"]
    assert result["ColumnMetadata"][0] == {
        "IsCaseSensitive": False,
        "IsCurrency": False,
        "IsSigned": True,
        "Label": "n",
        "Length": 0,
        "Name": "n",
        "Nullable": 1,
        "Precision": 10,
        "Scale": 0,
        "SchemaName": "",
        "TableName": "",
        "TypeName": "int4",
    }
    assert list(result) == ["ColumnMetadata", "Records", "TotalNumRows"]
    assert_sorted(result)


def test_wait_time_seconds_answers_the_ended_statement(call: Call) -> None:
    finished = call("executeStatement", {"Sql": "select 42 as answer", "WaitTimeSeconds": 20})
    assert finished == {
        "CreatedAt": NOW_TEXT,
        "Database": "dev",
        "HasResultSet": True,
        "Id": statement_id(1),
        "RedshiftPid": finished["RedshiftPid"],
        "Status": "FINISHED",
    }
    assert call("getStatementResult", {"Id": statement_id(1)})["Records"] == [[{"LongValue": 42}]]


def test_a_sql_error_is_the_statements_not_the_tasks(call: Call) -> None:
    call("executeStatement", {"Sql": "select * from no_such_table", "WaitTimeSeconds": 20})
    described = wait_until_ended(call, statement_id(1))
    assert described["Status"] == "FAILED"
    assert described["Error"].startswith("ERROR: ")
    assert "no_such_table" in described["Error"]
    assert described["HasResultSet"] is False


def test_batch_statement_describes_its_sub_statements(call: Call) -> None:
    call(
        "batchExecuteStatement",
        {"Sqls": ["create table t (x int)", "insert into t values (1), (2)", "select x from t"]},
    )
    described = wait_until_ended(call, statement_id(1))
    assert described["Status"] == "FINISHED"
    assert described["ExecutionMode"] == "TRANSACTION"
    assert "QueryString" not in described
    subs = described["SubStatements"]
    assert [sub["Id"] for sub in subs] == [f"{statement_id(1)}:{n}" for n in (1, 2, 3)]
    assert [sub["Status"] for sub in subs] == ["FINISHED"] * 3
    assert [sub["HasResultSet"] for sub in subs] == [False, False, True]
    assert subs[2]["QueryString"] == "select x from t"
    assert subs[2]["CreatedAt"] == NOW_TEXT
    assert_sorted(described)
    result = call("getStatementResult", {"Id": f"{statement_id(1)}:3"})
    assert result["Records"] == [[{"LongValue": 1}], [{"LongValue": 2}]]


def test_csv_result_via_get_statement_result_v2(call: Call) -> None:
    call(
        "executeStatement",
        {"Sql": "select 1 as a, 'x,y' as b", "ResultFormat": "CSV", "WaitTimeSeconds": 20},
    )
    result = call("getStatementResultV2", {"Id": statement_id(1)})
    # The SDK for Java's property for the model's CSVRecords is csvRecords.
    assert result["Records"] == [{"CsvRecords": 'a,b\n1,"x,y"\n'}]
    assert result["ResultFormat"] == "CSV"
    assert result["TotalNumRows"] == 1


def test_list_databases_names_the_default_one(call: Call) -> None:
    listed = call("listDatabases", {"Database": "dev"})
    assert list(listed) == ["Databases"]
    assert "dev" in listed["Databases"]


def test_cancel_statement_answers_its_status(call: Call) -> None:
    call("executeStatement", {"Sql": "select 1", "WaitTimeSeconds": 20})
    failed = failure(call, "cancelStatement", {"Id": statement_id(1)})
    assert failed.error == "RedshiftData.ValidationException"
    assert failed.cause is not None
    assert re.fullmatch(
        cause_of(
            f"Could not cancel a query that is already in FINISHED state with ID: {statement_id(1)}"
        ),
        failed.cause,
    )


# -- the service's errors -----------------------------------------------------------------------


def test_unknown_statement_is_resource_not_found(call: Call) -> None:
    failed = failure(call, "describeStatement", {"Id": statement_id(99)})
    assert failed.error == "RedshiftData.ResourceNotFoundException"
    assert failed.cause is not None
    assert re.fullmatch(cause_of("Query does not exist."), failed.cause)


@pytest.mark.parametrize(
    ("action", "parameters", "operation", "request_"),
    [
        ("describeStatement", {"Id": "not-an-id"}, "DescribeStatement", {"Id": "not-an-id"}),
        # A null member is left out of the request: the service finds Sql missing.
        ("executeStatement", {"Sql": None}, "ExecuteStatement", {}),
        (
            "executeStatement",
            {"Sql": "select 1", "ClusterIdentifier": "a", "WorkgroupName": "b"},
            "ExecuteStatement",
            {"Sql": "select 1", "ClusterIdentifier": "a", "WorkgroupName": "b"},
        ),
    ],
)
def test_a_refused_request_is_a_validation_exception(
    service: DataApiService,
    call: Call,
    action: str,
    parameters: dict[str, Any],
    operation: str,
    request_: dict[str, Any],
) -> None:
    message = service_message(service, operation, request_)
    failed = failure(call, action, parameters)
    assert failed.error == "RedshiftData.ValidationException"
    assert failed.cause is not None
    assert re.fullmatch(cause_of(message), failed.cause)


def test_result_of_a_statement_without_one_is_refused(service: DataApiService, call: Call) -> None:
    call("executeStatement", {"Sql": "create table t (x int)", "WaitTimeSeconds": 20})
    message = service_message(service, "GetStatementResult", {"Id": statement_id(1)})
    assert message == (
        "Query does not have result. Please check query status with DescribeStatement."
    )
    failed = failure(call, "getStatementResult", {"Id": statement_id(1)})
    assert failed.error == "RedshiftData.ValidationException"
    assert failed.cause is not None
    assert re.fullmatch(cause_of(message), failed.cause)


# -- what the SDK refuses before the service sees it --------------------------------------------


@pytest.mark.parametrize(
    ("parameters", "cause"),
    [
        ({}, "The field 'Sql' is required but was missing"),
        ({"sql": "select 1"}, "The field 'Sql' is required but was missing"),
        ({"Sql": "select 1", "Bogus": 1}, 'The field "Bogus" is not supported by Step Functions'),
        ({"Sql": 1}, "The value for the field 'Sql' must be a STRING"),
        ({"Sql": ["select 1"]}, "The value for the field 'Sql' must be a STRING"),
        ({"Sql": "select 1", "WaitTimeSeconds": "5"}, "The value for the field 'WaitTimeSeconds' "
         "must be an INTEGER"),
        ({"Sql": "select 1", "WaitTimeSeconds": 5.0}, "The value for the field 'WaitTimeSeconds' "
         "must be an INTEGER"),
        (
            {"Sql": "select 1", "Parameters": [{"name": "a", "value": "b"}]},
            'The field "name" is not supported by Step Functions',
        ),
        (
            {"Sql": "select 1", "Parameters": {"Name": "a"}},
            "The value for the field 'Parameters' must be an ARRAY",
        ),
        (
            {"Sql": "select 1", "WithEvent": "TrUe"},
            'Cannot deserialize value of type `java.lang.Boolean` from String "TrUe": '
            'only "true" or "false" recognized',
        ),
        (["select 1"], "The Parameters of an AWS SDK task must be a JSON object"),
    ],
)  # fmt: skip
def test_parameters_the_sdk_cannot_take_fail_with_states_runtime(
    call: Call, parameters: Any, cause: str
) -> None:
    failed = failure(call, "executeStatement", parameters)
    assert (failed.error, failed.cause) == ("States.Runtime", cause)


@pytest.mark.parametrize("action", ["fooBar", "ExecuteStatement", "executestatement"])
def test_an_action_the_api_lacks_is_not_recognized(call: Call, action: str) -> None:
    failed = failure(call, action, {"Sql": "select 1"})
    assert failed.error == "States.Runtime"
    assert failed.cause == (
        f"The resource provided arn:aws:states:::aws-sdk:redshiftdata:{action} is not "
        "recognized. The value is not a valid resource ARN, or the resource is not available "
        "in this region."
    )


def test_every_operation_the_service_answers_is_an_action(service: DataApiService) -> None:
    causes: dict[str, str | None] = {}
    for operation in service.operations:
        action = operation[0].lower() + operation[1:]
        try:
            call_redshiftdata(service, action, {})
        except TaskFailure as failed:
            causes[action] = failed.cause
    assert not [action for action, cause in causes.items() if "not recognized" in (cause or "")]


# -- names and instants -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("member", "name"),
    [
        ("isNull", "IsNull"),
        ("isCaseSensitive", "IsCaseSensitive"),
        ("CSVRecords", "CsvRecords"),
        ("RedshiftPid", "RedshiftPid"),
        ("name", "Name"),
        ("executionArn", "ExecutionArn"),
    ],
)
def test_member_names_are_the_sdks_properties_capitalized(member: str, name: str) -> None:
    assert sfn_name(member) == name


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 9, 24, 2, 36, 45, tzinfo=UTC), "2026-09-24T02:36:45Z"),
        (datetime(2026, 9, 24, 2, 36, 45, 120000, tzinfo=UTC), "2026-09-24T02:36:45.120Z"),
        (datetime(2026, 9, 24, 2, 36, 45, 999, tzinfo=UTC), "2026-09-24T02:36:45Z"),
        (datetime(2026, 9, 24, 2, 36, 45, 1500, tzinfo=UTC), "2026-09-24T02:36:45.001Z"),
    ],
)
def test_instants_are_written_as_java_writes_them(moment: datetime, text: str) -> None:
    assert instant_text(moment) == text

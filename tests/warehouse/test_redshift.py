"""The Redshift backend beyond the contract: its error map, its reading of Field unions, its
Data API sessions, paging, parameters and cancels.

Most tests run against the in-process redstep endpoint of `redshift_services` (over DuckDB); the
ones about the order of calls at a moment no endpoint can be made to hit (a cancel while
ExecuteStatement is in flight, a session still busy) use botocore's Stubber.
"""

from __future__ import annotations

import datetime as dt
import inspect
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import boto3
import pytest
from botocore import exceptions as aws
from botocore.stub import Stubber

from redstep.dataapi.fields import column_metadata, to_field
from redstep.dataapi.service import DataApiService
from redstep.project import DEFAULT_WAREHOUSE, Project
from redstep.services import Services
from redstep.warehouse import (
    Column,
    Connection,
    QueryCancelled,
    WarehouseError,
    WarehouseOptions,
    WarehouseUnavailable,
    open_warehouse,
    redshift,
)
from redstep.warehouse.dialect import StatementKind
from redstep.warehouse.redshift import (
    RedshiftConnection,
    RedshiftWarehouse,
    SessionBusy,
    SessionEnded,
    StatementEnded,
    column_of,
    field_reader,
    map_error,
)
from redstep.warehouse.redshift_url import RedshiftTarget

TARGET = RedshiftTarget(database="dev", cluster_identifier="sales-cluster", db_user="awsuser")


@pytest.fixture
def warehouse(redshift_data_url: str, tmp_path: Path) -> Iterator[RedshiftWarehouse]:
    """The Redshift warehouse of the in-process endpoint."""
    opened = open_warehouse(redshift_data_url, WarehouseOptions(root=tmp_path))
    assert isinstance(opened, RedshiftWarehouse)
    yield opened
    opened.close()


def calls_to(warehouse: RedshiftWarehouse, operation: str) -> list[dict[str, Any]]:
    """The requests the warehouse's client sends for `operation` from now on."""
    sent: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append(params)

    client = warehouse._client
    client.meta.events.register(f"before-parameter-build.redshift-data.{operation}", record)
    return sent


# -- the error map ------------------------------------------------------------------------------


def client_error(code: str, message: str, status: int = 400) -> aws.ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return aws.ClientError(response, "ExecuteStatement")


@pytest.mark.parametrize(
    ("error", "expected_type", "message"),
    [
        (client_error("ValidationException", "Session is not available"), SessionEnded,
         "Session is not available"),
        (client_error("ValidationException", "Session with Id: 0a-1 is invalid"), SessionEnded,
         "Session with Id: 0a-1 is invalid"),
        (client_error("ValidationException",
                      "Session with Id: 0a-1 is busy running statement 2b-3"), SessionBusy,
         "Session with Id: 0a-1 is busy running statement 2b-3"),
        (client_error("ValidationException", "Could not cancel a query that is already in "
                      "FINISHED state with ID: 2b-3"), StatementEnded,
         "Could not cancel a query that is already in FINISHED state with ID: 2b-3"),
        (client_error("ValidationException", "Cannot process query string larger than 100kB"),
         WarehouseError, "Cannot process query string larger than 100kB"),
        (client_error("ResourceNotFoundException", "Query does not exist."), WarehouseError,
         "Query does not exist."),
        (client_error("ActiveStatementsExceededException", "too many"), WarehouseError,
         "too many"),
        (client_error("DatabaseConnectionException", "cannot connect", 500), WarehouseUnavailable,
         "the Redshift Data API is unavailable: DatabaseConnectionException: cannot connect"),
        (client_error("AccessDeniedException", "not authorized"), WarehouseUnavailable,
         "the Redshift Data API is unavailable: AccessDeniedException: not authorized"),
        (client_error("UnrecognizedClientException", "bad token"), WarehouseUnavailable,
         "the Redshift Data API is unavailable: UnrecognizedClientException: bad token"),
        (client_error("SomethingNew", "odd", 503), WarehouseUnavailable,
         "the Redshift Data API is unavailable: SomethingNew: odd"),
        (aws.NoRegionError(), WarehouseUnavailable,
         "no AWS region for the Redshift Data API: give region= in the URL or AWS_DEFAULT_REGION"),
        (aws.NoCredentialsError(), WarehouseUnavailable,
         "no AWS credentials for the Redshift Data API: Unable to locate credentials"),
        (aws.PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"),
         WarehouseUnavailable, "no AWS credentials for the Redshift Data API: Partial credentials "
         "found in env, missing: AWS_SECRET_ACCESS_KEY"),
        (aws.ParamValidationError(report="Invalid length for parameter Sql, value: 0"),
         WarehouseError, "Parameter validation failed: Invalid length for parameter Sql, value: 0"),
        (aws.EndpointConnectionError(endpoint_url="http://127.0.0.1:1/"), WarehouseUnavailable,
         'the Redshift Data API cannot be reached: Could not connect to the endpoint URL: '
         '"http://127.0.0.1:1/"'),
        (aws.ReadTimeoutError(endpoint_url="http://h/"), WarehouseUnavailable,
         'the Redshift Data API cannot be reached: Read timeout on endpoint URL: "http://h/"'),
        (aws.ConnectionClosedError(endpoint_url="http://h/"), WarehouseUnavailable,
         "the Redshift Data API cannot be reached: Connection was closed before we received a "
         'valid response from endpoint URL: "http://h/".'),
        (aws.UnknownServiceError(service_name="redshift-data", known_service_names="s3"),
         WarehouseUnavailable, "the Redshift Data API was not reached: Unknown service: "
         "'redshift-data'. Valid service names are: s3"),
        (ValueError("odd"), WarehouseError, "odd"),
    ],
)  # fmt: skip
def test_error_map(error: BaseException, expected_type: type[WarehouseError], message: str) -> None:
    mapped = map_error(error)
    assert type(mapped) is expected_type
    assert mapped.message == message


def test_error_map_passes_warehouse_errors_through() -> None:
    error = QueryCancelled()
    assert map_error(error) is error


def test_every_botocore_error_is_mapped_as_unreachable_or_as_a_bad_request() -> None:
    """What botocore raises without an answer from the service never becomes the catch-all:
    a malformed request is the statement's error, anything else means Redshift was not reached."""
    classes = [
        cls
        for _, cls in inspect.getmembers(aws, inspect.isclass)
        if issubclass(cls, aws.BotoCoreError)
    ]
    assert len(classes) > 50
    for cls in classes:
        error = cls.__new__(cls)  # without the keywords each class formats its message from
        Exception.__init__(error, "described")
        mapped = map_error(error)
        bad_request = issubclass(cls, aws.ParamValidationError)
        assert type(mapped) is (WarehouseError if bad_request else WarehouseUnavailable), cls


# -- values -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_name", "field", "value"),
    [
        ("int2", {"longValue": 7}, 7),
        ("int8", {"longValue": -9223372036854775808}, -9223372036854775808),
        ("float4", {"doubleValue": 2.5}, 2.5),
        ("float8", {"doubleValue": -1e-300}, -1e-300),
        ("bool", {"booleanValue": True}, True),
        ("numeric", {"stringValue": "12.340"}, Decimal("12.340")),
        ("numeric", {"stringValue": "-0.00001"}, Decimal("-0.00001")),
        ("numeric", {"stringValue": "123456789012345678901234567890.123456789"},
         Decimal("123456789012345678901234567890.123456789")),
        ("char", {"stringValue": "ab   "}, "ab   "),
        ("varchar", {"stringValue": "héllo, 世界"}, "héllo, 世界"),
        ("date", {"stringValue": "2024-01-02"}, dt.date(2024, 1, 2)),
        ("time", {"stringValue": "03:04:05"}, dt.time(3, 4, 5)),
        ("time", {"stringValue": "23:59:59.999999"}, dt.time(23, 59, 59, 999999)),
        ("time", {"stringValue": "24:00:00"}, "24:00:00"),  # beyond Python's time: its text
        ("timetz", {"stringValue": "03:04:05+00"}, dt.time(3, 4, 5, tzinfo=dt.UTC)),
        ("timetz", {"stringValue": "03:04:05.5+05:30"},
         dt.time(3, 4, 5, 500000, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))),
        ("timetz", {"stringValue": "03:04:05-03"},
         dt.time(3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=-3)))),
        ("timestamp", {"stringValue": "2024-01-02 03:04:05"}, dt.datetime(2024, 1, 2, 3, 4, 5)),
        ("timestamp", {"stringValue": "2024-01-02 03:04:05.12"},
         dt.datetime(2024, 1, 2, 3, 4, 5, 120000)),
        ("timestamp", {"stringValue": "12024-01-02 03:04:05"}, "12024-01-02 03:04:05"),
        ("timestamptz", {"stringValue": "2024-01-02 03:04:05.12+00"},
         dt.datetime(2024, 1, 2, 3, 4, 5, 120000, tzinfo=dt.UTC)),
        ("super", {"stringValue": '{"a":[1,2]}'}, '{"a":[1,2]}'),
        ("varbyte", {"blobValue": b"\x00\xff"}, b"\x00\xff"),
        ("interval", {"stringValue": "1 day 02:00:00"}, "1 day 02:00:00"),
        ("geometry", {"stringValue": "0101000000000000000000F03F"}, "0101000000000000000000F03F"),
        ("varchar", {"isNull": True}, None),
        ("timestamptz", {"isNull": True}, None),
    ],
)  # fmt: skip
def test_fields_read_as_python_values_that_render_back_to_the_same_field(
    type_name: str, field: dict[str, Any], value: object
) -> None:
    """The Data API service renders a warehouse's values with `dataapi.fields`: a value read
    from Redshift and served again must be the same Field, to the character."""
    read = field_reader(type_name)(field)
    assert read == value
    assert type(read) is type(value)
    if isinstance(value, dt.datetime | dt.time):
        assert isinstance(read, dt.datetime | dt.time)
        assert read.tzinfo == value.tzinfo
    assert to_field(read, type_name) == field


@pytest.mark.parametrize(
    "column",
    [
        Column("amount", "numeric", nullable=False, precision=12, scale=3),
        Column("name", "varchar", length=30, schema_name="public", table_name="t"),
        Column("code", "char", length=5, default="'x'::bpchar"),
        Column("unsized", "varchar"),
        Column("id", "int4", nullable=False, default="0"),
        Column("at", "timestamptz"),
        Column("doc", "super"),
        Column("bits", "varbyte"),
        Column("shape", "geometry", precision=3, scale=1),
    ],
)
def test_column_metadata_reads_as_a_column_that_renders_back_to_it(column: Column) -> None:
    metadata = column_metadata(column)
    read = column_of(metadata)
    assert column_metadata(read) == metadata
    assert (read.name, read.type_name, read.nullable) == (
        column.name, column.type_name, column.nullable,
    )  # fmt: skip
    assert read.default == column.default


def test_column_metadata_names_bpchar_char_and_keeps_unknown_nullability_nullable() -> None:
    read = column_of({"name": "c", "typeName": "bpchar", "precision": 5, "nullable": 2})
    assert (read.type_name, read.length, read.nullable) == ("char", 5, True)


# -- classification -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("begin", StatementKind.BEGIN),
        ("START TRANSACTION", StatementKind.BEGIN),
        ("/* why */ begin transaction isolation level serializable", StatementKind.BEGIN),
        ("end transaction", StatementKind.COMMIT),
        ("commit", StatementKind.COMMIT),
        ("abort", StatementKind.ROLLBACK),
        ("truncate table sales.store_sales", StatementKind.TRUNCATE),
        ("vacuum", StatementKind.QUERY),  # Redshift runs what the local engines skip
        ("select 'begin'", StatementKind.QUERY),
        ("copy t from 's3://not-mapped/x' iam_role 'arn:aws:iam::1:role/r' csv",
         StatementKind.QUERY),
    ],
)  # fmt: skip
def test_statements_that_change_the_transaction_are_told_apart(sql: str, kind: str) -> None:
    warehouse = RedshiftWarehouse(TARGET, stubbed_client())
    connection = RedshiftConnection(warehouse)
    assert connection._warehouse.kind_of(sql, len(sql.split())) == kind


def test_a_long_statement_is_a_query_without_being_parsed() -> None:
    warehouse = RedshiftWarehouse(TARGET, stubbed_client())

    def refuse(sql: str) -> None:
        raise AssertionError(f"parsed {sql[:20]}")

    warehouse._classify = refuse
    sql = "insert into t values " + ", ".join(f"({n})" for n in range(20))
    assert warehouse.kind_of(sql, 80) == StatementKind.QUERY


# -- over the endpoint --------------------------------------------------------------------------


def test_a_result_bigger_than_a_page_is_read_page_by_page(warehouse: RedshiftWarehouse) -> None:
    session = warehouse.connect()
    pages = calls_to(warehouse, "GetStatementResult")
    result = session.execute("select i, repeat('x', 200) as pad from range(12000) t(i)")
    assert result.row_count == 12000
    assert len(pages) == 1  # the first page, for the columns; the others when read
    rows = list(result.rows)
    assert len(pages) >= 3
    assert [row[0] for row in rows] == list(range(12000))
    assert rows[-1][1] == "x" * 200


def test_only_the_parameters_a_statement_uses_are_sent(warehouse: RedshiftWarehouse) -> None:
    session = warehouse.connect()
    sent = calls_to(warehouse, "ExecuteStatement")
    given = {"run_date": "2024-01-02", "unused": "x"}
    result = session.execute("select :run_date::date as d, ':unused' as literal", given)
    assert list(result.rows) == [(dt.date(2024, 1, 2), ":unused")]
    assert sent[0]["Parameters"] == [{"name": "run_date", "value": "2024-01-02"}]
    session.execute("select 1 as one", given)
    assert "Parameters" not in sent[1]


def test_a_session_opens_with_the_first_statement_and_is_named_after(
    warehouse: RedshiftWarehouse,
) -> None:
    session = warehouse.connect()
    sent = calls_to(warehouse, "ExecuteStatement")
    assert session.backend_pid == 0
    session.execute("create temp table scratch (a int)")
    session.execute("insert into scratch values (1)")
    first, second = sent
    assert first["ClusterIdentifier"] == "redstep-test"
    assert (first["Database"], first["DbUser"]) == ("dev", "tester")
    assert first["SessionKeepAliveSeconds"] == redshift.SESSION_KEEP_ALIVE_SECONDS
    assert set(second) == {"Sql", "SessionId", "WaitTimeSeconds", "ClientToken"}
    assert session.backend_pid != 0


def test_reset_session_opens_a_new_session(warehouse: RedshiftWarehouse) -> None:
    session = warehouse.connect()
    session.execute("create temp table scratch (a int)")
    pid = session.backend_pid
    session.reset_session()
    with pytest.raises(WarehouseError, match='relation "scratch" does not exist'):
        session.execute("select * from scratch")
    assert session.backend_pid != pid


@pytest.fixture
def short_lived(warehouse: RedshiftWarehouse, monkeypatch: pytest.MonkeyPatch) -> Connection:
    """A connection whose Data API sessions close after 1 s idle (`outlive` waits that out)."""
    monkeypatch.setattr(redshift, "SESSION_KEEP_ALIVE_SECONDS", 1)
    return warehouse.connect()


def outlive(session: Connection, *statements: str) -> None:
    """Run `statements` in the session, then let the endpoint close it."""
    for statement in statements:
        session.execute(statement)
    time.sleep(1.3)


def test_a_closed_session_is_an_error_and_the_next_statement_gets_a_new_one(
    short_lived: Connection,
) -> None:
    """Running on in a new session would run the statement without what the caller's session
    held (here a temporary table; a search_path would send it to another schema)."""
    outlive(short_lived, "create table kept (a int)", "create temp table scratch (a int)")
    with pytest.raises(WarehouseError, match=r"session of this connection ended .* what it held"):
        short_lived.execute("insert into kept values (1)")
    short_lived.execute("insert into kept values (2)")  # in a new session
    assert list(short_lived.execute("select a from kept").rows) == [(2,)]
    with pytest.raises(WarehouseError, match='relation "scratch" does not exist'):
        short_lived.execute("select * from scratch")  # it went with the old session


def test_a_closed_session_takes_its_transaction_with_it(short_lived: Connection) -> None:
    outlive(short_lived, "create table lost (a int)", "begin", "insert into lost values (1)")
    with pytest.raises(WarehouseError, match=r"session of this connection ended .* transaction"):
        short_lived.execute("insert into lost values (2)")
    assert not short_lived.in_transaction
    assert list(short_lived.execute("select count(*) from lost").rows) == [(0,)]


def test_rolling_back_in_a_closed_session_has_nothing_left_to_do(short_lived: Connection) -> None:
    outlive(short_lived, "create table undone (a int)", "begin", "insert into undone values (1)")
    short_lived.rollback()  # the transaction went with the session: rolled back already
    assert not short_lived.in_transaction
    assert list(short_lived.execute("select count(*) from undone").rows) == [(0,)]


def test_a_failing_batch_rolls_back_on_redshift(redshift_data_url: str, tmp_path: Path) -> None:
    """A local Data API service in front of the Redshift runs a TRANSACTION batch there."""
    setup = open_warehouse(redshift_data_url, WarehouseOptions(root=tmp_path))
    setup.connect().execute("create table batched (a int)")
    root = tmp_path / "local"
    root.mkdir()
    project = Project(
        root=root, warehouses=MappingProxyType({DEFAULT_WAREHOUSE: redshift_data_url})
    )
    with DataApiService(project) as local:
        ran = local.batch_execute_statement(
            {"Sqls": ["insert into batched values (1)", "select * from missing"], "Database": "dev"}
        )
        described = local.describe_statement({"Id": ran["Id"], "WaitTimeSeconds": 20})
        finished = local.batch_execute_statement(
            {"Sqls": ["insert into batched values (2)", "select 1"], "Database": "dev"}
        )
        assert (
            local.describe_statement({"Id": finished["Id"], "WaitTimeSeconds": 20})["Status"]
            == "FINISHED"
        )
    assert described["Status"] == "FAILED"
    assert described["Error"] == 'ERROR: relation "missing" does not exist'
    assert described["RedshiftPid"] > 0  # the remote session's, learnt by running
    statuses = [sub["Status"] for sub in described["SubStatements"]]
    assert statuses == ["FINISHED", "FAILED"]
    assert list(setup.connect().execute("select a from batched").rows) == [(2,)]
    setup.close()


def test_statements_reach_the_endpoint_as_written(
    warehouse: RedshiftWarehouse, redshift_services: Services
) -> None:
    session = warehouse.connect()
    session.execute("create table written (a int) diststyle even sortkey (a)")
    session.execute("vacuum written")
    listed = redshift_services.dataapi.list_statements({"Status": "ALL"})["Statements"]
    assert {s["QueryString"] for s in listed} >= {
        "create table written (a int) diststyle even sortkey (a)",
        "vacuum written",
    }


def test_no_region_fails_when_the_warehouse_opens(
    aws_environment: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    url = "redshift-data://sales-cluster/dev?db_user=awsuser"
    with pytest.raises(WarehouseUnavailable, match="no AWS region"):
        open_warehouse(url, WarehouseOptions(root=tmp_path))
    opened = open_warehouse(f"{url}&region=eu-west-1", WarehouseOptions(root=tmp_path))
    assert opened._client.meta.region_name == "eu-west-1"
    opened.close()


def test_an_unreachable_endpoint_is_unavailable(
    aws_environment: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from serve_process import free_port

    monkeypatch.setenv("AWS_ENDPOINT_URL_REDSHIFT_DATA", f"http://127.0.0.1:{free_port()}")
    warehouse = open_warehouse("redshift-data://c/dev?db_user=u", WarehouseOptions(root=tmp_path))
    with pytest.raises(WarehouseUnavailable, match="cannot be reached"):
        warehouse.connect().execute("select 1")
    with pytest.raises(WarehouseUnavailable, match="cannot be reached"):
        warehouse.list_databases()
    warehouse.close()


# -- call order, stubbed ------------------------------------------------------------------------


def stubbed_client() -> Any:
    return boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    ).client("redshift-data")


@pytest.fixture
def stubbed(aws_environment: dict[str, str]) -> Iterator[tuple[RedshiftConnection, Stubber]]:
    """A connection whose client answers what the test queues, in order, and nothing else."""
    client = stubbed_client()
    with Stubber(client) as stubber:
        yield RedshiftWarehouse(TARGET, client).connect(), stubber
        stubber.assert_no_pending_responses()


def opening(sql: str) -> dict[str, Any]:
    return {
        "Sql": sql,
        "WaitTimeSeconds": redshift.EXECUTE_WAIT_SECONDS,
        "ClusterIdentifier": "sales-cluster",
        "Database": "dev",
        "DbUser": "awsuser",
        "SessionKeepAliveSeconds": redshift.SESSION_KEEP_ALIVE_SECONDS,
    }


def describing(statement_id: str) -> dict[str, Any]:
    return {"Id": statement_id, "WaitTimeSeconds": redshift.DESCRIBE_WAIT_SECONDS}


def ended(statement_id: str, status: str) -> dict[str, Any]:
    return {"Id": statement_id, "Status": status}


def submitted(statement_id: str, status: str = "FINISHED", **more: Any) -> dict[str, Any]:
    return {"Id": statement_id, "Status": status, "SessionId": "session-1", **more}


def cancel_during_submit(connection: RedshiftConnection) -> None:
    """Cancel the connection's statement while its ExecuteStatement is on its way (its Id not
    known yet)."""
    client = connection._warehouse._client
    cancel_now: Callable[..., None] = lambda **_: connection.cancel()  # noqa: E731
    client.meta.events.register("before-parameter-build.redshift-data.ExecuteStatement", cancel_now)


def test_a_cancel_during_the_submit_cancels_the_statement_once_its_id_is_known(
    stubbed: tuple[RedshiftConnection, Stubber],
) -> None:
    connection, stubber = stubbed
    stubber.add_response("execute_statement", submitted("s-1", "STARTED"), opening("select 1"))
    stubber.add_response("cancel_statement", {"Status": True}, {"Id": "s-1"})
    stubber.add_response(
        "describe_statement", {"Id": "s-1", "Status": "ABORTED"}, describing("s-1")
    )
    cancel_during_submit(connection)
    with pytest.raises(QueryCancelled):
        connection.execute("select 1")


def test_a_cancel_after_the_statement_ended_is_ignored(
    stubbed: tuple[RedshiftConnection, Stubber],
) -> None:
    connection, stubber = stubbed
    stubber.add_response("execute_statement", submitted("s-1", "STARTED"), opening("select 1"))
    stubber.add_client_error(
        "cancel_statement",
        "ValidationException",
        "Could not cancel a query that is already in FINISHED state with ID: s-1",
    )
    stubber.add_response(
        "describe_statement",
        {"Id": "s-1", "Status": "FINISHED", "HasResultSet": False, "ResultRows": 3},
        describing("s-1"),
    )
    cancel_during_submit(connection)
    assert connection.execute("select 1").row_count == 3
    connection.cancel()  # between statements: nothing to cancel, no call


def test_a_statement_is_sent_one_cancel_however_often_it_is_asked(
    stubbed: tuple[RedshiftConnection, Stubber],
) -> None:
    """The runner interrupts a cancelled statement every 50 ms until it ends: Redshift needs
    one CancelStatement, not one per interrupt."""
    connection, stubber = stubbed
    stubber.add_response("execute_statement", submitted("s-1", "STARTED"), opening("select 1"))
    stubber.add_response("cancel_statement", {"Status": True}, {"Id": "s-1"})
    stubber.add_response(
        "describe_statement", {"Id": "s-1", "Status": "ABORTED"}, describing("s-1")
    )

    def cancel_again(**_: Any) -> None:  # the runner's next interrupts, once sent
        connection.cancel()
        connection.cancel()

    cancel_during_submit(connection)
    client = connection._warehouse._client
    client.meta.events.register("after-call.redshift-data.CancelStatement", cancel_again)
    with pytest.raises(QueryCancelled):
        connection.execute("select 1")


def test_a_busy_session_is_waited_for(stubbed: tuple[RedshiftConnection, Stubber]) -> None:
    connection, stubber = stubbed
    stubber.add_response(
        "execute_statement", submitted("s-1", HasResultSet=False), opening("BEGIN")
    )
    stubber.add_response(
        "describe_statement", {"Id": "s-1", "Status": "FINISHED"}, describing("s-1")
    )
    again = {"Sql": "COMMIT", "SessionId": "session-1", "WaitTimeSeconds": 1}
    stubber.add_client_error(
        "execute_statement",
        "ValidationException",
        "Session with Id: session-1 is busy running statement s-1",
        expected_params=again,
    )
    stubber.add_response("execute_statement", submitted("s-2", HasResultSet=False), again)
    stubber.add_response(
        "describe_statement", {"Id": "s-2", "Status": "FINISHED"}, describing("s-2")
    )
    connection.execute("begin")
    assert connection.in_transaction
    connection.execute("commit")
    assert not connection.in_transaction


def test_a_failed_statement_reads_as_redshift_words_it(
    stubbed: tuple[RedshiftConnection, Stubber],
) -> None:
    connection, stubber = stubbed
    stubber.add_response("execute_statement", submitted("s-1", "FAILED"), opening("select 1/0"))
    stubber.add_response(
        "describe_statement",
        {"Id": "s-1", "Status": "FAILED", "Error": "ERROR: division by zero", "RedshiftPid": 42},
        describing("s-1"),
    )
    with pytest.raises(WarehouseError) as raised:
        connection.execute("select 1/0")
    assert str(raised.value) == "division by zero"
    assert connection.backend_pid == 42

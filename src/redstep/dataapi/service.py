"""`DataApiService`: the Amazon Redshift Data API, one method per operation, over the project's
warehouses.

Requests and responses are mappings with the wire member names (`{"Sql": …, "Database": …}`),
as boto3 sends them; datetimes in responses are timezone-aware. Submitting calls return at once
with the statement's Id, its SQL running on worker threads; `WaitTimeSeconds` waits up to that
long for the statement to end. Statements are recorded in the project's store and their results
kept on disk for 24 hours, both surviving a restart; a statement active when redstep stopped
reads FAILED after it. One service owns a project's state at a time (`Project.own_state`): a
second one on the same project raises ProjectInUse until the first is closed. The catalog
operations are answered by `catalog.Catalog`.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from redstep.dataapi.catalog import Catalog
from redstep.dataapi.errors import (
    ActiveStatementsExceededException,
    InternalServerException,
    ValidationException,
    query_does_not_exist,
)
from redstep.dataapi.paging import decode_token, encode_token, page
from redstep.dataapi.responses import (
    describe_response,
    session_data,
    statement_data,
    submitted_response,
)
from redstep.dataapi.results import PAGE_BYTES, RETENTION, ResultStore
from redstep.dataapi.runner import SHUTDOWN_REASON, LiveStatements, Runner, interrupted
from redstep.dataapi.sessions import Sessions
from redstep.dataapi.shapes import (
    CancelStatementResponse,
    DescribeStatementResponse,
    DescribeTableResponse,
    ExecuteStatementOutput,
    GetStatementResultResponse,
    GetStatementResultV2Response,
    ListDatabasesResponse,
    ListSchemasResponse,
    ListSessionsResponse,
    ListStatementsResponse,
    ListTablesResponse,
)
from redstep.dataapi.statements import (
    ExecutionMode,
    ResultFormat,
    SessionStatus,
    StatementRecord,
    StatusString,
    SubStatementRecord,
    Target,
    split_statement_id,
)
from redstep.dataapi.store import StatementFilter, StatementStore
from redstep.dataapi.validation import check_exclusive_target, validate_request
from redstep.dataapi.workers import DEFAULT_POOL_SIZE, Job, SessionWorker, Warehouses, WorkerPool
from redstep.project import Project, StateOwnership
from redstep.warehouse.base import Connection, Warehouse, WarehouseError
from redstep.warehouse.registry import WarehouseOptions, open_warehouse

MAX_ACTIVE_STATEMENTS = 200
"""Active (SUBMITTED, PICKED, STARTED) statements allowed at once, as on a Redshift cluster."""
MAX_STATEMENT_BYTES = 100 * 1024
"""The largest statement the Data API accepts: 100 KB."""
CLIENT_TOKEN_WINDOW = timedelta(hours=24)
"""How long a ClientToken names the statement it submitted."""
DEFAULT_DATABASE = "dev"
"""The database a statement reports when the request names none (Redshift's default)."""
CLOSE_WAIT_SECONDS = 10.0
"""How long closing waits for the statements it cancels to end."""
_PURGE_INTERVAL = timedelta(minutes=1)

RESULT_OF_BATCH_PARENT = "BatchExecuteStatement result can only be retrieved with sub-statement id."
NO_RESULT = "Query does not have result. Please check query status with DescribeStatement."


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


class DataApiService:
    """The Redshift Data API over a project's warehouses. Safe to call from many threads."""

    def __init__(
        self,
        project: Project,
        *,
        now: Callable[[], datetime] = _utc_now,
        new_id: Callable[[], str] = _new_id,
        pool_size: int = DEFAULT_POOL_SIZE,
        max_active_statements: int = MAX_ACTIVE_STATEMENTS,
        page_bytes: int = PAGE_BYTES,
        warehouse_opener: Callable[[str, WarehouseOptions], Warehouse] = open_warehouse,
        ownership: StateOwnership | None = None,
    ) -> None:
        """Take the project's state (ProjectInUse when another service holds it), mark the
        statements an earlier process left active as interrupted, and start the workers.

        A caller that already owns the state (running other services over the same project)
        passes its `ownership`; it stays the caller's to release.
        """
        self._owned = ownership is None
        self._ownership = project.own_state() if ownership is None else ownership
        try:
            self.store = StatementStore(project.state_dir)
            # Owning the state, no other process runs these: they were left by one that died.
            for record in self.store.active():
                self.store.save(interrupted(record, now()))
        except BaseException:
            if self._owned:
                self._ownership.release()
            raise
        self.project = project
        self.now = now
        self.new_id = new_id
        self.max_active_statements = max_active_statements
        self.results = ResultStore(project.state_dir, page_bytes=page_bytes)
        self.live = LiveStatements()
        self.runner = Runner(self.store, self.results, self.live, now)
        self.warehouses = Warehouses(
            project.warehouses, project.warehouse_options(), warehouse_opener
        )
        self.sessions = Sessions(self.warehouses)
        self.catalog = Catalog(project, self.warehouses)
        self._submit_lock = threading.Lock()
        self._last_purge: datetime | None = None
        self._is_closed = False
        self._housekeeping()
        # Once, at start: results a stopped process left without a statement record.
        self.results.purge(now() - RETENTION)
        self.pool = WorkerPool(self.warehouses, pool_size)
        self._operations: dict[str, Callable[[Mapping[str, Any]], Mapping[str, Any]]] = {
            "ExecuteStatement": self.execute_statement,
            "BatchExecuteStatement": self.batch_execute_statement,
            "DescribeStatement": self.describe_statement,
            "GetStatementResult": self.get_statement_result,
            "GetStatementResultV2": self.get_statement_result_v2,
            "CancelStatement": self.cancel_statement,
            "ListStatements": self.list_statements,
            "ListDatabases": self.list_databases,
            "ListSchemas": self.list_schemas,
            "ListTables": self.list_tables,
            "DescribeTable": self.describe_table,
            "ListSessions": self.list_sessions,
        }

    # -- dispatch and lifecycle -------------------------------------------------------------

    def handle(self, operation: str, request: Mapping[str, Any]) -> dict[str, Any]:
        """Run the operation named as on the wire (`ExecuteStatement`, ...)."""
        method = self._operations.get(operation)
        if method is None:
            raise ValidationException(f"Unknown operation: {operation}")
        return dict(method(request))

    @property
    def operations(self) -> list[str]:
        """The wire names of every operation this service answers."""
        return list(self._operations)

    def close(self) -> None:
        """Stop: cancel what still runs (recorded FAILED with INTERRUPTED_ERROR, as after a
        crash), stop the workers, close warehouses."""
        if self._is_closed:
            return
        self._is_closed = True
        for statement_id in self.live.ids():
            self._cancel(statement_id, SHUTDOWN_REASON)
        deadline = time.monotonic() + CLOSE_WAIT_SECONDS
        for statement_id in self.live.ids():
            self.live.wait(statement_id, max(deadline - time.monotonic(), 0))
        self.pool.close()
        self.sessions.close(self.now())
        self.warehouses.close()
        self.store.close()
        if self._owned:
            self._ownership.release()

    def __enter__(self) -> DataApiService:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _housekeeping(self) -> None:
        now = self.now()
        self.sessions.expire(now)
        if self._last_purge is None or now - self._last_purge >= _PURGE_INTERVAL:
            self._last_purge = now
            for record in self.store.purge(now - RETENTION):
                self.results.delete(record.id)
                for sub in record.sub_statements:
                    self.results.delete(sub.id)

    # -- submitting -------------------------------------------------------------------------

    def execute_statement(self, request: Mapping[str, Any]) -> ExecuteStatementOutput:
        """ExecuteStatement: run one Sql (which may hold several statements, run together)."""
        validate_request("ExecuteStatement", request)
        sql: str = request["Sql"]
        _check_size(sql)
        return self._submit(request, is_batch=False, query_strings=(sql,))

    def batch_execute_statement(self, request: Mapping[str, Any]) -> ExecuteStatementOutput:
        """BatchExecuteStatement: run Sqls serially, as one transaction unless AUTO_COMMIT."""
        validate_request("BatchExecuteStatement", request)
        sqls: list[str] = request["Sqls"]
        for sql in sqls:
            _check_size(sql)
        return self._submit(request, is_batch=True, query_strings=tuple(sqls))

    def _submit(
        self, request: Mapping[str, Any], *, is_batch: bool, query_strings: tuple[str, ...]
    ) -> ExecuteStatementOutput:
        self._check_open()
        self._housekeeping()
        session_id: str | None = request.get("SessionId")
        _check_target(request, with_session=session_id is not None)
        wait_seconds: int | None = request.get("WaitTimeSeconds")
        with self._submit_lock:  # one ClientToken, one statement, however many callers race
            record = self._earlier(request) or self._enqueue(
                request, is_batch=is_batch, query_strings=query_strings
            )
        return self._submitted(record, wait_seconds)

    def _earlier(self, request: Mapping[str, Any]) -> StatementRecord | None:
        """The statement an earlier call with the request's ClientToken submitted, if any."""
        client_token: str | None = request.get("ClientToken")
        if not client_token:
            return None
        since = self.now() - CLIENT_TOKEN_WINDOW
        earlier = self.store.find_by_client_token(client_token, since)
        if earlier is not None and earlier.request_digest != _digest(request):
            raise ValidationException(
                f"ClientToken {client_token} was already used with different parameters"
            )
        return earlier

    def _enqueue(
        self, request: Mapping[str, Any], *, is_batch: bool, query_strings: tuple[str, ...]
    ) -> StatementRecord:
        """Record a new statement and queue it for its worker (holding the submit lock)."""
        if self.live.count() >= self.max_active_statements:
            raise ActiveStatementsExceededException(
                "The number of active statements exceeds the limit."
            )
        now = self.now()
        statement_id = self.new_id()
        session_id: str | None = request.get("SessionId")
        worker: SessionWorker | None = None
        if session_id is not None:
            session, worker = self.sessions.claim(session_id, statement_id, now)
            target = session.target
        else:
            target = self._target(request)
            keep_alive = request.get("SessionKeepAliveSeconds")
            if keep_alive is not None:
                session_id = self.new_id()
                _, worker = self.sessions.open(session_id, statement_id, target, keep_alive, now)
        record = StatementRecord(
            id=statement_id,
            target=target,
            is_batch=is_batch,
            query_strings=query_strings,
            status=StatusString.SUBMITTED,
            created_at=now,
            updated_at=now,
            parameters=tuple(
                (parameter["name"], parameter["value"])
                for parameter in request.get("Parameters") or ()
            ),
            statement_name=request.get("StatementName"),
            result_format=ResultFormat(request.get("ResultFormat", ResultFormat.JSON)),
            execution_mode=(
                ExecutionMode(request.get("ExecutionMode", ExecutionMode.TRANSACTION))
                if is_batch
                else None
            ),
            session_id=session_id,
            client_token=request.get("ClientToken"),
            request_digest=_digest(request) if request.get("ClientToken") else None,
            sub_statements=tuple(
                SubStatementRecord(
                    statement_id=statement_id,
                    ordinal=ordinal,
                    query_string=sql,
                    status=StatusString.SUBMITTED,
                    created_at=now,
                    updated_at=now,
                )
                for ordinal, sql in enumerate(query_strings, start=1)
            )
            if is_batch
            else (),
        )
        self.store.insert(record)
        self.live.add(statement_id)
        job = Job(
            warehouse=target.warehouse,
            run=lambda connection: self._run(record, connection),
            fail=lambda error: self._fail(record, error),
        )
        if worker is not None:
            worker.submit(job)
        else:
            self.pool.submit(job)
        return record

    def _run(self, record: StatementRecord, connection: Connection) -> None:
        try:
            self.runner.run(record, connection)
        finally:
            if record.session_id is not None:
                self.sessions.release(record.session_id, record.id, self.now())

    def _fail(self, record: StatementRecord, error: WarehouseError) -> None:
        if self.live.claim(record.id):
            self.runner.fail_unstarted(record, f"ERROR: {error.message}")
        if record.session_id is not None:
            self.sessions.release(record.session_id, record.id, self.now())

    def _target(self, request: Mapping[str, Any]) -> Target:
        cluster: str | None = request.get("ClusterIdentifier")
        workgroup: str | None = request.get("WorkgroupName")
        return Target(
            warehouse=self.project.warehouse_name(cluster or workgroup),
            database=request.get("Database") or DEFAULT_DATABASE,
            cluster_identifier=cluster,
            workgroup_name=workgroup,
            db_user=request.get("DbUser"),
            secret_arn=request.get("SecretArn"),
        )

    def _submitted(
        self, record: StatementRecord, wait_seconds: int | None
    ) -> ExecuteStatementOutput:
        if wait_seconds:
            record = self._wait(record.id, wait_seconds)
        return submitted_response(record)

    def _wait(self, statement_id: str, seconds: int) -> StatementRecord:
        self.live.wait(statement_id, seconds)
        record = self.store.get(statement_id)
        assert record is not None
        return record

    def _check_open(self) -> None:
        if self._is_closed:
            raise InternalServerException("The Data API service has been stopped.")

    # -- statements -------------------------------------------------------------------------

    def _statement(
        self, statement_id: str, wait_seconds: int | None
    ) -> tuple[StatementRecord, int | None]:
        parent_id, ordinal = split_statement_id(statement_id)
        record = self.store.get(parent_id)
        if record is None:
            raise query_does_not_exist(statement_id)
        if ordinal is not None and not (
            record.is_batch and 1 <= ordinal <= len(record.sub_statements)
        ):
            raise query_does_not_exist(statement_id)
        if wait_seconds and not record.status.is_terminal:
            record = self._wait(parent_id, wait_seconds)
        return record, ordinal

    def describe_statement(self, request: Mapping[str, Any]) -> DescribeStatementResponse:
        """DescribeStatement: a statement's status, timings, counts, error and sub-statements."""
        validate_request("DescribeStatement", request)
        self._housekeeping()
        record, ordinal = self._statement(request["Id"], request.get("WaitTimeSeconds"))
        return describe_response(record, ordinal)

    def _result_id(self, request: Mapping[str, Any], expected: ResultFormat) -> str:
        statement_id: str = request["Id"]
        record, ordinal = self._statement(statement_id, request.get("WaitTimeSeconds"))
        if record.is_batch and ordinal is None:
            raise ValidationException(RESULT_OF_BATCH_PARENT)
        if ordinal is not None:
            sub = record.sub_statements[ordinal - 1]
            status, has_result_set = sub.status, sub.has_result_set
        else:
            status, has_result_set = record.status, record.has_result_set
        if status is not StatusString.FINISHED or not has_result_set:
            raise ValidationException(NO_RESULT)
        if record.result_format is not expected:
            other = (
                "GetStatementResultV2" if expected is ResultFormat.JSON else "GetStatementResult"
            )
            raise ValidationException(
                f"Query result is in {record.result_format} format; use {other} to fetch it."
            )
        return statement_id

    def get_statement_result(self, request: Mapping[str, Any]) -> GetStatementResultResponse:
        """GetStatementResult: one page of a JSON-format result, as Field records."""
        validate_request("GetStatementResult", request)
        self._housekeeping()
        result_id = self._result_id(request, ResultFormat.JSON)
        result = self.results.read(result_id, request.get("NextToken"))
        response: GetStatementResultResponse = {
            "Records": result.json_records,
            "ColumnMetadata": result.column_metadata,
            "TotalNumRows": result.total_rows,
        }
        if result.next_token:
            response["NextToken"] = result.next_token
        return response

    def get_statement_result_v2(self, request: Mapping[str, Any]) -> GetStatementResultV2Response:
        """GetStatementResultV2: one page of a CSV-format result."""
        validate_request("GetStatementResultV2", request)
        self._housekeeping()
        result_id = self._result_id(request, ResultFormat.CSV)
        result = self.results.read(result_id, request.get("NextToken"))
        response: GetStatementResultV2Response = {
            "Records": [{"CSVRecords": result.csv_text or ""}],
            "ColumnMetadata": result.column_metadata,
            "TotalNumRows": result.total_rows,
            "ResultFormat": str(ResultFormat.CSV),
        }
        if result.next_token:
            response["NextToken"] = result.next_token
        return response

    def cancel_statement(self, request: Mapping[str, Any]) -> CancelStatementResponse:
        """CancelStatement: stop a statement that has not ended; it reads ABORTED."""
        validate_request("CancelStatement", request)
        statement_id: str = request["Id"]
        parent_id, _ = split_statement_id(statement_id)
        record = self.store.get(parent_id)
        if record is None:
            raise query_does_not_exist(statement_id)
        if record.status.is_terminal or not self._cancel(parent_id, None):
            record = self.store.get(parent_id) or record
            raise ValidationException(
                f"Could not cancel a query that is already in {record.status} state "
                f"with ID: {statement_id}"
            )
        return {"Status": True}  # the runner stops before any part it has not started

    def _cancel(self, statement_id: str, reason: str | None) -> bool:
        if self.live.withdraw(statement_id, reason):
            record = self.store.get(statement_id)
            if record is not None:
                self.runner.abort_unstarted(record)
                if record.session_id is not None:
                    self.sessions.release(record.session_id, record.id, self.now())
            return True
        return self.live.cancel(statement_id, reason)

    def list_statements(self, request: Mapping[str, Any]) -> ListStatementsResponse:
        """ListStatements: newest first, filtered by status, name prefix, database, target."""
        validate_request("ListStatements", request)
        check_exclusive_target(request)
        status = request.get("Status", StatusString.FINISHED)
        where = StatementFilter(
            statuses=None if status == "ALL" else frozenset({StatusString(status)}),
            name_prefix=request.get("StatementName"),
            database=request.get("Database"),
            cluster_identifier=request.get("ClusterIdentifier"),
            workgroup_name=request.get("WorkgroupName"),
        )
        offset = decode_token("ListStatements", request.get("NextToken"))
        size = request.get("MaxResults") or 100
        records = self.store.search(where, offset, size + 1)
        response: ListStatementsResponse = {
            "Statements": [statement_data(record) for record in records[:size]]
        }
        if len(records) > size:
            response["NextToken"] = encode_token("ListStatements", offset + size)
        return response

    # -- catalog ----------------------------------------------------------------------------

    def list_databases(self, request: Mapping[str, Any]) -> ListDatabasesResponse:
        """ListDatabases (see `Catalog`)."""
        return self.catalog.list_databases(request)

    def list_schemas(self, request: Mapping[str, Any]) -> ListSchemasResponse:
        """ListSchemas, filtered by SchemaPattern (see `Catalog`)."""
        return self.catalog.list_schemas(request)

    def list_tables(self, request: Mapping[str, Any]) -> ListTablesResponse:
        """ListTables, filtered by SchemaPattern and TablePattern (see `Catalog`)."""
        return self.catalog.list_tables(request)

    def describe_table(self, request: Mapping[str, Any]) -> DescribeTableResponse:
        """DescribeTable: the columns of the tables that Schema and Table name (see `Catalog`)."""
        return self.catalog.describe_table(request)

    # -- sessions ---------------------------------------------------------------------------

    def list_sessions(self, request: Mapping[str, Any]) -> ListSessionsResponse:
        """ListSessions: AVAILABLE and BUSY sessions unless Status says otherwise."""
        validate_request("ListSessions", request)
        check_exclusive_target(request)
        self._housekeeping()
        session_id = request.get("SessionId")
        if session_id is not None:
            if any(
                key in request
                for key in ("Status", "ClusterIdentifier", "WorkgroupName", "Database")
            ):
                raise ValidationException(
                    "SessionId cannot be specified with Status, ClusterIdentifier, "
                    "WorkgroupName or Database"
                )
            return {"Sessions": [session_data(self.sessions.get(session_id))]}
        status = request.get("Status")
        statuses = (
            {SessionStatus(status)} if status else {SessionStatus.AVAILABLE, SessionStatus.BUSY}
        )
        sessions = [
            session
            for session in self.sessions.all()
            if session.status in statuses
            and _matches(request.get("ClusterIdentifier"), session.target.cluster_identifier)
            and _matches(request.get("WorkgroupName"), session.target.workgroup_name)
            and _matches(request.get("Database"), session.target.database)
        ]
        chosen, token = page(
            sessions, "ListSessions", request.get("NextToken"), request.get("MaxResults"), 100
        )
        response: ListSessionsResponse = {"Sessions": [session_data(s) for s in chosen]}
        if token:
            response["NextToken"] = token
        return response


# -- helpers ------------------------------------------------------------------------------------


def _check_size(sql: str) -> None:
    if len(sql.encode("utf-8")) > MAX_STATEMENT_BYTES:
        raise ValidationException("Cannot process query string larger than 100kB")


def _check_target(request: Mapping[str, Any], *, with_session: bool) -> None:
    check_exclusive_target(request)
    if with_session and (request.get("ClusterIdentifier") or request.get("WorkgroupName")):
        raise ValidationException(
            "SessionId can't be specified with ClusterIdentifier or WorkgroupName; "
            "the session already names where it runs."
        )


def _digest(request: Mapping[str, Any]) -> str:
    meaningful = {k: v for k, v in request.items() if k not in ("WaitTimeSeconds", "ClientToken")}
    return hashlib.sha256(json.dumps(meaningful, sort_keys=True, default=str).encode()).hexdigest()


def _matches(wanted: str | None, actual: str | None) -> bool:
    return wanted is None or wanted == actual

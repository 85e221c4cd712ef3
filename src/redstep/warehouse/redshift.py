"""The Redshift backend: the local engine orchestrates, a real Amazon Redshift runs the SQL.

It owns the warehouse's boto3 client, the one map from boto3's errors to the warehouse's
(`map_error`), and the seam's meaning on the Data API (its URLs are
`redstep.warehouse.redshift_url`'s):

    Connection             one Data API session, opened by its first statement (ExecuteStatement
                           with the target and SessionKeepAliveSeconds), then named by SessionId
    execute                ExecuteStatement, DescribeStatement (with WaitTimeSeconds) until it
                           ends; its rows are GetStatementResult's pages, read as iterated
    begin/commit/rollback  BEGIN/COMMIT/ROLLBACK in the session; `in_transaction` kept here
    reset_session, close   forget the session: the next statement opens a new one
    cancel, backend_pid    CancelStatement; the RedshiftPid last reported
    catalog                ListDatabases, ListSchemas, ListTables, DescribeTable, paginated

Redshift gets the SQL as written: the dialect only classifies it, so that `in_transaction`
follows BEGIN, COMMIT, ROLLBACK and TRUNCATE. Where the endpoint is (AWS, or another redstep) is
boto3's business (AWS_ENDPOINT_URL_REDSHIFT_DATA and the like).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from redstep.warehouse.base import (
    Capabilities,
    Column,
    Parameters,
    QueryCancelled,
    Result,
    Table,
    WarehouseError,
    WarehouseUnavailable,
)
from redstep.warehouse.dialect import StatementKind, Target, Translation, translator
from redstep.warehouse.dialect.script import tokenize
from redstep.warehouse.dialect.translate import replace_parameters
from redstep.warehouse.redshift_url import RedshiftTarget, parse_redshift_url
from redstep.warehouse.registry import WarehouseOptions
from redstep.warehouse.statement_kinds import bind_parameters, perform

SESSION_KEEP_ALIVE_SECONDS = 120
"""How long Redshift keeps a connection's session after its last statement: more than a pause
between one connection's statements (a workflow's polls and retries take seconds), yet short, as
a pooled call's abandoned session (no call closes one) holds one of a cluster's connections."""
EXECUTE_WAIT_SECONDS = 1
"""ExecuteStatement's WaitTimeSeconds: a statement that ends within it needs no long poll, and a
cancel that comes before the call returns the statement's Id waits at most this long."""
DESCRIBE_WAIT_SECONDS = 20
"""DescribeStatement's WaitTimeSeconds (the Data API allows 30; botocore reads for 60)."""
SESSION_BUSY_DELAYS = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 1.0, 1.0, 1.0)
"""Seconds between tries while the session still holds the statement before (5 s in all)."""
CONNECT_TIMEOUT_SECONDS = 10
HTTP_CONNECTIONS = 64
"""The client's pool of HTTP connections, shared by every worker's and session's long polls
(botocore's default of 10 would open throwaway connections beyond it)."""
LONGEST_TRANSACTION_STATEMENT = 12
"""Tokens in the longest transaction statement (`BEGIN ISOLATION LEVEL …`); longer is QUERY."""

SqlParameters = tuple[dict[str, str], ...]  # ExecuteStatement's Parameters
_ENDED = frozenset({"FINISHED", "FAILED", "ABORTED"})
_TRANSACTION_KINDS = frozenset(
    {StatementKind.BEGIN, StatementKind.COMMIT, StatementKind.ROLLBACK, StatementKind.TRUNCATE}
)
_STRING_TYPES = frozenset({"char", "varchar", "bpchar", "text"})
_CAPABILITIES = Capabilities(
    supports_cancel=True,
    supports_concurrent_connections=True,
    supports_transactional_ddl=True,
)
# Error codes that mean the request never got to the database: unreachable, not refused by it.
_UNAVAILABLE_CODES = frozenset({
    "AccessDeniedException", "DatabaseConnectionException", "ExpiredTokenException",
    "InternalServerException", "InvalidClientTokenId", "InvalidSignatureException",
    "ServiceUnavailableException", "SignatureDoesNotMatch", "ThrottlingException",
    "UnrecognizedClientException",
})  # fmt: skip


class SessionEnded(WarehouseError):
    """The Data API no longer knows the connection's session (reclaimed after its keep-alive)."""


class SessionBusy(WarehouseError):
    """The connection's session still runs (or has not yet released) another statement."""


class StatementEnded(WarehouseError):
    """A cancel came after its statement had ended."""


# What the Data API's ValidationExceptions about sessions and cancels mean.
_VALIDATION_ANSWERS: tuple[tuple[re.Pattern[str], type[WarehouseError]], ...] = (
    (re.compile(r"Session is not available|Session with Id: \S+ is invalid"), SessionEnded),
    (re.compile(r"Session with Id: \S+ is busy"), SessionBusy),
    (re.compile(r"Could not cancel a query that is already in \w+ state"), StatementEnded),
)


def map_error(exc: BaseException) -> WarehouseError:
    """The WarehouseError a boto3/botocore exception means: the one place this backend maps them.

    A request that never reached the database (no region, no credentials, no endpoint, a refused
    signature, the service failing) is WarehouseUnavailable; anything else the Data API answers
    is a WarehouseError with its message, or one of the subclasses the connection acts on.
    """
    from botocore import exceptions as aws  # loaded by now: only boto3 raises these

    if isinstance(exc, WarehouseError):
        return exc
    if isinstance(exc, aws.ClientError):
        error = exc.response.get("Error", {})
        code, message = str(error.get("Code", "")), str(error.get("Message") or exc)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        answer = next((kind for words, kind in _VALIDATION_ANSWERS if words.search(message)), None)
        if code == "ValidationException" and answer is not None:
            return answer(message)
        if code in _UNAVAILABLE_CODES or status >= 500:
            return WarehouseUnavailable(f"the Redshift Data API is unavailable: {code}: {message}")
        return WarehouseError(message)
    if isinstance(exc, aws.NoRegionError):
        return WarehouseUnavailable(
            "no AWS region for the Redshift Data API: give region= in the URL or AWS_DEFAULT_REGION"
        )
    if isinstance(exc, aws.NoCredentialsError | aws.PartialCredentialsError):
        return WarehouseUnavailable(f"no AWS credentials for the Redshift Data API: {exc}")
    if isinstance(exc, aws.ParamValidationError):
        return WarehouseError(" ".join(str(exc).split()))
    if isinstance(exc, aws.ConnectionError | aws.HTTPClientError):
        return WarehouseUnavailable(f"the Redshift Data API cannot be reached: {exc}")
    if isinstance(exc, aws.BotoCoreError):
        return WarehouseUnavailable(f"the Redshift Data API was not reached: {exc}")
    return WarehouseError(str(exc) or type(exc).__name__)


def _aware_timestamp(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


# How a stringValue reads, by ColumnMetadata.typeName; any other type's text stays a str.
_TEXT_PARSERS: dict[str, Callable[[str], object]] = {
    "numeric": Decimal,
    "date": dt.date.fromisoformat,
    "timestamp": dt.datetime.fromisoformat,
    "timestamptz": _aware_timestamp,
    "time": dt.time.fromisoformat,
    "timetz": dt.time.fromisoformat,
}
FieldReader = Callable[[Mapping[str, Any]], object]


def field_reader(type_name: str) -> FieldReader:
    """Read a column's `Field` unions as Python values: longValue, doubleValue, booleanValue and
    blobValue as they are, stringValue by the column's type (numeric → Decimal, date, time,
    timestamp → datetime, timestamptz → aware datetime, others str), isNull → None."""
    parse = _TEXT_PARSERS.get(type_name)

    def read(field: Mapping[str, Any]) -> object:
        if field.get("isNull"):
            return None
        if "stringValue" not in field:
            return next(iter(field.values()))
        text: str = field["stringValue"]
        try:
            return text if parse is None else parse(text)
        except (ValueError, ArithmeticError):  # beyond Python's types (a year after 9999)
            return text

    return read


def column_of(metadata: Mapping[str, Any]) -> Column:
    """A Column from a ColumnMetadata (which gives a string's length as its precision)."""
    type_name = str(metadata.get("typeName", "varchar"))
    type_name = "char" if type_name == "bpchar" else type_name
    precision, length = int(metadata.get("precision", 0)), int(metadata.get("length", 0))
    default = metadata.get("columnDefault")
    return Column(
        name=str(metadata.get("name") or metadata.get("label", "")),
        type_name=type_name,
        nullable=metadata.get("nullable", 1) != 0,  # 0 no NULLs, 1 nullable, 2 unknown
        precision=precision,
        scale=int(metadata.get("scale", 0)),
        length=length or (precision if type_name in _STRING_TYPES else 0),
        schema_name=str(metadata.get("schemaName", "")),
        table_name=str(metadata.get("tableName", "")),
        default=None if default is None else str(default),
    )


class RedshiftConnection:
    """One Data API session, opened lazily, with Redshift's transaction rules."""

    def __init__(self, warehouse: RedshiftWarehouse) -> None:
        self._warehouse = warehouse
        self._session_id: str | None = None
        self._in_transaction = False
        self._pid = 0
        self._lock = threading.Lock()  # guards the three below, which `cancel` reads
        self._is_executing = False
        self._is_cancel_requested = False
        self._running_id: str | None = None
        self._cancelled_id: str | None = None

    @property
    def in_transaction(self) -> bool:
        return self._in_transaction

    @property
    def backend_pid(self) -> int:
        """The RedshiftPid last reported; 0 before the first statement."""
        return self._pid

    def execute(self, sql: str, parameters: Parameters | None = None) -> Result:
        """Run one statement as written in the session, as its StatementKind says."""
        tokens = tokenize(sql)
        _, names = replace_parameters(sql, tokens, Target.POSTGRES)
        translation = Translation(
            self._warehouse.kind_of(sql, len(tokens)), statements=(sql,), parameter_names=names
        )
        with self._lock:
            self._is_executing, self._is_cancel_requested = True, False
        try:
            return perform(self, translation, parameters)
        finally:
            with self._lock:
                self._is_executing, self._running_id = False, None

    def run(self, translation: Translation, parameters: Parameters | None) -> Result:
        """Send the statement with the parameters it uses (`statement_kinds.Session.run`)."""
        values = bind_parameters(translation, parameters)
        if unsendable := [name for name, value in values.items() if value is None or value == ""]:
            raise WarehouseError(
                f"parameter :{unsendable[0]} is NULL or empty, which the Data API cannot send: "
                "write it in the SQL instead",
                sqlstate="22023",
            )
        sent = tuple({"name": name, "value": str(value)} for name, value in values.items())
        return self._run(translation.statements[0], sent, is_cancellable=True)

    def begin(self) -> None:
        """Open a transaction; no-op when one is open."""
        if not self._in_transaction:
            self._run("BEGIN")
            self._in_transaction = True

    def commit(self) -> None:
        """Commit the open transaction (Redshift rolls back a failed one); no-op outside one."""
        self._end_transaction("COMMIT")

    def rollback(self) -> None:
        """Roll back the open transaction; no-op outside one."""
        self._end_transaction("ROLLBACK")

    def reset_session(self) -> None:
        """Forget the session (it closes at its keep-alive): the next statement opens one."""
        self._session_id, self._in_transaction, self._pid = None, False, 0

    def cancel(self) -> None:
        """Cancel the statement running (or being submitted) now; safe from any thread. A
        statement is sent one CancelStatement, however often this is called while it ends."""
        with self._lock:
            if not self._is_executing:
                return
            self._is_cancel_requested = True
            statement_id = self._running_id
            if statement_id is None or statement_id == self._cancelled_id:
                return
            self._cancelled_id = statement_id
        self._warehouse.cancel_statement(statement_id)

    def close(self) -> None:
        """Roll back an open transaction (whose locks would last the keep-alive), forget all."""
        with contextlib.suppress(WarehouseError):
            self.rollback()
        self.reset_session()
        self._warehouse.forget(self)

    def _end_transaction(self, command: str) -> None:
        if self._in_transaction:
            try:
                self._run(command)
            except WarehouseError as error:
                # A ROLLBACK whose session has ended got what it asked for: nothing of the
                # transaction is left.
                if command != "ROLLBACK" or not isinstance(error.__cause__, SessionEnded):
                    raise
            finally:
                self._in_transaction = False

    def _run(self, sql: str, values: SqlParameters = (), *, is_cancellable: bool = False) -> Result:
        """Submit `sql`, wait for its end, and answer its Result (rows read as iterated)."""
        with self._lock:
            if is_cancellable and self._is_cancel_requested:
                raise QueryCancelled()
        submitted = self._submit(sql, values)
        statement_id: str = submitted["Id"]
        if is_cancellable:
            with self._lock:
                self._running_id, is_cancel_pending = statement_id, self._is_cancel_requested
                if is_cancel_pending:
                    self._cancelled_id = statement_id
            if is_cancel_pending:
                self._warehouse.cancel_statement(statement_id)
        described = submitted
        if submitted.get("Status") != "FINISHED" or not submitted.get("HasResultSet"):
            described = self._wait(statement_id)
        if described["Status"] == "FAILED":
            error = str(described.get("Error") or "the statement failed")
            raise WarehouseError(error.removeprefix("ERROR: ").strip())
        if described["Status"] == "ABORTED":
            # Redshift aborts a cancelled query's transaction, but not one withdrawn unstarted.
            with contextlib.suppress(WarehouseError):
                self.rollback()
            raise QueryCancelled()
        if not described.get("HasResultSet"):
            return Result(row_count=int(described.get("ResultRows", -1)))
        return self._result(statement_id, described.get("ResultRows"))

    def _submit(self, sql: str, parameters: SqlParameters) -> Mapping[str, Any]:
        """ExecuteStatement in the session, opening one when there is none. A session the Data
        API has closed (its keep-alive ran out) is an error: what it held (a transaction,
        temporary tables, settings) is gone, and running on in a new one would run the statement
        somewhere else than the caller's session."""
        request: dict[str, Any] = {"Sql": sql, "WaitTimeSeconds": EXECUTE_WAIT_SECONDS}
        if parameters:
            request["Parameters"] = list(parameters)
        delays = iter(SESSION_BUSY_DELAYS)
        while True:
            if self._session_id is None:
                where: dict[str, Any] = self._warehouse.target.request_members()
                where["SessionKeepAliveSeconds"] = SESSION_KEEP_ALIVE_SECONDS
            else:
                where = {"SessionId": self._session_id}  # the Data API refuses the target too
            try:
                submitted = self._warehouse.call("execute_statement", **request, **where)
            except SessionBusy:
                delay = next(delays, None)
                if delay is None:
                    raise
                time.sleep(delay)
            except SessionEnded as ended:
                self._session_id, was_in_transaction = None, self._in_transaction
                self._in_transaction = False
                lost = "its open transaction" if was_in_transaction else "what it held"
                raise WarehouseError(
                    f"the Redshift Data API session of this connection ended ({ended.message}; "
                    f"sessions are kept {SESSION_KEEP_ALIVE_SECONDS} s after their last "
                    f"statement), and {lost} with it"
                ) from ended
            else:
                self._session_id = submitted.get("SessionId") or self._session_id
                self._note_pid(submitted)
                return submitted

    def _wait(self, statement_id: str) -> Mapping[str, Any]:
        """DescribeStatement, long-polling, until the statement has ended."""
        while True:
            asked = time.monotonic()
            described = self._warehouse.call(
                "describe_statement", Id=statement_id, WaitTimeSeconds=DESCRIBE_WAIT_SECONDS
            )
            self._note_pid(described)
            if described["Status"] in _ENDED:
                return described
            time.sleep(max(0.0, 0.2 - (time.monotonic() - asked)))  # should it answer at once

    def _result(self, statement_id: str, result_rows: object) -> Result:
        """The result set: its first page read now, for the columns; the others as iterated."""
        pages = self._warehouse.pages("get_statement_result", Id=statement_id)
        first = next(pages)
        columns = tuple(column_of(metadata) for metadata in first.get("ColumnMetadata", ()))
        readers = [field_reader(column.type_name) for column in columns]

        def rows() -> Iterator[tuple[object, ...]]:
            for page in itertools.chain((first,), pages):
                for record in page.get("Records", ()):
                    yield tuple(read(field) for read, field in zip(readers, record, strict=True))

        row_count = result_rows if isinstance(result_rows, int) else first.get("TotalNumRows", -1)
        return Result(columns=columns, rows=rows(), row_count=int(row_count))

    def _note_pid(self, response: Mapping[str, Any]) -> None:
        self._pid = int(response.get("RedshiftPid") or self._pid)


class RedshiftWarehouse:
    """A Redshift cluster or workgroup, reached through one boto3 client."""

    name = "redshift"
    capabilities = _CAPABILITIES

    def __init__(self, target: RedshiftTarget, client: Any) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        self.target = target
        self.database = target.database
        self._client = client
        self._foreign = (BotoCoreError, ClientError)
        self._classify = translator(Target.POSTGRES, buckets={})
        self._connections: set[RedshiftConnection] = set()
        self._guard = threading.Lock()

    def connect(self) -> RedshiftConnection:
        """A new connection; its session opens with its first statement."""
        connection = RedshiftConnection(self)
        with self._guard:
            self._connections.add(connection)
        return connection

    def forget(self, connection: RedshiftConnection) -> None:
        """Stop tracking a closed connection."""
        with self._guard:
            self._connections.discard(connection)

    def kind_of(self, sql: str, token_count: int) -> StatementKind:
        """The dialect's kind of a BEGIN, COMMIT, ROLLBACK or TRUNCATE statement; else QUERY."""
        if token_count > LONGEST_TRANSACTION_STATEMENT:
            return StatementKind.QUERY
        try:
            kind = self._classify(sql).kind
        except WarehouseError:  # a COPY or UNLOAD naming a bucket no local folder maps
            return StatementKind.QUERY
        return kind if kind in _TRANSACTION_KINDS else StatementKind.QUERY

    def call(self, operation: str, **request: Any) -> dict[str, Any]:
        """One Data API call, its errors mapped."""
        try:
            response: dict[str, Any] = getattr(self._client, operation)(**request)
        except self._foreign as exc:
            raise map_error(exc) from exc
        return response

    def pages(self, operation: str, **request: Any) -> Iterator[dict[str, Any]]:
        """The pages of a paginated call, each fetched when reached, errors mapped."""
        try:
            yield from self._client.get_paginator(operation).paginate(**request)
        except self._foreign as exc:
            raise map_error(exc) from exc

    def cancel_statement(self, statement_id: str) -> None:
        """CancelStatement; a statement that already ended is left alone."""
        with contextlib.suppress(StatementEnded):
            self.call("cancel_statement", Id=statement_id)

    def list_databases(self) -> list[str]:
        pages = self.pages("list_databases", **self.target.request_members())
        return [str(name) for page in pages for name in page.get("Databases", ())]

    def list_schemas(self, database: str) -> list[str]:
        """The database's schemas, system ones included; none for an unknown database."""
        return sorted(str(name) for name in self._catalog("list_schemas", "Schemas", database))

    def list_tables(self, database: str, schema: str | None = None) -> list[Table]:
        """Tables and views of `schema`, or of every schema but the system ones."""
        pattern = {} if schema is None else {"SchemaPattern": schema}
        listed = self._catalog("list_tables", "Tables", database, **pattern)
        tables = [Table(str(t["schema"]), str(t["name"]), str(t["type"])) for t in listed]
        # A pattern's `_` is any character: keep the schema named, or every non-system one.
        kept = [t for t in tables if t.schema == schema or (schema is None and not _is_system(t))]
        return sorted(kept, key=lambda table: (table.schema, table.name))

    def describe_table(self, database: str, schema: str, table: str) -> list[Column]:
        """The table's columns in order; none when it (or its database) does not exist."""
        listed = self._catalog("describe_table", "ColumnList", database, Schema=schema, Table=table)
        columns = [column_of(metadata) for metadata in listed]
        # Schema and Table are patterns too: keep the table named.
        return [c for c in columns if c.schema_name in ("", schema) and c.table_name in ("", table)]

    def close(self) -> None:
        """Close every connection (rolling back open transactions), then the client."""
        with self._guard:
            connections = list(self._connections)
        for connection in connections:
            connection.close()
        self._client.close()

    def _catalog(self, operation: str, key: str, database: str, **request: str) -> list[Any]:
        """What a catalog call lists about `database` (nothing for an unknown one)."""
        if database not in self.list_databases():
            return []
        members = self.target.request_members(database)
        if database != self.target.database:
            members["ConnectedDatabase"] = self.target.database
        pages = self.pages(operation, **members, **request)
        return [item for page in pages for item in page.get(key, ())]


def _is_system(table: Table) -> bool:
    return table.schema in ("information_schema", "pg_catalog") or table.schema.startswith("pg_")


def make_client(target: RedshiftTarget) -> Any:
    """The `redshift-data` client: the URL's region, else boto3's, as its endpoint and keys."""
    import boto3  # only here: importing boto3 costs a fifth of a second
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    config = Config(
        retries={"mode": "standard"},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        max_pool_connections=HTTP_CONNECTIONS,
    )
    try:
        session = boto3.session.Session(region_name=target.region)
        return session.client("redshift-data", config=config)
    except BotoCoreError as exc:
        raise map_error(exc) from exc


def open_redshift(url: str, options: WarehouseOptions) -> RedshiftWarehouse:
    """Open the Redshift `url` names; no region is an error now, no credentials at the first
    call. (`options` has nothing for it: COPY and UNLOAD read Redshift's own S3.)"""
    target = parse_redshift_url(url)
    return RedshiftWarehouse(target, make_client(target))

"""The DuckDB backend: the embedded default warehouse, one database file per project.

One DuckDB database instance serves the whole warehouse; every `connect()` is a cursor of it (a
DuckDB connection of its own), so worker threads share the data, `:memory:` included. The file is
attached under the name `dev`, Redshift's default database name, with a `public` schema that
connections use by default, so `dev.public.t`, `public.t` and `t` name the same table as they do
on a fresh Redshift cluster.

Writers: Redshift makes a second writer of a table wait for the first; DuckDB instead aborts one of
two conflicting transactions. This backend therefore queues writers on one write lock per
warehouse: an explicit transaction holds it from `begin` to `commit`/`rollback`, and an
auto-committed statement that may write holds it while it runs (reads never wait). A statement
that still meets a write conflict in auto-commit is retried with a short backoff, for at most
`CONFLICT_RETRY_SECONDS`.

Foreign errors are mapped to Redshift's wording in one place, `map_error`.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb

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
from redstep.warehouse.dialect import Target, Translation, session_setup, translate
from redstep.warehouse.dialect.script import ScriptError
from redstep.warehouse.registry import WarehouseOptions, WarehouseUrlError
from redstep.warehouse.statement_kinds import perform
from redstep.warehouse.types import from_duckdb

DATABASE = "dev"
"""The name the warehouse's data is attached under: Redshift's default database name."""
DEFAULT_SCHEMA = "public"
CONFLICT_RETRY_SECONDS = 60.0
CANCELLED_MESSAGE = "Query cancelled on user's request"

_CAPABILITIES = Capabilities(
    supports_cancel=True,
    supports_concurrent_connections=True,
    supports_transactional_ddl=True,
)
_READ_ONLY = frozenset(
    {
        duckdb.StatementType.SELECT,
        duckdb.StatementType.EXPLAIN,
        duckdb.StatementType.SET,
        duckdb.StatementType.VARIABLE_SET,
        duckdb.StatementType.PRAGMA,
    }
)
_TABLE_TYPES = {"BASE TABLE": "TABLE", "VIEW": "VIEW", "LOCAL TEMPORARY": "LOCAL TEMPORARY"}


# -- errors -------------------------------------------------------------------------------------

_DUCKDB_PREFIX = re.compile(r"^[A-Za-z ]*Error: ")
_LOCKED = re.compile(r'Could not set lock on file "(?P<file>[^"]+)"')
_HOLDER_PID = re.compile(r"\(PID (\d+)\)")
_CONVERSION_TYPES = {
    "INT8": "smallint",
    "INT16": "smallint",
    "INT32": "integer",
    "INT64": "bigint",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "BOOL": "boolean",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
}

# (pattern over DuckDB's first message line, Redshift's wording, SQLSTATE); first match wins.
_MESSAGES: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(pattern), wording, sqlstate)
    for pattern, wording, sqlstate in (
        (r"[Dd]ivision by zero", "division by zero", "22012"),
        (
            r'^(?:Table|View) with name "?(?P<name>[^"!]+?)"? does not exist',
            'relation "{name}" does not exist',
            "42P01",
        ),
        (
            r'^(?:Table|View) with name "?(?P<name>[^"!]+?)"? already exists',
            'relation "{name}" already exists',
            "42P07",
        ),
        (
            r'^Schema with name "?(?P<name>[^"!]+?)"? does not exist',
            'schema "{name}" does not exist',
            "3F000",
        ),
        (
            r'^(?:\w+ )?Function with name "?(?P<name>[^"!\s]+?)"? does not exist',
            "function {name} does not exist",
            "42883",
        ),
        (
            r'^Referenced column "(?P<name>[^"]+)" not found',
            'column "{name}" does not exist',
            "42703",
        ),
        (
            r'^Table "(?P<table>[^"]+)" does not have a column '
            r'(?:with name|named) "(?P<name>[^"]+)"',
            'column "{name}" of relation "{table}" does not exist',
            "42703",
        ),
        (r'syntax error at or near "(?P<near>.*)"$', 'syntax error at or near "{near}"', "42601"),
        (r"syntax error at end of input", "syntax error at end of input", "42601"),
        (
            r'NOT NULL constraint failed: (?:[\w"]+\.)*?(?P<table>[\w"]+)\.(?P<name>[\w"]+)$',
            'null value in column "{name}" of relation "{table}" violates not-null constraint',
            "23502",
        ),
        (
            r"^Could not convert string '(?P<value>.*)' to (?P<type>\w+)",
            'invalid input syntax for type {type}: "{value}"',
            "22P02",
        ),
        (
            r"Current transaction is aborted",
            "current transaction is aborted, commands ignored until end of transaction block",
            "25P02",
        ),
        (
            r"[Cc]onflict on|write-write conflict",
            "could not serialize access due to concurrent update",
            "40001",
        ),
    )
)


def map_error(exc: BaseException) -> WarehouseError:
    """The WarehouseError that a DuckDB exception means, worded as Redshift words it.

    The only place this backend translates DuckDB's errors: an interrupt is `QueryCancelled`; a
    file lock held by another process and a lost connection are `WarehouseUnavailable`; any other
    error keeps its first line, with DuckDB's `... Error: ` prefix dropped and the common
    messages (missing relation or column, division by zero, syntax, NOT NULL) reworded.
    """
    if isinstance(exc, WarehouseError):
        return exc
    if isinstance(exc, duckdb.InterruptException):
        return QueryCancelled(CANCELLED_MESSAGE, sqlstate="57014")
    if isinstance(exc, ScriptError):
        return WarehouseError(str(exc), sqlstate="42601")
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = _DUCKDB_PREFIX.sub("", first_line).rstrip("!").strip()
    if isinstance(exc, duckdb.IOException) and (locked := _LOCKED.search(text)):
        pid = _HOLDER_PID.search(text)
        holder = f" (PID {pid[1]})" if pid else ""
        return WarehouseUnavailable(
            f"the DuckDB file {locked['file']} is in use by another redstep process{holder}; "
            "stop that process, or send work to it through the endpoint it recorded in .redstep/",
            sqlstate="55006",
        )
    if isinstance(exc, duckdb.ConnectionException | duckdb.FatalException):
        return WarehouseUnavailable(f"the DuckDB database is unavailable: {text}", sqlstate="08006")
    for pattern, wording, sqlstate in _MESSAGES:
        if match := pattern.search(text):
            fields = match.groupdict()
            if "type" in fields:
                fields["type"] = _CONVERSION_TYPES.get(fields["type"], fields["type"].lower())
            return WarehouseError(wording.format(**fields), sqlstate=sqlstate)
    return WarehouseError(text or type(exc).__name__)


def _is_conflict(exc: duckdb.Error) -> bool:
    message = str(exc)
    return isinstance(exc, duckdb.TransactionException) and (
        "Conflict on" in message or "write-write conflict" in message
    )


# -- the write lock -----------------------------------------------------------------------------


class _WriteLock:
    """A writer's turn on the database; any thread may release it (sessions hop threads).

    Waiting is done in short slices so that `Connection.cancel` can end the wait.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def acquire(self, cancelled: threading.Event) -> None:
        while not self._lock.acquire(timeout=0.05):
            if cancelled.is_set():
                raise QueryCancelled(CANCELLED_MESSAGE, sqlstate="57014")

    def release(self) -> None:
        self._lock.release()


# -- connections --------------------------------------------------------------------------------


class DuckDBConnection:
    """One session: a cursor of the warehouse's database, with Redshift's transaction rules."""

    def __init__(self, warehouse: DuckDBWarehouse, cursor: duckdb.DuckDBPyConnection, pid: int):
        self._warehouse = warehouse
        self._cursor = cursor
        self._pid = pid
        self._in_transaction = False
        self._cancelled = threading.Event()
        self._closed = False

    @property
    def in_transaction(self) -> bool:
        return self._in_transaction

    @property
    def backend_pid(self) -> int:
        return self._pid

    def execute(self, sql: str, parameters: Parameters | None = None) -> Result:
        """Translate one Redshift statement for DuckDB and run it (see StatementKind)."""
        self._cancelled.clear()
        try:
            translation = translate(sql, Target.DUCKDB, buckets=self._warehouse.buckets)
        except ScriptError as exc:
            raise map_error(exc) from exc
        return perform(self, translation, parameters)

    def begin(self) -> None:
        """Open a transaction (no-op when one is open), waiting for the write lock first."""
        if self._in_transaction:
            return
        self._warehouse.write_lock.acquire(self._cancelled)
        try:
            self._cursor.execute("BEGIN TRANSACTION")
        except duckdb.Error as exc:
            self._warehouse.write_lock.release()
            raise map_error(exc) from exc
        self._in_transaction = True

    def commit(self) -> None:
        """Commit the open transaction (an aborted one rolls back); no-op outside one."""
        if not self._in_transaction:
            return
        try:
            self._cursor.execute("COMMIT")
        except duckdb.Error as exc:
            raise map_error(exc) from exc
        finally:
            self._end_transaction()

    def rollback(self) -> None:
        """Roll back the open transaction; no-op outside one."""
        if not self._in_transaction:
            return
        try:
            self._cursor.execute("ROLLBACK")
        except duckdb.TransactionException:
            pass  # DuckDB already ended the transaction (e.g. it failed to commit)
        except duckdb.Error as exc:
            raise map_error(exc) from exc
        finally:
            self._end_transaction()

    def cancel(self) -> None:
        """Interrupt the running statement, or its wait for the write lock; any thread."""
        self._cancelled.set()
        if not self._closed:
            self._cursor.interrupt()

    def close(self) -> None:
        """Roll back any open transaction and close the session; safe to call twice."""
        if self._closed:
            return
        try:
            self.rollback()
        finally:
            self._closed = True
            self._cursor.close()
            self._warehouse.forget(self)

    # -- running statements ---------------------------------------------------------------------

    def _end_transaction(self) -> None:
        self._in_transaction = False
        self._warehouse.write_lock.release()

    def run(self, translation: Translation, parameters: Parameters | None) -> Result:
        """Run a translation's statements; see `statement_kinds.Session.run`."""
        if translation.transfer is not None:
            # The dialect renders COPY and UNLOAD as DuckDB SQL; a transfer object is a bug.
            raise WarehouseError("COPY and UNLOAD through a transfer are not run on DuckDB")
        values = _bind(translation, parameters)
        statements = translation.statements
        if self._in_transaction:
            return self._run_in_transaction(statements, values)
        if len(statements) == 1:
            return self._run_auto_commit(statements[0], values)
        # Several engine statements for one Redshift statement commit together, or not at all.
        self.begin()
        try:
            result = self._run_in_transaction(statements, values)
        except BaseException:
            self.rollback()
            raise
        self.commit()
        return result

    def _run_in_transaction(self, statements: tuple[str, ...], values: dict[str, object]) -> Result:
        result = Result()
        for statement in statements:
            try:
                result = self._run_one(statement, values, self._parse(statement))
            except QueryCancelled:
                self.rollback()  # Redshift aborts the transaction of a cancelled query
                raise
        return result

    def _run_auto_commit(self, statement: str, values: dict[str, object]) -> Result:
        parsed = self._parse(statement)
        is_write = parsed.type not in _READ_ONLY
        deadline = time.monotonic() + CONFLICT_RETRY_SECONDS
        delay = 0.01
        while True:
            if is_write:
                self._warehouse.write_lock.acquire(self._cancelled)
            try:
                return self._run_one(statement, values, parsed, retry_conflicts=True)
            except _Conflict as conflict:
                if time.monotonic() + delay > deadline:
                    raise map_error(conflict.cause) from conflict.cause
            finally:
                if is_write:
                    self._warehouse.write_lock.release()
            if self._cancelled.wait(delay):
                raise QueryCancelled(CANCELLED_MESSAGE, sqlstate="57014")
            delay = min(delay * 2, 0.5)

    def _parse(self, statement: str) -> _Parsed:
        try:
            parsed = self._cursor.extract_statements(statement)
        except duckdb.Error:
            return _Parsed(None, None)  # running it reports the error
        if len(parsed) != 1:
            return _Parsed(None, None)
        return _Parsed(parsed[0].type, frozenset(parsed[0].named_parameters))

    def _run_one(
        self,
        statement: str,
        values: dict[str, object],
        parsed: _Parsed,
        *,
        retry_conflicts: bool = False,
    ) -> Result:
        if self._cancelled.is_set():
            raise QueryCancelled(CANCELLED_MESSAGE, sqlstate="57014")
        try:
            if parsed.parameters is not None:
                # DuckDB refuses values for names a statement does not use (a prelude's, say).
                values = {name: values[name] for name in parsed.parameters if name in values}
            if values:
                self._cursor.execute(statement, values)
            else:
                self._cursor.execute(statement)
            return _result_of(self._cursor, is_change=parsed.type not in _READ_ONLY)
        except duckdb.Error as exc:
            if retry_conflicts and _is_conflict(exc):
                raise _Conflict(exc) from exc
            raise map_error(exc) from exc


@dataclass(frozen=True, slots=True)
class _Parsed:
    """What DuckDB's parser says of one statement before it runs (None when it cannot say)."""

    type: duckdb.StatementType | None
    parameters: frozenset[str] | None


class _Conflict(Exception):
    """An auto-committed statement lost a write conflict and may be retried."""

    def __init__(self, cause: duckdb.Error) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _bind(translation: Translation, parameters: Parameters | None) -> dict[str, object]:
    given: Mapping[str, str | None] = parameters or {}
    missing = [name for name in translation.parameter_names if name not in given]
    if missing:
        raise WarehouseError(f"no value given for parameter :{missing[0]}", sqlstate="42P02")
    return {name: given[name] for name in translation.parameter_names}


def _result_of(cursor: duckdb.DuckDBPyConnection, *, is_change: bool) -> Result:
    """The Result of the statement just run: rows, or DuckDB's `Count` turned into row_count.

    `is_change` says the statement is DML or DDL, whose only answer is that `Count` column.
    """
    description = cursor.description
    if not description:
        return Result()
    if (
        is_change
        and len(description) == 1
        and description[0][0] == "Count"
        and str(description[0][1]) == "BIGINT"
    ):
        # DML and DDL answer with one `Count` column (no row at all for DDL).
        counted = cursor.fetchall()
        return Result(row_count=int(counted[0][0]) if counted else -1)
    rows = cursor.fetchall()
    columns = []
    for name, type_code, *_ in description:
        redshift_type = from_duckdb(str(type_code))
        columns.append(
            Column(
                name=str(name),
                type_name=redshift_type.name,
                precision=redshift_type.precision,
                scale=redshift_type.scale,
                length=redshift_type.length,
            )
        )
    return Result(columns=tuple(columns), rows=rows, row_count=len(rows))


# -- the warehouse ------------------------------------------------------------------------------


class DuckDBWarehouse:
    """A DuckDB database file (or memory) attached as `dev`, shared by all connections."""

    def __init__(self, path: Path | None, buckets: Mapping[str, Path]) -> None:
        self.path = path
        self.buckets = buckets
        self.write_lock = _WriteLock()
        self._pids = itertools.count(1)
        self._connections: set[DuckDBConnection] = set()
        self._guard = threading.Lock()
        location = ":memory:" if path is None else str(path)
        try:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            self._database = duckdb.connect(":memory:")
        except (OSError, duckdb.Error) as exc:
            raise WarehouseUnavailable(f"cannot open DuckDB file {location}: {exc}") from exc
        try:
            quoted = location.replace("'", "''")
            self._database.execute(f"ATTACH '{quoted}' AS {DATABASE}")
            self._database.execute(f"CREATE SCHEMA IF NOT EXISTS {DATABASE}.{DEFAULT_SCHEMA}")
        except duckdb.Error as exc:
            self._database.close()
            mapped = map_error(exc)
            if isinstance(mapped, WarehouseUnavailable):
                raise mapped from exc
            raise WarehouseUnavailable(f"cannot open DuckDB file {location}: {mapped}") from exc

    @property
    def name(self) -> str:
        return "duckdb"

    @property
    def capabilities(self) -> Capabilities:
        return _CAPABILITIES

    @property
    def database(self) -> str:
        return DATABASE

    def connect(self) -> DuckDBConnection:
        """A new session over a cursor of the shared database, set up for Redshift SQL."""
        try:
            cursor = self._database.cursor()
            cursor.execute(f"USE {DATABASE}.{DEFAULT_SCHEMA}")
        except duckdb.Error as exc:
            raise map_error(exc) from exc
        connection = DuckDBConnection(self, cursor, next(self._pids))
        try:
            # Not under the write lock: a new session must not wait for another's transaction.
            for statement in session_setup(Target.DUCKDB):
                cursor.execute(statement)
        except duckdb.Error as exc:
            cursor.close()
            raise map_error(exc) from exc
        with self._guard:
            self._connections.add(connection)
        return connection

    def forget(self, connection: DuckDBConnection) -> None:
        """Stop tracking a closed connection."""
        with self._guard:
            self._connections.discard(connection)

    def list_databases(self) -> list[str]:
        rows = self._catalog(
            "SELECT database_name FROM duckdb_databases() "
            "WHERE NOT internal AND database_name <> 'memory' ORDER BY 1"
        )
        return [str(row[0]) for row in rows]

    def list_schemas(self, database: str) -> list[str]:
        """Schemas of `database`, with Redshift's `information_schema` and `pg_catalog`.

        DuckDB's own `main` schema is listed only when it holds tables.
        """
        rows = self._catalog(
            "SELECT schema_name FROM information_schema.schemata s WHERE catalog_name = $db "
            "AND (schema_name <> 'main' OR EXISTS (SELECT 1 FROM information_schema.tables t "
            "WHERE t.table_catalog = $db AND t.table_schema = 'main'))",
            {"db": database},
        )
        if not rows:
            return []
        return sorted({str(row[0]) for row in rows} | {"information_schema", "pg_catalog"})

    def list_tables(self, database: str, schema: str | None = None) -> list[Table]:
        rows = self._catalog(
            "SELECT table_schema, table_name, table_type FROM information_schema.tables "
            "WHERE table_catalog = $db AND ($schema IS NULL OR table_schema = $schema) "
            "ORDER BY 1, 2",
            {"db": database, "schema": schema},
        )
        return [
            Table(schema=str(s), name=str(n), type=_TABLE_TYPES.get(str(t), str(t)))
            for s, n, t in rows
        ]

    def describe_table(self, database: str, schema: str, table: str) -> list[Column]:
        rows = self._catalog(
            "SELECT column_name, data_type, is_nullable, column_default, "
            "character_maximum_length FROM information_schema.columns "
            "WHERE table_catalog = $db AND table_schema = $schema AND table_name = $table "
            "ORDER BY ordinal_position",
            {"db": database, "schema": schema, "table": table},
        )
        columns = []
        for name, data_type, nullable, default, length in rows:
            redshift_type = from_duckdb(str(data_type))
            columns.append(
                Column(
                    name=str(name),
                    type_name=redshift_type.name,
                    nullable=nullable == "YES",
                    precision=redshift_type.precision,
                    scale=redshift_type.scale,
                    length=redshift_type.length or int(length or 0),
                    schema_name=schema,
                    table_name=table,
                    default=None if default is None else str(default),
                )
            )
        return columns

    def close(self) -> None:
        """Close every session and the database (DuckDB checkpoints the file)."""
        with self._guard:
            connections = list(self._connections)
        for connection in connections:
            connection.close()
        self._database.close()

    def _catalog(self, sql: str, values: dict[str, object] | None = None) -> list[tuple[Any, ...]]:
        cursor = self._database.cursor()
        try:
            cursor.execute(sql, values or {})
            return [tuple(row) for row in cursor.fetchall()]
        except duckdb.Error as exc:
            raise map_error(exc) from exc
        finally:
            cursor.close()


def database_path(url: str, root: Path) -> Path | None:
    """The file a `duckdb://` URL names (relative to `root`), or None for `:memory:`."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "duckdb":
        raise WarehouseUrlError(f"{url!r} is not a duckdb:// URL")
    location = parts.path[1:] if parts.path.startswith("/") else parts.path
    if not location:
        raise WarehouseUrlError(f"{url!r} names no database file; use duckdb:///:memory: for none")
    if location == ":memory:":
        return None
    path = Path(location)
    return path if path.is_absolute() else root / path


def open_duckdb(url: str, options: WarehouseOptions) -> DuckDBWarehouse:
    """Open the DuckDB warehouse `url` names, creating the file and its folders if needed."""
    return DuckDBWarehouse(database_path(url, options.root), options.buckets)

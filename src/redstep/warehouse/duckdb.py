"""The DuckDB backend: the embedded default warehouse, one database file per project.

One DuckDB database instance serves the whole warehouse; every `connect()` is a cursor of it (a
DuckDB connection of its own), so worker threads share the data, `:memory:` included. The file is
attached under the name `dev`, Redshift's default database name, with a `public` schema that
connections use by default, so `dev.public.t`, `public.t` and `t` name the same table as they do
on a fresh Redshift cluster.

Writers: Redshift makes a second writer of a table wait for the first; DuckDB instead fails the
second writer's statement with a write conflict (`Conflict on update!`), and only then: writers of
different tables, or of different rows, run side by side. This backend keeps that concurrency and
hides the conflict the way waiting would: an auto-committed statement that loses one is run again
after a short backoff; a transaction that loses one is rolled back and replayed from its journal
(the statements it ran so far), then the statement is run again. Either gives up after
`CONFLICT_RETRY_SECONDS`, and `cancel` ends the wait.

Session state (temporary objects, settings, prepared statements) lives in each cursor's own
client context, and DuckDB creates it only from SQL that says so: a TEMP (TEMPORARY) object (it
refuses any other CREATE in the `temp` catalog), SET, RESET, PRAGMA, USE, PREPARE (CALL too, to be
safe). So a connection notes, with one regex on the SQL it runs, when its session may hold any,
and `reset_session` then closes its cursor and opens a fresh one, set up as `connect` sets one up
(about 1 ms); otherwise it does nothing. A false alarm (a column named `temp`) costs that
millisecond; reconnecting leaves nothing out that a list of what to drop might miss.

Foreign errors are mapped to Redshift's wording in one place, `duckdb_errors.map_error`.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb

from redstep.warehouse.base import (
    TABLE_TYPES,
    Capabilities,
    Column,
    Parameters,
    QueryCancelled,
    Result,
    Table,
    WarehouseUnavailable,
)
from redstep.warehouse.dialect import Target, Translation, session_setup, translator
from redstep.warehouse.duckdb_errors import is_conflict, map_error
from redstep.warehouse.registry import WarehouseOptions, WarehouseUrlError
from redstep.warehouse.statement_kinds import bind_parameters, perform
from redstep.warehouse.types import from_duckdb

FETCH_ROWS = 10_000
"""How many rows a result's reader takes from DuckDB at a time."""
DATABASE = "dev"
"""The name the warehouse's data is attached under: Redshift's default database name."""
DEFAULT_SCHEMA = "public"
CONFLICT_RETRY_SECONDS = 60.0

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
_SETTINGS = frozenset({duckdb.StatementType.SET, duckdb.StatementType.VARIABLE_SET})

# SQL that may leave state in the session: TEMP anywhere, or a statement (after blanks and
# comments) that sets, prepares or switches. Anchored, SET does not match UPDATE … SET. The
# leading run is possessive (`*+`, `[^\n]*+`): blanks and a comment's end overlap, and a
# backtracking search over a long comment header would take exponential time.
_SESSION_STATE = re.compile(
    r"\bTEMP(?:ORARY)?\b"
    r"|\A(?:\s|/\*.*?\*/|--[^\n]*+)*+(?:SET|RESET|PRAGMA|USE|PREPARE|CALL)\b",
    re.IGNORECASE | re.DOTALL,
)


# -- connections --------------------------------------------------------------------------------


class DuckDBConnection:
    """One session: a cursor of the warehouse's database, with Redshift's transaction rules."""

    def __init__(self, warehouse: DuckDBWarehouse, cursor: duckdb.DuckDBPyConnection, pid: int):
        self._warehouse = warehouse
        self._cursor = cursor
        self._pid = pid
        self._journal: list[_Step] | None = None  # the open transaction's steps, for a replay
        self._cancelled = threading.Event()
        self._closed = False
        # Whether a statement since connect (or the last reset) may have left session state.
        self._has_session_state = False

    @property
    def in_transaction(self) -> bool:
        return self._journal is not None

    @property
    def backend_pid(self) -> int:
        return self._pid

    def execute(self, sql: str, parameters: Parameters | None = None) -> Result:
        """Translate one Redshift statement for DuckDB and run it (see StatementKind)."""
        self._cancelled.clear()
        translation = self._warehouse.translate(sql)
        if not self._has_session_state:
            self._has_session_state = any(map(_SESSION_STATE.search, translation.statements))
        return perform(self, translation, parameters)

    def begin(self) -> None:
        """Open a transaction; no-op when one is open."""
        if self._journal is not None:
            return
        self._send("BEGIN TRANSACTION")
        self._journal = []

    def commit(self) -> None:
        """Commit the open transaction (an aborted one rolls back); no-op outside one."""
        if self._journal is None:
            return
        backoff = _Backoff(self._cancelled)
        try:
            while True:
                try:
                    self._send("COMMIT")
                    return
                except _Conflict as conflict:
                    self._replay(backoff, conflict)
        finally:
            self._journal = None

    def rollback(self) -> None:
        """Roll back the open transaction; no-op outside one."""
        if self._journal is None:
            return
        self._journal = None
        try:
            self._cursor.execute("ROLLBACK")
        except duckdb.TransactionException:
            pass  # DuckDB already ended the transaction (e.g. it failed to commit)
        except duckdb.Error as exc:
            raise map_error(exc) from exc

    def reset_session(self) -> None:
        """Replace the cursor with a fresh one, as `connect` sets it up, when a statement since
        the last reset may have left session state (see the module's docstring); else nothing.
        The backend pid stays: the connection is the same to its worker."""
        if not self._has_session_state:
            return
        cursor = self._warehouse.open_cursor()
        stale, self._cursor = self._cursor, cursor
        self._has_session_state = False
        stale.close()

    def cancel(self) -> None:
        """Interrupt the running statement, or its wait out a write conflict; any thread."""
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

    def run(self, translation: Translation, parameters: Parameters | None) -> Result:
        """Run a translation's statements; see `statement_kinds.Session.run`."""
        assert translation.transfer is None, "the dialect renders COPY and UNLOAD as DuckDB SQL"
        values = bind_parameters(translation, parameters)
        steps = [_Step(sql, values, self._parse(sql)) for sql in translation.statements]
        if self._journal is not None:
            return self._run_in_transaction(steps)
        if len(steps) == 1:
            return self._run_auto_commit(steps[0])
        # Several engine statements for one Redshift statement commit together, or not at all.
        self.begin()
        try:
            result = self._run_in_transaction(steps)
            # Read before COMMIT, which ends the cursor's result (only preludes come here).
            result = replace(result, rows=list(result.rows))
        except BaseException:
            self.rollback()
            raise
        self.commit()
        return result

    def _run_in_transaction(self, steps: list[_Step]) -> Result:
        result = Result()
        for step in steps:
            try:
                result = self._run_until_no_conflict(step)
            except QueryCancelled:
                self.rollback()  # Redshift aborts the transaction of a cancelled query
                raise
            assert self._journal is not None
            self._journal.append(step)
        return result

    def _run_until_no_conflict(self, step: _Step) -> Result:
        """Run a step of the open transaction, replaying the transaction while it conflicts."""
        backoff = _Backoff(self._cancelled)
        while True:
            try:
                return self._run_one(step)
            except _Conflict as conflict:
                self._replay(backoff, conflict)

    def _replay(self, backoff: _Backoff, conflict: _Conflict) -> None:
        """Wait out a write conflict: roll back, then run the transaction's steps again."""
        journal = self._journal or []
        while True:
            self._journal = None
            with contextlib.suppress(duckdb.Error):
                self._cursor.execute("ROLLBACK")
            backoff.wait_after(conflict)
            self._send("BEGIN TRANSACTION")
            self._journal = []
            try:
                for step in journal:
                    self._run_one(step)
                    self._journal.append(step)
                return
            except _Conflict as again:
                conflict = again

    def _run_auto_commit(self, step: _Step) -> Result:
        backoff = _Backoff(self._cancelled)
        while True:
            try:
                return self._run_one(step)
            except _Conflict as conflict:
                backoff.wait_after(conflict)

    def _parse(self, statement: str) -> _Parsed:
        try:
            parsed = self._cursor.extract_statements(statement)
        except duckdb.Error:
            return _Parsed(None, None)  # running it reports the error
        if len(parsed) != 1:
            return _Parsed(None, None)
        return _Parsed(parsed[0].type, frozenset(parsed[0].named_parameters))

    def _run_one(self, step: _Step) -> Result:
        """Run one engine statement; a lost write conflict raises `_Conflict`."""
        if self._cancelled.is_set():
            raise QueryCancelled()
        values = step.values
        if step.parsed.parameters is not None:
            # DuckDB refuses values for names a statement does not use (a prelude's, say).
            values = {name: values[name] for name in step.parsed.parameters if name in values}
        try:
            if values:
                self._cursor.execute(step.sql, values)
            else:
                self._cursor.execute(step.sql)
            if step.parsed.type in _SETTINGS:
                return Result()  # DuckDB answers SET with a `Success` column; Redshift with none
            return self._result(is_change=step.parsed.type not in _READ_ONLY)
        except duckdb.Error as exc:
            if is_conflict(exc):
                raise _Conflict(exc) from exc
            raise map_error(exc) from exc

    def _result(self, *, is_change: bool) -> Result:
        """The Result of the statement just run: its rows streaming from the cursor, or DuckDB's
        `Count` turned into row_count.

        `is_change` says the statement is DML or DDL, whose only answer is that `Count` column.
        """
        description = self._cursor.description
        if not description:
            return Result()
        if (
            is_change
            and len(description) == 1
            and description[0][0] == "Count"
            and str(description[0][1]) == "BIGINT"
        ):
            # DML and DDL answer with one `Count` column (no row at all for DDL).
            counted = self._cursor.fetchall()
            return Result(row_count=int(counted[0][0]) if counted else -1)
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
        return Result(columns=tuple(columns), rows=self._stream())

    def _stream(self) -> Iterator[tuple[object, ...]]:
        """The rows of the query just run, fetched `FETCH_ROWS` at a time as they are read, so a
        result of any size passes through in little memory. DuckDB may find an error (a failed
        cast) only when it produces a later row, and a cancel may land while the rows are read:
        either comes out of the iteration in Redshift's words, a cancel rolling back the open
        transaction as one during the query's run does."""
        try:
            while batch := self._cursor.fetchmany(FETCH_ROWS):
                yield from batch
        except duckdb.Error as exc:
            error = map_error(exc)
            if isinstance(error, QueryCancelled) and self._journal is not None:
                self.rollback()  # Redshift aborts the transaction of a cancelled query
            raise error from exc

    def _send(self, command: str) -> None:
        """Run a transaction command; a lost write conflict (at COMMIT) raises `_Conflict`."""
        try:
            self._cursor.execute(command)
        except duckdb.Error as exc:
            if is_conflict(exc):
                raise _Conflict(exc) from exc
            raise map_error(exc) from exc


@dataclass(frozen=True, slots=True)
class _Parsed:
    """What DuckDB's parser says of one statement before it runs (None when it cannot say)."""

    type: duckdb.StatementType | None
    parameters: frozenset[str] | None


@dataclass(frozen=True, slots=True)
class _Step:
    """One engine statement with its values: what a transaction's journal replays."""

    sql: str
    values: dict[str, object]
    parsed: _Parsed


class _Conflict(Exception):
    """A statement lost a write conflict and may be run again."""

    def __init__(self, cause: duckdb.Error) -> None:
        super().__init__(str(cause))
        self.cause = cause


class _Backoff:
    """Waits between tries at a conflicted write, for at most `CONFLICT_RETRY_SECONDS` in all."""

    def __init__(self, cancelled: threading.Event) -> None:
        self._cancelled = cancelled
        self._deadline = time.monotonic() + CONFLICT_RETRY_SECONDS
        self._delay = 0.01

    def wait_after(self, conflict: _Conflict) -> None:
        """Wait before the next try; raise the conflict in Redshift's words once time is up,
        or QueryCancelled when the connection is cancelled meanwhile."""
        if time.monotonic() + self._delay > self._deadline:
            raise map_error(conflict.cause) from conflict.cause
        if self._cancelled.wait(self._delay):
            raise QueryCancelled()
        self._delay = min(self._delay * 2, 0.5)


# -- the warehouse ------------------------------------------------------------------------------


class DuckDBWarehouse:
    """A DuckDB database file (or memory) attached as `dev`, shared by all connections."""

    def __init__(self, path: Path | None, buckets: Mapping[str, Path]) -> None:
        self.path = path
        self.translate = translator(Target.DUCKDB, buckets=buckets)
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
        connection = DuckDBConnection(self, self.open_cursor(), next(self._pids))
        with self._guard:
            self._connections.add(connection)
        return connection

    def open_cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor of the shared database (a DuckDB connection of its own) in a new session's
        state: `dev.public` in use, and the dialect's session setup run, in one call (a third
        faster than a call each)."""
        try:
            cursor = self._database.cursor()
        except duckdb.Error as exc:
            raise map_error(exc) from exc
        try:
            setup = (f"USE {DATABASE}.{DEFAULT_SCHEMA}", *session_setup(Target.DUCKDB))
            cursor.execute(";".join(setup))
        except duckdb.Error as exc:
            cursor.close()
            raise map_error(exc) from exc
        return cursor

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
            Table(schema=str(s), name=str(n), type=TABLE_TYPES.get(str(t), str(t)))
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

"""The PostgreSQL backend (psycopg 3): one server connection per session.

Sessions run in psycopg's autocommit mode, so each statement outside `begin` … `commit` commits on
its own, and `begin` sends BEGIN itself; the transaction state is read from the server's report
(`connection.info.transaction_status`). PostgreSQL already makes a second writer of a row wait
for the first, as Redshift does, so nothing is queued here. Catalog calls open a short-lived
connection to the database they name.

`reset_session` is PostgreSQL's own DISCARD ALL, one round trip (about 50 µs on a local server):
it drops temporary objects and prepared statements, closes cursors, and resets every setting to
the session's default. Redshift's UTC is therefore given at connect, as a startup option, which
makes it that default; a SET run at connect would be undone.

Foreign errors are mapped in one place, `map_error`; PostgreSQL's wording is already Redshift's.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus

from redstep.warehouse.base import (
    TABLE_TYPES,
    Capabilities,
    Column,
    Parameters,
    QueryCancelled,
    Result,
    Table,
    WarehouseError,
    WarehouseUnavailable,
)
from redstep.warehouse.dialect import Target, Translation, session_setup, translator
from redstep.warehouse.registry import WarehouseOptions
from redstep.warehouse.statement_kinds import bind_parameters, perform
from redstep.warehouse.types import from_postgres_name, from_postgres_oid

CONNECT_TIMEOUT_SECONDS = 10
# Redshift's sessions run in UTC. A startup option, not a SET: see the module's docstring.
_STARTUP_OPTIONS = "-c TimeZone=UTC"

_CAPABILITIES = Capabilities(
    supports_cancel=True,
    supports_concurrent_connections=True,
    supports_transactional_ddl=True,
)
_IN_TRANSACTION = (TransactionStatus.INTRANS, TransactionStatus.INERROR)


def map_error(exc: BaseException) -> WarehouseError:
    """The WarehouseError that a psycopg (or script) exception means.

    The only place this backend translates foreign errors: a cancelled statement is
    `QueryCancelled`; a failure to reach the server, or a lost connection, is
    `WarehouseUnavailable`; any other server error keeps PostgreSQL's primary message and
    SQLSTATE, which Redshift shares.
    """
    if isinstance(exc, WarehouseError):
        return exc
    if isinstance(exc, pg_errors.QueryCanceled):
        return QueryCancelled()
    if isinstance(exc, psycopg.Error):
        sqlstate = exc.sqlstate
        primary = exc.diag.message_primary if exc.diag is not None else None
        text = primary or (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        is_unreachable = isinstance(exc, psycopg.InterfaceError) or (
            isinstance(exc, psycopg.OperationalError)
            and (sqlstate is None or sqlstate.startswith(("08", "57P", "53")))
        )
        if is_unreachable:
            return WarehouseUnavailable(f"PostgreSQL is unavailable: {text}", sqlstate=sqlstate)
        return WarehouseError(text, sqlstate=sqlstate)
    return WarehouseError(str(exc) or type(exc).__name__)


class PostgresConnection:
    """One session on the server, with Redshift's transaction rules."""

    def __init__(self, warehouse: PostgresWarehouse, connection: psycopg.Connection[Any]) -> None:
        self._warehouse = warehouse
        self._connection = connection
        self._pid = connection.info.backend_pid
        self._cancelled = threading.Event()

    @property
    def in_transaction(self) -> bool:
        return self._connection.info.transaction_status in _IN_TRANSACTION

    @property
    def backend_pid(self) -> int:
        return self._pid

    def execute(self, sql: str, parameters: Parameters | None = None) -> Result:
        """Translate one Redshift statement for PostgreSQL and run it (see StatementKind)."""
        self._cancelled.clear()
        translation = self._warehouse.translate(sql)
        return perform(self, translation, parameters)

    def begin(self) -> None:
        """Open a transaction; no-op when one is open."""
        if not self.in_transaction:
            self._send("BEGIN")

    def commit(self) -> None:
        """Commit the open transaction (a failed one rolls back, as on Redshift); no-op outside."""
        if self.in_transaction:
            self._send("COMMIT")

    def rollback(self) -> None:
        """Roll back the open transaction; no-op outside one."""
        if self.in_transaction:
            self._send("ROLLBACK")

    def reset_session(self) -> None:
        """DISCARD ALL, always: what a statement leaves (a `pg_temp` table, a `set_config`, a
        PREPARE, a function's side effects) is not worth guessing from its text; then the
        dialect's session setup again, should it ever hold anything."""
        self._send("DISCARD ALL")
        for statement in session_setup(Target.POSTGRES):
            self._send(statement)

    def cancel(self) -> None:
        """Ask the server to cancel the running statement; safe from any thread."""
        self._cancelled.set()
        if self._connection.closed:
            return
        with contextlib.suppress(psycopg.Error):  # a lost connection ends its statement anyway
            self._connection.cancel_safe(timeout=5)

    def close(self) -> None:
        """Close the session (the server rolls back an open transaction); safe to call twice."""
        self._connection.close()
        self._warehouse.forget(self)

    def _send(self, command: str) -> None:
        try:
            self._connection.execute(command)
        except psycopg.Error as exc:
            raise map_error(exc) from exc

    def run(self, translation: Translation, parameters: Parameters | None) -> Result:
        """Run a translation's statements; see `statement_kinds.Session.run`."""
        values = bind_parameters(translation, parameters)
        if self.in_transaction or (len(translation.statements) <= 1 and not translation.transfer):
            return self._run_statements(translation, values)
        # Several engine statements for one Redshift statement commit together, or not at all.
        self.begin()
        try:
            result = self._run_statements(translation, values)
        except BaseException:
            self.rollback()
            raise
        self.commit()
        return result

    def _run_statements(self, translation: Translation, values: dict[str, object]) -> Result:
        result = Result()
        try:
            with self._connection.cursor() as cursor:
                for statement in translation.statements:
                    if self._cancelled.is_set():
                        raise QueryCancelled()
                    # Always a mapping: the dialect doubled every literal `%` for this.
                    cursor.execute(statement.encode(), values)
                    result = _result_of(cursor)
                if translation.transfer is not None:
                    result = _run_transfer(translation, cursor)
        except (psycopg.Error, QueryCancelled) as exc:
            error = map_error(exc)
            if isinstance(error, QueryCancelled):
                self._rollback_quietly()  # Redshift aborts the transaction of a cancelled query
            raise error from exc
        return result

    def _rollback_quietly(self) -> None:
        with contextlib.suppress(WarehouseError):
            self.rollback()


def _run_transfer(translation: Translation, cursor: psycopg.Cursor[Any]) -> Result:
    """Run a COPY or UNLOAD through its transfer object on this session's cursor."""
    assert translation.transfer is not None
    return Result(row_count=translation.transfer.run_on_postgres(cursor))


def _result_of(cursor: psycopg.Cursor[Any]) -> Result:
    """The Result of the statement just run: its rows, or the rows DML affected."""
    description = cursor.description
    if description is None:
        return Result(row_count=cursor.rowcount)
    rows = [tuple(row) for row in cursor.fetchall()]
    columns = []
    for column in description:
        type_name = from_postgres_oid(column.type_code)
        is_numeric = type_name == "numeric"
        columns.append(
            Column(
                name=column.name,
                type_name=type_name,
                precision=(column.precision or 0) if is_numeric else 0,
                scale=(column.scale or 0) if is_numeric else 0,
                length=column.display_size or 0 if type_name in ("varchar", "char") else 0,
            )
        )
    return Result(columns=tuple(columns), rows=rows, row_count=len(rows))


class PostgresWarehouse:
    """A PostgreSQL server; `database` is the one the URL names."""

    def __init__(self, url: str, buckets: Mapping[str, Path]) -> None:
        self._url = url
        self.translate = translator(Target.POSTGRES, buckets=buckets)
        self._connections: set[PostgresConnection] = set()
        self._guard = threading.Lock()
        with self._open() as probe:  # fail now, with the server's reason, not on first use
            self._database = probe.info.dbname

    @property
    def name(self) -> str:
        return "postgresql"

    @property
    def capabilities(self) -> Capabilities:
        return _CAPABILITIES

    @property
    def database(self) -> str:
        return self._database

    def connect(self) -> PostgresConnection:
        """A new server connection, set up for Redshift SQL."""
        connection = self._open()
        try:
            for statement in session_setup(Target.POSTGRES):
                connection.execute(statement.encode())
        except psycopg.Error as exc:
            connection.close()
            raise map_error(exc) from exc
        session = PostgresConnection(self, connection)
        with self._guard:
            self._connections.add(session)
        return session

    def forget(self, connection: PostgresConnection) -> None:
        """Stop tracking a closed connection."""
        with self._guard:
            self._connections.discard(connection)

    def list_databases(self) -> list[str]:
        rows = self._catalog(
            None,
            "SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn ORDER BY 1",
        )
        return [str(row[0]) for row in rows]

    def list_schemas(self, database: str) -> list[str]:
        """Schemas of `database`, including `information_schema`, `pg_catalog` and `public`."""
        if database not in self.list_databases():
            return []
        rows = self._catalog(
            database,
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_toast%%' "
            "AND nspname NOT LIKE 'pg\\_temp\\_%%' ORDER BY 1",
        )
        return [str(row[0]) for row in rows]

    def list_tables(self, database: str, schema: str | None = None) -> list[Table]:
        """Tables and views; without `schema`, those outside the system schemas."""
        if database not in self.list_databases():
            return []
        rows = self._catalog(
            database,
            "SELECT table_schema, table_name, table_type FROM information_schema.tables "
            "WHERE (%(schema)s::text IS NULL "
            "  AND table_schema NOT IN ('pg_catalog', 'information_schema') "
            "  AND table_schema NOT LIKE 'pg\\_%%') "
            "OR table_schema = %(schema)s::text ORDER BY 1, 2",
            {"schema": schema},
        )
        return [
            Table(schema=str(s), name=str(n), type=TABLE_TYPES.get(str(t), str(t)))
            for s, n, t in rows
        ]

    def describe_table(self, database: str, schema: str, table: str) -> list[Column]:
        if database not in self.list_databases():
            return []
        rows = self._catalog(
            database,
            "SELECT column_name, data_type, udt_name, is_nullable, column_default, "
            "character_maximum_length, numeric_precision, numeric_scale "
            "FROM information_schema.columns "
            "WHERE table_schema = %(schema)s AND table_name = %(table)s "
            "ORDER BY ordinal_position",
            {"schema": schema, "table": table},
        )
        columns = []
        for name, data_type, udt_name, nullable, default, length, precision, scale in rows:
            type_name = from_postgres_name(str(data_type), str(udt_name))
            is_numeric = type_name == "numeric"
            columns.append(
                Column(
                    name=str(name),
                    type_name=type_name,
                    nullable=nullable == "YES",
                    precision=int(precision or 0) if is_numeric else 0,
                    scale=int(scale or 0) if is_numeric else 0,
                    length=int(length or 0),
                    schema_name=schema,
                    table_name=table,
                    default=None if default is None else str(default),
                )
            )
        return columns

    def close(self) -> None:
        """Close every session this warehouse opened."""
        with self._guard:
            connections = list(self._connections)
        for connection in connections:
            connection.close()

    def _open(self, database: str | None = None) -> psycopg.Connection[Any]:
        extra: dict[str, Any] = {} if database is None else {"dbname": database}
        try:
            # libpq reads PGOPTIONS only when a connection names no options: keep those given.
            given = conninfo_to_dict(self._url).get("options") or os.environ.get("PGOPTIONS", "")
            return psycopg.connect(
                self._url,
                autocommit=True,
                prepare_threshold=None,  # DDL between runs would invalidate prepared plans
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                application_name="redstep",
                options=f"{given} {_STARTUP_OPTIONS}".strip(),
                **extra,
            )
        except psycopg.Error as exc:
            error = map_error(exc)
            raise WarehouseUnavailable(error.message, sqlstate=error.sqlstate) from exc

    def _catalog(
        self, database: str | None, sql: str, values: dict[str, object] | None = None
    ) -> Sequence[tuple[Any, ...]]:
        with self._open(database) as connection:
            try:
                return [tuple(row) for row in connection.execute(sql.encode(), values or {})]
            except psycopg.Error as exc:
                raise map_error(exc) from exc


def open_postgres(url: str, options: WarehouseOptions) -> PostgresWarehouse:
    """Open the PostgreSQL warehouse `url` names, checking now that the server answers."""
    return PostgresWarehouse(url, options.buckets)

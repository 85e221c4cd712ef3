"""The warehouse seam: what every SQL backend offers the Data API service.

A backend takes SQL written in Redshift's dialect, rewrites it for its own engine (through
`redstep.warehouse.dialect`), runs it, and answers with Redshift's names for types and Redshift's
wording for errors. Each backend is one module plus one line in `redstep.warehouse.registry`.

Exceptions raised through this seam:

    WarehouseError          a statement failed; `str(err)` reads as Redshift's message
    ├── QueryCancelled      the statement was interrupted by `Connection.cancel`
    └── WarehouseUnavailable the engine could not be reached or opened
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class WarehouseError(Exception):
    """A statement failed. The message is Redshift's wording, without the `ERROR: ` prefix."""

    def __init__(self, message: str, *, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate


class QueryCancelled(WarehouseError):
    """The running statement was interrupted by a cancel request."""

    def __init__(self, message: str = "Query cancelled on user's request") -> None:
        super().__init__(message, sqlstate="57014")


class WarehouseUnavailable(WarehouseError):
    """The engine could not be opened or reached (bad path, server down, file locked)."""


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend can do; callers branch on these flags, never on the backend's name."""

    supports_cancel: bool
    supports_concurrent_connections: bool
    supports_transactional_ddl: bool


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a result set or a table, typed with Redshift's type names.

    `type_name` is what Redshift's Data API reports in ColumnMetadata.typeName: `int2`, `int4`,
    `int8`, `float4`, `float8`, `numeric`, `bool`, `char` (for `bpchar`), `varchar`, `date`,
    `time`, `timetz`, `timestamp`, `timestamptz`, `super`, `varbyte`.
    """

    name: str
    type_name: str
    nullable: bool = True
    precision: int = 0
    scale: int = 0
    length: int = 0
    schema_name: str = ""
    table_name: str = ""
    default: str | None = None


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one statement.

    `columns` is empty when the statement returns no rows (DDL, DML). `rows` hold Python values
    as the driver returns them (int, float, Decimal, str, bool, date, datetime, time, bytes,
    None); a backend may stream them from the engine, so they are read once, before the
    connection runs anything else, and an error in producing them (a WarehouseError) may come
    out of the reading. `row_count` is the number of rows affected by DML, or returned when the
    backend knows it before they are read, or -1.
    """

    columns: tuple[Column, ...] = ()
    rows: Iterable[tuple[object, ...]] = ()
    row_count: int = -1

    @property
    def has_result_set(self) -> bool:
        return bool(self.columns)


TABLE_TYPES = {"BASE TABLE": "TABLE", "VIEW": "VIEW", "LOCAL TEMPORARY": "LOCAL TEMPORARY"}
"""information_schema's table types, as ListTables names them."""


@dataclass(frozen=True, slots=True)
class Table:
    """A table or view in the catalog, as ListTables reports it."""

    schema: str
    name: str
    type: str  # "TABLE", "VIEW", "LOCAL TEMPORARY", ...


Parameters = Mapping[str, str | None]
"""Data API parameters: names without the colon, values as the strings the caller sent."""


@runtime_checkable
class Connection(Protocol):
    """One session with the engine. Used by one worker thread at a time, except `cancel`.

    Outside an explicit transaction each `execute` commits on its own (AUTO_COMMIT). Inside
    `begin` … `commit`/`rollback` statements share one transaction. Transaction statements in
    the SQL itself (BEGIN, COMMIT, END, ROLLBACK, ABORT) and TRUNCATE's implicit commit behave as
    on Redshift.
    """

    def execute(self, sql: str, parameters: Parameters | None = None) -> Result:
        """Run one Redshift statement (already split from its script)."""
        ...

    def begin(self) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    @property
    def in_transaction(self) -> bool: ...

    @property
    def backend_pid(self) -> int:
        """An id of this session on the engine, reported as RedshiftPid."""
        ...

    def cancel(self) -> None:
        """Interrupt the statement running on this connection; safe from any thread."""
        ...

    def reset_session(self) -> None:
        """Leave the connection as a new session finds it: no temporary objects, no session
        settings changed since connect (search_path...), no prepared statements.

        On Redshift each Data API call without a session is a session of its own, so nothing it
        creates or sets outlives it; a worker that reuses one connection for unrelated calls calls
        this between them, outside a transaction (roll back first).
        """
        ...

    def close(self) -> None: ...


@runtime_checkable
class Warehouse(Protocol):
    """A SQL engine holding one or more databases."""

    @property
    def name(self) -> str:
        """The backend's registry name: `duckdb`, `postgresql`."""
        ...

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def database(self) -> str:
        """The name of the database that connections open by default."""
        ...

    def connect(self) -> Connection:
        """Open a new session. Each Data API worker holds its own."""
        ...

    def list_databases(self) -> list[str]: ...

    def list_schemas(self, database: str) -> list[str]: ...

    def list_tables(self, database: str, schema: str | None = None) -> list[Table]:
        """Tables and views, ordered by schema then name."""
        ...

    def describe_table(self, database: str, schema: str, table: str) -> list[Column]:
        """Columns in ordinal order; empty when the table does not exist."""
        ...

    def close(self) -> None: ...

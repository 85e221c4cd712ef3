"""The durable record of Data API statements: tables `statements` and `sub_statements`.

They live in the project's control-plane database, `.redstep/store.sqlite` (SQLite in WAL mode),
which other layers share with tables of their own; this module creates its tables idempotently
and touches no others. Each call borrows a SQLite connection for its span (`SqliteConnections`),
so the service may be called from many threads at once.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from redstep.dataapi.statements import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    ExecutionMode,
    ResultFormat,
    StatementRecord,
    StatusString,
    SubStatementRecord,
    Target,
)
from redstep.sqlite_connections import SqliteConnections

STORE_FILE = "store.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS statements (
    id TEXT PRIMARY KEY,
    warehouse TEXT NOT NULL,
    database TEXT NOT NULL,
    cluster_identifier TEXT,
    workgroup_name TEXT,
    db_user TEXT,
    secret_arn TEXT,
    is_batch INTEGER NOT NULL,
    query_strings TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    parameters TEXT NOT NULL,
    statement_name TEXT,
    result_format TEXT NOT NULL,
    execution_mode TEXT,
    session_id TEXT,
    client_token TEXT,
    request_digest TEXT,
    error TEXT,
    duration_ns INTEGER NOT NULL,
    redshift_pid INTEGER NOT NULL,
    redshift_query_id INTEGER NOT NULL,
    has_result_set INTEGER NOT NULL,
    result_rows INTEGER NOT NULL,
    result_size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS statements_created_at ON statements (created_at);
CREATE INDEX IF NOT EXISTS statements_client_token ON statements (client_token);
CREATE INDEX IF NOT EXISTS statements_updated_at ON statements (updated_at);
CREATE TABLE IF NOT EXISTS sub_statements (
    statement_id TEXT NOT NULL REFERENCES statements (id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    query_string TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    duration_ns INTEGER NOT NULL,
    error TEXT,
    has_result_set INTEGER NOT NULL,
    result_rows INTEGER NOT NULL,
    result_size INTEGER NOT NULL,
    redshift_query_id INTEGER NOT NULL,
    PRIMARY KEY (statement_id, ordinal)
);
"""

_STATEMENT_COLUMNS = (
    "id, warehouse, database, cluster_identifier, workgroup_name, db_user, secret_arn, is_batch, "
    "query_strings, status, created_at, updated_at, parameters, statement_name, result_format, "
    "execution_mode, session_id, client_token, request_digest, error, duration_ns, redshift_pid, "
    "redshift_query_id, has_result_set, result_rows, result_size"
)
_SUB_COLUMNS = (
    "statement_id, ordinal, query_string, status, created_at, updated_at, duration_ns, error, "
    "has_result_set, result_rows, result_size, redshift_query_id"
)


@dataclass(frozen=True, slots=True)
class StatementFilter:
    """What ListStatements asks for; None means any."""

    statuses: frozenset[StatusString] | None = None
    name_prefix: str | None = None
    database: str | None = None
    cluster_identifier: str | None = None
    workgroup_name: str | None = None


class StatementStore:
    """Statements and their sub-statements in `store.sqlite`."""

    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / STORE_FILE
        self._connections = SqliteConnections(self.path, _set_up)
        with self._transaction() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connections.use() as db, db:
            yield db

    def insert(self, record: StatementRecord) -> None:
        """Record a newly submitted statement with its sub-statements."""
        with self._transaction() as db:
            db.execute(
                f"INSERT INTO statements ({_STATEMENT_COLUMNS}) VALUES ({_marks(26)})",
                _statement_row(record),
            )
            db.executemany(
                f"INSERT INTO sub_statements ({_SUB_COLUMNS}) VALUES ({_marks(12)})",
                [_sub_row(sub) for sub in record.sub_statements],
            )

    def save(self, record: StatementRecord) -> None:
        """Write the record's current state (status, timings, counts, sub-statements).

        Rows are updated in place: replacing the statement's row would delete it first, and the
        delete would cascade to its sub-statements.
        """
        with self._transaction() as db:
            db.execute(_upsert("statements", _STATEMENT_COLUMNS, "id"), _statement_row(record))
            db.executemany(
                _upsert("sub_statements", _SUB_COLUMNS, "statement_id, ordinal"),
                [_sub_row(sub) for sub in record.sub_statements],
            )

    def save_sub_statements(self, subs: Iterable[SubStatementRecord]) -> None:
        """Write some sub-statements' current state: a batch moving on to its next statement
        rewrites the rows of the one that ended and the one that starts, not every row."""
        with self._transaction() as db:
            db.executemany(
                _upsert("sub_statements", _SUB_COLUMNS, "statement_id, ordinal"),
                [_sub_row(sub) for sub in subs],
            )

    def purge(self, ended_before: datetime) -> list[StatementRecord]:
        """Delete the statements that ended before `ended_before` (with their sub-statements);
        return what was deleted."""
        condition = "status IN (?, ?, ?) AND updated_at < ?"
        values = [*sorted(TERMINAL_STATUSES), ended_before.isoformat()]
        with self._transaction() as db:
            rows = db.execute(
                f"SELECT {_STATEMENT_COLUMNS} FROM statements WHERE {condition}", values
            ).fetchall()
            purged = self._load(db, rows)
            db.execute(f"DELETE FROM statements WHERE {condition}", values)
        return purged

    def get(self, statement_id: str) -> StatementRecord | None:
        """The statement with this (parent) id, or None."""
        with self._connections.use() as db:
            row = db.execute(
                f"SELECT {_STATEMENT_COLUMNS} FROM statements WHERE id = ?", (statement_id,)
            ).fetchone()
            if row is None:
                return None
            return self._load(db, [row])[0]

    def find_by_client_token(self, client_token: str, since: datetime) -> StatementRecord | None:
        """The newest statement submitted with this ClientToken at or after `since`."""
        with self._connections.use() as db:
            row = db.execute(
                f"SELECT {_STATEMENT_COLUMNS} FROM statements WHERE client_token = ? "
                "AND created_at >= ? ORDER BY created_at DESC LIMIT 1",
                (client_token, since.isoformat()),
            ).fetchone()
            return None if row is None else self._load(db, [row])[0]

    def search(self, where: StatementFilter, offset: int, limit: int) -> list[StatementRecord]:
        """Statements matching `where`, newest first, `limit` of them from `offset`."""
        clauses: list[str] = []
        values: list[object] = []
        if where.statuses is not None:
            clauses.append(f"status IN ({_marks(len(where.statuses))})")
            values.extend(sorted(where.statuses))
        if where.name_prefix:
            clauses.append("substr(statement_name, 1, ?) = ?")
            values.extend([len(where.name_prefix), where.name_prefix])
        for column, value in (
            ("database", where.database),
            ("cluster_identifier", where.cluster_identifier),
            ("workgroup_name", where.workgroup_name),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                values.append(value)
        condition = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._connections.use() as db:
            rows = db.execute(
                f"SELECT {_STATEMENT_COLUMNS} FROM statements {condition} "
                "ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
                [*values, limit, offset],
            ).fetchall()
            return self._load(db, rows)

    def active(self) -> list[StatementRecord]:
        """Statements still SUBMITTED, PICKED or STARTED."""
        with self._connections.use() as db:
            rows = db.execute(
                f"SELECT {_STATEMENT_COLUMNS} FROM statements WHERE status IN (?, ?, ?)",
                sorted(ACTIVE_STATUSES),
            ).fetchall()
            return self._load(db, rows)

    def max_query_id(self) -> int:
        """The largest RedshiftQueryId handed out so far (0 when none)."""
        with self._connections.use() as db:
            row = db.execute(
                "SELECT max(q) FROM (SELECT max(redshift_query_id) AS q FROM statements "
                "UNION ALL SELECT max(redshift_query_id) FROM sub_statements)"
            ).fetchone()
        return int(row[0] or 0)

    def close(self) -> None:
        """Close every connection."""
        self._connections.close()

    def _load(
        self, db: sqlite3.Connection, rows: Sequence[Sequence[object]]
    ) -> list[StatementRecord]:
        records = [_statement_from_row(row) for row in rows]
        batch_ids = [record.id for record in records if record.is_batch]
        subs: dict[str, list[SubStatementRecord]] = {}
        if batch_ids:
            for sub_row in db.execute(
                f"SELECT {_SUB_COLUMNS} FROM sub_statements "
                f"WHERE statement_id IN ({_marks(len(batch_ids))}) ORDER BY ordinal",
                batch_ids,
            ):
                sub = _sub_from_row(sub_row)
                subs.setdefault(sub.statement_id, []).append(sub)
        return [
            _with_subs(record, tuple(subs.get(record.id, ()))) if record.is_batch else record
            for record in records
        ]


def _set_up(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA synchronous=NORMAL")


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def _upsert(table: str, columns: str, key: str) -> str:
    """INSERT of every column that, when the key exists, updates the row in place."""
    names = [name.strip() for name in columns.split(",")]
    keys = {name.strip() for name in key.split(",")}
    updates = ", ".join(f"{name} = excluded.{name}" for name in names if name not in keys)
    return (
        f"INSERT INTO {table} ({columns}) VALUES ({_marks(len(names))}) "
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )


def _statement_row(record: StatementRecord) -> tuple[object, ...]:
    target = record.target
    return (
        record.id,
        target.warehouse,
        target.database,
        target.cluster_identifier,
        target.workgroup_name,
        target.db_user,
        target.secret_arn,
        int(record.is_batch),
        json.dumps(list(record.query_strings)),
        str(record.status),
        record.created_at.isoformat(),
        record.updated_at.isoformat(),
        json.dumps([list(pair) for pair in record.parameters]),
        record.statement_name,
        str(record.result_format),
        None if record.execution_mode is None else str(record.execution_mode),
        record.session_id,
        record.client_token,
        record.request_digest,
        record.error,
        record.duration_ns,
        record.redshift_pid,
        record.redshift_query_id,
        int(record.has_result_set),
        record.result_rows,
        record.result_size,
    )


def _sub_row(sub: SubStatementRecord) -> tuple[object, ...]:
    return (
        sub.statement_id,
        sub.ordinal,
        sub.query_string,
        str(sub.status),
        sub.created_at.isoformat(),
        sub.updated_at.isoformat(),
        sub.duration_ns,
        sub.error,
        int(sub.has_result_set),
        sub.result_rows,
        sub.result_size,
        sub.redshift_query_id,
    )


def _statement_from_row(row: Sequence[object]) -> StatementRecord:
    (
        statement_id, warehouse, database, cluster_identifier, workgroup_name, db_user,
        secret_arn, is_batch, query_strings, status, created_at, updated_at, parameters,
        statement_name, result_format, execution_mode, session_id, client_token, request_digest,
        error, duration_ns, redshift_pid, redshift_query_id, has_result_set, result_rows,
        result_size,
    ) = row  # fmt: skip
    return StatementRecord(
        id=str(statement_id),
        target=Target(
            warehouse=str(warehouse),
            database=str(database),
            cluster_identifier=_optional(cluster_identifier),
            workgroup_name=_optional(workgroup_name),
            db_user=_optional(db_user),
            secret_arn=_optional(secret_arn),
        ),
        is_batch=bool(is_batch),
        query_strings=tuple(json.loads(str(query_strings))),
        status=StatusString(str(status)),
        created_at=datetime.fromisoformat(str(created_at)),
        updated_at=datetime.fromisoformat(str(updated_at)),
        parameters=tuple((str(name), str(value)) for name, value in json.loads(str(parameters))),
        statement_name=_optional(statement_name),
        result_format=ResultFormat(str(result_format)),
        execution_mode=None if execution_mode is None else ExecutionMode(str(execution_mode)),
        session_id=_optional(session_id),
        client_token=_optional(client_token),
        request_digest=_optional(request_digest),
        error=_optional(error),
        duration_ns=_int(duration_ns),
        redshift_pid=_int(redshift_pid),
        redshift_query_id=_int(redshift_query_id),
        has_result_set=bool(has_result_set),
        result_rows=_int(result_rows),
        result_size=_int(result_size),
    )


def _sub_from_row(row: Sequence[object]) -> SubStatementRecord:
    (
        statement_id, ordinal, query_string, status, created_at, updated_at, duration_ns, error,
        has_result_set, result_rows, result_size, redshift_query_id,
    ) = row  # fmt: skip
    return SubStatementRecord(
        statement_id=str(statement_id),
        ordinal=_int(ordinal),
        query_string=str(query_string),
        status=StatusString(str(status)),
        created_at=datetime.fromisoformat(str(created_at)),
        updated_at=datetime.fromisoformat(str(updated_at)),
        duration_ns=_int(duration_ns),
        error=_optional(error),
        has_result_set=bool(has_result_set),
        result_rows=_int(result_rows),
        result_size=_int(result_size),
        redshift_query_id=_int(redshift_query_id),
    )


def _with_subs(record: StatementRecord, subs: tuple[SubStatementRecord, ...]) -> StatementRecord:
    return replace(record, sub_statements=subs)


def _optional(value: object) -> str | None:
    return None if value is None else str(value)


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value

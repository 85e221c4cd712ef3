"""The map runs' half of the durable SQLite store: the `ExecutionStore` methods over the tables
`map_runs` (one row a map run) and `map_run_executions` (the link from each child execution to
its run, how many items it holds, and the run's attempt that last started or redrove it); the
child executions are rows of `executions` like any
other.

`SqliteExecutionStore` (`redstep.runtime.sqlite_store`) inherits these methods; the tables are
made with the others (`redstep.runtime.sqlite_database`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from redstep.engine.commands import ExecutionStatus
from redstep.runtime.sqlite_database import SqliteDatabase
from redstep.runtime.sqlite_rows import (
    EXECUTION_COLUMNS,
    MACHINE_COLUMNS,
    MAP_RUN_COLUMNS,
    columns_of,
    execution_from_row,
    execution_row,
    insert_signal,
    machine_row,
    map_run_from_row,
    map_run_row,
    marks,
    time_text,
)
from redstep.runtime.store import (
    REDRIVABLE_STATUSES,
    ExecutionRecord,
    MapRunChild,
    MapRunRecord,
    Page,
    SignalRecord,
    StateMachineRecord,
    StoreConflict,
)
from redstep.runtime.tokens import decode_token, encode_token


class SqliteMapRuns(SqliteDatabase):
    """The map-run methods of `SqliteExecutionStore`."""

    def put_map_run(self, record: MapRunRecord, child_machine: StateMachineRecord) -> None:
        """Insert the map run (StoreConflict on its ARN) and its children's revision if new."""
        with self._transaction() as db:
            try:
                db.execute(
                    f"INSERT INTO map_runs ({MAP_RUN_COLUMNS}) VALUES ({marks(15)})",
                    map_run_row(record),
                )
            except sqlite3.IntegrityError as error:
                raise StoreConflict(f"map run {record.arn} already exists") from error
            db.execute(
                f"INSERT OR IGNORE INTO state_machine_revisions ({MACHINE_COLUMNS}) "
                f"VALUES ({marks(10)})",
                machine_row(child_machine),
            )

    def get_map_run(self, arn: str) -> MapRunRecord | None:
        with self._connections.use() as db:
            row = db.execute(
                f"SELECT {MAP_RUN_COLUMNS} FROM map_runs WHERE arn = ?", (arn,)
            ).fetchone()
        return None if row is None else map_run_from_row(row)

    def update_map_run(self, record: MapRunRecord) -> None:
        """Replace the map run's fields (KeyError when its ARN is unknown)."""
        with self._transaction() as db:
            assignments = ", ".join(f"{c.strip()} = ?" for c in MAP_RUN_COLUMNS.split(","))
            cursor = db.execute(
                f"UPDATE map_runs SET {assignments} WHERE arn = ?",
                (*map_run_row(record), record.arn),
            )
            if cursor.rowcount != 1:
                raise KeyError(record.arn)

    def list_map_runs(self, execution_arn: str) -> list[MapRunRecord]:
        with self._connections.use() as db:
            rows = db.execute(
                f"SELECT {MAP_RUN_COLUMNS} FROM map_runs WHERE execution_arn = ? "
                "ORDER BY start_date, arn",
                (execution_arn,),
            )
            return [map_run_from_row(row) for row in rows]

    def put_map_run_child(
        self,
        map_run_arn: str,
        index: int,
        items: int,
        record: ExecutionRecord,
        start: SignalRecord,
        attempt: int = 0,
    ) -> None:
        """The child execution, its first signal and its link to the run, in one transaction."""
        row = execution_row(record)
        with self._transaction() as db:
            try:
                db.execute(
                    f"INSERT INTO executions ({EXECUTION_COLUMNS}) VALUES ({marks(len(row))})",
                    row,
                )
            except sqlite3.IntegrityError as error:
                raise StoreConflict(f"execution {record.arn} already exists") from error
            insert_signal(db, record.arn, start.kind, start.fields, start.at, is_processed=False)
            db.execute(
                "INSERT INTO map_run_executions "
                "(execution_arn, map_run_arn, child_index, items, attempt) VALUES (?, ?, ?, ?, ?)",
                (record.arn, map_run_arn, index, items, attempt),
            )

    def set_map_run_child_attempt(self, execution_arn: str, attempt: int) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE map_run_executions SET attempt = ? WHERE execution_arn = ?",
                (attempt, execution_arn),
            )

    def map_run_children(self, map_run_arn: str) -> list[MapRunChild]:
        with self._connections.use() as db:
            rows = db.execute(
                f"SELECT {_CHILD_COLUMNS} "
                "FROM map_run_executions AS c JOIN executions AS e ON e.arn = c.execution_arn "
                "WHERE c.map_run_arn = ? ORDER BY child_index",
                (map_run_arn,),
            )
            return [_child(row) for row in rows]

    def map_run_pending_redrive(self, map_run_arn: str, attempt: int) -> tuple[int, int]:
        unsuccessful = [str(status) for status in REDRIVABLE_STATUSES]
        with self._connections.use() as db:
            count, items = db.execute(
                "SELECT count(*), coalesce(sum(c.items), 0) FROM map_run_executions AS c "
                "JOIN executions AS e ON e.arn = c.execution_arn "
                f"WHERE c.map_run_arn = ? AND c.attempt < ? AND e.status IN ({marks(3)})",
                (map_run_arn, attempt, *unsuccessful),
            ).fetchone()
        return int(count), int(items)

    def map_run_counts(self, map_run_arn: str) -> dict[ExecutionStatus, tuple[int, int]]:
        with self._connections.use() as db:
            rows = db.execute(
                "SELECT e.status, count(*), sum(c.items) FROM map_run_executions AS c "
                "JOIN executions AS e ON e.arn = c.execution_arn "
                "WHERE c.map_run_arn = ? GROUP BY e.status",
                (map_run_arn,),
            )
            return {ExecutionStatus(status): (count, items) for status, count, items in rows}

    def list_map_run_executions(
        self,
        map_run_arn: str,
        status: ExecutionStatus | None,
        limit: int,
        next_token: str | None,
        redriven: bool | None = None,
    ) -> Page:
        """Newest first, paged as `list_executions` pages (the token is the last item's key)."""
        clauses = ["c.map_run_arn = ?"]
        values: list[object] = [map_run_arn]
        if status is not None:
            clauses.append("e.status = ?")
            values.append(str(status))
        if redriven is not None:
            clauses.append("e.redrive_count > 0" if redriven else "e.redrive_count = 0")
        if next_token is not None:
            clauses.append("(e.start_date, e.arn) < (?, ?)")
            values.extend(decode_token(next_token, "map-run-executions", 2))
        with self._connections.use() as db:
            rows = db.execute(
                f"SELECT {_CHILD_COLUMNS} "
                "FROM map_run_executions AS c JOIN executions AS e ON e.arn = c.execution_arn "
                f"WHERE {' AND '.join(clauses)} ORDER BY e.start_date DESC, e.arn DESC LIMIT ?",
                [*values, limit + 1 if limit > 0 else -1],
            )
            items = [_child(row) for row in rows]
        if limit < 1 or len(items) <= limit:
            return Page(items=items, next_token=None)
        last = items[limit - 1].execution
        return Page(
            items=items[:limit],
            next_token=encode_token("map-run-executions", [time_text(last.start_date), last.arn]),
        )

    def map_run_of(self, execution_arn: str) -> str | None:
        with self._connections.use() as db:
            row = db.execute(
                "SELECT map_run_arn FROM map_run_executions WHERE execution_arn = ?",
                (execution_arn,),
            ).fetchone()
        return None if row is None else str(row[0])


#: A child's link and its execution, as `_child` reads them.
_CHILD_COLUMNS = f"child_index, items, attempt, {columns_of('e', EXECUTION_COLUMNS)}"


def _child(row: Sequence[Any]) -> MapRunChild:
    return MapRunChild(row[0], row[1], execution_from_row(row[3:]), row[2])

"""The durable store's records as rows of its SQLite tables: the column lists, the conversions
both ways, and the writes that more than one of the store's operations make (a signal; an
activation's events, timers and completion).

Times are stored as ISO-8601 text in UTC with microseconds, so that text order is time order for
the columns listings sort on; they read back as timezone-aware datetimes equal to those written.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from redstep.asl.paths import to_json
from redstep.engine.commands import ExecutionStatus
from redstep.runtime.store import (
    Completion,
    ExecutionRecord,
    MapRunRecord,
    MapRunStatus,
    StateMachineRecord,
    StoreConflict,
    TimerRecord,
)

#: The columns of `state_machines` and `state_machine_revisions`, in the rows' order.
MACHINE_COLUMNS = (
    "arn, name, definition, role_arn, type, creation_date, revision_id, update_date, "
    "description, tags"
)
#: The columns of `executions` a record is made of (`redrive_tokens` is read on its own).
EXECUTION_COLUMNS = (
    "arn, state_machine_arn, revision_id, name, input, status, start_date, stop_date, output, "
    "error, cause, redrive_count, redrive_date"
)
#: The columns of `map_runs`.
MAP_RUN_COLUMNS = (
    "arn, execution_arn, state_machine_arn, status, start_date, max_concurrency, "
    "tolerated_failure_count, tolerated_failure_percentage, stop_date, item_total, child_total, "
    "results_written, answer, redrive_count, redrive_date"
)
_INSERT_EVENT = (
    "INSERT INTO history_events (execution_arn, id, previous_event_id, type, timestamp, details) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
#: The members of an event kept in columns; every other member goes to the JSON `details`.
_EVENT_COLUMNS = frozenset({"id", "previousEventId", "type", "timestamp"})

_decode = json.loads


# -- rows ------------------------------------------------------------------------------------------
def marks(count: int) -> str:
    """`count` parameter marks: `?, ?, ?`."""
    return ", ".join("?" * count)


def time_text(moment: datetime) -> str:
    """ISO-8601 in UTC with microseconds always written, so that text order is time order."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError(f"a naive datetime cannot be stored: {moment!r}")
    if offset:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


def optional_time_text(moment: datetime | None) -> str | None:
    """`time_text`, or None for no time."""
    return None if moment is None else time_text(moment)


def read_optional_time(text: str | None) -> datetime | None:
    """The time `time_text` wrote, or None."""
    return None if text is None else datetime.fromisoformat(text)


def machine_row(record: StateMachineRecord) -> tuple[object, ...]:
    """The record as a row of `state_machines` or `state_machine_revisions`."""
    return (
        record.arn,
        record.name,
        record.definition,
        record.role_arn,
        record.type,
        time_text(record.creation_date),
        record.revision_id,
        optional_time_text(record.update_date),
        record.description,
        to_json(record.tags),
    )


def machine_from_row(row: Sequence[Any]) -> StateMachineRecord:
    """A row of `MACHINE_COLUMNS` as its record."""
    arn, name, definition, role_arn, kind, created, revision_id, updated, description, tags = row
    return StateMachineRecord(
        arn=arn,
        name=name,
        definition=definition,
        role_arn=role_arn,
        type=kind,
        creation_date=datetime.fromisoformat(created),
        revision_id=revision_id,
        update_date=read_optional_time(updated),
        description=description,
        tags=_decode(tags),
    )


def execution_row(record: ExecutionRecord) -> tuple[object, ...]:
    """The record as a row of `executions` (`EXECUTION_COLUMNS`)."""
    return (
        record.arn,
        record.state_machine_arn,
        record.revision_id,
        record.name,
        record.input,
        str(record.status),
        time_text(record.start_date),
        optional_time_text(record.stop_date),
        record.output,
        record.error,
        record.cause,
        record.redrive_count,
        optional_time_text(record.redrive_date),
    )


def execution_from_row(row: Sequence[Any]) -> ExecutionRecord:
    """A row of `EXECUTION_COLUMNS` (and any more columns after them) as its record."""
    return ExecutionRecord(
        arn=row[0],
        state_machine_arn=row[1],
        revision_id=row[2],
        name=row[3],
        input=row[4],
        status=ExecutionStatus(row[5]),
        start_date=datetime.fromisoformat(row[6]),
        stop_date=read_optional_time(row[7]),
        output=row[8],
        error=row[9],
        cause=row[10],
        redrive_count=row[11],
        redrive_date=read_optional_time(row[12]),
    )


def columns_of(table: str, columns: str) -> str:
    """`a, b` as `t.a, t.b`, for a join."""
    return ", ".join(f"{table}.{column.strip()}" for column in columns.split(","))


def map_run_row(record: MapRunRecord) -> tuple[object, ...]:
    """The record as a row of `map_runs` (`MAP_RUN_COLUMNS`)."""
    return (
        record.arn,
        record.execution_arn,
        record.state_machine_arn,
        str(record.status),
        time_text(record.start_date),
        record.max_concurrency,
        record.tolerated_failure_count,
        record.tolerated_failure_percentage,
        optional_time_text(record.stop_date),
        record.item_total,
        record.child_total,
        record.results_written,
        record.answer,
        record.redrive_count,
        optional_time_text(record.redrive_date),
    )


def map_run_from_row(row: Sequence[Any]) -> MapRunRecord:
    """A row of `MAP_RUN_COLUMNS` as its record."""
    return MapRunRecord(
        arn=row[0],
        execution_arn=row[1],
        state_machine_arn=row[2],
        status=MapRunStatus(row[3]),
        start_date=datetime.fromisoformat(row[4]),
        max_concurrency=row[5],
        tolerated_failure_count=row[6],
        tolerated_failure_percentage=row[7],
        stop_date=read_optional_time(row[8]),
        item_total=row[9],
        child_total=row[10],
        results_written=row[11],
        answer=row[12],
        redrive_count=row[13],
        redrive_date=read_optional_time(row[14]),
    )


def events_from_rows(rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """History events from their rows; an activation's events mostly share a timestamp, so each
    distinct one is parsed once."""
    moments: dict[str, datetime] = {}
    events: list[dict[str, Any]] = []
    for event_id, previous_id, event_type, timestamp, details in rows:
        moment = moments.get(timestamp)
        if moment is None:
            moment = moments[timestamp] = datetime.fromisoformat(timestamp)
        event: dict[str, Any] = {
            "timestamp": moment,
            "type": event_type,
            "id": event_id,
            "previousEventId": previous_id,
        }
        if details is not None:
            event.update(_decode(details))
        events.append(event)
    return events


# -- writes ----------------------------------------------------------------------------------------
def require_execution(db: sqlite3.Connection, execution_arn: str) -> None:
    """KeyError unless the execution exists."""
    if db.execute("SELECT 1 FROM executions WHERE arn = ?", (execution_arn,)).fetchone() is None:
        raise KeyError(execution_arn)


def insert_signal(
    db: sqlite3.Connection,
    execution_arn: str,
    kind: str,
    fields: dict[str, Any],
    at: datetime,
    *,
    is_processed: bool,
) -> int:
    """Append a signal to the execution's journal; its sequence number."""
    cursor = db.execute(
        "INSERT INTO execution_signals (execution_arn, kind, fields, at, is_processed) "
        "VALUES (?, ?, ?, ?, ?)",
        (execution_arn, kind, to_json(fields), time_text(at), int(is_processed)),
    )
    seq = cursor.lastrowid
    assert seq is not None
    return seq


def write_activation(
    db: sqlite3.Connection,
    execution_arn: str,
    events: Sequence[dict[str, Any]],
    new_timers: Sequence[TimerRecord],
    cleared_timers: Sequence[int],
    completion: Completion | None,
) -> None:
    """Everything of `commit` but the signal, inside the caller's transaction; StoreConflict
    when an event id is in the history already or a new timer's id is pending."""
    try:
        _write_rows(db, execution_arn, events, new_timers, cleared_timers, completion)
    except sqlite3.IntegrityError as error:
        raise StoreConflict(f"{execution_arn}: {error}") from error


def _write_rows(
    db: sqlite3.Connection,
    execution_arn: str,
    events: Sequence[dict[str, Any]],
    new_timers: Sequence[TimerRecord],
    cleared_timers: Sequence[int],
    completion: Completion | None,
) -> None:
    # The rows are built inline, not by a helper per event: at thousands of events per
    # activation the function calls would be a measurable share of the commit. An activation's
    # events mostly share one timestamp, so each distinct one is formatted once.
    stamps = {moment: time_text(moment) for moment in {event["timestamp"] for event in events}}
    db.executemany(
        _INSERT_EVENT,
        [
            (
                execution_arn,
                event["id"],
                event["previousEventId"],
                event["type"],
                stamps[event["timestamp"]],
                to_json(rest)
                if (rest := {k: v for k, v in event.items() if k not in _EVENT_COLUMNS})
                else None,
            )
            for event in events
        ],
    )
    if cleared_timers:
        db.executemany(
            "DELETE FROM execution_timers WHERE execution_arn = ? AND timer_id = ?",
            [(execution_arn, timer_id) for timer_id in cleared_timers],
        )
    if new_timers:
        db.executemany(
            "INSERT INTO execution_timers (execution_arn, timer_id, due) VALUES (?, ?, ?)",
            [(timer.execution_arn, timer.timer_id, time_text(timer.due)) for timer in new_timers],
        )
    if completion is not None:
        db.execute(
            "UPDATE executions SET status = ?, stop_date = ?, output = ?, error = ?, cause = ? "
            "WHERE arn = ?",
            (
                str(completion.status),
                time_text(completion.stop_date),
                completion.output,
                completion.error,
                completion.cause,
                execution_arn,
            ),
        )
        db.execute("DELETE FROM execution_timers WHERE execution_arn = ?", (execution_arn,))

"""The statement store: a status change updates rows in place."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from redstep.dataapi.statements import StatementRecord, StatusString, SubStatementRecord, Target
from redstep.dataapi.store import StatementStore

STATEMENT_ID = "11111111-2222-4333-8444-555555555555"


def test_saving_a_status_change_deletes_no_rows(tmp_path: Path) -> None:
    store = StatementStore(tmp_path)
    when = datetime(2024, 1, 2, tzinfo=UTC)
    record = StatementRecord(
        id=STATEMENT_ID,
        target=Target(warehouse="default", database="dev"),
        is_batch=True,
        query_strings=("select 1", "select 2"),
        status=StatusString.SUBMITTED,
        created_at=when,
        updated_at=when,
        sub_statements=(
            SubStatementRecord(STATEMENT_ID, 1, "select 1", StatusString.SUBMITTED, when, when),
            SubStatementRecord(STATEMENT_ID, 2, "select 2", StatusString.SUBMITTED, when, when),
        ),
    )
    store.insert(record)
    with sqlite3.connect(store.path) as db:
        db.executescript(
            "CREATE TABLE deleted (what TEXT);"
            "CREATE TRIGGER statement_deleted AFTER DELETE ON statements "
            "BEGIN INSERT INTO deleted VALUES ('statement'); END;"
            "CREATE TRIGGER sub_deleted AFTER DELETE ON sub_statements "
            "BEGIN INSERT INTO deleted VALUES ('sub-statement'); END;"
        )
    first = replace(record.sub_statements[0], status=StatusString.FINISHED)
    store.save(
        replace(
            record, status=StatusString.STARTED, sub_statements=(first, record.sub_statements[1])
        )
    )
    with sqlite3.connect(store.path) as db:
        deleted = db.execute("SELECT what FROM deleted").fetchall()
    saved = store.get(STATEMENT_ID)
    store.close()
    assert deleted == []
    assert saved is not None
    assert saved.status is StatusString.STARTED
    assert [sub.status for sub in saved.sub_statements] == [
        StatusString.FINISHED,
        StatusString.SUBMITTED,
    ]

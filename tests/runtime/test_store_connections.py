"""The SQLite stores, called from many short-lived threads, keep a bounded number of files open.

Every task of an execution reports from a thread of its own (and submits its SQL through the Data
API from it); a store that kept a connection for each such thread until it closed leaked file
descriptors run after run until the process could open no more.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from redstep.dataapi.statements import StatementRecord, StatusString, Target
from redstep.dataapi.store import StatementStore
from redstep.engine.commands import ExecutionStatus
from redstep.runtime.sqlite_store import SqliteExecutionStore
from redstep.runtime.store import ExecutionRecord, SignalRecord

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:orders:first"
THREADS = 50
#: The database, its WAL and shared memory, for one connection and the checkpointer's, with room.
MOST_OPEN_FILES = 8


def files_open_on(path: Path) -> int:
    """How many of this process's file descriptors are on the database or its WAL/shm files."""
    folder = Path("/proc/self/fd")
    if not folder.is_dir():
        pytest.skip("counting open files needs /proc/self/fd (Linux)")
    count = 0
    for entry in os.listdir(folder):
        try:
            target = os.readlink(folder / entry)
        except OSError:  # closed since it was listed
            continue
        count += target.startswith(str(path))
    return count


def one_thread_after_another(work: Callable[[], object]) -> None:
    """Run `work` on THREADS short-lived threads, each started after the last one ended."""
    for _ in range(THREADS):
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()


def test_execution_store_threads_leave_no_connection_open(tmp_path: Path) -> None:
    store = SqliteExecutionStore(tmp_path)
    try:
        store.put_execution(
            ExecutionRecord(
                arn=EXECUTION,
                state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:orders",
                revision_id="r1",
                name="first",
                input="{}",
                status=ExecutionStatus.RUNNING,
                start_date=T0,
            ),
            SignalRecord(0, "Start", {}, T0, False),
        )
        one_thread_after_another(lambda: store.add_signal(EXECUTION, "TaskStarted", {}, T0))
        assert len(store.signals(EXECUTION)) == THREADS + 1
        assert files_open_on(store.path) <= MOST_OPEN_FILES
    finally:
        store.close()
    assert files_open_on(store.path) == 0


def test_statement_store_threads_leave_no_connection_open(tmp_path: Path) -> None:
    store = StatementStore(tmp_path)

    def submit() -> None:
        statement_id = str(uuid.uuid4())
        store.insert(
            StatementRecord(
                id=statement_id,
                target=Target(warehouse="default", database="dev"),
                is_batch=False,
                query_strings=("select 1",),
                status=StatusString.SUBMITTED,
                created_at=T0,
                updated_at=T0,
            )
        )
        assert store.get(statement_id) is not None

    try:
        one_thread_after_another(submit)
        assert len(store.active()) == THREADS
        assert files_open_on(store.path) <= MOST_OPEN_FILES
    finally:
        store.close()
    assert files_open_on(store.path) == 0

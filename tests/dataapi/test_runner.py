"""How statements end when something goes wrong around them: errors that are not SQL errors, lost
connections, and cancels that land before the SQL reached the engine."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

import pytest

from redstep.dataapi.service import DataApiService
from redstep.dataapi.statements import StatementRecord, StatusString
from redstep.project import Project

Run = Callable[..., dict[str, Any]]


def test_an_error_writing_results_fails_the_batch_and_ends_its_transaction(
    make_service: Callable[..., DataApiService],
    project: Project,
    wait_for: Run,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = make_service(pool_size=1)

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(service.results, "write", full_disk)
    batch = service.batch_execute_statement({"Sqls": ["create table lost (a int)", "select 1"]})
    described = wait_for(service, batch["Id"], timeout=10)
    assert described["Status"] == "FAILED"
    assert described["Error"].startswith("ERROR: ")
    assert "No space left on device" in described["Error"]
    assert [sub["Status"] for sub in described["SubStatements"]] == ["FINISHED", "FAILED"]
    monkeypatch.undo()
    # The one worker goes on; what it runs next commits, outside the failed batch's transaction.
    made = service.execute_statement({"Sql": "create table kept (a int)", "WaitTimeSeconds": 10})
    assert made["Status"] == "FINISHED"
    service.close()
    with DataApiService(project) as fresh:
        tables = fresh.list_tables({"Database": "dev", "SchemaPattern": "public"})["Tables"]
    assert [table["name"] for table in tables] == ["kept"]


def test_a_failure_outside_the_sql_still_ends_the_statement(
    fake_service: Callable[..., DataApiService],
    fake_warehouse: Any,
    wait_for: Run,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = fake_service(pool_size=1)
    save = service.store.save

    def locked_when_picked(record: StatementRecord) -> None:
        if record.status is StatusString.PICKED:
            raise sqlite3.OperationalError("database is locked")
        save(record)

    monkeypatch.setattr(service.store, "save", locked_when_picked)
    submitted = service.execute_statement({"Sql": "select 1"})
    described = wait_for(service, submitted["Id"], timeout=10)
    assert described["Status"] == "FAILED"
    assert described["Error"] == "ERROR: internal error: database is locked"
    assert service.live.count() == 0
    monkeypatch.undo()
    after = service.execute_statement({"Sql": "select 1", "WaitTimeSeconds": 10})
    assert after["Status"] == "FINISHED"
    first, second = fake_warehouse.connections
    assert first.is_closed  # its state unknown, the worker replaced it
    assert after["RedshiftPid"] == second.number


def test_a_lost_connection_is_replaced(
    fake_service: Callable[..., DataApiService], fake_warehouse: Any
) -> None:
    service = fake_service(pool_size=1)
    lost = service.execute_statement({"Sql": fake_warehouse.LOSE_CONNECTION, "WaitTimeSeconds": 10})
    assert lost["Status"] == "FAILED"
    described = service.describe_statement({"Id": lost["Id"]})
    assert described["Error"] == "ERROR: server closed the connection unexpectedly"
    after = service.execute_statement({"Sql": "select 1", "WaitTimeSeconds": 10})
    assert after["Status"] == "FINISHED"
    assert [connection.is_closed for connection in fake_warehouse.connections] == [True, False]
    assert after["RedshiftPid"] == 2


def test_cancel_returns_at_once_even_when_the_engine_is_slow_to_stop(
    fake_service: Callable[..., DataApiService], fake_warehouse: Any
) -> None:
    service = fake_service(pool_size=1)
    fake_warehouse.is_cancel_honoured = False  # the engine stops only when the gate opens
    statement_id = service.execute_statement({"Sql": fake_warehouse.BLOCK})["Id"]
    assert fake_warehouse.blocked.acquire(timeout=10)
    began = time.monotonic()
    assert service.cancel_statement({"Id": statement_id}) == {"Status": True}
    assert time.monotonic() - began < 1
    assert service.describe_statement({"Id": statement_id})["Status"] == "STARTED"
    fake_warehouse.open_gate()
    described = service.describe_statement({"Id": statement_id, "WaitTimeSeconds": 5})
    assert described["Status"] == "ABORTED"


def test_a_cancel_between_parts_is_not_lost(
    fake_service: Callable[..., DataApiService], fake_warehouse: Any
) -> None:
    service = fake_service(pool_size=1)
    blocker = service.execute_statement({"Sql": fake_warehouse.BLOCK})["Id"]
    assert fake_warehouse.blocked.acquire(timeout=10)
    two_parts = service.execute_statement({"Sql": "select 1; select 2"})["Id"]
    ran: list[str] = []

    def cancel_after_the_first_part(sql: str) -> None:
        ran.append(sql)
        if sql == "select 1":  # the interrupt finds nothing running on the engine
            service.cancel_statement({"Id": two_parts})

    fake_warehouse.after_execute = cancel_after_the_first_part
    fake_warehouse.open_gate()
    described = service.describe_statement({"Id": two_parts, "WaitTimeSeconds": 5})
    assert described["Status"] == "ABORTED"
    assert described["Error"].endswith("cancelled on user's request")
    assert ran == ["select 1"]
    assert service.describe_statement({"Id": blocker})["Status"] == "FINISHED"

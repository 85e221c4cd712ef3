"""Sessions: SessionKeepAliveSeconds keeps one connection; SessionId reuses it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from redstep.dataapi.errors import ResourceNotFoundException, ValidationException
from redstep.dataapi.service import DataApiService
from redstep.dataapi.sessions import Sessions
from redstep.dataapi.statements import SessionStatus, Target
from redstep.dataapi.workers import Warehouses
from redstep.warehouse.registry import WarehouseOptions

Run = Callable[..., dict[str, Any]]


def test_temp_table_lives_across_statements_of_a_session(service: DataApiService) -> None:
    opened = service.execute_statement(
        {"Sql": "create temp table scratch (a int)", "SessionKeepAliveSeconds": 600,
         "WaitTimeSeconds": 10}
    )  # fmt: skip
    assert opened["Status"] == "FINISHED"
    session_id = opened["SessionId"]
    filled = service.execute_statement(
        {"Sql": "insert into scratch values (7)", "SessionId": session_id, "WaitTimeSeconds": 10}
    )
    assert filled["Status"] == "FINISHED"
    assert filled["SessionId"] == session_id
    read = service.batch_execute_statement(
        {"Sqls": ["select a from scratch"], "SessionId": session_id, "WaitTimeSeconds": 10}
    )
    assert read["Status"] == "FINISHED"
    assert service.get_statement_result({"Id": f"{read['Id']}:1"})["Records"] == [
        [{"longValue": 7}]
    ]
    described = service.describe_statement({"Id": read["Id"]})
    assert described["SessionId"] == session_id
    elsewhere = service.execute_statement({"Sql": "select * from scratch", "WaitTimeSeconds": 10})
    assert elsewhere["Status"] == "FAILED"
    sessions = service.list_sessions({})["Sessions"]
    assert [(s["SessionId"], s["Status"]) for s in sessions] == [(session_id, "AVAILABLE")]
    assert sessions[0]["SessionAliveSeconds"] == 600


def test_session_expires_after_its_keep_alive(
    make_service: Callable[..., DataApiService], clock: Any
) -> None:
    service = make_service(now=clock)
    opened = service.execute_statement(
        {"Sql": "select 1", "SessionKeepAliveSeconds": 60, "WaitTimeSeconds": 10}
    )
    session_id = opened["SessionId"]
    clock.advance(seconds=61)
    with pytest.raises(ValidationException) as raised:
        service.execute_statement({"Sql": "select 1", "SessionId": session_id})
    assert raised.value.message == "Session is not available"
    assert service.list_sessions({"SessionId": session_id})["Sessions"][0]["Status"] == "CLOSED"
    assert service.list_sessions({})["Sessions"] == []


def test_unknown_and_busy_sessions(service: DataApiService, wait_for: Run) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(ValidationException) as raised:
        service.execute_statement({"Sql": "select 1", "SessionId": unknown})
    assert raised.value.message == f"Session with Id: {unknown} is invalid"
    with pytest.raises(ResourceNotFoundException):
        service.list_sessions({"SessionId": unknown})
    busy = service.execute_statement(
        {"Sql": "select count(*) from range(10000000000) a", "SessionKeepAliveSeconds": 60}
    )
    with pytest.raises(ValidationException, match="is busy"):
        service.execute_statement({"Sql": "select 1", "SessionId": busy["SessionId"]})
    listed = service.list_sessions({"Status": "BUSY"})["Sessions"]
    assert listed[0]["CurrentStatementId"] == busy["Id"]
    service.cancel_statement({"Id": busy["Id"]})
    assert wait_for(service, busy["Id"])["Status"] == "ABORTED"
    again = service.execute_statement(
        {"Sql": "select 1", "SessionId": busy["SessionId"], "WaitTimeSeconds": 10}
    )
    assert again["Status"] == "FINISHED"
    with pytest.raises(ValidationException, match="SessionId can't be specified"):
        service.execute_statement(
            {"Sql": "select 1", "SessionId": busy["SessionId"], "ClusterIdentifier": "c1"}
        )


def test_only_the_statement_a_session_runs_releases_it(tmp_path: Path) -> None:
    sessions = Sessions(Warehouses({}, WarehouseOptions(root=tmp_path)))
    now = datetime(2024, 1, 2, tzinfo=UTC)
    sessions.open("s1", "a", Target(warehouse="default", database="dev"), 60, now)
    try:
        sessions.release("s1", "a", now)  # a was cancelled while queued
        sessions.claim("s1", "b", now)
        sessions.release("s1", "a", now)  # a's job comes up after b claimed the session
        session = sessions.get("s1")
        assert (session.status, session.current_statement_id) == (SessionStatus.BUSY, "b")
        sessions.release("s1", "b", now)
        session = sessions.get("s1")
        assert (session.status, session.current_statement_id) == (SessionStatus.AVAILABLE, None)
    finally:
        sessions.close(now)

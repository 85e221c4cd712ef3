"""Durability: statements and results survive a restart; interrupted ones read FAILED."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from redstep.dataapi.runner import INTERRUPTED_ERROR
from redstep.dataapi.service import DataApiService
from redstep.dataapi.statements import StatementRecord, StatusString, SubStatementRecord, Target
from redstep.dataapi.store import StatementStore
from redstep.project import Project, ProjectInUse


def test_restart_keeps_statements_and_results(
    project: Project, run: Callable[..., dict[str, Any]]
) -> None:
    with DataApiService(project) as first:
        finished = run(first, "select 42 as answer")
        failed = run(first, "select 1/0")
        batch = first.batch_execute_statement(
            {"Sqls": ["select 1", "select 2"], "WaitTimeSeconds": 10}
        )
    with DataApiService(project) as second:
        assert second.describe_statement({"Id": finished["Id"]})["Status"] == "FINISHED"
        result = second.get_statement_result({"Id": finished["Id"]})
        assert result["Records"] == [[{"longValue": 42}]]
        assert second.describe_statement({"Id": failed["Id"]})["Error"] == "ERROR: division by zero"
        assert second.get_statement_result({"Id": f"{batch['Id']}:2"})["Records"] == [
            [{"longValue": 2}]
        ]
        later = run(second, "select 1")
        assert later["RedshiftQueryId"] > finished["RedshiftQueryId"]


def test_statement_running_when_redstep_died_reads_failed(project: Project) -> None:
    store = StatementStore(project.state_dir)
    when = datetime(2024, 1, 2, tzinfo=UTC)
    statement_id = "11111111-2222-4333-8444-555555555555"
    store.insert(
        StatementRecord(
            id=statement_id,
            target=Target(warehouse="default", database="dev"),
            is_batch=True,
            query_strings=("select 1", "select 2"),
            status=StatusString.STARTED,
            created_at=when,
            updated_at=when,
            sub_statements=(
                SubStatementRecord(statement_id, 1, "select 1", StatusString.FINISHED, when, when),
                SubStatementRecord(statement_id, 2, "select 2", StatusString.STARTED, when, when),
            ),
        )
    )
    store.close()
    with DataApiService(project) as service:
        described = service.describe_statement({"Id": statement_id})
        assert described["Status"] == "FAILED"
        assert described["Error"] == (
            "ERROR: statement interrupted: redstep stopped while it was running"
        )
        assert [sub["Status"] for sub in described["SubStatements"]] == ["FINISHED", "FAILED"]
        listed = service.list_statements({"Status": "FAILED"})["Statements"]
        assert [statement["Id"] for statement in listed] == [statement_id]


def test_a_second_service_on_a_project_in_use_is_refused(project: Project) -> None:
    with DataApiService(project) as first:
        with pytest.raises(
            ProjectInUse, match=rf"in use by another redstep process \(PID {os.getpid()}\)"
        ):
            DataApiService(project)
        assert first.execute_statement({"Sql": "select 1", "WaitTimeSeconds": 10})["Status"] == (
            "FINISHED"
        )
    with DataApiService(project) as second:
        assert second.execute_statement({"Sql": "select 1", "WaitTimeSeconds": 10})["Status"] == (
            "FINISHED"
        )


def test_what_a_crashed_process_was_running_reads_failed(
    project: Project, wait_until: Callable[..., None]
) -> None:
    crashed = DataApiService(project)
    running = crashed.execute_statement({"Sql": "select count(*) from range(10000000000) a"})
    wait_until(lambda: crashed.describe_statement({"Id": running["Id"]})["Status"] == "STARTED")
    crashed._ownership.release()  # the process dies: its claim on the state goes with it
    try:
        with DataApiService(project) as restarted:
            described = restarted.describe_statement({"Id": running["Id"]})
        assert described["Status"] == "FAILED"
        assert described["Error"] == INTERRUPTED_ERROR
    finally:
        crashed.close()

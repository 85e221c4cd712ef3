"""ListStatements: newest first, filters, name prefix, pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from redstep.dataapi.service import DataApiService


def test_list_statements(make_service: Callable[..., DataApiService], clock: Any) -> None:
    service = make_service(now=clock)
    ids = []
    for name in ("load-1", "load-2", "other"):
        clock.advance(seconds=1)
        ids.append(
            service.execute_statement(
                {"Sql": "select 1", "StatementName": name, "WaitTimeSeconds": 10,
                 "ClusterIdentifier": "c1", "Database": "dev"}
            )["Id"]
        )  # fmt: skip
    clock.advance(seconds=1)
    failed = service.execute_statement({"Sql": "select 1/0", "WaitTimeSeconds": 10})["Id"]
    clock.advance(seconds=1)
    batch = service.batch_execute_statement(
        {"Sqls": ["select 1", "select 2"], "WaitTimeSeconds": 10}
    )
    finished = service.list_statements({})["Statements"]
    assert [s["Id"] for s in finished] == [batch["Id"], *reversed(ids)]
    assert finished[0]["IsBatchStatement"] is True
    assert finished[0]["QueryStrings"] == ["select 1", "select 2"]
    assert finished[1]["QueryString"] == "select 1"
    assert finished[1]["StatementName"] == "other"
    everything = service.list_statements({"Status": "ALL"})["Statements"]
    assert {s["Id"] for s in everything} == {*ids, failed, batch["Id"]}
    assert [s["Id"] for s in service.list_statements({"Status": "FAILED"})["Statements"]] == [
        failed
    ]
    named = service.list_statements({"StatementName": "load"})["Statements"]
    assert [s["Id"] for s in named] == [ids[1], ids[0]]
    assert service.list_statements({"StatementName": "Load"})["Statements"] == []
    on_cluster = service.list_statements({"ClusterIdentifier": "c1", "Status": "ALL"})
    assert len(on_cluster["Statements"]) == 3
    first = service.list_statements({"Status": "ALL", "MaxResults": 2})
    second = service.list_statements(
        {"Status": "ALL", "MaxResults": 2, "NextToken": first["NextToken"]}
    )
    third = service.list_statements(
        {"Status": "ALL", "MaxResults": 2, "NextToken": second["NextToken"]}
    )
    paged = [s["Id"] for page in (first, second, third) for s in page["Statements"]]
    assert paged == [s["Id"] for s in everything]
    assert "NextToken" not in third

"""Limits and bad input, answered with AWS's error names and wording."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from redstep.dataapi.errors import (
    ActiveStatementsExceededException,
    ResourceNotFoundException,
    ValidationException,
)
from redstep.dataapi.service import DataApiService

ID_PATTERN = r"[a-z0-9]{8}(-[a-z0-9]{4}){3}-[a-z0-9]{12}(:\d{0,2})?"


@pytest.mark.parametrize(
    ("operation", "request_", "message"),
    [
        (
            "DescribeStatement",
            {"Id": "not-an-id"},
            f"id must satisfy regex pattern: ^{ID_PATTERN}$",
        ),
        ("GetStatementResult", {"Id": "ABC"}, f"id must satisfy regex pattern: ^{ID_PATTERN}$"),
        ("CancelStatement", {}, "id must not be null"),
        ("ExecuteStatement", {}, "sql must not be null"),
        ("ExecuteStatement", {"Sql": 1}, "sql must be a string"),
        (
            "ExecuteStatement",
            {"Sql": "select 1", "WaitTimeSeconds": 31},
            "waitTimeSeconds must be less than or equal to 30",
        ),
        (
            "DescribeStatement",
            {"Id": "00000000-0000-4000-8000-000000000000", "WaitTimeSeconds": 0},
            "waitTimeSeconds must be greater than or equal to 1",
        ),
        (
            "BatchExecuteStatement",
            {"Sqls": ["select 1"] * 41},
            "sqls must have length less than or equal to 40",
        ),
        ("BatchExecuteStatement", {"Sqls": []}, "sqls must have length greater than or equal to 1"),
        (
            "ExecuteStatement",
            {"Sql": "select 1", "Parameters": [{"name": "bad-name", "value": "1"}]},
            "parameters[0].name must satisfy regex pattern: ^[0-9a-zA-Z_]+$",
        ),
        (
            "ExecuteStatement",
            {"Sql": "select 1", "Parameters": [{"name": "x", "value": ""}]},
            "parameters[0].value must have length greater than or equal to 1",
        ),
        (
            "ExecuteStatement",
            {"Sql": "select 1", "ResultFormat": "XML"},
            "resultFormat must satisfy enum value set: [JSON, CSV]",
        ),
        (
            "ExecuteStatement",
            {"Sql": "select 1", "ClusterIdentifier": "Bad_Cluster"},
            "clusterIdentifier must satisfy regex pattern: ^[a-z][a-z0-9]*(-[a-z0-9]+)*$",
        ),
        (
            "ExecuteStatement",
            {"Sql": "select 1", "SessionKeepAliveSeconds": 86401},
            "sessionKeepAliveSeconds must be less than or equal to 86400",
        ),
        (
            "ListStatements",
            {"MaxResults": 101},
            "maxResults must be less than or equal to 100",
        ),
        (
            "ExecuteStatement",
            {"Sql": "select 1", "ClusterIdentifier": "c1", "WorkgroupName": "wg1"},
            "ClusterIdentifier and WorkgroupName can't both be specified; provide only one.",
        ),
        (
            "ExecuteStatement",
            {"Sql": "x" * (100 * 1024 + 1)},
            "Cannot process query string larger than 100kB",
        ),
        (
            "BatchExecuteStatement",
            {"Sqls": ["select 1", "x" * (100 * 1024 + 1)]},
            "Cannot process query string larger than 100kB",
        ),
    ],
)
def test_bad_input(
    service: DataApiService, operation: str, request_: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationException) as raised:
        service.handle(operation, request_)
    assert raised.value.code == "ValidationException"
    assert raised.value.message == message
    assert raised.value.members() == {"Message": message}


def test_unknown_id_is_resource_not_found(service: DataApiService) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    for operation in ("DescribeStatement", "GetStatementResult", "GetStatementResultV2"):
        with pytest.raises(ResourceNotFoundException) as raised:
            service.handle(operation, {"Id": unknown})
        assert raised.value.code == "ResourceNotFoundException"
        assert raised.value.members() == {"Message": "Query does not exist.", "ResourceId": unknown}


def test_exactly_forty_sqls_and_100_kb_are_accepted(service: DataApiService) -> None:
    batch = service.batch_execute_statement({"Sqls": ["select 1"] * 40, "WaitTimeSeconds": 20})
    assert batch["Status"] == "FINISHED"
    padding = " " * (100 * 1024 - len("select 1"))
    single = service.execute_statement({"Sql": "select 1" + padding, "WaitTimeSeconds": 10})
    assert single["Status"] == "FINISHED"


def test_active_statements_quota(
    make_service: Callable[..., DataApiService], wait_for: Callable[..., dict[str, Any]]
) -> None:
    service = make_service(max_active_statements=2, pool_size=2)
    long_query = "select count(*) from range(10000000000) a"
    first = service.execute_statement({"Sql": long_query})["Id"]
    second = service.execute_statement({"Sql": long_query})["Id"]
    with pytest.raises(ActiveStatementsExceededException) as raised:
        service.execute_statement({"Sql": "select 1"})
    assert raised.value.code == "ActiveStatementsExceededException"
    assert raised.value.message == "The number of active statements exceeds the limit."
    for statement_id in (first, second):
        service.cancel_statement({"Id": statement_id})
        assert wait_for(service, statement_id)["Status"] == "ABORTED"
    assert service.execute_statement({"Sql": "select 1", "WaitTimeSeconds": 10})["Status"] == (
        "FINISHED"
    )


def test_two_hundred_active_statements_and_no_more(
    make_service: Callable[..., DataApiService],
) -> None:
    service = make_service(pool_size=1)  # one runs, the rest wait their turn: all are active
    long_query = "select count(*) from range(10000000000) a"
    for _ in range(200):
        service.execute_statement({"Sql": long_query})
    with pytest.raises(ActiveStatementsExceededException):
        service.execute_statement({"Sql": "select 1"})
    service.close()  # aborts all 200 (the queued ones without running them)

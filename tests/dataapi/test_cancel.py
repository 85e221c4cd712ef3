"""CancelStatement: a long query is really interrupted and reads ABORTED."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from redstep.dataapi.errors import ResourceNotFoundException, ValidationException
from redstep.dataapi.runner import INTERRUPTED_ERROR
from redstep.dataapi.service import DataApiService

LONG_QUERY = "select count(*) from range(10000000000) a"


def test_cancel_interrupts_a_long_query(
    service: DataApiService,
    wait_for: Callable[..., dict[str, Any]],
    wait_until: Callable[..., None],
) -> None:
    submitted = service.execute_statement({"Sql": LONG_QUERY})
    statement_id = submitted["Id"]
    wait_until(lambda: service.describe_statement({"Id": statement_id})["Status"] == "STARTED")
    assert service.cancel_statement({"Id": statement_id}) == {"Status": True}
    began = time.monotonic()
    described = service.describe_statement({"Id": statement_id, "WaitTimeSeconds": 5})
    assert described["Status"] == "ABORTED"
    assert time.monotonic() - began < 5
    assert described["Error"].endswith("cancelled on user's request")
    with pytest.raises(ValidationException) as raised:
        service.cancel_statement({"Id": statement_id})
    assert raised.value.message == (
        f"Could not cancel a query that is already in ABORTED state with ID: {statement_id}"
    )
    after = service.execute_statement({"Sql": "select 1", "WaitTimeSeconds": 10})
    assert after["Status"] == "FINISHED"


def test_cancel_right_after_submitting(service: DataApiService) -> None:
    # Whatever the statement is doing when the cancel lands (queued, being picked, starting, on
    # the engine), it ends ABORTED at once.
    for _ in range(10):
        statement_id = service.execute_statement({"Sql": LONG_QUERY})["Id"]
        assert service.cancel_statement({"Id": statement_id}) == {"Status": True}
        described = service.describe_statement({"Id": statement_id, "WaitTimeSeconds": 5})
        assert described["Status"] == "ABORTED"


def test_cancel_a_queued_statement(
    make_service: Callable[..., DataApiService],
    wait_for: Callable[..., dict[str, Any]],
    wait_until: Callable[..., None],
) -> None:
    service = make_service(pool_size=1)
    running = service.execute_statement({"Sql": LONG_QUERY})["Id"]
    queued = service.execute_statement({"Sql": "select 1"})["Id"]
    wait_until(lambda: service.describe_statement({"Id": running})["Status"] == "STARTED")
    assert service.describe_statement({"Id": queued})["Status"] == "SUBMITTED"
    assert service.cancel_statement({"Id": queued}) == {"Status": True}
    assert service.describe_statement({"Id": queued})["Status"] == "ABORTED"
    service.cancel_statement({"Id": running})
    assert wait_for(service, running)["Status"] == "ABORTED"


def test_cancel_finished_and_unknown(service: DataApiService) -> None:
    finished = service.execute_statement({"Sql": "select 1", "WaitTimeSeconds": 10})["Id"]
    with pytest.raises(ValidationException, match="already in FINISHED state"):
        service.cancel_statement({"Id": finished})
    unknown = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(ResourceNotFoundException) as raised:
        service.cancel_statement({"Id": unknown})
    assert raised.value.members() == {"Message": "Query does not exist.", "ResourceId": unknown}


def test_close_interrupts_what_still_runs_as_a_crash_would(
    make_service: Callable[..., DataApiService], project: Any
) -> None:
    service = make_service(pool_size=1)  # the batch waits behind the long query
    running = service.execute_statement({"Sql": LONG_QUERY})["Id"]
    queued = service.batch_execute_statement({"Sqls": ["select 1", "select 2"]})["Id"]
    service.close()
    with DataApiService(project) as again:
        for statement_id in (running, queued):
            described = again.describe_statement({"Id": statement_id})
            assert (described["Status"], described["Error"]) == ("FAILED", INTERRUPTED_ERROR)

"""A call without a session is a session of its own, as on Redshift: what it creates or sets
(a temporary table, a search_path, a prepared statement) is gone when it ends, though the pool's
worker keeps its connection; a batch, or a Sql of several statements, is one call; a session
(SessionKeepAliveSeconds, SessionId) keeps all of it across its calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from redstep.dataapi.service import DataApiService
from redstep.project import DEFAULT_WAREHOUSE
from redstep.warehouse.base import WarehouseError

Run = Callable[..., dict[str, Any]]

# (statement making a temporary table, the table's name), in each of Redshift's spellings.
TEMPORARY_TABLES = [
    ("create temp table scratch (a int)", "scratch"),
    ("create temporary table scratch as select 1 as a", "scratch"),
    ("create table #scratch (a int)", "scratch"),
    ("create table #scratch (id bigint identity(1, 1), a int)", "scratch"),
    ("select 1 as a into #scratch", "scratch"),
    ("select 1 as a into temp table scratch", "scratch"),
]


def execute(service: DataApiService, sql: str, **request: Any) -> dict[str, Any]:
    """ExecuteStatement, waiting for the end; DescribeStatement's answer."""
    submitted = service.execute_statement({"Sql": sql, "WaitTimeSeconds": 10, **request})
    assert submitted["Status"] in ("FINISHED", "FAILED"), submitted
    return dict(service.describe_statement({"Id": submitted["Id"]}))


def records(service: DataApiService, statement_id: str) -> list[list[Any]]:
    return list(service.get_statement_result({"Id": statement_id})["Records"])


@pytest.mark.parametrize(("create", "name"), TEMPORARY_TABLES)
def test_a_call_does_not_see_the_temporary_table_of_an_earlier_one(
    make_backend_service: Callable[..., DataApiService], create: str, name: str
) -> None:
    service = make_backend_service(pool_size=1)  # one worker, one connection: every call on it
    assert execute(service, create)["Status"] == "FINISHED"
    later = execute(service, f"select * from {name}")
    assert later["Status"] == "FAILED"
    assert f'relation "{name}" does not exist' in later["Error"]
    again = execute(service, create)
    assert again["Status"] == "FINISHED", again.get("Error")


def test_calls_on_a_full_pool_never_collide(
    make_backend_service: Callable[..., DataApiService],
) -> None:
    service = make_backend_service(pool_size=3)
    created = [execute(service, "create temp table leak_t (a int)") for _ in range(12)]
    assert [(c["Status"], c.get("Error")) for c in created] == [("FINISHED", None)] * 12
    read = [execute(service, "select * from leak_t")["Status"] for _ in range(6)]
    assert read == ["FAILED"] * 6


def test_temporary_views_go_with_their_call(
    make_backend_service: Callable[..., DataApiService],
) -> None:
    service = make_backend_service(pool_size=1)
    assert execute(service, "create temp view answer as select 42 as a")["Status"] == "FINISHED"
    assert execute(service, "select * from answer")["Status"] == "FAILED"


def test_a_call_sees_its_own_temporary_table_across_its_statements(
    make_backend_service: Callable[..., DataApiService],
) -> None:
    service = make_backend_service(pool_size=1)
    script = execute(
        service,
        "create table #scratch (a int); insert into #scratch values (5); select a from #scratch",
    )
    assert script["Status"] == "FINISHED", script.get("Error")
    assert records(service, script["Id"]) == [[{"longValue": 5}]]
    for mode in ("TRANSACTION", "AUTO_COMMIT"):
        batch = service.batch_execute_statement(
            {
                "Sqls": [
                    "create temp table scratch (a int)",
                    "insert into scratch values (6)",
                    "select a from scratch",
                ],
                "ExecutionMode": mode,
                "WaitTimeSeconds": 10,
            }
        )
        assert batch["Status"] == "FINISHED", service.describe_statement({"Id": batch["Id"]})
        assert records(service, f"{batch['Id']}:3") == [[{"longValue": 6}]]
    assert execute(service, "select * from scratch")["Status"] == "FAILED"


def test_a_session_keeps_its_temporary_tables_across_its_calls(
    make_backend_service: Callable[..., DataApiService],
) -> None:
    service = make_backend_service(pool_size=1)
    opened = execute(service, "create table #scratch (a int)", SessionKeepAliveSeconds=600)
    assert opened["Status"] == "FINISHED"
    session = {"SessionId": opened["SessionId"]}
    assert execute(service, "insert into #scratch values (7)", **session)["Status"] == "FINISHED"
    # Calls outside the session, on the pool, neither see its table nor disturb it.
    assert execute(service, "select * from scratch")["Status"] == "FAILED"
    assert execute(service, "create temp table scratch (b int)")["Status"] == "FINISHED"
    read = execute(service, "select a from #scratch", **session)
    assert read["Status"] == "FINISHED", read.get("Error")
    assert records(service, read["Id"]) == [[{"longValue": 7}]]


def test_a_transaction_a_call_leaves_open_is_rolled_back_when_it_ends(
    make_backend_service: Callable[..., DataApiService],
) -> None:
    service = make_backend_service(pool_size=1)
    assert execute(service, "begin")["Status"] == "FINISHED"
    # Were the transaction still open, this would run in it and stay invisible to others.
    assert execute(service, "create table kept (a int)")["Status"] == "FINISHED"
    assert execute(service, "insert into kept values (1)")["Status"] == "FINISHED"
    other = service.warehouses.get(DEFAULT_WAREHOUSE).connect()
    try:
        assert list(other.execute("select a from kept").rows) == [(1,)]
    finally:
        other.close()


@pytest.fixture
def s1_service(make_backend_service: Callable[..., DataApiService]) -> DataApiService:
    """A one-worker service on a warehouse with schema s1 holding a table `only_in_s1`, which
    the default search_path cannot see."""
    service = make_backend_service(pool_size=1)
    for sql in ("create schema s1", "create table s1.only_in_s1 (a int)"):
        assert execute(service, sql)["Status"] == "FINISHED"
    return service


def test_a_call_does_not_run_under_the_search_path_of_an_earlier_one(
    s1_service: DataApiService,
) -> None:
    service = s1_service
    assert execute(service, "set search_path to s1")["Status"] == "FINISHED"
    later = execute(service, "select count(*) from only_in_s1")
    assert later["Status"] == "FAILED"
    assert 'relation "only_in_s1" does not exist' in later["Error"]


@pytest.mark.parametrize("warehouse_url", ["postgres"], indirect=True)
def test_a_call_does_not_inherit_a_set_config_on_postgres(s1_service: DataApiService) -> None:
    service = s1_service
    set_config = execute(service, "select set_config('search_path', 's1', false)")
    assert set_config["Status"] == "FINISHED"
    assert execute(service, "select count(*) from only_in_s1")["Status"] == "FAILED"


def test_a_call_does_not_see_the_prepared_statement_of_an_earlier_one(
    make_backend_service: Callable[..., DataApiService],
) -> None:
    service = make_backend_service(pool_size=1)
    assert execute(service, "prepare pp as select 42")["Status"] == "FINISHED"
    assert execute(service, "execute pp")["Status"] == "FAILED"
    assert execute(service, "prepare pp as select 43")["Status"] == "FINISHED"


def test_a_session_keeps_its_settings_and_prepared_statements_across_its_calls(
    s1_service: DataApiService,
) -> None:
    service = s1_service
    opened = execute(service, "set search_path to s1", SessionKeepAliveSeconds=600)
    assert opened["Status"] == "FINISHED"
    session = {"SessionId": opened["SessionId"]}
    assert execute(service, "prepare pp as select 42", **session)["Status"] == "FINISHED"
    # Calls on the pool between them change nothing in the session.
    assert execute(service, "set search_path to public")["Status"] == "FINISHED"
    assert execute(service, "execute pp")["Status"] == "FAILED"
    counted = execute(service, "select count(*) from only_in_s1", **session)
    assert counted["Status"] == "FINISHED", counted.get("Error")
    prepared = execute(service, "execute pp", **session)
    assert prepared["Status"] == "FINISHED", prepared.get("Error")
    assert records(service, prepared["Id"]) == [[{"longValue": 42}]]


# -- the worker, on a fake warehouse ----------------------------------------------------------


def test_the_pool_resets_after_every_call_and_a_session_never(
    fake_service: Callable[..., DataApiService], fake_warehouse: Any, wait_until: Any
) -> None:
    service = fake_service(pool_size=1)
    opened = execute(service, "select 1", SessionKeepAliveSeconds=600)
    execute(service, "select 2", SessionId=opened["SessionId"])
    execute(service, "select 3")
    execute(service, "select 4")
    session_connection, pool_connection = fake_warehouse.connections
    wait_until(lambda: pool_connection.resets == 2)
    assert session_connection.resets == 0


def test_a_failed_reset_keeps_the_result_and_replaces_the_connection(
    fake_service: Callable[..., DataApiService], fake_warehouse: Any, wait_until: Any
) -> None:
    service = fake_service(pool_size=1)
    fake_warehouse.reset_error = WarehouseError("cannot reset the session")
    first = execute(service, "select 1")
    assert first["Status"] == "FINISHED"
    assert records(service, first["Id"]) == [[{"longValue": 1}]]
    wait_until(lambda: fake_warehouse.connections[0].is_closed)
    fake_warehouse.reset_error = None
    second = execute(service, "select 1")
    assert second["Status"] == "FINISHED"
    assert second["RedshiftPid"] == 2

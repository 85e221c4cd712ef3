"""The sales pipeline survives a stop in the middle of its fact load, to the very same rows.

A child process opens the project's services and starts `sales_data_pipeline`; the test watches
the Data API's statement records in the project's `.redstep/store.sqlite` (read-only) and stops
the child once the fact load's statement is running on the warehouse: with SIGKILL (nothing
runs; opening the services again marks the statement FAILED, "statement interrupted") or with
SIGTERM (the services close, and record it so). Opening the services again, in the test,
resumes the execution from its history: its DescribeStatement task runs again, sees the
interruption, and the workflow's Choice resubmits the (idempotent) fact load. The execution must
succeed and leave every table exactly as an uninterrupted run of the same generated data does in
another copy.

The data is generated (`redstep example generate`) at a scale where the fact load takes about a
second, so the kill lands while it runs on any machine: a slower one only widens the window.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from click.testing import CliRunner

from redstep.api.local_endpoint import open_services
from redstep.cli.example import example
from redstep.cli.init import create_project
from redstep.project import load_project

MACHINE = "sales_data_pipeline"
RUN_INPUT = '{"run_date": "2003-01-02"}'
FACT_LOAD = "load_fact_store_sales.sql"
"""The StatementName the workflow gives the fact load's batch."""
SCALES = {"duckdb": "4", "postgres": "0.15"}
"""Millions of sales per backend, for a fact load of about a second (measured on 2 cores:
DuckDB loads ~4 million rows a second here, PostgreSQL ~150,000)."""
TABLES = (
    "customer",
    "customer_address",
    "date_dim",
    "item",
    "store_sales",
    "stg_customer_address",
    "stg_item",
    "stg_store_sales",
)
RUN_SECONDS = 300.0
"""Generous: a run takes a few seconds, but the machine may be busy."""
WATCH_SECONDS = 120.0
POLL_SECONDS = 0.005

CHILD = """
import signal, sys, time
from redstep.api.local_endpoint import open_services
from redstep.project import load_project

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a clean stop, as redstep serve's
with open_services(load_project(sys.argv[1])) as services:
    arn = services.engine.region.state_machine_arn(sys.argv[2])
    started = services.engine.start_execution({"stateMachineArn": arn, "input": sys.argv[3]})
    print(started["executionArn"], flush=True)
    time.sleep(3600)  # until the test stops this process
"""
STOPS = {
    signal.SIGKILL: "STARTED",  # nothing recorded how it ended: the next start marks it
    signal.SIGTERM: "FAILED",  # the services' close interrupted it, as a crash would
}
"""How each way of stopping redstep leaves the fact load's statement, seen from outside."""


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse_urls(request: pytest.FixtureRequest) -> Iterator[tuple[str | None, str | None]]:
    """Two empty warehouses of one backend (None: the example's own DuckDB file)."""
    if request.param == "duckdb":
        yield None, None
        return
    import psycopg

    first = str(request.getfixturevalue("postgres_url"))
    parts = urlsplit(first)
    name = f"redstep_test_{uuid.uuid4().hex[:12]}"
    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield first, urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def generate(project: Path, scale: str) -> None:
    result = CliRunner().invoke(
        example, ["generate", "--project", str(project), "--scale", scale, "--seed", "3"]
    )
    assert result.exit_code == 0, result.output


def fact_loads(store: Path) -> list[tuple[str, str, str | None]]:
    """The fact load's statements so far, oldest first: (id, status, error)."""
    if not store.exists():
        return []
    connection = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=10)
    try:
        return connection.execute(
            "SELECT id, status, error FROM statements WHERE statement_name = ? ORDER BY created_at",
            (FACT_LOAD,),
        ).fetchall()
    except sqlite3.OperationalError:  # the child has not created the table yet
        return []
    finally:
        connection.close()


def statement_names(store: Path) -> dict[str, int]:
    """How many statements the Data API ran under each StatementName."""
    connection = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=10)
    try:
        rows = connection.execute(
            "SELECT statement_name, count(*) FROM statements WHERE statement_name IS NOT NULL"
            " GROUP BY statement_name"
        ).fetchall()
    finally:
        connection.close()
    return dict(rows)


def wait_until_fact_load_runs(store: Path, child: subprocess.Popen[str], log: Path) -> str:
    """The id of the fact load's statement, once it is on the warehouse (STARTED)."""
    deadline = time.monotonic() + WATCH_SECONDS
    while time.monotonic() < deadline:
        for statement_id, status, error in fact_loads(store):
            if status == "STARTED":
                return statement_id
            if status not in ("SUBMITTED", "PICKED"):
                pytest.fail(f"the fact load went {status} ({error}) before the test saw it run")
        if child.poll() is not None:
            pytest.fail(f"the child ended first: {log.read_text(encoding='utf-8')}")
        time.sleep(POLL_SECONDS)
    pytest.fail(f"the fact load did not start within {WATCH_SECONDS} s")


def run_to_the_end(project: Path) -> dict[str, Any]:
    with open_services(load_project(project)) as services:
        arn = services.engine.region.state_machine_arn(MACHINE)
        started = services.engine.start_execution({"stateMachineArn": arn, "input": RUN_INPUT})
        described: dict[str, Any] = services.engine.wait(started["executionArn"], RUN_SECONDS)
    return described


def digests(project: Path, warehouse_url: str | None) -> dict[str, tuple[int, str]]:
    """Each table's row count and an order-independent digest of all its rows.

    Read straight from the engine, with the project's services closed (a DuckDB file takes one
    process): the sum of a 64-bit hash of each whole row.
    """
    result: dict[str, tuple[int, str]] = {}
    if warehouse_url is None:
        import duckdb

        with duckdb.connect(str(project / ".redstep" / "warehouse.duckdb"), read_only=True) as db:
            for table in TABLES:
                row = db.execute(f"SELECT count(*), sum(hash(t)) FROM public.{table} t").fetchone()
                assert row is not None
                result[table] = (row[0], str(row[1]))
        return result
    import psycopg

    with psycopg.connect(warehouse_url) as db:
        for table in TABLES:
            row = db.execute(
                f"SELECT count(*), sum(hashtextextended(t::text, 0)) FROM public.{table} t"
            ).fetchone()
            assert row is not None
            result[table] = (row[0], str(row[1]))
    return result


@pytest.mark.timeout(900)
@pytest.mark.parametrize("stop", list(STOPS), ids=lambda stop: stop.name)
def test_a_stop_during_the_fact_load_resumes_to_the_same_rows(
    tmp_path: Path, warehouse_urls: tuple[str | None, str | None], stop: signal.Signals
) -> None:
    interrupted_url, baseline_url = warehouse_urls
    scale = SCALES["duckdb" if interrupted_url is None else "postgres"]
    interrupted = create_project(
        tmp_path / "interrupted", example="sales", warehouse_url=interrupted_url
    )
    baseline = create_project(tmp_path / "baseline", example="sales", warehouse_url=baseline_url)
    generate(interrupted, scale)
    generate(baseline, scale)

    assert run_to_the_end(baseline)["status"] == "SUCCEEDED"

    log = tmp_path / "child.log"  # a file, not a pipe: a full pipe would stall the child
    with log.open("w", encoding="utf-8") as errors:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(interrupted), MACHINE, RUN_INPUT],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            cwd=tmp_path,
        )
    try:
        assert child.stdout is not None
        execution_arn = child.stdout.readline().strip()
        assert execution_arn, log.read_text(encoding="utf-8")
        store = interrupted / ".redstep" / "store.sqlite"
        killed_statement = wait_until_fact_load_runs(store, child, log)
        os.kill(child.pid, stop)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == (-signal.SIGKILL if stop == signal.SIGKILL else 0)
    ((statement_id, status, _),) = fact_loads(store)
    assert (statement_id, status) == (killed_statement, STOPS[stop]), (
        "the fact load ended before the stop landed: raise SCALES"
    )

    with open_services(load_project(interrupted)) as services:  # resumes the execution
        described = services.engine.wait(execution_arn, RUN_SECONDS)

    assert described["status"] == "SUCCEEDED", described
    loads = fact_loads(store)
    assert [status for _, status, _ in loads] == ["FAILED", "FINISHED"]  # resubmitted once
    assert "statement interrupted" in (loads[0][2] or "")
    assert statement_names(store) == {
        "setup.sql": 1,
        "load_dim_customer_address.sql": 1,
        "load_dim_item.sql": 1,
        FACT_LOAD: 2,
        "validate.sql": 1,
    }  # nothing before the fact load ran again
    assert json.loads(described["output"])["load_fact_store_sales"]["Status"] == "FINISHED"

    assert digests(interrupted, interrupted_url) == digests(baseline, baseline_url)

"""Benchmark: the sales data pipeline through redstep, step by step, beside the same SQL run bare.

For each scale (millions of staging sales, made by `redstep example generate`), on a fresh copy
of examples/sales_data_pipeline:

- redstep: `sales_data_pipeline` runs through redstep's Python API (the project's services, as
  `redstep run` opens them). Each step's time comes from the execution's history: from entering
  the task that submits the script to leaving the DescribeStatement task that saw it FINISHED,
  so it holds the Data API submission, the workers, the dialect translation, the polling and
  the state transitions. The dimension loads run in parallel and count as one step (wall time).
- bare: the same statements on the warehouse's own driver (duckdb / psycopg), as redstep's
  translator (`redstep.warehouse.dialect`) rewrites them (translated before the clock starts),
  each script in one transaction on a connection opened in its step's time (and the database
  opened in setup's, as redstep does both), the two dimension loads on two threads, over a copy
  of the same generated data.

The difference is redstep's orchestration overhead. Every repetition starts from a copy of the
data as generated (a DuckDB file copy, or a PostgreSQL database cloned from a template), and
the figures are medians over the repetitions.

    .venv/bin/python bench/pipeline.py --scale 1
    .venv/bin/python bench/pipeline.py --warehouse postgres --scale 1 --json

Not a test: it prints figures, and with --json one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from machine import describe_machine, machine_line

from redstep.api.local_endpoint import open_services
from redstep.cli.example import Generation, generate_workload
from redstep.cli.init import create_project
from redstep.project import load_project
from redstep.warehouse.dialect import StatementKind, Target, session_setup, split_script, translate
from redstep.wire import paginate

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sales_data_pipeline"
"""Where the bare runs read the scripts from (the copies hold the same files)."""
MACHINE = "sales_data_pipeline"
WAREHOUSE_FILE = Path(".redstep") / "warehouse.duckdb"
RUN_DATE = date(2003, 1, 2)
SEED = 0
DEFAULT_SCALES = (1.0, 10.0)
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
RUN_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the pipeline: the task states that submit its scripts, and the scripts."""

    name: str
    states: tuple[str, ...]
    """Each submitting state is followed by `Describe<state>`, polled until FINISHED."""
    scripts: tuple[str, ...]
    """Run one per thread, side by side, when there are several."""


STEPS = (
    Step("setup", ("Setup",), ("sql/setup.sql",)),
    Step(
        "dimension loads",
        ("LoadCustomerAddress", "LoadItem"),
        ("sql/load_dim_customer_address.sql", "sql/load_dim_item.sql"),
    ),
    Step("fact load", ("LoadStoreSales",), ("sql/load_fact_store_sales.sql",)),
    Step("validate", ("Validate",), ("sql/validate.sql",)),
)


# -- warehouses: where the data is generated once and copied for every repetition -------------


class Warehouse(Protocol):
    """A backend for the benchmark: its projects, and bare sessions on its driver."""

    target: Target

    def template(self, folder: Path) -> Path:
        """A copy of the example whose warehouse is the one data is generated into."""
        ...

    def copy(self, template: Path, folder: Path) -> Path:
        """A fresh copy of the example over a copy of the template's data."""
        ...

    def session(self, project: Path) -> Session:
        """A bare session (the driver's own connection) on a project's warehouse."""
        ...

    def discard(self, project: Path) -> None:
        """Drop a copy's data."""
        ...

    def describe(self) -> str: ...


class Session(Protocol):
    """Opens driver connections to one warehouse, each set up as redstep sets up its own."""

    def connect(self) -> Any: ...

    def close(self) -> None: ...


class DuckDBWarehouse:
    target = Target.DUCKDB

    def template(self, folder: Path) -> Path:
        return create_project(folder, example="sales")

    def copy(self, template: Path, folder: Path) -> Path:
        project = create_project(folder, example="sales")
        (project / WAREHOUSE_FILE).parent.mkdir()
        source = template / WAREHOUSE_FILE
        shutil.copyfile(source, project / WAREHOUSE_FILE)
        wal = source.with_name(source.name + ".wal")  # DuckDB checkpoints on close, but if not
        if wal.exists():
            shutil.copyfile(wal, project / WAREHOUSE_FILE.with_name(wal.name))
        return project

    def session(self, project: Path) -> Session:
        return DuckDBSession(project / WAREHOUSE_FILE)

    def discard(self, project: Path) -> None:
        shutil.rmtree(project, ignore_errors=True)

    def describe(self) -> str:
        import duckdb

        return f"DuckDB {duckdb.__version__}"


class DuckDBSession:
    """A connection set up as redstep's DuckDB backend sets up its own: the file attached as
    `dev`, the `public` schema in use, the dialect's session settings."""

    def __init__(self, path: Path) -> None:
        import duckdb

        self._database = duckdb.connect(":memory:")
        quoted = str(path).replace("'", "''")
        self._database.execute(f"ATTACH '{quoted}' AS dev")
        self._lock = threading.Lock()

    def connect(self) -> Any:
        with self._lock:
            cursor = self._database.cursor()
        cursor.execute("USE dev.public")
        for statement in session_setup(Target.DUCKDB):
            cursor.execute(statement)
        return cursor

    def close(self) -> None:
        self._database.close()


class PostgresWarehouse:
    target = Target.POSTGRES

    def __init__(self, server_url: str) -> None:
        self._server_url = server_url
        self._databases: dict[Path, str] = {}

    def _url(self, database: str) -> str:
        return urlunsplit(urlsplit(self._server_url)._replace(path=f"/{database}"))

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self._server_url, autocommit=True) as admin:
            admin.execute(sql.encode())

    def template(self, folder: Path) -> Path:
        name = f"redstep_bench_{uuid.uuid4().hex[:12]}"
        self._admin(f'CREATE DATABASE "{name}"')
        self._databases[folder] = name
        return create_project(folder, example="sales", warehouse_url=self._url(name))

    def copy(self, template: Path, folder: Path) -> Path:
        name = f"redstep_bench_{uuid.uuid4().hex[:12]}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self._databases[template]}"')
        self._databases[folder] = name
        return create_project(folder, example="sales", warehouse_url=self._url(name))

    def session(self, project: Path) -> Session:
        return PostgresSession(self._url(self._databases[project]))

    def discard(self, project: Path) -> None:
        name = self._databases.pop(project, None)
        if name is not None:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(project, ignore_errors=True)

    def describe(self) -> str:
        import psycopg

        with psycopg.connect(self._server_url) as connection:
            row = connection.execute("SHOW server_version").fetchone()
        return f"PostgreSQL {row[0] if row else '?'} (psycopg {psycopg.__version__})"


class PostgresSession:
    """Opens connections set up as redstep's PostgreSQL backend sets up its own."""

    def __init__(self, url: str) -> None:
        self._url = url

    def connect(self) -> Any:
        import psycopg

        connection = psycopg.connect(self._url, autocommit=True, prepare_threshold=None)
        for statement in session_setup(Target.POSTGRES):
            connection.execute(statement.encode())
        return connection

    def close(self) -> None:
        pass


# -- bare: the translated statements on the driver ---------------------------------------------


@dataclass(frozen=True, slots=True)
class Prepared:
    """A script, translated for the target before the clock starts."""

    statements: tuple[tuple[str, Mapping[str, str]], ...]


def prepare(script: Path, target: Target, run_date: date) -> Prepared:
    statements: list[tuple[str, Mapping[str, str]]] = []
    for source in split_script(script.read_text(encoding="utf-8")):
        translation = translate(source, target)
        if translation.kind is StatementKind.IGNORED:
            continue
        assert translation.kind is StatementKind.QUERY, (script, translation.kind)
        values = {name: run_date.isoformat() for name in translation.parameter_names}
        statements.extend((sql, values) for sql in translation.statements)
    return Prepared(tuple(statements))


def run_bare(connection: Any, target: Target, prepared: Prepared) -> None:
    """One script in one transaction, as a TRANSACTION-mode batch runs it; results fetched."""
    if target is Target.DUCKDB:
        connection.execute("BEGIN TRANSACTION")
        for sql, values in prepared.statements:
            connection.execute(sql, dict(values))
            if connection.description is not None:
                connection.fetchall()
        connection.execute("COMMIT")
        return
    with connection.transaction(), connection.cursor() as cursor:
        for sql, values in prepared.statements:
            cursor.execute(sql.encode(), dict(values))  # always a mapping: `%` is doubled
            if cursor.description is not None:
                cursor.fetchall()


def time_translation(step: Step, target: Target) -> float:
    """How long splitting and translating the step's scripts takes (median of 5), a part of
    redstep's overhead: its services translate each statement the first time they run it (they
    remember translations, but each run here opens them afresh, as `redstep run` does)."""
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        for script in step.scripts:
            prepare(EXAMPLE / script, target, RUN_DATE)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def run_reporting(
    connection: Any, target: Target, prepared: Prepared, errors: list[BaseException]
) -> None:
    """`run_bare` on a thread: an error goes to `errors`, for the thread that waits."""
    try:
        run_bare(connection, target, prepared)
    except BaseException as error:
        errors.append(error)


def time_bare_steps(session: Session, target: Target, run_date: date) -> dict[str, float]:
    """Each step's wall time, running its scripts bare (several at once on threads)."""
    seconds: dict[str, float] = {}
    for step in STEPS:
        prepared = [prepare(EXAMPLE / script, target, run_date) for script in step.scripts]
        started = time.perf_counter()
        connections = [session.connect() for _ in prepared]
        errors: list[BaseException] = []
        threads = [
            threading.Thread(target=run_reporting, args=(connection, target, script, errors))
            for connection, script in zip(connections, prepared, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds[step.name] = time.perf_counter() - started
        for connection in connections:
            connection.close()
        if errors:
            raise RuntimeError(f"{step.name}: {errors[0]}") from errors[0]
    return seconds


def check_loaded(session: Session, sales: int) -> None:
    """Insist that a run did the work: every generated sale is in the fact table."""
    connection = session.connect()
    try:
        row = connection.execute("select count(*) from store_sales").fetchone()
    finally:
        connection.close()
    if row is None or row[0] != sales:
        raise RuntimeError(f"the run loaded {row} sales, not {sales}")


# -- redstep: the pipeline through the Python API ----------------------------------------------


def time_redstep_steps(project: Path, run_date: date) -> tuple[dict[str, float], float]:
    """Each step's time from the execution's history, and the whole execution's."""
    with open_services(load_project(project)) as services:
        arn = services.engine.region.state_machine_arn(MACHINE)
        started = services.engine.start_execution(
            {"stateMachineArn": arn, "input": json.dumps({"run_date": run_date.isoformat()})}
        )
        described = services.engine.wait(started["executionArn"], RUN_SECONDS)
        if described["status"] != "SUCCEEDED":
            raise RuntimeError(f"the pipeline ended {described['status']}: {described}")
        request = {"executionArn": started["executionArn"], "maxResults": 1000}
        events = list(
            paginate(services.engine.handle, "GetExecutionHistory", request, "events", "nextToken")
        )
    entered = _times(events, "TaskStateEntered", "stateEnteredEventDetails")
    exited = _times(events, "TaskStateExited", "stateExitedEventDetails")
    seconds = {
        step.name: (
            max(exited[f"Describe{state}"][-1] for state in step.states)
            - min(entered[state][0] for state in step.states)
        )
        for step in STEPS
    }
    whole = events[-1]["timestamp"] - events[0]["timestamp"]
    return seconds, whole.total_seconds()


def _times(events: Sequence[Mapping[str, Any]], kind: str, details: str) -> dict[str, list[float]]:
    """Each state's `kind` events, in order, as seconds since the epoch."""
    times: dict[str, list[float]] = {}
    for event in events:
        if event["type"] == kind:
            times.setdefault(event[details]["name"], []).append(event["timestamp"].timestamp())
    return times


def time_redstep_run(
    warehouse: Warehouse, template: Path, workdir: Path, generated: Generation
) -> tuple[dict[str, float], float]:
    """The pipeline through redstep, on a fresh copy of the generated data."""
    project = warehouse.copy(template, workdir / "redstep")
    try:
        timings = time_redstep_steps(project, RUN_DATE)
        session = warehouse.session(project)
        try:
            check_loaded(session, dict(generated.counts)["stg_store_sales"])
        finally:
            session.close()
        return timings
    finally:
        warehouse.discard(project)


def time_bare_run(
    warehouse: Warehouse, template: Path, workdir: Path, generated: Generation
) -> dict[str, float]:
    """The same SQL bare, on another fresh copy of the generated data."""
    project = warehouse.copy(template, workdir / "bare")
    began = time.perf_counter()
    session = warehouse.session(project)
    opened = time.perf_counter() - began
    try:
        seconds = time_bare_steps(session, warehouse.target, RUN_DATE)
        seconds[STEPS[0].name] += opened  # redstep opens its warehouse in its first step too
        check_loaded(session, dict(generated.counts)["stg_store_sales"])
        return seconds
    finally:
        session.close()
        warehouse.discard(project)


# -- one scale -----------------------------------------------------------------------------------


def measure(
    warehouse: Warehouse, workdir: Path, scale: float, repetitions: int, log: Callable[[str], None]
) -> dict[str, Any]:
    template = warehouse.template(workdir / "template")
    try:
        generated = generate_workload(
            load_project(template), scale=scale, seed=SEED, run_date=RUN_DATE
        )
        log(
            f"scale {scale:g}: generated in "
            f"{generated.setup_seconds + generated.generation_seconds:.1f} s"
        )
        redstep_runs: list[tuple[dict[str, float], float]] = []
        bare_runs: list[dict[str, float]] = []
        for repetition in range(repetitions):
            # Alternate which of the two runs first, so that neither always finds the caches
            # as the other left them.
            is_redstep_first = repetition % 2 == 0
            for is_redstep in (is_redstep_first, not is_redstep_first):
                if is_redstep:
                    redstep_runs.append(time_redstep_run(warehouse, template, workdir, generated))
                else:
                    bare_runs.append(time_bare_run(warehouse, template, workdir, generated))
            log(
                f"scale {scale:g}, run {repetition + 1}/{repetitions}: "
                f"redstep {redstep_runs[-1][1]:.2f} s, bare {sum(bare_runs[-1].values()):.2f} s"
            )
    finally:
        warehouse.discard(template)
    steps: list[dict[str, Any]] = [
        {
            "name": step.name,
            "redstep_seconds": round(statistics.median(r[0][step.name] for r in redstep_runs), 3),
            "bare_seconds": round(statistics.median(b[step.name] for b in bare_runs), 3),
            "translate_seconds": round(time_translation(step, warehouse.target), 3),
        }
        for step in STEPS
    ]
    return {
        "scale": scale,
        "sales": dict(generated.counts).get("stg_store_sales", 0),
        "repetitions": repetitions,
        "generate_seconds": round(generated.setup_seconds + generated.generation_seconds, 3),
        "redstep_seconds": round(statistics.median(r[1] for r in redstep_runs), 3),
        "redstep_steps_seconds": round(sum(s["redstep_seconds"] for s in steps), 3),
        "bare_seconds": round(statistics.median(sum(b.values()) for b in bare_runs), 3),
        "steps": steps,
    }


def print_table(result: Mapping[str, Any], warehouse: str) -> None:
    print(
        f"\n{MACHINE} on {warehouse}, scale {result['scale']:g} "
        f"({result['sales']:,} sales), median of {result['repetitions']} run(s)"
    )
    print(f"  {'step':<18}{'redstep s':>11}{'bare s':>10}{'overhead s':>12}{'(translate s)':>15}")
    for step in result["steps"]:
        overhead = step["redstep_seconds"] - step["bare_seconds"]
        print(
            f"  {step['name']:<18}{step['redstep_seconds']:>11.3f}"
            f"{step['bare_seconds']:>10.3f}{overhead:>12.3f}{step['translate_seconds']:>15.3f}"
        )
    steps_total, bare = result["redstep_steps_seconds"], result["bare_seconds"]
    print(f"  {'steps':<18}{steps_total:>11.3f}{bare:>10.3f}{steps_total - bare:>12.3f}")
    print(
        f"  {'whole execution':<18}{result['redstep_seconds']:>11.3f}{bare:>10.3f}"
        f"{result['redstep_seconds'] - bare:>12.3f}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--scale",
        type=float,
        action="append",
        help="millions of sales (repeatable; default: 1 and 10)",
    )
    parser.add_argument("--warehouse", choices=["duckdb", "postgres"], default="duckdb")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("REDSTEP_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="a server on which databases may be created and dropped",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="repetitions per scale (default: 3 up to a million sales, 1 above)",
    )
    parser.add_argument("--workdir", type=Path, default=None, help="where the copies go")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    warehouse: Warehouse = (
        DuckDBWarehouse() if args.warehouse == "duckdb" else PostgresWarehouse(args.postgres_url)
    )

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    results = []
    with working_folder(args.workdir) as workdir:
        for index, scale in enumerate(args.scale or DEFAULT_SCALES):
            repetitions = args.repeat or (3 if scale <= 1 else 1)
            folder = workdir / f"scale-{index}"
            folder.mkdir()
            results.append(measure(warehouse, folder, scale, repetitions, log))
    machine = {**describe_machine("sqlglot", "duckdb"), "warehouse": warehouse.describe()}
    if args.json:
        largest = max(results, key=lambda run: run["scale"])  # its totals; every scale in runs
        totals = {key: largest[key] for key in ("redstep_seconds", "bare_seconds", "steps")}
        print(json.dumps({"benchmark": "pipeline", "machine": machine, **totals, "runs": results}))
        return 0
    print(f"{machine_line(machine)}, {machine['warehouse']}")
    for result in results:
        print_table(result, args.warehouse)
    return 0


@contextmanager
def working_folder(given: Path | None) -> Iterator[Path]:
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=given) as folder:
            yield Path(folder)
        return
    with tempfile.TemporaryDirectory(prefix="redstep-bench-") as folder:
        yield Path(folder)


if __name__ == "__main__":
    sys.exit(main())

"""`redstep example`: helpers for the example projects shipped in redstep's `examples/` folder.

`generate` fills the sales data pipeline's warehouse with a deterministic workload of any size,
so the pipeline (and redstep under it) can be measured at scale. The rows are made inside the
warehouse by the project's own `sql/generate.sql`, a script in Redshift's dialect run through the
Data API service with the scale, seed and run date as Data API parameters: generating 10 million
rows costs one INSERT … SELECT, not 10 million round trips from Python. `generate_workload` is
the command without its printing, for benchmarks (bench/pipeline.py).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import click

from redstep.cli.options import project_option
from redstep.cli.sql import SqlFailed, run_statements
from redstep.dataapi import DataApiError, DataApiService
from redstep.project import Project, ProjectError, ProjectInUse, load_project
from redstep.warehouse.dialect import split_script
from redstep.warehouse.dialect.script import ScriptError

SETUP_SCRIPT = Path("sql") / "setup.sql"
"""Creates the tables (idempotently); run first so that a fresh project can be generated into."""
GENERATE_SCRIPT = Path("sql") / "generate.sql"
DEFAULT_RUN_DATE = date(2003, 1, 2)
"""The pipeline's own default run date: a day of the sample date_dim."""
ROWS_PER_SCALE = 1_000_000
MAX_SCALE = 100.0
"""generate.sql numbers rows with eight digit positions: at most 10^8 sales."""
MAX_SEED = 2**31 - 1
"""Keeps every product of the script's arithmetic within int8, on every engine."""

_NOT_THE_EXAMPLE = "is the project the sales_data_pipeline example (or a copy of it)?"


class GenerationError(Exception):
    """The workload could not be generated; the message says why, naming the script."""


@dataclass(frozen=True, slots=True)
class Generation:
    """What `generate_workload` did."""

    counts: Sequence[tuple[str, int]]
    """(table, rows generated) in the order generate.sql reports them."""
    setup_seconds: float
    generation_seconds: float


@click.group()
def example() -> None:
    """Work with the example projects (the sales_data_pipeline in redstep's examples/)."""


@example.command()
@click.option(
    "--scale",
    type=click.FloatRange(min=0, min_open=True, max=MAX_SCALE),
    required=True,
    help="Millions of staging sales rows; fractions allowed (0.01 = 10,000 rows).",
)
@click.option(
    "--seed",
    type=click.IntRange(0, MAX_SEED),
    default=0,
    show_default=True,
    help="The same seed generates the same rows, on every warehouse.",
)
@click.option(
    "--run-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=DEFAULT_RUN_DATE.isoformat(),
    show_default=True,
    help="The day every generated sale is sold on (a day of date_dim).",
)
@project_option
def generate(scale: float, seed: int, run_date: datetime, project_dir: Path) -> None:
    """Fill the sales pipeline's staging tables with --scale million generated sales.

    Runs the project's sql/setup.sql (which creates the tables when missing), then
    sql/generate.sql, which replaces the staging tables' contents: sales on the run date, the
    items and addresses they refer to (the pipeline's dimension loads insert those), and the
    customers they refer to (written to `customer` directly, since the pipeline loads none).
    """
    if round(scale * ROWS_PER_SCALE) < 1:
        raise click.BadParameter("less than one row", param_hint="--scale")
    day = run_date.date()
    try:
        done = generate_workload(load_project(project_dir), scale=scale, seed=seed, run_date=day)
    except (ProjectError, ProjectInUse, GenerationError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"generated sales on {day} (scale {scale:g}, seed {seed}):")
    for table, count in done.counts:
        click.echo(f"  {table:<22}{count:>14,}")
    total = done.setup_seconds + done.generation_seconds
    click.echo(
        f"in {total:.2f} s "
        f"(setup {done.setup_seconds:.2f} s, generation {done.generation_seconds:.2f} s)"
    )
    click.echo(f"""next: redstep run sales_data_pipeline --input '{{"run_date": "{day}"}}'""")


def generate_workload(
    project: Project, *, scale: float, seed: int = 0, run_date: date = DEFAULT_RUN_DATE
) -> Generation:
    """Run the project's setup.sql, then its generate.sql for `scale` million sales.

    Raises GenerationError (a script missing or failing, a run date date_dim lacks) and
    ProjectInUse (another process owns the project's state).
    """
    setup = _read_script(project.root, SETUP_SCRIPT)
    generation = _read_script(project.root, GENERATE_SCRIPT)
    day = run_date.isoformat()
    parameters = {
        # Six decimals: a whole number of rows, never written in exponent form.
        "scale": f"{scale:.6f}",
        "seed": str(seed),
        "run_date": day,
    }
    with DataApiService(project) as service:
        started = time.perf_counter()
        _submit(service, str(SETUP_SCRIPT), setup, {})  # as the pipeline runs it: no parameters
        set_up = time.perf_counter()
        _check_run_date(service, day)
        rows = _submit(service, str(GENERATE_SCRIPT), generation, parameters)
        finished = time.perf_counter()
    # A count is an int8 (longValue) on every backend; str() first only to satisfy the types.
    counts = [(str(table), int(str(count))) for table, count in rows or ()]
    return Generation(counts, set_up - started, finished - set_up)


def _read_script(root: Path, relative: Path) -> list[str]:
    path = root / relative
    if not path.is_file():
        raise GenerationError(f"no {relative} in {root}: {_NOT_THE_EXAMPLE}")
    try:
        statements = split_script(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ScriptError) as error:
        raise GenerationError(f"cannot read {path}: {error}") from error
    if not statements:
        raise GenerationError(f"{path} holds no SQL statement")
    return statements


def _check_run_date(service: DataApiService, day: str) -> None:
    """Refuse a run date the fact load could not find in date_dim: every sale would be lost."""
    rows = _submit(
        service,
        "checking the run date",
        [
            "select min(d_date), max(d_date),"
            " count(case when d_date = cast(:run_date as date) then 1 end) from date_dim"
        ],
        {"run_date": day},
    )
    ((earliest, latest, found),) = rows or [[None, None, 0]]
    if not found:
        held = f"{earliest} to {latest}" if earliest is not None else "no day at all"
        raise GenerationError(
            f"{day} is not a day of date_dim, which holds {held}: "
            "the fact load would find no date for the generated sales"
        )


def _submit(
    service: DataApiService, what: str, statements: list[str], parameters: Mapping[str, str]
) -> Sequence[Sequence[object]] | None:
    """Run `statements` as one transactional batch (as the pipeline runs a script); the last
    statement's rows, None when it returns none."""
    try:
        rows = run_statements(service, statements, parameters=parameters)
    except (SqlFailed, DataApiError) as error:
        raise GenerationError(f"{what}: {error}") from error
    return None if rows is None else rows.rows

"""`redstep init`: a new project folder, empty or holding an example shipped with redstep."""

from __future__ import annotations

import json
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import click

from redstep.project import CONFIG_FILE, DEFAULT_WAREHOUSE_URL, STATE_DIR

EXAMPLES = {"sales": "sales_data_pipeline"}
"""`--example` name -> the folder under `examples/` it copies."""
SKIPPED = frozenset({STATE_DIR, "__pycache__"})
"""What a copy of an example leaves out: state from a run of it in place."""

WAREHOUSE_LINE = f"url = {json.dumps(DEFAULT_WAREHOUSE_URL)}"
"""The `[warehouse]` line every example and the starter hold, replaced by `--warehouse-url`."""

STARTER = f"""\
# A redstep project. Each table below is optional; see the README for every key.

[warehouse]                            # or postgresql://user@host:5432/database
{WAREHOUSE_LINE}

# [buckets.my-bucket]                  # s3://my-bucket/... is this folder
# path = "data"

# [state_machines.my_workflow]         # redstep run my_workflow
# definition = "workflows/my_workflow.asl.json"

# [functions.my_function]              # a Lambda function, run locally
# handler = "functions/my_function.py:handler"
"""


@click.command("init")
@click.argument(
    "directory", type=click.Path(file_okay=False, path_type=Path), default=".", required=False
)
@click.option(
    "--example",
    type=click.Choice(sorted(EXAMPLES)),
    default=None,
    help="Start from an example: sales is AWS's sales data pipeline on Redshift.",
)
@click.option(
    "--warehouse-url",
    default=None,
    help="The project's warehouse instead of the embedded DuckDB file "
    "(postgresql://user@host:5432/database).",
)
def init(directory: Path, example: str | None, warehouse_url: str | None) -> None:
    """Create a project in DIRECTORY (a new or empty folder; the current one by default)."""
    if directory.exists() and any(directory.iterdir()):
        raise click.ClickException(
            f"{directory} is not empty: give a new folder, so nothing in it is overwritten"
        )
    create_project(directory, example=example, warehouse_url=warehouse_url)
    if example is None:
        click.echo(f"Created {directory / CONFIG_FILE}")
        return
    click.echo(f"Created the {example} example in {directory}. Run it with:")
    click.echo(f"  cd {directory} && redstep run {EXAMPLES[example]}")


def create_project(
    directory: Path, *, example: str | None = None, warehouse_url: str | None = None
) -> Path:
    """Write a project into `directory`: the starter `redstep.toml`, or a copy of an example
    (without any state a run of it left in place), its warehouse `warehouse_url` if given."""
    if example is None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / CONFIG_FILE).write_text(STARTER, encoding="utf-8")
    else:
        _copy(example_source(EXAMPLES[example]), directory)
    if warehouse_url is not None:
        config = directory / CONFIG_FILE
        text = config.read_text(encoding="utf-8")
        assert WAREHOUSE_LINE in text, f"{config} lost its [warehouse] url line"
        replaced = text.replace(WAREHOUSE_LINE, f"url = {json.dumps(warehouse_url)}", 1)
        config.write_text(replaced, encoding="utf-8")
    return directory


def example_source(name: str) -> Traversable:
    """An example's files, in the installed package: `redstep/examples` is the repository's
    `examples/` folder (a link to it in the source tree, so an editable install sees it too)."""
    source = resources.files("redstep").joinpath("examples", name)
    if not source.is_dir():
        raise click.ClickException(f"the {name} example is missing from this installation")
    return source


def _copy(source: Traversable, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for entry in source.iterdir():
        if entry.name in SKIPPED:
            continue
        if entry.is_dir():
            _copy(entry, target / entry.name)
        else:
            (target / entry.name).write_bytes(entry.read_bytes())

"""`redstep init`: a new project folder, empty or holding an example shipped with redstep."""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import click

from redstep.project import CONFIG_FILE, STATE_DIR

EXAMPLES = {"sales": "sales_data_pipeline"}
"""`--example` name -> the folder under `examples/` it copies."""
SKIPPED = frozenset({STATE_DIR, "__pycache__"})
"""What a copy of an example leaves out: state from a run of it in place."""

STARTER = f"""\
# A redstep project. Each table below is optional; see the README for every key.

[warehouse]
url = "duckdb:///{STATE_DIR}/warehouse.duckdb"   # or postgresql://user@host:5432/database

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
def init(directory: Path, example: str | None) -> None:
    """Create a project in DIRECTORY (a new or empty folder; the current one by default)."""
    if directory.exists() and any(directory.iterdir()):
        raise click.ClickException(
            f"{directory} is not empty: give a new folder, so nothing in it is overwritten"
        )
    if example is None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / CONFIG_FILE).write_text(STARTER, encoding="utf-8")
        click.echo(f"Created {directory / CONFIG_FILE}")
        return
    _copy(example_source(EXAMPLES[example]), directory)
    click.echo(f"Created the {example} example in {directory}. Run it with:")
    click.echo(f"  cd {directory} && redstep run {EXAMPLES[example]}")


def example_source(name: str) -> Traversable:
    """An example's files: inside the installed package (a wheel carries them under
    `redstep/examples/`), or in the source checkout an editable install runs from."""
    packaged = resources.files("redstep").joinpath("examples", name)
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / "examples" / name
    if checkout.is_dir():
        return checkout
    raise click.ClickException(f"the {name} example is missing from this installation of redstep")


def _copy(source: Traversable, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for entry in source.iterdir():
        if entry.name in SKIPPED:
            continue
        if entry.is_dir():
            _copy(entry, target / entry.name)
        else:
            (target / entry.name).write_bytes(entry.read_bytes())

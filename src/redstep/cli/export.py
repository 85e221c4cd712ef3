"""`redstep export cloudformation`: the project as a CloudFormation template (redstep.deploy)."""

from __future__ import annotations

from pathlib import Path

import click

from redstep.cli.options import project_option, target_options
from redstep.deploy.errors import ExportError
from redstep.deploy.template import Export, export_project, template_text
from redstep.project import Project, ProjectError, load_project


@click.group()
def export() -> None:
    """Write the project out for AWS."""


@export.command("cloudformation")
@project_option
@target_options
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the template here (YAML; JSON when the name ends in .json) instead of stdout.",
)
def cloudformation(
    project_dir: Path, target: dict[str, str], code_bucket: str | None, output: Path | None
) -> None:
    """A CloudFormation template: a state machine per state machine, a Lambda function per
    function, least-privilege roles, the Redshift and the buckets as parameters.

    `redstep deploy` uploads the code and scripts and deploys it."""
    exported = exported_project(loaded(project_dir), target, code_bucket)
    text = template_text(exported.template, as_json=output is not None and output.suffix == ".json")
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}", err=True)


def loaded(project_dir: Path) -> Project:
    """The project, or a ClickException saying why it cannot be read."""
    try:
        return load_project(project_dir)
    except ProjectError as error:
        raise click.ClickException(str(error)) from None


def exported_project(project: Project, target: dict[str, str], code_bucket: str | None) -> Export:
    """The project's export, or a ClickException saying why there is none."""
    try:
        return export_project(project, target, code_bucket)
    except ExportError as error:
        raise click.ClickException(str(error)) from None

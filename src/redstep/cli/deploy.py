"""`redstep deploy`: the project on AWS, as `redstep export cloudformation` writes it
(redstep.deploy.stack does the work; this module reads the options and makes the clients)."""

from __future__ import annotations

from pathlib import Path

import click

from redstep.cli.export import exported_project, loaded
from redstep.cli.options import project_option, target_options
from redstep.deploy.errors import DeployError
from redstep.deploy.stack import Deployer, plan_deployment


def _parameter(_: click.Context, __: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    given = {}
    for value in values:
        name, sign, text = value.partition("=")
        if not sign or not name:
            raise click.BadParameter(f"{value!r} is not NAME=VALUE")
        given[name] = text
    return given


@click.command()
@project_option
@target_options
@click.option("--stack-name", help="The stack to create or update (default: the project's name).")
@click.option("--region", help="The AWS region (default: boto3's, from the environment).")
@click.option(
    "--parameter",
    "parameters",
    multiple=True,
    callback=_parameter,
    metavar="NAME=VALUE",
    help="A template parameter's value (repeatable), e.g. SalesScriptsBucket=my-bucket.",
)
@click.option("--dry-run", is_flag=True, help="Print the uploads and the changes; change nothing.")
def deploy(
    project_dir: Path,
    target: dict[str, str],
    code_bucket: str | None,
    stack_name: str | None,
    region: str | None,
    parameters: dict[str, str],
    dry_run: bool,
) -> None:
    """Upload the project's scripts and function code, then create or update its stack,
    printing the stack's events until it settles."""
    project = loaded(project_dir)
    exported = exported_project(project, target, code_bucket)
    name = stack_name or _stack_name(project.root)
    # Imported here: boto3 costs every other command a fraction of a second to load.
    import boto3
    import botocore.exceptions

    try:
        deployment = plan_deployment(project, exported, name, parameters)
        session = boto3.session.Session(region_name=region)
        deployer = Deployer(session.client("s3"), session.client("cloudformation"), click.echo)
        if dry_run:
            deployer.dry_run(deployment)
            return
        outcome = deployer.deploy(deployment)
    except (DeployError, botocore.exceptions.BotoCoreError) as error:
        raise click.ClickException(str(error)) from None
    except botocore.exceptions.ClientError as error:
        details = error.response.get("Error", {})
        raise click.ClickException(f"{details.get('Code')}: {details.get('Message')}") from None
    if not outcome.is_success:
        raise click.ClickException(f"stack {name} ended {outcome.status}")


def _stack_name(folder: Path) -> str:
    """A stack name from the project folder's: letters, digits and hyphens, a letter first."""
    name = "".join(c if c.isalnum() else "-" for c in folder.name).strip("-")
    return name if name[:1].isalpha() else f"redstep-{name}".rstrip("-")

"""The `redstep` command: one module per noun, each calling the same services as the API."""

from __future__ import annotations

import click

from redstep import __version__
from redstep.cli.deploy import deploy
from redstep.cli.example import example
from redstep.cli.executions import executions
from redstep.cli.export import export
from redstep.cli.init import init
from redstep.cli.run import run
from redstep.cli.serve import serve_command
from redstep.cli.sql import sql
from redstep.cli.statements import statements
from redstep.cli.tasks import tasks
from redstep.cli.triggers import triggers


@click.group()
@click.version_option(__version__, prog_name="redstep")
def main() -> None:
    """Run Step Functions workflows and the Redshift Data API on one machine."""


main.add_command(deploy)
main.add_command(example)
main.add_command(executions)
main.add_command(export)
main.add_command(init)
main.add_command(run)
main.add_command(serve_command)
main.add_command(sql)
main.add_command(statements)
main.add_command(tasks)
main.add_command(triggers)

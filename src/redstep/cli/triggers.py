"""`redstep triggers`: the project's schedules and bucket triggers, and when each fires next."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from redstep.cli.options import project_option
from redstep.cli.render import OutputFormat, Rows, render
from redstep.project import ProjectError, load_project

COLUMNS = ("name", "state_machine", "kind", "source", "next_fire_utc")


@click.group()
def triggers() -> None:
    """Schedules and bucket triggers declared in redstep.toml ([triggers.<name>])."""


@triggers.command("list")
@project_option
@click.option(
    "--output",
    type=click.Choice([OutputFormat.TABLE.value, OutputFormat.JSON.value]),
    default=OutputFormat.TABLE.value,
    show_default=True,
)
def list_command(project_dir: Path, output: str) -> None:
    """Show each trigger: its state machine, its schedule or bucket, and its next fire (UTC).

    Rate schedules count from when redstep first ran them (remembered in .redstep/); one never
    run yet is shown as if it started now. Nothing is written.
    """
    # Imported here, as the serve command does: other commands need not load the services.
    from redstep.runtime.clock import RealClock
    from redstep.triggers import STATE_FILE, list_triggers
    from redstep.triggers.events import event_time

    try:
        project = load_project(project_dir)
    except ProjectError as error:
        raise click.ClickException(str(error)) from error
    now = RealClock().now()
    fires = list_triggers(project.triggers, project.state_dir / STATE_FILE, now)
    rows = [
        [
            fire.trigger,
            fire.state_machine,
            fire.kind.value,
            fire.source,
            None if fire.next_fire is None else event_time(fire.next_fire),
        ]
        for fire in fires
    ]
    render(Rows(columns=COLUMNS, rows=rows), OutputFormat(output), sys.stdout)

"""`redstep tasks`: answer a callback task (`.waitForTaskToken`) of a running project.

The answer goes to the `redstep serve` that runs the project, through the endpoint it recorded
in `.redstep/`, as `aws stepfunctions send-task-success --endpoint-url …` would send it: the
execution lives in that process. Requests are signed with REDSTEP_ACCESS_KEY_ID and
REDSTEP_SECRET_ACCESS_KEY when the server requires credentials.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from redstep.cli.access import open_project, remote_client
from redstep.cli.options import project_option
from redstep.project import ProjectInUse

token_argument = click.argument("task_token")


@click.group()
def tasks() -> None:
    """Answer callback tasks (.waitForTaskToken) by their task token ($$.Task.Token)."""


@tasks.command("send-success")
@project_option
@token_argument
@click.option("--output", "output", required=True, help="The task's result, as JSON text.")
def send_success(project_dir: Path, task_token: str, output: str) -> None:
    """The task succeeded with OUTPUT (SendTaskSuccess)."""
    try:
        json.loads(output)
    except ValueError as error:
        raise click.BadParameter(f"not JSON: {error}", param_hint="--output") from None
    _send(project_dir, "SendTaskSuccess", taskToken=task_token, output=output)


@tasks.command("send-failure")
@project_option
@token_argument
@click.option("--error", default=None, help="The error name Retry and Catch match.")
@click.option("--cause", default=None, help="A longer explanation.")
def send_failure(project_dir: Path, task_token: str, error: str | None, cause: str | None) -> None:
    """The task failed (SendTaskFailure)."""
    given = {name: value for name, value in (("error", error), ("cause", cause)) if value}
    _send(project_dir, "SendTaskFailure", taskToken=task_token, **given)


@tasks.command("send-heartbeat")
@project_option
@token_argument
def send_heartbeat(project_dir: Path, task_token: str) -> None:
    """The task is alive: its HeartbeatSeconds start over (SendTaskHeartbeat)."""
    _send(project_dir, "SendTaskHeartbeat", taskToken=task_token)


def _send(project_dir: Path, operation: str, **request: Any) -> None:
    """Call `operation` on the `redstep serve` that owns the project; a usage error when none
    does (the execution waits in the store until one starts, and answers must go there)."""
    project = open_project(project_dir)
    try:
        project.own_state().release()
    except ProjectInUse as in_use:
        remote_client("stepfunctions", project, in_use)(operation, request)
        return
    raise click.ClickException(
        f"no redstep runs the project at {project.root}: its executions wait until "
        "`redstep serve` starts, and answers go there"
    )

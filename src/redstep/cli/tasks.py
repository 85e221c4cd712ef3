"""`redstep tasks`: answer a callback task (`.waitForTaskToken`) of a running project.

The answer goes to the `redstep serve` that runs the project, through the endpoint it recorded
in `.redstep/`, as `aws stepfunctions send-task-success --endpoint-url …` would send it: the
execution lives in that process. Requests are signed with REDSTEP_ACCESS_KEY_ID and
REDSTEP_SECRET_ACCESS_KEY when the server requires credentials.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from redstep.api.endpoint_file import recorded_endpoint
from redstep.cli.options import project_option
from redstep.project import OWNER_FILE, Project, ProjectError, ProjectInUse, load_project

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
    _send(project_dir, "send_task_success", taskToken=task_token, output=output)


@tasks.command("send-failure")
@project_option
@token_argument
@click.option("--error", default=None, help="The error name Retry and Catch match.")
@click.option("--cause", default=None, help="A longer explanation.")
def send_failure(project_dir: Path, task_token: str, error: str | None, cause: str | None) -> None:
    """The task failed (SendTaskFailure)."""
    given = {name: value for name, value in (("error", error), ("cause", cause)) if value}
    _send(project_dir, "send_task_failure", taskToken=task_token, **given)


@tasks.command("send-heartbeat")
@project_option
@token_argument
def send_heartbeat(project_dir: Path, task_token: str) -> None:
    """The task is alive: its HeartbeatSeconds start over (SendTaskHeartbeat)."""
    _send(project_dir, "send_task_heartbeat", taskToken=task_token)


def _send(project_dir: Path, method: str, **request: Any) -> None:
    # Imported here: boto3 costs every other command a fraction of a second to load.
    import boto3
    import botocore.exceptions

    url = _running_server(project_dir)
    client = boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=os.environ.get("REDSTEP_ACCESS_KEY_ID", "redstep"),
        aws_secret_access_key=os.environ.get("REDSTEP_SECRET_ACCESS_KEY", "redstep"),
    )
    try:
        getattr(client, method)(**request)
    except botocore.exceptions.ClientError as error:
        details = error.response.get("Error", {})
        raise click.ClickException(f"{details.get('Code')}: {details.get('Message')}") from None
    except botocore.exceptions.EndpointConnectionError as error:
        raise click.ClickException(
            f"the redstep server at {url} cannot be reached: {error}"
        ) from None


def _running_server(project_dir: Path) -> str:
    """The URL of the `redstep serve` that owns the project; a usage error when none does."""
    try:
        project = load_project(project_dir)
    except ProjectError as error:
        raise click.ClickException(str(error)) from error
    try:
        project.own_state().release()
    except ProjectInUse as in_use:
        url = recorded_endpoint(project.state_dir, _owner(project))
        if url is None:
            raise click.ClickException(f"{in_use}, which serves no endpoint") from None
        return url
    raise click.ClickException(
        f"no redstep runs the project at {project.root}: its executions wait until "
        "`redstep serve` starts, and answers go there"
    )


def _owner(project: Project) -> int:
    """The process id the project's lock file names (written by the process holding it)."""
    text = (project.state_dir / OWNER_FILE).read_text(errors="replace").strip()
    return int(text) if text.isdigit() else -1

"""How a command reaches a project's Step Functions and Data API services.

One process owns a project's state at a time. When none does, a command opens the service it
needs in its own process (reading only: no execution resumes); when a `redstep serve` does, the
command calls it through the endpoint it recorded in `.redstep/`, as the AWS CLI would with
`--endpoint-url`, signing with REDSTEP_ACCESS_KEY_ID / REDSTEP_SECRET_ACCESS_KEY when the server
requires credentials. Either way the command sees the wire's operations, requests and responses,
and every error the service answers becomes one ClickException, worded `Code: message`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import click

from redstep.api.endpoint_file import recorded_endpoint
from redstep.project import OWNER_FILE, Project, ProjectError, ProjectInUse, load_project
from redstep.wire import Call

REGION = "us-east-1"


def open_project(project_dir: Path) -> Project:
    """The project in `project_dir`, or a ClickException saying what is wrong with it."""
    try:
        return load_project(project_dir)
    except ProjectError as error:
        raise click.ClickException(str(error)) from error


@contextlib.contextmanager
def step_functions(project_dir: Path) -> Iterator[Call]:
    """The project's Step Functions operations, for as long as the block runs."""
    from redstep.runtime.engine import Engine
    from redstep.runtime.errors import StepFunctionsError

    project = open_project(project_dir)
    try:
        engine = Engine.open(project, run=False)
    except ProjectInUse as in_use:
        yield remote_client("stepfunctions", project, in_use)
        return
    with engine:
        yield _local(engine.handle, StepFunctionsError)


@contextlib.contextmanager
def redshift_data(project_dir: Path) -> Iterator[Call]:
    """The project's Data API operations, for as long as the block runs."""
    from redstep.dataapi import DataApiError, DataApiService

    project = open_project(project_dir)
    try:
        service = DataApiService(project)
    except ProjectInUse as in_use:
        yield remote_client("redshift-data", project, in_use)
        return
    with service:
        yield _local(service.handle, DataApiError)


def remote_client(service: str, project: Project, in_use: ProjectInUse) -> Call:
    """`service` of the `redstep serve` that owns `project` (a ClickException when the owner
    serves no endpoint, or cannot be reached)."""
    # Imported here: boto3 costs every other command a fraction of a second to load.
    import boto3
    import botocore.exceptions
    from botocore import xform_name

    url = recorded_endpoint(project.state_dir, _owner(project))
    if url is None:
        raise click.ClickException(f"{in_use}, which serves no endpoint")
    client = boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=os.environ.get("REDSTEP_ACCESS_KEY_ID", "redstep"),
        aws_secret_access_key=os.environ.get("REDSTEP_SECRET_ACCESS_KEY", "redstep"),
    )

    def call(operation: str, request: Mapping[str, Any]) -> dict[str, Any]:
        try:
            response: dict[str, Any] = getattr(client, xform_name(operation))(**request)
        except botocore.exceptions.ClientError as error:
            details = error.response.get("Error", {})
            raise click.ClickException(f"{details.get('Code')}: {details.get('Message')}") from None
        except botocore.exceptions.EndpointConnectionError as error:
            raise click.ClickException(
                f"the redstep server at {url} cannot be reached: {error}"
            ) from None
        response.pop("ResponseMetadata", None)
        return response

    return call


def _local(handle: Callable[[str, Any], Mapping[str, Any]], error_type: type[Exception]) -> Call:
    def call(operation: str, request: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return dict(handle(operation, dict(request)))
        except error_type as error:
            code, message = getattr(error, "code", ""), getattr(error, "message", str(error))
            raise click.ClickException(f"{code}: {message}") from None

    return call


def _owner(project: Project) -> int:
    """The process id the project's lock file names (written by the process holding it)."""
    try:
        text = (project.state_dir / OWNER_FILE).read_text(errors="replace").strip()
    except OSError:  # gone since: the owner stopped
        return -1
    return int(text) if text.isdigit() else -1

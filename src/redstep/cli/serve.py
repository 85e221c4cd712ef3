"""`redstep serve`: the AWS-compatible endpoints (Step Functions, Redshift Data, S3)."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from redstep.api import DEFAULT_HOST, DEFAULT_PORT
from redstep.cli.options import project_option
from redstep.project import ProjectError, ProjectInUse, load_project

LOG_LEVELS = ["critical", "error", "warning", "info", "debug"]
OWN_LOGGERS = ("redstep", "uvicorn")
"""The loggers --log-level sets; every other library logs warnings only, since some (botocore at
debug) would write request headers and bodies, signatures included."""


def configure_logging(level: str) -> None:
    """Log to stderr: redstep's and the server's own lines at `level`, others' warnings."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level.upper())


@click.command("serve")
@project_option
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="The address to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True)
@click.option(
    "--access-key",
    envvar="REDSTEP_ACCESS_KEY_ID",
    default=None,
    help="Require requests signed with this access key (env REDSTEP_ACCESS_KEY_ID).",
)
@click.option(
    "--secret-key",
    envvar="REDSTEP_SECRET_ACCESS_KEY",
    default=None,
    help="The secret key of --access-key; prefer the environment variable "
    "REDSTEP_SECRET_ACCESS_KEY, which other users cannot see in the process list.",
)
@click.option("--log-level", type=click.Choice(LOG_LEVELS), default="info", show_default=True)
def serve_command(
    project_dir: Path,
    host: str,
    port: int,
    access_key: str | None,
    secret_key: str | None,
    log_level: str,
) -> None:
    """Serve Step Functions, the Redshift Data API and S3 for boto3 and the AWS CLI.

    Point a client at it with `--endpoint-url http://127.0.0.1:8642` (AWS CLI) or
    `endpoint_url=` (boto3). StartSyncExecution and TestState need
    AWS_DISABLE_HOST_PREFIX_INJECTION=true on the client, which otherwise prefixes the host.
    """
    # Imported here: the server's stack (uvicorn, Starlette, botocore's signer, every service)
    # costs every other command a fifth of a second to load.
    from redstep.api.local_endpoint import open_services
    from redstep.api.server import ServeError, check_binding, serve
    from redstep.api.sigv4 import Credentials

    if (access_key is None) != (secret_key is None):
        raise click.UsageError("give both --access-key and --secret-key, or neither")
    if access_key == "" or secret_key == "":
        raise click.UsageError("--access-key and --secret-key must not be empty")
    credentials = (
        Credentials(access_key, secret_key)
        if access_key is not None and secret_key is not None
        else None
    )
    configure_logging(log_level)
    try:
        check_binding(host, credentials)
        services = open_services(load_project(project_dir))
    except (ServeError, ProjectError, ProjectInUse) as error:
        raise click.ClickException(str(error)) from error
    try:
        serve(services, host=host, port=port, credentials=credentials, log_level=log_level)
    finally:
        services.close()

"""Options several commands share, declared once."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

project_option = click.option(
    "--project",
    "project_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="The project folder (redstep.toml); a folder without one uses every default.",
)
"""`--project DIR`, passed to the command as `project_dir`."""


def target_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The Redshift and the code bucket an export is for (each overrides what the project says):
    passed to the command as `target` (Data API member -> value) and `code_bucket`."""
    options = [
        click.option("--cluster-identifier", help="The provisioned cluster the SQL runs on."),
        click.option("--db-user", help="The database user the Data API connects as (a cluster)."),
        click.option("--workgroup-name", help="The Redshift Serverless workgroup instead."),
        click.option("--database", help="The database (default: the project's, or dev)."),
        click.option(
            "--code-bucket",
            help="The bucket functions' code goes to (default: the project's only bucket).",
        ),
    ]

    @functools.wraps(command)
    def with_target(
        cluster_identifier: str | None,
        db_user: str | None,
        workgroup_name: str | None,
        database: str | None,
        **rest: Any,
    ) -> Any:
        given = {
            "ClusterIdentifier": cluster_identifier,
            "DbUser": db_user,
            "WorkgroupName": workgroup_name,
            "Database": database,
        }
        target = {member: value for member, value in given.items() if value is not None}
        return command(target=target, **rest)

    for option in reversed(options):
        with_target = option(with_target)
    return with_target

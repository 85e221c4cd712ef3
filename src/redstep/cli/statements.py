"""`redstep statements`: the Data API statements a project ran, and their results.

They read the statements of a stopped project in this process, or ask the `redstep serve` that
runs it (see `redstep.cli.access`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from redstep.cli.access import redshift_data
from redstep.cli.executions import to_json
from redstep.cli.options import project_option
from redstep.cli.render import OutputFormat, Rows, clip, render
from redstep.cli.sql import fetch_rows

SQL_CHARS = 80
"""How much of a statement's text the list shows (whitespace collapsed)."""


@click.group()
def statements() -> None:
    """The project's Data API statements: list them, describe one, read its result."""


@statements.command("list")
@project_option
@click.option(
    "--status",
    type=click.Choice(["ALL", "SUBMITTED", "PICKED", "STARTED", "FINISHED", "FAILED", "ABORTED"]),
    default="ALL",
    show_default=True,
)
@click.option("--max", "limit", type=click.IntRange(1, 100), default=50, show_default=True)
@click.option(
    "--output",
    type=click.Choice([OutputFormat.TABLE.value, OutputFormat.JSON.value]),
    default=OutputFormat.TABLE.value,
    show_default=True,
)
def list_statements(project_dir: Path, status: str, limit: int, output: str) -> None:
    """The newest statements first (ListStatements)."""
    with redshift_data(project_dir) as call:
        listed = call("ListStatements", {"Status": status, "MaxResults": limit})["Statements"]
    if output == OutputFormat.JSON.value:
        click.echo(to_json(listed))
        return
    rows = [
        [
            statement["Id"],
            statement.get("StatementName", ""),
            statement["Status"],
            statement["CreatedAt"].isoformat(sep=" ", timespec="milliseconds"),
            _sql(statement),
        ]
        for statement in listed
    ]
    render(Rows(["id", "name", "status", "created", "sql"], rows), OutputFormat.TABLE, sys.stdout)


@statements.command("describe")
@project_option
@click.argument("statement_id")
def describe_statement(project_dir: Path, statement_id: str) -> None:
    """DescribeStatement of STATEMENT_ID (a batch's sub-statement is `Id:N`)."""
    with redshift_data(project_dir) as call:
        click.echo(to_json(call("DescribeStatement", {"Id": statement_id})))


@statements.command("result")
@project_option
@click.argument("statement_id")
@click.option(
    "--output",
    type=click.Choice([f.value for f in OutputFormat]),
    default=OutputFormat.TABLE.value,
    show_default=True,
)
def statement_result(project_dir: Path, statement_id: str, output: str) -> None:
    """The rows STATEMENT_ID returned (every page of GetStatementResult)."""
    with redshift_data(project_dir) as call:
        rows = fetch_rows(lambda request: call("GetStatementResult", request), statement_id)
    render(rows, OutputFormat(output), sys.stdout)


def _sql(statement: dict[str, Any]) -> str:
    text = statement.get("QueryString") or "; ".join(statement.get("QueryStrings") or [])
    return clip(text, SQL_CHARS)

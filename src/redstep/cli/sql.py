"""`redstep sql`: run SQL through the Data API service and print its result."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from redstep.cli.options import project_option
from redstep.cli.render import OutputFormat, Rows, render
from redstep.dataapi import DataApiError, DataApiService
from redstep.dataapi.fields import field_value
from redstep.dataapi.service import DEFAULT_DATABASE
from redstep.dataapi.statements import TERMINAL_STATUSES
from redstep.project import ProjectError, ProjectInUse, load_project
from redstep.warehouse.dialect import split_script
from redstep.warehouse.dialect.script import ScriptError

WAIT_SECONDS = 30
"""The longest WaitTimeSeconds the Data API accepts."""


class SqlFailed(Exception):
    """The statement ended FAILED or ABORTED; the message is the Data API's Error."""


@click.command()
@click.argument("text", required=False)
@click.option(
    "--file",
    "script",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the SQL from a file instead of the argument.",
)
@project_option
@click.option(
    "--warehouse",
    default=None,
    help="A warehouse named in redstep.toml (sent as ClusterIdentifier); the default otherwise.",
)
@click.option(
    "--output",
    type=click.Choice([f.value for f in OutputFormat]),
    default=OutputFormat.TABLE.value,
    show_default=True,
)
def sql(
    text: str | None, script: Path | None, project_dir: Path, warehouse: str | None, output: str
) -> None:
    """Run SQL in Redshift's dialect and print the last statement's result.

    Text holding several statements runs as one BatchExecuteStatement in a transaction.
    """
    if script is not None and text is None:
        try:
            source = script.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise click.ClickException(f"cannot read {script}: {error}") from error
    elif text is not None and script is None:
        source = text
    else:
        raise click.UsageError("give the SQL either as an argument or with --file, not both")
    try:
        service = DataApiService(load_project(project_dir))
    except (ProjectError, ProjectInUse) as error:
        raise click.ClickException(str(error)) from error
    try:
        result = run_sql(service, source, cluster_identifier=warehouse)
    except (SqlFailed, DataApiError) as error:
        raise click.ClickException(str(error)) from error
    finally:
        service.close()
    if result is None:
        click.echo("OK", err=True)
        return
    render(result, OutputFormat(output), sys.stdout)


def run_sql(
    service: DataApiService,
    source: str,
    *,
    cluster_identifier: str | None = None,
    parameters: Mapping[str, str] | None = None,
) -> Rows | None:
    """Submit `source`, wait for it to end, and return its last statement's rows (None if none)."""
    try:
        statements = split_script(source)
    except ScriptError:
        statements = [source]  # the service reports it, worded as Redshift words it
    if not statements:
        raise click.UsageError("no SQL statement to run")
    return run_statements(
        service, statements, cluster_identifier=cluster_identifier, parameters=parameters
    )


def run_statements(
    service: DataApiService,
    statements: Sequence[str],
    *,
    cluster_identifier: str | None = None,
    parameters: Mapping[str, str] | None = None,
) -> Rows | None:
    """Submit one statement (ExecuteStatement) or several (BatchExecuteStatement, one
    transaction) with `parameters` as Data API parameters, wait for them to end, and return the
    last statement's rows (None if it returns none). SqlFailed when they did not finish."""
    request: dict[str, Any] = {"Database": DEFAULT_DATABASE, "WaitTimeSeconds": WAIT_SECONDS}
    if cluster_identifier:
        request["ClusterIdentifier"] = cluster_identifier
    if parameters:  # the Data API refuses an empty list
        request["Parameters"] = [{"name": k, "value": v} for k, v in parameters.items()]
    if len(statements) == 1:
        submitted = service.execute_statement({**request, "Sql": statements[0]})
    else:
        submitted = service.batch_execute_statement({**request, "Sqls": list(statements)})
    statement_id: str = submitted["Id"]
    try:
        described = _wait(service, statement_id)
    except KeyboardInterrupt:
        service.cancel_statement({"Id": statement_id})
        raise
    if described["Status"] != "FINISHED":
        raise SqlFailed(described.get("Error") or f"statement {described['Status']}")
    if described.get("SubStatements"):
        last = described["SubStatements"][-1]
        result_id, has_result_set = last["Id"], last["HasResultSet"]
    else:
        result_id, has_result_set = statement_id, described["HasResultSet"]
    return fetch_rows(service.get_statement_result, result_id) if has_result_set else None


def _wait(service: DataApiService, statement_id: str) -> Mapping[str, Any]:
    while True:
        described = service.describe_statement(
            {"Id": statement_id, "WaitTimeSeconds": WAIT_SECONDS}
        )
        if described["Status"] in TERMINAL_STATUSES:
            return described


def fetch_rows(get_page: Callable[[dict[str, Any]], Mapping[str, Any]], statement_id: str) -> Rows:
    """Every row of a statement's result, reading GetStatementResult pages through `get_page`."""
    columns: Sequence[str] = ()
    rows: list[list[object]] = []
    request: dict[str, Any] = {"Id": statement_id}
    while True:
        page = get_page(request)
        columns = [column["name"] for column in page["ColumnMetadata"]] or columns
        rows.extend([field_value(field) for field in record] for record in page["Records"])
        if not page.get("NextToken"):
            return Rows(columns=columns, rows=rows)
        request = {"Id": statement_id, "NextToken": page["NextToken"]}

"""`redstep executions`: the executions a project's store holds, their descriptions and histories.

They read the store of a stopped project in this process, or ask the `redstep serve` that runs
it (see `redstep.cli.access`); nothing runs or resumes because of them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from redstep.cli.access import step_functions
from redstep.cli.options import project_option
from redstep.cli.render import OutputFormat, Rows, clip, render
from redstep.wire import Call, paginate

DETAIL_CHARS = 100
"""How much of an event's details a history table shows."""

output_option = click.option(
    "--output",
    type=click.Choice([OutputFormat.TABLE.value, OutputFormat.JSON.value]),
    default=OutputFormat.TABLE.value,
    show_default=True,
)
execution_argument = click.argument("execution")


@click.group()
def executions() -> None:
    """The project's executions: list them, describe one, read its history."""


@executions.command("list")
@project_option
@click.option("--state-machine", default=None, help="Only this state machine's executions.")
@click.option(
    "--status",
    type=click.Choice(
        ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"]
    ),
    default=None,
)
@click.option("--max", "limit", type=click.IntRange(1), default=50, show_default=True)
@output_option
def list_executions(
    project_dir: Path, state_machine: str | None, status: str | None, limit: int, output: str
) -> None:
    """The newest executions first (ListExecutions of each state machine; --output json gives
    its items)."""
    found: list[dict[str, Any]] = []
    with step_functions(project_dir) as call:
        machines = _standard(paginate(call, "ListStateMachines", {}, "stateMachines", "nextToken"))
        if state_machine is not None:
            machines = [machine for machine in machines if machine["name"] == state_machine]
            if not machines:
                raise click.ClickException(f"no state machine is named {state_machine!r}")
        for machine in machines:
            request: dict[str, Any] = {"stateMachineArn": machine["stateMachineArn"]}
            if status is not None:
                request["statusFilter"] = status
            found.extend(paginate(call, "ListExecutions", request, "executions", "nextToken"))
    found.sort(key=lambda execution: execution["startDate"], reverse=True)
    if output == OutputFormat.JSON.value:
        click.echo(to_json(found[:limit]))
        return
    rows = [
        [
            execution["name"],
            execution["stateMachineArn"].rsplit(":", 1)[-1],
            execution["status"],
            _timestamp(execution["startDate"]),
            _duration(execution),
        ]
        for execution in found[:limit]
    ]
    columns = ["name", "state_machine", "status", "started", "duration"]
    render(Rows(columns, rows), OutputFormat.TABLE, sys.stdout)


@executions.command("describe")
@project_option
@execution_argument
def describe_execution(project_dir: Path, execution: str) -> None:
    """DescribeExecution of EXECUTION (its ARN, or its name when one state machine has it)."""
    with step_functions(project_dir) as call:
        described = call("DescribeExecution", {"executionArn": _execution_arn(call, execution)})
    click.echo(to_json(described))


@executions.command("history")
@project_option
@execution_argument
@output_option
def execution_history(project_dir: Path, execution: str, output: str) -> None:
    """The events of EXECUTION (its ARN, or its name), oldest first."""
    with step_functions(project_dir) as call:
        request = {"executionArn": _execution_arn(call, execution)}
        events = list(paginate(call, "GetExecutionHistory", request, "events", "nextToken"))
    if output == OutputFormat.JSON.value:
        click.echo(to_json(events))
        return
    first = events[0]["timestamp"] if events else None
    rows = [
        [
            event["id"],
            f"+{(event['timestamp'] - first).total_seconds():.3f}s" if first else "",
            event["type"],
            _detail(event),
        ]
        for event in events
    ]
    render(Rows(["id", "at", "type", "details"], rows), OutputFormat.TABLE, sys.stdout)


def to_json(value: object) -> str:
    """A response as indented JSON, its timestamps in ISO 8601."""
    return json.dumps(value, indent=2, default=_iso)


def _standard(machines: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The STANDARD state machines: AWS lists no EXPRESS machine's executions."""
    return [machine for machine in machines if machine.get("type") != "EXPRESS"]


def _execution_arn(call: Call, execution: str) -> str:
    """An execution's ARN from its ARN or its name (searched in every state machine)."""
    if execution.startswith("arn:"):
        return execution
    matches: list[str] = []
    for machine in _standard(paginate(call, "ListStateMachines", {}, "stateMachines", "nextToken")):
        request = {"stateMachineArn": machine["stateMachineArn"]}
        for listed in paginate(call, "ListExecutions", request, "executions", "nextToken"):
            if listed["name"] == execution:
                matches.append(listed["executionArn"])
    if len(matches) != 1:
        why = "no execution is" if not matches else f"{len(matches)} executions are"
        raise click.ClickException(f"{why} named {execution!r}: give its ARN")
    return matches[0]


def _detail(event: Mapping[str, Any]) -> str:
    details: Mapping[str, Any] = next(
        (value for key, value in event.items() if key.endswith("EventDetails")), {}
    )
    shown = [
        str(details[key])
        for key in ("name", "resource", "error", "cause", "output")
        if details.get(key) is not None
    ]
    return clip(" ".join(shown), DETAIL_CHARS)


def _duration(execution: Mapping[str, Any]) -> str:
    stop = execution.get("stopDate")
    if stop is None:
        return ""
    return f"{(stop - execution['startDate']).total_seconds():.3f}s"


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(sep=" ", timespec="milliseconds")


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")

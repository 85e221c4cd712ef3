"""`redstep run`: one execution of a project's state machine, in this process, shown as it runs.

No server is needed: the command opens the project's services (the engine, the Data API, the
buckets, the local functions and their private endpoint), starts the execution, prints each state,
SQL statement, retry and failure as it happens, then the output or the error. Ctrl-C stops the
execution (ABORTED) before the services close. An EXPRESS state machine runs as StartExecution
starts it (asynchronously), watched as a Standard one is, its history read from memory. It is a
one-off: executions a stopped redstep left RUNNING stay so (it would cut them short again when
it ends), and triggers do not fire.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.text import Text

from redstep.cli.options import project_option
from redstep.cli.progress import ExecutionProgress, describe_end

if TYPE_CHECKING:
    from redstep.runtime.messages import Response
    from redstep.services import Services

POLL_SECONDS = 0.05
"""How often the view looks for new events and statements while the execution runs."""
PAGE_SIZE = 500
"""History events read per look."""
ENDED_STATEMENTS = frozenset({"FINISHED", "FAILED", "ABORTED"})


@click.command("run")
@click.argument("state_machine")
@project_option
@click.option("--input", "input_text", default=None, help="The execution's input, as JSON text.")
@click.option(
    "--input-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Read the input from a JSON file.",
)
@click.option("--name", default=None, help="The execution's name (a UUID otherwise).")
@click.option(
    "--fast-waits",
    is_flag=True,
    help="Skip the time Wait states, retry intervals and timeouts would wait (a virtual clock).",
)
@click.option(
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: print only one JSON object (executionArn, status, output or error and cause, "
    "duration).",
)
def run(
    state_machine: str,
    project_dir: Path,
    input_text: str | None,
    input_file: Path | None,
    name: str | None,
    fast_waits: bool,
    output: str,
) -> None:
    """Run STATE_MACHINE (a name from redstep.toml, or an ARN) once and show it as it runs.

    Exits 0 when the execution SUCCEEDED, 1 when it FAILED, TIMED_OUT or was ABORTED.
    """
    # Imported here: the services' stack costs every other command a fifth of a second to load.
    from redstep.api.local_endpoint import open_services
    from redstep.project import ProjectError, ProjectInUse, load_project
    from redstep.runtime.clock import VirtualClock
    from redstep.runtime.errors import StepFunctionsError
    from redstep.runtime.express import is_express_arn

    execution_input = _input(input_text, input_file)
    try:
        project = load_project(project_dir)
        clock = VirtualClock() if fast_waits else None
        services = open_services(project, clock=clock, is_one_off=True)
    except (ProjectError, ProjectInUse) as error:
        raise click.ClickException(str(error)) from error
    console = Console(highlight=False, soft_wrap=True) if output == "text" else None
    with services, _ctrl_c_as_a_flag() as interrupted:
        arn = _state_machine_arn(services, state_machine)
        request: dict[str, Any] = {"stateMachineArn": arn, "input": execution_input}
        if name is not None:
            request["name"] = name
        left_running = [record.arn for record in services.engine.store.running_executions()]
        submitted_after = datetime.now(UTC)
        started = time.perf_counter()
        try:
            execution_arn = services.engine.start_execution(request)["executionArn"]
        except StepFunctionsError as error:  # a bad name, an input too big
            raise click.ClickException(f"{error.code}: {error.message}") from None
        if console is not None:
            console.print(f"[bold]{execution_arn}[/]")
            for other in left_running:
                console.print(
                    f"[yellow]{other} was left RUNNING by a redstep that stopped: "
                    "`redstep serve` resumes it[/]"
                )
        watch = Watch(services, execution_arn, submitted_after)
        is_stopping = False
        while (described := watch.look(console))["status"] == "RUNNING":
            if interrupted.is_set() and not is_stopping:
                if console is not None:
                    console.print("[yellow]stopping the execution…[/]")
                is_stopping = True
                if is_express_arn(execution_arn):  # AWS's StopExecution takes none: redstep's own
                    services.engine.express.stop(execution_arn)
                else:
                    services.engine.stop_execution({"executionArn": execution_arn})
        seconds = time.perf_counter() - started
        if console is not None:
            for line in describe_end(described, seconds):
                console.print(line)
        else:
            click.echo(json.dumps(_summary(described)))
    sys.exit(0 if described["status"] == "SUCCEEDED" else 1)


@contextlib.contextmanager
def _ctrl_c_as_a_flag() -> Iterator[threading.Event]:
    """Ctrl-C sets a flag instead of raising, while the block runs: starting, stopping and
    watching the execution are never cut in half, and a second Ctrl-C while it stops changes
    nothing (the stop is bounded)."""
    pressed = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield pressed  # only the main thread takes signals (a test may call from another)
        return
    previous = signal.signal(signal.SIGINT, lambda *_: pressed.set())
    try:
        yield pressed
    finally:
        if previous is not None:  # None: installed outside Python, nothing to put back
            signal.signal(signal.SIGINT, previous)


def _input(text: str | None, file: Path | None) -> str:
    if text is not None and file is not None:
        raise click.UsageError("give the input either with --input or with --input-file")
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise click.ClickException(f"cannot read {file}: {error}") from error
    if text is None:
        return "{}"
    try:
        json.loads(text)
    except ValueError as error:
        hint = "--input-file" if file is not None else "--input"
        raise click.BadParameter(f"not JSON: {error}", param_hint=hint) from None
    return text


def _state_machine_arn(services: Services, name_or_arn: str) -> str:
    from redstep.runtime.errors import StepFunctionsError

    arn = (
        name_or_arn
        if name_or_arn.startswith("arn:")
        else services.engine.region.state_machine_arn(name_or_arn)
    )
    try:
        services.engine.describe_state_machine({"stateMachineArn": arn})
    except StepFunctionsError:
        declared = ", ".join(sorted(services.project.state_machines)) or "none"
        raise click.ClickException(
            f"no state machine {name_or_arn!r} in {services.project.root} "
            f"(redstep.toml declares: {declared})"
        ) from None
    return arn


class Watch:
    """What is new about one execution at each look: the history events appended since the last
    look, and the Data API statements that ended since (those submitted after it started)."""

    def __init__(self, services: Services, execution_arn: str, submitted_after: datetime) -> None:
        self._services = services
        self._execution_arn = execution_arn
        self._submitted_after = submitted_after
        self._progress = ExecutionProgress()
        self._last_event_id = 0
        self._reported: set[str] = set()

    def look(self, console: Console | None) -> Response:
        """Wait up to POLL_SECONDS for the execution to end, print what happened meanwhile, in
        the order it happened, and describe the execution.

        Events are read before statements: a statement's line belongs before the event that
        reports it ended, and one that ends between the two reads is then read too. Their lines
        are ordered by time (both UTC; on the virtual clock the events may run ahead, and only
        their order among statements suffers)."""
        described = self._services.engine.wait(self._execution_arn, POLL_SECONDS)
        timed = [*self._event_lines(), *self._statement_lines()]
        timed.sort(key=lambda pair: pair[0])  # stable: one event's lines stay together, in order
        if console is not None:
            for _, line in timed:
                console.print(line)
        return described

    def _event_lines(self) -> list[tuple[datetime, Text]]:
        lines: list[tuple[datetime, Text]] = []
        while True:
            events = self._services.engine.events_after(
                self._execution_arn, self._last_event_id, PAGE_SIZE
            )
            for event in events:
                lines.extend((event["timestamp"], line) for line in self._progress.on_event(event))
                self._last_event_id = event["id"]
            if len(events) < PAGE_SIZE:
                return lines

    def _statement_lines(self) -> list[tuple[datetime, Text]]:
        dataapi = self._services.dataapi
        listed = dataapi.list_statements({"Status": "ALL", "MaxResults": 100})["Statements"]
        lines: list[tuple[datetime, Text]] = []
        for statement in reversed(listed):  # oldest first
            if (
                statement["Id"] in self._reported
                or statement["CreatedAt"] < self._submitted_after
                or statement["Status"] not in ENDED_STATEMENTS
            ):
                continue
            self._reported.add(statement["Id"])
            described = dataapi.describe_statement({"Id": statement["Id"]})
            name = statement.get("StatementName")
            ended = described["UpdatedAt"]
            lines.extend((ended, line) for line in self._progress.on_statement(described, name))
        return lines


def _summary(described: Response) -> dict[str, Any]:
    """`--output json`'s object: what a script needs to know about the run."""
    summary: dict[str, Any] = {
        "executionArn": described["executionArn"],
        "status": described["status"],
    }
    if described["status"] == "SUCCEEDED":
        summary["output"] = json.loads(described.get("output") or "null")
    else:
        summary["error"] = described.get("error")
        summary["cause"] = described.get("cause")
    stop = described.get("stopDate") or described["startDate"]
    summary["duration"] = round((stop - described["startDate"]).total_seconds(), 3)
    return summary

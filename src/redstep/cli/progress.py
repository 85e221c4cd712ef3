"""An execution as it happens, in lines for a terminal: states, their durations, SQL, failures.

`ExecutionProgress` is fed the execution's history events (in order, as they are appended) and
the Data API statements that end while it runs, and returns the lines to print; it reads no
clock and prints nothing, so the same events always give the same lines.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from rich.markup import escape
from rich.text import Text

from redstep.cli.render import clip
from redstep.web.progress import TASK_FAILURES, TASK_SCHEDULED, event_details
from redstep.web.progress import ExecutionProgress as StateProgress

CAUSE_CHARS = 400
"""How much of a cause a line shows; the whole cause is in the history."""
SQL_CHARS = 72
"""How much of a statement's text its line shows (its first line, whitespace collapsed)."""


class ExecutionProgress:
    """The lines an execution's events and statements print as, one event at a time."""

    def __init__(self) -> None:
        self._states = StateProgress(keeps_data=False)
        """Which state each event happened in, and each visit's failures and retries."""
        self._entered: dict[str, list[datetime]] = defaultdict(list)
        """State name -> when its current entries began (a Map runs one state many times)."""

    def on_event(self, event: Mapping[str, Any]) -> list[Text]:
        """The lines one history event prints as (often none)."""
        self._states.apply(event)
        kind: str = event["type"]
        visit = self._states.visit_of(event["id"])
        if kind.endswith("StateEntered"):
            name: str = event["stateEnteredEventDetails"]["name"]
            self._entered[name].append(event["timestamp"])
            return [Text.from_markup(f"[cyan]▶[/] {escape(name)}")]
        if kind.endswith("StateExited"):
            name = event["stateExitedEventDetails"]["name"]
            began = self._entered[name].pop(0) if self._entered[name] else event["timestamp"]
            took = _duration(event["timestamp"] - began)
            return [Text.from_markup(f"[green]✓[/] {escape(name)}  [dim]{took}[/]")]
        state = visit.name if visit is not None else ""
        if kind in TASK_FAILURES:
            details = event_details(event)
            return [_failure("✗", state, details.get("error"), details.get("cause"))]
        if kind in TASK_SCHEDULED and visit is not None and visit.retries:
            return [Text.from_markup(f"[yellow]↻[/] {escape(state)}: retry {visit.retries}")]
        return []

    def on_statement(self, described: Mapping[str, Any], name: str | None) -> list[Text]:
        """The lines of a Data API statement that ended (DescribeStatement's response, and the
        StatementName ListStatements gives): its status, duration and rows, and each
        sub-statement of a batch that touched rows or failed."""
        status: str = described["Status"]
        style = {"FINISHED": "green", "FAILED": "red"}.get(status, "yellow")
        subs: list[Mapping[str, Any]] = described.get("SubStatements") or []
        first_sql = subs[0]["QueryString"] if subs else described.get("QueryString", "")
        name = name or _sql_line(first_sql)
        counts = [f"{len(subs)} statements"] if subs else []
        if described.get("ResultRows", -1) >= 0:
            counts.append(_rows(described["ResultRows"]))
        counts.append(_duration_ns(described.get("Duration", 0)))
        summary = "  ".join(counts)
        lines = [
            Text.from_markup(
                f"  [bold]SQL[/] {escape(name)}  [{style}]{status}[/]  [dim]{summary}[/]"
            )
        ]
        for sub in subs:
            failed = sub["Status"] == "FAILED"
            if sub.get("ResultRows", -1) > 0 or failed:
                shown = _rows(sub["ResultRows"]) if not failed else "[red]FAILED[/]"
                lines.append(
                    Text.from_markup(
                        f"    [dim]{escape(_sql_line(sub['QueryString']))}[/]  {shown}"
                    )
                )
        if status != "FINISHED" and described.get("Error"):
            lines.append(Text("    " + _clip(described["Error"]), style="red"))
        return lines


def describe_end(described: Mapping[str, Any], seconds: float) -> Iterable[Text]:
    """The closing lines of a run: its status and time, then its output or its error and cause."""
    status: str = described["status"]
    style = "green" if status == "SUCCEEDED" else "red"
    yield Text.from_markup(f"[bold {style}]{status}[/] [dim]in {seconds:.2f} s[/]")
    if status == "SUCCEEDED":
        yield Text(described.get("output") or "null")
    elif described.get("error") or described.get("cause"):
        yield _failure("", "", described.get("error"), described.get("cause"), whole=True)


def _failure(
    mark: str, state: str, error: str | None, cause: str | None, *, whole: bool = False
) -> Text:
    text = Text()
    if mark:
        text.append(f"{mark} ", style="red")
    if state:
        text.append(f"{state}: ")
    text.append(error or "(no error)", style="bold red")
    if cause:
        text.append(": " + (cause if whole else _clip(cause)))
    return text


def _clip(text: str) -> str:
    return clip(text, CAUSE_CHARS)


def _sql_line(sql: str) -> str:
    """A statement's first non-comment line, cut to SQL_CHARS."""
    lines = [line.strip() for line in sql.strip().splitlines()]
    return clip(next((line for line in lines if line and not line.startswith("--")), ""), SQL_CHARS)


def _rows(count: int) -> str:
    return f"{count} row{'' if count == 1 else 's'}"


def _duration(delta: timedelta) -> str:
    return _seconds(delta.total_seconds())


def _duration_ns(nanoseconds: int) -> str:
    return _seconds(nanoseconds / 1e9)


def _seconds(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"

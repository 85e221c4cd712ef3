"""The one renderer every command prints through: a table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TextIO

from rich.console import Console
from rich.table import Table


class OutputFormat(StrEnum):
    """What `--output` accepts."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"


@dataclass(frozen=True, slots=True)
class Rows:
    """A result to print: column names and rows of JSON-compatible values."""

    columns: Sequence[str]
    rows: Sequence[Sequence[object]]


def render(result: Rows, output: OutputFormat, stream: TextIO) -> None:
    """Write `result` to `stream` in the chosen format."""
    match output:
        case OutputFormat.TABLE:
            _render_table(result, stream)
        case OutputFormat.JSON:
            records = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
            stream.write(json.dumps(records, indent=2, default=str) + "\n")
        case OutputFormat.CSV:
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(result.columns)
            writer.writerows(["" if v is None else v for v in row] for row in result.rows)
            stream.write(buffer.getvalue())


def _render_table(result: Rows, stream: TextIO) -> None:
    table = Table(show_edge=False, header_style="bold")
    for name in result.columns:
        table.add_column(name)
    for row in result.rows:
        table.add_row(*("NULL" if v is None else str(v) for v in row))
    console = Console(file=stream, width=200 if not stream.isatty() else None)
    console.print(table)
    count = len(result.rows)
    console.print(f"({count} row{'s' if count != 1 else ''})")


def clip(text: str, limit: int) -> str:
    """`text` on one line (whitespace collapsed), cut to `limit` characters with an ellipsis."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"

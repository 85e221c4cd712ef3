"""The Data API statements the console shows: those a state's task results name, and one
statement with a preview of its result.

A task that submits SQL (ExecuteStatement, BatchExecuteStatement, or a function calling them)
returns the statement's `Id`; any `Id` in a state's results that the Data API knows is a
statement of that state. Results are previewed from GetStatementResult's first page.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from redstep.dataapi.errors import DataApiError
from redstep.dataapi.fields import field_value
from redstep.dataapi.service import DataApiService

PREVIEW_ROWS = 100


def statements_of(dataapi: DataApiService, results: Iterable[str]) -> list[dict[str, Any]]:
    """DescribeStatement of each statement the task results (JSON texts) name by `Id`."""
    described: dict[str, dict[str, Any]] = {}
    for result in results:
        try:
            value = json.loads(result)
        except ValueError:
            continue
        for statement_id in _ids(value):
            if statement_id in described:
                continue
            try:
                described[statement_id] = dict(dataapi.describe_statement({"Id": statement_id}))
            except DataApiError:  # an Id of something else, or a statement since purged
                continue
    return list(described.values())


def statement_view(dataapi: DataApiService, statement_id: str) -> dict[str, Any]:
    """DescribeStatement, with `Preview` (columns and up to PREVIEW_ROWS rows, as text) on the
    statement and each sub-statement that has a result set."""
    described: dict[str, Any] = dict(dataapi.describe_statement({"Id": statement_id}))
    subs = [dict(sub) for sub in described.get("SubStatements", [])]
    for part in [described, *subs]:
        if part.get("HasResultSet") and part.get("Status") == "FINISHED":
            part["Preview"] = _preview(dataapi, part["Id"])
    described["SubStatements"] = subs
    return described


def _preview(dataapi: DataApiService, statement_id: str) -> dict[str, Any]:
    try:
        page = dataapi.get_statement_result({"Id": statement_id})
    except DataApiError as error:  # expired, or purged
        return {"columns": [], "rows": [], "total": 0, "error": error.message}
    return {
        "columns": [column.get("name", "") for column in page.get("ColumnMetadata", [])],
        "rows": [[_text(field) for field in record] for record in page["Records"][:PREVIEW_ROWS]],
        "total": page.get("TotalNumRows", len(page["Records"])),
    }


def _text(field: Mapping[str, Any]) -> str:
    """A result Field as the text a table cell shows."""
    value = field_value(field)
    if value is None:
        return "NULL"
    if isinstance(value, bytes):  # VARBYTE (the wire carries it as base64)
        return f"(binary, {len(value)} bytes)"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _ids(value: Any) -> Iterator[str]:
    """The `Id`s a JSON value holds, but those of a batch's SubStatements (`id:N`), which come
    with their batch."""
    if isinstance(value, dict):
        for key, member in value.items():
            if key == "Id" and isinstance(member, str):
                yield member
            elif key != "SubStatements":
                yield from _ids(member)
    elif isinstance(value, list):
        for item in value:
            yield from _ids(item)

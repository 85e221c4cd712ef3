"""What a state's paths and `…Path` fields resolve to at run time, checked as AWS checks them.

Each function reads the state's input (and the context object, through the scope) and either
returns a value the interpreter can use or raises `StatesFailure(States.Runtime)` with AWS's
wording; the interpreter adds the "An error occurred while executing the state …" prefix.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from redstep.asl.errors import StatesError, StatesFailure
from redstep.asl.jsonata import QueryEvaluationFailure
from redstep.asl.model import MapState, ToleratedFailure, WaitState
from redstep.asl.paths import Path, PathNotFound, display, to_json
from redstep.asl.queries import Query, json_type
from redstep.asl.scope import Scope
from redstep.asl.timestamps import parse_timestamp

#: The largest Seconds, TimeoutSeconds or HeartbeatSeconds a definition may give.
MAX_SECONDS = 99_999_999


def select(path: Path | Query, data: Any, scope: Scope) -> Any:
    """What `path` selects (or, in a JSONata state, what the expression gives); a definite
    path that selects nothing fails the state."""
    if isinstance(path, Query):
        return path.evaluate(data, scope)
    if path.keys == () and path.variable is None:
        return data
    try:
        return path.select(data, scope)
    except PathNotFound:
        raise StatesFailure(
            StatesError.RUNTIME,
            f"Invalid path '{path.text}' : No results for path: {_normalized(path)}",
        ) from None


def _normalized(path: Path) -> str:
    """A definite path in Jayway's normalised form, `$['a'][0]`, as AWS quotes it."""
    if path.keys is None:
        return path.text
    steps = "".join(f"[{key}]" if isinstance(key, int) else f"['{key}']" for key in path.keys)
    return f"{'$$' if path.is_context else '$'}{steps}"


def wait_until(state: WaitState, data: Any, scope: Scope, now: datetime) -> datetime:
    """When a Wait state ends: Seconds, Timestamp, SecondsPath or TimestampPath."""
    if state.seconds is not None:
        return now + timedelta(seconds=state.seconds)
    if state.timestamp is not None:
        moment = parse_timestamp(state.timestamp)
        assert moment is not None  # checked when the definition was parsed
        return moment
    if state.seconds_path is not None:
        seconds = select(state.seconds_path, data, scope)
        if not _is_integer(seconds) or not 0 <= seconds <= MAX_SECONDS:
            _refuse_query_value(state.seconds_path, seconds, "integer from 0 to 99999999")
        where = f"{state.seconds_path.text} == {to_json(seconds)}"
        if not _is_integer(seconds):
            raise StatesFailure(
                StatesError.RUNTIME,
                f"The SecondsPath parameter cannot be parsed as a long value: {where}",
            )
        if seconds < 0:
            raise StatesFailure(
                StatesError.RUNTIME,
                f"The SecondsPath parameter references a negative value: {where}",
            )
        if seconds > MAX_SECONDS:
            raise StatesFailure(
                StatesError.RUNTIME,
                f"The SecondsPath parameter references a value above {MAX_SECONDS}: {where}",
            )
        return now + timedelta(seconds=seconds)
    assert state.timestamp_path is not None
    value = select(state.timestamp_path, data, scope)
    moment = parse_timestamp(value) if isinstance(value, str) else None
    if moment is None:
        _refuse_query_value(state.timestamp_path, value, "ISO-8601 timestamp")
        raise StatesFailure(
            StatesError.RUNTIME,
            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
            f"date-time format string: {state.timestamp_path.text} == {to_json(value)}",
        )
    return moment


def task_seconds(
    fixed: int | None, path: Path | Query | None, field_name: str, data: Any, scope: Scope
) -> int | None:
    """TimeoutSeconds(Path) or HeartbeatSeconds(Path): a positive integer, or None if unset."""
    if path is None:
        return fixed
    value = select(path, data, scope)
    if not _is_integer(value) or not 0 < value <= MAX_SECONDS:
        _refuse_query_value(path, value, "integer from 1 to 99999999")
        raise StatesFailure(
            StatesError.RUNTIME,
            f"The {field_name} parameter references an invalid value: "
            f"{path.text} == {to_json(value)}",
        )
    return int(value)


def map_items(state: MapState, data: Any, scope: Scope) -> list[Any]:
    """The items a Map iterates over: ItemsPath's selection, or JSONata's Items."""
    items = select(state.items if state.items is not None else state.items_path, data, scope)
    if not isinstance(items, list):
        error = StatesError.RUNTIME if state.items is None else StatesError.QUERY_EVALUATION_ERROR
        raise StatesFailure(error, f"Map state input must be an array but was: {to_json(items)}")
    return items


def max_concurrency(state: MapState, data: Any, scope: Scope) -> int:
    """How many iterations may run at once; 0 means no limit."""
    if state.max_concurrency_path is None:
        return state.max_concurrency
    value = select(state.max_concurrency_path, data, scope)
    if not _is_integer(value) or value < 0:
        _refuse_query_value(state.max_concurrency_path, value, "non-negative integer")
        raise StatesFailure(
            StatesError.RUNTIME,
            f'The MaxConcurrencyPath field refers to value "{display(value)}" which is not a '
            f"valid integer: {state.max_concurrency_path.text}",
        )
    return int(value)


def tolerated_failures(
    tolerated: ToleratedFailure, total: int, data: Any, scope: Scope
) -> int | None:
    """How many iterations may fail before the Map fails; None when the state sets no limit.

    With both a count and a percentage the stricter one wins.
    """
    count, percentage = tolerated_limits(tolerated, data, scope)
    limits = []
    if count is not None:
        limits.append(count)
    if percentage is not None:
        limits.append(math.floor(total * percentage / 100))
    return min(limits) if limits else None


def tolerated_limits(
    tolerated: ToleratedFailure, data: Any, scope: Scope
) -> tuple[int | None, float | None]:
    """ToleratedFailureCount and ToleratedFailurePercentage, their paths resolved."""
    count = tolerated.count
    if tolerated.count_path is not None:
        value = select(tolerated.count_path, data, scope)
        if not _is_integer(value) or value < 0:
            _refuse_query_value(tolerated.count_path, value, "non-negative integer")
            raise StatesFailure(
                StatesError.RUNTIME,
                f'The ToleratedFailureCountPath field refers to value "{display(value)}" which '
                f"is not a valid integer: {tolerated.count_path.text}",
            )
        count = int(value)
    percentage = tolerated.percentage
    if tolerated.percentage_path is not None:
        value = select(tolerated.percentage_path, data, scope)
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 100:
            _refuse_query_value(tolerated.percentage_path, value, "number from 0 to 100")
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise StatesFailure(
                StatesError.RUNTIME,
                f'The ToleratedFailurePercentagePath field refers to value "{display(value)}" '
                f"which is not a valid float: {tolerated.percentage_path.text}",
            )
        if not 0 <= value <= 100:
            raise StatesFailure(
                StatesError.RUNTIME, "ToleratedFailurePercentage must be between 0 and 100."
            )
        percentage = value
    return count, percentage


def positive_integer(
    value: int | None, path: Path | Query | None, field_name: str, data: Any, scope: Scope
) -> int | None:
    """A positive integer field of a distributed Map (MaxItems, MaxItemsPerBatch, …) or the
    value its `…Path` twin selects."""
    if path is None:
        return value
    selected = select(path, data, scope)
    if not _is_integer(selected) or selected < 0:
        _refuse_query_value(path, selected, "non-negative integer")
        raise StatesFailure(
            StatesError.RUNTIME,
            f'The {field_name}Path field refers to value "{display(selected)}" which is not a '
            f"valid integer: {path.text}",
        )
    return int(selected)


def error_text(value: Any, field_name: str) -> str:
    """A Fail state's ErrorPath or CausePath result, which must be a string."""
    if not isinstance(value, str):
        raise StatesFailure(
            StatesError.RUNTIME,
            f"The {field_name} field refers to value {to_json(value)} which is not a string",
        )
    return value


def _refuse_query_value(field: Path | Query, value: Any, expected: str) -> None:
    """In a JSONata state, a field's expression that gave a value the field cannot take is a
    QueryEvaluationError (worded as AWS words a Condition that is not a boolean); a JSONPath
    field's own message follows in the caller."""
    if isinstance(field, Query):
        raise QueryEvaluationFailure(
            f"The JSONata expression '{field.expression_text}' specified for the field "
            f"'{field.field}' returned an unexpected result type. Expected '{expected}', but was "
            f"'{json_type(value)}' for value: {to_json(value)}",
            field.field,
        )


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)

"""Replay executions recorded on real AWS (../shared/conformance/asl) through the engine.

Each case runs its template with its input on a virtual clock and must end as AWS ended it:
the same status, the same output or error and cause, and — where the recording is exact — the
same history: event types, ids, previousEventIds and details. Every case runs: JSONata,
variables and distributed Map (whose children run as executions of the same engine) included.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from conformance import MISSING, load_cases
from conformance import definition as recorded_definition

from redstep.runtime.clock import VirtualClock
from redstep.runtime.engine import Engine
from redstep.runtime.memory_store import MemoryExecutionStore

ROLE = "arn:aws:iam::123456789012:role/conformance"

CASES = load_cases()


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    with Engine(MemoryExecutionStore(), clock=VirtualClock()) as engine:
        yield engine


def _placeholder_pattern(expected: str) -> re.Pattern[str]:
    """AWS recordings mask ids and ARNs as `<ArnPart_0idx>`, `<uuid:1>` (any text matches) and
    write every account as 111111111111 (any account matches)."""
    parts = re.split(r"<[A-Za-z_:0-9]+>", expected)
    pattern = ".*".join(re.escape(part) for part in parts)
    return re.compile(pattern.replace("111111111111", r"\d{12}"), re.DOTALL)


def _matches(expected: Any, actual: Any) -> bool:
    """Equal JSON values, a masked string in `expected` matching any text in its place."""
    if isinstance(expected, str):
        return (
            isinstance(actual, str) and _placeholder_pattern(expected).fullmatch(actual) is not None
        )
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and expected.keys() == actual.keys()
            and all(_matches(value, actual[key]) for key, value in expected.items())
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(_matches(e, a) for e, a in zip(expected, actual, strict=True))
        )
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    return bool(expected == actual)


def _json_value(recorded: Any) -> Any:
    """Recorded outputs that were not objects are stored as JSON text."""
    return json.loads(recorded) if isinstance(recorded, str) else recorded


@pytest.mark.skipif(not CASES, reason=MISSING)
@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_recorded_execution(engine: Engine, case: dict[str, Any]) -> None:
    definition = json.dumps(recorded_definition(case))
    name = re.sub(r"[^A-Za-z0-9_-]", "-", case["id"])[-80:]
    machine = engine.create_state_machine({"name": name, "definition": definition, "roleArn": ROLE})
    given = case["input"]
    started = engine.start_execution(
        {
            "stateMachineArn": machine["stateMachineArn"],
            "input": given if isinstance(given, str) else json.dumps(given),
        }
    )
    result = engine.wait(started["executionArn"], timeout=30)
    expected = case["expected"]
    assert result["status"] == expected["status"], result
    if expected["status"] == "SUCCEEDED":
        output = json.loads(result["output"])
        assert _matches(_json_value(expected["output"]), output), output
    elif case["compare"] == "exact":
        for member in ("error", "cause"):
            if member in expected:
                assert _matches(expected[member], result.get(member)), result
            else:
                assert member not in result, result
    history = engine.get_execution_history(
        {"executionArn": started["executionArn"], "maxResults": 1000}
    )["events"]
    if case["compare"] == "exact":
        assert [event["type"] for event in history] == [event["type"] for event in case["history"]]
        for ours, recorded in zip(history, case["history"], strict=True):
            recorded = _settled_race(recorded, case["history"])
            assert _matches(_comparable(recorded), _comparable(ours)), (ours, recorded)


def _settled_race(recorded: dict[str, Any], history: list[dict[str, Any]]) -> dict[str, Any]:
    """A distributed Map's MapStateExited as AWS records it when the map run's end is seen.

    The map run's MapRunSucceeded is written by the map run and the state's exit by the parent
    workflow, so AWS's exit event points at whichever of MapRunStarted and MapRunSucceeded the
    parent saw last: nine recordings here point at MapRunSucceeded, one at MapRunStarted. redstep
    has no such race (the exit follows the run's end); the one raced recording is read as the
    other nine.
    """
    if recorded["type"] != "MapStateExited":
        return recorded
    by_id = {event["id"]: event for event in history}
    pointed = by_id.get(recorded["previousEventId"], {})
    if pointed.get("type") != "MapRunStarted":
        return recorded
    ended = next(
        event["id"]
        for event in history
        if event["type"] == "MapRunSucceeded" and event["previousEventId"] == pointed["id"]
    )
    return {**recorded, "previousEventId": ended}


def _comparable(event: dict[str, Any]) -> dict[str, Any]:
    """An event's numbering and details, payloads parsed (recordings store objects parsed and
    other JSON as text), without the role ARN the recording masked."""
    comparable: dict[str, Any] = {"id": event["id"], "previousEventId": event["previousEventId"]}
    for key, value in event.items():
        if key.endswith("EventDetails"):
            comparable[key] = {
                name: json.loads(item)
                if name in ("input", "output") and isinstance(item, str)
                else item
                for name, item in value.items()
                if name != "roleArn"
            }
    return comparable

"""`read_json`: JSON text read as strictly as AWS reads it, and no deeper than redstep walks."""

from __future__ import annotations

from typing import Any

import pytest

from redstep.asl.json_text import JSON_TOO_DEEP, MAX_JSON_DEPTH, InvalidJsonText, read_json


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": [1, 2.5, -3e2, true, null, "x"]}', {"a": [1, 2.5, -300.0, True, None, "x"]}),
        ("1.7976931348623157e308", 1.7976931348623157e308),  # the largest double still reads
        ("1" + "0" * 400, 10**400),  # an integer is read exactly
    ],
)
def test_json_is_read(text: str, expected: Any) -> None:
    value = read_json(text)
    assert value == expected
    assert type(value) is type(expected)


def test_nesting_up_to_the_limit_is_read() -> None:
    value = read_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)
    for _ in range(MAX_JSON_DEPTH - 1):
        [value] = value
    assert value == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("NaN", "Non-standard token 'NaN'"),
        ("[Infinity]", "Non-standard token 'Infinity'"),
        ('{"a": -Infinity}', "Non-standard token '-Infinity'"),
        ("[1e400]", "Numeric value (1e400) out of range"),
        ("-1.5e999", "Numeric value (-1.5e999) out of range"),
        ("1" * 5000, "Numeric value out of range: too many digits"),
        ("{nope", "Expecting property name enclosed in double quotes"),
        ("", "Expecting value"),
        ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), JSON_TOO_DEEP),
        ("[" * 100_000 + "]" * 100_000, JSON_TOO_DEEP),  # past the reader's own stack
        ("[" * 100_000, JSON_TOO_DEEP),  # and so deep it never gets to the missing brackets
    ],
)
def test_what_json_is_not_is_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidJsonText) as raised:
        read_json(text)
    assert str(raised.value) == reason
    assert isinstance(raised.value, ValueError)

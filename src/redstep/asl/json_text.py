"""Reading the JSON text redstep is given: strictly, and no deeper than it can walk.

Owns `read_json`, the one reader for JSON that comes in as text (an execution's input, a task's
output from SendTaskSuccess, a TestState mock's result, the argument of States.StringToJson),
and the nesting limit it enforces. Python's `json` is lenient where JSON, and so AWS, is not:
it reads NaN and the infinities, and turns a number beyond a double (1e400) into an infinity.

The nesting limit is redstep's own (AWS documents none). The parser and the template and Choice
compilers walk documents recursively, a few Python frames a level, so a deeper document is
refused where it comes in rather than halfway through a walk that runs out of stack.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from redstep.asl.paths import to_json

#: How deeply arrays and objects may nest in JSON redstep reads: a definition, an execution's
#: input, a task's output. redstep's own limit (AWS documents none): compiling a template or a
#: Choice rule takes three Python frames a level, so this keeps the walks well inside Python's
#: recursion limit (1,000), and a deeper document is refused where it comes in, not halfway.
MAX_JSON_DEPTH = 256
#: Why such a document is refused (worded as Jackson, AWS's JSON reader, words its own limit).
JSON_TOO_DEEP = f"Document nesting depth exceeds the maximum allowed ({MAX_JSON_DEPTH})"


class InvalidJsonText(ValueError):
    """JSON text `read_json` refuses; the message says why, without the text or a position.

    Callers word their own answer around it (InvalidExecutionInput, InvalidOutput, a
    States.StringToJson failure, TestState's ValidationException).
    """


def read_json(text: str) -> Any:
    """The value of the JSON `text`, read as AWS reads JSON.

    InvalidJsonText for text that is not JSON, for NaN, Infinity and -Infinity (which Python's
    reader would take), for a number with a fraction or exponent beyond a double (1e400, which
    Python would make an infinity), and for arrays and objects nested past MAX_JSON_DEPTH,
    however deep (so the answer never depends on how much stack the reader had). An integer is
    read exactly, however large, up to Python's limit on the digits it converts (4,300).
    """
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except InvalidJsonText:
        raise
    except json.JSONDecodeError as error:
        raise InvalidJsonText(error.msg) from None  # the position would only point into `text`
    except ValueError:  # only an integer past Python's digit limit gets here
        raise InvalidJsonText("Numeric value out of range: too many digits") from None
    except RecursionError:  # nested so deep the reader itself ran out of stack
        raise InvalidJsonText(JSON_TOO_DEEP) from None
    if is_nested_too_deeply(value, text):
        raise InvalidJsonText(JSON_TOO_DEEP)
    return value


def json_copy(value: Any) -> Any:
    """A copy of a JSON value made through its text (as `to_json` writes it), so that it shares
    nothing with `value`; InvalidJsonText when it nests past MAX_JSON_DEPTH."""
    try:
        text = to_json(value)
    except RecursionError:  # so deep that writing it ran out of stack
        raise InvalidJsonText(JSON_TOO_DEEP) from None
    return read_json(text)


def _refuse_constant(constant: str) -> Any:
    """Python's reader takes NaN and the infinities; JSON has no such tokens."""
    raise InvalidJsonText(f"Non-standard token '{constant}'")


def _finite_float(text: str) -> float:
    """A literal a double cannot hold would read as an infinity, which JSON cannot write."""
    number = float(text)
    if not math.isfinite(number):
        raise InvalidJsonText(f"Numeric value ({text}) out of range")
    return number


def is_nested_too_deeply(value: Any, text: str | None = None) -> bool:
    """Whether arrays and objects nest more than MAX_JSON_DEPTH levels deep in `value`.

    The walk keeps its own stack, so it answers for any depth. `text`, the JSON `value` was read
    from, spares the walk when it holds too few brackets to nest that deep (nearly always).
    """
    if text is not None and text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return False
    pending: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, Mapping | list) else []
    while pending:
        item, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            return True
        for child in item.values() if isinstance(item, Mapping) else item:
            if isinstance(child, Mapping | list):
                pending.append((child, depth + 1))
    return False

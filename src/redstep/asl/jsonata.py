"""JSONata, the query language of a JSONata state: the `{% … %}` strings in its fields.

Owns the delimiter test, compiling expressions (and JSON values holding them) once, when a
definition loads, and evaluating them against what AWS binds: `$states` (input, context, and
where defined result and errorOutput), each workflow variable by name, and the functions Step
Functions adds ($partition, $range, $hash, $random, $uuid, $parse). `$eval` is unbound, as AWS
disables it; `$now()` and `$millis()` read the execution's clock, passed in.

The language is jsonata-python's. Around it this module keeps what the library does not: JSON
null stays a value apart from undefined, nothing bound to an expression is ever changed (each
evaluation gets its own converted copy), one compiled expression runs on many threads at once
(the library keeps evaluation state on the object the thread last built: see `_parse`), and
failures are States.QueryEvaluationError with AWS's cause and the failing field's path.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from random import Random
from types import SimpleNamespace
from typing import Any, Final

from jsonata import Functions, JException, Jsonata  # type: ignore[import-untyped]
from jsonata.utils import Utils  # type: ignore[import-untyped]

from redstep.asl.errors import StatesError, StatesFailure
from redstep.asl.intrinsics import HASH_ALGORITHMS
from redstep.asl.json_text import InvalidJsonText, read_json
from redstep.asl.paths import to_json

#: JSONata's JSON null, as jsonata-python marks it (a Python None is JSONata's undefined).
_NULL: Final = Utils.NULL_VALUE
#: A result with no JSON form: JSONata's undefined, or a function (JSON.stringify drops both).
_UNDEFINED: Final = object()
#: The most elements $range builds; past it AWS refuses with its memory limit (a bound reported
#: by an AWS emulator that measured it, Floci; AWS does not document one).
MAX_RANGE_LENGTH: Final = 360_145
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
#: jsonata-js names the element type a signature wants in words; jsonata-python passes its letter.
_ARRAY_OF: Final = dict(
    a="arrays", b="booleans", f="functions", n="numbers", o="objects", s="strings"
)
Build = Callable[[dict[str, Any]], Any]
_PLACEHOLDER: Final = re.compile(r"\{\{(\{?)\w+\}?\}\}")


class JsonataSyntaxError(ValueError):
    """An expression that does not parse. The message is AWS's INVALID_JSONATA_EXPRESSION text
    (jsonata-js's, without the code); `code` is JSONata's (S0202, …); `location` is the path of
    the string inside the field (`Output/v`) when it came from a template."""

    def __init__(self, code: str, message: str, location: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.location = code, message, location


class QueryEvaluationFailure(StatesFailure):
    """States.QueryEvaluationError; `location` is the field path AWS reports (`Output/a[0]`)."""

    def __init__(self, cause: str, location: str) -> None:
        super().__init__(StatesError.QUERY_EVALUATION_ERROR, cause)
        self.location = location


@dataclass(frozen=True, slots=True)
class Bindings:
    """What an expression reads: `$states`, the variables, the execution's randomness and clock
    (a naive `now` is read as UTC)."""

    states: Mapping[str, Any]
    variables: Mapping[str, Any]
    random: Random
    now: datetime


def is_expression(value: object) -> bool:
    """Whether `value` is a JSONata expression: a string that begins with `{%` and ends with `%}`
    (nothing before or after the delimiters; AWS reads any other string as a literal)."""
    return isinstance(value, str) and len(value) >= 4 and value[:2] == "{%" and value[-2:] == "%}"


@dataclass(frozen=True, slots=True, eq=False)
class JsonataExpression:
    """One parsed expression; `text` is what stands between the delimiters, trimmed."""

    text: str
    _parsed: Any = field(repr=False)  # jsonata-python's Jsonata, shared by every thread

    def evaluate(self, bindings: Bindings, location: str) -> Any:
        """The expression's value as plain JSON; QueryEvaluationFailure when it throws or
        evaluates to undefined. `location` names the field in the cause (`Output`)."""
        return self._run(_environment(bindings), location)

    def _run(self, environment: dict[str, Any], location: str) -> Any:
        try:
            value = _from_jsonata(self._parsed.evaluate(None, environment))
            what = "returned nothing (undefined)." if value is _UNDEFINED else None
        except Exception as error:  # the library's own defects surface as TypeError and such
            what = f"threw an error during evaluation. {_describe(error)}"
        if what is None:
            return value
        cause = f"The JSONata expression '{self.text}' specified for the field '{location}' {what}"
        raise QueryEvaluationFailure(cause, location)


def compile_expression(text: str, location: str | None = None) -> JsonataExpression:
    """Parse an expression once (the text between the delimiters, or the whole `{% … %}`
    string); JsonataSyntaxError, naming `location`, when it does not parse."""
    inner = (text[2:-2] if is_expression(text) else text).strip()
    return JsonataExpression(inner, _parse(inner, location))


@dataclass(frozen=True, slots=True)
class JsonataTemplate:
    """A JSON value with expressions anywhere in it, compiled; `raw` is the definition's value."""

    raw: Any
    field: str
    build: Build | None

    @property
    def is_constant(self) -> bool:
        """Whether the value holds no expression (it evaluates to `raw` itself)."""
        return self.build is None

    def evaluate(self, bindings: Bindings) -> Any:
        """The value, each expression replaced by its result. One that evaluates to undefined
        fails, in an object or array alike (AWS: "JSON cannot represent undefined"). Literal
        parts are `raw`'s own, not copies: the engine treats JSON values as immutable."""
        if self.build is None:
            return self.raw
        return self.build(_environment(bindings))


def compile_template(value: Any, field: str) -> JsonataTemplate:
    """Compile every `{% %}` string in `value`, a state's `field` ("Arguments", "Output",
    "Choices[0]/Condition", …). A failing expression is named by its path: `field`, then `/key`
    for each object key and `[i]` for each array index (`Output/a/b[0]`)."""
    return JsonataTemplate(value, field, _compile_node(value, field))


def _compile_node(value: Any, location: str) -> Build | None:
    """A builder for `value`; None when it holds no expression (and is used as it is)."""
    if isinstance(value, str):
        if not is_expression(value):
            return None
        return partial(compile_expression(value, location)._run, location=location)
    if isinstance(value, dict):
        entries = [(k, v, _compile_node(v, f"{location}/{k}")) for k, v in value.items()]
        if all(build is None for _, _, build in entries):
            return None
        return lambda env: {k: v if build is None else build(env) for k, v, build in entries}
    if isinstance(value, list):
        items = [(v, _compile_node(v, f"{location}[{i}]")) for i, v in enumerate(value)]
        if all(build is None for _, build in items):
            return None
        return lambda env: [v if build is None else build(env) for v, build in items]
    return None


def states_members(value: Any) -> frozenset[str]:
    """The members of `$states` (`input`, `result`, …) the expressions in `value` read, for
    the parser to refuse one the field cannot have (`$states.result` outside an Output)."""
    if isinstance(value, str):
        return _members(_parse(value.strip()[2:-2]).ast) if is_expression(value) else frozenset()
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return frozenset().union(*(states_members(item) for item in value))
    return frozenset()


def syntax_tree(text: str) -> Any:
    """jsonata-python's syntax tree of an expression (the text between its delimiters);
    JsonataSyntaxError when it does not parse."""
    return _parse(text).ast


def _members(node: Any) -> frozenset[str]:
    """`$states.<name>` paths anywhere in a parsed expression (the parser's nodes keep their
    operands in attributes: steps, lhs, rhs, arguments, …)."""
    found: set[str] = set()
    seen: set[int] = set()
    pending = [node]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        steps = getattr(current, "steps", None)
        if (
            getattr(current, "type", None) == "path"
            and steps
            and len(steps) > 1
            and getattr(steps[0], "type", None) == "variable"
            and steps[0].value == "states"
            and getattr(steps[1], "type", None) == "name"
        ):
            found.add(str(steps[1].value))
        for name, item in vars(current).items():
            if name.startswith("_"):
                continue
            items = item if isinstance(item, list) else [item]
            pending.extend(
                part for part in items if hasattr(part, "type") and hasattr(part, "__dict__")
            )
    return frozenset(found)


# -- the library at its edges ------------------------------------------------------------------


def _parse(text: str, location: str | None = None) -> Any:
    try:
        parsed = Jsonata(text)
    except JException as error:
        message = _describe(error, with_code=False)
        raise JsonataSyntaxError(str(error.error), message, location) from None
    except RecursionError:  # nested past what the parser's recursion can walk
        raise JsonataSyntaxError("D1011", "Expression nested too deeply", location) from None
    # Off, a JSON null in the result stays distinct from undefined (on, both come back as None).
    parsed.set_output_convert_nulls(False)
    # The library evaluates, in each thread, through the Jsonata object last built there (or a
    # copy of the first it ran), keeping its scope on it while it runs; and every evaluation
    # starts from the evaluated object's scope. Were that object this shared one, a thread's
    # bindings would show through in the others' evaluations. So another is built after it.
    Jsonata("null")
    return parsed


def _describe(error: Exception, *, with_code: bool = True) -> str:
    """`CODE: message` as jsonata-js writes it, which is what AWS reports (`T1006: Attempted to
    invoke a non-function`). jsonata-python's catalogue says "Object" for "function" and inserts
    values bare where jsonata-js writes `{{value}}` as JSON, so the message is rebuilt here."""
    if isinstance(error, RecursionError):  # recursion deeper than Python's stack allows
        error = JException("D1011", -1)
    if not isinstance(error, JException):
        return str(error)
    code = str(error.error)
    if isinstance(error, _FunctionError):
        return f"{code}: {error.text}" if code else str(error.text)
    template = JException.error_codes.get(code)
    if template is None:  # a message raised in the code's place
        return code
    extra = getattr(error, "extra", None)  # for T0412, the element type's signature letter
    values = iter((error.current, error.expected, _ARRAY_OF.get(str(extra), extra)))

    def insert(match: re.Match[str]) -> str:
        value = next(values, None)
        if match.group(1):  # {{{value}}}: inserted as it is
            return str(value)
        converted = _UNDEFINED if value is None else _from_jsonata(value)
        return "undefined" if converted is _UNDEFINED else to_json(converted)

    message = _PLACEHOLDER.sub(insert, template.replace("Object", "function"))
    return f"{code}: {message}" if with_code else message


def _environment(bindings: Bindings) -> dict[str, Any]:
    """The names an expression sees, as jsonata-python values: the added functions, then the
    variables, then `$states` (so no variable can hide it)."""
    now = bindings.now if bindings.now.tzinfo else bindings.now.replace(tzinfo=UTC)
    millis = (now - _EPOCH) // timedelta(milliseconds=1)
    # Made anew each time: binding a function renames its signature, so none is shared.
    environment: dict[str, Any] = {
        "partition": _function(_partition, "<x?x?x?:x>"),
        "range": _function(_range, "<x?x?x?x?:x>"),
        "hash": _function(_hash, "<x?x?x?:x>"),
        "parse": _function(_parse_json, "<x?x?:x>"),
        "random": _function(partial(_random, bindings.random), "<x?x?:x>"),
        "uuid": _function(partial(_uuid, bindings.random), "<x?:x>"),
        # jsonata's own $shuffle draws from the process's random: a replay must draw the same
        "shuffle": _function(partial(_shuffle, bindings.random), "<a?:a>"),
        "now": _function(partial(_now, millis), "<s?s?:s>"),
        "millis": _function(lambda _: millis, "<:n>"),
        "eval": None,  # AWS disables $eval: bound to nothing, a call is JSONata's T1006
    }
    environment.update((name, _to_jsonata(v)) for name, v in bindings.variables.items())
    environment["states"] = _to_jsonata(bindings.states)
    return environment


def _to_jsonata(value: Any) -> Any:
    """A copy of a JSON value in the library's terms: null as its marker, 2.0 as 2 (as in
    JavaScript, so that `$string` writes `2`)."""
    if value is None:
        return _NULL
    if isinstance(value, Mapping):
        return {key: _to_jsonata(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_to_jsonata(item) for item in value]
    if isinstance(value, float):
        return _number(value)
    return value


def _from_jsonata(value: Any) -> Any:
    """A result as plain JSON, _UNDEFINED when it has none. Functions and regexes have no JSON
    form: as JSON.stringify does, a key holding one is dropped and an array slot becomes null."""
    if value is None:
        return _UNDEFINED
    if value is _NULL:
        return None
    if isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, dict):
        pairs = ((str(key), _from_jsonata(item)) for key, item in value.items())
        return {key: item for key, item in pairs if item is not _UNDEFINED}
    if isinstance(value, list):  # the library's sequences included; index, as a range is lazy
        items = (_from_jsonata(value[i]) for i in range(len(value)))
        return [None if item is _UNDEFINED else item for item in items]
    return _UNDEFINED


def _number(value: float) -> Any:
    """A float as JavaScript writes it: a whole one below 1e21 as an integer (the digits of its
    shortest decimal), a non-finite one by its name (as AWS does, per Floci's recordings)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e21:
        return int(value) if abs(value) < 2**53 else int(Decimal(repr(value)))
    return value


# -- the functions Step Functions adds: errors worded as AWS's (as Floci recorded them). Each
# signature takes one argument more than its function, so that a call with one too many reaches
# it and is refused naming that argument (jsonata-python's own check names the wrong one).


class _FunctionError(JException):  # type: ignore[misc]
    """An error of one of these functions: a JException, which the library lets through as it is
    (anything else raised inside `and`/`or` it turns into an "Unexpected" error)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__("D3137", -1, message)  # D3137's template is the bare message
        self.error, self.text = code, message


def _function(body: Callable[[list[Any]], Any], signature: str) -> Any:
    native = SimpleNamespace(call=lambda _input, args: body(list(args or ())))
    return Jsonata.JFunction(native, signature)


def _arguments(args: list[Any], name: str, count: int) -> list[Any]:
    """The `count` arguments a function takes (None for each one left out)."""
    if len(args) > count and args[count] is not None:
        raise _signature_error(name, count + 1)
    return [*args, *[None] * count][:count]


def _signature_error(name: str, number: int) -> _FunctionError:
    message = f'Argument {number} of function "{name}" does not match function signature'
    return _FunctionError("T0410", message)


def _integer(value: Any, name: str, number: int) -> int:
    """A numeric argument rounded toward zero, as AWS rounds one (2.9 is 2, -1.7 is -1)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _signature_error(name, number)
    return int(value)


def _partition(args: list[Any]) -> Any:
    array, size = _arguments(args, "partition", 2)
    if array is None:
        return None
    if not isinstance(array, list):
        message = 'Argument 1 of function "partition" must be an array of undefined'
        raise _FunctionError("T0412", message)
    if not array or size is None:  # AWS answers nothing for an empty array
        return [list(array)] if array else None
    chunk = _integer(size, "partition", 2)
    if chunk < 0:
        raise _FunctionError("D3137", "Second argument must be zero or greater")
    return [list(array[i : i + chunk]) for i in range(0, len(array), chunk)] if chunk else None


def _range(args: list[Any]) -> Any:
    first, last, by = _arguments(args, "range", 3)
    start, end = _integer(first, "range", 1), _integer(last, "range", 2)
    step = None if by is None else _integer(by, "range", 3)
    if not step or (step > 0 and start > end) or (step < 0 and start < end):
        return None
    if start == end:  # AWS answers the number itself, not a one-element array
        return start
    if (end - start) // step + 1 > MAX_RANGE_LENGTH:
        raise _FunctionError("", "Expression evaluation memory limit exceeded")
    return list(range(start, end + (1 if step > 0 else -1), step))


def _hash(args: list[Any]) -> Any:
    data, algorithm = _arguments(args, "hash", 2)
    if not isinstance(data, str):
        raise _signature_error("hash", 1)
    if algorithm is None:
        return None
    if not isinstance(algorithm, str):
        raise _signature_error("hash", 2)
    if algorithm not in HASH_ALGORITHMS:
        names = "must be one of SHA-1, SHA-384, SHA-256, SHA-512, MD5"
        raise _FunctionError("D3137", f"Hash algorithm '{algorithm}' {names}")
    return HASH_ALGORITHMS[algorithm](data.encode()).hexdigest()


def _parse_json(args: list[Any]) -> Any:
    (text,) = _arguments(args, "parse", 1)
    if text is not None and not isinstance(text, str):
        raise _signature_error("parse", 1)
    try:
        return None if text is None else _to_jsonata(read_json(text))
    except InvalidJsonText:
        raise _FunctionError("D3137", "Invalid JSON") from None


def _random(random: Random, args: list[Any]) -> Any:
    (seed,) = _arguments(args, "random", 1)
    return random.random() if seed is None else _java_double(_integer(seed, "random", 1))


def _shuffle(random: Random, args: list[Any]) -> Any:
    (items,) = _arguments(args, "shuffle", 1)
    if items is None:
        return None
    shuffled = list(items) if isinstance(items, list) else [items]
    random.shuffle(shuffled)
    return shuffled


def _java_double(seed: int) -> float:
    """java.util.Random(seed).nextDouble(), which AWS's seeded $random returns ($random(42) is
    0.7275636800328681 there): a 48-bit linear congruential generator, 26 then 27 bits."""
    multiplier, mask = 0x5DEECE66D, (1 << 48) - 1
    state = (((seed ^ multiplier) & mask) * multiplier + 0xB) & mask
    high = state >> 22
    state = (state * multiplier + 0xB) & mask
    return ((high << 27) + (state >> 21)) * 2.0**-53


def _uuid(random: Random, args: list[Any]) -> Any:
    _arguments(args, "uuid", 0)
    return str(uuid.UUID(int=random.getrandbits(128), version=4))


def _now(millis: int, args: list[Any]) -> Any:
    return Functions.datetime_from_millis(millis, *_arguments(args, "now", 2))

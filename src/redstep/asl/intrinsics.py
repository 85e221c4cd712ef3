"""The eighteen intrinsic functions of the States Language (JSONPath mode), parsed once.

An intrinsic is a string such as `States.Format('{} items', States.ArrayLength($.items))` in a
payload template field ending in `.$`, or in a Fail state's ErrorPath/CausePath. The parser here
is a small recursive descent over the grammar AWS documents: a call is `States.<Name>(args)`, an
argument is a single-quoted string (escapes `\\'`, `\\{`, `\\}`, `\\\\`), a number, `true`,
`false`, `null`, a Path (`$…`), a context path (`$$…`) or another call. Function names and
argument counts are checked when the definition is compiled; everything that depends on the data
(types, ranges, a path that selects nothing) fails at run time, as it does on AWS.

A run-time failure is `States.Runtime` with AWS's cause, which names the whole expression as
written: "The function 'States.MathAdd($.a, 1)' had the following error: Invalid arguments in
States.MathAdd". Randomness (States.UUID, unseeded States.MathRandom) is drawn only from
`scope.random`, so a replayed execution produces the same values.

Number conversions follow what AWS's (Java) implementation was observed to do: States.MathAdd
rounds half up (`Math.round`), while States.ArrayPartition, States.ArrayRange and
States.MathRandom truncate toward zero (an `(int)` cast).
"""

from __future__ import annotations

import base64
import binascii
import difflib
import hashlib
import math
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final, Protocol

from redstep.asl.errors import StatesError, StatesFailure
from redstep.asl.json_text import InvalidJsonText, read_json
from redstep.asl.paths import Path, PathNotFound, PathSyntaxError, compile_path, to_json
from redstep.asl.scope import Scope


class IntrinsicSyntaxError(ValueError):
    """A string that is not a well-formed call of a known intrinsic function."""


class _ArgumentError(Exception):
    """A failure inside a call; `Intrinsic.evaluate` wraps it with the whole expression."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class _Node(Protocol):
    def evaluate(self, data: Any, scope: Scope) -> Any: ...


# -- argument nodes ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Literal:
    value: Any

    def evaluate(self, data: Any, scope: Scope) -> Any:
        return self.value


@dataclass(frozen=True, slots=True)
class _String:
    """A string literal; `raw` keeps the escapes States.Format needs to tell `\\{` from `{`."""

    value: str
    raw: str
    bad_escape: str | None = None

    def evaluate(self, data: Any, scope: Scope) -> Any:
        if self.bad_escape is not None:
            # AWS documents an unknown escape as a run-time error, not a definition error.
            raise _ArgumentError(f"Invalid escape sequence '{self.bad_escape}' in '{self.raw}'")
        return self.value


@dataclass(frozen=True, slots=True)
class _PathArgument:
    path: Path

    def evaluate(self, data: Any, scope: Scope) -> Any:
        try:
            return self.path.select(data, scope)
        except PathNotFound:
            # AWS names a `$$` argument by its path inside the context object, and the state's
            # input as what was searched (the wording Step Functions Local was recorded using).
            name = self.path.text[1:] if self.path.is_context else self.path.text
            raise _ArgumentError(
                f"The JsonPath argument for the field '{name}' could not be found in the input "
                f"'{to_json(data)}'"
            ) from None


# -- calls ------------------------------------------------------------------------------------

Implementation = Callable[[list[Any], Scope], Any]


@dataclass(frozen=True, slots=True)
class _Function:
    name: str
    min_args: int
    max_args: int | None
    apply: Implementation = field(compare=False, repr=False)

    def arity(self) -> str:
        if self.max_args is None:
            return f"at least {self.min_args} argument{'s' if self.min_args != 1 else ''}"
        if self.min_args == self.max_args:
            return f"{self.min_args} argument{'s' if self.min_args != 1 else ''}"
        return f"{self.min_args} to {self.max_args} arguments"


@dataclass(frozen=True, slots=True)
class _Call:
    function: _Function
    args: tuple[_Node, ...]

    def evaluate(self, data: Any, scope: Scope) -> Any:
        return self.function.apply([arg.evaluate(data, scope) for arg in self.args], scope)


@dataclass(frozen=True, slots=True)
class _FormatLiteral:
    """States.Format with a literal template, split into its text parts once, at compile time."""

    parts: tuple[str, ...]
    args: tuple[_Node, ...]

    def evaluate(self, data: Any, scope: Scope) -> Any:
        return _render(self.parts, [arg.evaluate(data, scope) for arg in self.args])


@dataclass(frozen=True, slots=True)
class _Failing:
    """A call known at compile time to fail; AWS reports it when the state runs."""

    detail: str

    def evaluate(self, data: Any, scope: Scope) -> Any:
        raise _ArgumentError(self.detail)


@dataclass(frozen=True, slots=True)
class Intrinsic:
    """A compiled intrinsic function call; `text` is the expression as written."""

    text: str
    name: str = field(compare=False)
    call: _Node = field(compare=False, repr=False)

    def evaluate(self, data: Any, scope: Scope) -> Any:
        """The call's value; raises StatesFailure(States.Runtime) naming the expression."""
        try:
            return self.call.evaluate(data, scope)
        except _ArgumentError as error:
            raise StatesFailure(
                StatesError.RUNTIME,
                f"The function '{self.text}' had the following error: {error.detail}",
            ) from None


# -- the functions ----------------------------------------------------------------------------

#: AWS's documented limit on the input of the encoding and hashing functions.
MAX_INPUT_LENGTH: Final = 10_000
#: AWS's documented limit on the array States.ArrayRange builds.
MAX_RANGE_LENGTH: Final = 1000
INT32_MIN: Final = -(2**31)
INT32_MAX: Final = 2**31 - 1
HASH_ALGORITHMS: Final[dict[str, Callable[[bytes], Any]]] = {
    "MD5": hashlib.md5,
    "SHA-1": hashlib.sha1,
    "SHA-256": hashlib.sha256,
    "SHA-384": hashlib.sha384,
    "SHA-512": hashlib.sha512,
}


def _invalid(name: str) -> _ArgumentError:
    return _ArgumentError(f"Invalid arguments in {name}")


#: A tuple, not `int | float`: isinstance checks against it are markedly faster.
_NUMBER_TYPES: Final = (int, float)


def _is_number(value: Any) -> bool:
    """A finite JSON number (Infinity cannot come from JSON, but a huge literal can overflow)."""
    if isinstance(value, bool) or not isinstance(value, _NUMBER_TYPES):
        return False
    return not isinstance(value, float) or math.isfinite(value)


def _truncated(value: Any, name: str) -> int:
    """A number as Java's `(int)` cast makes it: toward zero."""
    if not _is_number(value):
        raise _invalid(name)
    return int(value)


def _rounded(value: Any, name: str) -> int:
    """A number as Java's `Math.round` makes it: halves go up (-1.5 becomes -1)."""
    if not _is_number(value):
        raise _invalid(name)
    if isinstance(value, int):
        return value
    whole = math.floor(value)
    return int(whole) + (1 if value - whole >= 0.5 else 0)


def _int32(value: int, name: str) -> int:
    if not INT32_MIN <= value <= INT32_MAX:
        raise _invalid(name)
    return value


def _array(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise _invalid(name)
    return value


def _string(value: Any, name: str, limit: int | None = None) -> str:
    if not isinstance(value, str) or (limit is not None and len(value) > limit):
        raise _invalid(name)
    return value


def _json_key(value: Any) -> Any:
    """A hashable stand-in for a JSON value: equal JSON values, equal keys.

    Booleans are not numbers, numbers compare by value (1 and 1.0 are one value) and an object's
    key order does not matter.
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return (type(value).__name__, value)
    if isinstance(value, _NUMBER_TYPES):
        return ("number", int(value) if float(value).is_integer() else value)
    if isinstance(value, list):
        return ("array", tuple(_json_key(item) for item in value))
    if isinstance(value, dict):
        return ("object", tuple(sorted((key, _json_key(item)) for key, item in value.items())))
    return ("other", repr(value))


def _format_value(value: Any) -> str:
    """A value as States.Format writes it: strings raw, containers as Java's toString."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool):
        return "null" if value is None else "true" if value else "false"
    if isinstance(value, _NUMBER_TYPES):
        return repr(value)  # what JSON writes for a finite number, without json.dumps's cost
    if isinstance(value, dict):
        items = ", ".join([f"{key}={_format_value(item)}" for key, item in value.items()])
        return "{" + items + "}"
    if isinstance(value, list):
        return "[" + ", ".join([_format_value(item) for item in value]) + "]"
    return to_json(value)


def _split_template(raw: str) -> tuple[str, ...]:
    """The text around each `{}` of a States.Format template, escapes resolved.

    Raises _ArgumentError for a brace that is neither escaped nor part of `{}`.
    """
    parts: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "\\" and index + 1 < len(raw):
            current.append(raw[index + 1])
            index += 2
            continue
        if char == "{":
            if raw.startswith("{}", index):
                parts.append("".join(current))
                current = []
                index += 2
                continue
            raise _ArgumentError(
                "Invalid template in States.Format: matching '}' not found for '{'."
            )
        if char == "}":
            raise _ArgumentError(
                "Invalid template in States.Format: matching '{' not found for '}'."
            )
        current.append(char)
        index += 1
    parts.append("".join(current))
    return tuple(parts)


def _render(parts: tuple[str, ...], values: list[Any]) -> str:
    if len(values) != len(parts) - 1:
        raise _ArgumentError(
            "Invalid arguments in States.Format: number of arguments do not match the "
            "occurrences of {}."
        )
    text = parts[0]
    for index, value in enumerate(values):
        text += _format_value(value) + parts[index + 1]
    return text


def _string_to_json(args: list[Any], scope: Scope) -> Any:
    text = _string(args[0], "States.StringToJson")
    if not text.strip():
        return None  # recorded on AWS: "" and " " parse to null
    try:
        return read_json(text)  # refuses too deep a value whatever the stack: same in every run
    except InvalidJsonText:
        raise _invalid("States.StringToJson") from None


def _array_partition(args: list[Any], scope: Scope) -> Any:
    items = _array(args[0], "States.ArrayPartition")
    size = _truncated(args[1], "States.ArrayPartition")
    if size < 1:
        raise _invalid("States.ArrayPartition")
    return [items[start : start + size] for start in range(0, len(items), size)]


def _array_contains(args: list[Any], scope: Scope) -> Any:
    items = _array(args[0], "States.ArrayContains")
    wanted = _json_key(args[1])
    return any(_json_key(item) == wanted for item in items)


def _array_range(args: list[Any], scope: Scope) -> Any:
    first, last, step = [_truncated(arg, "States.ArrayRange") for arg in args]
    if step == 0:
        raise _invalid("States.ArrayRange")
    numbers = range(first, last + (1 if step > 0 else -1), step)
    # compare the span before asking for a length: len() of a huge range overflows
    span = abs(numbers.stop - numbers.start)
    if span > (MAX_RANGE_LENGTH + 1) * abs(step) or len(numbers) > MAX_RANGE_LENGTH:
        raise _invalid("States.ArrayRange")
    return list(numbers)


def _array_get_item(args: list[Any], scope: Scope) -> Any:
    items = _array(args[0], "States.ArrayGetItem")
    index = _truncated(args[1], "States.ArrayGetItem")
    if not 0 <= index < len(items):
        raise _invalid("States.ArrayGetItem")
    return items[index]


def _array_unique(args: list[Any], scope: Scope) -> Any:
    seen: set[Any] = set()
    unique = []
    for item in _array(args[0], "States.ArrayUnique"):
        key = _json_key(item)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def _base64_encode(args: list[Any], scope: Scope) -> Any:
    text = _string(args[0], "States.Base64Encode", MAX_INPUT_LENGTH)
    return base64.b64encode(text.encode()).decode("ascii")


def _base64_decode(args: list[Any], scope: Scope) -> Any:
    text = _string(args[0], "States.Base64Decode", MAX_INPUT_LENGTH)
    try:
        return base64.b64decode(text, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise _invalid("States.Base64Decode") from None


def _hash(args: list[Any], scope: Scope) -> Any:
    text = _string(args[0], "States.Hash", MAX_INPUT_LENGTH)
    algorithm = HASH_ALGORITHMS.get(args[1]) if isinstance(args[1], str) else None
    if algorithm is None:
        raise _invalid("States.Hash")
    return str(algorithm(text.encode()).hexdigest())


def _json_merge(args: list[Any], scope: Scope) -> Any:
    first, second, deep = args
    # AWS supports only the shallow merge, so the third argument must be the boolean false.
    if not isinstance(first, dict) or not isinstance(second, dict) or deep is not False:
        raise _invalid("States.JsonMerge")
    return {**first, **second}


def _math_random(args: list[Any], scope: Scope) -> Any:
    start = _int32(_truncated(args[0], "States.MathRandom"), "States.MathRandom")
    end = _int32(_truncated(args[1], "States.MathRandom"), "States.MathRandom")
    if start >= end:
        raise _invalid("States.MathRandom")
    if len(args) == 3:
        if not _is_number(args[2]):
            raise _invalid("States.MathRandom")
        # A seeded call is a pure function of its seed, as AWS documents.
        return random.Random(int(args[2])).randrange(start, end)
    return scope.random.randrange(start, end)


def _math_add(args: list[Any], scope: Scope) -> Any:
    first = _int32(_rounded(args[0], "States.MathAdd"), "States.MathAdd")
    second = _int32(_rounded(args[1], "States.MathAdd"), "States.MathAdd")
    return _int32(first + second, "States.MathAdd")


def _string_split(args: list[Any], scope: Scope) -> Any:
    text = _string(args[0], "States.StringSplit")
    delimiters = _string(args[1], "States.StringSplit")
    if not delimiters:
        return [text] if text else []
    # Every character of the second argument is a delimiter, and empty pieces are dropped,
    # as Java's StringTokenizer does ("a.b+c" split by ".+" is ["a", "b", "c"]).
    pattern = "[" + "".join(re.escape(char) for char in delimiters) + "]"
    return [piece for piece in re.split(pattern, text) if piece]


def _uuid(args: list[Any], scope: Scope) -> Any:
    return str(uuid.UUID(int=scope.random.getrandbits(128), version=4))


def _format(args: list[Any], scope: Scope) -> Any:
    """States.Format with a template computed at run time (a path or another call).

    The template is read by the same rules as a literal one, backslash escapes included.
    """
    if not isinstance(args[0], str):
        raise _invalid("States.Format")
    return _render(_split_template(args[0]), args[1:])


def _json_to_string(args: list[Any], scope: Scope) -> Any:
    return to_json(args[0])


def _array_of(args: list[Any], scope: Scope) -> Any:
    return args


def _array_length(args: list[Any], scope: Scope) -> Any:
    return len(_array(args[0], "States.ArrayLength"))


FUNCTIONS: Final[dict[str, _Function]] = {
    function.name: function
    for function in (
        _Function("States.Format", 1, None, _format),
        _Function("States.StringToJson", 1, 1, _string_to_json),
        _Function("States.JsonToString", 1, 1, _json_to_string),
        _Function("States.Array", 0, None, _array_of),
        _Function("States.ArrayPartition", 2, 2, _array_partition),
        _Function("States.ArrayContains", 2, 2, _array_contains),
        _Function("States.ArrayRange", 3, 3, _array_range),
        _Function("States.ArrayGetItem", 2, 2, _array_get_item),
        _Function("States.ArrayLength", 1, 1, _array_length),
        _Function("States.ArrayUnique", 1, 1, _array_unique),
        _Function("States.Base64Encode", 1, 1, _base64_encode),
        _Function("States.Base64Decode", 1, 1, _base64_decode),
        _Function("States.Hash", 2, 2, _hash),
        _Function("States.JsonMerge", 3, 3, _json_merge),
        _Function("States.MathRandom", 2, 3, _math_random),
        _Function("States.MathAdd", 2, 2, _math_add),
        _Function("States.StringSplit", 2, 2, _string_split),
        _Function("States.UUID", 0, 0, _uuid),
    )
}

#: The functions AWS documents as usable where a string is required (a Fail state's ErrorPath
#: and CausePath).
STRING_FUNCTIONS: Final = frozenset(
    {
        "States.Format",
        "States.JsonToString",
        "States.ArrayGetItem",
        "States.Base64Encode",
        "States.Base64Decode",
        "States.Hash",
        "States.UUID",
    }
)


# -- the parser -------------------------------------------------------------------------------

_CALL_START = re.compile(r"States\.[A-Za-z0-9]+\s*\(")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
_ESCAPABLE = frozenset("'{}\\")
_KEYWORDS: Final[dict[str, Any]] = {"true": True, "false": False, "null": None}


def is_intrinsic(text: str) -> bool:
    """Whether `text` is meant as an intrinsic call: `States.<Name>(` at its start."""
    return isinstance(text, str) and _CALL_START.match(text) is not None


def compile_intrinsic(text: str) -> Intrinsic:
    """Parse an intrinsic function call once; raise IntrinsicSyntaxError when it is not one."""
    if not isinstance(text, str):
        raise IntrinsicSyntaxError(f"{text!r} is not an intrinsic function call")
    return _compile(text)


@lru_cache(maxsize=4096)
def _compile(text: str) -> Intrinsic:
    name, call = _Parser(text).parse()
    return Intrinsic(text, name, call)


class _Parser:
    """Recursive descent over one intrinsic expression."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> tuple[str, _Node]:
        self.skip_space()
        if not self.text.startswith("States.", self.pos):
            raise self.error("an intrinsic function call starts with 'States.'")
        name, call = self.call()
        self.skip_space()
        if self.pos < len(self.text):
            raise self.error(f"unexpected {self.text[self.pos]!r} after the call")
        return name, call

    def error(self, problem: str, at: int | None = None) -> IntrinsicSyntaxError:
        where = self.pos if at is None else at
        return IntrinsicSyntaxError(f"{problem} (at position {where} of {self.text!r})")

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def call(self) -> tuple[str, _Node]:
        start = self.pos
        match = _NAME.match(self.text, self.pos)
        assert match is not None
        name = match.group()
        self.pos = match.end()
        function = FUNCTIONS.get(name)
        if function is None:
            close = difflib.get_close_matches(name, FUNCTIONS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise self.error(f"unknown intrinsic function '{name}'{hint}", start)
        if self.pos >= len(self.text) or self.text[self.pos] != "(":
            raise self.error(f"expected '(' after '{name}'")
        self.pos += 1
        args = self.arguments()
        if len(args) < function.min_args or (
            function.max_args is not None and len(args) > function.max_args
        ):
            raise self.error(
                f"'{name}' takes {function.arity()}, but {len(args)} "
                f"{'was' if len(args) == 1 else 'were'} given",
                start,
            )
        template = args[0] if args else None
        if (
            name == "States.Format"
            and isinstance(template, _String)
            and template.bad_escape is None
        ):
            # The template's escapes matter (`\\{` is a brace, `{}` a placeholder), so a literal
            # template is split from its raw text, here, once.
            try:
                return name, _FormatLiteral(_split_template(template.raw), tuple(args[1:]))
            except _ArgumentError as error:
                return name, _Failing(error.detail)
        return name, _Call(function, tuple(args))

    def arguments(self) -> list[_Node]:
        args: list[_Node] = []
        self.skip_space()
        if self.text.startswith(")", self.pos):
            self.pos += 1
            return args
        while True:
            self.skip_space()
            args.append(self.argument())
            self.skip_space()
            if self.pos >= len(self.text):
                raise self.error("expected ')' before the end of the expression")
            char = self.text[self.pos]
            self.pos += 1
            if char == ")":
                return args
            if char != ",":
                raise self.error(f"expected ',' or ')' but found {char!r}", self.pos - 1)

    def argument(self) -> _Node:
        if self.pos >= len(self.text):
            raise self.error("expected an argument before the end of the expression")
        char = self.text[self.pos]
        if char == "'":
            return self.string()
        if char == "$":
            return self.path()
        if char == "-" or char.isdigit():
            return self.number()
        match = _NAME.match(self.text, self.pos)
        if match is None:
            raise self.error(f"unexpected {char!r} where an argument was expected")
        word = match.group()
        if word in _KEYWORDS:
            self.pos = match.end()
            return _Literal(_KEYWORDS[word])
        if not word.startswith("States."):
            raise self.error(f"unexpected {word!r}; a string argument is written in single quotes")
        return self.call()[1]

    def string(self) -> _String:
        start = self.pos
        self.pos += 1
        value: list[str] = []
        bad_escape = None
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                escaped = self.text[self.pos + 1]
                if escaped not in _ESCAPABLE and bad_escape is None:
                    bad_escape = "\\" + escaped
                value.append(escaped)
                self.pos += 2
                continue
            if char == "'":
                raw = self.text[start + 1 : self.pos]
                self.pos += 1
                return _String("".join(value), raw, bad_escape)
            value.append(char)
            self.pos += 1
        raise self.error("unterminated string literal", start)

    def number(self) -> _Literal:
        match = _NUMBER.match(self.text, self.pos)
        if match is None:
            raise self.error("expected a number")
        self.pos = match.end()
        text = match.group()
        return _Literal(float(text) if match.group(1) or match.group(2) else int(text))

    def path(self) -> _PathArgument:
        """A path runs to the first ',' or ')' outside brackets and quotes."""
        start = self.pos
        depth = 0
        quote: str | None = None
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if quote is not None:
                if char == "\\":
                    self.pos += 1
                elif char == quote:
                    quote = None
            elif char in "'\"" and depth > 0:
                quote = char
            elif char in "[(":
                depth += 1
            elif char in "])":
                if depth == 0:
                    break
                depth -= 1
            elif char == "," and depth == 0:
                break
            self.pos += 1
        text = self.text[start : self.pos].rstrip()
        try:
            return _PathArgument(compile_path(text))
        except PathSyntaxError as error:
            raise self.error(str(error), start) from None

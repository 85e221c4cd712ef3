"""JSONPath in the States Language: Paths, Reference Paths and ResultPath, compiled once.

Every path is parsed by jsonpath-ng when a definition is created. A *definite* path (only
`.name`, `['name']` and `[n]` steps, the form the spec calls a Reference Path) becomes a tuple of
keys walked directly, which is what nearly every state uses on every transition; any other path
(wildcards, slices, filters, recursive descent, unions) keeps the library's compiled form and
yields the list of its matches, as Jayway JsonPath (which AWS uses) does.

A path that starts with `$$` reads the context object instead of the state's input, and one
that starts with `$` and a name (`$total`, `$order.items[0]`) reads that workflow variable.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import orjson
from jsonpath_ng import JSONPath, jsonpath
from jsonpath_ng.ext.parser import parse as parse_jsonpath

from redstep.asl.errors import StatesError, StatesFailure
from redstep.asl.scope import Scope

Key = str | int

_LONE_BACKSLASH = re.compile(r"\\(?!')")
#: `$name…`: a workflow variable, and the path into its value (`.a`, `[0]`, …) after it. The name
#: runs to the first `.`, `[` or blank, and is one when it is an identifier, as Assign's are.
_VARIABLE = re.compile(r"\$([^$.\[\s]+)(.*)", re.DOTALL)


class PathSyntaxError(ValueError):
    """A string that is not a JSONPath the States Language accepts."""


class PathNotFound(LookupError):
    """A definite path that selects nothing in the data it is applied to."""


@dataclass(frozen=True, slots=True)
class Path:
    """A compiled JSONPath; `keys` is set when the path is definite; `variable` names the
    workflow variable a `$name…` path starts from."""

    text: str
    is_context: bool
    keys: tuple[Key, ...] | None
    compiled: JSONPath | None = field(default=None, compare=False, repr=False)
    variable: str | None = None

    @property
    def is_definite(self) -> bool:
        return self.keys is not None

    def select(self, data: Any, scope: Scope | None = None) -> Any:
        """The value the path selects; the list of matches for an indefinite path.

        A `$$` path reads `scope.context`, a `$name` path the variable. Raises PathNotFound
        when a definite path selects nothing, StatesFailure(States.Runtime) when the variable
        is not defined.
        """
        if self.variable is not None:
            root = variable_value(self.variable, scope)
        elif self.is_context:
            root = scope.context if scope is not None else {}
        else:
            root = data
        if self.keys is not None:
            return walk(root, self.keys)
        assert self.compiled is not None
        return [match.value for match in self.compiled.find(root)]


def variable_value(name: str, scope: Scope | None) -> Any:
    """A workflow variable's value as the state sees it."""
    variables = scope.variables if scope is not None else {}
    if name not in variables:
        raise StatesFailure(StatesError.RUNTIME, f"The variable '{name}' is not defined")
    return variables[name]


def walk(data: Any, keys: tuple[Key, ...]) -> Any:
    """Follow definite keys through JSON data (negative indexes count from the end)."""
    for key in keys:
        if isinstance(key, str):
            if not isinstance(data, dict) or key not in data:
                raise PathNotFound(key)
            data = data[key]
        else:
            if not isinstance(data, list) or not -len(data) <= key < len(data):
                raise PathNotFound(key)
            data = data[key]
    return data


@cache
def compile_path(text: str) -> Path:
    """Compile a Path (`$…` or `$$…`); raise PathSyntaxError when it is not one."""
    if not isinstance(text, str) or not text.startswith("$"):
        raise PathSyntaxError(f"{text!r} is not a JSONPath: it must start with '$'")
    variable = _VARIABLE.fullmatch(text)
    if variable is not None and variable.group(1).isidentifier():
        inner = compile_path("$" + variable.group(2))
        return Path(text, False, inner.keys, inner.compiled, variable.group(1))
    is_context = text.startswith("$$")
    expression = text[1:] if is_context else text
    # Jayway (AWS) reads a backslash in a quoted name literally unless it escapes the quote;
    # jsonpath-ng would drop it, so it is doubled first: $['a\"b'] names the key a\"b.
    expression = _LONE_BACKSLASH.sub(r"\\\\", expression)
    try:
        compiled = parse_jsonpath(expression)
    except Exception as error:  # jsonpath-ng raises several unrelated types
        raise PathSyntaxError(f"{text!r} is not a valid JSONPath: {error}") from None
    keys = _definite_keys(compiled)
    return Path(text, is_context, keys, None if keys is not None else compiled)


def compile_reference_path(text: str) -> Path:
    """Compile a Reference Path: a path that can only select one node."""
    path = compile_path(text)
    if not path.is_definite:
        raise PathSyntaxError(
            f"{text!r} is not a valid Reference Path: it may only use '.name', "
            "\"['name']\" and '[index]' steps"
        )
    return path


def _definite_keys(node: JSONPath) -> tuple[Key, ...] | None:
    if isinstance(node, jsonpath.Root):
        return ()
    if isinstance(node, jsonpath.Child):
        left = _definite_keys(node.left)
        right = _definite_step(node.right)
        return None if left is None or right is None else (*left, right)
    step = _definite_step(node)
    return None if step is None else (step,)


def _definite_step(node: JSONPath) -> Key | None:
    if isinstance(node, jsonpath.Fields) and len(node.fields) == 1 and node.fields[0] != "*":
        return str(node.fields[0])
    if isinstance(node, jsonpath.Index) and len(node.indices) == 1:
        return int(node.indices[0])
    return None


def apply_result_path(data: Any, result: Any, path: Path | None) -> Any:
    """Place `result` in `data` at a ResultPath; `None` (ResultPath: null) discards it.

    The input is never modified: the objects along the path are copied, the rest is shared.
    Raises StatesFailure(States.ResultPathMatchFailure) when the path crosses a non-object.
    """
    if path is None:
        return data
    assert path.keys is not None
    if not path.keys:
        return result
    return _replace(data, path.keys, result, path.text)


def _replace(node: Any, keys: tuple[Key, ...], result: Any, text: str) -> Any:
    key, rest = keys[0], keys[1:]
    if isinstance(key, str) and isinstance(node, dict):
        copy = dict(node)
        copy[key] = _replace(node.get(key, {}), rest, result, text) if rest else result
        return copy
    if isinstance(key, int) and isinstance(node, list) and -len(node) <= key < len(node):
        items = list(node)
        items[key] = _replace(node[key], rest, result, text) if rest else result
        return items
    raise StatesFailure(
        StatesError.RESULT_PATH_MATCH_FAILURE,
        f"Unable to apply ReferencePath {text} to input {to_json(node)}",
    )


def display(value: Any) -> str:
    """A value as AWS quotes it in a message: a string as it is, anything else as JSON."""
    return value if isinstance(value, str) else to_json(value)


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def to_json(value: Any) -> str:
    """JSON text as Step Functions writes it in events and outputs: compact, non-ASCII kept.

    Every state's input and output is written this way, so the fast encoder (orjson) does it;
    the standard library takes over for what orjson refuses (integers beyond 64 bits).
    """
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return _ENCODER.encode(value)

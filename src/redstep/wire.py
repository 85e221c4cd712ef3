"""What botocore's model says a request may hold, checked without wording: violations as values.

`violations(shape, request)` walks an operation's input shape (a botocore `StructureShape`) over a
decoded JSON request and yields one `Violation` per broken constraint — a required member that is
missing or null, a value of the wrong JSON type, a length, a range, an enum, a pattern — in the
order the model lists the members, depth first. It says nothing about how a service words them:
the Data API (`redstep.dataapi.validation`) and Step Functions (`redstep.runtime.validation`) each
format the same violations their own way.

The walk is pure: it reads the shape and the value, nothing else. `service_model` loads a model
once per process, from one botocore session for all services. Members the model does not know
are ignored, as AWS's JSON services ignore them. `paginate` follows a list operation's pages.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, ServiceModel, Shape, StructureShape

#: A step in a member's path: a member name as the model spells it (or a map's key), or a list
#: index (from 0).
Segment = str | int


class Constraint(StrEnum):
    """What a member failed to satisfy."""

    REQUIRED = "required"  # a required member is absent or null
    TYPE = "type"  # the JSON value is not of the shape's type (`expected`)
    MIN_LENGTH = "min_length"  # of a string or a list
    MAX_LENGTH = "max_length"
    MIN_VALUE = "min_value"  # of a number
    MAX_VALUE = "max_value"
    ENUM = "enum"  # `allowed` lists the values the model accepts, in its order
    PATTERN = "pattern"  # `pattern` is the model's (Java) regular expression, as written


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken constraint of one member.

    `value` is the offending value (None for REQUIRED); `limit` the bound of a length or range;
    `is_sensitive` whether the model marks the member, or a structure holding it, sensitive —
    AWS never echoes such values in its messages.
    """

    path: tuple[Segment, ...]
    constraint: Constraint
    value: Any = None
    limit: int | float | None = None
    pattern: str | None = None
    allowed: tuple[str, ...] = ()
    expected: str | None = None
    shape: str = ""
    is_sensitive: bool = False


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def service_model(service_name: str) -> ServiceModel:
    """botocore's model of a service (`stepfunctions`, `redshift-data`), loaded once."""
    return _session().get_service_model(service_name)


def input_shape(service_name: str, operation: str) -> StructureShape | None:
    """The shape of `operation`'s request in the service's model (None if it takes none)."""
    shape: StructureShape | None = (
        service_model(service_name).operation_model(operation).input_shape
    )
    return shape


def violations(shape: StructureShape, request: Mapping[str, Any]) -> Iterator[Violation]:
    """Every constraint of `shape` that `request` breaks, in model order, depth first."""
    yield from _structure(shape, request, (), _is_sensitive(shape))


def _is_sensitive(shape: Shape) -> bool:
    return bool(shape.metadata.get("sensitive", False))


def _structure(
    shape: StructureShape, value: Mapping[str, Any], path: tuple[Segment, ...], sensitive: bool
) -> Iterator[Violation]:
    # Required members first, as the services report a missing member before a malformed one.
    for name in shape.required_members:
        if value.get(name) is None:
            member = shape.members[name]
            yield Violation(
                (*path, name),
                Constraint.REQUIRED,
                shape=member.name,
                is_sensitive=sensitive or _is_sensitive(member),
            )
    for name, member in shape.members.items():
        item = value.get(name)
        if item is not None:
            yield from _member(member, item, (*path, name), sensitive or _is_sensitive(member))


def _member(
    shape: Shape, value: Any, path: tuple[Segment, ...], sensitive: bool
) -> Iterator[Violation]:
    kind = shape.type_name
    expected_type = _JSON_TYPES.get(kind)
    if expected_type is not None and not _is_of(value, expected_type):
        yield Violation(
            path, Constraint.TYPE, value, expected=kind, shape=shape.name, is_sensitive=sensitive
        )
        return
    if isinstance(shape, StructureShape):
        yield from _structure(shape, value, path, sensitive)
    elif isinstance(shape, ListShape):
        yield from _bounds(shape, value, len(value), path, sensitive, is_length=True)
        member_sensitive = sensitive or _is_sensitive(shape.member)
        for index, item in enumerate(value):
            if item is None:  # a list never holds a null
                yield Violation(
                    (*path, index),
                    Constraint.REQUIRED,
                    shape=shape.member.name,
                    is_sensitive=member_sensitive,
                )
            else:
                yield from _member(shape.member, item, (*path, index), member_sensitive)
    elif isinstance(shape, MapShape):
        yield from _bounds(shape, value, len(value), path, sensitive, is_length=True)
        for key, item in value.items():
            if item is not None:
                yield from _member(shape.value, item, (*path, str(key)), sensitive)
    elif kind == "string":
        yield from _bounds(shape, value, len(value), path, sensitive, is_length=True)
        allowed = tuple(shape.metadata.get("enum", ()))
        if allowed and value not in allowed:
            yield Violation(
                path,
                Constraint.ENUM,
                value,
                allowed=allowed,
                shape=shape.name,
                is_sensitive=sensitive,
            )
        pattern = shape.metadata.get("pattern")
        if pattern and not _matches(pattern, value):
            yield Violation(
                path,
                Constraint.PATTERN,
                value,
                pattern=pattern,
                shape=shape.name,
                is_sensitive=sensitive,
            )
    elif kind in ("integer", "long", "float", "double"):
        yield from _bounds(shape, value, value, path, sensitive, is_length=False)


def _bounds(
    shape: Shape,
    value: Any,
    measure: int | float,
    path: tuple[Segment, ...],
    sensitive: bool,
    *,
    is_length: bool,
) -> Iterator[Violation]:
    minimum, maximum = shape.metadata.get("min"), shape.metadata.get("max")
    low, high = (
        (Constraint.MIN_LENGTH, Constraint.MAX_LENGTH)
        if is_length
        else (Constraint.MIN_VALUE, Constraint.MAX_VALUE)
    )
    if minimum is not None and measure < minimum:
        yield Violation(path, low, value, limit=minimum, shape=shape.name, is_sensitive=sensitive)
    if maximum is not None and measure > maximum:
        yield Violation(path, high, value, limit=maximum, shape=shape.name, is_sensitive=sensitive)


#: The Python types a decoded JSON value of each shape type may have.
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "structure": (Mapping,),
    "list": (list,),
    "map": (Mapping,),
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
    "boolean": (bool,),
    "blob": (str,),
    "timestamp": (str, int, float),
}


def _is_of(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool):  # a JSON true is no number, though Python's bool is an int
        return bool in types
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return isinstance(value, types)


def _matches(pattern: str, value: str) -> bool:
    """Whether the whole of `value` matches the model's pattern, as Java's `matches` decides.

    A pattern using a construct Python cannot express is not checked (see `python_pattern`)."""
    compiled = _compiled(pattern)
    return compiled is None or compiled.fullmatch(value) is not None


@cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    translated = python_pattern(pattern)
    if translated is None:
        return None
    with warnings.catch_warnings():
        # Java nests character classes, Python only warns that it might one day: refuse both.
        warnings.simplefilter("error")
        try:
            return re.compile(translated)
        except (re.error, FutureWarning):
            return None


#: The Java character classes the AWS models use, as the ranges Python's `re` spells them.
_JAVA_CLASSES = {
    r"\p{ASCII}": r"\x00-\x7f",
    r"\p{Alnum}": "a-zA-Z0-9",
    r"\p{Alpha}": "a-zA-Z",
    r"\p{Digit}": "0-9",
    r"\p{Lower}": "a-z",
    r"\p{Upper}": "A-Z",
    r"\p{Space}": r" \t\n\x0b\f\r",
}


def python_pattern(pattern: str) -> str | None:
    """A model's Java regular expression in Python's syntax; None when it uses a construct
    (a Unicode category such as `\\p{L}`) that Python's `re` cannot express."""
    out: list[str] = []
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and pattern.startswith(("p{", "P{"), index + 1):
            end = pattern.find("}", index)
            ranges = _JAVA_CLASSES.get(pattern[index : end + 1]) if end > 0 else None
            if ranges is None or pattern[index + 1] == "P":
                return None
            out.append(ranges if in_class else f"[{ranges}]")
            index = end + 1
            continue
        if char == "\\":
            out.append(pattern[index : index + 2])
            index += 2
            continue
        if char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        out.append(char)
        index += 1
    return "".join(out)


Call = Callable[[str, Mapping[str, Any]], dict[str, Any]]
"""(operation name, request) -> response, as the wire spells them (`ListExecutions`, …)."""


def paginate(
    call: Call, operation: str, request: Mapping[str, Any], key: str, token: str
) -> Iterator[dict[str, Any]]:
    """Every item under `key` of every page of `operation`, following the `token` member."""
    page = call(operation, request)
    yield from page.get(key, [])
    while page.get(token):
        page = call(operation, {**request, token: page[token]})
        yield from page.get(key, [])

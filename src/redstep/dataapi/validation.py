"""Input checks driven by botocore's `redshift-data` model: required members, types, lengths,
ranges, patterns and enums, worded as the Data API words them.

`redstep.wire` finds the violations; this module words the first of them.

AWS answers a malformed id with `id must satisfy regex pattern: ^…$` (the member's name in
lower camel case, then the constraint); every constraint here follows that form. Of the checks
the model cannot express, the mutually exclusive targets are here; those that depend on the
operation (a Sql over 100 KB, SessionId with a target) live in the service.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, assert_never

from botocore.model import ServiceModel

from redstep import wire
from redstep.dataapi.errors import ValidationException
from redstep.wire import Constraint, Segment, Violation, violations

SERVICE_NAME = "redshift-data"


def service_model() -> ServiceModel:
    """botocore's model of the Redshift Data API (loaded once)."""
    return wire.service_model(SERVICE_NAME)


def operation_names() -> list[str]:
    """Every operation of the model, e.g. `ExecuteStatement`."""
    return list(service_model().operation_names)


def validate_request(operation: str, request: Mapping[str, Any]) -> None:
    """Raise ValidationException for the first member of `request` the model rejects."""
    shape = wire.input_shape(SERVICE_NAME, operation)
    if shape is None:
        return
    if not isinstance(request, Mapping):
        raise ValidationException("Request body must be a JSON object")
    first = next(violations(shape, request), None)
    if first is not None:
        raise ValidationException(violation_message(first))


def violation_message(violation: Violation) -> str:
    """A violation as the Data API words it: the member, then what it must be."""
    name = member_name(violation.path)
    match violation.constraint:
        case Constraint.REQUIRED:
            return f"{name} must not be null"
        case Constraint.TYPE:
            return f"{name} must be {_TYPE_WORDS.get(violation.expected or '', 'of its type')}"
        case Constraint.MIN_LENGTH:
            return f"{name} must have length greater than or equal to {violation.limit}"
        case Constraint.MAX_LENGTH:
            return f"{name} must have length less than or equal to {violation.limit}"
        case Constraint.MIN_VALUE:
            return f"{name} must be greater than or equal to {violation.limit}"
        case Constraint.MAX_VALUE:
            return f"{name} must be less than or equal to {violation.limit}"
        case Constraint.ENUM:
            return f"{name} must satisfy enum value set: [{', '.join(violation.allowed)}]"
        case Constraint.PATTERN:
            return f"{name} must satisfy regex pattern: ^{violation.pattern}$"
        case _:
            assert_never(violation.constraint)


def member_name(path: tuple[Segment, ...]) -> str:
    """`parameters[0].name`: members in lower camel case, list items by index."""
    text = ""
    for segment in path:
        if isinstance(segment, int):
            text += f"[{segment}]"
        else:
            text += f"{'.' if text else ''}{segment[:1].lower()}{segment[1:]}"
    return text


_TYPE_WORDS = {
    "structure": "a structure",
    "list": "a list",
    "map": "a map",
    "string": "a string",
    "integer": "an integer",
    "long": "an integer",
    "float": "a number",
    "double": "a number",
    "boolean": "a boolean",
    "blob": "a string",
    "timestamp": "a timestamp",
}


def check_exclusive_target(request: Mapping[str, Any]) -> None:
    """A request names a cluster or a workgroup, never both."""
    if request.get("ClusterIdentifier") and request.get("WorkgroupName"):
        raise ValidationException(
            "ClusterIdentifier and WorkgroupName can't both be specified; provide only one."
        )

"""Request checks driven by botocore's `stepfunctions` model, worded as AWS's Coral framework
words them for Step Functions.

`redstep.wire` finds the violations; this module words all of them at once, as Coral does:

    2 validation errors detected: Value null at 'stateMachineArn' failed to satisfy constraint:
    Member must not be null; Value '1001' at 'maxResults' failed to satisfy constraint: Member
    must have value less than or equal to 1000

Confirmed against AWS answers seen in public code and issue threads: the "N validation error(s)
detected: " head, the "; " between violations, "Value 'x' at 'member' failed to satisfy
constraint: ", the wording of each constraint, list items as `tags.1.member.key` (counted from 1),
"Value null at" for a missing member, and "Value at" — no value at all — for a member the model
marks sensitive (Step Functions answered SendTaskSuccess without `output` with "Value at 'output'
failed to satisfy constraint: Member must not be null"). Modelled, not confirmed: the order of
several violations (the model's member order; AWS's order is not stable across services), the
rendering of non-string values (Java's `toString`), and the messages of SerializationException,
which AWS answers — before any constraint is checked — for a member of the wrong JSON type (only
"STRING_VALUE can not be converted to an Integer" was seen).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, assert_never

from botocore.model import ServiceModel

from redstep import wire
from redstep.runtime.errors import SerializationException, ValidationException
from redstep.wire import Constraint, Segment, Violation, violations

SERVICE_NAME = "stepfunctions"

#: Enum value sets in the order AWS lists them where that differs from the model's (a hash set's
#: order on AWS's side): seen in ListExecutions' answer to a bad statusFilter.
RECORDED_ENUM_ORDER: Mapping[str, tuple[str, ...]] = {
    "ExecutionStatus": (
        "SUCCEEDED",
        "TIMED_OUT",
        "PENDING_REDRIVE",
        "ABORTED",
        "FAILED",
        "RUNNING",
    ),
}


def service_model() -> ServiceModel:
    """botocore's model of Step Functions (loaded once)."""
    return wire.service_model(SERVICE_NAME)


def validate_request(operation: str, request: Any) -> None:
    """Raise what AWS answers when `request` breaks the model's constraints for `operation`:
    SerializationException for a member of the wrong JSON type (the first one), otherwise
    ValidationException listing every violation."""
    shape = wire.input_shape(SERVICE_NAME, operation)
    if shape is None:
        return
    if not isinstance(request, Mapping):
        raise SerializationException(_unexpected(request) or "Request body must be an object")
    found = list(violations(shape, request))
    for violation in found:
        if violation.constraint is Constraint.TYPE:
            raise SerializationException(serialization_message(violation))
    if found:
        raise ValidationException(validation_message(found))


def validation_message(found: Sequence[Violation]) -> str:
    """`N validation error(s) detected: ` and each violation, joined by `; `."""
    count = len(found)
    head = "1 validation error detected" if count == 1 else f"{count} validation errors detected"
    return f"{head}: " + "; ".join(describe(violation) for violation in found)


def describe(violation: Violation) -> str:
    """One violation: `Value 'x' at 'member' failed to satisfy constraint: Member must …`."""
    return (
        f"Value{_value(violation)} at '{member_path(violation.path)}' failed to satisfy "
        f"constraint: {_constraint(violation)}"
    )


def member_path(path: tuple[Segment, ...]) -> str:
    """`tags.1.member.key`: Step Functions' members are camelCase already; items count from 1."""
    return ".".join(
        f"{segment + 1}.member" if isinstance(segment, int) else segment for segment in path
    )


def _value(violation: Violation) -> str:
    if violation.is_sensitive:
        return ""
    if violation.constraint is Constraint.REQUIRED:
        return " null"
    return f" '{java_text(violation.value)}'"


def _constraint(violation: Violation) -> str:
    match violation.constraint:
        case Constraint.REQUIRED:
            return "Member must not be null"
        case Constraint.MIN_LENGTH:
            return f"Member must have length greater than or equal to {violation.limit}"
        case Constraint.MAX_LENGTH:
            return f"Member must have length less than or equal to {violation.limit}"
        case Constraint.MIN_VALUE:
            return f"Member must have value greater than or equal to {violation.limit}"
        case Constraint.MAX_VALUE:
            return f"Member must have value less than or equal to {violation.limit}"
        case Constraint.ENUM:
            allowed = RECORDED_ENUM_ORDER.get(violation.shape, violation.allowed)
            return f"Member must satisfy enum value set: [{', '.join(allowed)}]"
        case Constraint.PATTERN:
            return f"Member must satisfy regular expression pattern: {violation.pattern}"
        case Constraint.TYPE:
            return f"Member must be of type {violation.expected}"
        case _:
            assert_never(violation.constraint)


def java_text(value: Any) -> str:
    """A value as Java's `toString` writes it, which is how Coral quotes a rejected value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(java_text(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key}={java_text(item)}" for key, item in value.items()) + "}"
    return str(value)


#: How Coral names a shape type it could not read a value as (modelled but for Integer).
_JAVA_TYPES = {
    "string": "a String",
    "integer": "an Integer",
    "long": "a Long",
    "float": "a Float",
    "double": "a Double",
    "boolean": "a Boolean",
    "blob": "a Blob",
    "timestamp": "a Timestamp",
    "structure": "a Structure",
    "list": "a List",
    "map": "a Map",
}


def serialization_message(violation: Violation) -> str:
    """Why a member could not be read as its shape's type."""
    unexpected = _unexpected(violation.value)
    if unexpected is not None:
        return unexpected
    value = violation.value
    if isinstance(value, bool):
        token = "TRUE_VALUE" if value else "FALSE_VALUE"
    elif isinstance(value, int | float):
        token = "NUMBER_VALUE"
    else:
        token = "STRING_VALUE"
    target = _JAVA_TYPES.get(violation.expected or "", "its type")
    return f"{token} can not be converted to {target}"


def _unexpected(value: Any) -> str | None:
    if isinstance(value, Mapping):
        return "Start of structure or map found where not expected."
    if isinstance(value, list):
        return "Start of list found where not expected"
    return None

"""Input checks driven by botocore's `redshift-data` model: required members, types, lengths,
ranges, patterns and enums, worded as the Data API words them.

AWS answers a malformed id with `id must satisfy regex pattern: ^…$` (the member's name in
lower camel case, then the constraint); every constraint here follows that form. Of the checks
the model cannot express, the mutually exclusive targets are here; those that depend on the
operation (a Sql over 100 KB, SessionId with a target) live in the service.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ListShape, ServiceModel, Shape, StringShape, StructureShape

from redstep.dataapi.errors import ValidationException

SERVICE_NAME = "redshift-data"


@cache
def service_model() -> ServiceModel:
    """botocore's model of the Redshift Data API (loaded once)."""
    return botocore.session.get_session().get_service_model(SERVICE_NAME)


def operation_names() -> list[str]:
    """Every operation of the model, e.g. `ExecuteStatement`."""
    return list(service_model().operation_names)


def validate_request(operation: str, request: Mapping[str, Any]) -> None:
    """Raise ValidationException for the first member of `request` the model rejects."""
    shape = service_model().operation_model(operation).input_shape
    if shape is None:
        return
    if not isinstance(request, Mapping):
        raise ValidationException("Request body must be a JSON object")
    _check_structure(shape, request, prefix="")


def _wire_name(member: str) -> str:
    return member[:1].lower() + member[1:]


def _check_structure(shape: StructureShape, value: Mapping[str, Any], prefix: str) -> None:
    for member in shape.required_members:
        if value.get(member) is None:
            raise ValidationException(f"{prefix}{_wire_name(member)} must not be null")
    for member, member_shape in shape.members.items():
        if value.get(member) is not None:
            _check(member_shape, value[member], f"{prefix}{_wire_name(member)}")


def _check(shape: Shape, value: Any, name: str) -> None:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, Mapping):
            raise ValidationException(f"{name} must be a structure")
        assert isinstance(shape, StructureShape)
        _check_structure(shape, value, prefix=f"{name}.")
    elif kind == "list":
        if not isinstance(value, list):
            raise ValidationException(f"{name} must be a list")
        _check_length(shape, len(value), name)
        assert isinstance(shape, ListShape)
        for index, item in enumerate(value):
            _check(shape.member, item, f"{name}[{index}]")
    elif kind == "string":
        if not isinstance(value, str):
            raise ValidationException(f"{name} must be a string")
        _check_length(shape, len(value), name)
        assert isinstance(shape, StringShape)
        if shape.enum and value not in shape.enum:
            raise ValidationException(
                f"{name} must satisfy enum value set: [{', '.join(shape.enum)}]"
            )
        pattern = shape.metadata.get("pattern")
        if pattern and not re.fullmatch(pattern, value):
            raise ValidationException(f"{name} must satisfy regex pattern: ^{pattern}$")
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationException(f"{name} must be an integer")
        minimum, maximum = shape.metadata.get("min"), shape.metadata.get("max")
        if minimum is not None and value < minimum:
            raise ValidationException(f"{name} must be greater than or equal to {minimum}")
        if maximum is not None and value > maximum:
            raise ValidationException(f"{name} must be less than or equal to {maximum}")
    elif kind == "boolean" and not isinstance(value, bool):
        raise ValidationException(f"{name} must be a boolean")


def _check_length(shape: Shape, length: int, name: str) -> None:
    minimum, maximum = shape.metadata.get("min"), shape.metadata.get("max")
    if minimum is not None and length < minimum:
        raise ValidationException(f"{name} must have length greater than or equal to {minimum}")
    if maximum is not None and length > maximum:
        raise ValidationException(f"{name} must have length less than or equal to {maximum}")


def check_exclusive_target(request: Mapping[str, Any]) -> None:
    """A request names a cluster or a workgroup, never both."""
    if request.get("ClusterIdentifier") and request.get("WorkgroupName"):
        raise ValidationException(
            "ClusterIdentifier and WorkgroupName can't both be specified; provide only one."
        )

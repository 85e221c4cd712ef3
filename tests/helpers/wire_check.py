"""Checks of what the server writes against botocore's service models, for the JSON protocols.

`check_wire(client)` hooks a boto3 client so that every raw response body it receives is checked
against its operation's output shape (or, for an error, the modelled error's shape): every member
is modelled, of the modelled type (timestamps as epoch seconds, blobs as base64), in its enum,
and every required member is there. A mismatch fails the test at the call that received it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

CORAL = "com.amazon.coral.service#"
FRONT_END_ERRORS = {"UnknownOperationException", "SerializationException"}
NON_FINITE = {"NaN", "Infinity", "-Infinity"}
"""How the JSON protocols spell the doubles JSON has no number for."""


class WireMismatch(AssertionError):
    """A response does not match its model."""


def check_wire(client: Any) -> list[str]:
    """Check every response `client` gets; the returned list grows with the checked operations."""
    checked: list[str] = []

    def after_call(http_response: Any, parsed: Any, model: OperationModel, **_: Any) -> None:
        body = http_response.content
        document = json.loads(body) if body else {}
        if http_response.status_code >= 300:
            check_error(model, document)
        elif model.output_shape is not None:
            check_shape(model.output_shape, document, model.name)
        checked.append(model.name)

    client.meta.events.register("after-call.*.*", after_call)
    return checked


def check_error(model: OperationModel, document: Mapping[str, Any]) -> None:
    """An error body: a `__type` the operation models (or one any operation may answer: AWS's
    front end's, and the model checks' ValidationException), with that error's members."""
    code = str(document.get("__type", "")).removeprefix(CORAL)
    if code in FRONT_END_ERRORS:
        return
    shapes = {shape.name: shape for shape in model.error_shapes}
    if code == "ValidationException" and code in model.service_model.shape_names:
        shapes[code] = model.service_model.shape_for(code)
    shape = shapes.get(code)
    if shape is None:
        raise WireMismatch(f"{model.name}: error {code!r} is not one the operation models")
    members = {k: v for k, v in document.items() if k != "__type"}
    assert isinstance(shape, StructureShape)
    check_shape(shape, members, f"{model.name}:{code}")


def check_shape(shape: Shape, value: Any, where: str) -> None:
    """Raise WireMismatch where `value` is not what `shape` models."""
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        _expect(isinstance(value, dict), where, "an object", value)
        if shape.metadata.get("union"):
            _expect(len(value) == 1, where, "exactly one member of the union", value)
        for name in value:
            _expect(name in shape.members, f"{where}.{name}", "a modelled member", value[name])
        for name in shape.required_members:
            _expect(name in value, f"{where}.{name}", "present (it is required)", None)
        for name, member in value.items():
            check_shape(shape.members[name], member, f"{where}.{name}")
    elif kind == "list":
        assert isinstance(shape, ListShape)
        _expect(isinstance(value, list), where, "a list", value)
        for index, item in enumerate(value):
            check_shape(shape.member, item, f"{where}[{index}]")
    elif kind == "map":
        assert isinstance(shape, MapShape)
        _expect(isinstance(value, dict), where, "a map", value)
        for key, item in value.items():
            check_shape(shape.key, key, f"{where}<key>")
            check_shape(shape.value, item, f"{where}[{key!r}]")
    elif kind == "string":
        _expect(isinstance(value, str), where, "a string", value)
        enum = shape.enum
        _expect(not enum or value in enum, where, f"one of {enum}", value)
    elif kind in ("integer", "long"):
        _expect(isinstance(value, int) and not isinstance(value, bool), where, "an integer", value)
    elif kind in ("double", "float"):
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        _expect(is_number or value in NON_FINITE, where, "a number", value)
    elif kind == "boolean":
        _expect(isinstance(value, bool), where, "a boolean", value)
    elif kind == "timestamp":
        _expect(
            isinstance(value, int | float) and not isinstance(value, bool),
            where,
            "epoch seconds",
            value,
        )
    elif kind == "blob":
        _expect(isinstance(value, str), where, "base64 text", value)
        try:
            base64.b64decode(value, validate=True)
        except binascii.Error:
            _expect(False, where, "base64 text", value)
    else:
        raise WireMismatch(f"{where}: no check for shape type {kind!r}")


def _expect(holds: bool, where: str, expected: str, value: Any) -> None:
    if not holds:
        raise WireMismatch(f"{where}: expected {expected}, got {value!r}")

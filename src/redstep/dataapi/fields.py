"""Values and columns as the Data API shows them: `Field` unions and `ColumnMetadata`.

A warehouse hands back Python values typed by Redshift type names (`Column.type_name`); this
module renders each one as Redshift's Data API does: integers as `longValue`, floats as
`doubleValue`, numerics as `stringValue` (Redshift sends them as text, so no digit is lost),
dates and times as Redshift's text forms (`2024-01-02 03:04:05.12`, `…+00`), SUPER as JSON text,
VARBYTE as `blobValue`, booleans as `booleanValue`, NULL as `{"isNull": true}`. The same text
forms feed the CSV of GetStatementResultV2.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from redstep.dataapi.shapes import ColumnMetadata, Field
from redstep.warehouse.base import Column

_INTEGERS = frozenset({"int2", "int4", "int8"})
_FLOATS = frozenset({"float4", "float8"})
_STRINGS = frozenset({"char", "varchar", "bpchar", "text"})

# (isSigned, isCaseSensitive, precision, scale) as Redshift's Data API reports them per type.
_TYPE_TRAITS: dict[str, tuple[bool, bool, int, int]] = {
    "int2": (True, False, 5, 0),
    "int4": (True, False, 10, 0),
    "int8": (True, False, 19, 0),
    "float4": (True, False, 8, 8),
    "float8": (True, False, 17, 17),
    "bool": (False, False, 1, 0),
    "date": (False, False, 13, 0),
    "time": (False, False, 15, 6),
    "timetz": (False, False, 21, 6),
    "timestamp": (False, False, 29, 6),
    "timestamptz": (False, False, 35, 6),
    "super": (False, True, 65535, 0),
    "varbyte": (False, False, 65535, 0),
}
_UNKNOWN_STRING_LENGTH = 65535
"""The precision of a string column whose length the backend cannot tell."""


def column_metadata(column: Column) -> ColumnMetadata:
    """The ColumnMetadata Redshift reports for `column` (in a result set or DescribeTable)."""
    type_name = "char" if column.type_name == "bpchar" else column.type_name
    if type_name == "numeric":
        signed, case_sensitive, precision, scale = True, False, column.precision, column.scale
    elif type_name in _STRINGS:
        # A string column's precision is its declared length; a backend that lost it (DuckDB
        # keeps no lengths) reports 0, and then Redshift's largest VARCHAR is the honest answer.
        length = column.length if column.length > 0 else _UNKNOWN_STRING_LENGTH
        signed, case_sensitive, precision, scale = False, True, length, 0
    else:
        signed, case_sensitive, precision, scale = _TYPE_TRAITS.get(
            type_name, (False, True, column.precision, column.scale)
        )
    metadata: ColumnMetadata = {
        "isCaseSensitive": case_sensitive,
        "isCurrency": False,
        "isSigned": signed,
        "label": column.name,
        "length": column.length if type_name not in _STRINGS else 0,
        "name": column.name,
        "nullable": 1 if column.nullable else 0,
        "precision": precision,
        "scale": scale,
        "schemaName": column.schema_name,
        "tableName": column.table_name,
        "typeName": type_name,
    }
    if column.default is not None:
        metadata["columnDefault"] = column.default
    return metadata


class NonFiniteDouble(float):
    """NaN or an infinity: still a float to Python callers, but marked for the JSON protocol,
    which spells these as the strings "NaN", "Infinity" and "-Infinity" (JSON has no number
    for them)."""


def wire_double(value: float) -> float:
    """A double as a Field holds it: NaN and the infinities marked as `NonFiniteDouble`."""
    return value if math.isfinite(value) else NonFiniteDouble(value)


def to_field(value: object, type_name: str) -> Field:
    """One value of a column typed `type_name`, as a Data API Field union."""
    if value is None:
        return {"isNull": True}
    if type_name in _INTEGERS and isinstance(value, int | Decimal | float):
        return {"longValue": int(value)}
    if type_name in _FLOATS and isinstance(value, int | float | Decimal):
        return {"doubleValue": wire_double(float(value))}
    if type_name == "bool" or isinstance(value, bool):
        return {"booleanValue": bool(value)}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"blobValue": bytes(value)}
    if isinstance(value, int) and type_name not in ("numeric", *_STRINGS) and _is_long(value):
        return {"longValue": value}
    if isinstance(value, float) and type_name not in ("numeric", *_STRINGS):
        return {"doubleValue": wire_double(value)}
    return {"stringValue": to_text(value, type_name)}


SizedField = tuple[Field, int]
"""A Field with the bytes it adds to ResultSize (`field_size`)."""


def field_encoder(type_name: str) -> Callable[[object], SizedField]:
    """`to_field` and `field_size` for the values of one column, millions of times: the common
    Python type of the column's type (int for integers, str for strings, Decimal for numeric,
    date for date) takes a short way decided once per column; any other value, `to_field`'s."""
    fast = _FAST_FIELDS.get(type_name)

    def encode(value: object) -> SizedField:
        if value is None:
            return {"isNull": True}, 0
        if fast is not None and type(value) is fast[0]:
            return fast[1](value)
        field = to_field(value, type_name)
        return field, field_size(field)

    return encode


def _long_field(value: Any) -> SizedField:
    return {"longValue": value}, len(str(value))


def _string_field(value: Any) -> SizedField:
    return {"stringValue": value}, len(value) if value.isascii() else len(value.encode())


def _decimal_field(value: Any) -> SizedField:
    text = format(value, "f")
    return {"stringValue": text}, len(text)


def _date_field(value: Any) -> SizedField:
    text = value.isoformat()
    return {"stringValue": text}, len(text)


_FAST_FIELDS: dict[str, tuple[type, Callable[[Any], SizedField]]] = {
    **dict.fromkeys(_INTEGERS, (int, _long_field)),
    **dict.fromkeys(_STRINGS, (str, _string_field)),
    "numeric": (Decimal, _decimal_field),
    "date": (dt.date, _date_field),
}


def _is_long(value: int) -> bool:
    """Whether `value` fits a `longValue` (a signed 64-bit integer); larger ones go as text."""
    return -(2**63) <= value < 2**63


def to_text(value: object, type_name: str) -> str:
    """A non-NULL value in Redshift's text form (what a `stringValue` or a CSV cell holds)."""
    match value:
        case bool():
            return "true" if value else "false"
        case Decimal():
            return format(value, "f")
        case dt.datetime():
            return _timestamp_text(value, with_zone=type_name == "timestamptz")
        case dt.date():
            return value.isoformat()
        case dt.time():
            return _time_text(value, with_zone=type_name == "timetz")
        case bytes() | bytearray() | memoryview():
            return bytes(value).hex()
        case dict() | list():
            return json.dumps(value, separators=(",", ":"), default=json_default)
        case str():
            return value
        case _:
            return str(value)


def field_value(field: Mapping[str, Any]) -> object:
    """The value a `Field` union holds (None for `isNull`): what a reader of results shows."""
    if field.get("isNull"):
        return None
    ((_, value),) = field.items()
    return value


def field_size(field: Field) -> int:
    """Bytes a field adds to ResultSize: the length of its value's text."""
    for key, value in field.items():
        if key == "isNull":
            return 0
        if isinstance(value, bytes):
            return len(value)
        return len(str(value).encode())
    return 0


def _fraction(microseconds: int) -> str:
    return f".{microseconds:06d}".rstrip("0") if microseconds else ""


def _timestamp_text(value: dt.datetime, *, with_zone: bool) -> str:
    if with_zone:
        utc = value.astimezone(dt.UTC) if value.tzinfo else value
        return f"{utc:%Y-%m-%d %H:%M:%S}{_fraction(utc.microsecond)}+00"
    return f"{value:%Y-%m-%d %H:%M:%S}{_fraction(value.microsecond)}"


def _time_text(value: dt.time, *, with_zone: bool) -> str:
    text = f"{value:%H:%M:%S}{_fraction(value.microsecond)}"
    if not with_zone:
        return text
    offset = value.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{text}{sign}{hours:02d}" + (f":{rest:02d}" if rest else "")


def json_default(value: Any) -> Any:
    """`json.dumps` default for SUPER values that hold Decimals or dates."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")

"""Field unions and ColumnMetadata, as Redshift's Data API renders them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from redstep.dataapi.fields import column_metadata, field_encoder, field_size, to_field, to_text
from redstep.warehouse.base import Column

UTC = dt.UTC


@pytest.mark.parametrize(
    ("value", "type_name", "field"),
    [
        (None, "int4", {"isNull": True}),
        (3, "int2", {"longValue": 3}),
        (2**40, "int8", {"longValue": 2**40}),
        (1.5, "float4", {"doubleValue": 1.5}),
        (Decimal("12.30"), "numeric", {"stringValue": "12.30"}),
        (Decimal("1E+2"), "numeric", {"stringValue": "100"}),
        (True, "bool", {"booleanValue": True}),
        ("ab  ", "char", {"stringValue": "ab  "}),
        (dt.date(2024, 1, 2), "date", {"stringValue": "2024-01-02"}),
        (dt.datetime(2024, 1, 2, 3, 4, 5), "timestamp", {"stringValue": "2024-01-02 03:04:05"}),
        (
            dt.datetime(2024, 1, 2, 3, 4, 5, 120000),
            "timestamp",
            {"stringValue": "2024-01-02 03:04:05.12"},
        ),
        (
            dt.datetime(2024, 1, 2, 4, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=1))),
            "timestamptz",
            {"stringValue": "2024-01-02 03:04:05+00"},
        ),
        (dt.time(3, 4, 5, 500), "time", {"stringValue": "03:04:05.0005"}),
        ({"a": [1, 2]}, "super", {"stringValue": '{"a":[1,2]}'}),
        ('{"a":1}', "super", {"stringValue": '{"a":1}'}),
        (b"\x01\x02", "varbyte", {"blobValue": b"\x01\x02"}),
        (2**63 - 1, "super", {"longValue": 2**63 - 1}),
        (2**70, "super", {"stringValue": str(2**70)}),  # beyond a long: as text
    ],
)
def test_to_field(value: object, type_name: str, field: dict[str, object]) -> None:
    assert to_field(value, type_name) == field


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        (None, "varchar"), (7, "int8"), (-12, "int4"), (True, "int4"), (Decimal("3"), "int8"),
        (1.0, "int8"), ("naïve ☃", "varchar"), ("ab  ", "char"), (5, "varchar"),
        (Decimal("1E+2"), "numeric"), (Decimal("-0.50"), "numeric"), (3, "numeric"),
        (dt.date(2024, 1, 2), "date"), (dt.datetime(2024, 1, 2, 3, 4), "date"),
        (float("nan"), "float8"), (2.5, "float4"), (b"\x00", "varbyte"), ({"a": 1}, "super"),
        (False, "bool"), (dt.time(1, 2), "time"),
    ],
)  # fmt: skip
def test_a_column_encoder_agrees_with_to_field_and_field_size(
    value: object, type_name: str
) -> None:
    field, size = field_encoder(type_name)(value)
    expected = to_field(value, type_name)
    assert repr((field, size)) == repr((expected, field_size(expected)))  # NaN is not NaN
    assert type(field.get("doubleValue")) is type(expected.get("doubleValue"))


def test_to_text_for_csv() -> None:
    assert to_text(False, "bool") == "false"
    assert to_text(b"\xff", "varbyte") == "ff"
    assert to_text(dt.datetime(2024, 1, 2, tzinfo=UTC), "timestamptz") == "2024-01-02 00:00:00+00"


def test_column_metadata() -> None:
    assert column_metadata(Column(name="n", type_name="int4")) == {
        "isCaseSensitive": False,
        "isCurrency": False,
        "isSigned": True,
        "label": "n",
        "length": 0,
        "name": "n",
        "nullable": 1,
        "precision": 10,
        "scale": 0,
        "schemaName": "",
        "tableName": "",
        "typeName": "int4",
    }
    text = column_metadata(
        Column(name="s", type_name="varchar", length=20, nullable=False, schema_name="public",
               table_name="t", default="'x'::character varying")
    )  # fmt: skip
    assert text["isCaseSensitive"] is True
    assert (text["precision"], text["nullable"], text["tableName"]) == (20, 0, "t")
    assert text["columnDefault"] == "'x'::character varying"
    assert column_metadata(Column(name="c", type_name="bpchar"))["typeName"] == "char"
    price = column_metadata(Column(name="p", type_name="numeric", precision=10, scale=2))
    assert (price["precision"], price["scale"], price["isSigned"]) == (10, 2, True)


@pytest.mark.parametrize(
    ("column", "precision"),
    [
        (Column(name="s", type_name="varchar", length=10), 10),
        (Column(name="s", type_name="varchar", length=256), 256),
        (Column(name="c", type_name="bpchar", length=3), 3),
        # A backend that lost the length (DuckDB): the largest, never a number from elsewhere.
        (Column(name="s", type_name="varchar", precision=7), 65535),
        (Column(name="s", type_name="varchar"), 65535),
    ],
)
def test_string_precision_is_the_column_length(column: Column, precision: int) -> None:
    metadata = column_metadata(column)
    assert (metadata["precision"], metadata["length"]) == (precision, 0)

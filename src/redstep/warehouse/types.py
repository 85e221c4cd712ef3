"""Engine type names → Redshift's, the one table each backend reads to type its columns.

The Data API reports Redshift's type names in ColumnMetadata.typeName (`int4`, `varchar`,
`numeric`, ...), so every column a backend returns or describes is renamed here: DuckDB by its
type's text (`DECIMAL(10,2)`, `TIMESTAMP WITH TIME ZONE`), PostgreSQL by its type OID.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DUCKDB_TYPES: dict[str, str] = {
    "TINYINT": "int2",
    "UTINYINT": "int2",
    "SMALLINT": "int2",
    "USMALLINT": "int4",
    "INTEGER": "int4",
    "UINTEGER": "int8",
    "BIGINT": "int8",
    "UBIGINT": "numeric",
    "HUGEINT": "numeric",
    "UHUGEINT": "numeric",
    "BIGNUM": "numeric",  # integers of any size (VARINT before DuckDB 1.4)
    "VARINT": "numeric",
    "FLOAT": "float4",
    "REAL": "float4",
    "DOUBLE": "float8",
    "DECIMAL": "numeric",
    "BOOLEAN": "bool",
    "VARCHAR": "varchar",
    "UUID": "varchar",
    "DATE": "date",
    "TIME": "time",
    "TIME WITH TIME ZONE": "timetz",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "INTERVAL": "interval",
    "JSON": "super",
    "BLOB": "varbyte",
    "NULL": "varchar",
}

_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")
_VARCHAR_LENGTH = re.compile(r"^VARCHAR\((\d+)\)$")

# OIDs from PostgreSQL's pg_type.dat; the ones a Redshift-shaped schema produces.
_POSTGRES_OIDS: dict[int, str] = {
    16: "bool",
    17: "varbyte",
    18: "char",
    19: "name",
    20: "int8",
    21: "int2",
    23: "int4",
    25: "varchar",
    26: "oid",
    114: "super",
    700: "float4",
    701: "float8",
    705: "varchar",  # unknown: an untyped literal or parameter
    1042: "char",
    1043: "varchar",
    1082: "date",
    1083: "time",
    1114: "timestamp",
    1184: "timestamptz",
    1186: "interval",
    1266: "timetz",
    1700: "numeric",
    2950: "varchar",  # uuid
    3802: "super",  # jsonb
}

# information_schema.columns.data_type spellings (PostgreSQL) → Redshift's names.
_POSTGRES_SQL_NAMES: dict[str, str] = {
    "smallint": "int2",
    "integer": "int4",
    "bigint": "int8",
    "real": "float4",
    "double precision": "float8",
    "numeric": "numeric",
    "boolean": "bool",
    "character": "char",
    "character varying": "varchar",
    "text": "varchar",
    "date": "date",
    "time without time zone": "time",
    "time with time zone": "timetz",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz",
    "json": "super",
    "jsonb": "super",
    "bytea": "varbyte",
    "uuid": "varchar",
    "interval": "interval",
}


@dataclass(frozen=True, slots=True)
class RedshiftType:
    """A Redshift type name with the modifiers the Data API reports beside it."""

    name: str
    precision: int = 0
    scale: int = 0
    length: int = 0


def from_duckdb(type_text: str) -> RedshiftType:
    """Redshift's type for a DuckDB type, given as DuckDB prints it (`DECIMAL(10,2)`)."""
    text = type_text.strip().upper()
    if decimal := _DECIMAL.match(text):
        return RedshiftType("numeric", precision=int(decimal[1]), scale=int(decimal[2]))
    if text in ("HUGEINT", "UHUGEINT"):
        return RedshiftType("numeric", precision=38, scale=0)
    if text == "UBIGINT":
        return RedshiftType("numeric", precision=20, scale=0)
    if varchar := _VARCHAR_LENGTH.match(text):
        return RedshiftType("varchar", length=int(varchar[1]))
    if text.endswith("[]") or text.startswith(("STRUCT", "MAP", "LIST", "UNION")):
        return RedshiftType("super")
    return RedshiftType(_DUCKDB_TYPES.get(text, text.lower()))


def from_postgres_oid(oid: int) -> str:
    """Redshift's type name for a PostgreSQL type OID (`varchar` for types it has no name for)."""
    return _POSTGRES_OIDS.get(oid, "varchar")


def from_postgres_name(data_type: str, udt_name: str = "") -> str:
    """Redshift's type name for an information_schema `data_type` (and its `udt_name`)."""
    name = _POSTGRES_SQL_NAMES.get(data_type.lower())
    if name is not None:
        return name
    if data_type.upper() == "ARRAY" or udt_name.startswith("_"):
        return "super"
    return udt_name or data_type.lower()

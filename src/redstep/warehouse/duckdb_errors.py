"""DuckDB's errors in Redshift's words: the one place the DuckDB backend maps foreign errors.

An interrupt is `QueryCancelled`; a file lock held by another process and a lost connection are
`WarehouseUnavailable`; any other error keeps its first line, DuckDB's `... Error: ` prefix
dropped, and the messages a Redshift user meets often (a missing relation or column, division by
zero, syntax, NOT NULL, overflow, bad input, write conflicts) are worded as Redshift words them.
"""

from __future__ import annotations

import re

import duckdb

from redstep.warehouse.base import QueryCancelled, WarehouseError, WarehouseUnavailable

_DUCKDB_PREFIX = re.compile(r"^[A-Za-z ]*Error: ")
_LOCKED = re.compile(r'Could not set lock on file "(?P<file>[^"]+)"')
_HOLDER_PID = re.compile(r"\(PID (\d+)\)")
_CONVERSION_TYPES = {
    "INT8": "smallint",
    "INT16": "smallint",
    "INT32": "integer",
    "INT64": "bigint",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "BOOL": "boolean",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "DECIMAL": "numeric",
}

# (pattern over DuckDB's first message line, Redshift's wording, SQLSTATE); first match wins.
_MESSAGES: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(pattern), wording, sqlstate)
    for pattern, wording, sqlstate in (
        (r"[Dd]ivision by zero", "division by zero", "22012"),
        (
            r'^(?:Table|View) with name "?(?P<name>[^"!]+?)"? does not exist',
            'relation "{name}" does not exist',
            "42P01",
        ),
        (
            r'^(?:Table|View) with name "?(?P<name>[^"!]+?)"? already exists',
            'relation "{name}" already exists',
            "42P07",
        ),
        (
            r'^Schema with name "?(?P<name>[^"!]+?)"? does not exist',
            'schema "{name}" does not exist',
            "3F000",
        ),
        (
            r'^(?:\w+ )?Function with name "?(?P<name>[^"!\s]+?)"? does not exist',
            "function {name} does not exist",
            "42883",
        ),
        (
            r'^Referenced column "(?P<name>[^"]+)" not found',
            'column "{name}" does not exist',
            "42703",
        ),
        (
            r'^Table "(?P<table>[^"]+)" does not have a column '
            r'(?:with name|named) "(?P<name>[^"]+)"',
            'column "{name}" of relation "{table}" does not exist',
            "42703",
        ),
        (r'syntax error at or near "(?P<near>.*)"$', 'syntax error at or near "{near}"', "42601"),
        (r"syntax error at end of input", "syntax error at end of input", "42601"),
        (
            r'NOT NULL constraint failed: (?:[\w"]+\.)*?(?P<table>[\w"]+)\.(?P<name>[\w"]+)$',
            'null value in column "{name}" of relation "{table}" violates not-null constraint',
            "23502",
        ),
        (
            r'^Could not (?:cast value|convert string) "?-?[\d.]+"? to DECIMAL'
            r"|to type DECIMAL\(\d+,\d+\) failed: value is out of range",
            "numeric field overflow",
            "22003",
        ),
        (
            r"""^Could not convert string ['"](?P<value>.*)['"] to (?P<type>\w+)""",
            'invalid input syntax for type {type}: "{value}"',
            "22P02",
        ),
        (
            r"Current transaction is aborted",
            "current transaction is aborted, commands ignored until end of transaction block",
            "25P02",
        ),
        (
            r"(?P<message>value too long for type character(?: varying)?\(\d+\))",
            "{message}",
            "22001",
        ),
        (r"Overflow in \w+ of INT16|destination type INT16", "smallint out of range", "22003"),
        (r"Overflow in \w+ of INT32|destination type INT32", "integer out of range", "22003"),
        (r"Overflow in \w+ of INT64|destination type INT64", "bigint out of range", "22003"),
        (
            r"[Cc]onflict on|write-write conflict",
            "could not serialize access due to concurrent update",
            "40001",
        ),
    )
)


def map_error(exc: BaseException) -> WarehouseError:
    """The WarehouseError that a DuckDB exception means, worded as Redshift words it.

    The only place this backend translates DuckDB's errors: an interrupt is `QueryCancelled`; a
    file lock held by another process and a lost connection are `WarehouseUnavailable`; any other
    error keeps its first line, with DuckDB's `... Error: ` prefix dropped and the common
    messages (missing relation or column, division by zero, syntax, NOT NULL) reworded.
    """
    if isinstance(exc, WarehouseError):
        return exc
    if isinstance(exc, duckdb.InterruptException):
        return QueryCancelled()
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = _DUCKDB_PREFIX.sub("", first_line).rstrip("!").strip()
    if isinstance(exc, duckdb.IOException) and (locked := _LOCKED.search(text)):
        pid = _HOLDER_PID.search(text)
        holder = f" (PID {pid[1]})" if pid else ""
        return WarehouseUnavailable(
            f"the DuckDB file {locked['file']} is in use by another redstep process{holder}; "
            "stop that process, or send work to it through the endpoint it recorded in .redstep/",
            sqlstate="55006",
        )
    if isinstance(exc, duckdb.ConnectionException | duckdb.FatalException):
        return WarehouseUnavailable(f"the DuckDB database is unavailable: {text}", sqlstate="08006")
    for pattern, wording, sqlstate in _MESSAGES:
        if match := pattern.search(text):
            fields = match.groupdict()
            if "type" in fields:
                fields["type"] = _CONVERSION_TYPES.get(fields["type"], fields["type"].lower())
            return WarehouseError(wording.format(**fields), sqlstate=sqlstate)
    return WarehouseError(text or type(exc).__name__)


def is_conflict(exc: duckdb.Error) -> bool:
    """True when DuckDB aborted a statement for a write-write conflict with another writer."""
    message = str(exc)
    return isinstance(exc, duckdb.TransactionException) and (
        "Conflict on" in message or "write-write conflict" in message
    )

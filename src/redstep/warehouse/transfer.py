"""COPY and UNLOAD: Redshift's bulk load and unload, run against local bucket folders.

`translate_transfer` parses a COPY or UNLOAD statement, resolves its `s3://bucket/prefix` against
the bucket folders of redstep.toml, and answers

- on DuckDB, plain SQL (`INSERT INTO t SELECT * FROM read_csv([...])`, `COPY (query) TO '…'`);
- on PostgreSQL, a TRANSFER whose `run_on_postgres(cursor)` streams the files through
  `COPY … FROM STDIN` / `COPY (…) TO STDOUT`; parquet goes through DuckDB in process.

Drivers are imported inside the functions that use them: the dialect package imports this module
and must stay free of drivers.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlglot import exp
from sqlglot.tokenizer_core import Token, TokenType

from redstep.buckets import BucketError
from redstep.buckets.keys import is_storable_key, key_parts
from redstep.warehouse.base import WarehouseError
from redstep.warehouse.dialect.model import StatementKind, Target, Translation
from redstep.warehouse.dialect.script import tokenize
from redstep.warehouse.dialect.translate import REDSHIFT, SQLGLOT_DIALECTS

if TYPE_CHECKING:
    import psycopg

_VALUE_TOKENS = (TokenType.STRING, TokenType.NUMBER, TokenType.NATIONAL_STRING)
_FORMATS = ("CSV", "JSON", "PARQUET", "AVRO", "ORC")


@dataclass(frozen=True, slots=True)
class Location:
    """`s3://bucket/prefix` resolved to a local folder."""

    url: str
    folder: Path
    prefix: str

    def objects(self) -> list[Path]:
        """Every object whose key (path relative to the bucket folder) starts with the prefix:
        the files S3 would list there, so not an upload's unfinished file, nor a file that a
        symbolic link puts outside the folder."""
        root = self.folder.resolve()
        found = []
        for path in self.folder.rglob("*"):
            key = path.relative_to(self.folder).as_posix()
            if (
                key.startswith(self.prefix)
                and path.is_file()
                and is_storable_key(key)
                and path.resolve().is_relative_to(root)
            ):
                found.append(path)
        return sorted(found)

    def object_path(self, key: str) -> Path:
        """Where the object `key` of this bucket is written; inside the folder, or an error."""
        try:
            path = self.folder.joinpath(*key_parts(key))
        except BucketError as error:
            raise WarehouseError(f"invalid S3 location {self.url!r}: {error.message}") from None
        if not path.parent.resolve().is_relative_to(self.folder.resolve()):
            raise WarehouseError(f"invalid S3 location {self.url!r}: it leads outside the bucket")
        return path


@dataclass(frozen=True, slots=True)
class CopyFrom:
    """A COPY: load every object under a prefix into a table."""

    table: str
    columns: tuple[str, ...]
    files: tuple[Path, ...]
    format: str  # TEXT (Redshift's pipe-delimited default), CSV, JSON or PARQUET
    delimiter: str
    ignore_header: int
    is_gzip: bool
    null_as: str | None
    date_format: str | None
    time_format: str | None

    def run_on_postgres(self, cursor: psycopg.Cursor[Any]) -> int:
        """Stream the files into the table through `COPY … FROM STDIN`; return the rows loaded."""
        columns = self.columns or _table_columns(cursor, self.table)
        target = f"{self.table} ({', '.join(columns)})"
        if self.format in ("CSV", "TEXT"):
            options = [f"FORMAT {'csv' if self.format == 'CSV' else 'text'}"]
            options.append(f"DELIMITER {_quote(self.delimiter)}")
            if self.null_as is not None:
                options.append(f"NULL {_quote(self.null_as)}")
            with cursor.copy(f"COPY {target} FROM STDIN WITH ({', '.join(options)})") as copy:
                for path in self.files:
                    for line in _lines(path, self.is_gzip, self.ignore_header):
                        copy.write(line)
            return cursor.rowcount
        rows = _json_rows(self, columns) if self.format == "JSON" else _parquet_rows(self.files)
        with cursor.copy(f"COPY {target} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return cursor.rowcount


@dataclass(frozen=True, slots=True)
class UnloadTo:
    """An UNLOAD: write a query's rows to one object under a prefix."""

    query: str
    path: Path
    format: str  # TEXT, CSV or PARQUET
    delimiter: str
    has_header: bool
    is_gzip: bool

    def run_on_postgres(self, cursor: psycopg.Cursor[Any]) -> int:
        """Stream the query's rows through `COPY (…) TO STDOUT`; return the rows written."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        is_parquet = self.format == "PARQUET"
        options = ["FORMAT csv", f"DELIMITER {_quote(',' if is_parquet else self.delimiter)}"]
        if self.has_header or is_parquet:
            options.append("HEADER true")
        text_path = self.path.with_name(self.path.name + ".csv") if is_parquet else self.path
        opener = gzip.open if self.is_gzip and not is_parquet else open
        with (
            opener(text_path, "wb") as sink,
            cursor.copy(f"COPY ({self.query}) TO STDOUT WITH ({', '.join(options)})") as copy,
        ):
            for chunk in copy:
                sink.write(chunk)
        count = cursor.rowcount
        if is_parquet:
            import duckdb

            with duckdb.connect() as local:
                local.execute(
                    f"COPY (SELECT * FROM read_csv({_quote(str(text_path))}, header = true)) "
                    f"TO {_quote(str(self.path))} (FORMAT parquet)"
                )
            text_path.unlink()
        return count


Transfer = CopyFrom | UnloadTo
"""What a PostgreSQL backend runs for a TRANSFER statement."""


def translate_transfer(
    statement: str, target: Target, *, buckets: Mapping[str, Path]
) -> Translation:
    """Translate a COPY or UNLOAD statement for `target`, resolving its S3 location."""
    tokens = tokenize(statement)
    if tokens[0].text.upper() == "COPY":
        load = _parse_copy(statement, tokens, target, buckets)
        if target == Target.POSTGRES:
            return Translation(StatementKind.TRANSFER, transfer=load)
        return Translation(StatementKind.TRANSFER, statements=(_copy_on_duckdb(load),))
    # The Redshift tokenizer reads UNLOAD as a command and the rest as one string.
    unload = _parse_unload(tokenize(statement[tokens[0].end + 1 :]), target, buckets)
    if target == Target.POSTGRES:
        return Translation(StatementKind.TRANSFER, transfer=unload)
    return Translation(StatementKind.TRANSFER, statements=(_unload_on_duckdb(unload),))


# --- parsing ----------------------------------------------------------------------------------


def _options(tokens: list[Token]) -> dict[str, str | None]:
    """Redshift's `KEYWORD [AS] [value]` options, keyed by upper-case keyword."""
    options: dict[str, str | None] = {}
    index = 0
    while index < len(tokens):
        word = tokens[index].text.upper()
        index += 1
        if index < len(tokens) and tokens[index].token_type == TokenType.ALIAS:
            index += 1
        value: str | None = None
        if index < len(tokens) and (
            tokens[index].token_type in _VALUE_TOKENS
            or (word == "FORMAT" or word in ("PARALLEL", "COMPUPDATE", "STATUPDATE"))
        ):
            value = tokens[index].text
            index += 1
        if word == "FORMAT" and value is not None:
            options[value.upper()] = None
            if index < len(tokens) and tokens[index].token_type in _VALUE_TOKENS:
                options[value.upper()] = tokens[index].text
                index += 1
        else:
            options[word] = value
    return options


def _locate(url: str, buckets: Mapping[str, Path]) -> Location:
    if not url.lower().startswith("s3://"):
        raise WarehouseError(f"invalid S3 location {url!r}: expected s3://bucket/prefix")
    bucket, _, prefix = url[5:].partition("/")
    if bucket not in buckets:
        known = ", ".join(sorted(buckets)) or "none"
        raise WarehouseError(
            f"S3 bucket {bucket!r} is not mapped to a local folder (mapped buckets: {known}); "
            "add it under [buckets] in redstep.toml"
        )
    location = Location(url=url, folder=Path(buckets[bucket]), prefix=prefix)
    location.object_path(prefix + "_")  # keys starting with the prefix must be keys a folder holds
    return location


def _table_name(text: str, target: Target) -> str:
    table = exp.to_table(text, dialect=REDSHIFT)
    for identifier in table.find_all(exp.Identifier):
        identifier.set("this", identifier.this.lower().lstrip("#"))
    return table.sql(dialect=SQLGLOT_DIALECTS[target])


def _parse_copy(
    statement: str, tokens: list[Token], target: Target, buckets: Mapping[str, Path]
) -> CopyFrom:
    source = next((i for i, t in enumerate(tokens) if t.token_type == TokenType.FROM), None)
    if source is None or source + 1 >= len(tokens) or source < 2:
        raise WarehouseError("syntax error in COPY: expected COPY table FROM 's3://bucket/prefix'")
    name_end = source
    columns: tuple[str, ...] = ()
    if tokens[source - 1].token_type == TokenType.R_PAREN:
        opening = max(i for i in range(source) if tokens[i].token_type == TokenType.L_PAREN)
        columns = tuple(
            t.text.lower() for t in tokens[opening:source] if t.token_type not in _PUNCTUATION
        )
        name_end = opening
    table = _table_name(statement[tokens[1].start : tokens[name_end - 1].end + 1], target)
    location = _locate(tokens[source + 1].text, buckets)
    options = _options(tokens[source + 2 :])
    files = tuple(location.objects())
    if not files:
        raise WarehouseError(f"The specified S3 prefix '{location.prefix}' does not exist")
    data_format = next((f for f in _FORMATS if f in options), "TEXT")
    if data_format in ("AVRO", "ORC"):
        raise WarehouseError(f"COPY from {data_format} is not supported by redstep")
    default_delimiter = "," if data_format == "CSV" else "|"
    return CopyFrom(
        table=table,
        columns=columns,
        files=files,
        format=data_format,
        delimiter=options.get("DELIMITER") or default_delimiter,
        ignore_header=int(options.get("IGNOREHEADER") or 0),
        is_gzip="GZIP" in options,
        null_as=options.get("NULL"),
        date_format=_time_format(options.get("DATEFORMAT")),
        time_format=_time_format(options.get("TIMEFORMAT")),
    )


_PUNCTUATION = (TokenType.L_PAREN, TokenType.R_PAREN, TokenType.COMMA)


def _time_format(value: str | None) -> str | None:
    return None if value is None or value.lower() == "auto" else value


def _parse_unload(tokens: list[Token], target: Target, buckets: Mapping[str, Path]) -> UnloadTo:
    from redstep.warehouse.dialect.translate import translate

    strings = [t for t in tokens if t.token_type in _VALUE_TOKENS]
    to = next((i for i, t in enumerate(tokens) if t.text.upper() == "TO"), None)
    if len(strings) < 2 or to is None or to + 1 >= len(tokens):
        raise WarehouseError("syntax error in UNLOAD: expected UNLOAD ('select …') TO 's3://…'")
    inner = translate(strings[0].text, target)
    if inner.kind != StatementKind.QUERY or len(inner.statements) != 1:
        raise WarehouseError("UNLOAD needs a single SELECT statement")
    location = _locate(tokens[to + 1].text, buckets)
    options = _options(tokens[to + 2 :])
    existing = location.objects()
    if existing and "ALLOWOVERWRITE" not in options:
        raise WarehouseError(
            "Specified unload destination on S3 is not empty. Consider using a different "
            "bucket / prefix, manually removing the target files in S3, or using the "
            "ALLOWOVERWRITE option."
        )
    data_format = next((f for f in ("PARQUET", "CSV") if f in options), "TEXT")
    is_gzip = "GZIP" in options and data_format != "PARQUET"
    parallel = (options.get("PARALLEL") or "ON").upper() not in ("OFF", "FALSE")
    name = location.prefix + ("0000_part_00" if parallel else "000")
    name += ".parquet" if data_format == "PARQUET" else ".gz" if is_gzip else ""
    query = inner.statements[0]
    if target == Target.POSTGRES:  # no parameters: the COPY runs without psycopg's formatting
        query = query.replace("%%", "%")
    return UnloadTo(
        query=query,
        path=location.object_path(name),
        format=data_format,
        delimiter=options.get("DELIMITER") or ("," if data_format == "CSV" else "|"),
        has_header="HEADER" in options,
        is_gzip=is_gzip,
    )


# --- DuckDB -----------------------------------------------------------------------------------


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _strftime(redshift_format: str) -> str:
    """A Redshift DATEFORMAT/TIMEFORMAT as a strptime format."""
    out = redshift_format
    for ours, theirs in (
        ("YYYY", "%Y"), ("YY", "%y"), ("MM", "%m"), ("DD", "%d"), ("HH24", "%H"),
        ("HH12", "%I"), ("HH", "%H"), ("MI", "%M"), ("SS", "%S"), ("MON", "%b"),
    ):  # fmt: skip
        out = out.replace(ours, theirs)
    return out


def _copy_on_duckdb(load: CopyFrom) -> str:
    files = "[" + ", ".join(_quote(str(path)) for path in load.files) + "]"
    target = load.table + (f" ({', '.join(load.columns)})" if load.columns else "")
    compression = ", compression = 'gzip'" if load.is_gzip else ""
    if load.format == "PARQUET":
        return f"INSERT INTO {target} SELECT * FROM read_parquet({files})"
    if load.format == "JSON":
        selected = ", ".join(load.columns) if load.columns else "*"
        by_name = "" if load.columns else " BY NAME"
        return (
            f"INSERT INTO {target}{by_name} SELECT {selected} "
            f"FROM read_json({files}, format = 'auto'{compression})"
        )
    options = [
        f"delim = {_quote(load.delimiter)}",
        "header = false",
        f"skip = {load.ignore_header}",
        f"quote = {_quote(chr(34) if load.format == 'CSV' else '')}",
        f"escape = {_quote(chr(34) if load.format == 'CSV' else '')}",
    ]
    if load.null_as is not None:
        options.append(f"nullstr = {_quote(load.null_as)}")
    if load.date_format or load.time_format:
        # Typed columns are sniffed so the formats apply; without formats every field is read
        # as text and cast by the INSERT, which keeps leading zeros of text columns.
        if load.date_format:
            options.append(f"dateformat = {_quote(_strftime(load.date_format))}")
        if load.time_format:
            options.append(f"timestampformat = {_quote(_strftime(load.time_format))}")
    else:
        options.append("all_varchar = true")
    return (
        f"INSERT INTO {target} SELECT * FROM read_csv({files}, {', '.join(options)}{compression})"
    )


def _unload_on_duckdb(unload: UnloadTo) -> str:
    unload.path.parent.mkdir(parents=True, exist_ok=True)
    if unload.format == "PARQUET":
        options = "FORMAT parquet"
    else:
        options = f"FORMAT csv, DELIMITER {_quote(unload.delimiter)}, HEADER {unload.has_header}"
        if unload.is_gzip:
            options += ", COMPRESSION gzip"
    return f"COPY ({unload.query}) TO {_quote(str(unload.path))} ({options})"


# --- PostgreSQL helpers -----------------------------------------------------------------------


def _table_columns(cursor: psycopg.Cursor[Any], table: str) -> tuple[str, ...]:
    cursor.execute(f"SELECT * FROM {table} LIMIT 0")
    return tuple(column.name for column in cursor.description or ())


def _lines(path: Path, is_gzip: bool, skip: int) -> Iterator[bytes]:
    opener = gzip.open if is_gzip else open
    with opener(path, "rb") as source:
        for number, line in enumerate(source):
            if number >= skip:
                yield line


def _json_rows(load: CopyFrom, columns: tuple[str, ...]) -> Iterator[tuple[object, ...]]:
    """Rows of JSON objects mapped to columns by key, as `JSON 'auto'` maps them."""
    decoder = json.JSONDecoder()
    for path in load.files:
        opener = gzip.open if load.is_gzip else open
        with opener(path, "rt", encoding="utf-8") as source:
            text = source.read()
        position = 0
        while True:
            while position < len(text) and text[position].isspace():
                position += 1
            if position >= len(text):
                break
            document, position = decoder.raw_decode(text, position)
            values = {str(key).lower(): value for key, value in dict(document).items()}
            yield tuple(
                json.dumps(value) if isinstance(value, dict | list) else value
                for value in (values.get(column) for column in columns)
            )


def _parquet_rows(files: tuple[Path, ...]) -> Iterator[tuple[object, ...]]:
    import duckdb

    listed = "[" + ", ".join(_quote(str(path)) for path in files) + "]"
    with duckdb.connect() as local:
        yield from local.execute(f"SELECT * FROM read_parquet({listed})").fetchall()

"""Statement results on disk, under `.redstep/results/`, kept 24 hours.

A result is written once, when its statement finishes, already in the form the caller will read:
for ResultFormat JSON, pages of `Field` records; for CSV, pages of CSV text (a header line of
column names, then the rows). Either way with its ColumnMetadata. Pages are cut by size, about
1 MiB of values each, so a page holds many small rows or few wide ones; TotalNumRows is always the
whole count. ResultSize counts the same in both formats: the bytes of the values' text (what
`fields.field_size` measures), not the bytes of the encoding around them. Each result is one file
(one file to create: a small result costs little more than the statement's record), written
under a temporary name as its rows stream in and renamed into place, so a reader never sees half
of one.
"""

from __future__ import annotations

import base64
import csv
import io
import os
import shutil
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from redstep.dataapi.errors import ValidationException
from redstep.dataapi.fields import (
    NonFiniteDouble,
    column_metadata,
    field_encoder,
    to_text,
    wire_double,
)
from redstep.dataapi.paging import decode_token, encode_token
from redstep.dataapi.shapes import ColumnMetadata, Field
from redstep.dataapi.statements import ResultFormat
from redstep.warehouse.base import Column

RESULTS_DIR = "results"
RETENTION = timedelta(hours=24)
"""How long a result is kept: AWS keeps query results for 24 hours."""
PAGE_BYTES = 1 << 20
"""About how many bytes of values one page holds."""
_FIELD_JSON_BYTES = 16
"""About how many bytes of JSON a Field adds to its value's (`{"longValue":…}`), for cutting
pages of many NULLs or short values before they grow far beyond `PAGE_BYTES`."""
EXPIRED = "Query result has expired: results are kept for 24 hours after the query ran."
_INDEX_AT = struct.Struct(">Q")
"""The last 8 bytes of a result's file: where its index starts."""


@dataclass(frozen=True, slots=True)
class ResultSummary:
    """What DescribeStatement reports of a written result."""

    total_rows: int
    size_bytes: int


@dataclass(frozen=True, slots=True)
class ResultPage:
    """One page of a result, ready for the response."""

    column_metadata: list[ColumnMetadata]
    total_rows: int
    json_records: list[list[Field]]
    csv_text: str | None
    next_token: str | None


class ResultStore:
    """Results of finished statements, one file each: the pages one after another, then an index
    (what DescribeStatement and every page share, and where each page is), then the index's
    offset in 8 bytes."""

    def __init__(self, state_dir: Path, *, page_bytes: int = PAGE_BYTES) -> None:
        self.root = state_dir / RESULTS_DIR
        self.root.mkdir(parents=True, exist_ok=True)
        self.page_bytes = page_bytes

    def _path(self, result_id: str) -> Path:
        return self.root / result_id.replace(":", "_")

    def write(
        self,
        result_id: str,
        columns: Sequence[Column],
        rows: Iterable[Sequence[object]],
        result_format: ResultFormat,
        created_at: datetime,
    ) -> ResultSummary:
        """Convert `rows` to the wire form of `result_format` and keep them, page by page, as
        they are read; an error in reading them leaves nothing behind."""
        path = self._path(result_id)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with temporary.open("wb") as file:
                summary = self._write_pages(file, columns, rows, result_format, created_at)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        temporary.replace(path)
        return summary

    def _write_pages(
        self,
        file: BinaryIO,
        columns: Sequence[Column],
        rows: Iterable[Sequence[object]],
        result_format: ResultFormat,
        created_at: datetime,
    ) -> ResultSummary:
        if result_format is ResultFormat.CSV:
            pages = self._csv_pages(columns, rows)
        else:
            pages = self._json_pages([column.type_name for column in columns], rows)
        places: list[tuple[int, int]] = []
        total_rows = size = 0
        for data, page_rows, page_size in pages:
            places.append((file.tell(), len(data)))
            file.write(data)
            total_rows += page_rows
            size += page_size
        index = {
            "created_at": created_at.isoformat(),
            "format": str(result_format),
            "total_rows": total_rows,
            "size_bytes": size,
            "pages": places,
            "column_metadata": [column_metadata(column) for column in columns],
        }
        index_at = file.tell()
        file.write(orjson.dumps(index))
        file.write(_INDEX_AT.pack(index_at))
        return ResultSummary(total_rows=total_rows, size_bytes=size)

    def read(self, result_id: str, next_token: str | None) -> ResultPage:
        """The page that `next_token` points at (the first when None); ValidationException when
        the result is gone (purged, or its statement's process stopped while writing it)."""
        try:
            file = self._path(result_id).open("rb")
        except FileNotFoundError:
            raise ValidationException(EXPIRED) from None
        with file:
            index = _read_index(file)
            result_format = ResultFormat(index["format"])
            places: list[list[int]] = index["pages"]
            page = decode_token(result_id, next_token)
            if page >= len(places) and not (page == 0 and not places):
                raise ValidationException("Invalid NextToken.")
            data = b""
            if places:
                offset, length = places[page]
                file.seek(offset)
                data = file.read(length)
        json_records: list[list[Field]] = []
        csv_text: str | None = None
        if result_format is ResultFormat.CSV:
            csv_text = data.decode() if places else _csv_header(index["column_metadata"])
        elif data:
            stored = orjson.loads(data)
            if b'"blobValue"' in data or b'"doubleValue"' in data:  # kept in JSON's terms
                stored = [[_field_from_json(cell) for cell in row] for row in stored]
            json_records = stored
        has_more = page + 1 < len(places)
        return ResultPage(
            column_metadata=index["column_metadata"],
            total_rows=index["total_rows"],
            json_records=json_records,
            csv_text=csv_text,
            next_token=encode_token(result_id, page + 1) if has_more else None,
        )

    def delete(self, result_id: str) -> None:
        """Delete a result (nothing happens when there is none)."""
        self._path(result_id).unlink(missing_ok=True)

    def purge(self, older_than: datetime) -> int:
        """Delete results written before `older_than`, and whatever in the folder is not a
        result (another process's unfinished one); return how many results went."""
        purged = 0
        for path in self.root.iterdir():
            if path.name.startswith("."):
                if path.name.endswith(".tmp") and not _is_ours(path):
                    _remove(path)
                continue
            try:
                with path.open("rb") as file:
                    created = datetime.fromisoformat(_read_index(file)["created_at"])
            except (OSError, ValueError, LookupError, TypeError, struct.error):
                _remove(path)  # not a result this store wrote
                continue
            if created < older_than:
                _remove(path)
                purged += 1
        return purged

    def _json_pages(
        self, type_names: list[str], rows: Iterable[Sequence[object]]
    ) -> Iterator[tuple[bytes, int, int]]:
        encoders = [field_encoder(type_name) for type_name in type_names]
        page: list[list[Field]] = []
        page_size = page_bytes = 0
        for row in rows:
            fields: list[Field] = []
            size = 0
            for encode, value in zip(encoders, row, strict=True):
                field, field_bytes = encode(value)
                fields.append(field)
                size += field_bytes
            page.append(fields)
            page_size += size
            page_bytes += size + _FIELD_JSON_BYTES * len(fields)
            if page_bytes >= self.page_bytes:
                yield orjson.dumps(page, default=_json_default), len(page), page_size
                page, page_size, page_bytes = [], 0, 0
        if page:
            yield orjson.dumps(page, default=_json_default), len(page), page_size

    def _csv_pages(
        self, columns: Sequence[Column], rows: Iterable[Sequence[object]]
    ) -> Iterator[tuple[bytes, int, int]]:
        header = _csv_header([column_metadata(column) for column in columns])
        buffer = io.StringIO()
        buffer.write(header)
        writer = csv.writer(buffer, lineterminator="\n")
        encoders = [field_encoder(column.type_name) for column in columns]
        count = page_size = 0
        for row in rows:
            writer.writerow(
                ["" if value is None else to_text(value, column.type_name)
                 for value, column in zip(row, columns, strict=True)]
            )  # fmt: skip
            count += 1
            page_size += sum(encode(value)[1] for encode, value in zip(encoders, row, strict=True))
            if buffer.tell() >= self.page_bytes:
                yield buffer.getvalue().encode(), count, page_size
                buffer = io.StringIO()
                writer = csv.writer(buffer, lineterminator="\n")
                count = page_size = 0
        if count:
            yield buffer.getvalue().encode(), count, page_size


def _csv_header(metadata: Sequence[ColumnMetadata]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(
        [column.get("name", "") for column in metadata]
    )
    return buffer.getvalue()


def _read_index(file: BinaryIO) -> dict[str, Any]:
    file.seek(-_INDEX_AT.size, os.SEEK_END)
    end = file.tell()
    (index_at,) = _INDEX_AT.unpack(file.read(_INDEX_AT.size))
    file.seek(index_at)
    index: dict[str, Any] = orjson.loads(file.read(end - index_at))
    return index


def _remove(path: Path) -> None:
    if path.is_dir():  # not something this store writes
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _json_default(value: object) -> str:
    """How a page spells what JSON has no value for: bytes in base64, and NaN and the
    infinities (marked `NonFiniteDouble`) as the strings `nan`, `inf`, `-inf`."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, NonFiniteDouble):
        return str(float(value))
    raise TypeError(f"{type(value).__name__} has no JSON form")


def _field_from_json(cell: dict[str, Any]) -> Field:
    if "blobValue" in cell:
        return {"blobValue": base64.b64decode(cell["blobValue"])}
    if "doubleValue" in cell:
        return {"doubleValue": wire_double(float(cell["doubleValue"]))}
    field: Field = cell  # type: ignore[assignment]
    return field


def _is_ours(path: Path) -> bool:
    return path.name.endswith(f".{os.getpid()}.tmp")

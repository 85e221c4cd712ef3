"""Statement results on disk, under `.redstep/results/`, kept 24 hours.

A result is written once, when its statement finishes, already in the form the caller will read:
for ResultFormat JSON, pages of `Field` records; for CSV, pages of CSV text (a header line of
column names, then the rows). Either way with its ColumnMetadata. Pages are cut by size, about
1 MiB of values each, so a page holds many small rows or few wide ones; TotalNumRows is always the
whole count. ResultSize counts the same in both formats: the bytes of the values' text (what
`fields.field_size` measures), not the bytes of the encoding around them. Each result is a folder
written under a temporary name and renamed into place, so a reader never sees half of one.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

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
_META = "meta.json"


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
    """Results of finished statements, one folder each."""

    def __init__(self, state_dir: Path, *, page_bytes: int = PAGE_BYTES) -> None:
        self.root = state_dir / RESULTS_DIR
        self.root.mkdir(parents=True, exist_ok=True)
        self.page_bytes = page_bytes

    def _folder(self, result_id: str) -> Path:
        return self.root / result_id.replace(":", "_")

    def exists(self, result_id: str) -> bool:
        """True when the result was written and not yet purged."""
        return (self._folder(result_id) / _META).is_file()

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
        folder = self._folder(result_id)
        temporary = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
        shutil.rmtree(temporary, ignore_errors=True)
        temporary.mkdir(parents=True)
        try:
            summary = self._write_pages(temporary, columns, rows, result_format, created_at)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        shutil.rmtree(folder, ignore_errors=True)
        temporary.rename(folder)
        return summary

    def _write_pages(
        self,
        folder: Path,
        columns: Sequence[Column],
        rows: Iterable[Sequence[object]],
        result_format: ResultFormat,
        created_at: datetime,
    ) -> ResultSummary:
        type_names = [column.type_name for column in columns]
        if result_format is ResultFormat.CSV:
            pages = self._csv_pages(columns, rows)
        else:
            pages = self._json_pages(type_names, rows)
        total_rows = size = page_count = 0
        for page_count, (text, page_rows, page_size) in enumerate(pages, start=1):
            (folder / _page_name(page_count - 1, result_format)).write_bytes(text)
            total_rows += page_rows
            size += page_size
        meta = {
            "created_at": created_at.isoformat(),
            "format": str(result_format),
            "total_rows": total_rows,
            "size_bytes": size,
            "pages": page_count,
            "column_metadata": [column_metadata(column) for column in columns],
        }
        (folder / _META).write_text(json.dumps(meta), "utf-8")
        return ResultSummary(total_rows=total_rows, size_bytes=size)

    def read(self, result_id: str, next_token: str | None) -> ResultPage:
        """The page that `next_token` points at (the first when None)."""
        folder = self._folder(result_id)
        meta = json.loads((folder / _META).read_text("utf-8"))
        result_format = ResultFormat(meta["format"])
        page = decode_token(result_id, next_token)
        if page >= meta["pages"] and not (page == 0 and meta["pages"] == 0):
            raise ValidationException("Invalid NextToken.")
        json_records: list[list[Field]] = []
        csv_text: str | None = None
        if meta["pages"]:
            data = (folder / _page_name(page, result_format)).read_bytes()
            if result_format is ResultFormat.CSV:
                csv_text = data.decode()
            else:
                stored = orjson.loads(data)
                if b'"blobValue"' in data or b'"doubleValue"' in data:  # kept in JSON's terms
                    stored = [[_field_from_json(cell) for cell in row] for row in stored]
                json_records = stored
        elif result_format is ResultFormat.CSV:
            csv_text = _csv_header(meta["column_metadata"])
        has_more = page + 1 < meta["pages"]
        return ResultPage(
            column_metadata=meta["column_metadata"],
            total_rows=meta["total_rows"],
            json_records=json_records,
            csv_text=csv_text,
            next_token=encode_token(result_id, page + 1) if has_more else None,
        )

    def delete(self, result_id: str) -> None:
        """Delete a result (nothing happens when there is none)."""
        shutil.rmtree(self._folder(result_id), ignore_errors=True)

    def purge(self, older_than: datetime) -> int:
        """Delete results written before `older_than`; return how many went."""
        purged = 0
        for folder in self.root.iterdir():
            if folder.name.startswith("."):
                if folder.name.endswith(".tmp") and not _is_ours(folder):
                    shutil.rmtree(folder, ignore_errors=True)
                continue
            try:
                meta = json.loads((folder / _META).read_text("utf-8"))
                created = datetime.fromisoformat(meta["created_at"])
            except (OSError, ValueError, KeyError):
                created = None
            if created is None or created < older_than:
                shutil.rmtree(folder, ignore_errors=True)
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


def _page_name(page: int, result_format: ResultFormat) -> str:
    return f"page-{page:06d}.{'csv' if result_format is ResultFormat.CSV else 'json'}"


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


def _is_ours(folder: Path) -> bool:
    return folder.name.endswith(f".{os.getpid()}.tmp")

"""The items of a distributed Map: read from an object's bytes or a bucket listing, capped at
MaxItems, and grouped into the inputs of its child executions.

Pure: every reader takes bytes (or an iterable of byte chunks, read as they come, so that a
100,000-line CSV object is never held whole) and answers values; the map run
(`redstep.runtime.map_runs`) opens the objects. A reader that cannot make sense of what it is
given raises `ItemReadError`, whose message is the cause of the States.ItemReaderFailed the
map run fails with.

AWS's rules, as its developer guide states them ("How Step Functions parses input CSV files",
"ItemReader (Map)", "ItemBatcher (Map)"):

- CSV: fields are separated by CSVDelimiter (COMMA by default: PIPE, SEMICOLON, SPACE, TAB),
  records by newlines; every field is a string; double quotes may enclose a field holding the
  delimiter or a newline, and are kept by repeating them; a backslash escapes a backslash, a
  double quote or the delimiter, and before any other character is dropped; a row shorter than
  the header gets empty strings, a longer one loses its extra fields. The guide's example
  reads an unquoted `{""MyKey"":""MyValue""}` as `{"MyKey":"MyValue"}`, so a repeated quote
  is one quote in any field, quoted or not (each pair once: four quotes are two). Duplicate
  headers fail ("CSV headers cannot contain duplicates.", as AWS's recorded answer words it).
- JSON: the object is one array (or holds one at ReaderConfig.ItemsPointer); JSONL: one value
  a line. A JSON object that is not an array fails with "Attempting to map over non-iterable
  node." (AWS's recorded wording).
- MANIFEST: an S3 Inventory manifest.json; its CSV files (gzip or not) are read with the
  manifest's `fileSchema` as their header, each row an object of strings.
- listObjectsV2: each object `{"Etag", "Key", "LastModified", "Size", "StorageClass"}`, the
  ETag quoted and LastModified in epoch seconds, as the guide's example shows.
- MaxItems caps the items read (the CSV header row is not an item); 0 or absent: no cap.
- A batch is `{"Items": [...]}` plus `"BatchInput"` when one is given; it closes before
  MaxItemsPerBatch items, and before its JSON text (compact, UTF-8: what the child's input is)
  would pass MaxInputBytesPerBatch, and 256 KiB whatever the limit says (AWS's quota on an
  execution's input).

redstep's own, where AWS's guide says nothing: a lone quote inside an unquoted field is text;
text after the quote that closes a field, and a quoted field never closed, fail; a backslash
before a quote escapes it wherever it is (the guide warns that AWS's `\\"` "only work[s] when
included in pairs", without saying what a single one does). Blank lines in CSV and JSONL
objects are skipped. Redstep's wordings, AWS's not seen: the causes of a CSV that breaks the
quoting rules, of bytes that are not UTF-8, of a manifest that is not an inventory manifest,
and of an item too large for a child's input on its own (States.DataLimitExceeded,
`ItemTooLarge`).
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from itertools import islice
from typing import Any, TypeVar

from redstep.asl.distributed import CSV_DELIMITERS, HeaderLocation, InputType
from redstep.asl.json_text import InvalidJsonText, read_json
from redstep.asl.paths import to_json
from redstep.buckets.objects import ObjectInfo

#: AWS's quota on an execution's input, which a child's input (one item or a batch) is.
MAX_CHILD_INPUT_BYTES = 256 * 1024

DUPLICATE_HEADERS = "CSV headers cannot contain duplicates."
NOT_AN_ARRAY = "Attempting to map over non-iterable node."

_T = TypeVar("_T")
_E = TypeVar("_E", bound=StrEnum)


class ItemReadError(Exception):
    """The items cannot be read: the message is the States.ItemReaderFailed cause."""


class ItemTooLarge(Exception):
    """One item alone makes a child's input too large (States.DataLimitExceeded)."""


@dataclass(frozen=True, slots=True)
class ReaderConfig:
    """An ItemReader's ReaderConfig, checked (MaxItemsPath already resolved into MaxItems)."""

    input_type: InputType = InputType.JSON
    header_location: HeaderLocation = HeaderLocation.FIRST_ROW
    headers: tuple[str, ...] = ()
    delimiter: str = ","
    max_items: int | None = None
    items_pointer: str | None = None

    @classmethod
    def from_wire(cls, config: Mapping[str, Any] | None) -> ReaderConfig:
        """The ReaderConfig object of a definition; ItemReadError on a value AWS refuses."""
        config = config or {}
        input_type = _choice(config, "InputType", InputType, InputType.JSON)
        location = _choice(config, "CSVHeaderLocation", HeaderLocation, HeaderLocation.FIRST_ROW)
        headers = config.get("CSVHeaders", [])
        if not isinstance(headers, list) or not all(isinstance(h, str) for h in headers):
            raise ItemReadError("ReaderConfig.CSVHeaders must be an array of strings")
        if location is HeaderLocation.GIVEN and not headers:
            raise ItemReadError(
                "ReaderConfig.CSVHeaders is required when CSVHeaderLocation is GIVEN"
            )
        delimiter = config.get("CSVDelimiter", "COMMA")
        if delimiter not in CSV_DELIMITERS:
            raise ItemReadError(
                f"ReaderConfig.CSVDelimiter must be one of {', '.join(CSV_DELIMITERS)}: "
                f"{delimiter!r}"
            )
        max_items = config.get("MaxItems")
        if max_items is not None and (
            not isinstance(max_items, int) or isinstance(max_items, bool) or max_items < 0
        ):
            raise ItemReadError(
                f"ReaderConfig.MaxItems must be a non-negative integer: {max_items!r}"
            )
        pointer = config.get("ItemsPointer")
        if pointer is not None and not isinstance(pointer, str):
            raise ItemReadError("ReaderConfig.ItemsPointer must be a string")
        return cls(
            input_type=input_type,
            header_location=location,
            headers=tuple(headers),
            delimiter=CSV_DELIMITERS[delimiter],
            max_items=max_items or None,
            items_pointer=pointer,
        )


def _choice(config: Mapping[str, Any], key: str, kind: type[_E], default: _E) -> _E:
    value = config.get(key, default)
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise ItemReadError(f"ReaderConfig.{key} must be one of {allowed}: {value!r}") from None


def capped(items: Iterable[_T], max_items: int | None) -> Iterator[_T]:
    """The first `max_items` items (all of them when None); reading stops there."""
    return iter(items) if max_items is None else islice(items, max_items)


# -- text streams ------------------------------------------------------------------------------


class _ChunkStream(io.RawIOBase):
    """Byte chunks as a readable raw stream, consumed as they are read."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        super().__init__()
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _binary(chunks: Iterable[bytes], *, compressed: bool = False) -> io.BufferedReader[Any]:
    stream = io.BufferedReader(_ChunkStream(chunks))
    if compressed:  # buffered again, so the text layer reads the decompressed bytes in blocks
        return io.BufferedReader(gzip.GzipFile(fileobj=stream, mode="rb"))
    return stream


def _text(chunks: Iterable[bytes], *, compressed: bool = False) -> io.TextIOWrapper:
    """UTF-8 text (a byte-order mark dropped), lines kept whole with their endings, as the csv
    module needs to see a newline inside quotes."""
    return io.TextIOWrapper(_binary(chunks, compressed=compressed), "utf-8-sig", newline="")


def _decoding_errors(rows: Iterator[_T], what: str) -> Iterator[_T]:
    """`rows`, with a failure to decode or decompress the bytes worded as a reader's failure."""
    try:
        yield from rows
    except UnicodeDecodeError as error:
        raise ItemReadError(
            f"{what} is not UTF-8 text: {error.reason} at byte {error.start}"
        ) from None
    except (OSError, EOFError) as error:  # gzip's BadGzipFile is an OSError
        raise ItemReadError(f"{what} cannot be decompressed: {error}") from None


# -- CSV ---------------------------------------------------------------------------------------


def read_csv(chunks: Iterable[bytes], config: ReaderConfig) -> Iterator[dict[str, str]]:
    """The rows of a CSV object as objects keyed by its header (AWS's rules: module docstring).

    MaxItems is applied here, so that reading stops at the last item wanted."""
    rows = _csv_rows(_text(chunks), config.delimiter)
    if config.header_location is HeaderLocation.GIVEN:
        headers = list(config.headers)
    else:
        first = next(rows, None)
        if first is None:
            return
        headers = first
    if len(set(headers)) != len(headers):
        raise ItemReadError(DUPLICATE_HEADERS)
    width = len(headers)
    for row in capped(rows, config.max_items):
        if len(row) < width:
            row = row + [""] * (width - len(row))
        yield dict(zip(headers, row, strict=False))


def _csv_rows(text: io.TextIOWrapper, delimiter: str) -> Iterator[list[str]]:
    """The records of CSV text, by AWS's rules (module docstring); blank lines hold none.

    Read here rather than by the csv module, which cannot express one of the rules: AWS keeps
    one quote of a pair repeated in an unquoted field (the guide reads `{""MyKey"":""MyValue""}`
    as `{"MyKey":"MyValue"}`) where the csv module keeps both, and the csv module does not say
    which fields were quoted, so no pass after it can tell `a""b` unquoted (AWS: one quote)
    from the same field quoted with each of its quotes repeated (AWS: two quotes). A line with
    neither a quote nor a backslash is split as it is."""
    lines = _Lines(_decoding_errors(iter(text), "The CSV object"))
    while (line := lines.next()) is not None:
        if '"' in line or "\\" in line:
            record = _record(line, lines, delimiter)
        else:
            text_only = line.rstrip(_NEWLINES)
            record = text_only.split(delimiter) if text_only else []
        if record:
            yield record


_NEWLINES = "\r\n"
_QUOTE = '"'
_BACKSLASH = "\\"


class _Field(Enum):
    """Where the reader of a record is (`_record`)."""

    START = "start"  # before a field's first character
    UNQUOTED = "unquoted"
    QUOTED = "quoted"
    CLOSED = "closed"  # after the quote that closed a quoted field


class _Lines:
    """Lines of text with their endings, counted (a record may span several)."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self.number = 0

    def next(self) -> str | None:
        line = next(self._lines, None)
        if line is not None:
            self.number += 1
        return line


def _record(line: str, lines: _Lines, delimiter: str) -> list[str]:
    """The record that begins with `line`, reading more lines while a quoted field is open.

    A quote opens a quoted field only as a field's first character; inside one, the delimiter
    and newlines are text, and a quote closes it unless another follows (then the two are one
    quote). In an unquoted field a repeated quote is one quote and a lone one is text. A
    backslash keeps the backslash, quote or delimiter after it as text, and is dropped before
    anything else (which is then read as it would be without it)."""
    first_line = lines.number
    fields: list[str] = []
    field: list[str] = []
    where = _Field.START
    at = 0
    while True:
        if at == len(line):
            if where is not _Field.QUOTED:
                break  # the end of the text ends the record
            following = lines.next()
            if following is None:
                raise _malformed(first_line, "a quoted field it opens is never closed")
            line, at = following, 0
            continue
        character = line[at]
        at += 1
        if where is _Field.CLOSED and character != delimiter and character not in _NEWLINES:
            raise _malformed(
                lines.number, f"{delimiter!r} expected after the quote that closes a field"
            )
        if character == _BACKSLASH:
            if at < len(line) and line[at] in (_BACKSLASH, _QUOTE, delimiter):
                field.append(line[at])
                at += 1
                if where is _Field.START:
                    where = _Field.UNQUOTED
            continue
        if where is _Field.QUOTED:
            if character != _QUOTE:
                field.append(character)
            elif at < len(line) and line[at] == _QUOTE:
                field.append(_QUOTE)
                at += 1
            else:
                where = _Field.CLOSED
            continue
        if character == delimiter:
            fields.append("".join(field))
            field, where = [], _Field.START
        elif character in _NEWLINES:
            break
        elif character == _QUOTE and where is _Field.START:
            where = _Field.QUOTED
        else:
            if character == _QUOTE and at < len(line) and line[at] == _QUOTE:
                at += 1  # a repeated quote is one
            field.append(character)
            where = _Field.UNQUOTED
    if where is _Field.START and not fields:
        return []  # a blank line
    fields.append("".join(field))
    return fields


def _malformed(line_number: int, why: str) -> ItemReadError:
    return ItemReadError(f"The CSV object is malformed at line {line_number}: {why}")


# -- JSON and JSON Lines -----------------------------------------------------------------------


def read_json_items(data: bytes, config: ReaderConfig) -> list[Any]:
    """The array a JSON object holds (at ItemsPointer when given), capped at MaxItems."""
    try:
        document = read_json(data.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise ItemReadError(f"The JSON object is not UTF-8 text: {error.reason}") from None
    except InvalidJsonText as error:
        raise ItemReadError(f"The JSON object is not valid JSON: {error}") from None
    if config.items_pointer is not None:
        document = _pointed(document, config.items_pointer)
    if not isinstance(document, list):
        raise ItemReadError(NOT_AN_ARRAY)
    return document if config.max_items is None else document[: config.max_items]


def _pointed(document: Any, pointer: str) -> Any:
    """The value at a JSON Pointer (RFC 6901)."""
    if pointer in ("", "/"):
        return document
    if not pointer.startswith("/"):
        raise ItemReadError(f"ReaderConfig.ItemsPointer is not a JSON Pointer: {pointer!r}")
    value = document
    for token in pointer[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict) and token in value:
            value = value[token]
        elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        else:
            raise ItemReadError(f"ReaderConfig.ItemsPointer {pointer!r} points at nothing")
    return value


def read_jsonl(chunks: Iterable[bytes], config: ReaderConfig) -> Iterator[Any]:
    """One value a line (blank lines skipped), capped at MaxItems."""
    return capped(_jsonl_values(chunks), config.max_items)


def _jsonl_values(chunks: Iterable[bytes]) -> Iterator[Any]:
    lines = _decoding_errors(iter(_text(chunks)), "The JSONL object")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield read_json(line)
        except InvalidJsonText as error:
            raise ItemReadError(
                f"Line {number} of the JSONL object is not valid JSON: {error}"
            ) from None


# -- S3 Inventory manifests --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InventoryManifest:
    """What an S3 Inventory manifest.json says of its report: where its CSV files are, and
    the columns they hold."""

    bucket: str
    keys: tuple[str, ...]
    columns: tuple[str, ...]


def read_manifest(data: bytes) -> InventoryManifest:
    """The S3 Inventory manifest in `data`; ItemReadError when it is not one redstep reads."""
    try:
        manifest = read_json(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, InvalidJsonText) as error:
        raise ItemReadError(f"The manifest is not valid JSON: {error}") from None
    if not isinstance(manifest, dict):
        raise ItemReadError("The manifest is not a JSON object")
    file_format = manifest.get("fileFormat")
    if file_format != "CSV":
        raise ItemReadError(
            f"The manifest's fileFormat is {file_format!r}: redstep reads CSV inventory reports"
        )
    destination = manifest.get("destinationBucket")
    schema = manifest.get("fileSchema")
    files = manifest.get("files")
    if not isinstance(destination, str) or not isinstance(schema, str):
        raise ItemReadError("The manifest has no destinationBucket or fileSchema")
    if not isinstance(files, list) or not all(
        isinstance(entry, dict) and isinstance(entry.get("key"), str) for entry in files
    ):
        raise ItemReadError("The manifest's files must be objects with a key")
    return InventoryManifest(
        bucket=destination.rpartition(":")[2],  # arn:aws:s3:::bucket, or a bare name
        keys=tuple(entry["key"] for entry in files),
        columns=tuple(column.strip() for column in schema.split(",")),
    )


def read_inventory(
    chunks: Iterable[bytes], columns: tuple[str, ...], *, compressed: bool
) -> Iterator[dict[str, str]]:
    """The rows of one inventory report file, keyed by the manifest's columns."""
    rows = _csv_rows(_text(chunks, compressed=compressed), ",")
    width = len(columns)
    for row in rows:
        if len(row) < width:
            row = row + [""] * (width - len(row))
        yield dict(zip(columns, row, strict=False))


def is_gzip(key: str, head: bytes) -> bool:
    """Whether an inventory file is gzip-compressed (its magic bytes, or its name)."""
    return head.startswith(b"\x1f\x8b") or key.endswith(".gz")


# -- listings ----------------------------------------------------------------------------------


def listed_item(info: ObjectInfo) -> dict[str, Any]:
    """An object of an s3:listObjectsV2 ItemReader, as the child receives it."""
    return {
        "Etag": info.etag,
        "Key": info.key,
        "LastModified": int(info.last_modified.timestamp()),
        "Size": info.size,
        "StorageClass": "STANDARD",
    }


# -- batches -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Batching:
    """An ItemBatcher, resolved: at most `max_items` items and `max_bytes` bytes a batch."""

    max_items: int | None = None
    max_bytes: int | None = None
    batch_input: Any = None
    has_batch_input: bool = False

    @classmethod
    def from_wire(cls, batcher: Mapping[str, Any]) -> Batching:
        """The ItemBatcher of a map run's request (paths already resolved)."""
        return cls(
            max_items=batcher.get("MaxItemsPerBatch") or None,
            max_bytes=batcher.get("MaxInputBytesPerBatch") or None,
            batch_input=batcher.get("BatchInput"),
            has_batch_input=batcher.get("BatchInput") is not None,
        )


@dataclass(frozen=True, slots=True)
class ChildInput:
    """What one child execution receives, and how many of the map run's items that is."""

    value: Any
    items: int


def one_by_one(items: Iterable[Any]) -> Iterator[ChildInput]:
    """Without a batcher each item is a child's input; ItemTooLarge past AWS's input quota."""
    for index, item in enumerate(items):
        size = len(to_json(item).encode())
        if size > MAX_CHILD_INPUT_BYTES:
            raise ItemTooLarge(
                f"Item {index} is {size} bytes, more than an execution's input may be "
                f"({MAX_CHILD_INPUT_BYTES} bytes)"
            )
        yield ChildInput(item, 1)


def batched(items: Iterable[Any], batching: Batching) -> Iterator[ChildInput]:
    """The items grouped into batches as AWS groups them (module docstring)."""
    limit = min(batching.max_bytes or MAX_CHILD_INPUT_BYTES, MAX_CHILD_INPUT_BYTES)
    # The size of `{"Items":[]}` and of `,"BatchInput":<json>`, to which each item adds its own
    # text and a comma after the first.
    frame = len(b'{"Items":[]}')
    if batching.has_batch_input:
        frame += len(b',"BatchInput":') + len(to_json(batching.batch_input).encode())
    batch: list[Any] = []
    size = frame
    for index, item in enumerate(items):
        item_size = len(to_json(item).encode())
        if frame + item_size > limit:
            raise ItemTooLarge(
                f"Item {index} is {item_size} bytes: a batch holding it alone would pass "
                f"MaxInputBytesPerBatch ({limit} bytes)"
            )
        grown = size + item_size + (1 if batch else 0)
        if batch and (
            grown > limit or (batching.max_items is not None and len(batch) >= batching.max_items)
        ):
            yield _batch(batch, batching)
            batch, grown = [], frame + item_size
        batch.append(item)
        size = grown
    if batch:
        yield _batch(batch, batching)


def _batch(items: list[Any], batching: Batching) -> ChildInput:
    value: dict[str, Any] = {"Items": items}
    if batching.has_batch_input:
        value["BatchInput"] = batching.batch_input
    return ChildInput(value, len(items))

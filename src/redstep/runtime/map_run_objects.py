"""The bucket objects a map run reads and writes: its ItemReader's items and its ResultWriter's
result files, through `redstep.buckets.Buckets`.

`read_items` opens what the ItemReader names (`arn:aws:states:::s3:getObject`: one object, read
as ReaderConfig.InputType says; `arn:aws:states:::s3:listObjectsV2`: a listing) and hands the
bytes to `redstep.runtime.items`, which parses them as they stream. Any failure is an
`ItemReaderFailed` (States.ItemReaderFailed, its message the cause).

`write_results` writes AWS's layout ("ResultWriter (Map)" in the developer guide) under
`<Prefix>/<map run id>/`: `SUCCEEDED_0.json`, `FAILED_0.json` and `PENDING_0.json` (each file
written only when it has entries) and `manifest.json`, which names them:

    {"DestinationBucket": ..., "MapRunArn": ...,
     "ResultFiles": {"FAILED": [...], "PENDING": [...], "SUCCEEDED": [{"Key": ..., "Size": n}]}}

Each entry of a result file is a child execution as DescribeExecution tells it, in PascalCase
(`ExecutionArn`, `Input` and `Output` as JSON text, dates as ISO-8601 text), made from the
child's record and whether the run fails (`execution_entry`: its redrive status); with the
Transformation COMPACT or FLATTEN a succeeded child is its output alone (FLATTEN spreads an
output that is an array), while a failed child keeps the whole entry, as AWS documents. With
OutputType JSONL a file holds one entry a line, else one JSON array. A PENDING entry (a child
never started because the run failed first) is `{"Input": <its input as JSON text>}`: redstep's
own shape, AWS's was not seen. Any failure to write is a `ResultWriterFailed`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from redstep.asl.distributed import InputType, OutputType, Transformation
from redstep.asl.json_text import read_json
from redstep.asl.paths import to_json
from redstep.asl.timestamps import format_timestamp
from redstep.buckets import BucketError, Buckets
from redstep.engine.commands import ExecutionStatus
from redstep.runtime.items import (
    InventoryManifest,
    ItemReadError,
    ReaderConfig,
    capped,
    is_gzip,
    listed_item,
    read_csv,
    read_inventory,
    read_json_items,
    read_jsonl,
    read_manifest,
)
from redstep.runtime.redrive_eligibility import map_run_child_redrive_status
from redstep.runtime.store import ExecutionRecord

_RESOURCE = re.compile(r"arn:aws[a-z-]*:states:::s3:(?P<action>[A-Za-z0-9]+)\Z")
#: How many keys one page of a listing reads.
_LISTING_PAGE = 1000


class ItemReaderFailed(Exception):
    """States.ItemReaderFailed: the message is the cause."""


class ResultWriterFailed(Exception):
    """States.ResultWriterFailed: the message is the cause."""


def read_items(buckets: Buckets | None, reader: Mapping[str, Any]) -> Iterator[Any]:
    """The items an ItemReader names, as they are read (MaxItems applied)."""
    resource = reader.get("Resource")
    match = _RESOURCE.match(resource) if isinstance(resource, str) else None
    if match is None or match["action"] not in ("getObject", "listObjectsV2"):
        raise ItemReaderFailed(
            f"redstep reads items with arn:aws:states:::s3:getObject and "
            f"arn:aws:states:::s3:listObjectsV2, not {resource!r}"
        )
    if buckets is None:
        raise ItemReaderFailed(
            "This engine has no buckets to read items from (it was started without a project's "
            "buckets)"
        )
    arguments = reader.get("Arguments") or {}
    bucket = arguments.get("Bucket")
    if not isinstance(bucket, str):
        raise ItemReaderFailed("The ItemReader's Parameters name no Bucket")
    try:
        config = ReaderConfig.from_wire(reader.get("ReaderConfig"))
        if match["action"] == "listObjectsV2":
            prefix = arguments.get("Prefix", "")
            yield from capped(_listed(buckets, bucket, str(prefix)), config.max_items)
            return
        key = arguments.get("Key")
        if not isinstance(key, str):
            raise ItemReaderFailed("The ItemReader's Parameters name no Key")
        yield from _object_items(buckets, bucket, key, config)
    except ItemReadError as error:
        raise ItemReaderFailed(str(error)) from None
    except BucketError as error:
        key = arguments.get("Key") if match["action"] == "getObject" else arguments.get("Prefix")
        where = f"s3://{bucket}/{key or ''}"
        raise ItemReaderFailed(f"The ItemReader could not read {where}: {error}") from None


def _object_items(buckets: Buckets, bucket: str, key: str, config: ReaderConfig) -> Iterator[Any]:
    where = f"s3://{bucket}/{key}"
    with buckets.open_read(bucket, key) as reader:
        chunks = _chunks(reader.chunks(0, reader.info.size - 1), where)
        match config.input_type:
            case InputType.CSV:
                yield from read_csv(chunks, config)
            case InputType.JSONL:
                yield from read_jsonl(chunks, config)
            case InputType.JSON:
                yield from read_json_items(b"".join(chunks), config)
            case InputType.MANIFEST:
                manifest = read_manifest(b"".join(chunks))
                yield from capped(_inventory_rows(buckets, manifest), config.max_items)


def _inventory_rows(buckets: Buckets, manifest: InventoryManifest) -> Iterator[dict[str, str]]:
    for key in manifest.keys:
        with buckets.open_read(manifest.bucket, key) as reader:
            head = reader.read(0, 1) if reader.info.size else b""
            chunks = _chunks(
                reader.chunks(0, reader.info.size - 1), f"s3://{manifest.bucket}/{key}"
            )
            yield from read_inventory(chunks, manifest.columns, compressed=is_gzip(key, head))


def _chunks(chunks: Iterable[bytes], where: str) -> Iterator[bytes]:
    """The object's bytes; a failure to read them mid-way names the object."""
    try:
        yield from chunks
    except BucketError as error:
        raise ItemReaderFailed(f"The ItemReader could not read {where}: {error}") from None


def _listed(buckets: Buckets, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
    token: str | None = None
    while True:
        page = buckets.list_objects(
            bucket, prefix=prefix, continuation_token=token, max_keys=_LISTING_PAGE
        )
        for info in page.contents:
            yield listed_item(info)
        token = page.next_continuation_token
        if token is None:
            return


# -- results ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChildResult:
    """One child as the results tell it: its execution, or, for a child never started, its
    input alone."""

    execution: ExecutionRecord | None
    input: Any = None
    redrivable_by_map_run: bool = False
    """Whether its Map Run can redrive it, should it not have succeeded: the run fails."""

    @property
    def status(self) -> str:
        return "PENDING" if self.execution is None else self.execution.status.value

    def entry(self) -> dict[str, Any]:
        """The child as a result file lists it (Transformation NONE)."""
        if self.execution is None:
            return {"Input": to_json(self.input)}
        return execution_entry(self.execution, self.redrivable_by_map_run)

    def output(self, transformation: Transformation) -> Any:
        """What a succeeded child contributes to the results (its output when transformed)."""
        if self.execution is None or self.status != "SUCCEEDED":
            return self.entry()
        if transformation is Transformation.NONE:
            return self.entry()
        output = self.execution.output
        return None if output is None else read_json(output)


def execution_entry(record: ExecutionRecord, by_map_run: bool = False) -> dict[str, Any]:
    """A Map Run's child as DescribeExecution (with its data) tells it, but for its `mapRunArn`:
    its members in PascalCase and in name order, dates as ISO-8601 text. `by_map_run`: whether
    its Map Run can redrive it."""
    redrive_status, reason = map_run_child_redrive_status(record, by_map_run)
    entry: dict[str, Any] = {
        "ExecutionArn": record.arn,
        "Input": record.input,
        "InputDetails": {"Included": True},
        "Name": record.name,
        "RedriveCount": record.redrive_count,
        "RedriveStatus": redrive_status,
        "StartDate": format_timestamp(record.start_date),
        "StateMachineArn": record.state_machine_arn,
        "Status": record.status.value,
    }
    if reason is not None:
        entry["RedriveStatusReason"] = reason
    if record.redrive_date is not None:
        entry["RedriveDate"] = format_timestamp(record.redrive_date)
    if record.stop_date is not None:
        entry["StopDate"] = format_timestamp(record.stop_date)
    if record.status is ExecutionStatus.SUCCEEDED:
        entry["Output"] = record.output
        entry["OutputDetails"] = {"Included": True}
    if record.error is not None:
        entry["Error"] = record.error
    if record.cause is not None:
        entry["Cause"] = record.cause
    return dict(sorted(entry.items()))


def writer_settings(writer: Mapping[str, Any]) -> tuple[Transformation, OutputType]:
    """The WriterConfig's Transformation and OutputType; NONE is the default when results go to
    a bucket, COMPACT when they are only the state's output (AWS's defaults)."""
    config = writer.get("WriterConfig") or {}
    default = Transformation.NONE if writer.get("Resource") else Transformation.COMPACT
    try:
        transformation = Transformation(config.get("Transformation", default))
        output_type = OutputType(config.get("OutputType", OutputType.JSON))
    except ValueError as error:
        raise ResultWriterFailed(f"The ResultWriter's WriterConfig is not valid: {error}") from None
    return transformation, output_type


def transformed(results: Sequence[ChildResult], transformation: Transformation) -> list[Any]:
    """The children's results as the state's output holds them (in child order)."""
    values: list[Any] = []
    for result in results:
        value = result.output(transformation)
        if (
            transformation is Transformation.FLATTEN
            and result.status == "SUCCEEDED"
            and isinstance(value, list)
        ):
            values.extend(value)
        else:
            values.append(value)
    return values


@dataclass(frozen=True, slots=True)
class WrittenResults:
    """Where the results went: the state's output, and how many children they tell of."""

    output: dict[str, Any]
    children_written: int


def write_results(
    buckets: Buckets | None,
    writer: Mapping[str, Any],
    map_run_arn: str,
    results: Sequence[ChildResult],
) -> WrittenResults:
    """Write the result files and the manifest; the state's output names the manifest."""
    resource = writer.get("Resource")
    match = _RESOURCE.match(resource) if isinstance(resource, str) else None
    if match is None or match["action"] != "putObject":
        raise ResultWriterFailed(
            f"redstep writes results with arn:aws:states:::s3:putObject, not {resource!r}"
        )
    if buckets is None:
        raise ResultWriterFailed(
            "This engine has no buckets to write results to (it was started without a "
            "project's buckets)"
        )
    arguments = writer.get("Arguments") or {}
    bucket = arguments.get("Bucket")
    prefix = arguments.get("Prefix", "")
    if not isinstance(bucket, str) or not isinstance(prefix, str):
        raise ResultWriterFailed("The ResultWriter's Parameters need a Bucket (and a Prefix)")
    transformation, output_type = writer_settings(writer)
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    folder = f"{prefix}{map_run_arn.rpartition(':')[2]}/"
    groups: dict[str, list[Any]] = {"SUCCEEDED": [], "FAILED": [], "PENDING": []}
    for result in results:
        match result.status:
            case "SUCCEEDED":
                groups["SUCCEEDED"].append(result)
            case "PENDING":
                groups["PENDING"].append(result.entry())
            case _:
                groups["FAILED"].append(result.entry())
    groups["SUCCEEDED"] = transformed(groups["SUCCEEDED"], transformation)
    files: dict[str, list[dict[str, Any]]] = {}
    try:
        for status in ("FAILED", "PENDING", "SUCCEEDED"):
            files[status] = []
            if groups[status]:
                key = f"{folder}{status}_0.json"
                body = _file_body(groups[status], output_type)
                buckets.put(bucket, key, body, content_type="application/json")
                files[status].append({"Key": key, "Size": len(body)})
        manifest = {"DestinationBucket": bucket, "MapRunArn": map_run_arn, "ResultFiles": files}
        key = f"{folder}manifest.json"
        buckets.put(bucket, key, to_json(manifest).encode(), content_type="application/json")
    except BucketError as error:
        raise ResultWriterFailed(
            f"The ResultWriter could not write to s3://{bucket}/{folder}: {error}"
        ) from None
    written = sum(1 for result in results if result.status != "PENDING")
    return WrittenResults(
        {"MapRunArn": map_run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": key}},
        written,
    )


def _file_body(entries: list[Any], output_type: OutputType) -> bytes:
    if output_type is OutputType.JSONL:
        return "".join(to_json(entry) + "\n" for entry in entries).encode()
    return to_json(entries).encode()

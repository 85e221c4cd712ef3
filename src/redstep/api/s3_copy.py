"""CopyObject and UploadPartCopy: PUTs whose content is another object's, named by a header.

`x-amz-copy-source` names the source as `[/]bucket/key[?versionId=null]`, percent-encoded; the
buckets have no versions, so a version id other than `null` is refused. The source may be in the
same bucket or another local one. `x-amz-copy-source-if-*` conditions are checked against the
source as the copy opens it (`s3_conditions`).

CopyObject copies the whole object (`aws s3 cp s3://… s3://…` and `aws s3 mv` below the CLI's
multipart threshold); S3 refuses a copy onto itself unless `x-amz-metadata-directive: REPLACE`
says what changes, and so does this. UploadPartCopy stages a part from a source's byte range
(`x-amz-copy-source-range: bytes=first-last`), which is how the CLI copies large objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from urllib.parse import parse_qs, unquote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response

from redstep.api.s3_conditions import check_copy_source, has_copy_conditions
from redstep.api.s3_xml import (
    S3Refusal,
    add,
    digits,
    invalid_argument,
    iso8601,
    result,
    xml_response,
)
from redstep.buckets import Buckets, SourceCondition

COPY_SOURCE = "x-amz-copy-source"
"""The header that makes a PUT a copy."""

_COPY_SOURCE_RANGE = "x-amz-copy-source-range"


@dataclass(frozen=True, slots=True)
class CopySource:
    """The object a copy reads."""

    bucket: str
    key: str


def copy_source(headers: Headers) -> CopySource:
    """The source `x-amz-copy-source` names; InvalidArgument when it names none."""
    raw = headers[COPY_SOURCE]
    # Only the key is percent-encoded, so a literal `?` can only start the version query.
    path, _, query = raw.partition("?")
    bucket, slash, key = unquote(path).removeprefix("/").partition("/")
    if not bucket or not slash or not key:
        raise invalid_argument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            COPY_SOURCE,
            raw,
        )
    versions = parse_qs(query).get("versionId", [])
    if any(version != "null" for version in versions):
        raise invalid_argument("Invalid version id specified", "x-amz-version-id", versions[0])
    return CopySource(bucket, key)


async def copy_object(request: Request, buckets: Buckets, bucket: str, key: str) -> Response:
    """CopyObject: answer CopyObjectResult with the new object's ETag and LastModified."""
    headers = request.headers
    source = copy_source(headers)
    directive = headers.get("x-amz-metadata-directive", "COPY")
    if directive not in ("COPY", "REPLACE"):
        raise invalid_argument("Unknown metadata directive.", "x-amz-metadata-directive", directive)
    if (source.bucket, source.key) == (bucket, key) and directive == "COPY":
        raise S3Refusal(
            "InvalidRequest",
            "This copy request is illegal because it is trying to copy an object to itself "
            "without changing the object's metadata, storage class, website redirect location "
            "or encryption attributes.",
            400,
        )
    info = await run_in_threadpool(
        buckets.copy_object,
        source.bucket,
        source.key,
        bucket,
        key,
        content_type=headers.get("content-type") if directive == "REPLACE" else None,
        source_condition=_condition(headers),
    )
    return _copy_result("CopyObjectResult", info.etag, info.last_modified)


async def upload_part_copy(
    request: Request, buckets: Buckets, bucket: str, key: str, upload_id: str, part_number: int
) -> Response:
    """UploadPartCopy: stage a part from a source's range; answer CopyPartResult."""
    headers = request.headers
    source = copy_source(headers)
    header = headers.get(_COPY_SOURCE_RANGE)
    part = await run_in_threadpool(
        partial(
            buckets.upload_part_copy,
            bucket,
            key,
            upload_id,
            part_number,
            source_bucket=source.bucket,
            source_key=source.key,
            byte_range=None if header is None else _copy_range(header),
            source_condition=_condition(headers),
        )
    )
    return _copy_result("CopyPartResult", part.etag, part.last_modified)


def _copy_range(header: str) -> tuple[int, int]:
    """`bytes=first-last` (both given, inclusive); InvalidArgument for any other form."""
    unit, _, spec = header.strip().partition("=")
    first, dash, last = spec.partition("-")
    start, end = digits(first), digits(last)
    if unit != "bytes" or not dash or start is None or end is None:
        raise invalid_argument(
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first "
            "and last are the zero-based offsets of the first and last bytes to copy",
            _COPY_SOURCE_RANGE,
            header,
        )
    return start, end


def _condition(headers: Headers) -> SourceCondition | None:
    return partial(check_copy_source, headers) if has_copy_conditions(headers) else None


def _copy_result(tag: str, etag: str, last_modified: datetime) -> Response:
    root = result(tag)
    add(root, "LastModified", iso8601(last_modified))
    add(root, "ETag", etag)
    return xml_response(root)

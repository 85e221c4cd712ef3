"""Multipart upload's operations on the wire: what `aws s3 cp` and boto3's `upload_file` use above
their threshold (8 MiB by default).

    POST   /{bucket}/{key}?uploads                   CreateMultipartUpload
    PUT    /{bucket}/{key}?partNumber=N&uploadId=I   UploadPart     (UploadPartCopy: `s3_copy`)
    POST   /{bucket}/{key}?uploadId=I                CompleteMultipartUpload
    DELETE /{bucket}/{key}?uploadId=I                AbortMultipartUpload
    GET    /{bucket}/{key}?uploadId=I                ListParts
    GET    /{bucket}?uploads                         ListMultipartUploads

The rules are the store's (`redstep.buckets.uploads`): part numbers 1 to 10,000, parts re-uploaded
at will, a completion naming parts in ascending order with their ETags, every part but the last
at least 5 MiB, and S3's multipart ETag for the object made. A part's body is read and verified
as a PutObject's is (`s3_payload`), after the upload is known to exist, so a client waiting on
`Expect: 100-continue` for an upload that is gone never sends the part.

Checksums a client computes per part are verified and echoed; the CompleteMultipartUpload list
may carry them too, and they are not checked again there. ListMultipartUploads pages by key and
upload id but does not roll keys up by a delimiter (it answers NotImplemented to one).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Final
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from redstep.api.s3_conditions import digits
from redstep.api.s3_payload import read_payload
from redstep.api.s3_xml import (
    add,
    add_owner,
    boolean,
    child_text,
    invalid_argument,
    iso8601,
    local_name,
    malformed_xml,
    parse_request,
    result,
    url_encode,
    xml_response,
)
from redstep.buckets import MAX_PART_NUMBER, Buckets, CompletedPart

MAX_PART_BYTES: Final = 5 * 1024**3
"""The largest one part may be (S3's limit)."""

_MAX_INTEGER = 2**31 - 1


def part_number_of(query: QueryParams) -> int:
    """The `partNumber` a part request names; InvalidArgument unless it is 1 to 10,000."""
    text = query.get("partNumber", "")
    number = digits(text)
    if number is None or not 1 <= number <= MAX_PART_NUMBER:
        raise invalid_argument(
            f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive",
            "partNumber",
            text,
        )
    return number


async def create_multipart_upload(
    request: Request, buckets: Buckets, bucket: str, key: str
) -> Response:
    """CreateMultipartUpload: answer InitiateMultipartUploadResult with the new UploadId."""
    upload = await run_in_threadpool(
        partial(
            buckets.create_multipart_upload,
            bucket,
            key,
            content_type=request.headers.get("content-type"),
        )
    )
    root = result("InitiateMultipartUploadResult")
    add(root, "Bucket", bucket)
    add(root, "Key", key)
    add(root, "UploadId", upload.upload_id)
    return xml_response(root)


async def upload_part(
    request: Request, buckets: Buckets, bucket: str, key: str, upload_id: str, part_number: int
) -> Response:
    """UploadPart: stage the body as part `part_number`; answer its ETag (and checksum)."""
    # Refuse before reading the body, so an `Expect: 100-continue` client never sends it.
    await run_in_threadpool(buckets.multipart_upload, bucket, key, upload_id)
    payload = await read_payload(request, max_bytes=MAX_PART_BYTES)
    part = await run_in_threadpool(
        buckets.upload_part, bucket, key, upload_id, part_number, payload.content
    )
    return Response(headers={"ETag": part.etag, **payload.checksums})


async def complete_multipart_upload(
    request: Request, buckets: Buckets, bucket: str, key: str, upload_id: str
) -> Response:
    """CompleteMultipartUpload: write the object; answer CompleteMultipartUploadResult."""
    parts = completed_parts(await request.body())
    info = await run_in_threadpool(buckets.complete_multipart_upload, bucket, key, upload_id, parts)
    root = result("CompleteMultipartUploadResult")
    base = str(request.base_url).rstrip("/")
    add(root, "Location", f"{base}/{bucket}/{quote(key, safe='/~')}")
    add(root, "Bucket", bucket)
    add(root, "Key", key)
    add(root, "ETag", info.etag)
    return xml_response(root)


def completed_parts(body: bytes) -> list[CompletedPart]:
    """The parts a CompleteMultipartUpload body names, in its order; MalformedXML otherwise."""
    root = parse_request(body, "CompleteMultipartUpload")
    parts: list[CompletedPart] = []
    for element in root:
        if local_name(element) != "Part":
            raise malformed_xml()
        number = digits(child_text(element, "PartNumber") or "")
        etag = child_text(element, "ETag")
        if number is None or number > _MAX_INTEGER or not etag:
            raise malformed_xml()
        parts.append(CompletedPart(number, etag))
    if not parts:
        raise malformed_xml()
    return parts


async def abort_multipart_upload(
    buckets: Buckets, bucket: str, key: str, upload_id: str
) -> Response:
    """AbortMultipartUpload: remove the upload and its parts; answer 204."""
    await run_in_threadpool(buckets.abort_multipart_upload, bucket, key, upload_id)
    return Response(status_code=204)


async def list_parts(
    buckets: Buckets, bucket: str, key: str, upload_id: str, query: QueryParams
) -> Response:
    """ListParts: answer ListPartsResult, one page of the upload's parts."""
    listing = await run_in_threadpool(
        partial(
            buckets.list_parts,
            bucket,
            key,
            upload_id,
            part_number_marker=_integer(query, "part-number-marker", 0),
            max_parts=_integer(query, "max-parts", 1000),
        )
    )
    root = result("ListPartsResult")
    add(root, "Bucket", bucket)
    add(root, "Key", key)
    add(root, "UploadId", upload_id)
    add_owner(root, "Initiator")
    add_owner(root)
    add(root, "StorageClass", "STANDARD")
    add(root, "PartNumberMarker", str(listing.part_number_marker))
    if listing.next_part_number_marker is not None:
        add(root, "NextPartNumberMarker", str(listing.next_part_number_marker))
    add(root, "MaxParts", str(listing.max_parts))
    add(root, "IsTruncated", boolean(listing.is_truncated))
    for part in listing.parts:
        element = add(root, "Part")
        add(element, "PartNumber", str(part.part_number))
        add(element, "LastModified", iso8601(part.last_modified))
        add(element, "ETag", part.etag)
        add(element, "Size", str(part.size))
    return xml_response(root)


async def list_multipart_uploads(buckets: Buckets, bucket: str, query: QueryParams) -> Response:
    """ListMultipartUploads: answer ListMultipartUploadsResult, one page of uploads."""
    encoding = query.get("encoding-type")
    if encoding not in (None, "url"):
        message = "Invalid Encoding Method specified in Request"
        raise invalid_argument(message, "encoding-type", encoding)
    encode: Callable[[str], str] = url_encode if encoding else str
    listing = await run_in_threadpool(
        partial(
            buckets.list_multipart_uploads,
            bucket,
            prefix=query.get("prefix", ""),
            key_marker=query.get("key-marker", ""),
            upload_id_marker=query.get("upload-id-marker", ""),
            max_uploads=_integer(query, "max-uploads", 1000),
        )
    )
    root = result("ListMultipartUploadsResult")
    add(root, "Bucket", bucket)
    add(root, "KeyMarker", encode(listing.key_marker))
    add(root, "UploadIdMarker", listing.upload_id_marker)
    if listing.next_key_marker is not None:
        add(root, "NextKeyMarker", encode(listing.next_key_marker))
    if listing.next_upload_id_marker is not None:
        add(root, "NextUploadIdMarker", listing.next_upload_id_marker)
    if listing.prefix:
        add(root, "Prefix", encode(listing.prefix))
    if encoding:
        add(root, "EncodingType", encoding)
    add(root, "MaxUploads", str(listing.max_uploads))
    add(root, "IsTruncated", boolean(listing.is_truncated))
    for upload in listing.uploads:
        element = add(root, "Upload")
        add(element, "Key", encode(upload.key))
        add(element, "UploadId", upload.upload_id)
        add_owner(element, "Initiator")
        add_owner(element)
        add(element, "StorageClass", "STANDARD")
        add(element, "Initiated", iso8601(upload.initiated))
    return xml_response(root)


def _integer(query: QueryParams, name: str, default: int) -> int:
    text = query.get(name)
    if text is None:
        return default
    number = digits(text)
    if number is None or number > _MAX_INTEGER:
        raise invalid_argument(
            f"Provided {name} not an integer or within integer range", name, text
        )
    return number

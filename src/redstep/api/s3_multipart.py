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
at least 5 MiB, and S3's multipart ETag for the object made. The `partNumber` parameter is read
here (`part_number_of`: a decimal integer, or InvalidArgument), and its range is checked once,
by the store, where a part enters it. A part's body is streamed and verified as a PutObject's is
(`s3_payload`), after the upload is known to exist, so a client waiting on
`Expect: 100-continue` for an upload that is gone never sends the part. A completion's XML is
read whole, up to `MAX_COMPLETION_BYTES` (10,000 parts with their checksums fit in about 1.5 MB),
and hashed and parsed on a worker thread.

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

from redstep.api.s3_payload import read_document, store_payload
from redstep.api.s3_xml import (
    MAX_INTEGER,
    add,
    add_owner,
    boolean,
    child_text,
    digits,
    integer_parameter,
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
MAX_COMPLETION_BYTES: Final = 2 * 1024**2
"""The largest CompleteMultipartUpload document read."""


def part_number_of(query: QueryParams) -> int:
    """The `partNumber` a part request names, as an integer; InvalidArgument if it is not one.

    Its range, 1 to 10,000, is the store's to check (`Buckets.open_part`, `upload_part_copy`),
    with the same error, before any body is read.
    """
    text = query.get("partNumber", "")
    number = digits(text)
    if number is None:
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
    # The store refuses (no upload, a number out of range) before the body is read, so an
    # `Expect: 100-continue` client never sends it.
    part, checksums = await store_payload(
        request,
        partial(buckets.open_part, bucket, key, upload_id, part_number),
        max_bytes=MAX_PART_BYTES,
    )
    return Response(headers={"ETag": part.etag, **checksums})


async def complete_multipart_upload(
    request: Request, buckets: Buckets, bucket: str, key: str, upload_id: str
) -> Response:
    """CompleteMultipartUpload: write the object; answer CompleteMultipartUploadResult."""
    document = await read_document(request, max_bytes=MAX_COMPLETION_BYTES)
    # Up to 2 MB of XML: parsed on a worker thread, as it was hashed, not on the event loop.
    parts = await run_in_threadpool(completed_parts, document)
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
        if number is None or number > MAX_INTEGER or not etag:
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
            part_number_marker=integer_parameter(query, "part-number-marker", 0),
            max_parts=integer_parameter(query, "max-parts", 1000),
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
            max_uploads=integer_parameter(query, "max-uploads", 1000),
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

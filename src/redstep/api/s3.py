"""The S3 subset over the project's buckets: path-style requests, answered as S3 answers them.

This module owns the routing: which request is which operation, the parameters each reads, and
the answers of the operations on buckets and whole objects. The objects themselves are
`redstep.buckets.Buckets`'s; the other S3 modules hold the rest of the wire:

    GET    /                          ListBuckets
    GET    /{bucket}?list-type=2      ListObjectsV2      (without list-type: ListObjects, v1)
    GET    /{bucket}?uploads          ListMultipartUploads                  (s3_multipart)
    HEAD   /{bucket}                  HeadBucket
    GET    /{bucket}/{key}            GetObject          (Range, If-Match & co: s3_conditions)
    HEAD   /{bucket}/{key}            HeadObject
    PUT    /{bucket}/{key}            PutObject          (aws-chunked, checksums: s3_payload)
    PUT    /{bucket}/{key}            CopyObject         (with x-amz-copy-source: s3_copy)
    DELETE /{bucket}/{key}            DeleteObject
    POST   /{bucket}/{key}?uploads    CreateMultipartUpload                 (s3_multipart)
    any    /{bucket}/{key}?uploadId=  UploadPart, UploadPartCopy, CompleteMultipartUpload,
                                      AbortMultipartUpload, ListParts       (s3_multipart)

Everything else is refused as S3 refuses what it cannot do: an operation S3 has but this subset
lacks (a sub-resource such as `?acl` or `?tagging`, DeleteObjects, a conditional write,
CreateBucket) gets `NotImplemented` (501); a method S3 does not know on that resource gets
`MethodNotAllowed` (405). Query parameters are checked against what each operation reads, so a
sub-resource never passes for a plain GET or PUT. XML and errors are `s3_xml`'s.

What a PUT says beyond its content (x-amz-meta-*, Cache-Control, Content-Disposition, tagging,
storage class, encryption) is accepted and not kept: the folder holds the content only, so reads
answer the type guessed from the key (`redstep.buckets.objects`).

Objects stream both ways and are never whole in memory: a PUT's body goes to the store as it
arrives (`s3_payload`, which also holds it to its declared digests, the signed SHA-256 among
them), and a GET streams the object from the open file in chunks read on worker threads. All
blocking file I/O runs on worker threads (`run_in_threadpool`), never on the event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from email.utils import format_datetime
from functools import partial
from typing import Final
from xml.etree import ElementTree

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.datastructures import Headers, QueryParams
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

from redstep.api.s3_conditions import byte_range, get_preconditions_hold
from redstep.api.s3_copy import COPY_SOURCE, copy_object, upload_part_copy
from redstep.api.s3_multipart import (
    abort_multipart_upload,
    complete_multipart_upload,
    create_multipart_upload,
    list_multipart_uploads,
    list_parts,
    part_number_of,
    upload_part,
)
from redstep.api.s3_payload import store_payload
from redstep.api.s3_xml import (
    NAMESPACE,
    S3Refusal,
    add,
    add_owner,
    boolean,
    integer_parameter,
    invalid_argument,
    iso8601,
    new_request_id,
    not_implemented,
    request_id_headers,
    result,
    s3_error,
    url_encode,
    xml_response,
)
from redstep.buckets import (
    BucketError,
    Buckets,
    ObjectInfo,
    ObjectListing,
    ObjectReader,
    crc32_checksum,
)

__all__ = ["MAX_PUT_BYTES", "NAMESPACE", "S3Refusal", "new_request_id", "s3_endpoint", "s3_error"]

MAX_PUT_BYTES: Final = 5 * 1024**3
"""The largest object one PutObject may carry (S3's limit)."""

_S3_METHODS = frozenset({"GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"})
_OBJECT_METHODS = "DELETE, GET, HEAD, POST, PUT"
_RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}
# x-id names the operation (botocore adds it to some requests); it never changes the meaning.
_PLAIN = frozenset({"x-id"})
_LIST_PARAMETERS = _PLAIN | {
    *("list-type", "prefix", "delimiter", "max-keys", "continuation-token"),
    *("start-after", "encoding-type", "fetch-owner", "marker"),
}
_LIST_UPLOADS_PARAMETERS = _PLAIN | {
    *("uploads", "prefix", "key-marker", "upload-id-marker", "max-uploads", "encoding-type"),
}
_GET_OBJECT_PARAMETERS = _PLAIN | _RESPONSE_OVERRIDES.keys()
_CREATE_UPLOAD = _PLAIN | {"uploads"}
_UPLOAD = _PLAIN | {"uploadId"}
_PART = _UPLOAD | {"partNumber"}
_LIST_PARTS_PARAMETERS = _UPLOAD | {"max-parts", "part-number-marker"}


async def s3_endpoint(request: Request, buckets: Buckets) -> Response:
    """Answer one path-style S3 request over `buckets`."""
    request_id = new_request_id()
    path = _route_path(request)
    bucket, _, key = path.removeprefix("/").partition("/")
    try:
        response = await _dispatch(request, buckets, bucket, key)
    except BucketError as error:
        refusal = S3Refusal.from_bucket_error(error)
    except S3Refusal as caught:
        refusal = caught
    except ClientDisconnect:
        # Gone before its body had all come (whatever was staged is removed): no one to answer.
        return Response(status_code=400, headers={"Connection": "close"})
    else:
        response.headers.update(request_id_headers(request_id))
        return response
    headers = refusal.headers
    if _has_body(request):
        # The body may be unread (an `Expect: 100-continue` client has not even sent it), so the
        # connection cannot carry another request: close it, as S3 does.
        headers = {**headers, "Connection": "close"}
    return s3_error(
        refusal.code,
        refusal.message,
        refusal.http_status,
        resource=path,
        request_id=request_id,
        details=refusal.details,
        headers=headers,
        include_body=request.method != "HEAD",
    )


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    return "transfer-encoding" in request.headers or (length is not None and length != "0")


# -- routing -----------------------------------------------------------------------------------


def _route_path(request: Request) -> str:
    # The decoded path below wherever the app mounted us (Starlette keeps root_path in path).
    path: str = request.scope["path"]
    root_path: str = request.scope.get("root_path", "")
    if root_path and (path == root_path or path.startswith(root_path.rstrip("/") + "/")):
        path = path[len(root_path.rstrip("/")) :]
    return path if path.startswith("/") else "/" + path


async def _dispatch(request: Request, buckets: Buckets, bucket: str, key: str) -> Response:
    method = request.method
    query = request.query_params
    if not bucket:
        if method != "GET":
            raise _method_not_allowed(method, "SERVICE", "GET")
        _check_parameters(query, _PLAIN)
        return await _list_buckets(buckets)
    if not key:
        return await _dispatch_bucket(request, buckets, bucket)
    if "uploadId" in query:
        return await _dispatch_upload(request, buckets, bucket, key, query["uploadId"])
    if method in ("GET", "HEAD"):
        _check_parameters(query, _GET_OBJECT_PARAMETERS if method == "GET" else _PLAIN)
        return await _get_object(request, buckets, bucket, key)
    if method == "PUT":
        _check_parameters(query, _PLAIN)
        _refuse_conditional_write(request.headers)
        if COPY_SOURCE in request.headers:
            return await copy_object(request, buckets, bucket, key)
        return await _put_object(request, buckets, bucket, key)
    if method == "POST" and "uploads" in query:
        _check_parameters(query, _CREATE_UPLOAD)
        _refuse_conditional_write(request.headers)
        return await create_multipart_upload(request, buckets, bucket, key)
    if method == "DELETE":
        _check_parameters(query, _PLAIN)
        await run_in_threadpool(buckets.delete, bucket, key)
        return Response(status_code=204)
    raise _unsupported(method, "OBJECT", _OBJECT_METHODS)


async def _dispatch_bucket(request: Request, buckets: Buckets, bucket: str) -> Response:
    method = request.method
    query = request.query_params
    if method == "GET" and "uploads" in query:
        _check_parameters(query, _LIST_UPLOADS_PARAMETERS)
        return await list_multipart_uploads(buckets, bucket, query)
    if method == "GET":
        _check_parameters(query, _LIST_PARAMETERS)
        return await _list_objects(buckets, bucket, query)
    if method == "HEAD":
        _check_parameters(query, _PLAIN)
        buckets.folder(bucket)
        return Response()
    raise _unsupported(method, "BUCKET", "GET, HEAD")


async def _dispatch_upload(
    request: Request, buckets: Buckets, bucket: str, key: str, upload_id: str
) -> Response:
    """The operations on one multipart upload: the requests that carry `?uploadId=`."""
    method = request.method
    query = request.query_params
    if method == "PUT":
        _check_parameters(query, _PART)
        part_number = part_number_of(query)
        if COPY_SOURCE in request.headers:
            return await upload_part_copy(request, buckets, bucket, key, upload_id, part_number)
        return await upload_part(request, buckets, bucket, key, upload_id, part_number)
    if method == "POST":
        _check_parameters(query, _UPLOAD)
        _refuse_conditional_write(request.headers)
        return await complete_multipart_upload(request, buckets, bucket, key, upload_id)
    if method == "DELETE":
        _check_parameters(query, _UPLOAD)
        return await abort_multipart_upload(buckets, bucket, key, upload_id)
    if method == "GET":
        _check_parameters(query, _LIST_PARTS_PARAMETERS)
        return await list_parts(buckets, bucket, key, upload_id, query)
    raise _unsupported(method, "OBJECT", _OBJECT_METHODS)


def _check_parameters(query: QueryParams, allowed: frozenset[str]) -> None:
    if any(name not in allowed for name in query):
        raise not_implemented()


def _refuse_conditional_write(headers: Headers) -> None:
    if "if-match" in headers or "if-none-match" in headers:
        raise not_implemented()


def _unsupported(method: str, resource_type: str, allowed: str) -> S3Refusal:
    return (
        not_implemented()
        if method in _S3_METHODS
        else _method_not_allowed(method, resource_type, allowed)
    )


def _method_not_allowed(method: str, resource_type: str, allowed: str) -> S3Refusal:
    return S3Refusal(
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
        405,
        details={"Method": method, "ResourceType": resource_type},
        headers={"Allow": allowed},
    )


# -- ListBuckets, ListObjects ------------------------------------------------------------------


async def _list_buckets(buckets: Buckets) -> Response:
    infos = await run_in_threadpool(buckets.list_buckets)
    root = result("ListAllMyBucketsResult")
    add_owner(root)
    listed = add(root, "Buckets")
    for info in infos:
        entry = add(listed, "Bucket")
        add(entry, "Name", info.name)
        add(entry, "CreationDate", iso8601(info.creation_date))
    return xml_response(root)


async def _list_objects(buckets: Buckets, bucket: str, query: QueryParams) -> Response:
    list_type = query.get("list-type")
    if list_type not in (None, "2"):
        raise invalid_argument("Invalid List Type specified in Request", "list-type", list_type)
    is_v2 = list_type == "2"
    encoding = query.get("encoding-type")
    if encoding not in (None, "url"):
        message = "Invalid Encoding Method specified in Request"
        raise invalid_argument(message, "encoding-type", encoding)
    listing = await run_in_threadpool(
        buckets.list_objects,
        bucket,
        prefix=query.get("prefix", ""),
        delimiter=query.get("delimiter", ""),
        start_after=query.get("start-after" if is_v2 else "marker", ""),
        continuation_token=query.get("continuation-token") if is_v2 else None,
        max_keys=integer_parameter(query, "max-keys", 1000),
    )
    encode: Callable[[str], str] = url_encode if encoding else str
    with_owner = not is_v2 or query.get("fetch-owner") == "true"
    root = result("ListBucketResult")
    add(root, "Name", bucket)
    add(root, "Prefix", encode(listing.prefix))
    if is_v2:
        _add_v2_markers(root, listing, encode)
    else:
        add(root, "Marker", encode(listing.start_after))
        if listing.delimiter and listing.is_truncated and listing.last_entry is not None:
            add(root, "NextMarker", encode(listing.last_entry))
    add(root, "MaxKeys", str(listing.max_keys))
    if listing.delimiter:
        add(root, "Delimiter", encode(listing.delimiter))
    if encoding:
        add(root, "EncodingType", encoding)
    add(root, "IsTruncated", boolean(listing.is_truncated))
    for info in listing.contents:
        _add_contents(root, info, encode, with_owner=with_owner)
    for common_prefix in listing.common_prefixes:
        add(add(root, "CommonPrefixes"), "Prefix", encode(common_prefix))
    return xml_response(root)


def _add_v2_markers(
    root: ElementTree.Element, listing: ObjectListing, encode: Callable[[str], str]
) -> None:
    if listing.continuation_token is not None:
        add(root, "ContinuationToken", listing.continuation_token)
    if listing.next_continuation_token is not None:
        add(root, "NextContinuationToken", listing.next_continuation_token)
    if listing.start_after:
        add(root, "StartAfter", encode(listing.start_after))
    add(root, "KeyCount", str(listing.key_count))


def _add_contents(
    root: ElementTree.Element, info: ObjectInfo, encode: Callable[[str], str], *, with_owner: bool
) -> None:
    contents = add(root, "Contents")
    add(contents, "Key", encode(info.key))
    add(contents, "LastModified", iso8601(info.last_modified))
    add(contents, "ETag", info.etag)
    add(contents, "Size", str(info.size))
    if with_owner:
        add_owner(contents)
    add(contents, "StorageClass", "STANDARD")


# -- GetObject, HeadObject ---------------------------------------------------------------------


async def _get_object(request: Request, buckets: Buckets, bucket: str, key: str) -> Response:
    headers = request.headers
    reader = await run_in_threadpool(buckets.open_read, bucket, key)
    try:
        # Decided against the very file the reader then streams, whatever replaces it meanwhile.
        reply = _reply(headers, reader.info)
        answer = _object_headers(reader.info)
        if reply.status == 304:
            reader.close()
            return Response(status_code=304, headers=answer)
        if reply.status == 206:
            answer["Content-Range"] = f"bytes {reply.first}-{reply.last}/{reader.info.size}"
        elif headers.get("x-amz-checksum-mode", "").upper() == "ENABLED":
            # Covers the whole object: remembered since it was written or first hashed; else one
            # streaming pass before the answer (HEAD or GET), remembered for the next.
            crc32 = reader.known_crc32
            if crc32 is None:
                crc32 = await run_in_threadpool(reader.crc32)
            answer["x-amz-checksum-crc32"] = crc32_checksum(crc32)
            answer["x-amz-checksum-type"] = "FULL_OBJECT"
        answer["Content-Length"] = str(reply.last - reply.first + 1)
        for parameter, header in _RESPONSE_OVERRIDES.items():
            value = request.query_params.get(parameter)
            if value is not None:
                answer[header] = _header_value(parameter, value)
        if request.method != "GET":
            reader.close()
            return Response(b"", reply.status, answer)
    except BaseException:
        reader.close()
        raise
    return StreamingResponse(_content(reader, reply.first, reply.last), reply.status, answer)


async def _content(reader: ObjectReader, first: int, last: int) -> AsyncIterator[bytes]:
    """The object's bytes `first` to `last`, each chunk read on a worker thread; then closed."""
    try:
        async for chunk in iterate_in_threadpool(reader.chunks(first, last)):
            yield chunk
    finally:
        reader.close()


@dataclass(frozen=True, slots=True)
class _Reply:
    """What a GetObject answers: its status and the inclusive range of the object it sends."""

    status: int
    first: int
    last: int


def _reply(headers: Headers, info: ObjectInfo) -> _Reply:
    if not get_preconditions_hold(headers, info):
        return _Reply(304, 0, -1)
    requested = byte_range(headers, info)
    if requested is None:
        return _Reply(200, 0, info.size - 1)
    return _Reply(206, *requested)


def _object_headers(info: ObjectInfo) -> dict[str, str]:
    return {
        "ETag": info.etag,
        "Last-Modified": format_datetime(info.last_modified, usegmt=True),
        "Content-Type": info.content_type,
        "Accept-Ranges": "bytes",
    }


def _header_value(parameter: str, value: str) -> str:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise invalid_argument(f"Invalid value for {parameter}", parameter, value) from None
    return value


# -- PutObject ---------------------------------------------------------------------------------


async def _put_object(request: Request, buckets: Buckets, bucket: str, key: str) -> Response:
    # Refuse before reading the body, so an `Expect: 100-continue` client never sends it.
    buckets.check(bucket, key)
    info, checksums = await store_payload(
        request,
        partial(buckets.open_put, bucket, key, content_type=request.headers.get("content-type")),
        max_bytes=MAX_PUT_BYTES,
    )
    return Response(headers={"ETag": info.etag, **checksums})

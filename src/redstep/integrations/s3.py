"""The AWS SDK integration for S3: `arn:aws:states:::aws-sdk:s3:*`, over the project's buckets.

Five actions: getObject, putObject, listObjectsV2, headObject, deleteObject. Any other action S3
has fails with States.Runtime naming these; one S3 lacks is not recognized (`sdk`).

What each answers is what Step Functions answers on AWS, member for member (`sdk` says how names,
order and timestamps are written):

- putObject writes its Body as JSON text, whatever JSON value it is: a string is written quoted
  (`"text data"`, with the quotes), an object compactly, null as `null`. The answer is the ETag,
  the object's checksum (CRC32 unless the task asks for another algorithm), `ChecksumType`
  FULL_OBJECT and `ServerSideEncryption` AES256, as S3 encrypts every object.
- getObject answers the object's metadata and its Body as text: the bytes read as UTF-8, a
  malformed sequence replaced by U+FFFD (as Java's `new String(bytes, UTF_8)` replaces it). Body
  comes last, after the metadata's members in alphabetical order.
- headObject answers getObject's metadata without the Body.
- listObjectsV2 answers a page of `Contents` (left out when empty) and `CommonPrefixes`, each
  object with the CRC32 the store keeps for every object, its Owner when FetchOwner is true.
- deleteObject answers `{}`, whether or not there was an object.

The store keeps only the content (`redstep.buckets`): a type or metadata a put names is not kept,
so reads answer the type the key's name suggests and empty `Metadata`.

Errors are the SDK's: `S3.NoSuchKeyException` and the other errors S3's model names, any other
code `S3.S3Exception`, each cause ending with S3's Request ID and Extended Request ID. A HEAD has
no error body, so headObject reports a 404 as the SDK does, NoSuchKey (bucket or key), and any
other failure as an S3Exception whose message is `null`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import string
import zlib
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from redstep.asl.paths import to_json
from redstep.buckets import OWNER_ID, BucketError, Buckets, ObjectInfo, crc32_checksum
from redstep.integrations.failure import TaskFailure
from redstep.integrations.sdk import (
    operation_for,
    runtime_failure,
    service_failure,
    to_request,
    to_result,
    unrecognized_action,
)
from redstep.wire import input_shape, service_model

MODEL = "s3"
"""botocore's name for the service."""
SERVICE = "S3"
"""The service's name in error names and causes."""
STORAGE_CLASS = "STANDARD"
SERVER_SIDE_ENCRYPTION = "AES256"
"""What S3 answers for an object stored without other encryption (all are encrypted)."""
FULL_OBJECT = "FULL_OBJECT"


class S3Refusal(Exception):
    """An error S3 answers that the store does not raise: a precondition, a range, a digest."""

    def __init__(self, code: str, message: str | None, status: int) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


Handler = Callable[[Buckets, dict[str, Any], Mapping[str, Any]], dict[str, Any]]


def call_s3(buckets: Buckets, action: str, parameters: Any) -> Any:
    """Run `action` (`getObject`, ...) with the Task's `parameters` over `buckets`; the result.

    Raises TaskFailure: S3's errors as `S3.<Error>Exception` or `S3.S3Exception`; an action S3
    lacks, one redstep does not support, or Parameters the SDK could not take as States.Runtime.
    """
    operation = operation_for(MODEL, action)
    if operation is None:
        raise unrecognized_action(MODEL, action)
    handler = _HANDLERS.get(operation)
    if handler is None:
        raise runtime_failure(
            f"redstep's S3 integration does not support {action}: it supports "
            + ", ".join(supported_actions())
        )
    shape = input_shape(MODEL, operation)
    also_required = ("Body",) if operation == "PutObject" else ()  # as Step Functions requires
    request = to_request(shape, parameters, also_required=also_required)
    for member in ("Bucket", "Key"):  # a null path parameter: the SDK cannot make the request
        if shape is not None and member in shape.members and member not in request:
            raise runtime_failure(f"The field '{member}' is required but was missing")
    try:
        return handler(buckets, request, parameters)
    except BucketError as error:
        raise _failure(error.code, error.message, error.http_status, operation) from error
    except S3Refusal as refusal:
        raise _failure(refusal.code, refusal.message, refusal.status, operation) from refusal


# -- errors -------------------------------------------------------------------------------------


@cache
def _modelled_errors() -> frozenset[str]:
    """The error codes the SDK has an exception for: those S3's model names."""
    model = service_model(MODEL)
    return frozenset(
        name for name in model.shape_names if model.shape_for(name).metadata.get("exception")
    )


def _failure(code: str, message: str | None, status: int, operation: str) -> TaskFailure:
    if operation == "HeadObject":
        # No body to read a code from: the SDK makes a 404 NoSuchKey, anything else unknown.
        if status == 404:
            code, message = "NoSuchKey", "The specified key does not exist."
        else:
            code, message = "S3Exception", None
    exception = code if code in _modelled_errors() else "S3Exception"
    return service_failure(
        SERVICE,
        exception,
        message,
        status,
        _request_id(),
        extended_request_id=_extended_request_id(),
    )


def _request_id() -> str:
    """An S3 request id: 16 upper-case letters and digits."""
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(16))


def _extended_request_id() -> str:
    """An S3 extended request id (x-amz-id-2): 56 bytes, base64."""
    return base64.b64encode(secrets.token_bytes(56)).decode("ascii")


# -- objects ------------------------------------------------------------------------------------


def _get_object(
    buckets: Buckets, request: dict[str, Any], parameters: Mapping[str, Any]
) -> dict[str, Any]:
    return _read(buckets, request, "GetObject")


def _head_object(
    buckets: Buckets, request: dict[str, Any], parameters: Mapping[str, Any]
) -> dict[str, Any]:
    return _read(buckets, request, "HeadObject")


def _read(buckets: Buckets, request: dict[str, Any], operation: str) -> dict[str, Any]:
    _check_version(request)
    with buckets.open_read(request["Bucket"], request["Key"]) as reader:
        info = reader.info
        _check_preconditions(request, info)
        chosen = _byte_range(request.get("Range"), info.size)
        response = _metadata(info)
        first, last = chosen or (0, info.size - 1)
        if chosen is not None:
            response["ContentRange"] = f"bytes {first}-{last}/{info.size}"
        elif request.get("ChecksumMode") == "ENABLED":
            response["ChecksumCRC32"] = crc32_checksum(reader.crc32())
            response["ChecksumType"] = FULL_OBJECT
        response["ContentLength"] = last - first + 1
        body = reader.read(first, last) if operation == "GetObject" and last >= first else b""
    for parameter, member in _RESPONSE_OVERRIDES.items():
        if parameter in request:
            response[member] = request[parameter]
    result = to_result(_output_shape(operation), response)
    if operation == "GetObject":
        result["Body"] = body.decode("utf-8", errors="replace")
    return result


def _metadata(info: ObjectInfo) -> dict[str, Any]:
    return {
        "AcceptRanges": "bytes",
        "ContentType": info.content_type,
        "ETag": info.etag,
        "LastModified": info.last_modified,
        "Metadata": {},
        "ServerSideEncryption": SERVER_SIDE_ENCRYPTION,
    }


_RESPONSE_OVERRIDES = {
    "ResponseCacheControl": "CacheControl",
    "ResponseContentDisposition": "ContentDisposition",
    "ResponseContentEncoding": "ContentEncoding",
    "ResponseContentLanguage": "ContentLanguage",
    "ResponseContentType": "ContentType",
    "ResponseExpires": "Expires",
}


def _check_version(request: Mapping[str, Any]) -> None:
    """The buckets are unversioned: every object's only version is `null`."""
    version = request.get("VersionId")
    if version is not None and version != "null":
        raise S3Refusal("InvalidArgument", "Invalid version id specified", 400)


def _check_preconditions(request: Mapping[str, Any], info: ObjectInfo) -> None:
    """Raise what S3 answers when a condition fails: 412, or 304 Not Modified (RFC 7232 §6)."""
    if_match = request.get("IfMatch")
    if if_match is not None:
        if not _etag_matches(if_match, info.etag):
            raise _precondition_failed()
    else:
        since = request.get("IfUnmodifiedSince")
        if since is not None and info.last_modified > since:
            raise _precondition_failed()
    if_none_match = request.get("IfNoneMatch")
    if if_none_match is not None:
        if _etag_matches(if_none_match, info.etag):
            raise _not_modified()
    else:
        since = request.get("IfModifiedSince")
        if since is not None and info.last_modified <= since:
            raise _not_modified()


def _not_modified() -> S3Refusal:
    return S3Refusal("NotModified", None, 304)  # a 304 has no body: the SDK has no message


def _precondition_failed() -> S3Refusal:
    return S3Refusal(
        "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", 412
    )


def _etag_matches(listed: str, etag: str) -> bool:
    bare = etag.strip('"')
    return any(
        candidate.strip().removeprefix("W/").strip('"') in ("*", bare)
        for candidate in listed.split(",")
    )


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive range a `Range` asks for; None for the whole object, as S3 answers an
    unreadable one or several ranges; InvalidRange (416) for one past the end."""
    if header is None:
        return None
    unit, _, spec = header.strip().partition("=")
    first, dash, last = (part.strip() for part in spec.strip().partition("-"))
    if unit.strip().lower() != "bytes" or not dash or "," in spec:
        return None
    if not first:
        if not last.isdigit():
            return None
        if int(last) == 0 or size == 0:
            raise _invalid_range()
        return max(0, size - int(last)), size - 1
    if not first.isdigit() or (last and (not last.isdigit() or int(last) < int(first))):
        return None
    if int(first) >= size:
        raise _invalid_range()
    return int(first), size - 1 if not last else min(int(last), size - 1)


def _invalid_range() -> S3Refusal:
    return S3Refusal("InvalidRange", "The requested range is not satisfiable", 416)


def _put_object(
    buckets: Buckets, request: dict[str, Any], parameters: Mapping[str, Any]
) -> dict[str, Any]:
    if "IfMatch" in request or "IfNoneMatch" in request:
        # As redstep's S3 endpoint: a folder cannot make a conditional write atomic.
        raise S3Refusal(
            "NotImplemented",
            "A header you provided implies functionality that is not implemented",
            501,
        )
    # The Body is whatever JSON value the task gives, null included: Step Functions writes its
    # JSON text (a string quoted), not the value the model's blob would suggest.
    body = to_json(parameters["Body"]).encode("utf-8")
    _check_content_md5(request.get("ContentMD5"), body)
    algorithm, checksum = _checksum(request, body)
    info = buckets.put(
        request["Bucket"], request["Key"], body, content_type=request.get("ContentType")
    )
    response = {
        "ETag": info.etag,
        f"Checksum{algorithm}": checksum,
        "ChecksumType": FULL_OBJECT,
        "ServerSideEncryption": request.get("ServerSideEncryption", SERVER_SIDE_ENCRYPTION),
    }
    return to_result(_output_shape("PutObject"), response)


def _check_content_md5(stated: str | None, body: bytes) -> None:
    if stated is None:
        return
    try:
        digest = base64.b64decode(stated, validate=True)
    except binascii.Error:
        digest = b""
    if len(digest) != 16:
        raise S3Refusal("InvalidDigest", "The Content-MD5 you specified was invalid.", 400)
    if digest != hashlib.md5(body, usedforsecurity=False).digest():
        raise S3Refusal(
            "BadDigest", "The Content-MD5 you specified did not match what we received.", 400
        )


def _checksum(request: Mapping[str, Any], body: bytes) -> tuple[str, str]:
    """The algorithm of the one checksum the SDK sends, and the body's checksum in it.

    The SDK sends the checksums the task states, or computes the one ChecksumAlgorithm names,
    or else a CRC32; S3 refuses more than one, and one that does not match.
    """
    stated = {
        name: request[f"Checksum{name}"] for name in _CHECKSUMS if f"Checksum{name}" in request
    }
    named = request.get("ChecksumAlgorithm")
    algorithms = set(stated) | ({named} if named else set())
    if len(algorithms) > 1:
        raise S3Refusal("InvalidRequest", "Expecting a single x-amz-checksum- header", 400)
    algorithm = algorithms.pop() if algorithms else "CRC32"
    digest = _CHECKSUMS.get(algorithm)
    if digest is None:
        raise runtime_failure(
            f"redstep cannot compute {algorithm} checksums; it computes " + ", ".join(_CHECKSUMS)
        )
    checksum = base64.b64encode(digest(body)).decode("ascii")
    if algorithm in stated and stated[algorithm] != checksum:
        if not _is_base64(stated[algorithm]):
            raise S3Refusal(
                "InvalidRequest",
                f"Value for x-amz-checksum-{algorithm.lower()} header is invalid.",
                400,
            )
        raise S3Refusal(
            "BadDigest",
            f"The {algorithm} you specified did not match the calculated checksum.",
            400,
        )
    return algorithm, checksum


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except binascii.Error:
        return False
    return True


def _delete_object(
    buckets: Buckets, request: dict[str, Any], parameters: Mapping[str, Any]
) -> dict[str, Any]:
    _check_version(request)
    buckets.delete(request["Bucket"], request["Key"])
    return to_result(_output_shape("DeleteObject"), {})


# -- listings -----------------------------------------------------------------------------------


def _list_objects_v2(
    buckets: Buckets, request: dict[str, Any], parameters: Mapping[str, Any]
) -> dict[str, Any]:
    listing = buckets.list_objects(
        request["Bucket"],
        prefix=request.get("Prefix", ""),
        delimiter=request.get("Delimiter", ""),
        start_after=request.get("StartAfter", ""),
        continuation_token=request.get("ContinuationToken"),
        max_keys=request.get("MaxKeys", 1000),
    )
    with_owner = request.get("FetchOwner") is True
    response: dict[str, Any] = {
        "IsTruncated": listing.is_truncated,
        "KeyCount": listing.key_count,
        "MaxKeys": listing.max_keys,
        "Name": listing.bucket,
        "Prefix": listing.prefix,
        "Delimiter": listing.delimiter or None,
        "EncodingType": request.get("EncodingType"),  # the SDK decodes the keys it encodes
        "ContinuationToken": listing.continuation_token,
        "NextContinuationToken": listing.next_continuation_token,
        "StartAfter": listing.start_after or None,
    }
    if listing.contents:
        response["Contents"] = [_listed(info, with_owner=with_owner) for info in listing.contents]
    if listing.common_prefixes:
        response["CommonPrefixes"] = [{"Prefix": prefix} for prefix in listing.common_prefixes]
    return to_result(_output_shape("ListObjectsV2"), response)


def _listed(info: ObjectInfo, *, with_owner: bool) -> dict[str, Any]:
    listed: dict[str, Any] = {
        "Key": info.key,
        "LastModified": info.last_modified,
        "ETag": info.etag,
        "ChecksumAlgorithm": ["CRC32"],  # the checksum the store keeps for every object
        "ChecksumType": FULL_OBJECT,
        "Size": info.size,
        "StorageClass": STORAGE_CLASS,
    }
    if with_owner:
        listed["Owner"] = {"ID": OWNER_ID}
    return listed


# -- checksums ----------------------------------------------------------------------------------


_CHECKSUMS: dict[str, Callable[[bytes], bytes]] = {
    "CRC32": lambda data: zlib.crc32(data).to_bytes(4, "big"),
    "SHA1": lambda data: hashlib.sha1(data, usedforsecurity=False).digest(),
    "SHA256": lambda data: hashlib.sha256(data).digest(),
    "SHA512": lambda data: hashlib.sha512(data).digest(),
    "MD5": lambda data: hashlib.md5(data, usedforsecurity=False).digest(),
}
"""The checksums S3 computes that the standard library computes too: CRC32C, CRC64NVME and the
XXHASH family would need a library of their own, as at the S3 endpoint (`api/s3_payload.py`)."""


# -- dispatch -----------------------------------------------------------------------------------


def _output_shape(operation: str) -> Any:
    return service_model(MODEL).operation_model(operation).output_shape


_HANDLERS: dict[str, Handler] = {
    "DeleteObject": _delete_object,
    "GetObject": _get_object,
    "HeadObject": _head_object,
    "ListObjectsV2": _list_objects_v2,
    "PutObject": _put_object,
}
_ACTIONS = tuple(operation[:1].lower() + operation[1:] for operation in _HANDLERS)


def supported_actions() -> tuple[str, ...]:
    """The S3 actions this integration answers, as a Resource names them."""
    return tuple(sorted(_ACTIONS))

"""What a PutObject or UploadPart body really is: its content, decoded, and every digest checked.

Over plain HTTP, botocore 1.44 and the AWS CLI v1 (1.46, with its own vendored botocore 1.43)
send the content as is, with `Expect: 100-continue`, signed (`x-amz-content-sha256` is its
SHA-256) and with a CRC32 in `x-amz-checksum-crc32`. Over HTTPS botocore sends the body
`aws-chunked` (`x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER`, HTTP-chunked, the CRC32
in a trailer), and other SDKs may do so over HTTP too. Both forms are decoded here. Content-MD5,
a hex `x-amz-content-sha256` and CRC32/SHA-1/SHA-256 checksums are verified (BadDigest,
XAmzContentSHA256Mismatch); CRC32C and CRC64NVME, which need a library the project does not
have, are accepted unverified. Signatures are not checked here: that is the app's auth layer.

The declared length is checked before the body is read (MissingContentLength, EntityTooLarge),
so a client waiting on `Expect: 100-continue` is refused before it sends anything.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.requests import Request

from redstep.api.s3_xml import S3Refusal

_CHECKSUM_PREFIX = "x-amz-checksum-"
# Algorithm name in x-amz-checksum-<name> -> (its name in messages, a digest, its size in bytes).
_CHECKSUMS: dict[str, tuple[str, Callable[[bytes], bytes] | None, int]] = {
    "crc32": ("CRC32", lambda body: zlib.crc32(body).to_bytes(4, "big"), 4),
    "crc32c": ("CRC32C", None, 4),
    "crc64nvme": ("CRC64NVME", None, 8),
    "sha1": ("SHA1", lambda body: hashlib.sha1(body).digest(), 20),
    "sha256": ("SHA256", lambda body: hashlib.sha256(body).digest(), 32),
}
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True, slots=True)
class Payload:
    """A request's content, decoded and verified, and the checksum headers to echo back."""

    content: bytes
    checksums: Mapping[str, str]


async def read_payload(request: Request, *, max_bytes: int) -> Payload:
    """The request's content: length checked, aws-chunked decoded, digests verified."""
    headers = request.headers
    is_chunked = is_aws_chunked(headers)
    declared = headers.get("x-amz-decoded-content-length" if is_chunked else "content-length")
    if declared is None or not (declared.isascii() and declared.isdigit()):
        raise S3Refusal(
            "MissingContentLength", "You must provide the Content-Length HTTP header.", 411
        )
    if int(declared) > max_bytes:
        raise S3Refusal(
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
            400,
            details={"ProposedSize": declared, "MaxSizeAllowed": str(max_bytes)},
        )
    body = await request.body()
    trailers: dict[str, str] = {}
    if is_chunked:
        body, trailers = decode_aws_chunked(body)
    if len(body) != int(declared):
        raise S3Refusal(
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header",
            400,
        )
    return Payload(body, verify_integrity(headers, trailers, body))


_HEX_DIGITS = re.compile(rb"[0-9A-Fa-f]{1,16}")


def is_aws_chunked(headers: Headers) -> bool:
    """Whether the body is `aws-chunked` (by its Content-Encoding or its streaming hash)."""
    encodings = [part.strip().lower() for part in headers.get("content-encoding", "").split(",")]
    return "aws-chunked" in encodings or headers.get("x-amz-content-sha256", "").startswith(
        "STREAMING-"
    )


def decode_aws_chunked(data: bytes) -> tuple[bytes, dict[str, str]]:
    """The content and the trailers (lower-cased names) of an `aws-chunked` body.

    Each chunk is `<hex size>[;chunk-signature=<sig>]\\r\\n<bytes>\\r\\n`; a zero-size chunk ends
    the content and is followed by `name:value\\r\\n` trailers and an empty line. Chunk signatures
    are not checked (signatures are the auth layer's).
    """
    content = bytearray()
    position = 0
    while True:
        end_of_line = data.find(b"\r\n", position)
        if end_of_line < 0:
            raise _incomplete_body()
        size_text = data[position:end_of_line].partition(b";")[0].strip()
        # Digits only: int() would also take a sign ("-6", which would walk back forever), "0x"
        # and underscores.
        if not _HEX_DIGITS.fullmatch(size_text):
            raise _malformed_chunks("a chunk size is not a hexadecimal number")
        size = int(size_text, 16)
        position = end_of_line + 2
        if size == 0:
            break
        if position + size + 2 > len(data):
            raise _incomplete_body()
        if data[position + size : position + size + 2] != b"\r\n":
            raise _malformed_chunks("a chunk is longer than its size says")
        content += data[position : position + size]
        position += size + 2
    trailers: dict[str, str] = {}
    for line in data[position:].split(b"\r\n"):
        if not line:
            continue
        name, colon, value = line.partition(b":")
        if not colon:
            raise _malformed_chunks("a trailer is not `name:value`")
        try:
            trailers[name.strip().lower().decode("ascii")] = value.strip().decode("ascii")
        except UnicodeDecodeError:
            raise _malformed_chunks("a trailer is not ASCII") from None
    return bytes(content), trailers


def _incomplete_body() -> S3Refusal:
    return S3Refusal(
        "IncompleteBody", "The request body terminated unexpectedly (aws-chunked encoding)", 400
    )


def _malformed_chunks(reason: str) -> S3Refusal:
    return S3Refusal("InvalidRequest", f"Malformed aws-chunked request body: {reason}", 400)


def verify_integrity(headers: Headers, trailers: Mapping[str, str], body: bytes) -> dict[str, str]:
    """Check every digest the request states of `body`; the checksum headers to echo back."""
    content_md5 = headers.get("content-md5")
    if content_md5 is not None:
        expected = _base64(content_md5)
        if expected is None or len(expected) != 16:
            raise S3Refusal("InvalidDigest", "The Content-MD5 you specified is not valid.", 400)
        if hashlib.md5(body, usedforsecurity=False).digest() != expected:
            raise S3Refusal(
                "BadDigest", "The Content-MD5 you specified did not match what we received.", 400
            )
    content_sha256 = headers.get("x-amz-content-sha256", "")
    if _HEX_SHA256.fullmatch(content_sha256):
        computed = hashlib.sha256(body).hexdigest()
        if computed != content_sha256.lower():
            raise S3Refusal(
                "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
                400,
                details={
                    "ClientComputedContentSHA256": content_sha256,
                    "S3ComputedContentSHA256": computed,
                },
            )
    declared_trailer = headers.get("x-amz-trailer", "").strip().lower()
    if declared_trailer and declared_trailer not in trailers:
        raise S3Refusal(
            "InvalidRequest", f"The trailer {declared_trailer} was declared but not sent", 400
        )
    stated = {
        name.lower(): value
        for name, value in [*headers.items(), *trailers.items()]
        if name.lower().startswith(_CHECKSUM_PREFIX)
        and name.lower().removeprefix(_CHECKSUM_PREFIX) in _CHECKSUMS
    }
    if len(stated) > 1:
        raise S3Refusal(
            "InvalidRequest",
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
            400,
        )
    for name, value in stated.items():
        _verify_checksum(name, value, body)
    return stated


def crc32_checksum(content: bytes) -> str:
    """The CRC32 of `content` as `x-amz-checksum-crc32` carries it: base64 of 4 big-endian bytes."""
    return base64.b64encode(zlib.crc32(content).to_bytes(4, "big")).decode("ascii")


def _verify_checksum(header: str, value: str, body: bytes) -> None:
    label, digest, size = _CHECKSUMS[header.removeprefix(_CHECKSUM_PREFIX)]
    expected = _base64(value)
    if expected is None or len(expected) != size:
        raise S3Refusal("InvalidRequest", f"Value for {header} header is invalid.", 400)
    if digest is not None and digest(body) != expected:
        raise S3Refusal(
            "BadDigest", f"The {label} you specified did not match the calculated checksum.", 400
        )


def _base64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None

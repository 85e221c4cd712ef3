"""What a request body really is: streamed into the store, decoded, every digest it states checked.

Over plain HTTP, botocore 1.44 and the AWS CLI v1 (1.46, with its own vendored botocore 1.43)
send a PutObject's or UploadPart's content as is, with `Expect: 100-continue`, signed
(`x-amz-content-sha256` is its SHA-256) and with a CRC32 in `x-amz-checksum-crc32`. Over HTTPS
botocore sends it `aws-chunked` (`s3_chunked`), the CRC32 in a trailer. Both are handled here.

`store_payload` streams the body into a store writer (`redstep.buckets.ContentWriter`): the body
arrives from the event loop and is gathered into batches of `BATCH_BYTES`; each batch is decoded,
hashed and written on a worker thread, so neither the content nor the hashing ever sits on the
event loop, and no more than a batch is held in memory. Once the body has ended, the digests are
verified — Content-MD5 (BadDigest), a hex `x-amz-content-sha256` against the bytes as sent
(XAmzContentSHA256Mismatch: the app's SigV4 check trusts the declared hash, and this is where
that hash is held to the body), and a CRC32, MD5, SHA-1, SHA-256 or SHA-512 checksum, from a
header or a declared trailer (BadDigest); the CRC32 and MD5 are the writer's own, computed as it
writes. CRC32C, CRC64NVME and the XXHASH family, which need a library the project does not have,
are accepted unverified (their size is checked) and echoed. A checksum header or trailer naming
an algorithm S3 does not know is refused, as S3 refuses it, rather than ignored. Only then is
the writer committed: a refused body leaves no object and no temporary file.

What the headers alone can refuse is refused before the body is read (MissingContentLength,
EntityTooLarge, a malformed digest, an unknown checksum), so a client waiting on
`Expect: 100-continue` never sends it; and the store's writer makes no file until the first
bytes come, so a refusal by the headers leaves nothing on the disk. The declared length, itself
at most the operation's limit, is held to as the bytes arrive: a plain body that runs past it
(HTTP-chunked, whatever its Content-Length said) is refused at the piece that does, an
aws-chunked one at the batch whose decoded content does; either way not a byte past it reaches
the disk, and no more than a batch past it is ever held.

Every read of a body has a deadline, `READ_TIMEOUT`: a client that stops sending mid-body (its
Content-Length promised more) is answered S3's RequestTimeout and its connection closed, rather
than holding the connection and a temporary file for as long as it stays connected.

`read_document` reads a small body whole (an XML request), capped, with the same deadline and
digest checks, the digests computed on a worker thread.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Final, Protocol, TypeVar

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request

from redstep.api.s3_chunked import AwsChunkedDecoder, is_aws_chunked
from redstep.api.s3_xml import S3Refusal, digits, is_digits
from redstep.buckets import ContentWriter

T = TypeVar("T")

BATCH_BYTES: Final = 1 << 20
"""How much of a body is gathered before a worker thread decodes, hashes and writes it."""
READ_TIMEOUT = 20.0
"""How long, in seconds, a read of a request body waits for its next bytes (S3's RequestTimeout
comes after about 20 s). A module variable, read at each call, so tests can shorten it."""

_CHECKSUM_PREFIX = "x-amz-checksum-"
# Algorithm name in x-amz-checksum-<name> -> (its name in messages, its size in bytes): every
# algorithm S3's PutObject and UploadPart take (botocore 1.44's model).
_CHECKSUMS: dict[str, tuple[str, int]] = {
    "crc32": ("CRC32", 4),
    "crc32c": ("CRC32C", 4),
    "crc64nvme": ("CRC64NVME", 8),
    "md5": ("MD5", 16),
    "sha1": ("SHA1", 20),
    "sha256": ("SHA256", 32),
    "sha512": ("SHA512", 64),
    "xxhash64": ("XXHASH64", 8),
    "xxhash3": ("XXHASH3", 8),
    "xxhash128": ("XXHASH128", 16),
}
# x-amz-checksum-* headers that name no algorithm (CreateMultipartUpload's, GetObject's): no
# checksum of the body, and no reason to refuse it.
_NOT_ALGORITHMS = frozenset({"algorithm", "mode", "type"})
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...


# The checksums computed here, beside the writer's own CRC32 and MD5 (`PayloadCheck.finish`);
# the others are accepted unverified.
_DIGESTS: dict[str, Callable[[], _Digest]] = {
    "sha1": lambda: hashlib.sha1(usedforsecurity=False),
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
}


@dataclass(frozen=True, slots=True)
class Expectation:
    """What a request's headers say of its body, checked before any of it is read."""

    length: int
    """The content's length: Content-Length, or x-amz-decoded-content-length when aws-chunked."""
    is_chunked: bool
    content_md5: bytes | None
    content_sha256: str | None
    """A hex `x-amz-content-sha256`, lower-cased: the SHA-256 of the body as sent."""
    checksum: str | None
    """The algorithm of the one x-amz-checksum-* stated, by a header or a declared trailer."""
    checksum_header: str | None
    """That checksum's value when a header states it; None when a trailer is to."""
    trailer: str
    """The trailer x-amz-trailer declares, lower-cased; empty for none."""


def expectation_of(headers: Headers, *, max_bytes: int) -> Expectation:
    """What the headers say of the body; refuses what they alone show to be wrong."""
    is_chunked = is_aws_chunked(headers)
    declared = headers.get("x-amz-decoded-content-length" if is_chunked else "content-length")
    if declared is None or not is_digits(declared):
        raise S3Refusal(
            "MissingContentLength", "You must provide the Content-Length HTTP header.", 411
        )
    length = digits(declared)  # None: more digits than any length S3 takes
    if length is None or length > max_bytes:
        raise S3Refusal(
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
            400,
            details={"ProposedSize": declared, "MaxSizeAllowed": str(max_bytes)},
        )
    trailer = headers.get("x-amz-trailer", "").strip().lower()
    if trailer and _known_algorithm(trailer) is None:
        raise S3Refusal(
            "InvalidRequest",
            "The value specified in the x-amz-trailer header is not supported",
            400,
        )
    stated = {
        name.lower(): value
        for name, value in headers.items()
        if _header_algorithm(name) is not None  # refuses an algorithm S3 does not know
    }
    if trailer:
        stated.setdefault(trailer, "")
    if len(stated) > 1:
        raise _multiple_checksums()
    checksum, checksum_header = None, None
    for name, value in stated.items():
        checksum = _known_algorithm(name)
        if name != trailer:
            _checksum_value(name, value)  # refused now if malformed
            checksum_header = value
    sha256 = headers.get("x-amz-content-sha256", "")
    return Expectation(
        length=length,
        is_chunked=is_chunked,
        content_md5=_content_md5(headers),
        content_sha256=sha256.lower() if _HEX_SHA256.fullmatch(sha256) else None,
        checksum=checksum,
        checksum_header=checksum_header,
        trailer=trailer,
    )


class PayloadCheck:
    """One body on its way in: decoded, counted and hashed a piece at a time, then verified.

    Not thread-safe: feed it from one thread at a time (the batches are awaited one by one).
    """

    def __init__(self, expectation: Expectation) -> None:
        self._expected = expectation
        self._decoder = AwsChunkedDecoder() if expectation.is_chunked else None
        self._sha256 = hashlib.sha256() if expectation.content_sha256 else None
        make = _DIGESTS.get(expectation.checksum or "")
        self._checksum = make() if make is not None else None
        self._length = 0

    def feed(self, pieces: Iterable[bytes], write: Callable[[bytes], None]) -> None:
        """Take the next pieces of the body as sent; `write` the content they complete."""
        for piece in pieces:
            if self._sha256 is not None:
                self._sha256.update(piece)
            for content in self._decoder.feed(piece) if self._decoder else (piece,):
                self._length += len(content)
                if self._length > self._expected.length:
                    raise _wrong_length()  # before a byte past the declared length is written
                if self._checksum is not None:
                    self._checksum.update(content)
                write(content)

    def finish(self, content_md5: bytes, content_crc32: int) -> dict[str, str]:
        """Verify the whole body, given its content's MD5 and CRC32 (the writer's); the checksum
        headers to echo back."""
        expected = self._expected
        trailers = self._decoder.finish() if self._decoder else {}
        if self._length != expected.length:
            raise _wrong_length()
        if expected.content_md5 is not None and content_md5 != expected.content_md5:
            raise _bad_md5()
        if self._sha256 is not None:
            _check_sha256(expected.content_sha256 or "", self._sha256.hexdigest())
        if expected.trailer and expected.trailer not in trailers:
            raise S3Refusal(
                "InvalidRequest", f"The trailer {expected.trailer} was declared but not sent", 400
            )
        stated = {
            name: value for name, value in trailers.items() if name.startswith(_CHECKSUM_PREFIX)
        }
        if expected.checksum_header is not None:
            stated[_CHECKSUM_PREFIX + (expected.checksum or "")] = expected.checksum_header
        if len(stated) > 1:
            raise _multiple_checksums()
        for name, value in stated.items():
            if _known_algorithm(name) != expected.checksum or expected.checksum is None:
                raise S3Refusal("InvalidRequest", f"The trailer {name} was not declared", 400)
            wanted = _checksum_value(name, value)
            computed = self._computed(expected.checksum, content_md5, content_crc32)
            if computed is not None and computed != wanted:
                label = _CHECKSUMS[expected.checksum][0]
                raise S3Refusal(
                    "BadDigest",
                    f"The {label} you specified did not match the calculated checksum.",
                    400,
                )
        return stated

    def _computed(self, algorithm: str, content_md5: bytes, content_crc32: int) -> bytes | None:
        """The content's checksum by `algorithm`; None for one that is not computed here."""
        if algorithm == "crc32":
            return content_crc32.to_bytes(4, "big")
        if algorithm == "md5":
            return content_md5
        return self._checksum.digest() if self._checksum is not None else None


async def store_payload(
    request: Request,
    open_writer: Callable[[], ContentWriter[T]],
    *,
    max_bytes: int,
    read_timeout: float | None = None,
) -> tuple[T, dict[str, str]]:
    """Stream the request's body into the writer `open_writer` opens (on a worker thread), verify
    it, and commit it: what the commit answers, and the checksum headers to echo back.

    The headers are checked after the writer is opened, so the store's refusals (no bucket, no
    upload) come first, as on S3; the writer makes nothing on the disk until the first batch of
    content is written, so a refusal by the headers leaves nothing behind. Each wait for more of
    the body lasts at most `read_timeout` seconds (`READ_TIMEOUT` unless given), then
    RequestTimeout. On any failure, cancellation included, the writer is discarded.
    """
    timeout = READ_TIMEOUT if read_timeout is None else read_timeout
    # Shielded: a writer opened while the request is cancelled must still be discarded.
    with anyio.CancelScope(shield=True):
        writer = await run_in_threadpool(open_writer)
    try:
        expectation = expectation_of(request.headers, max_bytes=max_bytes)
        check = PayloadCheck(expectation)
        batch: list[bytes] = []
        gathered = received = 0
        stream = request.stream()
        while (piece := await _next_piece(stream, timeout)) is not None:
            received += len(piece)
            if received > expectation.length and not expectation.is_chunked:
                # A plain body is its content: refused the moment it runs past its length. An
                # aws-chunked one is, once decoded, which a batch later is at most.
                raise _wrong_length()
            batch.append(piece)
            gathered += len(piece)
            if gathered >= BATCH_BYTES:
                await run_in_threadpool(check.feed, batch, writer.write)
                batch, gathered = [], 0
        if batch:
            await run_in_threadpool(check.feed, batch, writer.write)
        checksums = await run_in_threadpool(check.finish, writer.md5_digest(), writer.crc32())
        return await run_in_threadpool(writer.commit), checksums
    except BaseException:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(writer.discard)
        raise


async def read_document(
    request: Request, *, max_bytes: int, read_timeout: float | None = None
) -> bytes:
    """A small body (an XML document) read whole, at most `max_bytes` (MaxMessageLengthExceeded),
    its Content-MD5 and hex `x-amz-content-sha256` checked on a worker thread; each wait for
    more of it at most `read_timeout` seconds (`READ_TIMEOUT` unless given)."""
    timeout = READ_TIMEOUT if read_timeout is None else read_timeout
    declared = request.headers.get("content-length", "")
    if is_digits(declared) and ((size := digits(declared)) is None or size > max_bytes):
        raise _too_long()
    content_md5 = _content_md5(request.headers)
    body = bytearray()
    stream = request.stream()
    while (piece := await _next_piece(stream, timeout)) is not None:
        body += piece
        if len(body) > max_bytes:
            raise _too_long()
    document = bytes(body)
    await run_in_threadpool(check_document, document, content_md5, request.headers)
    return document


def check_document(document: bytes, content_md5: bytes | None, headers: Headers) -> None:
    """Hold a whole document to its Content-MD5 (BadDigest) and its hex `x-amz-content-sha256`
    (XAmzContentSHA256Mismatch). Up to megabytes of hashing: call it from a worker thread."""
    if (
        content_md5 is not None
        and content_md5 != hashlib.md5(document, usedforsecurity=False).digest()
    ):
        raise _bad_md5()
    sha256 = headers.get("x-amz-content-sha256", "")
    if _HEX_SHA256.fullmatch(sha256):
        _check_sha256(sha256.lower(), hashlib.sha256(document).hexdigest())


async def _next_piece(stream: AsyncIterator[bytes], read_timeout: float) -> bytes | None:
    """The body's next piece, or None at its end; RequestTimeout if it takes `read_timeout`."""
    with anyio.move_on_after(read_timeout):
        return await anext(stream, None)
    # The client promised more and sent nothing for that long. The body will not be read to
    # its end, so the connection cannot carry another request: closed, as S3 closes it.
    raise S3Refusal(
        "RequestTimeout",
        "Your socket connection to the server was not read from or written to within the "
        "timeout period. Idle connections will be closed.",
        400,
        headers={"Connection": "close"},
    )


# -- the digests -------------------------------------------------------------------------------


def _known_algorithm(name: str) -> str | None:
    """The algorithm an `x-amz-checksum-<algorithm>` header or trailer names, if S3 knows it."""
    name = name.lower()
    algorithm = name.removeprefix(_CHECKSUM_PREFIX)
    return algorithm if name.startswith(_CHECKSUM_PREFIX) and algorithm in _CHECKSUMS else None


def _header_algorithm(header: str) -> str | None:
    """The algorithm a request header states a checksum by; None for a header that states none.

    An `x-amz-checksum-<name>` header whose name is no algorithm S3 knows is refused as S3
    refuses it: a checksum the client meant to be checked must not pass unchecked.
    """
    name = header.lower()
    if not name.startswith(_CHECKSUM_PREFIX) or name.removeprefix(_CHECKSUM_PREFIX) in (
        _NOT_ALGORITHMS
    ):
        return None
    algorithm = _known_algorithm(name)
    if algorithm is None:
        raise S3Refusal(
            "InvalidRequest",
            "The algorithm type you specified in x-amz-checksum- header is invalid.",
            400,
        )
    return algorithm


def _checksum_value(header: str, value: str) -> bytes:
    """The checksum a header or trailer states, decoded; InvalidRequest if it is not one."""
    decoded = _base64(value)
    if decoded is None or len(decoded) != _CHECKSUMS[_known_algorithm(header) or ""][1]:
        raise S3Refusal("InvalidRequest", f"Value for {header} header is invalid.", 400)
    return decoded


def _content_md5(headers: Headers) -> bytes | None:
    text = headers.get("content-md5")
    if text is None:
        return None
    decoded = _base64(text)
    if decoded is None or len(decoded) != 16:
        raise S3Refusal("InvalidDigest", "The Content-MD5 you specified is not valid.", 400)
    return decoded


def _check_sha256(declared: str, computed: str) -> None:
    if computed != declared:
        raise S3Refusal(
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            400,
            details={"ClientComputedContentSHA256": declared, "S3ComputedContentSHA256": computed},
        )


def _base64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def _bad_md5() -> S3Refusal:
    return S3Refusal(
        "BadDigest", "The Content-MD5 you specified did not match what we received.", 400
    )


def _multiple_checksums() -> S3Refusal:
    return S3Refusal(
        "InvalidRequest",
        "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        400,
    )


def _wrong_length() -> S3Refusal:
    return S3Refusal(
        "IncompleteBody",
        "You did not provide the number of bytes specified by the Content-Length HTTP header",
        400,
    )


def _too_long() -> S3Refusal:
    return S3Refusal("MaxMessageLengthExceeded", "Your request was too big.", 400)

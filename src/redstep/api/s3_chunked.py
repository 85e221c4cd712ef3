"""The `aws-chunked` content encoding, decoded as it streams in: no I/O, no whole body in memory.

A body is a run of chunks, `<hex size>[;chunk-signature=<sig>]\\r\\n<bytes>\\r\\n`; a zero-size
chunk ends the content and is followed by `name:value\\r\\n` trailers and an empty line.
Botocore sends it over HTTPS (`x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER`, its
CRC32 in a trailer) and other SDKs over HTTP too; signed variants carry chunk signatures, which
are not checked here (signatures are the auth layer's).

`AwsChunkedDecoder` takes the body in pieces of any size, split anywhere, and answers the content
each piece completes. What it holds is bounded whatever a client sends: a size line longer than
`MAX_LINE_BYTES` or trailers longer than `MAX_TRAILER_BYTES` are refused. Sizes are hexadecimal
digits only: `int(text, 16)` alone would also take a sign (a negative size once walked the
decoder back forever), `0x` and underscores.
"""

from __future__ import annotations

import re
from enum import Enum, auto

from starlette.datastructures import Headers

from redstep.api.s3_xml import S3Refusal

MAX_LINE_BYTES = 4096
"""The longest chunk-size line (size and extensions) taken; botocore's are about 90 bytes."""
MAX_TRAILER_BYTES = 16 * 1024
"""The most trailer bytes taken after the last chunk."""

_HEX_DIGITS = re.compile(rb"[0-9A-Fa-f]{1,16}")
_CRLF = b"\r\n"


class _Part(Enum):
    """Which part of the encoding the next byte belongs to."""

    SIZE = auto()
    DATA = auto()
    DATA_END = auto()
    TRAILERS = auto()


def is_aws_chunked(headers: Headers) -> bool:
    """Whether the body is `aws-chunked` (by its Content-Encoding or its streaming hash)."""
    encodings = [part.strip().lower() for part in headers.get("content-encoding", "").split(",")]
    return "aws-chunked" in encodings or headers.get("x-amz-content-sha256", "").startswith(
        "STREAMING-"
    )


class AwsChunkedDecoder:
    """Decodes one `aws-chunked` body fed to it in pieces; `finish` answers its trailers."""

    def __init__(self) -> None:
        self._part = _Part.SIZE
        self._line = bytearray()
        self._remaining = 0  # content bytes still to come in the current chunk
        self._crlf_seen = 0  # how much of the CRLF after a chunk's content has come
        self._trailers = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """The content `data` completes, in order (possibly none); refuses a malformed body."""
        content: list[bytes] = []
        position = 0
        while position < len(data):
            match self._part:
                case _Part.SIZE:
                    position = self._read_size_line(data, position)
                case _Part.DATA:
                    taken = min(self._remaining, len(data) - position)
                    content.append(data[position : position + taken])
                    position += taken
                    self._remaining -= taken
                    if self._remaining == 0:
                        self._part, self._crlf_seen = _Part.DATA_END, 0
                case _Part.DATA_END:
                    if data[position] != _CRLF[self._crlf_seen]:
                        raise _malformed("a chunk is longer than its size says")
                    position += 1
                    self._crlf_seen += 1
                    if self._crlf_seen == len(_CRLF):
                        self._part = _Part.SIZE
                case _Part.TRAILERS:
                    self._trailers += data[position:]
                    position = len(data)
                    if len(self._trailers) > MAX_TRAILER_BYTES:
                        raise _malformed("the trailers are too long")
        return content

    def finish(self) -> dict[str, str]:
        """The trailers (lower-cased names), once the body has ended; IncompleteBody before."""
        if self._part is not _Part.TRAILERS:
            raise _incomplete_body()
        trailers: dict[str, str] = {}
        for line in bytes(self._trailers).split(_CRLF):
            if not line:
                continue
            name, colon, value = line.partition(b":")
            if not colon:
                raise _malformed("a trailer is not `name:value`")
            try:
                trailers[name.strip().lower().decode("ascii")] = value.strip().decode("ascii")
            except UnicodeDecodeError:
                raise _malformed("a trailer is not ASCII") from None
        return trailers

    def _read_size_line(self, data: bytes, position: int) -> int:
        end = data.find(b"\n", position)
        self._line += data[position : len(data) if end < 0 else end + 1]
        if len(self._line) > MAX_LINE_BYTES:
            raise _malformed("a chunk-size line is too long")
        if end < 0:
            return len(data)
        if not self._line.endswith(_CRLF):
            raise _malformed("a chunk-size line does not end with CRLF")
        size_text = bytes(self._line[:-2]).partition(b";")[0].strip()
        self._line.clear()
        if not _HEX_DIGITS.fullmatch(size_text):
            raise _malformed("a chunk size is not a hexadecimal number")
        size = int(size_text, 16)
        if size == 0:
            self._part = _Part.TRAILERS
        else:
            self._part, self._remaining = _Part.DATA, size
        return end + 1


def decode_aws_chunked(data: bytes) -> tuple[bytes, dict[str, str]]:
    """The content and the trailers of a whole `aws-chunked` body (for bodies already in memory)."""
    decoder = AwsChunkedDecoder()
    content = b"".join(decoder.feed(data))
    return content, decoder.finish()


def _incomplete_body() -> S3Refusal:
    return S3Refusal(
        "IncompleteBody", "The request body terminated unexpectedly (aws-chunked encoding)", 400
    )


def _malformed(reason: str) -> S3Refusal:
    return S3Refusal("InvalidRequest", f"Malformed aws-chunked request body: {reason}", 400)

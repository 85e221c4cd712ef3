"""The messages between redstep and a worker process, over a pipe pair of their own.

A message is a JSON header (what it is) and a body of raw bytes (a payload, never re-encoded),
framed as two big-endian 32-bit lengths followed by the header's UTF-8 and the body:

    redstep -> worker   invoke    {"type": "invoke", "request_id", "log", "arn", "timeout"}
                                  body: the event, as JSON text
    worker -> redstep   started   {"type": "started", "max_memory"}: the handler is about to run
                                  (the module is imported), so the timeout counts from now
                        result    {"type": "result", "is_error", "is_final", "max_memory",
                                  "log_error"}; body: the handler's answer, or the error object

`is_final` says the worker exits after the result (an initialisation that failed: Lambda starts
a fresh environment for the next invocation). The worker reads and writes with blocking calls
(`read_message`, `write_message`); redstep's side reads without blocking and frames what
arrives with a `MessageBuffer`.

Standard library only: the worker imports this module, and its start-up must stay fast.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any, Literal, TypedDict

_LENGTHS = struct.Struct(">II")


class InvokeMessage(TypedDict):
    type: Literal["invoke"]
    request_id: str
    log: str | None
    """The file the invocation's output is appended to; None to discard it."""
    arn: str
    timeout: int
    """Seconds, for the context's remaining time."""


class StartedMessage(TypedDict):
    type: Literal["started"]
    max_memory: int
    """MB the worker has used at most, so far."""


class ResultMessage(TypedDict):
    type: Literal["result"]
    is_error: bool
    is_final: bool
    max_memory: int
    log_error: str | None
    """Why the log file could not be opened (the output was discarded), if it could not."""


Header = dict[str, Any]


def encode_message(header: InvokeMessage | StartedMessage | ResultMessage, body: bytes) -> bytes:
    """A message's bytes on the pipe."""
    data = json.dumps(header, separators=(",", ":")).encode("utf-8")
    return _LENGTHS.pack(len(data), len(body)) + data + body


def write_message(
    fd: int, header: InvokeMessage | StartedMessage | ResultMessage, body: bytes = b""
) -> None:
    """Write a whole message to a blocking file descriptor."""
    view = memoryview(encode_message(header, body))
    while view:
        view = view[os.write(fd, view) :]


def read_message(fd: int) -> tuple[Header, bytes] | None:
    """Read one whole message from a blocking file descriptor; None when the other end closed."""
    lengths = _read_exactly(fd, _LENGTHS.size)
    if lengths is None:
        return None
    header_length, body_length = _LENGTHS.unpack(lengths)
    data = _read_exactly(fd, header_length + body_length)
    if data is None:
        return None
    header: Header = json.loads(data[:header_length])
    return header, data[header_length:]


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks: list[bytes] = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


class MessageBuffer:
    """Frames the bytes read from a pipe into messages, however they were split."""

    def __init__(self) -> None:
        self._data = bytearray()

    def feed(self, data: bytes) -> None:
        self._data += data

    def next_message(self) -> tuple[Header, bytes] | None:
        """The next whole message, or None until more bytes arrive."""
        if len(self._data) < _LENGTHS.size:
            return None
        header_length, body_length = _LENGTHS.unpack_from(self._data)
        end = _LENGTHS.size + header_length + body_length
        if len(self._data) < end:
            return None
        header: Header = json.loads(self._data[_LENGTHS.size : _LENGTHS.size + header_length])
        body = bytes(self._data[_LENGTHS.size + header_length : end])
        del self._data[:end]
        return header, body

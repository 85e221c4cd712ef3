"""What the S3 suites (tests/api/s3/) share besides their fixtures (tests/api/s3/conftest.py):
the server they talk to, clients of it, and readers of its answers."""

from __future__ import annotations

import hashlib
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import boto3
import botocore.config
import httpx
import pytest
from botocore.exceptions import ClientError

from redstep.api.s3 import NAMESPACE
from redstep.buckets import Buckets

NS = {"s3": NAMESPACE}
METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"]
MIB = 1024 * 1024


@dataclass
class S3Server:
    """The running server, and the store its requests go to (each test brings its own)."""

    url: str
    store: Buckets = field(default_factory=lambda: Buckets({}))


def client_of(server: S3Server, **config: Any) -> Any:
    """A boto3 S3 client of the server, path-style, that does not retry."""
    return boto3.client(
        "s3",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=botocore.config.Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1, "mode": "standard"},
            **config,
        ),
    )


def content_of(store: Buckets, bucket: str, key: str) -> bytes:
    """The object's whole content, as the store reads it."""
    return store.read(bucket, key, lambda info: (0, info.size - 1))[1]


def files_under(folder: Path) -> list[str]:
    """Every file under `folder`, temporary ones included, relative and sorted."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def error_code(raised: pytest.ExceptionInfo[ClientError]) -> str:
    return str(raised.value.response["Error"]["Code"])


def http_status(raised: pytest.ExceptionInfo[ClientError]) -> int:
    return int(raised.value.response["ResponseMetadata"]["HTTPStatusCode"])


def error_xml(response: httpx.Response) -> dict[str, str]:
    root = ElementTree.fromstring(response.content)
    assert root.tag == "Error"
    return {child.tag: child.text or "" for child in root}


def s3_multipart_etag(*parts: bytes) -> str:
    """S3's multipart ETag, spelled out: the MD5 of the parts' binary MD5s, then the count."""
    joined = b"".join(hashlib.md5(part).digest() for part in parts)
    return f'"{hashlib.md5(joined).hexdigest()}-{len(parts)}"'


def raw_request(
    server: S3Server, head: str, *body: bytes, receive_buffer: int | None = None
) -> socket.socket:
    """A connection that sent `head` (the request line and headers, lines ending in `\\n`) and
    `body`, as no HTTP client would let a test; `receive_buffer` shrinks its receive buffer."""
    host, port = server.url.removeprefix("http://").split(":")
    connection = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    connection.settimeout(10)
    if receive_buffer is not None:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    connection.connect((host, int(port)))
    connection.sendall(head.replace("\n", "\r\n").encode() + b"\r\n")
    for part in body:
        connection.sendall(part)
    return connection


def response_of(connection: socket.socket) -> tuple[int, bytes]:
    """The status and body of the answer on `connection`, read until the server closes it."""
    status, _, body = answer_of(connection)
    return status, body


def answer_of(connection: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """The status, headers (lower-cased names) and body of the answer on `connection`, read
    until the server closes it (a timeout if it never does)."""
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    status_line, _, rest = received.partition(b"\r\n")
    head, _, body = rest.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body

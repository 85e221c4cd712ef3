"""PutObject bodies over the wire: streamed to disk, aws-chunked decoded, every digest checked."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import time
import zlib
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import boto3
import botocore.config
import httpx
import pytest
from botocore.httpchecksum import AwsChunkedWrapper, BaseChecksum, Crc32Checksum, Sha512Checksum
from s3_server import (
    MIB,
    S3Server,
    answer_of,
    content_of,
    error_xml,
    files_under,
    raw_request,
    response_of,
)
from starlette.requests import Request
from starlette.types import Message

import redstep.api.s3_payload as s3_payload
from redstep.api.s3_chunked import AwsChunkedDecoder, decode_aws_chunked
from redstep.api.s3_payload import store_payload
from redstep.api.s3_xml import S3Refusal
from redstep.buckets import Buckets, NoSuchKey

# -- PutObject bodies and digests ----------------------------------------------------------------


def test_a_plain_botocore_put_carries_a_crc32_that_is_checked(
    s3: Any, store: Buckets, http: httpx.Client
) -> None:
    put = s3.put_object(Bucket="data", Key="plain.csv", Body=b"a,b\n")
    assert (
        put["ChecksumCRC32"] == base64.b64encode(zlib.crc32(b"a,b\n").to_bytes(4, "big")).decode()
    )
    wrong = http.put(
        "/data/plain.csv",
        content=b"a,b\n",
        headers={"x-amz-checksum-crc32": base64.b64encode(b"\0\0\0\0").decode()},
    )
    assert wrong.status_code == 400
    assert error_xml(wrong)["Code"] == "BadDigest"
    assert error_xml(wrong)["Message"] == (
        "The CRC32 you specified did not match the calculated checksum."
    )
    malformed = http.put("/data/plain.csv", content=b"x", headers={"x-amz-checksum-crc32": "???"})
    assert (malformed.status_code, error_xml(malformed)["Code"]) == (400, "InvalidRequest")
    crc32 = base64.b64encode(zlib.crc32(b"x").to_bytes(4, "big")).decode()
    sha1 = base64.b64encode(hashlib.sha1(b"x").digest()).decode()
    two = http.put(
        "/data/plain.csv",
        content=b"x",
        headers={"x-amz-checksum-crc32": crc32, "x-amz-checksum-sha1": sha1},
    )
    assert (two.status_code, error_xml(two)["Code"]) == (400, "InvalidRequest")
    unrelated = http.put("/data/plain.csv", content=b"x", headers={"crc32": "not a checksum"})
    assert unrelated.status_code == 200


@pytest.mark.parametrize("algorithm", ["CRC32", "SHA1", "SHA256", "SHA512"])
def test_put_with_each_checksum_algorithm_botocore_computes(
    s3: Any, store: Buckets, algorithm: str
) -> None:
    put = s3.put_object(Bucket="data", Key="sum.bin", Body=b"checked", ChecksumAlgorithm=algorithm)
    assert put[f"Checksum{algorithm}"]
    assert content_of(store, "data", "sum.bin") == b"checked"


@pytest.mark.parametrize(
    ("header", "size"),
    [("crc32c", 4), ("crc64nvme", 8), ("xxhash64", 8), ("xxhash3", 8), ("xxhash128", 16)],
)
def test_checksums_without_a_stdlib_digest_are_accepted_unverified(
    http: httpx.Client, store: Buckets, header: str, size: int
) -> None:
    value = base64.b64encode(bytes(size)).decode()
    response = http.put("/data/c.bin", content=b"x", headers={f"x-amz-checksum-{header}": value})
    assert response.status_code == 200
    assert response.headers[f"x-amz-checksum-{header}"] == value
    short = http.put("/data/c.bin", content=b"x", headers={f"x-amz-checksum-{header}": "AAA="})
    assert (short.status_code, error_xml(short)["Code"]) == (400, "InvalidRequest")


@pytest.mark.parametrize(
    ("header", "label", "digest"),
    [("sha512", "SHA512", hashlib.sha512), ("md5", "MD5", hashlib.md5)],
)
def test_sha512_and_md5_checksums_are_checked_and_echoed(
    http: httpx.Client,
    store: Buckets,
    header: str,
    label: str,
    digest: Callable[[bytes], Any],
) -> None:
    value = base64.b64encode(digest(b"checked").digest()).decode()
    good = http.put("/data/s.bin", content=b"checked", headers={f"x-amz-checksum-{header}": value})
    assert good.status_code == 200
    assert good.headers[f"x-amz-checksum-{header}"] == value
    wrong = http.put(
        "/data/s.bin", content=b"tampered", headers={f"x-amz-checksum-{header}": value}
    )
    assert (wrong.status_code, error_xml(wrong)["Code"]) == (400, "BadDigest")
    assert error_xml(wrong)["Message"] == (
        f"The {label} you specified did not match the calculated checksum."
    )
    assert content_of(store, "data", "s.bin") == b"checked"


def test_a_sha512_trailer_is_checked(http: httpx.Client, store: Buckets) -> None:
    body = os.urandom(50_000)
    encoded = aws_chunked(body, checksum=Sha512Checksum, name="x-amz-checksum-sha512")
    headers = chunked_headers(body, **{"x-amz-trailer": "x-amz-checksum-sha512"})
    response = http.put("/data/t.bin", content=encoded, headers=headers)
    assert response.status_code == 200
    assert response.headers["x-amz-checksum-sha512"] == (
        base64.b64encode(hashlib.sha512(body).digest()).decode()
    )
    tampered = encoded.replace(body[:100], bytes(100))
    response = http.put("/data/t.bin", content=tampered, headers=headers)
    assert (response.status_code, error_xml(response)["Code"]) == (400, "BadDigest")
    assert content_of(store, "data", "t.bin") == body


def test_a_checksum_s3_does_not_know_is_refused_not_ignored(
    http: httpx.Client, store: Buckets, folders: dict[str, Path]
) -> None:
    unknown = http.put("/data/new/k", content=b"x", headers={"x-amz-checksum-sha3": "AAAA"})
    assert (unknown.status_code, error_xml(unknown)["Code"]) == (400, "InvalidRequest")
    assert error_xml(unknown)["Message"] == (
        "The algorithm type you specified in x-amz-checksum- header is invalid."
    )
    encoded = b"1\r\nx\r\n0\r\nx-amz-checksum-sha3:AAAA\r\n\r\n"
    headers = chunked_headers(b"x", **{"x-amz-trailer": "x-amz-checksum-sha3"})
    trailer = http.put("/data/new/k", content=encoded, headers=headers)
    assert (trailer.status_code, error_xml(trailer)["Code"]) == (400, "InvalidRequest")
    assert error_xml(trailer)["Message"] == (
        "The value specified in the x-amz-trailer header is not supported"
    )
    assert not folders["data"].exists()
    # Headers that name no algorithm state no checksum: nothing to refuse.
    typed = http.put("/data/new/k", content=b"x", headers={"x-amz-checksum-type": "FULL_OBJECT"})
    assert typed.status_code == 200


def test_content_md5_is_checked(s3: Any, store: Buckets, http: httpx.Client) -> None:
    body = b"select 1;"
    good = base64.b64encode(hashlib.md5(body).digest()).decode()
    s3.put_object(Bucket="data", Key="q.sql", Body=body, ContentMD5=good)
    bad = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    response = http.put("/data/q.sql", content=body, headers={"Content-MD5": bad})
    assert (response.status_code, error_xml(response)["Code"]) == (400, "BadDigest")
    response = http.put("/data/q.sql", content=body, headers={"Content-MD5": "short"})
    assert (response.status_code, error_xml(response)["Code"]) == (400, "InvalidDigest")
    assert content_of(store, "data", "q.sql") == body


def test_a_signed_payload_hash_is_checked(http: httpx.Client, store: Buckets) -> None:
    response = http.put(
        "/data/x",
        content=b"body",
        headers={"x-amz-content-sha256": hashlib.sha256(b"b").hexdigest()},
    )
    assert response.status_code == 400
    assert error_xml(response)["Code"] == "XAmzContentSHA256Mismatch"
    with pytest.raises(NoSuchKey):
        store.head("data", "x")


def test_botocore_aws_chunked_upload_with_a_trailing_checksum(
    server: S3Server, store: Buckets
) -> None:
    """What botocore sends over HTTPS: aws-chunked content, its CRC32 in a trailer."""
    client = boto3.client(
        "s3",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=botocore.config.Config(s3={"addressing_style": "path"}),
    )
    sent: list[dict[str, str]] = []

    def checksum_in_trailer(params: dict[str, Any], **kwargs: Any) -> None:
        # botocore picks the trailer only for https; the wire format is the same over http.
        params["context"]["checksum"]["request_algorithm"]["in"] = "trailer"

    def record(request: Any, **kwargs: Any) -> None:
        sent.append(
            {
                name: value.decode() if isinstance(value, bytes) else value
                for name, value in request.headers.items()
            }
        )

    client.meta.events.register("before-call.s3.PutObject", checksum_in_trailer)
    client.meta.events.register("before-send.s3.PutObject", record)
    body = os.urandom(200_000)
    put = client.put_object(Bucket="data", Key="chunked.bin", Body=body)
    assert sent[0]["X-Amz-Content-SHA256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert sent[0]["Content-Encoding"] == "aws-chunked"
    assert sent[0]["X-Amz-Trailer"] == "x-amz-checksum-crc32"
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert content_of(store, "data", "chunked.bin") == body


def aws_chunked(
    body: bytes,
    *,
    chunk_size: int = 64 * 1024,
    checksum: type[BaseChecksum] = Crc32Checksum,
    name: str = "x-amz-checksum-crc32",
) -> bytes:
    wrapper = AwsChunkedWrapper(
        io.BytesIO(body), checksum_cls=checksum, checksum_name=name, chunk_size=chunk_size
    )
    return bytes(wrapper.read())


def chunked_headers(body: bytes, **extra: str) -> dict[str, str]:
    return {
        "Content-Encoding": "aws-chunked",
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "x-amz-decoded-content-length": str(len(body)),
        "x-amz-trailer": "x-amz-checksum-crc32",
        **extra,
    }


def test_aws_chunked_with_a_wrong_trailer_is_bad_digest(http: httpx.Client, store: Buckets) -> None:
    body = b"x" * 100_000
    encoded = aws_chunked(body, chunk_size=8192)
    assert decode_aws_chunked(encoded)[0] == body
    good_checksum = base64.b64encode(zlib.crc32(body).to_bytes(4, "big"))
    tampered = encoded.replace(good_checksum, base64.b64encode(b"\1\2\3\4"))
    response = http.put("/data/t.bin", content=tampered, headers=chunked_headers(body))
    assert (response.status_code, error_xml(response)["Code"]) == (400, "BadDigest")
    response = http.put("/data/t.bin", content=encoded, headers=chunked_headers(body))
    assert response.status_code == 200
    assert content_of(store, "data", "t.bin") == body


def test_aws_chunked_with_chunk_signatures(http: httpx.Client, store: Buckets) -> None:
    signature = "0" * 64
    encoded = (
        f"5;chunk-signature={signature}\r\n".encode()
        + b"hello\r\n"
        + f"6;chunk-signature={signature}\r\n".encode()
        + b" world\r\n"
        + f"0;chunk-signature={signature}\r\n\r\n".encode()
    )
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "x-amz-decoded-content-length": "11",
    }
    response = http.put("/data/signed.txt", content=encoded, headers=headers)
    assert response.status_code == 200
    assert content_of(store, "data", "signed.txt") == b"hello world"


@pytest.mark.parametrize(
    ("encoded", "decoded_length", "code"),
    [
        (b"5\r\nhel", "5", "IncompleteBody"),
        (b"zz\r\nhello\r\n0\r\n\r\n", "5", "InvalidRequest"),
        (b"3\r\nhello\r\n0\r\n\r\n", "5", "InvalidRequest"),
        (b"5\r\nhello\r\n0\r\n\r\n", "9", "IncompleteBody"),
        (b"5\r\nhello\r\n0\r\n\r\n", "", "MissingContentLength"),
        (b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32\r\n\r\n", "5", "InvalidRequest"),
        (b"1\r\nA\r\n-6\r\n0\r\n\r\n", "1", "InvalidRequest"),  # walked back forever once
        (b"0x1\r\nA\r\n0\r\n\r\n", "1", "InvalidRequest"),
        (b"1_0\r\n" + b"A" * 16 + b"\r\n0\r\n\r\n", "16", "InvalidRequest"),
    ],
)
def test_malformed_aws_chunked_bodies_are_refused(
    http: httpx.Client, store: Buckets, encoded: bytes, decoded_length: str, code: str
) -> None:
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    }
    if decoded_length:
        headers["x-amz-decoded-content-length"] = decoded_length
    response = http.put("/data/bad.bin", content=encoded, headers=headers)
    assert response.status_code in (400, 411)
    assert error_xml(response)["Code"] == code


def test_a_length_with_more_digits_than_any_s3_takes_is_entity_too_large(
    http: httpx.Client, store: Buckets
) -> None:
    nines = "9" * 5000  # past what Python's int() takes from a string at all
    headers = chunked_headers(b"hello", **{"x-amz-decoded-content-length": nines})
    response = http.put("/data/huge", content=b"5\r\nhello\r\n0\r\n\r\n", headers=headers)
    assert (response.status_code, error_xml(response)["Code"]) == (400, "EntityTooLarge")
    leading_zeros = chunked_headers(b"hello", **{"x-amz-decoded-content-length": "0" * 30 + "5"})
    del leading_zeros["x-amz-trailer"]
    response = http.put("/data/k", content=b"5\r\nhello\r\n0\r\n\r\n", headers=leading_zeros)
    assert response.status_code == 200


def test_a_declared_trailer_must_be_sent(http: httpx.Client, store: Buckets) -> None:
    encoded = b"5\r\nhello\r\n0\r\n\r\n"
    response = http.put("/data/t", content=encoded, headers=chunked_headers(b"hello"))
    assert (response.status_code, error_xml(response)["Code"]) == (400, "InvalidRequest")


def test_a_put_without_content_length_is_refused(http: httpx.Client, store: Buckets) -> None:
    response = http.put("/data/streamed", content=iter([b"no ", b"length"]))
    assert response.status_code == 411
    assert error_xml(response)["Code"] == "MissingContentLength"


def test_a_checksum_trailer_that_was_not_declared_is_refused(
    http: httpx.Client, store: Buckets
) -> None:
    sha1 = base64.b64encode(hashlib.sha1(b"hello").digest())
    encoded = b"5\r\nhello\r\n0\r\nx-amz-checksum-sha1:" + sha1 + b"\r\n\r\n"
    headers = chunked_headers(b"hello")
    del headers["x-amz-trailer"]
    response = http.put("/data/t", content=encoded, headers=headers)
    assert (response.status_code, error_xml(response)["Code"]) == (400, "InvalidRequest")
    assert files_under(store.folder("data")) == []


# -- bodies stream to the disk -------------------------------------------------------------------


def test_a_body_past_its_declared_length_is_refused_as_it_arrives(
    server: S3Server, store: Buckets, folders: dict[str, Path]
) -> None:
    # HTTP-chunked framing wins over the Content-Length: only the check as bytes arrive holds
    # the body to 5 bytes. The last chunk is never sent: the answer comes without it.
    with raw_request(
        server,
        "PUT /data/over.bin HTTP/1.1\nHost: s3\nContent-Length: 5\nTransfer-Encoding: chunked\n",
        b"a\r\n0123456789\r\n",
    ) as connection:
        status, body = response_of(connection)
    assert status == 400
    assert b"<Code>IncompleteBody</Code>" in body
    assert files_under(folders["data"]) == []


def test_a_put_over_the_size_limit_is_refused_by_its_header_and_as_it_arrives(
    http: httpx.Client,
    server: S3Server,
    store: Buckets,
    folders: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("redstep.api.s3.MAX_PUT_BYTES", 1000)
    response = http.put("/data/big", content=b"x" * 1001)
    error = error_xml(response)
    assert (response.status_code, error["Code"]) == (400, "EntityTooLarge")
    assert (error["ProposedSize"], error["MaxSizeAllowed"]) == ("1001", "1000")
    # aws-chunked over HTTP-chunked has no Content-Length: its decoded length is the bound.
    encoded = b"".join(f"{len(b'x' * 400):x}\r\n".encode() + b"x" * 400 + b"\r\n" for _ in range(3))
    with raw_request(
        server,
        "PUT /data/big HTTP/1.1\nHost: s3\nTransfer-Encoding: chunked\n"
        "Content-Encoding: aws-chunked\nx-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER\n"
        "x-amz-decoded-content-length: 1000\n",
        f"{len(encoded):x}\r\n".encode() + encoded + b"\r\n0\r\n\r\n",
    ) as connection:
        status, body = response_of(connection)
    assert (status, b"<Code>IncompleteBody</Code>" in body) == (400, True)
    assert files_under(folders["data"]) == []


@pytest.mark.parametrize(
    "header",
    [
        {"x-amz-checksum-crc32": "???"},  # refused by the headers, before the body is read
        {"Content-MD5": "short"},
        {"x-amz-checksum-sha3": "AAAA"},
        {"x-amz-checksum-crc32": base64.b64encode(b"\0\0\0\0").decode()},  # by the body
        {"x-amz-content-sha256": hashlib.sha256(b"other").hexdigest()},
    ],
)
def test_a_refused_put_leaves_no_folder_behind(
    http: httpx.Client, store: Buckets, folders: dict[str, Path], header: dict[str, str]
) -> None:
    store.put("data", "kept", b"so that the bucket's folder exists")
    response = http.put("/data/new/deeper/k.bin", content=os.urandom(2 * MIB), headers=header)
    assert response.status_code == 400
    assert sorted(path.name for path in folders["data"].iterdir()) == ["kept"]


@pytest.mark.parametrize(
    "header",
    [
        {"x-amz-checksum-crc32": base64.b64encode(b"\0\0\0\0").decode()},
        {"Content-MD5": base64.b64encode(hashlib.md5(b"other").digest()).decode()},
        {"x-amz-content-sha256": hashlib.sha256(b"other").hexdigest()},
    ],
)
def test_a_refused_body_leaves_no_object_and_no_temporary_file(
    http: httpx.Client, store: Buckets, folders: dict[str, Path], header: dict[str, str]
) -> None:
    store.put("data", "k.bin", b"the old object")
    response = http.put("/data/k.bin", content=os.urandom(3 * MIB), headers=header)
    assert response.status_code == 400
    assert error_xml(response)["Code"] in ("BadDigest", "XAmzContentSHA256Mismatch")
    assert files_under(folders["data"]) == ["k.bin"]
    assert content_of(store, "data", "k.bin") == b"the old object"


def test_a_client_gone_midway_leaves_no_temporary_file(
    server: S3Server, store: Buckets, folders: dict[str, Path]
) -> None:
    head = f"PUT /data/gone.bin HTTP/1.1\nHost: s3\nContent-Length: {10 * MIB}\n"
    with raw_request(server, head, b"x" * (2 * MIB)):
        deadline = time.monotonic() + 10
        while not files_under(folders["data"]):  # the body is on its way to the disk
            assert time.monotonic() < deadline, "no temporary file appeared"
            time.sleep(0.02)
    deadline = time.monotonic() + 10
    while files_under(folders["data"]):
        assert time.monotonic() < deadline, "the temporary file was left behind"
        time.sleep(0.02)
    with pytest.raises(NoSuchKey):
        store.head("data", "gone.bin")


@pytest.mark.parametrize("sent", [10, 2 * MIB])
def test_a_body_that_stops_coming_is_timed_out_and_leaves_nothing(
    server: S3Server,
    store: Buckets,
    folders: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    sent: int,
) -> None:
    """10 bytes stay in memory; 2 MiB have reached a temporary file: either way, when the rest
    does not come within the deadline, the answer is S3's, and nothing is left."""
    monkeypatch.setattr(s3_payload, "READ_TIMEOUT", 0.3)
    head = f"PUT /data/stalled/deep.bin HTTP/1.1\nHost: s3\nContent-Length: {sent + 1000}\n"
    with raw_request(server, head, b"x" * sent) as connection:
        status, headers, body = answer_of(connection)  # until the server closes the connection
    assert status == 400
    assert headers["connection"] == "close"
    assert b"<Code>RequestTimeout</Code>" in body
    assert (
        b"<Message>Your socket connection to the server was not read from or written to within "
        b"the timeout period. Idle connections will be closed.</Message>"
    ) in body
    assert not folders["data"].exists() or files_under(folders["data"]) == []
    assert not (folders["data"] / "stalled").exists()


def test_each_wait_for_more_of_a_body_has_a_deadline(store: Buckets) -> None:
    received: list[Message] = []

    async def receive() -> Message:
        if not received:
            received.append({"type": "http.request", "body": b"x" * 10, "more_body": True})
            return received[0]
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    scope = {"type": "http", "method": "PUT", "path": "/data/k", "query_string": b""}
    request = Request({**scope, "headers": [(b"content-length", b"1000")]}, receive)
    put = partial(
        store_payload,
        request,
        partial(store.open_put, "data", "k"),
        max_bytes=MIB,
        read_timeout=0.01,
    )
    with pytest.raises(S3Refusal) as raised:
        anyio.run(put)
    assert (raised.value.code, raised.value.http_status) == ("RequestTimeout", 400)
    assert raised.value.headers == {"Connection": "close"}
    assert not store.folder("data").exists()


# -- aws-chunked, piece by piece -----------------------------------------------------------------


def test_aws_chunked_decodes_the_same_however_the_body_is_split() -> None:
    body = os.urandom(70_000)
    encoded = aws_chunked(body, chunk_size=8192)
    whole, trailers = decode_aws_chunked(encoded)
    assert whole == body
    assert list(trailers) == ["x-amz-checksum-crc32"]
    for size in (1, 2, 3, 7, 8193, 65536):
        decoder = AwsChunkedDecoder()
        pieces = [encoded[at : at + size] for at in range(0, len(encoded), size)]
        content = b"".join(part for piece in pieces for part in decoder.feed(piece))
        assert (content, decoder.finish()) == (body, trailers)


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        (b"5" * 5000, "a chunk-size line is too long"),
        (b"1\r\nA\r\n0\r\n" + b"x-amz-meta: y\r\n" * 2000, "the trailers are too long"),
        (b"1\nA\r\n0\r\n\r\n", "does not end with CRLF"),
    ],
)
def test_what_a_decoder_holds_is_bounded(encoded: bytes, message: str) -> None:
    decoder = AwsChunkedDecoder()

    def feed_in_pieces() -> None:
        for at in range(0, len(encoded), 1000):
            decoder.feed(encoded[at : at + 1000])

    with pytest.raises(S3Refusal, match=message) as raised:
        feed_in_pieces()
    assert raised.value.code == "InvalidRequest"

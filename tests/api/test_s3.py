"""The S3 endpoint, served by uvicorn and driven by boto3, httpx and the AWS CLI v1."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import boto3
import botocore.config
import httpx
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum
from live_server import live_server
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from redstep.api.s3 import NAMESPACE, s3_endpoint, s3_error
from redstep.api.s3_payload import decode_aws_chunked
from redstep.buckets import Buckets, NoSuchKey, ObjectInfo

NS = {"s3": NAMESPACE}
METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"]
ISO_MILLISECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
RFC_1123 = re.compile(r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT")


# -- the server ----------------------------------------------------------------------------------


@dataclass
class Endpoint:
    """The running server, and the store its requests go to (each test brings its own)."""

    url: str
    store: Buckets = field(default_factory=lambda: Buckets({}))


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Endpoint]:
    served = Endpoint(url="")

    async def answer(request: Request) -> Response:
        return await s3_endpoint(request, served.store)

    route = Route("/{path:path}", answer, methods=METHODS)
    # The same endpoint below a mount too: its paths are relative to where it is mounted.
    app = Starlette(routes=[Mount("/mounted", routes=[route]), route])
    with live_server(app) as url:
        served.url = url
        yield served


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    return {"data": tmp_path / "buckets" / "data", "other": tmp_path / "buckets" / "other"}


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    return tmp_path / "state" / "uploads"


@pytest.fixture
def store(endpoint: Endpoint, folders: dict[str, Path], staging: Path) -> Buckets:
    endpoint.store = Buckets(folders, staging=staging)
    return endpoint.store


def client_of(endpoint: Endpoint) -> Any:
    """A boto3 S3 client of the server, path-style, that does not retry."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint.url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=botocore.config.Config(
            s3={"addressing_style": "path"}, retries={"max_attempts": 1, "mode": "standard"}
        ),
    )


@pytest.fixture(scope="module")
def s3(endpoint: Endpoint) -> Any:
    return client_of(endpoint)


@pytest.fixture
def heard(store: Buckets) -> list[tuple[str, str]]:
    """The `(bucket, key)` of every object written, in order, as the store's subscribers hear."""
    told: list[tuple[str, str]] = []
    store.subscribe(lambda bucket, info, reason: told.append((bucket, info.key)))
    return told


@pytest.fixture
def http(endpoint: Endpoint) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=endpoint.url) as client:
        yield client


def error_code(raised: pytest.ExceptionInfo[ClientError]) -> str:
    return str(raised.value.response["Error"]["Code"])


def http_status(raised: pytest.ExceptionInfo[ClientError]) -> int:
    return int(raised.value.response["ResponseMetadata"]["HTTPStatusCode"])


def error_xml(response: httpx.Response) -> dict[str, str]:
    root = ElementTree.fromstring(response.content)
    assert root.tag == "Error"
    return {child.tag: child.text or "" for child in root}


# -- objects -------------------------------------------------------------------------------------


def test_put_get_head_delete(s3: Any, store: Buckets, folders: dict[str, Path]) -> None:
    body = b"id,name\n1,alice\n2,bob\n"
    put = s3.put_object(Bucket="data", Key="in/2024/customers.csv", Body=body)
    etag = f'"{hashlib.md5(body).hexdigest()}"'
    assert put["ETag"] == etag
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert (folders["data"] / "in" / "2024" / "customers.csv").read_bytes() == body

    got = s3.get_object(Bucket="data", Key="in/2024/customers.csv")
    assert got["Body"].read() == body
    assert got["ETag"] == etag
    assert got["ContentLength"] == len(body)
    assert got["ContentType"] == "text/csv"
    assert got["AcceptRanges"] == "bytes"
    assert got["LastModified"] == store.head("data", "in/2024/customers.csv").last_modified
    headers = got["ResponseMetadata"]["HTTPHeaders"]
    assert RFC_1123.fullmatch(headers["last-modified"])
    assert re.fullmatch(r"[0-9A-F]{16}", headers["x-amz-request-id"])

    head = s3.head_object(Bucket="data", Key="in/2024/customers.csv")
    assert (head["ETag"], head["ContentLength"]) == (etag, len(body))

    deleted = s3.delete_object(Bucket="data", Key="in/2024/customers.csv")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert not (folders["data"] / "in").exists()
    # Deleting again succeeds, as S3's DeleteObject does.
    s3.delete_object(Bucket="data", Key="in/2024/customers.csv")


def test_keys_with_characters_urls_escape_round_trip(s3: Any, store: Buckets) -> None:
    key = "dir/a b+c%d?e#f&g=é~'(1).csv"
    s3.put_object(Bucket="data", Key=key, Body=b"odd")
    assert s3.get_object(Bucket="data", Key=key)["Body"].read() == b"odd"
    assert [item["Key"] for item in s3.list_objects_v2(Bucket="data")["Contents"]] == [key]
    assert store.get("data", key)[1] == b"odd"


def test_an_empty_object(s3: Any, store: Buckets) -> None:
    s3.put_object(Bucket="data", Key="marker/_SUCCESS", Body=b"")
    got = s3.get_object(Bucket="data", Key="marker/_SUCCESS")
    assert (got["ContentLength"], got["Body"].read()) == (0, b"")
    assert got["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket="data", Key="marker/_SUCCESS", Range="bytes=0-")
    assert (error_code(raised), http_status(raised)) == ("InvalidRange", 416)


def test_get_of_a_missing_key_is_no_such_key(s3: Any, store: Buckets) -> None:
    with pytest.raises(s3.exceptions.NoSuchKey) as raised:
        s3.get_object(Bucket="data", Key="missing.csv")
    assert raised.value.response["Error"]["Message"] == "The specified key does not exist."
    assert raised.value.response["Error"]["Key"] == "missing.csv"
    assert http_status(raised) == 404


def test_a_missing_bucket_is_no_such_bucket(s3: Any, store: Buckets) -> None:
    calls: list[Callable[[], object]] = [
        lambda: s3.get_object(Bucket="nope", Key="k"),
        lambda: s3.put_object(Bucket="nope", Key="k", Body=b"x" * 10_000),
        lambda: s3.delete_object(Bucket="nope", Key="k"),
        lambda: s3.list_objects_v2(Bucket="nope"),
        lambda: s3.list_objects(Bucket="nope"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as raised:
            call()
        assert error_code(raised) == "NoSuchBucket"
        assert raised.value.response["Error"]["BucketName"] == "nope"
        assert http_status(raised) == 404
    s3.put_object(Bucket="data", Key="after", Body=b"the connection still works")


def test_head_of_a_missing_object_or_bucket_is_404_without_a_body(
    s3: Any, store: Buckets, http: httpx.Client
) -> None:
    with pytest.raises(ClientError) as raised:
        s3.head_object(Bucket="data", Key="missing")
    assert (error_code(raised), http_status(raised)) == ("404", 404)
    with pytest.raises(ClientError) as raised:
        s3.head_bucket(Bucket="nope")
    assert http_status(raised) == 404
    assert s3.head_bucket(Bucket="data")["ResponseMetadata"]["HTTPStatusCode"] == 200
    response = http.head("/data/missing")
    assert response.status_code == 404
    assert response.content == b""
    assert "x-amz-request-id" in response.headers


def test_errors_are_s3_error_documents(http: httpx.Client, store: Buckets) -> None:
    response = http.get("/data/missing/file.csv")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/xml"
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    error = error_xml(response)
    assert error == {
        "Code": "NoSuchKey",
        "Message": "The specified key does not exist.",
        "Key": "missing/file.csv",
        "Resource": "/data/missing/file.csv",
        "RequestId": response.headers["x-amz-request-id"],
    }


def test_the_endpoint_answers_below_a_mount(http: httpx.Client, store: Buckets) -> None:
    store.put("data", "k.txt", b"mounted")
    assert http.get("/mounted/data/k.txt").content == b"mounted"
    assert error_xml(http.get("/mounted/data/none"))["Resource"] == "/data/none"


def test_s3_error_answers_for_other_layers() -> None:
    response = s3_error(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match <the one> you provided",
        403,
        resource="/data/a&b",
        request_id="ABCDEF0123456789",
    )
    assert response.status_code == 403
    assert response.headers["x-amz-request-id"] == "ABCDEF0123456789"
    root = ElementTree.fromstring(bytes(response.body))
    assert [child.tag for child in root] == ["Code", "Message", "Resource", "RequestId"]
    assert root.findtext("Message") == (
        "The request signature we calculated does not match <the one> you provided"
    )
    assert root.findtext("Resource") == "/data/a&b"
    bodiless = s3_error("NoSuchKey", "x", 404, resource="/", request_id="1", include_body=False)
    assert bytes(bodiless.body) == b""


def test_put_object_tells_subscribers_once(s3: Any, store: Buckets) -> None:
    heard: list[tuple[str, ObjectInfo]] = []
    store.subscribe(lambda bucket, info, reason: heard.append((bucket, info)))
    s3.put_object(Bucket="data", Key="landing/orders.csv", Body=b"1,2\n", ContentType="text/csv")
    assert [(bucket, info.key, info.size) for bucket, info in heard] == [
        ("data", "landing/orders.csv", 4)
    ]
    assert heard[0][1].content_type == "text/csv"


# -- listings ------------------------------------------------------------------------------------

KEYS = ["a-c", "a/b/c.csv", "a/b/d.csv", "a/e", "b", "photos/2024/1.jpg", "z", "ü b+c"]


@pytest.fixture
def listed(s3: Any, store: Buckets) -> Buckets:
    for key in KEYS:
        store.put("data", key, key.encode())
    return store


def test_list_buckets(s3: Any, store: Buckets, http: httpx.Client) -> None:
    answer = s3.list_buckets()
    assert [bucket["Name"] for bucket in answer["Buckets"]] == ["data", "other"]
    assert answer["Owner"]["ID"]
    root = ElementTree.fromstring(http.get("/").content)
    assert root.tag == f"{{{NAMESPACE}}}ListAllMyBucketsResult"
    dates = [element.text or "" for element in root.iterfind(".//s3:CreationDate", NS)]
    assert len(dates) == 2
    assert all(ISO_MILLISECONDS.fullmatch(date) for date in dates)


def test_list_objects_v2_pages_with_the_paginator(s3: Any, listed: Buckets) -> None:
    pages = list(
        s3.get_paginator("list_objects_v2").paginate(
            Bucket="data", Delimiter="/", PaginationConfig={"PageSize": 2}
        )
    )
    assert len(pages) == 3
    entries = [
        [item["Key"] for item in page.get("Contents", [])]
        + [prefix["Prefix"] for prefix in page.get("CommonPrefixes", [])]
        for page in pages
    ]
    assert entries == [["a-c", "a/"], ["b", "photos/"], ["z", "ü b+c"]]
    assert [page["KeyCount"] for page in pages] == [2, 2, 2]
    assert [page["IsTruncated"] for page in pages] == [True, True, False]
    assert pages[0]["NextContinuationToken"] == pages[1]["ContinuationToken"]
    everything = s3.list_objects_v2(Bucket="data")
    assert [item["Key"] for item in everything["Contents"]] == sorted(KEYS)
    item = everything["Contents"][0]
    assert item["ETag"] == f'"{hashlib.md5(b"a-c").hexdigest()}"'
    assert (item["Size"], item["StorageClass"]) == (3, "STANDARD")
    assert "Owner" not in item
    assert "Owner" in s3.list_objects_v2(Bucket="data", FetchOwner=True)["Contents"][0]


def test_list_objects_v2_prefix_and_start_after(s3: Any, listed: Buckets) -> None:
    under_a = s3.list_objects_v2(Bucket="data", Prefix="a/", Delimiter="/")
    assert [item["Key"] for item in under_a["Contents"]] == ["a/e"]
    assert under_a["CommonPrefixes"] == [{"Prefix": "a/b/"}]
    assert (under_a["Prefix"], under_a["Delimiter"]) == ("a/", "/")
    after = s3.list_objects_v2(Bucket="data", StartAfter="b")
    assert [item["Key"] for item in after["Contents"]] == ["photos/2024/1.jpg", "z", "ü b+c"]
    assert after["StartAfter"] == "b"
    empty = s3.list_objects_v2(Bucket="other")
    assert (empty["KeyCount"], "Contents" in empty) == (0, False)


def test_list_objects_v2_answers_s3_xml(http: httpx.Client, listed: Buckets) -> None:
    response = http.get(
        "/data", params={"list-type": "2", "max-keys": "1", "prefix": "a", "delimiter": "/"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml"
    root = ElementTree.fromstring(response.content)
    assert root.tag == f"{{{NAMESPACE}}}ListBucketResult"
    fields = {child.tag.removeprefix(f"{{{NAMESPACE}}}"): child for child in root}
    assert fields["Name"].text == "data"
    assert fields["Prefix"].text == "a"
    assert fields["KeyCount"].text == "1"
    assert fields["MaxKeys"].text == "1"
    assert fields["Delimiter"].text == "/"
    assert fields["IsTruncated"].text == "true"
    assert fields["NextContinuationToken"].text
    assert "EncodingType" not in fields
    contents = fields["Contents"]
    assert contents.findtext("s3:Key", namespaces=NS) == "a-c"
    assert ISO_MILLISECONDS.fullmatch(contents.findtext("s3:LastModified", "", NS))
    assert contents.findtext("s3:StorageClass", namespaces=NS) == "STANDARD"

    encoded = http.get("/data", params={"list-type": "2", "encoding-type": "url", "prefix": "ü"})
    root = ElementTree.fromstring(encoded.content)
    assert root.findtext("s3:EncodingType", namespaces=NS) == "url"
    assert root.findtext("s3:Prefix", namespaces=NS) == "%C3%BC"
    assert root.findtext("s3:Contents/s3:Key", namespaces=NS) == "%C3%BC%20b%2Bc"


@pytest.mark.parametrize(
    ("params", "argument"),
    [
        ({"list-type": "2", "max-keys": "many"}, "max-keys"),
        ({"list-type": "2", "max-keys": "-1"}, "max-keys"),
        ({"list-type": "2", "continuation-token": "forged"}, "continuation-token"),
        ({"list-type": "2", "encoding-type": "base64"}, "encoding-type"),
        ({"list-type": "3"}, "list-type"),
    ],
)
def test_list_arguments_s3_refuses(
    http: httpx.Client, listed: Buckets, params: dict[str, str], argument: str
) -> None:
    response = http.get("/data", params=params)
    assert response.status_code == 400
    error = error_xml(response)
    assert (error["Code"], error["ArgumentName"]) == ("InvalidArgument", argument)


def test_list_objects_v1_pages_with_markers(s3: Any, listed: Buckets) -> None:
    pages = list(
        s3.get_paginator("list_objects").paginate(
            Bucket="data", Delimiter="/", PaginationConfig={"PageSize": 4}
        )
    )
    assert [page["IsTruncated"] for page in pages] == [True, False]
    assert pages[0]["NextMarker"] == "photos/"
    assert pages[1]["Marker"] == "photos/"
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    assert keys == ["a-c", "b", "z", "ü b+c"]
    assert "Owner" in pages[0]["Contents"][0]
    flat = s3.list_objects(Bucket="data", MaxKeys=3)
    assert [item["Key"] for item in flat["Contents"]] == sorted(KEYS)[:3]
    assert flat["IsTruncated"]
    assert "NextMarker" not in flat  # S3 gives NextMarker only with a delimiter


# -- ranges and conditions -----------------------------------------------------------------------


@pytest.fixture
def digits(s3: Any, store: Buckets) -> bytes:
    body = b"0123456789"
    s3.put_object(Bucket="data", Key="digits.txt", Body=body)
    return body


@pytest.mark.parametrize(
    ("header", "expected", "content_range"),
    [
        ("bytes=2-5", b"2345", "bytes 2-5/10"),
        ("bytes=7-", b"789", "bytes 7-9/10"),
        ("bytes=-3", b"789", "bytes 7-9/10"),
        ("bytes=8-100", b"89", "bytes 8-9/10"),
        ("bytes=-100", b"0123456789", "bytes 0-9/10"),
        ("bytes=0-0", b"0", "bytes 0-0/10"),
    ],
)
def test_ranged_get(
    s3: Any, digits: bytes, header: str, expected: bytes, content_range: str
) -> None:
    got = s3.get_object(Bucket="data", Key="digits.txt", Range=header)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["Body"].read() == expected
    assert got["ContentRange"] == content_range
    assert got["ContentLength"] == len(expected)


@pytest.mark.parametrize("header", ["bytes=5-2", "bytes=0-1,4-5", "items=0-1", "bytes=x-3"])
def test_ranges_s3_ignores_answer_the_whole_object(s3: Any, digits: bytes, header: str) -> None:
    got = s3.get_object(Bucket="data", Key="digits.txt", Range=header)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert got["Body"].read() == digits


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=99-100", "bytes=-0"])
def test_an_unsatisfiable_range_is_invalid_range(
    s3: Any, digits: bytes, http: httpx.Client, header: str
) -> None:
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket="data", Key="digits.txt", Range=header)
    assert (error_code(raised), http_status(raised)) == ("InvalidRange", 416)
    response = http.get("/data/digits.txt", headers={"Range": header})
    assert response.headers["content-range"] == "bytes */10"
    error = error_xml(response)
    assert (error["RangeRequested"], error["ActualObjectSize"]) == (header, "10")


def test_head_with_a_range(http: httpx.Client, digits: bytes) -> None:
    response = http.head("/data/digits.txt", headers={"Range": "bytes=1-3"})
    assert response.status_code == 206
    assert response.headers["content-length"] == "3"
    assert response.headers["content-range"] == "bytes 1-3/10"


def test_conditional_gets(s3: Any, digits: bytes) -> None:
    etag = s3.head_object(Bucket="data", Key="digits.txt")["ETag"]
    modified = s3.head_object(Bucket="data", Key="digits.txt")["LastModified"]
    assert s3.get_object(Bucket="data", Key="digits.txt", IfMatch=etag)["Body"].read() == digits
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket="data", Key="digits.txt", IfNoneMatch=etag)
    assert http_status(raised) == 304
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket="data", Key="digits.txt", IfModifiedSince=modified)
    assert http_status(raised) == 304
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket="data", Key="digits.txt", IfMatch='"0000"')
    assert (error_code(raised), http_status(raised)) == ("PreconditionFailed", 412)
    assert raised.value.response["Error"]["Condition"] == "If-Match"
    with pytest.raises(ClientError) as raised:
        s3.head_object(Bucket="data", Key="digits.txt", IfMatch='"0000"')
    assert http_status(raised) == 412
    # If-Match holding outranks a failing If-Unmodified-Since, as S3 documents.
    earlier = modified.replace(year=2000)
    s3.get_object(Bucket="data", Key="digits.txt", IfMatch=etag, IfUnmodifiedSince=earlier)
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket="data", Key="digits.txt", IfUnmodifiedSince=earlier)
    assert http_status(raised) == 412


def test_response_header_overrides(s3: Any, digits: bytes) -> None:
    got = s3.get_object(
        Bucket="data",
        Key="digits.txt",
        ResponseContentType="application/x-digits",
        ResponseContentDisposition='attachment; filename="d.txt"',
        ResponseCacheControl="no-cache",
    )
    assert got["ContentType"] == "application/x-digits"
    assert got["ContentDisposition"] == 'attachment; filename="d.txt"'
    assert got["CacheControl"] == "no-cache"


def test_get_with_checksum_mode_answers_a_crc32_botocore_checks(s3: Any, digits: bytes) -> None:
    got = s3.get_object(Bucket="data", Key="digits.txt", ChecksumMode="ENABLED")
    expected = base64.b64encode(zlib.crc32(digits).to_bytes(4, "big")).decode()
    assert got["ChecksumCRC32"] == expected
    assert got["Body"].read() == digits


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


@pytest.mark.parametrize("algorithm", ["CRC32", "SHA1", "SHA256"])
def test_put_with_each_checksum_algorithm_botocore_computes(
    s3: Any, store: Buckets, algorithm: str
) -> None:
    put = s3.put_object(Bucket="data", Key="sum.bin", Body=b"checked", ChecksumAlgorithm=algorithm)
    assert put[f"Checksum{algorithm}"]
    assert store.get("data", "sum.bin")[1] == b"checked"


@pytest.mark.parametrize(("header", "size"), [("crc32c", 4), ("crc64nvme", 8)])
def test_checksums_without_a_stdlib_digest_are_accepted_unverified(
    http: httpx.Client, store: Buckets, header: str, size: int
) -> None:
    value = base64.b64encode(bytes(size)).decode()
    response = http.put("/data/c.bin", content=b"x", headers={f"x-amz-checksum-{header}": value})
    assert response.status_code == 200
    assert response.headers[f"x-amz-checksum-{header}"] == value
    short = http.put("/data/c.bin", content=b"x", headers={f"x-amz-checksum-{header}": "AAA="})
    assert (short.status_code, error_xml(short)["Code"]) == (400, "InvalidRequest")


def test_content_md5_is_checked(s3: Any, store: Buckets, http: httpx.Client) -> None:
    body = b"select 1;"
    good = base64.b64encode(hashlib.md5(body).digest()).decode()
    s3.put_object(Bucket="data", Key="q.sql", Body=body, ContentMD5=good)
    bad = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    response = http.put("/data/q.sql", content=body, headers={"Content-MD5": bad})
    assert (response.status_code, error_xml(response)["Code"]) == (400, "BadDigest")
    response = http.put("/data/q.sql", content=body, headers={"Content-MD5": "short"})
    assert (response.status_code, error_xml(response)["Code"]) == (400, "InvalidDigest")
    assert store.get("data", "q.sql")[1] == body


def test_a_signed_payload_hash_is_checked(http: httpx.Client, store: Buckets) -> None:
    response = http.put(
        "/data/x",
        content=b"body",
        headers={"x-amz-content-sha256": hashlib.sha256(b"b").hexdigest()},
    )
    assert response.status_code == 400
    assert error_xml(response)["Code"] == "XAmzContentSHA256Mismatch"
    with pytest.raises(NoSuchKey):
        store.get("data", "x")


def test_botocore_aws_chunked_upload_with_a_trailing_checksum(
    endpoint: Endpoint, store: Buckets
) -> None:
    """What botocore sends over HTTPS: aws-chunked content, its CRC32 in a trailer."""
    client = boto3.client(
        "s3",
        endpoint_url=endpoint.url,
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
    assert store.get("data", "chunked.bin")[1] == body


def aws_chunked(body: bytes, *, chunk_size: int = 64 * 1024) -> bytes:
    wrapper = AwsChunkedWrapper(
        io.BytesIO(body),
        checksum_cls=Crc32Checksum,
        checksum_name="x-amz-checksum-crc32",
        chunk_size=chunk_size,
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
    assert store.get("data", "t.bin")[1] == body


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
    assert store.get("data", "signed.txt")[1] == b"hello world"


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


def test_a_declared_trailer_must_be_sent(http: httpx.Client, store: Buckets) -> None:
    encoded = b"5\r\nhello\r\n0\r\n\r\n"
    response = http.put("/data/t", content=encoded, headers=chunked_headers(b"hello"))
    assert (response.status_code, error_xml(response)["Code"]) == (400, "InvalidRequest")


def test_a_put_without_content_length_is_refused(http: httpx.Client, store: Buckets) -> None:
    response = http.put("/data/streamed", content=iter([b"no ", b"length"]))
    assert response.status_code == 411
    assert error_xml(response)["Code"] == "MissingContentLength"


# -- multipart uploads ---------------------------------------------------------------------------

MIB = 1024 * 1024


def s3_multipart_etag(*parts: bytes) -> str:
    """S3's multipart ETag, spelled out: the MD5 of the parts' binary MD5s, then the count."""
    joined = b"".join(hashlib.md5(part).digest() for part in parts)
    return f'"{hashlib.md5(joined).hexdigest()}-{len(parts)}"'


def test_upload_file_goes_in_parts_and_comes_back_in_ranges(
    endpoint: Endpoint, store: Buckets, heard: list[tuple[str, str]], staging: Path, tmp_path: Path
) -> None:
    client = client_of(endpoint)
    operations: list[str] = []
    client.meta.events.register(
        "before-call.s3", lambda model, **kwargs: operations.append(model.name)
    )
    content = os.urandom(12 * MIB)
    local = tmp_path / "big.csv"
    local.write_bytes(content)
    config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    client.upload_file(str(local), "data", "in/big.csv", Config=config)
    assert operations[0] == "CreateMultipartUpload"
    assert sorted(operations[1:4]) == ["UploadPart"] * 3
    assert operations[4:] == ["CompleteMultipartUpload"]
    head = client.head_object(Bucket="data", Key="in/big.csv")
    chunks = [content[: 5 * MIB], content[5 * MIB : 10 * MIB], content[10 * MIB :]]
    assert head["ETag"] == s3_multipart_etag(*chunks)
    assert head["ContentLength"] == len(content)
    assert store.get("data", "in/big.csv")[1] == content
    assert heard == [("data", "in/big.csv")]
    assert list(staging.iterdir()) == []

    operations.clear()
    back = tmp_path / "back.csv"
    client.download_file("data", "in/big.csv", str(back), Config=config)
    assert back.read_bytes() == content
    assert operations.count("GetObject") == 3  # ranged, each If-Match'ed on the multipart ETag


def test_a_multipart_upload_by_hand(
    s3: Any, endpoint: Endpoint, store: Buckets, heard: list[tuple[str, str]]
) -> None:
    created = s3.create_multipart_upload(Bucket="data", Key="parts/x.bin")
    upload_id = created["UploadId"]
    assert (created["Bucket"], created["Key"]) == ("data", "parts/x.bin")
    first, last = os.urandom(5 * MIB), b"the end"
    ids = {"Bucket": "data", "Key": "parts/x.bin", "UploadId": upload_id}
    two = s3.upload_part(**ids, PartNumber=2, Body=last)
    s3.upload_part(**ids, PartNumber=1, Body=b"uploaded again below")
    one = s3.upload_part(**ids, PartNumber=1, Body=first)
    assert one["ETag"] == f'"{hashlib.md5(first).hexdigest()}"'
    assert two["ChecksumCRC32"] == base64.b64encode(zlib.crc32(last).to_bytes(4, "big")).decode()

    listed = s3.list_parts(**ids)
    assert [(part["PartNumber"], part["ETag"], part["Size"]) for part in listed["Parts"]] == [
        (1, one["ETag"], 5 * MIB),
        (2, two["ETag"], len(last)),
    ]
    assert (listed["IsTruncated"], listed["StorageClass"]) == (False, "STANDARD")
    assert listed["Initiator"]["ID"] == listed["Owner"]["ID"]
    uploads = s3.list_multipart_uploads(Bucket="data")["Uploads"]
    assert [(item["Key"], item["UploadId"]) for item in uploads] == [("parts/x.bin", upload_id)]
    assert store.list_objects("data").contents == ()

    done = s3.complete_multipart_upload(
        **ids,
        MultipartUpload={
            "Parts": [
                {"PartNumber": 1, "ETag": one["ETag"]},
                {"PartNumber": 2, "ETag": two["ETag"]},
            ]
        },
    )
    assert done["ETag"] == s3_multipart_etag(first, last)
    assert (done["Bucket"], done["Key"]) == ("data", "parts/x.bin")
    assert done["Location"] == f"{endpoint.url}/data/parts/x.bin"
    got = s3.get_object(Bucket="data", Key="parts/x.bin")
    assert got["Body"].read() == first + last
    assert got["ETag"] == done["ETag"]
    assert heard == [("data", "parts/x.bin")]
    assert "Uploads" not in s3.list_multipart_uploads(Bucket="data")


def test_completion_errors_are_s3s(s3: Any, store: Buckets, heard: list[tuple[str, str]]) -> None:
    upload_id = s3.create_multipart_upload(Bucket="data", Key="k")["UploadId"]
    ids = {"Bucket": "data", "Key": "k", "UploadId": upload_id}
    one = s3.upload_part(**ids, PartNumber=1, Body=b"too small to be first")
    two = s3.upload_part(**ids, PartNumber=2, Body=b"last")

    def complete(*parts: tuple[int, str]) -> pytest.ExceptionInfo[ClientError]:
        named = [{"PartNumber": number, "ETag": etag} for number, etag in parts]
        with pytest.raises(ClientError) as raised:
            s3.complete_multipart_upload(**ids, MultipartUpload={"Parts": named})
        return raised

    raised = complete((1, '"0123456789abcdef0123456789abcdef"'))
    assert (error_code(raised), http_status(raised)) == ("InvalidPart", 400)
    assert raised.value.response["Error"]["PartNumber"] == "1"
    assert raised.value.response["Error"]["UploadId"] == upload_id
    raised = complete((3, one["ETag"]))
    assert error_code(raised) == "InvalidPart"
    raised = complete((2, two["ETag"]), (1, one["ETag"]))
    assert (error_code(raised), http_status(raised)) == ("InvalidPartOrder", 400)
    raised = complete((1, one["ETag"]), (2, two["ETag"]))
    assert (error_code(raised), http_status(raised)) == ("EntityTooSmall", 400)
    assert raised.value.response["Error"]["MinSizeAllowed"] == str(5 * MIB)
    assert raised.value.response["Error"]["Message"] == (
        "Your proposed upload is smaller than the minimum allowed object size."
    )
    assert heard == []
    # Refused completions leave the upload as it was: a single small part is a valid object.
    s3.complete_multipart_upload(
        **ids, MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": two["ETag"]}]}
    )
    assert store.get("data", "k")[1] == b"last"
    assert heard == [("data", "k")]


def test_abort_and_unknown_uploads_are_no_such_upload(
    s3: Any, store: Buckets, staging: Path
) -> None:
    upload_id = s3.create_multipart_upload(Bucket="data", Key="k")["UploadId"]
    ids = {"Bucket": "data", "Key": "k", "UploadId": upload_id}
    s3.upload_part(**ids, PartNumber=1, Body=b"x")
    aborted = s3.abort_multipart_upload(**ids)
    assert aborted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert list(staging.iterdir()) == []
    parts = {"Parts": [{"PartNumber": 1, "ETag": '"x"'}]}
    calls: list[Callable[[], object]] = [
        lambda: s3.abort_multipart_upload(**ids),
        lambda: s3.list_parts(**ids),
        lambda: s3.upload_part(**ids, PartNumber=1, Body=b"x" * 10_000),
        lambda: s3.complete_multipart_upload(**ids, MultipartUpload=parts),
        lambda: s3.list_parts(Bucket="data", Key="k", UploadId="../../../etc"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as raised:
            call()
        assert (error_code(raised), http_status(raised)) == ("NoSuchUpload", 404)
        assert raised.value.response["Error"]["Message"] == (
            "The specified upload does not exist. The upload ID may be invalid, or the upload "
            "may have been aborted or completed."
        )
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket="data", Key="k")
    with pytest.raises(ClientError) as raised:
        s3.create_multipart_upload(Bucket="nope", Key="k")
    assert error_code(raised) == "NoSuchBucket"


@pytest.mark.parametrize("number", ["0", "10001", "one", ""])
def test_part_numbers_outside_one_to_ten_thousand_are_invalid(
    http: httpx.Client, store: Buckets, number: str
) -> None:
    upload_id = store.create_multipart_upload("data", "k").upload_id
    response = http.put(
        "/data/k", params={"uploadId": upload_id, "partNumber": number}, content=b"x"
    )
    assert response.status_code == 400
    error = error_xml(response)
    assert (error["Code"], error["ArgumentName"], error["ArgumentValue"]) == (
        "InvalidArgument",
        "partNumber",
        number,
    )
    assert error["Message"] == "Part number must be an integer between 1 and 10000, inclusive"


def test_a_part_with_a_wrong_checksum_is_bad_digest(http: httpx.Client, store: Buckets) -> None:
    upload_id = store.create_multipart_upload("data", "k").upload_id
    response = http.put(
        "/data/k",
        params={"uploadId": upload_id, "partNumber": "1"},
        content=b"part",
        headers={"x-amz-checksum-crc32": base64.b64encode(b"\0\0\0\0").decode()},
    )
    assert (response.status_code, error_xml(response)["Code"]) == (400, "BadDigest")
    assert store.list_parts("data", "k", upload_id).parts == ()


@pytest.mark.parametrize(
    "body",
    [
        b"<CompleteMultipartUpload",
        b"<CompleteMultipartUpload/>",
        b"<Other><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></Other>",
        b"<CompleteMultipartUpload><Part><ETag>x</ETag></Part></CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>x</ETag></Part>"
        b"</CompleteMultipartUpload>",
        b'<!DOCTYPE x [<!ENTITY a "b">]><CompleteMultipartUpload/>',
    ],
)
def test_a_completion_that_is_not_the_xml_s3_reads_is_malformed(
    http: httpx.Client, store: Buckets, body: bytes
) -> None:
    upload_id = store.create_multipart_upload("data", "k").upload_id
    response = http.post("/data/k", params={"uploadId": upload_id}, content=body)
    assert response.status_code == 400
    assert error_xml(response)["Code"] == "MalformedXML"


def test_a_completion_without_a_namespace_is_read(http: httpx.Client, store: Buckets) -> None:
    upload_id = store.create_multipart_upload("data", "k").upload_id
    part = store.upload_part("data", "k", upload_id, 1, b"plain")
    body = (
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
        f"<ETag>{part.etag}</ETag></Part></CompleteMultipartUpload>"
    )
    response = http.post("/data/k", params={"uploadId": upload_id}, content=body.encode())
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)
    assert root.tag == f"{{{NAMESPACE}}}CompleteMultipartUploadResult"
    assert root.findtext("s3:ETag", namespaces=NS) == s3_multipart_etag(b"plain")


def test_list_multipart_uploads_pages(s3: Any, store: Buckets) -> None:
    for key in ["a", "b", "c"]:
        store.create_multipart_upload("data", key)
    pages = list(
        s3.get_paginator("list_multipart_uploads").paginate(
            Bucket="data", PaginationConfig={"PageSize": 2}
        )
    )
    assert [[item["Key"] for item in page.get("Uploads", [])] for page in pages] == [
        ["a", "b"],
        ["c"],
    ]
    assert pages[0]["IsTruncated"]
    assert pages[0]["NextKeyMarker"] == "b"
    only = s3.list_multipart_uploads(Bucket="data", Prefix="c")
    assert [item["Key"] for item in only["Uploads"]] == ["c"]


# -- copies --------------------------------------------------------------------------------------


def test_copy_object_within_and_between_buckets(
    s3: Any, store: Buckets, heard: list[tuple[str, str]]
) -> None:
    key = "in/a b+c%d?e#f&g=é.csv"
    put = s3.put_object(Bucket="data", Key=key, Body=b"1,2\n")
    copied = s3.copy_object(Bucket="other", Key="a.csv", CopySource={"Bucket": "data", "Key": key})
    assert copied["CopyObjectResult"]["ETag"] == put["ETag"]
    assert copied["CopyObjectResult"]["LastModified"] == store.head("other", "a.csv").last_modified
    s3.copy_object(Bucket="data", Key="archive/a.csv", CopySource=f"data/{key}")
    assert store.get("other", "a.csv")[1] == b"1,2\n"
    assert store.get("data", "archive/a.csv")[1] == b"1,2\n"
    assert heard == [("data", key), ("other", "a.csv"), ("data", "archive/a.csv")]


def test_what_copy_object_refuses(s3: Any, store: Buckets, http: httpx.Client) -> None:
    etag = s3.put_object(Bucket="data", Key="k", Body=b"x")["ETag"]
    source = {"Bucket": "data", "Key": "k"}
    with pytest.raises(ClientError) as raised:
        s3.copy_object(Bucket="data", Key="k", CopySource=source)
    assert (error_code(raised), http_status(raised)) == ("InvalidRequest", 400)
    s3.copy_object(Bucket="data", Key="k", CopySource=source, MetadataDirective="REPLACE")
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.copy_object(Bucket="data", Key="k2", CopySource={"Bucket": "data", "Key": "none"})
    with pytest.raises(ClientError) as raised:
        s3.copy_object(Bucket="data", Key="k2", CopySource=source, CopySourceIfMatch='"0000"')
    assert (error_code(raised), http_status(raised)) == ("PreconditionFailed", 412)
    assert raised.value.response["Error"]["Condition"] == "x-amz-copy-source-If-Match"
    with pytest.raises(ClientError) as raised:
        s3.copy_object(Bucket="data", Key="k2", CopySource=source, CopySourceIfNoneMatch=etag)
    assert http_status(raised) == 412
    s3.copy_object(Bucket="data", Key="k2", CopySource=source, CopySourceIfMatch=etag)
    for header, argument in [
        ("data", "x-amz-copy-source"),
        ("data/k?versionId=3", "x-amz-version-id"),
    ]:
        response = http.put("/data/k3", headers={"x-amz-copy-source": header})
        assert response.status_code == 400
        assert (error_xml(response)["Code"], error_xml(response)["ArgumentName"]) == (
            "InvalidArgument",
            argument,
        )
    assert http.put("/data/k3", headers={"x-amz-copy-source": "/data/k?versionId=null"}).is_success


def test_upload_part_copy_takes_a_range(s3: Any, store: Buckets, http: httpx.Client) -> None:
    store.put("data", "digits", b"0123456789")
    upload_id = s3.create_multipart_upload(Bucket="data", Key="copy")["UploadId"]
    ids = {"Bucket": "data", "Key": "copy", "UploadId": upload_id}
    source = {"Bucket": "data", "Key": "digits"}
    part = s3.upload_part_copy(**ids, PartNumber=1, CopySource=source, CopySourceRange="bytes=2-5")
    assert part["CopyPartResult"]["ETag"] == f'"{hashlib.md5(b"2345").hexdigest()}"'
    with pytest.raises(ClientError) as raised:
        s3.upload_part_copy(**ids, PartNumber=2, CopySource=source, CopySourceRange="bytes=5-10")
    assert (error_code(raised), http_status(raised)) == ("InvalidArgument", 400)
    response = http.put(
        "/data/copy",
        params={"uploadId": upload_id, "partNumber": "2"},
        headers={"x-amz-copy-source": "data/digits", "x-amz-copy-source-range": "bytes=-3"},
    )
    assert error_xml(response)["ArgumentName"] == "x-amz-copy-source-range"
    s3.complete_multipart_upload(
        **ids,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]},
    )
    assert store.get("data", "copy")[1] == b"2345"


# -- what the subset does not do -----------------------------------------------------------------


def test_operations_outside_the_subset_are_not_implemented(s3: Any, store: Buckets) -> None:
    store.put("data", "k", b"x")
    calls: list[Callable[[], object]] = [
        lambda: s3.get_object_acl(Bucket="data", Key="k"),
        lambda: s3.put_object_tagging(Bucket="data", Key="k", Tagging={"TagSet": []}),
        lambda: s3.delete_objects(Bucket="data", Delete={"Objects": [{"Key": "k"}]}),
        lambda: s3.restore_object(Bucket="data", Key="k", RestoreRequest={"Days": 1}),
        lambda: s3.complete_multipart_upload(
            Bucket="data",
            Key="k",
            UploadId="any",
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"x"'}]},
            IfNoneMatch="*",
        ),
        lambda: s3.list_multipart_uploads(Bucket="data", Delimiter="/"),
        lambda: s3.create_bucket(Bucket="new-bucket"),
        lambda: s3.delete_bucket(Bucket="data"),
        lambda: s3.get_bucket_location(Bucket="data"),
        lambda: s3.list_object_versions(Bucket="data"),
        lambda: s3.put_object(Bucket="data", Key="k", Body=b"y", IfNoneMatch="*"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as raised:
            call()
        assert (error_code(raised), http_status(raised)) == ("NotImplemented", 501)
        assert raised.value.response["Error"]["Message"] == (
            "A header you provided implies functionality that is not implemented"
        )
    assert store.get("data", "k")[1] == b"x"


def test_methods_s3_does_not_know_are_not_allowed(http: httpx.Client, store: Buckets) -> None:
    response = http.request("PATCH", "/data/k")
    assert response.status_code == 405
    error = error_xml(response)
    assert (error["Code"], error["Method"], error["ResourceType"]) == (
        "MethodNotAllowed",
        "PATCH",
        "OBJECT",
    )
    assert response.headers["allow"] == "DELETE, GET, HEAD, POST, PUT"
    assert http.put("/", content=b"").status_code == 405
    assert http.request("OPTIONS", "/data/k").status_code == 501


# -- escapes over HTTP ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/data/%2e%2e/secret.txt",
        "/data/a/%2E%2E/%2e%2e/secret.txt",
        "/data/..%2Fsecret.txt",
        "/data//etc/passwd",
        "/data/..%5Csecret.txt",
        "/data/x%00y",
        "/data/x%01y",
    ],
)
def test_encoded_escapes_are_refused(
    http: httpx.Client, store: Buckets, tmp_path: Path, path: str
) -> None:
    (tmp_path / "buckets").mkdir()
    (tmp_path / "buckets" / "secret.txt").write_bytes(b"secret")
    for method in ["GET", "PUT", "DELETE"]:
        response = http.request(method, path, content=b"planted" if method == "PUT" else None)
        assert response.status_code == 400, (method, path)
        assert error_xml(response)["Code"] == "InvalidArgument"
    assert (tmp_path / "buckets" / "secret.txt").read_bytes() == b"secret"


def test_boto3_keys_that_would_escape_are_invalid_arguments(s3: Any, store: Buckets) -> None:
    for key in ["../escape.txt", "a/../../escape.txt", "/etc/passwd"]:
        with pytest.raises(ClientError) as raised:
            s3.put_object(Bucket="data", Key=key, Body=b"x")
        assert (error_code(raised), http_status(raised)) == ("InvalidArgument", 400)


def test_a_symlink_out_of_the_bucket_is_access_denied(
    s3: Any, store: Buckets, folders: dict[str, Path], tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"secret")
    folders["data"].mkdir(parents=True)
    (folders["data"] / "leak.txt").symlink_to(secret)
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket="data", Key="leak.txt")
    assert (error_code(raised), http_status(raised)) == ("AccessDenied", 403)


# -- the AWS CLI ---------------------------------------------------------------------------------


def run_aws(endpoint: Endpoint, home: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
    }
    aws = Path(sys.executable).parent / "aws"
    return subprocess.run(
        [str(aws), *arguments, "--endpoint-url", endpoint.url],
        env=environment,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )


@pytest.mark.timeout(120)
def test_aws_cli_copies_up_lists_and_copies_down(
    endpoint: Endpoint, store: Buckets, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    local = tmp_path / "sales.csv"
    content = b"".join(f"{row},{row * 3}\n".encode() for row in range(50_000))
    local.write_bytes(content)
    up = run_aws(endpoint, home, "s3", "cp", str(local), "s3://data/in/sales 2024.csv")
    assert up.returncode == 0, up.stderr
    assert store.get("data", "in/sales 2024.csv")[1] == content
    listed = run_aws(endpoint, home, "s3", "ls", "s3://data/in/")
    assert listed.returncode == 0, listed.stderr
    assert f"{len(content)} sales 2024.csv" in listed.stdout
    back = tmp_path / "back.csv"
    down = run_aws(endpoint, home, "s3", "cp", "s3://data/in/sales 2024.csv", str(back))
    assert down.returncode == 0, down.stderr
    assert back.read_bytes() == content


@pytest.mark.timeout(120)
def test_aws_cli_copies_a_large_file_in_parts_and_between_buckets(
    endpoint: Endpoint,
    store: Buckets,
    heard: list[tuple[str, str]],
    staging: Path,
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    local = tmp_path / "big.csv"
    # Over the CLI's 8 MiB threshold: it sends three parts, of 8, 8 and 4 MiB.
    content = os.urandom(20 * MIB)
    local.write_bytes(content)
    up = run_aws(endpoint, home, "s3", "cp", str(local), "s3://data/in/big.csv")
    assert up.returncode == 0, up.stderr
    assert store.get("data", "in/big.csv")[1] == content
    chunks = [content[: 8 * MIB], content[8 * MIB : 16 * MIB], content[16 * MIB :]]
    assert store.head("data", "in/big.csv").etag == s3_multipart_etag(*chunks)

    back = tmp_path / "back.csv"
    down = run_aws(endpoint, home, "s3", "cp", "s3://data/in/big.csv", str(back))
    assert down.returncode == 0, down.stderr
    assert back.read_bytes() == content

    # Between buckets, a large object is copied in parts (UploadPartCopy), a small one whole.
    copied = run_aws(endpoint, home, "s3", "cp", "s3://data/in/big.csv", "s3://other/big.csv")
    assert copied.returncode == 0, copied.stderr
    moved = run_aws(endpoint, home, "s3", "mv", "s3://other/big.csv", "s3://data/out/big.csv")
    assert moved.returncode == 0, moved.stderr
    assert store.get("data", "out/big.csv")[1] == content
    with pytest.raises(NoSuchKey):
        store.get("other", "big.csv")
    store.put("data", "in/small.csv", b"1,2\n")
    small = run_aws(endpoint, home, "s3", "mv", "s3://data/in/small.csv", "s3://other/small.csv")
    assert small.returncode == 0, small.stderr
    assert store.get("other", "small.csv")[1] == b"1,2\n"
    with pytest.raises(NoSuchKey):
        store.get("data", "in/small.csv")

    # Each object written was heard of once; no part was ever an object, nor is left staged.
    assert heard == [
        ("data", "in/big.csv"),
        ("other", "big.csv"),
        ("data", "out/big.csv"),
        ("data", "in/small.csv"),
        ("other", "small.csv"),
    ]
    assert list(staging.iterdir()) == []

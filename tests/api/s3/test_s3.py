"""The S3 endpoint, served by uvicorn and driven by boto3 and httpx: objects, listings, ranges.

PutObject's bodies and digests are test_s3_payload.py's, multipart uploads test_s3_multipart.py's,
copies and the AWS CLI test_s3_copy.py's; their fixtures are in conftest.py beside them.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO
from xml.etree import ElementTree

import httpx
import pytest
from botocore.exceptions import ClientError
from s3_server import (
    MIB,
    NS,
    S3Server,
    content_of,
    error_code,
    error_xml,
    http_status,
    raw_request,
)

import redstep.buckets.store as store_module
import redstep.buckets.streams as streams_module
from redstep.api.s3 import NAMESPACE, s3_error
from redstep.buckets import Buckets, ObjectInfo

ISO_MILLISECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
RFC_1123 = re.compile(r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT")


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
    assert content_of(store, "data", key) == b"odd"


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


def test_checksum_mode_reads_no_more_than_the_body(
    s3: Any, store: Buckets, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CRC32 was computed as the object was written and kept with its ETag: answering it
    reads nothing before the headers, however large the object."""
    body = os.urandom(3 * MIB)
    s3.put_object(Bucket="data", Key="big.bin", Body=body)
    reads: list[int] = []

    def counting(source: BinaryIO, start: int, length: int) -> Iterator[bytes]:
        reads.append(length)
        return real(source, start, length)

    real = streams_module.read_range
    monkeypatch.setattr(streams_module, "read_range", counting)
    monkeypatch.setattr(store_module, "read_range", counting)
    head = s3.head_object(Bucket="data", Key="big.bin", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    assert reads == []
    got = s3.get_object(Bucket="data", Key="big.bin", ChecksumMode="ENABLED")
    assert got["Body"].read() == body
    assert reads == [len(body)]  # the body, once


def test_numbers_with_more_digits_than_s3_reads_are_refused_or_ignored_not_a_500(
    http: httpx.Client, digits: bytes
) -> None:
    nines = "9" * 5000  # past what Python's int() takes from a string at all
    listing = http.get("/data", params={"list-type": "2", "max-keys": nines})
    error = error_xml(listing)
    assert (listing.status_code, error["Code"], error["ArgumentName"]) == (
        400,
        "InvalidArgument",
        "max-keys",
    )
    # A Range S3 cannot read is ignored, as every unreadable Range is: the whole object.
    for header in (f"bytes=0-{nines}", f"bytes={nines}-", f"bytes=-{nines}"):
        ranged = http.get("/data/digits.txt", headers={"Range": header})
        assert (ranged.status_code, ranged.content) == (200, digits)


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
    assert content_of(store, "data", "k") == b"x"


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


# -- large objects stream through -----------------------------------------------------------------


@pytest.mark.timeout(120)
def test_a_large_object_streams_through_without_being_held_whole(
    s3: Any, store: Buckets, tmp_path: Path
) -> None:
    """Up, checksummed and down through boto3, with at most a few MiB in Python's memory.

    tracemalloc counts every Python allocation of the process, the server's threads and the
    client's alike, whatever else the machine runs: holding the object once would show as 64 MiB.
    """
    size = 64 * MIB
    local = tmp_path / "big.bin"
    md5, crc32 = hashlib.md5(), 0
    with open(local, "wb") as out:
        for _ in range(size // MIB):
            block = os.urandom(MIB)
            out.write(block)
            md5.update(block)
            crc32 = zlib.crc32(block, crc32)
    etag = f'"{md5.hexdigest()}"'
    tracemalloc.start()
    try:
        with open(local, "rb") as body:
            put = s3.put_object(Bucket="data", Key="big.bin", Body=body)
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        head = s3.head_object(Bucket="data", Key="big.bin", ChecksumMode="ENABLED")
        got = s3.get_object(Bucket="data", Key="big.bin")
        received = hashlib.md5()
        for chunk in got["Body"].iter_chunks(MIB):
            received.update(chunk)
        _, get_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert put["ETag"] == etag
    assert head["ChecksumCRC32"] == base64.b64encode(crc32.to_bytes(4, "big")).decode()
    assert (got["ContentLength"], f'"{received.hexdigest()}"') == (size, etag)
    assert put_peak < 12 * MIB, f"a put held {put_peak / MIB:.1f} MiB"
    assert get_peak < 12 * MIB, f"a head and a get held {get_peak / MIB:.1f} MiB"


def test_a_download_given_up_midway_releases_the_file(
    server: S3Server, store: Buckets, folders: dict[str, Path]
) -> None:
    store.put("data", "big.bin", bytes(16 * MIB))
    path = os.path.realpath(folders["data"] / "big.bin")
    proc = Path("/proc/self/fd")
    if not proc.is_dir():
        pytest.skip("needs /proc/self/fd to see which files the process holds open")

    def is_open() -> bool:
        for fd in proc.iterdir():
            try:
                target = os.readlink(fd)
            except FileNotFoundError:  # closed by another thread since the listing
                continue
            if os.path.realpath(target) == path:
                return True
        return False

    # A small receive buffer, read from once: the server's sending stalls well before the end.
    head = "GET /data/big.bin HTTP/1.1\nHost: s3\n"
    with raw_request(server, head, receive_buffer=64 * 1024) as connection:
        assert connection.recv(65536).startswith(b"HTTP/1.1 200 ")
        time.sleep(0.2)
        assert is_open()
    deadline = time.monotonic() + 10
    while is_open():
        assert time.monotonic() < deadline, "the object's file is still open"
        time.sleep(0.05)

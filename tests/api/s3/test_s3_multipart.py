"""Multipart uploads over the wire: boto3's transfer manager, parts by hand, S3's refusals."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from s3_server import (
    MIB,
    NS,
    S3Server,
    client_of,
    content_of,
    error_code,
    error_xml,
    http_status,
    s3_multipart_etag,
)

import redstep.api.s3_multipart as s3_multipart
import redstep.api.s3_payload as s3_payload
from redstep.api.s3 import NAMESPACE
from redstep.buckets import Buckets, CompletedPart

# -- multipart uploads ---------------------------------------------------------------------------


def test_upload_file_goes_in_parts_and_comes_back_in_ranges(
    server: S3Server, store: Buckets, heard: list[tuple[str, str]], staging: Path, tmp_path: Path
) -> None:
    client = client_of(server)
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
    assert content_of(store, "data", "in/big.csv") == content
    assert heard == [("data", "in/big.csv")]
    assert list(staging.iterdir()) == []

    operations.clear()
    back = tmp_path / "back.csv"
    client.download_file("data", "in/big.csv", str(back), Config=config)
    assert back.read_bytes() == content
    assert operations.count("GetObject") == 3  # ranged, each If-Match'ed on the multipart ETag


def test_a_multipart_upload_by_hand(
    s3: Any, server: S3Server, store: Buckets, heard: list[tuple[str, str]]
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
    assert done["Location"] == f"{server.url}/data/parts/x.bin"
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
    assert content_of(store, "data", "k") == b"last"
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


def test_a_completion_document_is_read_up_to_two_mib(http: httpx.Client, store: Buckets) -> None:
    upload_id = store.create_multipart_upload("data", "k").upload_id
    part = store.upload_part("data", "k", upload_id, 1, b"x")
    padding = b" " * (2 * MIB)
    document = (
        b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
        + f"<ETag>{part.etag}</ETag>".encode()
        + b"</Part>"
        + padding
        + b"</CompleteMultipartUpload>"
    )
    declared = http.post("/data/k", params={"uploadId": upload_id}, content=document)
    # Without a Content-Length (HTTP-chunked), it is cut off as it arrives.
    streamed = http.post(
        "/data/k",
        params={"uploadId": upload_id},
        content=iter([document[:MIB], document[MIB:]]),
    )
    for response in (declared, streamed):
        assert response.status_code == 400
        assert error_xml(response)["Code"] == "MaxMessageLengthExceeded"
    assert store.list_parts("data", "k", upload_id).parts == (part,)
    within = document.replace(padding, b" " * (MIB // 2))
    assert http.post("/data/k", params={"uploadId": upload_id}, content=within).is_success


def test_a_completion_document_is_held_to_its_signed_hash(
    http: httpx.Client, store: Buckets
) -> None:
    upload_id = store.create_multipart_upload("data", "k").upload_id
    part = store.upload_part("data", "k", upload_id, 1, b"x")
    document = (
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
        f"<ETag>{part.etag}</ETag></Part></CompleteMultipartUpload>"
    ).encode()
    signed_for_another = {"x-amz-content-sha256": hashlib.sha256(b"another").hexdigest()}
    response = http.post(
        "/data/k", params={"uploadId": upload_id}, content=document, headers=signed_for_another
    )
    assert (response.status_code, error_xml(response)["Code"]) == (
        400,
        "XAmzContentSHA256Mismatch",
    )
    assert store.list_parts("data", "k", upload_id).parts == (part,)
    signed = {"x-amz-content-sha256": hashlib.sha256(document).hexdigest()}
    response = http.post(
        "/data/k", params={"uploadId": upload_id}, content=document, headers=signed
    )
    assert response.is_success
    assert content_of(store, "data", "k") == b"x"


def test_numbers_with_more_digits_than_s3_reads_are_refused_not_a_500(
    http: httpx.Client, store: Buckets
) -> None:
    nines = "9" * 5000  # past what Python's int() takes from a string at all
    store.put("data", "source", b"0123456789")
    upload_id = store.create_multipart_upload("data", "k").upload_id
    part = http.put("/data/k", params={"uploadId": upload_id, "partNumber": nines}, content=b"x")
    assert (part.status_code, error_xml(part)["Code"]) == (400, "InvalidArgument")
    copied = http.put(
        "/data/k",
        params={"uploadId": upload_id, "partNumber": "1"},
        headers={"x-amz-copy-source": "data/source", "x-amz-copy-source-range": f"bytes=0-{nines}"},
    )
    assert (copied.status_code, error_xml(copied)["Code"]) == (400, "InvalidArgument")
    listed = http.get("/data/k", params={"uploadId": upload_id, "max-parts": nines})
    assert (listed.status_code, error_xml(listed)["Code"]) == (400, "InvalidArgument")
    document = (
        f"<CompleteMultipartUpload><Part><PartNumber>{nines}</PartNumber>"
        '<ETag>"x"</ETag></Part></CompleteMultipartUpload>'
    )
    completed = http.post("/data/k", params={"uploadId": upload_id}, content=document)
    assert (completed.status_code, error_xml(completed)["Code"]) == (400, "MalformedXML")


def test_a_completion_is_hashed_and_parsed_off_the_event_loop(
    http: httpx.Client, store: Buckets, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload_id = store.create_multipart_upload("data", "k").upload_id
    part = store.upload_part("data", "k", upload_id, 1, b"x")
    threads: dict[str, str] = {}
    real_check, real_parse = s3_payload.check_document, s3_multipart.completed_parts

    def check(*arguments: Any) -> None:
        threads["hashed"] = threading.current_thread().name
        real_check(*arguments)

    def parse(document: bytes) -> list[CompletedPart]:
        threads["parsed"] = threading.current_thread().name
        return real_parse(document)

    monkeypatch.setattr(s3_payload, "check_document", check)
    monkeypatch.setattr(s3_multipart, "completed_parts", parse)
    document = (
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
        f"<ETag>{part.etag}</ETag></Part></CompleteMultipartUpload>"
    ).encode()
    signed = {"x-amz-content-sha256": hashlib.sha256(document).hexdigest()}
    response = http.post(
        "/data/k", params={"uploadId": upload_id}, content=document, headers=signed
    )
    assert response.is_success
    # The server's event loop runs on its "live-server" thread (tests/helpers/live_server.py).
    assert set(threads) == {"hashed", "parsed"}
    assert "live-server" not in threads.values()

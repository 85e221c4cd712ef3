"""Copies over the wire (CopyObject, UploadPartCopy), and the AWS CLI copying up, down, across."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from s3_server import (
    MIB,
    S3Server,
    content_of,
    error_code,
    error_xml,
    http_status,
    s3_multipart_etag,
)

from redstep.buckets import Buckets, NoSuchKey

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
    assert content_of(store, "other", "a.csv") == b"1,2\n"
    assert content_of(store, "data", "archive/a.csv") == b"1,2\n"
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
    assert content_of(store, "data", "copy") == b"2345"


# -- the AWS CLI ---------------------------------------------------------------------------------


def run_aws(server: S3Server, home: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
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
        [str(aws), *arguments, "--endpoint-url", server.url],
        env=environment,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )


@pytest.mark.timeout(120)
def test_aws_cli_copies_up_lists_and_copies_down(
    server: S3Server, store: Buckets, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    local = tmp_path / "sales.csv"
    content = b"".join(f"{row},{row * 3}\n".encode() for row in range(50_000))
    local.write_bytes(content)
    up = run_aws(server, home, "s3", "cp", str(local), "s3://data/in/sales 2024.csv")
    assert up.returncode == 0, up.stderr
    assert content_of(store, "data", "in/sales 2024.csv") == content
    listed = run_aws(server, home, "s3", "ls", "s3://data/in/")
    assert listed.returncode == 0, listed.stderr
    assert f"{len(content)} sales 2024.csv" in listed.stdout
    back = tmp_path / "back.csv"
    down = run_aws(server, home, "s3", "cp", "s3://data/in/sales 2024.csv", str(back))
    assert down.returncode == 0, down.stderr
    assert back.read_bytes() == content


@pytest.mark.timeout(120)
def test_aws_cli_copies_a_large_file_in_parts_and_between_buckets(
    server: S3Server,
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
    up = run_aws(server, home, "s3", "cp", str(local), "s3://data/in/big.csv")
    assert up.returncode == 0, up.stderr
    assert content_of(store, "data", "in/big.csv") == content
    chunks = [content[: 8 * MIB], content[8 * MIB : 16 * MIB], content[16 * MIB :]]
    assert store.head("data", "in/big.csv").etag == s3_multipart_etag(*chunks)

    back = tmp_path / "back.csv"
    down = run_aws(server, home, "s3", "cp", "s3://data/in/big.csv", str(back))
    assert down.returncode == 0, down.stderr
    assert back.read_bytes() == content

    # Between buckets, a large object is copied in parts (UploadPartCopy), a small one whole.
    copied = run_aws(server, home, "s3", "cp", "s3://data/in/big.csv", "s3://other/big.csv")
    assert copied.returncode == 0, copied.stderr
    moved = run_aws(server, home, "s3", "mv", "s3://other/big.csv", "s3://data/out/big.csv")
    assert moved.returncode == 0, moved.stderr
    assert content_of(store, "data", "out/big.csv") == content
    with pytest.raises(NoSuchKey):
        store.head("other", "big.csv")
    store.put("data", "in/small.csv", b"1,2\n")
    small = run_aws(server, home, "s3", "mv", "s3://data/in/small.csv", "s3://other/small.csv")
    assert small.returncode == 0, small.stderr
    assert content_of(store, "other", "small.csv") == b"1,2\n"
    with pytest.raises(NoSuchKey):
        store.head("data", "in/small.csv")

    # Each object written was heard of once; no part was ever an object, nor is left staged.
    assert heard == [
        ("data", "in/big.csv"),
        ("other", "big.csv"),
        ("data", "out/big.csv"),
        ("data", "in/small.csv"),
        ("other", "small.csv"),
    ]
    assert list(staging.iterdir()) == []

"""The `aws-sdk:s3` integration over real Buckets in tmp folders: each action's result, member
for member, and each failure's name and cause.

The expected values of puts come from executions recorded on AWS (the Body written as its JSON
text, the ETag and checksums S3 answered for it).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sdk_calls import Call, failure

from redstep.buckets import Buckets
from redstep.integrations.failure import TaskFailure
from redstep.integrations.s3 import OWNER_ID, call_s3
from redstep.integrations.sdk import instant_text, sfn_name


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def buckets(folder: Path, tmp_path: Path) -> Iterator[Buckets]:
    store = Buckets({"data": folder}, staging=tmp_path / "staging")
    yield store
    store.close()


@pytest.fixture
def call(buckets: Buckets) -> Call:
    def run(action: str, parameters: Any) -> Any:
        return call_s3(buckets, action, parameters)

    return run


def assert_s3_failure(failed: TaskFailure, error: str, message: str | None, status: int) -> None:
    """`failed` is S3's `error`, its cause worded as the SDK words it."""
    assert failed.error == error
    assert failed.cause is not None
    text = "null" if message is None else re.escape(message)
    pattern = (
        rf"{text} \(Service: S3, Status Code: {status}, Request ID: [A-Z0-9]{{16}}, "
        r"Extended Request ID: [A-Za-z0-9+/]{75}=\) \(SDK Attempt Count: 1\)"
    )
    assert re.fullmatch(pattern, failed.cause), failed.cause


def put(folder: Path, key: str, content: bytes) -> None:
    """Put an object in the bucket's folder by other means than S3."""
    path = folder / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def modified(buckets: Buckets, key: str) -> str:
    return instant_text(buckets.head("data", key).last_modified)


# -- putObject ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content", "etag", "crc32"),
    [
        # Recorded on AWS (LocalStack's snapshots of real executions, 2024; TestState and
        # executions captured in 2026): the ETag is the MD5 of the JSON text.
        ("text data", b'"text data"', "2b5df3712557f503a9977a8ea893b2c9", None),
        ({"Dict": "Value"}, b'{"Dict":"Value"}', "49e31cee5aec8faf3345893addb14346", None),
        (["List", "Data"], b'["List","Data"]', "6b23860357f6e63a0272b7f1143a663a", None),
        (False, b"false", "68934a3e9455fa72420237eb05902327", None),
        (0, b"0", "cfcd208495d565ef66e7dff9f98764da", None),
        (None, b"null", "37a6259cc0c1dae299a7866489dff0bd", "Jcv8Tw=="),
        ("hello\nπ", '"hello\\nπ"'.encode(), "c6ec2e91cee2c8f93ac3ea352875c365", "AUmDVw=="),
        ("AP9BQgo=", b'"AP9BQgo="', "20e8f74117de2759fb8a7d902780b1d2", "FAe4eQ=="),
        (
            {"message": "sdk-checksum-control"},
            b'{"message":"sdk-checksum-control"}',
            "3791866338839fe2a2751bf09f2981d7",
            "VRQQRw==",
        ),
    ],
)
def test_put_writes_the_body_as_its_json_text(
    call: Call, folder: Path, body: Any, content: bytes, etag: str, crc32: str | None
) -> None:
    result = call("putObject", {"Bucket": "data", "Key": "k", "Body": body})
    assert (folder / "k").read_bytes() == content
    assert list(result) == ["ChecksumCRC32", "ChecksumType", "ETag", "ServerSideEncryption"]
    assert result["ETag"] == f'"{etag}"'
    assert result["ChecksumType"] == "FULL_OBJECT"
    assert result["ServerSideEncryption"] == "AES256"
    if crc32 is not None:
        assert result["ChecksumCRC32"] == crc32


@pytest.mark.parametrize(
    ("algorithm", "member", "checksum"),
    [
        # Recorded on AWS for {"message":"sdk-checksum-control"}.
        ("SHA256", "ChecksumSHA256", "2c26sGu4twJBy9sx5FAp4mxkRWS6KfQRrBvsioTBwqA="),
        ("CRC32", "ChecksumCRC32", "VRQQRw=="),
    ],
)
def test_put_answers_the_checksum_of_the_algorithm_asked(
    call: Call, algorithm: str, member: str, checksum: str
) -> None:
    body = {"message": "sdk-checksum-control"}
    named = call(
        "putObject", {"Bucket": "data", "Key": "a", "Body": body, "ChecksumAlgorithm": algorithm}
    )
    stated = call("putObject", {"Bucket": "data", "Key": "b", "Body": body, member: checksum})
    expected = {
        member: checksum,
        "ChecksumType": "FULL_OBJECT",
        "ETag": '"3791866338839fe2a2751bf09f2981d7"',
        "ServerSideEncryption": "AES256",
    }
    assert named == stated == expected


@pytest.mark.parametrize(
    ("algorithm", "checksum"),
    [
        # The standard check value of the CRC, over the digits 1 to 9.
        ("CRC32", base64.b64encode(bytes.fromhex("cbf43926")).decode()),
    ],
)
def test_put_computes_the_crc(call: Call, algorithm: str, checksum: str) -> None:
    result = call(
        "putObject",
        {"Bucket": "data", "Key": "k", "Body": 123456789, "ChecksumAlgorithm": algorithm},
    )
    assert result[sfn_name(f"Checksum{algorithm}")] == checksum


@pytest.mark.parametrize("algorithm", ["CRC32C", "CRC64NVME"])
def test_a_checksum_redstep_cannot_compute_is_said_so(call: Call, algorithm: str) -> None:
    failed = failure(
        call,
        "putObject",
        {"Bucket": "data", "Key": "k", "Body": 1, "ChecksumAlgorithm": algorithm},
    )
    assert failed.error == "States.Runtime"
    assert failed.cause == (
        f"redstep cannot compute {algorithm} checksums; "
        "it computes CRC32, SHA1, SHA256, SHA512, MD5"
    )


def test_put_refuses_a_checksum_that_does_not_match(call: Call, folder: Path) -> None:
    failed = failure(
        call,
        "putObject",
        {"Bucket": "data", "Key": "k", "Body": {"a": 1}, "ChecksumSHA256": "A" * 43 + "="},
    )
    assert_s3_failure(
        failed,
        "S3.S3Exception",
        "The SHA256 you specified did not match the calculated checksum.",
        400,
    )
    assert not (folder / "k").exists()


def test_put_refuses_two_checksums(call: Call) -> None:
    failed = failure(
        call,
        "putObject",
        {
            "Bucket": "data",
            "Key": "k",
            "Body": {"message": "sdk-checksum-control"},
            "ChecksumAlgorithm": "CRC32",
            "ChecksumSHA256": "2c26sGu4twJBy9sx5FAp4mxkRWS6KfQRrBvsioTBwqA=",
        },
    )
    assert_s3_failure(
        failed, "S3.InvalidRequestException", "Expecting a single x-amz-checksum- header", 400
    )


@pytest.mark.parametrize(
    ("md5", "message"),
    [
        (base64.b64encode(bytes(16)).decode(), "The Content-MD5 you specified did not match "
         "what we received."),
        ("not base64", "The Content-MD5 you specified was invalid."),
    ],
)  # fmt: skip
def test_put_checks_content_md5(call: Call, md5: str, message: str) -> None:
    failed = failure(
        call, "putObject", {"Bucket": "data", "Key": "k", "Body": "x", "ContentMD5": md5}
    )
    assert_s3_failure(failed, "S3.S3Exception", message, 400)


def test_put_with_the_right_content_md5(call: Call) -> None:
    md5 = base64.b64encode(bytes.fromhex("2b5df3712557f503a9977a8ea893b2c9")).decode()
    result = call(
        "putObject", {"Bucket": "data", "Key": "k", "Body": "text data", "ContentMD5": md5}
    )
    assert result["ETag"] == '"2b5df3712557f503a9977a8ea893b2c9"'


def test_a_conditional_put_is_not_implemented(call: Call) -> None:
    failed = failure(
        call, "putObject", {"Bucket": "data", "Key": "k", "Body": "x", "IfNoneMatch": "*"}
    )
    assert_s3_failure(
        failed,
        "S3.S3Exception",
        "A header you provided implies functionality that is not implemented",
        501,
    )


def test_put_into_a_bucket_that_does_not_exist(call: Call) -> None:
    failed = failure(call, "putObject", {"Bucket": "nope", "Key": "k", "Body": "x"})
    assert_s3_failure(
        failed, "S3.NoSuchBucketException", "The specified bucket does not exist", 404
    )


def test_put_where_a_folder_cannot_hold_the_key(call: Call, folder: Path) -> None:
    put(folder, "a", b"x")
    failed = failure(call, "putObject", {"Bucket": "data", "Key": "a/b", "Body": "x"})
    assert_s3_failure(
        failed,
        "S3.S3Exception",
        "Object key 'a/b' collides with another object: a local bucket folder cannot hold both "
        "an object `a` and objects under `a/`",
        400,
    )


# -- getObject, headObject ----------------------------------------------------------------------


def test_get_answers_the_metadata_then_the_body(call: Call, buckets: Buckets, folder: Path) -> None:
    call("putObject", {"Bucket": "data", "Key": "notes.txt", "Body": "hello\nπ"})
    result = call("getObject", {"Bucket": "data", "Key": "notes.txt"})
    assert result == {
        "AcceptRanges": "bytes",
        "ContentLength": 11,
        "ContentType": "text/plain",
        "ETag": '"c6ec2e91cee2c8f93ac3ea352875c365"',
        "LastModified": modified(buckets, "notes.txt"),
        "Metadata": {},
        "ServerSideEncryption": "AES256",
        "Body": '"hello\\nπ"',
    }
    assert list(result)[-1] == "Body"
    assert list(result)[:-1] == sorted(list(result)[:-1])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", result["LastModified"])


def test_get_reads_binary_content_as_utf8_replacing_what_is_malformed(
    call: Call, folder: Path
) -> None:
    put(folder, "blob", b"\xff\xfeA\xe2\x82\xac\xe2\x82")
    result = call("getObject", {"Bucket": "data", "Key": "blob"})
    assert result["Body"] == "\ufffd\ufffdA€\ufffd"
    assert result["ContentLength"] == 8
    assert result["ContentType"] == "binary/octet-stream"


def test_get_of_an_empty_object(call: Call, folder: Path) -> None:
    put(folder, "empty", b"")
    result = call("getObject", {"Bucket": "data", "Key": "empty"})
    assert result["Body"] == ""
    assert result["ContentLength"] == 0
    assert result["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'


@pytest.mark.parametrize(
    ("range_", "body", "content_range"),
    [
        ("bytes=2-4", "234", "bytes 2-4/10"),
        ("bytes=7-", "789", "bytes 7-9/10"),
        ("bytes=-2", "89", "bytes 8-9/10"),
        ("bytes=8-100", "89", "bytes 8-9/10"),
    ],
)
def test_get_a_range(call: Call, folder: Path, range_: str, body: str, content_range: str) -> None:
    put(folder, "digits", b"0123456789")
    result = call("getObject", {"Bucket": "data", "Key": "digits", "Range": range_})
    assert (result["Body"], result["ContentRange"], result["ContentLength"]) == (
        body,
        content_range,
        len(body),
    )


@pytest.mark.parametrize("range_", ["items=0-1", "bytes=0-1,3-4", "bytes=5-2"])
def test_a_range_s3_cannot_read_gets_the_whole_object(
    call: Call, folder: Path, range_: str
) -> None:
    put(folder, "digits", b"0123456789")
    result = call("getObject", {"Bucket": "data", "Key": "digits", "Range": range_})
    assert result["Body"] == "0123456789"
    assert "ContentRange" not in result


def test_a_range_past_the_end_is_not_satisfiable(call: Call, folder: Path) -> None:
    put(folder, "digits", b"0123456789")
    failed = failure(call, "getObject", {"Bucket": "data", "Key": "digits", "Range": "bytes=10-"})
    assert_s3_failure(failed, "S3.S3Exception", "The requested range is not satisfiable", 416)


def test_get_with_checksum_mode_answers_the_crc32(call: Call) -> None:
    call("putObject", {"Bucket": "data", "Key": "k", "Body": {"message": "sdk-checksum-control"}})
    result = call("getObject", {"Bucket": "data", "Key": "k", "ChecksumMode": "ENABLED"})
    assert result["ChecksumCRC32"] == "VRQQRw=="
    assert result["ChecksumType"] == "FULL_OBJECT"


def test_get_answers_the_response_overrides(call: Call, folder: Path) -> None:
    put(folder, "k", b"x")
    result = call(
        "getObject",
        {
            "Bucket": "data",
            "Key": "k",
            "ResponseContentType": "application/x-thing",
            "ResponseCacheControl": "no-cache",
            "ResponseExpires": "2030-01-02T03:04:05Z",
        },
    )
    assert result["ContentType"] == "application/x-thing"
    assert result["CacheControl"] == "no-cache"
    assert result["Expires"] == "2030-01-02T03:04:05Z"
    assert list(result)[:-1] == sorted(list(result)[:-1])


def test_preconditions(call: Call, buckets: Buckets, folder: Path) -> None:
    put(folder, "k", b"x")
    info = buckets.head("data", "k")
    later = instant_text(info.last_modified + timedelta(seconds=1))
    earlier = instant_text(info.last_modified - timedelta(seconds=1))
    holding = [
        {"IfMatch": info.etag},
        {"IfMatch": "*"},
        {"IfNoneMatch": '"other"'},
        {"IfModifiedSince": earlier},
        {"IfUnmodifiedSince": later},
    ]
    for condition in holding:
        assert call("getObject", {"Bucket": "data", "Key": "k", **condition})["Body"] == "x"
    for condition in ({"IfMatch": '"other"'}, {"IfUnmodifiedSince": earlier}):
        failed = failure(call, "getObject", {"Bucket": "data", "Key": "k", **condition})
        assert_s3_failure(
            failed,
            "S3.S3Exception",
            "At least one of the pre-conditions you specified did not hold",
            412,
        )
    for condition in ({"IfNoneMatch": info.etag}, {"IfModifiedSince": later}):
        failed = failure(call, "getObject", {"Bucket": "data", "Key": "k", **condition})
        assert_s3_failure(failed, "S3.S3Exception", None, 304)


def test_get_of_a_missing_key(call: Call) -> None:
    failed = failure(call, "getObject", {"Bucket": "data", "Key": "absent"})
    # Recorded on AWS: "The specified key does not exist. (Service: S3, Status Code: 404,
    # Request ID: 35P6VBTV74BX3X9G, Extended Request ID: 51rk…92A=) (SDK Attempt Count: 1)"
    assert_s3_failure(failed, "S3.NoSuchKeyException", "The specified key does not exist.", 404)


def test_get_from_a_missing_bucket(call: Call) -> None:
    failed = failure(call, "getObject", {"Bucket": "nope", "Key": "k"})
    assert_s3_failure(
        failed, "S3.NoSuchBucketException", "The specified bucket does not exist", 404
    )


def test_a_version_other_than_null_is_refused(call: Call, folder: Path) -> None:
    put(folder, "k", b"x")
    assert call("getObject", {"Bucket": "data", "Key": "k", "VersionId": "null"})["Body"] == "x"
    failed = failure(call, "getObject", {"Bucket": "data", "Key": "k", "VersionId": "v1"})
    assert_s3_failure(failed, "S3.S3Exception", "Invalid version id specified", 400)


def test_head_answers_the_metadata(call: Call, buckets: Buckets, folder: Path) -> None:
    put(folder, "table.csv", b"a,b\n1,2\n")
    assert call("headObject", {"Bucket": "data", "Key": "table.csv"}) == {
        "AcceptRanges": "bytes",
        "ContentLength": 8,
        "ContentType": "text/csv",
        "ETag": '"' + buckets.head("data", "table.csv").etag.strip('"') + '"',
        "LastModified": modified(buckets, "table.csv"),
        "Metadata": {},
        "ServerSideEncryption": "AES256",
    }
    with_checksum = call(
        "headObject", {"Bucket": "data", "Key": "table.csv", "ChecksumMode": "ENABLED"}
    )
    assert list(with_checksum) == [
        "AcceptRanges",
        "ChecksumCRC32",
        "ChecksumType",
        "ContentLength",
        "ContentType",
        "ETag",
        "LastModified",
        "Metadata",
        "ServerSideEncryption",
    ]


@pytest.mark.parametrize("bucket", ["data", "nope"])
def test_head_of_a_missing_object_is_no_such_key(call: Call, bucket: str) -> None:
    failed = failure(call, "headObject", {"Bucket": bucket, "Key": "absent"})
    assert_s3_failure(failed, "S3.NoSuchKeyException", "The specified key does not exist.", 404)


def test_a_head_failure_other_than_404_has_no_message(call: Call, folder: Path) -> None:
    put(folder, "k", b"x")
    failed = failure(call, "headObject", {"Bucket": "data", "Key": "k", "IfMatch": '"other"'})
    assert_s3_failure(failed, "S3.S3Exception", None, 412)


# -- listObjectsV2 ------------------------------------------------------------------------------


def test_list_answers_a_page(call: Call, buckets: Buckets, folder: Path) -> None:
    for key in ("a.txt", "b.txt", "logs/1", "logs/2"):
        put(folder, key, key.encode())
    result = call("listObjectsV2", {"Bucket": "data", "Delimiter": "/"})
    assert result == {
        "CommonPrefixes": [{"Prefix": "logs/"}],
        "Contents": [
            {
                "ChecksumAlgorithm": ["CRC32"],
                "ChecksumType": "FULL_OBJECT",
                "ETag": buckets.head("data", key).etag,
                "Key": key,
                "LastModified": modified(buckets, key),
                "Size": 5,
                "StorageClass": "STANDARD",
            }
            for key in ("a.txt", "b.txt")
        ],
        "Delimiter": "/",
        "IsTruncated": False,
        "KeyCount": 3,
        "MaxKeys": 1000,
        "Name": "data",
        "Prefix": "",
    }


def test_an_empty_list_has_no_contents(call: Call) -> None:
    # Recorded on AWS: {"IsTruncated":false,"KeyCount":0,"MaxKeys":2,"Name":…,"Prefix":"absent/"}
    assert call("listObjectsV2", {"Bucket": "data", "Prefix": "absent/", "MaxKeys": 2}) == {
        "IsTruncated": False,
        "KeyCount": 0,
        "MaxKeys": 2,
        "Name": "data",
        "Prefix": "absent/",
    }


def test_list_pages_with_continuation_tokens(call: Call, folder: Path) -> None:
    for key in ("a", "b", "c"):
        put(folder, key, b"x")
    first = call("listObjectsV2", {"Bucket": "data", "MaxKeys": 2})
    assert [item["Key"] for item in first["Contents"]] == ["a", "b"]
    assert first["IsTruncated"] is True
    token = first["NextContinuationToken"]
    second = call("listObjectsV2", {"Bucket": "data", "MaxKeys": 2, "ContinuationToken": token})
    assert [item["Key"] for item in second["Contents"]] == ["c"]
    assert second["ContinuationToken"] == token
    assert second["IsTruncated"] is False
    assert "NextContinuationToken" not in second
    after = call("listObjectsV2", {"Bucket": "data", "StartAfter": "a"})
    assert after["StartAfter"] == "a"
    assert [item["Key"] for item in after["Contents"]] == ["b", "c"]


@pytest.mark.parametrize(
    ("fetch_owner", "has_owner"),
    # As recorded on AWS: Jackson reads booleans leniently.
    [
        (True, True),
        ("true", True),
        (" TRUE ", True),
        (1, True),
        (-1, True),
        (False, False),
        ("false", False),
        (0, False),
        ("", False),
        ("null", False),
    ],
)
def test_fetch_owner(call: Call, folder: Path, fetch_owner: Any, has_owner: bool) -> None:
    put(folder, "k", b"x")
    result = call("listObjectsV2", {"Bucket": "data", "FetchOwner": fetch_owner})
    listed = result["Contents"][0]
    assert ("Owner" in listed) is has_owner
    if has_owner:
        assert listed["Owner"] == {"Id": OWNER_ID}
        assert list(listed) == sorted(listed)


@pytest.mark.parametrize(
    ("fetch_owner", "cause"),
    [
        (
            "TrUe",
            'Cannot deserialize value of type `java.lang.Boolean` from String "TrUe": only '
            '"true" or "false" recognized',
        ),
        (
            1.0,
            "Cannot deserialize value of type `java.lang.Boolean` from Floating-point value "
            "(token `JsonToken.VALUE_NUMBER_FLOAT`)",
        ),
    ],
)
def test_a_boolean_jackson_cannot_read(call: Call, fetch_owner: Any, cause: str) -> None:
    failed = failure(call, "listObjectsV2", {"Bucket": "data", "FetchOwner": fetch_owner})
    assert (failed.error, failed.cause) == ("States.Runtime", cause)


def test_list_of_a_missing_bucket(call: Call) -> None:
    failed = failure(call, "listObjectsV2", {"Bucket": "nope"})
    assert_s3_failure(
        failed, "S3.NoSuchBucketException", "The specified bucket does not exist", 404
    )


# -- deleteObject -------------------------------------------------------------------------------


def test_delete_answers_nothing_whether_or_not_there_was_an_object(
    call: Call, folder: Path
) -> None:
    put(folder, "k", b"x")
    assert call("deleteObject", {"Bucket": "data", "Key": "k"}) == {}
    assert not (folder / "k").exists()
    assert call("deleteObject", {"Bucket": "data", "Key": "k"}) == {}
    failed = failure(call, "getObject", {"Bucket": "data", "Key": "k"})
    assert failed.error == "S3.NoSuchKeyException"


def test_delete_in_a_missing_bucket(call: Call) -> None:
    failed = failure(call, "deleteObject", {"Bucket": "nope", "Key": "k"})
    assert_s3_failure(
        failed, "S3.NoSuchBucketException", "The specified bucket does not exist", 404
    )


# -- what never reaches the buckets -------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "parameters", "cause"),
    [
        # Step Functions's own words for these, recorded when a definition states them.
        ("putObject", {"Bucket": "data", "Key": "k"},
         "The field 'Body' is required but was missing"),
        ("putObject", {"bucket": "data", "Key": "k", "Body": "x"},
         "The field 'Bucket' is required but was missing"),
        ("putObject", {"Bucket": "data", "Key": "k", "Body": "x", "Bogus": True},
         'The field "Bogus" is not supported by Step Functions'),
        ("putObject", {"Bucket": "data", "Key": "k", "Body": "x", "contentType": "text/plain"},
         'The field "contentType" is not supported by Step Functions'),
        ("putObject", {"Bucket": 123, "Key": "k", "Body": "x"},
         "The value for the field 'Bucket' must be a STRING"),
        ("listObjectsV2", {"Bucket": "data", "MaxKeys": "2"},
         "The value for the field 'MaxKeys' must be an INTEGER"),
        ("listObjectsV2", {"Bucket": "data", "MaxKeys": 2.0},
         "The value for the field 'MaxKeys' must be an INTEGER"),
        ("getObject", {"Bucket": "data", "Key": None},
         "The field 'Key' is required but was missing"),
        ("getObject", {"Bucket": "data", "Key": "k", "IfModifiedSince": "yesterday"},
         "The value for the field 'IfModifiedSince' must be a TIMESTAMP"),
        ("getObject", "k", "The Parameters of an AWS SDK task must be a JSON object"),
        ("copyObject", {"Bucket": "data", "Key": "k"},
         "redstep's S3 integration does not support copyObject: it supports deleteObject, "
         "getObject, headObject, listObjectsV2, putObject"),
        ("getObjectV2", {"Bucket": "data", "Key": "k"},
         "The resource provided arn:aws:states:::aws-sdk:s3:getObjectV2 is not recognized. The "
         "value is not a valid resource ARN, or the resource is not available in this region."),
        ("GetObject", {"Bucket": "data", "Key": "k"},
         "The resource provided arn:aws:states:::aws-sdk:s3:GetObject is not recognized. The "
         "value is not a valid resource ARN, or the resource is not available in this region."),
    ],
)  # fmt: skip
def test_failures_of_the_integration_are_states_runtime(
    call: Call, folder: Path, action: str, parameters: Any, cause: str
) -> None:
    failed = failure(call, action, parameters)
    assert (failed.error, failed.cause) == ("States.Runtime", cause)
    assert not folder.exists() or not any(folder.iterdir())


def test_a_timestamp_parameter_is_read_as_an_instant(call: Call, buckets: Buckets) -> None:
    call("putObject", {"Bucket": "data", "Key": "k", "Body": "x"})
    since = buckets.head("data", "k").last_modified - timedelta(days=1)
    for written in (instant_text(since), since.timestamp(), "2000-01-01T00:00:00.5+02:00"):
        assert call("getObject", {"Bucket": "data", "Key": "k", "IfModifiedSince": written})


# -- names --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("member", "name"),
    [
        ("ETag", "ETag"),  # recorded
        ("ID", "Id"),  # recorded: Owner {"Id": …}
        ("ChecksumCRC32", "ChecksumCRC32"),  # recorded
        ("ServerSideEncryption", "ServerSideEncryption"),  # recorded
        ("SSEKMSKeyId", "SsekmsKeyId"),
        ("SSECustomerKeyMD5", "SseCustomerKeyMD5"),
        ("ACL", "Acl"),
        ("ContentMD5", "ContentMD5"),
    ],
)
def test_member_names_are_the_sdks_properties_capitalized(member: str, name: str) -> None:
    assert sfn_name(member) == name

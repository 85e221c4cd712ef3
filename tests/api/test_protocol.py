"""Requests no client library would send get well-formed AWS errors, never a 500 with a traceback:
malformed bodies, wrong content types, unknown targets, oversized inputs, and, on a server that
holds credentials, unsigned or badly signed requests."""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Callable, Iterator
from typing import Any
from xml.etree import ElementTree

import anyio
import boto3
import httpx
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials as BotoCredentials
from botocore.exceptions import ClientError
from live_server import live_server
from starlette.requests import Request

from redstep.api.app import HEALTH_PATH, App
from redstep.api.awsjson import MAX_BODY_BYTES
from redstep.api.sigv4 import Credentials
from redstep.request_body import read_body_at_most
from redstep.services import Services

SFN = {"X-Amz-Target": "AWSStepFunctions.ListStateMachines"}
JSON_10 = "application/x-amz-json-1.0"
HELLO_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:hello"


def post(endpoint: str, body: bytes, **headers: str) -> httpx.Response:
    return httpx.post(endpoint, content=body, headers=headers, timeout=30)


def error_type(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("application/x-amz-json-1.")
    document = json.loads(response.content)
    assert set(document) <= {"__type", "message", "Message"}, document
    assert "Traceback" not in response.text
    return str(document["__type"])


@pytest.mark.parametrize(
    ("headers", "body", "status", "code"),
    [
        (
            {"X-Amz-Target": "AWSStepFunctions.ListStateMachines", "Content-Type": JSON_10},
            b"{not json",
            400,
            "com.amazon.coral.service#SerializationException",
        ),
        (
            {"X-Amz-Target": "AWSStepFunctions.ListStateMachines", "Content-Type": JSON_10},
            b"[1, 2]",
            400,
            "com.amazon.coral.service#SerializationException",
        ),
        (
            {"X-Amz-Target": "AWSStepFunctions.ListStateMachines", "Content-Type": "text/plain"},
            b"{}",
            400,
            "com.amazon.coral.service#UnknownOperationException",
        ),
        (
            {"X-Amz-Target": "AWSStepFunctions.DropEverything", "Content-Type": JSON_10},
            b"{}",
            400,
            "com.amazon.coral.service#UnknownOperationException",
        ),
        (
            {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": JSON_10},
            b"{}",
            400,
            "com.amazon.coral.service#UnknownOperationException",
        ),
        (
            {"X-Amz-Target": "RedshiftData.ExecuteStatement", "Content-Type": JSON_10},
            b"{}",
            400,
            "com.amazon.coral.service#UnknownOperationException",
        ),
        (
            {
                "X-Amz-Target": "RedshiftData.ExecuteStatement",
                "Content-Type": "application/x-amz-json-1.1",
            },
            b'{"Sql": 7}',
            400,
            "ValidationException",
        ),
        (
            {"X-Amz-Target": "AWSStepFunctions.StartExecution", "Content-Type": JSON_10},
            json.dumps({"stateMachineArn": HELLO_ARN, "input": {"not": "a string"}}).encode(),
            400,
            "com.amazon.coral.service#SerializationException",
        ),
    ],
)
def test_malformed_requests_get_aws_errors(
    endpoint: str, headers: dict[str, str], body: bytes, status: int, code: str
) -> None:
    response = post(endpoint, body, **headers)
    assert (response.status_code, error_type(response)) == (status, code)


def test_a_content_length_of_5000_digits_is_too_large_not_a_crash() -> None:
    """uvicorn refuses such a header itself; the app must too, behind any other server."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"content-length", b"9" * 5000)],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    assert anyio.run(read_body_at_most, Request(scope, receive), MAX_BODY_BYTES) is None


def test_an_oversized_body_is_refused_before_it_is_read_as_json(endpoint: str) -> None:
    body = b'{"input": "' + b"x" * MAX_BODY_BYTES + b'"}'
    response = post(endpoint, body, **SFN, **{"Content-Type": JSON_10})
    assert response.status_code == 413
    assert error_type(response) == "RequestEntityTooLargeException"


def test_an_oversized_execution_input_is_refused(endpoint: str) -> None:
    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    with pytest.raises(sfn.exceptions.ValidationException, match="less than or equal to 262144"):
        sfn.start_execution(stateMachineArn=HELLO_ARN, input=json.dumps("x" * 300_000))


def test_health(endpoint: str) -> None:
    response = httpx.get(endpoint + HEALTH_PATH)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


CREDENTIALS = Credentials("AKIDREDSTEP", "the-secret-key")


@pytest.fixture
def guarded(services: Services) -> Iterator[str]:
    """A server that holds credentials: every request must be signed with them."""
    with live_server(App(services, credentials=CREDENTIALS)) as url:
        yield url


def signed_client(endpoint: str, service: str, access_key: str, secret_key: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )


def test_a_credentialed_server_takes_signed_requests(guarded: str) -> None:
    sfn = signed_client(guarded, "stepfunctions", CREDENTIALS.access_key, CREDENTIALS.secret_key)
    assert [m["name"] for m in sfn.list_state_machines()["stateMachines"]] == ["hello"]
    s3 = signed_client(guarded, "s3", CREDENTIALS.access_key, CREDENTIALS.secret_key)
    s3.put_object(Bucket="data", Key="signed.txt", Body=b"ok")
    assert s3.get_object(Bucket="data", Key="signed.txt")["Body"].read() == b"ok"
    data = signed_client(guarded, "redshift-data", CREDENTIALS.access_key, CREDENTIALS.secret_key)
    submitted = data.execute_statement(Sql="select 1", Database="dev", WaitTimeSeconds=20)
    assert data.describe_statement(Id=submitted["Id"])["Status"] == "FINISHED"


def test_an_unsigned_upload_is_refused_before_its_body_is_read(guarded: str) -> None:
    """The refusal comes from the headers alone: the 10 GB announced are never sent."""
    host, port = guarded.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"X-Amz-Target: AWSStepFunctions.ListStateMachines\r\n"
            b"Content-Type: application/x-amz-json-1.0\r\nContent-Length: 10737418240\r\n\r\n"
        )
        status_line = connection.recv(4096).split(b"\r\n", 1)[0]
    assert status_line == b"HTTP/1.1 403 Forbidden"


def test_unsigned_requests_are_refused(guarded: str) -> None:
    response = post(guarded, b"{}", **SFN, **{"Content-Type": JSON_10})
    assert response.status_code == 403
    assert error_type(response) == "MissingAuthenticationTokenException"
    s3 = httpx.get(guarded + "/data/anything")
    assert s3.status_code == 403
    assert ElementTree.fromstring(s3.content).findtext("Code") == "AccessDenied"


@pytest.mark.parametrize(
    ("access_key", "secret_key", "json_code", "s3_code"),
    [
        ("AKIDREDSTEP", "a-wrong-secret", "InvalidSignatureException", "SignatureDoesNotMatch"),
        ("AKIDSOMEONE", "the-secret-key", "UnrecognizedClientException", "InvalidAccessKeyId"),
    ],
)
def test_badly_signed_requests_are_refused(
    guarded: str, access_key: str, secret_key: str, json_code: str, s3_code: str
) -> None:
    sfn = signed_client(guarded, "stepfunctions", access_key, secret_key)
    with pytest.raises(ClientError) as raised:
        sfn.list_state_machines()
    assert raised.value.response["Error"]["Code"] == json_code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    s3 = signed_client(guarded, "s3", access_key, secret_key)
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket="data", Key="anything")
    assert raised.value.response["Error"]["Code"] == s3_code
    assert CREDENTIALS.secret_key not in str(raised.value)


def test_every_path_and_method_gets_its_protocols_answer(endpoint: str) -> None:
    newline = httpx.get(endpoint + "/data/line1%0Aline2.txt")  # a key no folder can hold
    assert newline.status_code == 400
    assert ElementTree.fromstring(newline.content).findtext("Code") == "InvalidArgument"
    odd = httpx.request("PROPFIND", endpoint + "/data/x")
    assert odd.status_code in (405, 501)
    assert ElementTree.fromstring(odd.content).findtext("Code") in (
        "MethodNotAllowed",
        "NotImplemented",
    )


def test_json_without_a_target_or_not_posted_is_an_unknown_operation(endpoint: str) -> None:
    untargeted = post(endpoint, b"{}", **{"Content-Type": JSON_10})
    assert (untargeted.status_code, error_type(untargeted)) == (
        400,
        "com.amazon.coral.service#UnknownOperationException",
    )
    fetched = httpx.get(endpoint, headers={**SFN, "Content-Type": JSON_10})
    assert (fetched.status_code, error_type(fetched)) == (
        400,
        "com.amazon.coral.service#UnknownOperationException",
    )


def test_requests_for_another_host_name_are_refused_without_credentials(endpoint: str) -> None:
    """A page on evil.example whose name now resolves to 127.0.0.1 (DNS rebinding) gets nothing."""
    rebound = {"Host": "evil.example"}
    response = post(endpoint, b"{}", **SFN, **{"Content-Type": JSON_10}, **rebound)
    assert (response.status_code, error_type(response)) == (403, "AccessDeniedException")
    s3 = httpx.get(endpoint + "/data/anything", headers=rebound)
    assert s3.status_code == 403
    assert ElementTree.fromstring(s3.content).findtext("Code") == "AccessDenied"
    assert httpx.get(endpoint + HEALTH_PATH, headers={"Host": "localhost"}).status_code == 200


def test_a_signed_upload_whose_body_is_not_the_one_signed_is_refused(guarded: str) -> None:
    """The signature covers the declared hash; the S3 endpoint checks the body against it."""
    url = f"{guarded}/data/tampered.txt"
    request = AWSRequest(method="PUT", url=url, data=b"what was signed")
    request.headers["x-amz-content-sha256"] = hashlib.sha256(b"what was signed").hexdigest()
    S3SigV4Auth(
        BotoCredentials(CREDENTIALS.access_key, CREDENTIALS.secret_key), "s3", "us-east-1"
    ).add_auth(request)
    headers = dict(request.headers.items())
    response = httpx.put(url, content=b"something else!", headers=headers)
    assert response.status_code == 400
    assert ElementTree.fromstring(response.content).findtext("Code") == "XAmzContentSHA256Mismatch"
    assert httpx.put(url, content=b"what was signed", headers=headers).status_code == 200


def test_an_object_stored_with_a_json_protocols_content_type_is_still_s3(
    client: Callable[[str], Any],
) -> None:
    s3 = client("s3")
    s3.put_object(Bucket="data", Key="x.json", Body=b"{}", ContentType="application/x-amz-json-1.1")
    assert s3.get_object(Bucket="data", Key="x.json")["Body"].read() == b"{}"

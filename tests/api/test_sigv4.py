"""SigV4 verification against requests signed by botocore itself and sent by real clients.

Two sources of signed requests: `AWSRequest`s signed by botocore's signers at a pinned moment
(exact wordings, edge cases), and requests that boto3, the AWS CLI and a plain HTTP client sent
to a small recording server on 127.0.0.1, captured as the app sees them (raw path, raw query,
every header, the body). Every recorded request must pass with the right key and fail, in its
protocol's words, with anything changed. No test sleeps: `now` is an argument. `check_headers`,
the check made before a body is read, is held to the same refusals without the body.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import quote, urlsplit

import boto3
import httpx
import pytest
import uvicorn
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.compat import HTTPHeaders
from botocore.config import Config
from botocore.credentials import Credentials as BotocoreCredentials
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from redstep.api.sigv4 import (
    AuthFailure,
    Credentials,
    Protocol,
    Reason,
    check_headers,
    verify,
)

ACCESS_KEY = "AKIDTEST"
SECRET = "secret"
CREDENTIALS = Credentials(ACCESS_KEY, SECRET)
WRONG_SECRET = Credentials(ACCESS_KEY, "not-the-secret")
UNKNOWN_KEY = Credentials("AKIDOTHER", SECRET)
T0 = datetime(2024, 1, 1, tzinfo=UTC)
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
S3_KEY = "reports/2024 q1/é+x=1 100%.csv"
KEYS = ["a b", "a+b", "100%", "é/ü/日本", "k=v", "x&y?z#w", "~t*'()!", "a//b", "dot./..x"]

EXPECTED = {
    # reason: (JSON code, JSON status, S3 code, S3 status)
    Reason.MISSING: ("MissingAuthenticationTokenException", 403, "AccessDenied", 403),
    Reason.UNKNOWN_ACCESS_KEY: ("UnrecognizedClientException", 400, "InvalidAccessKeyId", 403),
    Reason.SIGNATURE_MISMATCH: ("InvalidSignatureException", 400, "SignatureDoesNotMatch", 403),
    Reason.SKEWED: ("InvalidSignatureException", 400, "RequestTimeTooSkewed", 403),
    Reason.EXPIRED: ("InvalidSignatureException", 400, "AccessDenied", 403),
    Reason.NOT_YET_VALID: ("InvalidSignatureException", 400, "AccessDenied", 403),
    Reason.MALFORMED: ("IncompleteSignatureException", 400, "AuthorizationHeaderMalformed", 400),
    Reason.MALFORMED_QUERY: (
        "IncompleteSignatureException",
        400,
        "AuthorizationQueryParametersError",
        400,
    ),
    Reason.UNSUPPORTED: ("IncompleteSignatureException", 400, "InvalidRequest", 400),
    Reason.MISSING_DATE: ("IncompleteSignatureException", 400, "AccessDenied", 403),
    Reason.CONFLICTING: ("IncompleteSignatureException", 400, "InvalidArgument", 400),
    Reason.CONTENT_SHA256_MISMATCH: (
        "InvalidSignatureException",
        400,
        "XAmzContentSHA256Mismatch",
        400,
    ),
    Reason.MISSING_CONTENT_SHA256: ("InvalidSignatureException", 400, "InvalidRequest", 400),
    Reason.INVALID_CONTENT_SHA256: ("InvalidSignatureException", 400, "InvalidArgument", 400),
    Reason.UNSIGNED_HEADERS: ("InvalidSignatureException", 403, "AccessDenied", 403),
}


@dataclass(frozen=True)
class Wire:
    """A request as the app sees it: raw path and query, every header, the body."""

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @property
    def protocol(self) -> Protocol:
        return Protocol.JSON if self.header("x-amz-target") is not None else Protocol.S3

    @property
    def is_presigned(self) -> bool:
        return "X-Amz-Signature=" in self.query

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def signed_at(self) -> datetime:
        if self.is_presigned:
            stamp = next(p[11:] for p in self.query.split("&") if p.startswith("X-Amz-Date="))
        else:
            stamp = self.header("x-amz-date") or ""
        return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)

    def with_header(self, name: str, value: str) -> Wire:
        kept = tuple((k, v) for k, v in self.headers if k.lower() != name.lower())
        return replace(self, headers=(*kept, (name, value)))

    def without_header(self, name: str) -> Wire:
        kept = tuple((k, v) for k, v in self.headers if k.lower() != name.lower())
        return replace(self, headers=kept)

    def with_query(self, change: Callable[[list[str]], list[str]]) -> Wire:
        return replace(self, query="&".join(change(self.query.split("&") if self.query else [])))


def check(
    wire: Wire,
    credentials: Credentials = CREDENTIALS,
    *,
    now: datetime | None = None,
    protocol: Protocol | None = None,
) -> None:
    """Verify `wire` as the app does: raw text, starlette's headers, the clock at its signing."""
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in wire.headers]
    verify(
        credentials,
        method=wire.method,
        path=wire.path,
        query=wire.query,
        headers=Headers(raw=raw),
        body=wire.body,
        now=wire.signed_at() if now is None else now,
        protocol=wire.protocol if protocol is None else protocol,
    )


def check_only_headers(
    wire: Wire,
    credentials: Credentials = CREDENTIALS,
    *,
    now: datetime | None = None,
    protocol: Protocol | None = None,
) -> None:
    """`check_headers` as the app calls it before reading the body: no method, path or body."""
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in wire.headers]
    check_headers(
        credentials,
        query=wire.query,
        headers=Headers(raw=raw),
        now=wire.signed_at() if now is None else now,
        protocol=wire.protocol if protocol is None else protocol,
    )


def refusal(wire: Wire, credentials: Credentials = CREDENTIALS, **kwargs: Any) -> AuthFailure:
    with pytest.raises(AuthFailure) as caught:
        check(wire, credentials, **kwargs)
    return caught.value


def refusal_before_body(
    wire: Wire, credentials: Credentials = CREDENTIALS, **kwargs: Any
) -> AuthFailure:
    with pytest.raises(AuthFailure) as caught:
        check_only_headers(wire, credentials, **kwargs)
    return caught.value


def same_refusal(first: AuthFailure, second: AuthFailure) -> bool:
    return (first.reason, first.code, first.http_status, first.message, dict(first.details)) == (
        second.reason,
        second.code,
        second.http_status,
        second.message,
        dict(second.details),
    )


def assert_refused(failure: AuthFailure, reason: Reason, protocol: Protocol) -> None:
    json_code, json_status, s3_code, s3_status = EXPECTED[reason]
    assert failure.reason is reason
    assert failure.protocol is protocol
    if protocol is Protocol.JSON:
        assert (failure.code, failure.http_status) == (json_code, json_status)
    else:
        assert (failure.code, failure.http_status) == (s3_code, s3_status)


def from_request(request: AWSRequest) -> Wire:
    """What the server receives for a botocore request (the HTTP client adds Host)."""
    url = urlsplit(request.url)
    headers = [
        (k, v.decode("latin-1") if isinstance(v, bytes) else str(v))
        for k, v in request.headers.items()
    ]
    if not any(k.lower() == "host" for k, _ in headers):
        headers.insert(0, ("host", url.netloc))
    body = request.body
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode()
    return Wire(request.method, url.path, url.query, tuple(headers), body or b"")


def from_url(method: str, url: str, body: bytes = b"") -> Wire:
    parts = urlsplit(url)
    return Wire(method, parts.path, parts.query, (("host", parts.netloc),), body)


def signed(
    request: AWSRequest, service: str, *, signer: type[SigV4Auth] = SigV4Auth, at: datetime = T0
) -> Wire:
    """`request` signed by botocore as of `at`."""
    with mock.patch("botocore.auth.get_current_datetime", return_value=at):
        signer(BotocoreCredentials(ACCESS_KEY, SECRET), service, "us-east-1").add_auth(request)
    return from_request(request)


def signing_only(names: set[str], signer: type[SigV4Auth] = SigV4Auth) -> type[SigV4Auth]:
    """botocore's `signer`, signing only the headers in `names`: a client that leaves some out."""

    class Partial(signer):  # type: ignore[misc]  # botocore ships no type hints
        def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
            kept = HTTPHeaders()
            for name, value in super().headers_to_sign(request).items():
                if name in names:
                    kept[name] = value
            return kept

    return Partial


def states_call(body: bytes = b'{"maxResults": 10}') -> AWSRequest:
    return AWSRequest(
        "POST",
        "http://localhost:8642/",
        headers={
            "X-Amz-Target": "AWSStepFunctions.ListStateMachines",
            "Content-Type": "application/x-amz-json-1.0",
        },
        data=body,
    )


def s3_client(endpoint: str, **config: Any) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET,
        config=Config(s3={"addressing_style": "path"}, **config),
    )


def presigned(method: str, operation: str, key: str = S3_KEY, expires: int = 60) -> Wire:
    client = s3_client("http://127.0.0.1:9000", signature_version="s3v4")
    with mock.patch("botocore.auth.get_current_datetime", return_value=T0):
        url = client.generate_presigned_url(
            operation, Params={"Bucket": "bucket", "Key": key}, ExpiresIn=expires
        )
    return from_url(method, url)


# --- credentials and wordings --------------------------------------------------------------


def test_credentials_never_show_the_secret() -> None:
    credentials = Credentials("AKIDSHOWN", "hidden-secret-value")
    assert "hidden-secret-value" not in repr(credentials)
    assert "hidden-secret-value" not in str(credentials)
    assert "AKIDSHOWN" in repr(credentials)
    assert not hasattr(credentials, "__dict__")


def test_every_reason_has_aws_words_in_both_protocols() -> None:
    assert set(EXPECTED) == set(Reason)
    for reason in Reason:
        for protocol in Protocol:
            failure = AuthFailure(reason, protocol)
            assert failure.message
            assert str(failure) == f"{failure.code}: {failure.message}"
            assert_refused(failure, reason, protocol)


# --- header-signed requests from botocore's signer -------------------------------------------


def test_a_json_request_signed_by_botocore_passes() -> None:
    check(signed(states_call(), "states"))


def test_a_json_request_passes_within_fifteen_minutes_either_way() -> None:
    wire = signed(states_call(), "states")
    check(wire, now=T0 + timedelta(minutes=15))
    check(wire, now=T0 - timedelta(minutes=15))


def test_json_skew_is_worded_as_aws_words_it() -> None:
    wire = signed(states_call(), "states")
    late = refusal(wire, now=T0 + timedelta(minutes=16))
    assert_refused(late, Reason.SKEWED, Protocol.JSON)
    assert late.message == (
        "Signature expired: 20240101T000000Z is now earlier than 20240101T000100Z "
        "(20240101T001600Z - 15 min.)"
    )
    early = refusal(wire, now=T0 - timedelta(minutes=16))
    assert early.message == (
        "Signature not yet current: 20240101T000000Z is still later than 20231231T235900Z "
        "(20231231T234400Z + 15 min.)"
    )


def test_s3_skew_carries_the_times_s3_reports() -> None:
    wire = signed(AWSRequest("GET", "http://127.0.0.1:9000/bucket/key"), "s3", signer=S3SigV4Auth)
    failure = refusal(wire, now=T0 + timedelta(minutes=16))
    assert_refused(failure, Reason.SKEWED, Protocol.S3)
    assert failure.message == (
        "The difference between the request time and the current time is too large."
    )
    assert dict(failure.details) == {
        "RequestTime": "20240101T000000Z",
        "ServerTime": "2024-01-01T00:16:00Z",
        "MaxAllowedSkewMilliseconds": "900000",
    }


def test_a_date_header_may_stand_in_for_x_amz_date() -> None:
    request = states_call()
    request.headers["Date"] = "placeholder: botocore signs with its own"
    wire = signed(request, "states")
    assert wire.header("x-amz-date") is None
    assert (wire.header("date") or "").startswith("Mon, 01 Jan 2024 00:00:00")
    check(wire, now=T0)


def test_json_payload_is_the_body_whatever_a_header_declares() -> None:
    request = states_call()
    request.headers["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD"
    failure = refusal(signed(request, "states"), now=T0)
    assert_refused(failure, Reason.SIGNATURE_MISMATCH, Protocol.JSON)


@pytest.mark.parametrize("key", KEYS)
def test_s3_keys_round_trip(key: str) -> None:
    url = f"http://127.0.0.1:9000/bucket/{quote(key, safe='/~')}?tagging=&versionId=a%2Bb"
    wire = signed(AWSRequest("PUT", url, data=b"hello"), "s3", signer=S3SigV4Auth)
    check(wire)
    listing = f"http://127.0.0.1:9000/bucket?list-type=2&prefix={quote(key, safe='')}"
    check(signed(AWSRequest("GET", listing), "s3", signer=S3SigV4Auth))


@pytest.mark.parametrize("key", KEYS)
def test_other_services_encode_the_path_twice(key: str) -> None:
    url = f"http://127.0.0.1:9000/2015-03-31/functions/{quote(key, safe='')}/invocations"
    request = AWSRequest("POST", url, data=b"{}")
    request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(b"{}").hexdigest()
    wire = signed(request, "lambda")
    check(wire, protocol=Protocol.JSON)
    # The same request canonicalised S3's way (encoded once) is not what was signed.
    assert_refused(refusal(wire, protocol=Protocol.S3), Reason.SIGNATURE_MISMATCH, Protocol.S3)


def test_path_encoding_choices_do_not_matter() -> None:
    wire = signed(
        AWSRequest("PUT", "http://127.0.0.1:9000/bucket/a%2Bb~c", data=b"x"),
        "s3",
        signer=S3SigV4Auth,
    )
    check(replace(wire, path="/bucket/a%2bb%7Ec"))
    assert_refused(
        refusal(replace(wire, path="/bucket/a+b~c%2F")), Reason.SIGNATURE_MISMATCH, Protocol.S3
    )


def test_s3_unsigned_payload_takes_any_body() -> None:
    request = AWSRequest("PUT", "https://127.0.0.1:9000/bucket/key", data=b"hello")
    request.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    wire = signed(request, "s3", signer=S3SigV4Auth)
    assert wire.header("X-Amz-Content-SHA256") == "UNSIGNED-PAYLOAD"
    check(replace(wire, body=b"anything at all"))


def test_s3_hex_payload_must_be_the_body() -> None:
    wire = signed(
        AWSRequest("PUT", "http://127.0.0.1:9000/bucket/key", data=b"hello"),
        "s3",
        signer=S3SigV4Auth,
    )
    failure = refusal(replace(wire, body=b"hellO"))
    assert_refused(failure, Reason.CONTENT_SHA256_MISMATCH, Protocol.S3)
    assert dict(failure.details) == {
        "ClientComputedContentSHA256": hashlib.sha256(b"hello").hexdigest(),
        "S3ComputedContentSHA256": hashlib.sha256(b"hellO").hexdigest(),
    }


def test_s3_needs_x_amz_content_sha256() -> None:
    wire = signed(AWSRequest("GET", "http://127.0.0.1:9000/bucket/key"), "s3")  # SigV4Auth
    failure = refusal(wire)
    assert_refused(failure, Reason.MISSING_CONTENT_SHA256, Protocol.S3)
    assert failure.message == "Missing required header for this request: x-amz-content-sha256"


def test_s3_refuses_a_payload_hash_it_does_not_know() -> None:
    request = AWSRequest("GET", "http://127.0.0.1:9000/bucket/key")
    request.headers["X-Amz-Content-SHA256"] = "SIGNED-WITH-LOVE"
    failure = refusal(signed(request, "s3"))
    assert_refused(failure, Reason.INVALID_CONTENT_SHA256, Protocol.S3)


def test_s3_refuses_unsigned_amz_headers() -> None:
    wire = signed(AWSRequest("GET", "http://127.0.0.1:9000/bucket/key"), "s3", signer=S3SigV4Auth)
    failure = refusal(wire.with_header("x-amz-meta-colour", "red"))
    assert_refused(failure, Reason.UNSIGNED_HEADERS, Protocol.S3)
    assert dict(failure.details) == {"HeadersNotSigned": "x-amz-meta-colour"}
    # Headers outside x-amz-* may be added on the way (proxies, HTTP clients).
    check(wire.with_header("user-agent", "curl/8").with_header("accept", "*/*"))


def test_repeated_headers_are_signed_joined() -> None:
    request = AWSRequest("GET", "http://127.0.0.1:9000/bucket/key")
    request.headers["x-amz-meta-tag"] = "one"
    request.headers["x-amz-meta-tag"] = "two"
    wire = signed(request, "s3", signer=S3SigV4Auth)
    assert [v for k, v in wire.headers if k == "x-amz-meta-tag"] == ["one", "two"]
    check(wire)
    only_one = replace(wire, headers=tuple(h for h in wire.headers if h[1] != "two"))
    assert_refused(refusal(only_one), Reason.SIGNATURE_MISMATCH, Protocol.S3)


def test_a_signed_header_that_is_missing_does_not_match() -> None:
    wire = signed(states_call(), "states")
    failure = refusal(wire.without_header("x-amz-target"), protocol=Protocol.JSON)
    assert_refused(failure, Reason.SIGNATURE_MISMATCH, Protocol.JSON)


def test_a_signature_mismatch_shows_what_was_expected_to_be_signed() -> None:
    wire = signed(AWSRequest("GET", "http://127.0.0.1:9000/bucket/key"), "s3", signer=S3SigV4Auth)
    failure = refusal(wire, WRONG_SECRET)
    assert failure.message == (
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method."
    )
    details = dict(failure.details)
    assert details["AWSAccessKeyId"] == ACCESS_KEY
    assert details["CanonicalRequest"].startswith("GET\n/bucket/key\n\nhost:127.0.0.1:9000\n")
    assert details["StringToSign"].startswith(
        "AWS4-HMAC-SHA256\n20240101T000000Z\n20240101/us-east-1/s3/aws4_request\n"
    )
    assert (
        bytes.fromhex(details["StringToSignBytes"].replace(" ", "")).decode()
        == (details["StringToSign"])
    )
    authorization = wire.header("authorization") or ""
    assert authorization.endswith(f"Signature={details['SignatureProvided']}")


def test_json_signature_mismatch_wording() -> None:
    failure = refusal(signed(states_call(), "states"), WRONG_SECRET)
    assert failure.message == (
        "The request signature we calculated does not match the signature you provided. Check "
        "your AWS Secret Access Key and signing method. Consult the service documentation for "
        "details."
    )


def test_unknown_access_key_names_it() -> None:
    failure = refusal(signed(states_call(), "states"), UNKNOWN_KEY)
    assert_refused(failure, Reason.UNKNOWN_ACCESS_KEY, Protocol.JSON)
    assert failure.message == "The security token included in the request is invalid."
    assert dict(failure.details) == {"AWSAccessKeyId": ACCESS_KEY}


BASE_HEADERS = (
    ("host", "localhost"),
    ("x-amz-date", "20240101T000000Z"),
    ("x-amz-content-sha256", EMPTY_SHA256),
)
GOOD_CREDENTIAL = "Credential=AKIDTEST/20240101/us-east-1/s3/aws4_request"


@pytest.mark.parametrize(
    ("authorization", "reason", "json_message", "s3_message"),
    [
        pytest.param(
            "AWS AKIDTEST:c2lnbmF0dXJl",
            Reason.UNSUPPORTED,
            "Authorization header requires 'Credential' parameter. Authorization header "
            "requires 'Signature' parameter. Authorization header requires 'SignedHeaders' "
            "parameter.",
            "The authorization mechanism you have provided is not supported. Please use "
            "AWS4-HMAC-SHA256.",
            id="signature-version-2",
        ),
        pytest.param("Bearer abc", Reason.UNSUPPORTED, None, None, id="bearer"),
        pytest.param(
            f"AWS4-HMAC-SHA256 {GOOD_CREDENTIAL}",
            Reason.MALFORMED,
            "Authorization header requires 'Signature' parameter. Authorization header "
            "requires 'SignedHeaders' parameter.",
            "The authorization header is malformed; the authorization header requires three "
            "components: Credential, SignedHeaders, and Signature.",
            id="incomplete",
        ),
        pytest.param(
            f"AWS4-HMAC-SHA256 {GOOD_CREDENTIAL}, SignedHeaders=host, Signature",
            Reason.MALFORMED,
            "'Signature' not a valid key=value pair (missing equal-sign) in Authorization header",
            None,
            id="missing-equals",
        ),
        pytest.param(
            "AWS4-HMAC-SHA256 Credential=AKIDTEST/us-east-1/s3/aws4_request, "
            "SignedHeaders=host, Signature=00",
            Reason.MALFORMED,
            'Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/'
            'aws4_request".',
            'The authorization header is malformed; the Credential is mal-formed; expecting "'
            '<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
            id="bad-credential",
        ),
        pytest.param(
            "AWS4-HMAC-SHA256 Credential=AKIDTEST/20240102/us-east-1/s3/aws4_request, "
            "SignedHeaders=host, Signature=00",
            Reason.MALFORMED,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            "from HTTP: '20240102' != '20240101', from '20240101T000000Z'.",
            "The authorization header is malformed; Invalid credential date. Date is not the "
            "same as X-Amz-Date.",
            id="credential-date",
        ),
    ],
)
@pytest.mark.parametrize("protocol", list(Protocol))
def test_malformed_authorization(
    authorization: str,
    reason: Reason,
    json_message: str | None,
    s3_message: str | None,
    protocol: Protocol,
) -> None:
    wire = Wire("GET", "/", "", (*BASE_HEADERS, ("authorization", authorization)), b"")
    failure = refusal(wire, now=T0, protocol=protocol)
    assert_refused(failure, reason, protocol)
    expected = json_message if protocol is Protocol.JSON else s3_message
    if expected is not None:
        assert failure.message == expected


@pytest.mark.parametrize("protocol", list(Protocol))
def test_a_header_signature_needs_a_date(protocol: Protocol) -> None:
    wire = signed(states_call(), "states").without_header("x-amz-date")
    assert_refused(refusal(wire, now=T0, protocol=protocol), Reason.MISSING_DATE, protocol)


@pytest.mark.parametrize("protocol", list(Protocol))
def test_header_and_query_signatures_together_are_refused(protocol: Protocol) -> None:
    wire = presigned("GET", "get_object").with_header("authorization", "AWS4-HMAC-SHA256 x=y")
    assert_refused(refusal(wire, protocol=protocol), Reason.CONFLICTING, protocol)


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        check(signed(states_call(), "states"), now=datetime(2024, 1, 1))


# --- what a signature must cover ------------------------------------------------------------


HOST_NOT_SIGNED = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
TARGET_NOT_SIGNED = "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."
CONTENT_TYPE_NOT_SIGNED = "'Content-Type' must be a 'SignedHeader' in the AWS Authorization."


def describe_execution() -> AWSRequest:
    return AWSRequest(
        "POST",
        "http://localhost:8642/",
        headers={
            "X-Amz-Target": "AWSStepFunctions.DescribeExecution",
            "Content-Type": "application/x-amz-json-1.0",
        },
        data=b'{"executionArn": "arn:aws:states:us-east-1:123456789012:execution:m:e"}',
    )


def test_a_json_signature_must_cover_host() -> None:
    wire = signed(states_call(), "states", signer=signing_only({"x-amz-date"}))
    assert "SignedHeaders=x-amz-date," in (wire.header("authorization") or "")
    failure = refusal(wire)
    assert_refused(failure, Reason.UNSIGNED_HEADERS, Protocol.JSON)
    assert failure.message == " ".join(
        [HOST_NOT_SIGNED, TARGET_NOT_SIGNED, CONTENT_TYPE_NOT_SIGNED]
    )
    assert same_refusal(refusal_before_body(wire), failure)


def test_a_json_signature_must_cover_the_operation() -> None:
    wire = signed(describe_execution(), "states", signer=signing_only({"host", "x-amz-date"}))
    swapped = wire.with_header("X-Amz-Target", "AWSStepFunctions.StopExecution")
    for request in (wire, swapped):
        failure = refusal(request)
        assert_refused(failure, Reason.UNSIGNED_HEADERS, Protocol.JSON)
        assert failure.message == f"{TARGET_NOT_SIGNED} {CONTENT_TYPE_NOT_SIGNED}"
        assert same_refusal(refusal_before_body(request), failure)
    # What the rule stops: the signature itself is good, and stays good over the other operation.
    with mock.patch("redstep.api.sigv4._check_signed_headers"):
        check(swapped)


def test_a_json_signature_must_cover_a_content_type_sent() -> None:
    covered = {"host", "x-amz-date", "x-amz-target"}
    wire = signed(describe_execution(), "states", signer=signing_only(covered))
    failure = refusal(wire)
    assert_refused(failure, Reason.UNSIGNED_HEADERS, Protocol.JSON)
    assert failure.message == CONTENT_TYPE_NOT_SIGNED
    # A request without a Content-Type need not sign one.
    request = describe_execution()
    del request.headers["Content-Type"]
    check(signed(request, "states", signer=signing_only(covered)))


def test_a_json_call_without_a_target_cannot_be_given_one() -> None:
    request = states_call()
    del request.headers["X-Amz-Target"]
    wire = signed(request, "states")
    check(wire, protocol=Protocol.JSON)  # no operation named: the app answers that, not sigv4
    added = wire.with_header("X-Amz-Target", "AWSStepFunctions.StopExecution")
    failure = refusal(added, protocol=Protocol.JSON)
    assert_refused(failure, Reason.UNSIGNED_HEADERS, Protocol.JSON)
    assert failure.message == TARGET_NOT_SIGNED


def test_a_json_signature_must_cover_every_amz_header() -> None:
    wire = signed(states_call(), "states")
    failure = refusal(wire.with_header("X-Amz-Security-Token", "a-token"))
    assert_refused(failure, Reason.UNSIGNED_HEADERS, Protocol.JSON)
    assert failure.message == (
        "'x-amz-security-token' must be a 'SignedHeader' in the AWS Authorization."
    )
    # Headers a client or proxy adds unsigned, and one the JSON services never read, may pass.
    check(
        wire.with_header("X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793")
        .with_header("User-Agent", "aws-cli/2")
        .with_header("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD")
    )


def test_an_s3_signature_must_cover_host() -> None:
    request = AWSRequest("GET", "http://127.0.0.1:9000/bucket/key")
    wire = signed(
        request,
        "s3",
        signer=signing_only({"x-amz-date", "x-amz-content-sha256"}, S3SigV4Auth),
    )
    failure = refusal(wire)
    assert_refused(failure, Reason.UNSIGNED_HEADERS, Protocol.S3)
    assert failure.message == "There were headers present in the request which were not signed"
    assert dict(failure.details) == {"HeadersNotSigned": "host"}
    assert same_refusal(refusal_before_body(wire), failure)


def test_a_presigned_url_must_cover_host() -> None:
    request = AWSRequest(
        "GET", "http://127.0.0.1:9000/bucket/key", headers={"x-amz-acl": "private"}
    )
    signer = signing_only({"x-amz-acl"}, S3SigV4QueryAuth)
    with mock.patch("botocore.auth.get_current_datetime", return_value=T0):
        signer(BotocoreCredentials(ACCESS_KEY, SECRET), "s3", "us-east-1", 60).add_auth(request)
    wire = from_url("GET", request.url).with_header("x-amz-acl", "private")
    assert "X-Amz-SignedHeaders=x-amz-acl&" in wire.query
    failure = refusal(wire)
    assert_refused(failure, Reason.UNSIGNED_HEADERS, Protocol.S3)
    assert dict(failure.details) == {"HeadersNotSigned": "host"}
    with mock.patch("redstep.api.sigv4._check_signed_headers"):
        check(wire)  # the URL is well signed, only not over its host


# --- before the body: check_headers ---------------------------------------------------------


def test_check_headers_takes_a_good_request_without_its_body() -> None:
    check_only_headers(signed(states_call(), "states"))
    check_only_headers(presigned("PUT", "put_object"))
    s3_put = AWSRequest("PUT", "http://127.0.0.1:9000/bucket/key", data=b"hello")
    check_only_headers(signed(s3_put, "s3", signer=S3SigV4Auth))


def test_check_headers_leaves_the_signature_and_the_body_to_verify() -> None:
    # Both need the body (the JSON services sign its hash): what passes here may yet fail.
    json_call = signed(states_call(), "states")
    check_only_headers(json_call, WRONG_SECRET)
    assert_refused(refusal(json_call, WRONG_SECRET), Reason.SIGNATURE_MISMATCH, Protocol.JSON)
    s3_put = signed(
        AWSRequest("PUT", "http://127.0.0.1:9000/bucket/key", data=b"hello"),
        "s3",
        signer=S3SigV4Auth,
    )
    tampered = replace(s3_put, body=b"hellO")
    check_only_headers(tampered)
    assert_refused(refusal(tampered), Reason.CONTENT_SHA256_MISMATCH, Protocol.S3)


def _invalid_sha256(wire: Wire) -> Wire:
    return wire.with_header("x-amz-content-sha256", "SIGNED-WITH-LOVE")


BEFORE_THE_BODY = [
    pytest.param(
        lambda: signed(states_call(), "states").without_header("authorization"),
        {},
        Reason.MISSING,
        id="missing",
    ),
    pytest.param(
        lambda: signed(states_call(), "states"),
        {"credentials": UNKNOWN_KEY},
        Reason.UNKNOWN_ACCESS_KEY,
        id="unknown-key",
    ),
    pytest.param(
        lambda: signed(states_call(), "states"),
        {"now": T0 + timedelta(minutes=16)},
        Reason.SKEWED,
        id="skewed",
    ),
    pytest.param(
        lambda: presigned("GET", "get_object"),
        {"now": T0 + timedelta(minutes=2)},
        Reason.EXPIRED,
        id="expired",
    ),
    pytest.param(
        lambda: presigned("GET", "get_object"),
        {"now": T0 - timedelta(minutes=16)},
        Reason.NOT_YET_VALID,
        id="not-yet-valid",
    ),
    pytest.param(
        lambda: signed(states_call(), "states").with_header("authorization", "AWS4-HMAC-SHA256 x"),
        {},
        Reason.MALFORMED,
        id="malformed",
    ),
    pytest.param(
        lambda: presigned("GET", "get_object").with_query(lambda ps: ps[1:]),
        {},
        Reason.MALFORMED_QUERY,
        id="malformed-query",
    ),
    pytest.param(
        lambda: signed(AWSRequest("GET", "http://127.0.0.1:9000/bucket/key"), "s3"),
        {},
        Reason.MISSING_CONTENT_SHA256,
        id="missing-content-sha256",
    ),
    pytest.param(
        lambda: _invalid_sha256(
            signed(AWSRequest("GET", "http://127.0.0.1:9000/b/k"), "s3", signer=S3SigV4Auth)
        ),
        {},
        Reason.INVALID_CONTENT_SHA256,
        id="invalid-content-sha256",
    ),
    pytest.param(
        lambda: signed(states_call(), "states").with_header("x-amz-meta-a", "1"),
        {},
        Reason.UNSIGNED_HEADERS,
        id="unsigned-headers",
    ),
]


@pytest.mark.parametrize(("make", "kwargs", "reason"), BEFORE_THE_BODY)
def test_check_headers_refuses_as_verify_does(
    make: Callable[[], Wire], kwargs: dict[str, Any], reason: Reason
) -> None:
    wire = make()
    credentials = kwargs.pop("credentials", CREDENTIALS)
    before = refusal_before_body(wire, credentials, **kwargs)
    assert_refused(before, reason, wire.protocol)
    # verify refuses it the same way, whatever the body: it never gets as far as reading it.
    with mock.patch("hashlib.sha256", side_effect=AssertionError("the body was hashed")):
        after = refusal(replace(wire, body=b"x" * 1024), credentials, **kwargs)
    assert same_refusal(before, after)


def test_check_headers_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        check_only_headers(signed(states_call(), "states"), now=datetime(2024, 1, 1))


# --- presigned URLs ----------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
def test_presigned_urls_pass(key: str) -> None:
    check(presigned("GET", "get_object", key), now=T0 + timedelta(seconds=30))
    check(presigned("PUT", "put_object", key), now=T0)


def test_a_presigned_put_takes_any_body() -> None:
    check(replace(presigned("PUT", "put_object"), body=b"uploaded by curl"))


def test_a_presigned_url_lives_exactly_its_expiry() -> None:
    wire = presigned("GET", "get_object", expires=60)
    check(wire, now=T0 + timedelta(seconds=60))
    failure = refusal(wire, now=T0 + timedelta(seconds=61))
    assert_refused(failure, Reason.EXPIRED, Protocol.S3)
    assert failure.message == "Request has expired"
    assert dict(failure.details) == {
        "X-Amz-Expires": "60",
        "Expires": "2024-01-01T00:01:00Z",
        "ServerTime": "2024-01-01T00:01:01Z",
    }


def test_a_presigned_url_from_the_future_is_not_yet_valid() -> None:
    wire = presigned("GET", "get_object")
    check(wire, now=T0 - timedelta(minutes=15))
    failure = refusal(wire, now=T0 - timedelta(minutes=16))
    assert_refused(failure, Reason.NOT_YET_VALID, Protocol.S3)
    assert failure.message == "Request is not yet valid"
    assert failure.details["X-Amz-Date"] == "1704067200000"


def test_a_presigned_url_cannot_be_edited() -> None:
    wire = presigned("GET", "get_object")
    longer = wire.with_query(
        lambda ps: ["X-Amz-Expires=3600" if p.startswith("X-Amz-Expires=") else p for p in ps]
    )
    assert_refused(refusal(longer), Reason.SIGNATURE_MISMATCH, Protocol.S3)
    added = wire.with_query(lambda ps: [*ps, "versionId=2"])
    assert_refused(refusal(added), Reason.SIGNATURE_MISMATCH, Protocol.S3)
    assert_refused(
        refusal(replace(wire, path=wire.path + "x")), Reason.SIGNATURE_MISMATCH, Protocol.S3
    )
    assert_refused(refusal(replace(wire, method="DELETE")), Reason.SIGNATURE_MISMATCH, Protocol.S3)


def test_query_encoding_choices_do_not_matter() -> None:
    wire = presigned("GET", "get_object")
    assert "%2F" in wire.query
    check(replace(wire, query=wire.query.replace("%2F", "%2f")))


def test_a_presigned_url_refuses_unsigned_amz_headers() -> None:
    wire = presigned("PUT", "put_object").with_header("x-amz-acl", "public-read")
    failure = refusal(wire)
    assert_refused(failure, Reason.UNSIGNED_HEADERS, Protocol.S3)
    assert failure.details["HeadersNotSigned"] == "x-amz-acl"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            lambda ps: [p for p in ps if not p.startswith("X-Amz-Expires=")],
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
            "X-Amz-Expires parameters.",
            id="missing-expires",
        ),
        pytest.param(
            lambda ps: [
                "X-Amz-Expires=604801" if p.startswith("X-Amz-Expires=") else p for p in ps
            ],
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
            id="over-a-week",
        ),
        pytest.param(
            lambda ps: [
                "X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256" if p.startswith("X-Amz-Algorithm=") else p
                for p in ps
            ],
            'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"',
            id="sigv4a",
        ),
        pytest.param(
            lambda ps: [
                "X-Amz-Date=2024-01-01T00:00:00Z" if p.startswith("X-Amz-Date=") else p for p in ps
            ],
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
            id="date-format",
        ),
    ],
)
def test_malformed_presigned_urls(change: Callable[[list[str]], list[str]], message: str) -> None:
    failure = refusal(presigned("GET", "get_object").with_query(change), now=T0)
    assert_refused(failure, Reason.MALFORMED_QUERY, Protocol.S3)
    assert failure.message == message


def test_signature_version_2_presigned_urls_are_not_supported() -> None:
    # boto3's generate_presigned_url still signs S3 URLs with SigV2 unless told s3v4.
    client = s3_client("http://127.0.0.1:9000")
    url = client.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    assert "AWSAccessKeyId=" in url
    failure = refusal(from_url("GET", url), now=T0)
    assert_refused(failure, Reason.UNSUPPORTED, Protocol.S3)


# --- secrets ---------------------------------------------------------------------------------


def test_no_refusal_or_log_line_shows_the_secret(caplog: pytest.LogCaptureFixture) -> None:
    secret = "wJalrXUtnFEMI/K7MDENG+redstep-must-never-show-this"
    token = "IQoJb3JpZ2luX2VjEHoaCXVzLWVhc3QtMSJHMEUCIQ-session-token"
    ours = Credentials(ACCESS_KEY, secret)
    with mock.patch("botocore.auth.get_current_datetime", return_value=T0):
        good = states_call()
        SigV4Auth(BotocoreCredentials(ACCESS_KEY, secret), "states", "us-east-1").add_auth(good)
        other = AWSRequest("GET", "http://127.0.0.1:9000/bucket/key")
        S3SigV4Auth(BotocoreCredentials(ACCESS_KEY, "x", token), "s3", "us-east-1").add_auth(other)
    with_token = from_request(other)
    assert with_token.header("x-amz-security-token") == token
    secret_in_header = with_token.with_header("authorization", f"AWS4-HMAC-SHA256 {secret}")
    refused: list[tuple[Wire, dict[str, Any]]] = [
        (with_token, {}),
        (with_token, {"now": T0 + timedelta(hours=1)}),
        (with_token.without_header("authorization"), {}),
        (secret_in_header, {}),
        (secret_in_header, {"protocol": Protocol.JSON}),
        (replace(presigned("GET", "get_object"), path="/x"), {}),
        (signed(states_call(), "states"), {}),
    ]
    caplog.clear()  # botocore logs what it signs, client-side; only the verifier is watched here
    # On the verifier's own logger: `redstep serve` run in process (tests/cli) sets redstep's.
    caplog.set_level(logging.DEBUG, logger="redstep.api.sigv4")
    check(from_request(good), ours)
    failures = [refusal(wire, ours, **kwargs) for wire, kwargs in refused]
    failures.append(refusal(with_token, Credentials("AKIDELSE", secret)))
    failures += [
        refusal_before_body(secret_in_header, ours),
        refusal_before_body(secret_in_header, ours, protocol=Protocol.JSON),
        refusal_before_body(with_token.with_header("x-amz-content-sha256", secret), ours),
    ]
    for failure in failures:
        shown = [str(failure), repr(failure), failure.message, *failure.details.values()]
        assert not any(secret in text for text in shown), failure
    assert any("[redacted]" in failure.message for failure in failures)
    assert caplog.records, "refusals are logged at debug level"
    assert secret not in caplog.text
    assert token not in caplog.text  # a client's session token stays out of the server's log


# --- requests real clients sent ------------------------------------------------------------


class _Raw:
    """The body of a short-circuited botocore response."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield b""


class _RecordingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()


@pytest.fixture(scope="module")
def recorder() -> Iterator[tuple[str, list[Wire]]]:
    """A server on 127.0.0.1 that records each request as the app would see it, answering 200."""
    recorded: list[Wire] = []

    async def record(request: Request) -> Response:
        recorded.append(
            Wire(
                request.method,
                request.scope["raw_path"].decode("latin-1"),
                request.scope["query_string"].decode("latin-1"),
                tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw),
                await request.body(),
            )
        )
        if "x-amz-target" in request.headers:
            return Response(b"{}", media_type="application/x-amz-json-1.0")
        return Response(b"")

    app = Starlette(
        routes=[Route("/{path:path}", record, methods=["GET", "PUT", "POST", "DELETE"])]
    )
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        lifespan="off",
        http="h11",
        ws="none",
        log_config=None,
        access_log=False,
    )
    server = _RecordingServer(config)
    thread = threading.Thread(target=server.run, name="sigv4-recorder", daemon=True)
    thread.start()
    try:
        assert server.ready.wait(timeout=20), "the recording server did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}", recorded
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET,
    )


def _over_https() -> Wire:
    """What boto3 sends for an S3 upload over https (aws-chunked), captured before sending.

    A TLS server is more than this test needs: botocore's `before-send` event hands over the
    request exactly as it would go on the wire, and takes a response in its place.
    """
    captured: list[Wire] = []

    def capture(request: Any, **_: Any) -> AWSResponse:
        captured.append(from_request(request))
        return AWSResponse(request.url, 200, {}, _Raw())

    client = s3_client("https://s3.redstep.test")
    client.meta.events.register("before-send", capture)
    client.put_object(Bucket="bucket", Key=S3_KEY, Body=b"over tls")
    return captured[0]


SCENARIOS = [
    "stepfunctions list_state_machines",
    "stepfunctions start_execution",
    "redshift-data execute_statement",
    "s3 put_object",
    "s3 get_object",
    "s3 list_objects_v2",
    "s3 put_object over https",
    "presigned get_object by httpx",
    "presigned put_object by httpx",
    "aws s3 cp",
]


@pytest.fixture(scope="module")
def recorded(
    recorder: tuple[str, list[Wire]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Wire]:
    endpoint, requests = recorder
    found: dict[str, Wire] = {}

    def capture(label: str, action: Callable[[], object]) -> None:
        before = len(requests)
        action()
        assert len(requests) == before + 1, f"{label} sent {len(requests) - before} requests"
        found[label] = requests[-1]

    states = _client("stepfunctions", endpoint)
    data = _client("redshift-data", endpoint)
    s3 = s3_client(endpoint)
    s3v4 = s3_client(endpoint, signature_version="s3v4")
    capture("stepfunctions list_state_machines", lambda: states.list_state_machines())
    capture(
        "stepfunctions start_execution",
        lambda: states.start_execution(
            stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:étape",
            input='{"city": "Zürich", "n": 1}',
        ),
    )
    capture(
        "redshift-data execute_statement",
        lambda: data.execute_statement(Sql="select 'é'", Database="dev", WorkgroupName="analytics"),
    )
    capture("s3 put_object", lambda: s3.put_object(Bucket="bucket", Key=S3_KEY, Body=b"a,b\n"))
    capture("s3 get_object", lambda: s3.get_object(Bucket="bucket", Key=S3_KEY))
    capture(
        "s3 list_objects_v2",
        lambda: s3.list_objects_v2(Bucket="bucket", Prefix="reports/2024 q1/é+", MaxKeys=5),
    )
    found["s3 put_object over https"] = _over_https()
    get_url = s3v4.generate_presigned_url(
        "get_object", Params={"Bucket": "bucket", "Key": S3_KEY}, ExpiresIn=300
    )
    put_url = s3v4.generate_presigned_url(
        "put_object", Params={"Bucket": "bucket", "Key": S3_KEY}, ExpiresIn=300
    )
    with httpx.Client() as http:
        capture("presigned get_object by httpx", lambda: http.get(get_url).raise_for_status())
        capture(
            "presigned put_object by httpx",
            lambda: http.put(put_url, content=b"uploaded").raise_for_status(),
        )
    capture("aws s3 cp", lambda: _aws_s3_cp(endpoint, tmp_path_factory.mktemp("awscli")))
    assert sorted(found) == sorted(SCENARIOS)
    return found


def _aws_s3_cp(endpoint: str, home: Path) -> None:
    aws = Path(sys.executable).with_name("aws")
    if not aws.exists():
        pytest.skip(f"the AWS CLI is not installed next to {sys.executable}")
    upload = home / "upload.csv"
    upload.write_bytes(b"x,y\n1,2\n")
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(home / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    subprocess.run(
        [str(aws), "--endpoint-url", endpoint, "s3", "cp", str(upload), f"s3://bucket/{S3_KEY}"],
        env=environment,
        check=True,
        capture_output=True,
        timeout=60,
    )


def _strip_signature(wire: Wire) -> Wire:
    if wire.is_presigned:
        return wire.with_query(lambda ps: [p for p in ps if not p.startswith("X-Amz-")])
    return wire.without_header("authorization")


def test_the_clients_sent_what_the_module_docstring_says(recorded: dict[str, Wire]) -> None:
    over_http = recorded["s3 put_object"]
    assert over_http.header("x-amz-content-sha256") == hashlib.sha256(b"a,b\n").hexdigest()
    assert over_http.header("content-encoding") is None
    assert over_http.header("x-amz-checksum-crc32") is not None
    assert over_http.path == "/bucket/reports/2024%20q1/%C3%A9%2Bx%3D1%20100%25.csv"
    over_tls = recorded["s3 put_object over https"]
    assert over_tls.header("x-amz-content-sha256") == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert over_tls.header("content-encoding") == "aws-chunked"
    assert recorded["presigned get_object by httpx"].header("user-agent") is not None
    for label in ("stepfunctions list_state_machines", "redshift-data execute_statement"):
        authorization = recorded[label].header("authorization") or ""
        assert "SignedHeaders=content-type;host;x-amz-date;x-amz-target," in authorization


@pytest.mark.parametrize("label", SCENARIOS)
def test_recorded_requests_pass(recorded: dict[str, Wire], label: str) -> None:
    wire = recorded[label]
    check(wire)
    check(wire, now=wire.signed_at() + timedelta(minutes=5))


@pytest.mark.parametrize("label", SCENARIOS)
def test_recorded_requests_pass_before_their_body(recorded: dict[str, Wire], label: str) -> None:
    wire = recorded[label]
    check_only_headers(wire)
    check_only_headers(wire, WRONG_SECRET)  # the secret is only needed for the signature


@pytest.mark.parametrize("label", SCENARIOS)
def test_recorded_requests_fail_with_a_wrong_secret(recorded: dict[str, Wire], label: str) -> None:
    wire = recorded[label]
    failure = refusal(wire, WRONG_SECRET)
    assert_refused(failure, Reason.SIGNATURE_MISMATCH, wire.protocol)


@pytest.mark.parametrize("label", SCENARIOS)
def test_recorded_requests_fail_with_an_unknown_key(recorded: dict[str, Wire], label: str) -> None:
    wire = recorded[label]
    assert_refused(refusal(wire, UNKNOWN_KEY), Reason.UNKNOWN_ACCESS_KEY, wire.protocol)


@pytest.mark.parametrize("label", SCENARIOS)
def test_recorded_requests_with_a_tampered_body(recorded: dict[str, Wire], label: str) -> None:
    wire = recorded[label]
    tampered = replace(wire, body=wire.body + b" ")
    declared = wire.header("x-amz-content-sha256") or ""
    is_hex = len(declared) == 64 and set(declared) <= set("0123456789abcdef")
    if wire.protocol is Protocol.JSON:
        assert_refused(refusal(tampered), Reason.SIGNATURE_MISMATCH, Protocol.JSON)
    elif wire.is_presigned or not is_hex:
        check(tampered)  # UNSIGNED-PAYLOAD and STREAMING-*: S3 takes the body as it comes
    else:
        assert_refused(refusal(tampered), Reason.CONTENT_SHA256_MISMATCH, Protocol.S3)


@pytest.mark.parametrize("label", SCENARIOS)
def test_recorded_requests_with_a_tampered_header(recorded: dict[str, Wire], label: str) -> None:
    wire = recorded[label]
    host = wire.header("host") or ""
    tampered = wire.with_header("host", host.replace("127.0.0.1", "localhost") + "0")
    assert_refused(refusal(tampered), Reason.SIGNATURE_MISMATCH, wire.protocol)
    moved = replace(wire, path=wire.path.rstrip("/") + "/elsewhere")
    assert_refused(refusal(moved), Reason.SIGNATURE_MISMATCH, wire.protocol)


@pytest.mark.parametrize("label", SCENARIOS)
def test_recorded_requests_without_a_signature(recorded: dict[str, Wire], label: str) -> None:
    wire = recorded[label]
    failure = refusal(_strip_signature(wire), now=wire.signed_at())
    assert_refused(failure, Reason.MISSING, wire.protocol)


@pytest.mark.parametrize("label", SCENARIOS)
@pytest.mark.parametrize("minutes", [16, -16])
def test_recorded_requests_sixteen_minutes_off(
    recorded: dict[str, Wire], label: str, minutes: int
) -> None:
    wire = recorded[label]
    failure = refusal(wire, now=wire.signed_at() + timedelta(minutes=minutes))
    if not wire.is_presigned:
        assert_refused(failure, Reason.SKEWED, wire.protocol)
    elif minutes > 0:
        assert_refused(failure, Reason.EXPIRED, wire.protocol)
    else:
        assert_refused(failure, Reason.NOT_YET_VALID, wire.protocol)

"""AWS Signature Version 4 checked on incoming requests: was this request signed with our key?

This module owns that question and nothing else: it reads the signature a client sent (the
`Authorization` header, or a presigned URL's `X-Amz-*` query parameters), rebuilds the request as
the client signed it and lets botocore's own signer compute what the signature must be. Nothing of
the canonical request is re-implemented here: `SigV4Auth` (and `S3SigV4Auth`, which does not
re-encode the path) builds it, at the request's own timestamp and credential scope, from exactly
the headers the client listed in SignedHeaders.

The work comes in two calls, so that a server neither reads a body it will refuse nor hashes one
on its event loop:

    now = clock()                               # one moment for both calls
    check_headers(credentials, query=raw_query, headers=..., now=now, protocol=Protocol.JSON)
    body = ...                                  # only now read the body, capped in size
    verify(credentials, method=..., path=raw_path, query=raw_query, headers=..., body=body,
           now=now, protocol=Protocol.JSON)     # in a worker thread: it hashes the body

Each returns None or raises `AuthFailure`. `check_headers` is what the headers and the query alone
can tell, and costs microseconds; `verify` repeats it and then checks the signature and the body,
so a caller that only calls `verify` is as safe, just later.

What is checked, in AWS's order (the first five by `check_headers`):

* the form of the signature (algorithm, Credential, SignedHeaders, Signature, the date);
* the access key is ours;
* the time: a header-signed request dated more than 15 minutes from `now` is refused; a presigned
  URL is refused after `X-Amz-Date + X-Amz-Expires` (at most seven days), or while its date is
  more than 15 minutes ahead;
* for S3, the form of the payload hash the client declared in `x-amz-content-sha256` (a hex
  SHA-256, `UNSIGNED-PAYLOAD`, or one of the `STREAMING-*` forms); for the JSON services the
  payload hash is always the body's own;
* that the signature covers what it must: `host` always, as AWS requires of header and presigned
  signatures alike (else a signature could be replayed against another endpoint); for the JSON
  services also `x-amz-target`, which names the operation, and `content-type`, which says how
  the body is read, when sent; and every `x-amz-*` header sent (but `x-amz-content-sha256`,
  which is checked against the body or not read at all). boto3 and the AWS CLI sign
  `content-type;host;x-amz-date;x-amz-target` (and `x-amz-security-token` with a session) for
  the JSON services, and `host` and every `x-amz-*` header for S3;
* the signature, compared in constant time;
* for S3, that a hex payload hash is the body's.

For the `STREAMING-*` payloads (`aws-chunked` bodies) only the seed signature, over the headers,
is checked; a `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` body's chunk signatures are not. botocore 1.44
sends `STREAMING-UNSIGNED-PAYLOAD-TRAILER` for S3 uploads over https only; over plain http it
sends the body's hex SHA-256 and the checksum in an `x-amz-checksum-*` header. Only the
`AWS4-HMAC-SHA256` algorithm is taken: Signature Version 2 (which boto3's `generate_presigned_url`
still produces unless the client is configured with `signature_version="s3v4"`) and SigV4a are
refused as AWS refuses what it does not support. The region and the service named in the
credential scope are taken as the client gives them, and a session token (`X-Amz-Security-Token`)
is signed like any other header but not checked: the server knows one key pair and no sessions.

No secret reaches a message, a repr or a log line: `Credentials` hides its secret key, a refusal
carries only what the client sent or could compute itself, and should a client send the secret
where a refusal echoes its input, it is redacted.

A refusal is an `AuthFailure` naming its `Reason`, with AWS's code, message and status in the
request's `Protocol`; those three, and the wordings with their sources, live in `authfailure`
and are re-exported here.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Final
from urllib.parse import quote, unquote_to_bytes

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials as BotocoreCredentials

from redstep.api.authfailure import AuthFailure, Protocol, Reason

__all__ = [
    "AuthFailure",
    "Credentials",
    "Protocol",
    "Reason",
    "check_headers",
    "verify",
]

log = logging.getLogger("redstep.api.sigv4")

ALGORITHM: Final = "AWS4-HMAC-SHA256"
MAX_SKEW: Final = timedelta(minutes=15)
"""How far a request's date may be from the server's clock (AWS's rule)."""
MAX_EXPIRES_SECONDS: Final = 7 * 24 * 60 * 60
"""The longest a presigned URL may live (AWS's rule)."""

_TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_TIMESTAMP = re.compile(r"\d{8}T\d{6}Z")
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_CREDENTIAL_FORM = '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request"'
_UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_STREAMING_PAYLOADS = frozenset(
    {
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    }
)
_QUERY_PARAMETERS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)
_S3_MALFORMED = "The authorization header is malformed; "
_EXEMPT_FROM_SIGNING = "x-amz-content-sha256"
"""The one `x-amz-*` header that may go unsigned: S3 checks it against the body, and the JSON
services never read it (they hash the body themselves)."""
_QUOTED_HEADER_NAMES: Final = {
    "host": "'Host' or ':authority'",
    "x-amz-target": "'X-Amz-Target'",
    "content-type": "'Content-Type'",
}
"""How the JSON services' refusals name the headers a signature must cover; others go by their
wire names."""
_PLACEHOLDER_ORIGIN = "http://redstep.invalid"
"""The URL botocore's signer is handed needs an origin; only its path and query are read."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """The key pair requests must be signed with; its repr never shows the secret."""

    access_key: str
    secret_key: str = field(repr=False)


def _refusal(
    reason: Reason,
    protocol: Protocol,
    *,
    json: str | None = None,
    s3: str | None = None,
    details: Mapping[str, str] | None = None,
) -> AuthFailure:
    """A refusal whose message, where it has one of its own, differs between the protocols."""
    return AuthFailure(
        reason, protocol, message=s3 if protocol is Protocol.S3 else json, details=details
    )


@dataclass(frozen=True, slots=True)
class _Claim:
    """What a request says about its own signature."""

    access_key: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    timestamp: str
    """The request's date in SigV4's basic form (`20240101T000000Z`), as signed."""
    request_time: datetime
    expires: int | None
    """A presigned URL's lifetime in seconds; None for a header-signed request."""


@dataclass(frozen=True, slots=True)
class _Checked:
    """A request whose headers and query passed: what the signature check goes on with."""

    claim: _Claim
    by_name: Mapping[str, list[str]]
    pairs: list[tuple[bytes, bytes]]
    declared_payload_hash: str | None
    """The payload hash an S3 request declares (or a presigned URL implies); None for the JSON
    services, whose payload hash is the body's own."""


def check_headers(
    credentials: Credentials,
    *,
    query: str | bytes,
    headers: Mapping[str, str],
    now: datetime,
    protocol: Protocol,
) -> None:
    """Check what the headers and query alone can tell, before the body is read; or raise.

    Refuses, with the same `AuthFailure`s as `verify`, a request without a well-formed signature,
    signed with another access key, dated out of its time window, declaring a payload hash S3
    does not know, or whose signature leaves out a header it must cover. A request that passes
    still needs `verify`, with its body, for the signature itself; pass both calls the same
    `now`, so that the time taken to read the body cannot turn a pass into a refusal. `query`
    and `headers` are as `verify` takes them.
    """
    with _refusals_redacted(credentials, now):
        _check_headers(credentials, query, headers, now, protocol)


def verify(
    credentials: Credentials,
    *,
    method: str,
    path: str | bytes,
    query: str | bytes,
    headers: Mapping[str, str],
    body: bytes | None,
    now: datetime,
    protocol: Protocol,
) -> None:
    """Check that a request is signed with `credentials`, or raise `AuthFailure`.

    Everything `check_headers` checks is checked again first, so this call alone is enough;
    then the signature, and for S3 the body's hash. It hashes the whole body: a server should
    call it off its event loop. An S3 request signs the hash its `x-amz-content-sha256` header
    declares, not the body itself, so its signature can be checked before the body is read:
    `body=None` does that, leaving the comparison of body and declared hash to whoever reads the
    body (the S3 endpoint does, as the content streams in). A JSON request's body is part of its
    signature and must be given. `path` and `query` are as they came on the wire, still
    percent-encoded (text is taken as the latin-1 decoding of those bytes, as ASGI's `raw_path`
    decodes losslessly). `headers` may be any mapping whose `items()` yields every header
    (starlette's `Headers` yields repeated ones too); names are matched without regard to case.
    `now` must be timezone-aware.
    """
    with _refusals_redacted(credentials, now):
        checked = _check_headers(credentials, query, headers, now, protocol)
        _check_body(credentials, checked, method, path, body, protocol)


@contextmanager
def _refusals_redacted(credentials: Credentials, now: datetime) -> Iterator[None]:
    """Refusals raised inside, logged by their verdict only and without the secret."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    try:
        yield
    except AuthFailure as failure:
        # Only the verdict is logged: a refusal's message and details echo what the client sent,
        # which may hold its session token.
        log.debug("signature refused: %s (%s)", failure.reason, failure.code)
        raise _redacted(failure, credentials.secret_key) from None


def _redacted(failure: AuthFailure, secret: str) -> AuthFailure:
    """`failure` without the secret, should a client have sent it where a refusal echoes it."""
    texts = [failure.message, *failure.details.values()]
    if not secret or not any(secret in text for text in texts):
        return failure
    return AuthFailure(
        failure.reason,
        failure.protocol,
        message=failure.message.replace(secret, "[redacted]"),
        details={
            key: value.replace(secret, "[redacted]") for key, value in failure.details.items()
        },
    )


def _check_headers(
    credentials: Credentials,
    query: str | bytes,
    headers: Mapping[str, str],
    now: datetime,
    protocol: Protocol,
) -> _Checked:
    by_name = _headers_by_name(headers)
    pairs = _query_pairs(query)
    names = {name for name, _ in pairs}
    authorization = by_name.get("authorization")
    is_presigned = bool(names & {b"X-Amz-Algorithm", b"X-Amz-Credential", b"X-Amz-Signature"})
    if authorization and not authorization[0].strip():
        authorization = None
    if authorization and is_presigned:
        raise AuthFailure(Reason.CONFLICTING, protocol)
    if authorization:
        claim = _claim_from_header(authorization[0], by_name, protocol)
    elif is_presigned:
        claim = _claim_from_query(pairs, protocol)
    elif b"Signature" in names and b"AWSAccessKeyId" in names:
        raise AuthFailure(Reason.UNSUPPORTED, protocol)  # a Signature Version 2 presigned URL
    else:
        raise AuthFailure(Reason.MISSING, protocol)

    if not hmac.compare_digest(claim.access_key.encode(), credentials.access_key.encode()):
        raise AuthFailure(
            Reason.UNKNOWN_ACCESS_KEY, protocol, details={"AWSAccessKeyId": claim.access_key}
        )
    _check_time(claim, now, protocol)
    declared = _declared_payload_hash(claim, by_name, protocol)
    _check_signed_headers(claim, by_name, protocol)
    return _Checked(claim, by_name, pairs, declared)


def _check_body(
    credentials: Credentials,
    checked: _Checked,
    method: str,
    path: str | bytes,
    body: bytes | None,
    protocol: Protocol,
) -> None:
    """The signature over the whole request, then whether the body is the one S3 was promised."""
    payload_hash = checked.declared_payload_hash
    if payload_hash is None:
        if body is None:
            raise ValueError("a JSON request's signature covers its body: give the body")
        # The JSON services hash the body they received, whatever a header declares: a client
        # that signed another value (UNSIGNED-PAYLOAD, say) simply does not match.
        payload_hash = hashlib.sha256(body).hexdigest()
    _check_signature(
        credentials,
        checked.claim,
        method,
        path,
        checked.pairs,
        checked.by_name,
        payload_hash,
        protocol,
    )
    if body is not None and protocol is Protocol.S3 and _HEX_SHA256.fullmatch(payload_hash):
        computed = hashlib.sha256(body).hexdigest()
        if computed != payload_hash.lower():
            raise AuthFailure(
                Reason.CONTENT_SHA256_MISMATCH,
                protocol,
                details={
                    "ClientComputedContentSHA256": payload_hash,
                    "S3ComputedContentSHA256": computed,
                },
            )


def _headers_by_name(headers: Mapping[str, str]) -> dict[str, list[str]]:
    """Every header's values under its lower-case name, repeated headers in order."""
    by_name: dict[str, list[str]] = {}
    for name, value in headers.items():
        by_name.setdefault(name.lower(), []).append(value)
    return by_name


def _wire_bytes(text: str | bytes) -> bytes:
    if isinstance(text, bytes):
        return text
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        # Not a decoding of wire bytes after all; what a client means by such text is UTF-8.
        return text.encode("utf-8")


def _query_pairs(query: str | bytes) -> list[tuple[bytes, bytes]]:
    """The query's parameters, percent-decoded (a `+` stays a `+`, as SigV4 encodes spaces)."""
    pairs = []
    for piece in _wire_bytes(query).split(b"&"):
        if piece:
            name, _, value = piece.partition(b"=")
            pairs.append((unquote_to_bytes(name), unquote_to_bytes(value)))
    return pairs


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


def _claim_from_header(
    authorization: str, by_name: Mapping[str, list[str]], protocol: Protocol
) -> _Claim:
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise AuthFailure(Reason.UNSUPPORTED, protocol)
    parts: dict[str, str] = {}
    for component in rest.split(","):
        component = component.strip()
        if not component:
            continue
        key, equals, value = component.partition("=")
        if not equals:
            raise _refusal(
                Reason.MALFORMED,
                protocol,
                json=f"'{component}' not a valid key=value pair (missing equal-sign) in "
                "Authorization header",
            )
        parts.setdefault(key.strip(), value.strip())
    missing = [name for name in ("Credential", "Signature", "SignedHeaders") if name not in parts]
    if missing:
        raise _refusal(
            Reason.MALFORMED,
            protocol,
            json=" ".join(f"Authorization header requires '{name}' parameter." for name in missing),
        )
    access_key, scope_date, region, service = _credential(
        parts["Credential"],
        lambda: _refusal(
            Reason.MALFORMED,
            protocol,
            json=f"Credential is mal-formed; expecting {_CREDENTIAL_FORM}.",
            s3=f"{_S3_MALFORMED}the Credential is mal-formed; expecting {_CREDENTIAL_FORM}.",
        ),
    )
    timestamp, request_time = _header_timestamp(by_name, protocol)
    if timestamp[:8] != scope_date:
        raise _refusal(
            Reason.MALFORMED,
            protocol,
            json="Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{scope_date}' != '{timestamp[:8]}', from '{timestamp}'.",
            s3=f"{_S3_MALFORMED}Invalid credential date. Date is not the same as X-Amz-Date.",
        )
    return _Claim(
        access_key=access_key,
        region=region,
        service=service,
        signed_headers=_signed_header_names(
            parts["SignedHeaders"], lambda: AuthFailure(Reason.MALFORMED, protocol)
        ),
        signature=parts["Signature"],
        timestamp=timestamp,
        request_time=request_time,
        expires=None,
    )


def _header_timestamp(by_name: Mapping[str, list[str]], protocol: Protocol) -> tuple[str, datetime]:
    """The date a header-signed request was signed at: X-Amz-Date, else the Date header."""
    if amz_date := by_name.get("x-amz-date"):
        parsed = _parse_timestamp(amz_date[0].strip())
        if parsed is not None:
            return amz_date[0].strip(), parsed
    elif date := by_name.get("date"):
        try:
            parsed = parsedate_to_datetime(date[0])
        except (TypeError, ValueError):
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            parsed = parsed.astimezone(UTC)
            return parsed.strftime(_TIMESTAMP_FORMAT), parsed
    raise AuthFailure(Reason.MISSING_DATE, protocol)


def _claim_from_query(pairs: list[tuple[bytes, bytes]], protocol: Protocol) -> _Claim:
    values: dict[str, str] = {}
    for name, value in pairs:
        values.setdefault(_text(name), _text(value))
    if missing := [name for name in _QUERY_PARAMETERS if name not in values]:
        raise _refusal(
            Reason.MALFORMED_QUERY,
            protocol,
            json=" ".join(f"AWS query-string parameters must include '{name}'." for name in missing)
            + " Re-examine the query-string parameters.",
        )

    def malformed(message: str) -> AuthFailure:
        return AuthFailure(Reason.MALFORMED_QUERY, protocol, message=message)

    if values["X-Amz-Algorithm"] != ALGORITHM:
        raise malformed(f'X-Amz-Algorithm only supports "{ALGORITHM}"')
    access_key, scope_date, region, service = _credential(
        values["X-Amz-Credential"],
        lambda: malformed(
            "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
            f"expecting {_CREDENTIAL_FORM}."
        ),
    )
    timestamp = values["X-Amz-Date"]
    request_time = _parse_timestamp(timestamp)
    if request_time is None:
        raise malformed("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    if timestamp[:8] != scope_date:
        raise malformed("Invalid credential date. Date is not the same as X-Amz-Date.")
    try:
        expires = int(values["X-Amz-Expires"])
    except ValueError:
        raise malformed("X-Amz-Expires should be a number") from None
    if expires < 0:
        raise malformed("X-Amz-Expires must be non-negative")
    if expires > MAX_EXPIRES_SECONDS:
        raise malformed(
            f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_EXPIRES_SECONDS}"
        )
    return _Claim(
        access_key=access_key,
        region=region,
        service=service,
        signed_headers=_signed_header_names(
            values["X-Amz-SignedHeaders"],
            lambda: malformed("X-Amz-SignedHeaders must name the headers signed, host among them"),
        ),
        signature=values["X-Amz-Signature"],
        timestamp=timestamp,
        request_time=request_time,
        expires=expires,
    )


def _credential(value: str, malformed: Callable[[], AuthFailure]) -> tuple[str, str, str, str]:
    """`AKID/YYYYMMDD/REGION/SERVICE/aws4_request` as its access key, date, region, service."""
    parts = value.split("/")
    if (
        len(parts) != 5
        or parts[4] != "aws4_request"
        or not all(parts[:4])
        or not re.fullmatch(r"\d{8}", parts[1])
    ):
        raise malformed()
    return parts[0], parts[1], parts[2], parts[3]


def _signed_header_names(value: str, malformed: Callable[[], AuthFailure]) -> tuple[str, ...]:
    names = tuple(name.strip().lower() for name in value.split(";"))
    if not all(names):
        raise malformed()
    return names


def _parse_timestamp(value: str) -> datetime | None:
    if not _TIMESTAMP.fullmatch(value):
        return None
    try:
        return datetime.strptime(value, _TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def _basic(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_TIMESTAMP_FORMAT)


def _extended(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_time(claim: _Claim, now: datetime, protocol: Protocol) -> None:
    timestamp, signed_at = claim.timestamp, claim.request_time
    if claim.expires is None:
        if abs(now - signed_at) <= MAX_SKEW:
            return
        if signed_at < now:
            json = (
                f"Signature expired: {timestamp} is now earlier than {_basic(now - MAX_SKEW)} "
                f"({_basic(now)} - 15 min.)"
            )
        else:
            json = (
                f"Signature not yet current: {timestamp} is still later than "
                f"{_basic(now + MAX_SKEW)} ({_basic(now)} + 15 min.)"
            )
        raise _refusal(
            Reason.SKEWED,
            protocol,
            json=json,
            details={
                "RequestTime": timestamp,
                "ServerTime": _extended(now),
                "MaxAllowedSkewMilliseconds": str(int(MAX_SKEW.total_seconds() * 1000)),
            },
        )
    expiry = signed_at + timedelta(seconds=claim.expires)
    if signed_at - now > MAX_SKEW:
        raise _refusal(
            Reason.NOT_YET_VALID,
            protocol,
            json=f"Signature not yet current: {timestamp} is still later than "
            f"{_basic(now + MAX_SKEW)} ({_basic(now)} + 15 min.)",
            details={
                "X-Amz-Date": str(int(signed_at.timestamp() * 1000)),
                "Expires": _extended(expiry),
                "ServerTime": _extended(now),
            },
        )
    if now > expiry:
        raise _refusal(
            Reason.EXPIRED,
            protocol,
            json=f"Signature expired: {timestamp} is now earlier than "
            f"{_basic(now - timedelta(seconds=claim.expires))} "
            f"({_basic(now)} - {claim.expires} sec.)",
            details={
                "X-Amz-Expires": str(claim.expires),
                "Expires": _extended(expiry),
                "ServerTime": _extended(now),
            },
        )


def _declared_payload_hash(
    claim: _Claim, by_name: Mapping[str, list[str]], protocol: Protocol
) -> str | None:
    """The payload hash an S3 signature must have been computed over; None for the JSON services.

    Only its form is checked here: whether a hex hash is the body's waits for the body.
    """
    if protocol is Protocol.JSON:
        return None
    if claim.expires is not None and "x-amz-content-sha256" not in claim.signed_headers:
        # A presigned URL cannot know its body: its canonical request says so with this constant.
        return _UNSIGNED_PAYLOAD
    declared = by_name.get("x-amz-content-sha256")
    if not declared:
        raise AuthFailure(Reason.MISSING_CONTENT_SHA256, protocol)
    value = declared[0].strip()
    if (
        value != _UNSIGNED_PAYLOAD
        and value not in _STREAMING_PAYLOADS
        and not _HEX_SHA256.fullmatch(value)
    ):
        raise AuthFailure(
            Reason.INVALID_CONTENT_SHA256,
            protocol,
            details={"ArgumentName": "x-amz-content-sha256", "ArgumentValue": value},
        )
    return value


def _check_signed_headers(
    claim: _Claim, by_name: Mapping[str, list[str]], protocol: Protocol
) -> None:
    """Refuse a signature that leaves out a header it must cover (see the module docstring).

    A signature over a subset of the headers is still a valid signature: without this check,
    one over `host;x-amz-date` would stay good while `X-Amz-Target` is swapped from
    `DescribeExecution` to `StopExecution`, or one without `host` could be replayed elsewhere.
    """
    required = ["host"]
    if protocol is Protocol.JSON:
        # Both only when sent: a call without X-Amz-Target names no operation (the app answers
        # it UnknownOperationException), and one added unsigned is refused here all the same.
        required += [name for name in ("x-amz-target", "content-type") if name in by_name]
    required += sorted(
        name
        for name in by_name
        if name.startswith("x-amz-") and name != _EXEMPT_FROM_SIGNING and name not in required
    )
    signed = set(claim.signed_headers)
    unsigned = [name for name in required if name not in signed]
    if not unsigned:
        return
    if protocol is Protocol.S3:
        raise AuthFailure(
            Reason.UNSIGNED_HEADERS,
            protocol,
            details={"HeadersNotSigned": ", ".join(sorted(unsigned))},
        )
    raise AuthFailure(
        Reason.UNSIGNED_HEADERS,
        protocol,
        message=" ".join(_must_be_signed(name) for name in unsigned),
    )


def _must_be_signed(name: str) -> str:
    """The JSON services' words for one header a signature leaves out (see `authfailure`)."""
    quoted = _QUOTED_HEADER_NAMES.get(name, f"'{name}'")
    return f"{quoted} must be a 'SignedHeader' in the AWS Authorization."


def _check_signature(
    credentials: Credentials,
    claim: _Claim,
    method: str,
    path: str | bytes,
    pairs: list[tuple[bytes, bytes]],
    by_name: Mapping[str, list[str]],
    payload_hash: str,
    protocol: Protocol,
) -> None:
    signed = HTTPHeaders()
    for name in claim.signed_headers:
        for value in by_name.get(name, ()):
            signed[name] = value
    signer_class = _S3Signer if protocol is Protocol.S3 else _Signer
    signer = signer_class(
        BotocoreCredentials(credentials.access_key, credentials.secret_key),
        claim.service,
        claim.region,
        signed=signed,
        payload_hash=payload_hash,
    )
    if claim.expires is not None:
        pairs = [(name, value) for name, value in pairs if name != b"X-Amz-Signature"]
    query = "&".join(f"{_encode(name)}={_encode(value)}" for name, value in pairs)
    # Without headers of its own, the request leaves botocore to take the payload hash from
    # `payload()`, and the headers from `headers_to_sign()`: both pinned above.
    request = AWSRequest(
        method=method.upper(),
        url=f"{_PLACEHOLDER_ORIGIN}{_canonical_path(path)}" + (f"?{query}" if query else ""),
    )
    request.context["timestamp"] = claim.timestamp
    canonical_request: str = signer.canonical_request(request)
    string_to_sign: str = signer.string_to_sign(request, canonical_request)
    expected: str = signer.signature(string_to_sign, request)
    if not hmac.compare_digest(expected.encode(), claim.signature.encode()):
        raise AuthFailure(
            Reason.SIGNATURE_MISMATCH,
            protocol,
            details={
                "AWSAccessKeyId": claim.access_key,
                "StringToSign": string_to_sign,
                "SignatureProvided": claim.signature,
                "StringToSignBytes": _hex_bytes(string_to_sign),
                "CanonicalRequest": canonical_request,
                "CanonicalRequestBytes": _hex_bytes(canonical_request),
            },
        )


def _encode(value: bytes) -> str:
    """SigV4's URI encoding: every byte but the unreserved characters as `%XX`."""
    return quote(value, safe="-_.~")


def _canonical_path(path: str | bytes) -> str:
    """The path with every segment encoded once, as SigV4 asks and as botocore sends it.

    Decoding first makes the path the client meant whatever its encoding choices (`%2b` or
    `%2B`, `~` or `%7E`); an encoded `/` stays inside its segment. botocore's S3 signer takes the
    result as it is; its other signers encode it once more, as those services expect.
    """
    raw = _wire_bytes(path)
    if not raw.startswith(b"/"):
        raw = b"/" + raw
    return "/".join(_encode(unquote_to_bytes(segment)) for segment in raw.split(b"/"))


def _hex_bytes(text: str) -> str:
    return " ".join(f"{byte:02x}" for byte in text.encode())


class _Signer(SigV4Auth):  # type: ignore[misc]  # botocore ships no type hints
    """botocore's SigV4 signer told which headers were signed and over which payload hash.

    botocore picks the headers to sign itself (all but a few it never signs) and hashes the body
    it holds; a verifier must take the client's SignedHeaders as they are and the payload hash
    the protocol calls for, so those two methods are pinned. Everything else is botocore's.
    """

    def __init__(
        self,
        credentials: BotocoreCredentials,
        service: str,
        region: str,
        *,
        signed: HTTPHeaders,
        payload_hash: str,
    ) -> None:
        super().__init__(credentials, service, region)
        self._signed = signed
        self._payload_hash = payload_hash

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        return self._signed

    def payload(self, request: AWSRequest) -> str:
        return self._payload_hash


class _S3Signer(_Signer, S3SigV4Auth):  # type: ignore[misc]  # botocore ships no type hints
    """The same, with S3's canonical path: S3 does not encode the path a second time."""

"""Why a signed request was refused, and what AWS answers for it in each protocol's words.

`AuthFailure` is the one exception `sigv4.check_headers` and `sigv4.verify` raise. It names its
`Reason` (a closed vocabulary: missing, malformed, unknown key, skewed, expired, mismatched, ...)
and, for the `Protocol` the request was made in (the JSON services' or S3's), carries AWS's
`code`, `message` and `http_status`, plus the extra elements S3 writes into its error document
(`details`, by their XML names). Every reason has words in both protocols; a test checks the
tables are complete.

The wordings are AWS's own as quoted in AWS's documentation and in public bug reports; where each
was found is noted beside it in the tables below.

Confirmed (message and status):

* JSON: MissingAuthenticationTokenException "Missing Authentication Token" (its 403 is the Common
  Errors page's), UnrecognizedClientException, InvalidSignatureException for a mismatch, for
  "Signature expired: … is now earlier than … (… - 15 min.)" and (403) for "'Host' or ':authority'
  must be a 'SignedHeader' in the AWS Authorization.", IncompleteSignatureException for missing
  parts, a missing date and a part without `=`.
* S3: AccessDenied ("Access Denied", "Request has expired", "Request is not yet valid", "There were
  headers present in the request which were not signed"), InvalidAccessKeyId,
  SignatureDoesNotMatch, RequestTimeTooSkewed, AuthorizationHeaderMalformed (three components,
  mal-formed Credential, credential date), AuthorizationQueryParametersError (missing
  parameters), InvalidRequest (unsupported mechanism; missing x-amz-content-sha256),
  InvalidArgument (bad x-amz-content-sha256), XAmzContentSHA256Mismatch; with the extra elements
  S3 sends for each (`HeadersNotSigned` naming `host` as it names `x-amz-*` headers).

Modelled on AWS's neighbouring messages:

* JSON: "Signature not yet current: …" and the presigned forms of the time messages; the messages
  for a malformed Credential, a credential date unlike the request's, malformed query
  parameters and a request signed both ways; "'X-Amz-Target' (or 'Content-Type', or an
  `x-amz-*` header) must be a 'SignedHeader' in the AWS Authorization.", on the `Host` one
  (scratchstack-aws-signature, a SigV4 verifier built to AWS's error order, words its
  'Content-Type' and `x-amz-*` refusals the same way).
* S3: AuthorizationQueryParametersError's messages other than the missing parameters, AccessDenied
  "AWS authentication requires a valid Date or x-amz-date header", InvalidArgument "Only one auth
  mechanism allowed; …".
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final


class Protocol(StrEnum):
    """Whose words a refusal is given in: the JSON services' or S3's."""

    JSON = "json"
    S3 = "s3"


class Reason(StrEnum):
    """Why a request was refused."""

    MISSING = "missing"
    """Neither an Authorization header nor a presigned URL's parameters."""
    UNSUPPORTED = "unsupported"
    """Signed, but not with AWS4-HMAC-SHA256 (Signature Version 2, SigV4a, a bearer token)."""
    CONFLICTING = "conflicting"
    """Both an Authorization header and presigned query parameters."""
    MALFORMED = "malformed"
    """An Authorization header without its parts, or with a malformed Credential."""
    MALFORMED_QUERY = "malformed-query"
    """A presigned URL without its parameters, or with malformed ones."""
    MISSING_DATE = "missing-date"
    """A signed header request without a valid X-Amz-Date or Date header."""
    UNKNOWN_ACCESS_KEY = "unknown-access-key"
    SKEWED = "skewed"
    """A header-signed request dated more than 15 minutes from the server's clock."""
    EXPIRED = "expired"
    """A presigned URL past its X-Amz-Expires."""
    NOT_YET_VALID = "not-yet-valid"
    """A presigned URL dated more than 15 minutes ahead of the server's clock."""
    MISSING_CONTENT_SHA256 = "missing-content-sha256"
    """An S3 request signed in its header without `x-amz-content-sha256`."""
    INVALID_CONTENT_SHA256 = "invalid-content-sha256"
    """An `x-amz-content-sha256` that is neither a SHA-256 nor a payload form S3 knows."""
    UNSIGNED_HEADERS = "unsigned-headers"
    """A signature leaving out a header it must cover: `host`; for the JSON services
    `X-Amz-Target` and `Content-Type` when sent; any `x-amz-*` header sent."""
    SIGNATURE_MISMATCH = "signature-mismatch"
    CONTENT_SHA256_MISMATCH = "content-sha256-mismatch"
    """A correctly signed S3 request whose body is not the one its signature declared."""


_REQUIRES_ALL_PARTS = (
    "Authorization header requires 'Credential' parameter. "
    "Authorization header requires 'Signature' parameter. "
    "Authorization header requires 'SignedHeaders' parameter."
)
_S3_MALFORMED = "The authorization header is malformed; "
_MISMATCH = "The request signature we calculated does not match the signature you provided."
_NOT_SIGNED = "There were headers present in the request which were not signed"
_HOST_NOT_SIGNED = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
_JSON_MISMATCH = (
    f"{_MISMATCH} Check your AWS Secret Access Key and signing method. Consult the service "
    "documentation for details."
)

# Each reason's (code, HTTP status, message when the refusal gives none of its own), with where
# AWS's wording was found; "modelled" where it was not found verbatim.
_JSON_WORDINGS: Final[Mapping[Reason, tuple[str, int, str]]] = {
    # AWS's SigV4 troubleshooting (Alexa Web Information Service), aws-sdk-cpp#218; the status
    # is AWS's Common Errors page's for MissingAuthenticationToken.
    Reason.MISSING: ("MissingAuthenticationTokenException", 403, "Missing Authentication Token"),
    # aws-sdk-js#4285, aws-sdk-ruby#317: the answer to a Signature Version 2 header.
    Reason.UNSUPPORTED: ("IncompleteSignatureException", 400, _REQUIRES_ALL_PARTS),
    Reason.CONFLICTING: (  # modelled
        "IncompleteSignatureException",
        400,
        "Only one auth mechanism allowed: the Authorization header or the X-Amz-Algorithm "
        "query parameter.",
    ),
    # cloud9-sync#10 (400), fhir-works-on-aws-deployment#379.
    Reason.MALFORMED: ("IncompleteSignatureException", 400, _REQUIRES_ALL_PARTS),
    Reason.MALFORMED_QUERY: (  # modelled
        "IncompleteSignatureException",
        400,
        "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', "
        "'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders' and 'X-Amz-Expires'. "
        "Re-examine the query-string parameters.",
    ),
    # Paw-AWSSignature4DynamicValue#5, cognitocurl#15.
    Reason.MISSING_DATE: (
        "IncompleteSignatureException",
        400,
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    ),
    # aws-sdk-php#2444 (400), aws-azure-login#37.
    Reason.UNKNOWN_ACCESS_KEY: (
        "UnrecognizedClientException",
        400,
        "The security token included in the request is invalid.",
    ),
    # The message is built where the time is measured: aws-sdk-js#254 (400), registry-creds#24;
    # its "not yet current" form and the presigned forms are modelled.
    Reason.SKEWED: ("InvalidSignatureException", 400, "Signature expired or not yet current."),
    Reason.EXPIRED: ("InvalidSignatureException", 400, "Signature expired."),
    Reason.NOT_YET_VALID: ("InvalidSignatureException", 400, "Signature not yet current."),
    # The JSON services hash the body themselves: the three payload reasons are S3's, and a JSON
    # request can only meet them as a signature that does not match.
    Reason.MISSING_CONTENT_SHA256: ("InvalidSignatureException", 400, _JSON_MISMATCH),
    Reason.INVALID_CONTENT_SHA256: ("InvalidSignatureException", 400, _JSON_MISMATCH),
    Reason.CONTENT_SHA256_MISMATCH: ("InvalidSignatureException", 400, _JSON_MISMATCH),
    # aws-sdk-js-v3#3796 (Transcribe, Kinesis: 403), aws-sdk-php#2469, okhttp-aws-signer#10 (its
    # older "'Host' must be ..."). The refusal names each header it misses in these words; the
    # messages for headers other than Host are modelled on this one.
    Reason.UNSIGNED_HEADERS: ("InvalidSignatureException", 403, _HOST_NOT_SIGNED),
    # aws-sdk-js#168, prometheus-ecs-discovery#7 (400).
    Reason.SIGNATURE_MISMATCH: ("InvalidSignatureException", 400, _JSON_MISMATCH),
}
_S3_WORDINGS: Final[Mapping[Reason, tuple[str, int, str]]] = {
    # S3's answer to an anonymous request on a private bucket.
    Reason.MISSING: ("AccessDenied", 403, "Access Denied"),
    # timkay/aws#83.
    Reason.UNSUPPORTED: (
        "InvalidRequest",
        400,
        "The authorization mechanism you have provided is not supported. "
        "Please use AWS4-HMAC-SHA256.",
    ),
    Reason.CONFLICTING: (  # modelled
        "InvalidArgument",
        400,
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature "
        "query string parameter or the Authorization header should be specified",
    ),
    # cakephp-amazon-s3#15, wp-amazon-s3-and-cloudfront#460, arq_restore#48.
    Reason.MALFORMED: (
        "AuthorizationHeaderMalformed",
        400,
        f"{_S3_MALFORMED}the authorization header requires three components: Credential, "
        "SignedHeaders, and Signature.",
    ),
    # play-s3#73, volo#218; its other messages are modelled.
    Reason.MALFORMED_QUERY: (
        "AuthorizationQueryParametersError",
        400,
        "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
        "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
    ),
    Reason.MISSING_DATE: (  # modelled
        "AccessDenied",
        403,
        "AWS authentication requires a valid Date or x-amz-date header",
    ),
    # raster-foundry#289, aws-sdk-java#1911 (with AWSAccessKeyId).
    Reason.UNKNOWN_ACCESS_KEY: (
        "InvalidAccessKeyId",
        403,
        "The AWS Access Key Id you provided does not exist in our records.",
    ),
    # aws-sdk-php#612 (with RequestTime, ServerTime, MaxAllowedSkewMilliseconds).
    Reason.SKEWED: (
        "RequestTimeTooSkewed",
        403,
        "The difference between the request time and the current time is too large.",
    ),
    # aws-sdk-php#1333, aws-sdk-js#3493 (with X-Amz-Expires, Expires, ServerTime).
    Reason.EXPIRED: ("AccessDenied", 403, "Request has expired"),
    # minio#2638, dmjio/s3-signer#16 (with X-Amz-Date, Expires, ServerTime).
    Reason.NOT_YET_VALID: ("AccessDenied", 403, "Request is not yet valid"),
    # aws-cli#2138, avi-wish/aws4-signature-php#1.
    Reason.MISSING_CONTENT_SHA256: (
        "InvalidRequest",
        400,
        "Missing required header for this request: x-amz-content-sha256",
    ),
    # irods_resource_plugin_s3#1833 (with ArgumentName, ArgumentValue).
    Reason.INVALID_CONTENT_SHA256: (
        "InvalidArgument",
        400,
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a "
        "valid sha256 value.",
    ),
    # lua-resty-aws#2 (with ClientComputedContentSHA256, S3ComputedContentSHA256).
    Reason.CONTENT_SHA256_MISMATCH: (
        "XAmzContentSHA256Mismatch",
        400,
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    ),
    # Paw-AWSSignature4DynamicValue#4, aws_client#364 (with HeadersNotSigned), coda/packs-sdk#3093
    # (HeadersNotSigned: host).
    Reason.UNSIGNED_HEADERS: ("AccessDenied", 403, _NOT_SIGNED),
    # minio#2986, s3cmd#1053 (with AWSAccessKeyId, StringToSign, SignatureProvided,
    # StringToSignBytes, CanonicalRequest, CanonicalRequestBytes).
    Reason.SIGNATURE_MISMATCH: (
        "SignatureDoesNotMatch",
        403,
        f"{_MISMATCH} Check your key and signing method.",
    ),
}
_WORDINGS: Final = {Protocol.JSON: _JSON_WORDINGS, Protocol.S3: _S3_WORDINGS}


class AuthFailure(Exception):
    """A request refused: why (`reason`), and AWS's error for it in `protocol`'s words.

    `code`, `message` and `http_status` are what AWS answers; `details` holds the extra elements
    S3 writes into its error document (`AWSAccessKeyId`, `StringToSign`, `ServerTime`, ...), by
    their XML names. None of them holds a secret.
    """

    def __init__(
        self,
        reason: Reason,
        protocol: Protocol,
        *,
        message: str | None = None,
        details: Mapping[str, str] | None = None,
    ) -> None:
        code, http_status, default_message = _WORDINGS[protocol][reason]
        self.reason: Final = reason
        self.protocol: Final = protocol
        self.code: Final = code
        self.http_status: Final = http_status
        self.message: Final = default_message if message is None else message
        self.details: Final[Mapping[str, str]] = MappingProxyType(dict(details or {}))
        super().__init__(f"{self.code}: {self.message}")

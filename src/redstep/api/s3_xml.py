"""S3's XML: the elements answers are built of, request bodies read, and the `<Error>` document.

Every S3 module of the API builds its answers here, so they share one namespace, one owner, one
date format and one way of refusing; and reads integers in requests here (`digits`,
`integer_parameter`), so every one is refused alike. `S3Refusal` is an error S3 answers as an
`<Error>` document; the store's errors become refusals in exactly one place,
`S3Refusal.from_bucket_error`, and `s3_error` renders any of them (the app's auth layer uses it
too).
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Final
from urllib.parse import quote
from xml.etree import ElementTree

from starlette.datastructures import QueryParams
from starlette.responses import Response

from redstep.buckets import OWNER_ID, BucketError

NAMESPACE: Final = "http://s3.amazonaws.com/doc/2006-03-01/"
XML_DECLARATION: Final = b'<?xml version="1.0" encoding="UTF-8"?>\n'
XML_CONTENT_TYPE: Final = "application/xml"

OWNER_NAME: Final = "redstep"

MAX_INTEGER: Final = 2**31 - 1
"""The largest integer S3 takes in a query parameter (a signed 32-bit one)."""
MAX_DIGITS: Final = 19
"""The most significant digits a number in a request may have (a signed 64-bit one has 19)."""

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class S3Refusal(Exception):
    """An answer S3 gives as an `<Error>`: its code, message, status and extra elements."""

    def __init__(
        self,
        code: str,
        message: str,
        http_status: int,
        *,
        details: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status
        self.details = dict(details or {})
        self.headers = dict(headers or {})

    @classmethod
    def from_bucket_error(cls, error: BucketError) -> S3Refusal:
        """The store's error as the HTTP layer answers it (the one place they are mapped)."""
        return cls(error.code, error.message, error.http_status, details=error.details())


def not_implemented() -> S3Refusal:
    """What S3 answers for a feature it has and this subset lacks."""
    return S3Refusal(
        "NotImplemented",
        "A header you provided implies functionality that is not implemented",
        501,
    )


def invalid_argument(message: str, name: str, value: str) -> S3Refusal:
    """S3's InvalidArgument, naming the argument and its value."""
    return S3Refusal(
        "InvalidArgument", message, 400, details={"ArgumentName": name, "ArgumentValue": value}
    )


def malformed_xml() -> S3Refusal:
    """What S3 answers for a request body that is not the XML the operation reads."""
    return S3Refusal(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
        400,
    )


def new_request_id() -> str:
    """A request id shaped as S3's: 16 upper-case hex digits."""
    return secrets.token_hex(8).upper()


def s3_error(
    code: str,
    message: str,
    http_status: int,
    *,
    resource: str,
    request_id: str,
    details: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    include_body: bool = True,
) -> Response:
    """S3's error answer: `<Error>` with Code, Message, `details`, Resource and RequestId.

    `include_body=False` is for HEAD requests, whose errors S3 sends with no body.
    """
    all_headers = {**request_id_headers(request_id), **(headers or {})}
    if not include_body:
        return Response(status_code=http_status, headers=all_headers)
    root = ElementTree.Element("Error")
    add(root, "Code", code)
    add(root, "Message", message)
    for name, value in (details or {}).items():
        add(root, name, value)
    add(root, "Resource", resource)
    add(root, "RequestId", request_id)
    return xml_response(root, status_code=http_status, headers=all_headers)


def request_id_headers(request_id: str) -> dict[str, str]:
    """The request-id headers every S3 answer carries."""
    return {
        "x-amz-request-id": request_id,
        "x-amz-id-2": base64.b64encode(secrets.token_bytes(48)).decode("ascii"),
    }


# -- answers -----------------------------------------------------------------------------------


def result(tag: str) -> ElementTree.Element:
    """The root element of an answer, in S3's namespace."""
    return ElementTree.Element(tag, xmlns=NAMESPACE)


def add(parent: ElementTree.Element, tag: str, text: str | None = None) -> ElementTree.Element:
    """Append a child element, with `text` when given."""
    element = ElementTree.SubElement(parent, tag)
    if text is not None:
        # XML 1.0 cannot carry these at all; S3 clients that need them ask for encoding-type=url.
        element.text = _XML_ILLEGAL.sub("\ufffd", text)
    return element


def add_owner(parent: ElementTree.Element, tag: str = "Owner") -> None:
    """Append the owner of everything here (also S3's Initiator of uploads)."""
    owner = add(parent, tag)
    add(owner, "ID", OWNER_ID)
    add(owner, "DisplayName", OWNER_NAME)


def xml_response(
    root: ElementTree.Element, *, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """`root` as S3 sends XML: with the declaration, as application/xml."""
    body = XML_DECLARATION + ElementTree.tostring(root, encoding="utf-8")
    return Response(body, status_code, {**(headers or {}), "Content-Type": XML_CONTENT_TYPE})


def iso8601(moment: datetime) -> str:
    """A time as S3's XML writes it: UTC, to the millisecond, with a `Z`."""
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def boolean(value: bool) -> str:
    """A boolean as S3's XML writes it."""
    return "true" if value else "false"


def url_encode(text: str) -> str:
    """A key or prefix as `encoding-type=url` answers it."""
    return quote(text, safe="/")


# -- request bodies ----------------------------------------------------------------------------


def parse_request(body: bytes, root_tag: str) -> ElementTree.Element:
    """The request body's root element, which must be `root_tag`; MalformedXML otherwise.

    Tags are compared without their namespace: SDKs send S3's, hand-written requests often none.
    A document type is refused outright: no S3 request has one, and entities are how XML bombs.
    """
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise malformed_xml()
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise malformed_xml() from None
    if local_name(root) != root_tag:
        raise malformed_xml()
    return root


def local_name(element: ElementTree.Element) -> str:
    """The element's tag without its `{namespace}`."""
    return element.tag.rpartition("}")[2]


def child_text(element: ElementTree.Element, tag: str) -> str | None:
    """The text of the first child named `tag` (in any namespace), or None without one."""
    for child in element:
        if local_name(child) == tag:
            return (child.text or "").strip()
    return None


# -- request values ----------------------------------------------------------------------------


def digits(text: str) -> int | None:
    """`text` as a non-negative decimal integer, or None if it is not one S3 can read.

    More than `MAX_DIGITS` significant digits is none: S3 reads 64-bit integers, and Python's
    `int` refuses a string of over 4,300 digits with a ValueError (a 500, were it let through).
    """
    if not (text.isascii() and text.isdigit()):
        return None
    significant = text.lstrip("0")
    return int(significant or "0") if len(significant) <= MAX_DIGITS else None


def is_digits(text: str) -> bool:
    """Whether `text` is decimal digits only (a number `digits` may still find too long)."""
    return text.isascii() and text.isdigit()


def integer_parameter(query: QueryParams, name: str, default: int) -> int:
    """The query parameter `name` as S3 reads an integer (0 to 2^31 - 1); `default` when absent.

    InvalidArgument, naming the parameter, as S3 words it for max-keys and its kin.
    """
    text = query.get(name)
    if text is None:
        return default
    number = digits(text)
    if number is None or number > MAX_INTEGER:
        raise invalid_argument(
            f"Provided {name} not an integer or within integer range", name, text
        )
    return number

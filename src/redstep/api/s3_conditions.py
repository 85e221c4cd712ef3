"""Conditional requests and byte ranges: when S3 answers 304, 412 or 416 instead of an object.

GetObject and HeadObject read `If-Match`, `If-None-Match`, `If-Modified-Since`,
`If-Unmodified-Since` (in RFC 7232 §6's order: a holding If-Match outranks a failing
If-Unmodified-Since) and `Range` with `If-Range`. CopyObject and UploadPartCopy read the same
four conditions of their source as `x-amz-copy-source-if-*`, where every failure is 412 (a copy
has no 304). An ETag is matched quoted or not, weak or not, and `*` matches any; a date that
cannot be read is ignored, as HTTP ignores it.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime

from starlette.datastructures import Headers

from redstep.api.s3_xml import S3Refusal, digits
from redstep.buckets import ObjectInfo

COPY_CONDITION_PREFIX = "x-amz-copy-source-if-"


def get_preconditions_hold(headers: Headers, info: ObjectInfo) -> bool:
    """False for 304 Not Modified; raises PreconditionFailed (412) as RFC 7232 §6 orders it."""
    if_match = headers.get("if-match")
    if if_match is not None:
        if not etag_matches(if_match, info.etag):
            raise precondition_failed("If-Match")
    else:
        unmodified_since = http_date(headers.get("if-unmodified-since"))
        if unmodified_since is not None and info.last_modified > unmodified_since:
            raise precondition_failed("If-Unmodified-Since")
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        return not etag_matches(if_none_match, info.etag)
    modified_since = http_date(headers.get("if-modified-since"))
    return modified_since is None or info.last_modified > modified_since


def check_copy_source(headers: Headers, info: ObjectInfo) -> None:
    """Raise PreconditionFailed unless the copy's `x-amz-copy-source-if-*` conditions hold."""
    if_match = headers.get(COPY_CONDITION_PREFIX + "match")
    if if_match is not None:
        if not etag_matches(if_match, info.etag):
            raise precondition_failed("x-amz-copy-source-If-Match")
    else:
        unmodified_since = http_date(headers.get(COPY_CONDITION_PREFIX + "unmodified-since"))
        if unmodified_since is not None and info.last_modified > unmodified_since:
            raise precondition_failed("x-amz-copy-source-If-Unmodified-Since")
    if_none_match = headers.get(COPY_CONDITION_PREFIX + "none-match")
    if if_none_match is not None:
        if etag_matches(if_none_match, info.etag):
            raise precondition_failed("x-amz-copy-source-If-None-Match")
    else:
        modified_since = http_date(headers.get(COPY_CONDITION_PREFIX + "modified-since"))
        if modified_since is not None and info.last_modified <= modified_since:
            raise precondition_failed("x-amz-copy-source-If-Modified-Since")


def has_copy_conditions(headers: Headers) -> bool:
    """Whether the request states any `x-amz-copy-source-if-*` condition."""
    return any(name.lower().startswith(COPY_CONDITION_PREFIX) for name in headers)


def precondition_failed(condition: str) -> S3Refusal:
    """S3's 412, naming the condition that did not hold."""
    return S3Refusal(
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
        412,
        details={"Condition": condition},
    )


def etag_matches(header: str, etag: str) -> bool:
    """Whether an If-Match-style list of ETags names `etag` (or is `*`)."""
    bare = etag.strip('"')
    for candidate in header.split(","):
        candidate = candidate.strip().removeprefix("W/").strip('"')
        if candidate in ("*", bare):
            return True
    return False


def http_date(text: str | None) -> datetime | None:
    """An HTTP date with its zone; None when absent or unreadable."""
    if not text:
        return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None  # S3, like HTTP, ignores a date it cannot read
    return parsed if parsed.tzinfo is not None else None


# -- ranges ------------------------------------------------------------------------------------


def byte_range(headers: Headers, info: ObjectInfo) -> tuple[int, int] | None:
    """The inclusive byte range to answer, None for the whole object; InvalidRange (416)."""
    header = headers.get("range")
    if header is None or not _if_range_holds(headers.get("if-range"), info):
        return None
    unit, _, spec = header.strip().partition("=")
    first, dash, last = spec.strip().partition("-")
    if unit.strip().lower() != "bytes" or not dash or "," in spec:
        return None  # unreadable, or several ranges: S3 answers the whole object
    start, end = digits(first.strip()), digits(last.strip())
    size = info.size
    if first.strip() == "":
        if end is None:
            return None
        if end == 0 or size == 0:
            raise _invalid_range(header, size)
        return max(0, size - end), size - 1
    if start is None or (last.strip() and (end is None or end < start)):
        return None
    if start >= size:
        raise _invalid_range(header, size)
    return start, size - 1 if end is None else min(end, size - 1)


def _if_range_holds(if_range: str | None, info: ObjectInfo) -> bool:
    if if_range is None:
        return True
    if if_range.strip().startswith(('"', "W/")):
        return etag_matches(if_range, info.etag)
    return http_date(if_range) == info.last_modified


def _invalid_range(header: str, size: int) -> S3Refusal:
    return S3Refusal(
        "InvalidRange",
        "The requested range is not satisfiable",
        416,
        details={"RangeRequested": header, "ActualObjectSize": str(size)},
        headers={"Content-Range": f"bytes */{size}"},
    )

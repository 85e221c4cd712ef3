"""ListObjectsV2's paging rules over a sorted list of keys: no disk, no clock.

A listing is a sequence of entries in UTF-8 byte order (which is the code-point order Python
sorts `str` by): every key that starts with the prefix, except that, with a delimiter, the keys
whose remainder after the prefix holds the delimiter are rolled up into one entry, their common
prefix (up to and including the first delimiter), placed where that prefix sorts. A page holds
the first `max_keys` entries after a marker (StartAfter, or the entry a continuation token names);
keys and common prefixes count alike. A common prefix at or before the marker is not repeated,
so a marker inside a rolled-up range skips the rest of that range.

Continuation tokens are opaque to clients (base64 of a versioned marker); a token this module did
not make is refused with S3's InvalidArgument.
"""

from __future__ import annotations

import base64
import binascii
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from redstep.buckets.errors import InvalidArgument

MAX_KEYS = 1000
"""The most entries one page holds, whatever MaxKeys asks (S3's limit)."""

_TOKEN_VERSION = "1:"


@dataclass(frozen=True, slots=True)
class Page:
    """The keys and common prefixes on one page, and whether entries follow it."""

    keys: tuple[str, ...]
    common_prefixes: tuple[str, ...]
    is_truncated: bool
    last_entry: str | None


def select_page(
    sorted_keys: Sequence[str], *, prefix: str, delimiter: str, after: str, max_keys: int
) -> Page:
    """The page of entries following `after` (an empty `after`: from the first entry)."""
    limit = min(max_keys, MAX_KEYS)
    keys: list[str] = []
    prefixes: list[str] = []
    last: str | None = None
    index = max(bisect_left(sorted_keys, prefix), bisect_right(sorted_keys, after) if after else 0)
    while index < len(sorted_keys):
        key = sorted_keys[index]
        if not key.startswith(prefix):
            break  # the keys starting with a prefix are contiguous in sorted order
        index += 1
        common = _common_prefix(key, prefix, delimiter)
        if common is not None and (common == last or (after and common <= after)):
            continue
        if len(keys) + len(prefixes) >= limit:
            return Page(tuple(keys), tuple(prefixes), is_truncated=limit > 0, last_entry=last)
        if common is None:
            keys.append(key)
            last = key
        else:
            prefixes.append(common)
            last = common
    return Page(tuple(keys), tuple(prefixes), is_truncated=False, last_entry=last)


def _common_prefix(key: str, prefix: str, delimiter: str) -> str | None:
    if not delimiter:
        return None
    at = key.find(delimiter, len(prefix))
    return None if at < 0 else key[: at + len(delimiter)]


def encode_token(marker: str) -> str:
    """A continuation token that resumes a listing after `marker`."""
    return base64.urlsafe_b64encode((_TOKEN_VERSION + marker).encode("utf-8")).decode("ascii")


def decode_token(token: str) -> str:
    """The marker a continuation token resumes after; InvalidArgument if this module made none."""
    try:
        text = base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
    except (UnicodeError, binascii.Error, ValueError):
        text = ""
    if not text.startswith(_TOKEN_VERSION):
        raise InvalidArgument(
            "The continuation token provided is incorrect",
            argument_name="continuation-token",
            argument_value=token,
        )
    return text[len(_TOKEN_VERSION) :]

"""NextToken pagination: opaque offset tokens, each bound to what it pages (an operation, a
result), and the LIKE patterns of the catalog operations."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from typing import TypeVar

from redstep.dataapi.errors import ValidationException

T = TypeVar("T")


def encode_token(operation: str, offset: int) -> str:
    """A NextToken that resumes `operation` (or the result with that id) at `offset`."""
    raw = json.dumps({"op": operation, "offset": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_token(operation: str, token: str | None) -> int:
    """The offset a NextToken resumes at (0 for none); ValidationException when it is not ours."""
    if not token:
        return 0
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        offset = decoded["offset"]
        if decoded["op"] != operation or not isinstance(offset, int) or offset < 0:
            raise ValueError(token)
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError) as error:
        raise ValidationException("Invalid NextToken.") from error
    return offset


def page(
    items: Sequence[T], operation: str, token: str | None, max_results: int | None, default: int
) -> tuple[list[T], str | None]:
    """The slice of `items` a request asks for, and the token to the rest (None at the end)."""
    offset = decode_token(operation, token)
    size = max_results or default
    chosen = list(items[offset : offset + size])
    after = offset + size
    return chosen, encode_token(operation, after) if after < len(items) else None


def like_pattern(pattern: str | None) -> str | None:
    """A SQL LIKE pattern (`%`, `_`) as a regular expression; None for no pattern."""
    if pattern is None:
        return None
    parts = ("." if char == "_" else ".*" if char == "%" else re.escape(char) for char in pattern)
    return "".join(parts)

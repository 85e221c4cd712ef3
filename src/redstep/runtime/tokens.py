"""Pagination tokens: where a listing stopped, opaque to the caller, checked when it comes back.

A token names the listing it belongs to (`scope`), so one issued for an execution's history
cannot page another listing; anything else is answered with InvalidToken, as AWS does.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from redstep.runtime.errors import InvalidToken


def encode_token(scope: str, position: list[Any]) -> str:
    """A token for resuming `scope` after `position` (JSON values)."""
    text = json.dumps([scope, *position], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode()


def decode_token(token: str, scope: str, length: int) -> list[Any]:
    """The position a token of `scope` holds (`length` values); InvalidToken otherwise."""
    try:
        found = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, TypeError):
        found = None
    if not isinstance(found, list) or len(found) != length + 1 or found[0] != scope:
        raise InvalidToken(f"Invalid Token: '{token}'")
    return found[1:]

"""RFC 3339 timestamps, as Wait states and Timestamp comparisons read them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})\Z")


def parse_timestamp(text: str) -> datetime | None:
    """The instant an RFC 3339 timestamp names (uppercase T and a zone required), or None."""
    if not isinstance(text, str) or _RFC3339.match(text) is None:
        return None
    seconds, dot, rest = text.partition(".")
    if dot:  # Python reads at most microseconds; AWS accepts finer fractions
        digits = re.match(r"\d+", rest)
        assert digits is not None
        text = f"{seconds}.{digits.group()[:6].ljust(6, '0')}{rest[digits.end() :]}"
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def format_timestamp(moment: datetime) -> str:
    """How the context object writes a time: `2024-01-02T03:04:05.678Z` (milliseconds, UTC)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

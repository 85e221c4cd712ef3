"""Time for the executor: a real clock, and a virtual one on which waiting costs nothing.

Both tell the time; only the virtual clock may `skip_to` a later moment. The executor skips when
nothing else can happen first — no activation pending, no task running — so Wait states, retry
intervals and timeouts elapse at once, while the history still shows the times they stood for.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""

    def skip_to(self, moment: datetime) -> bool:
        """Move time forward to `moment` if this clock may; whether it did."""


class RealClock:
    """Wall-clock time; waits are waited."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def skip_to(self, moment: datetime) -> bool:
        return False


class VirtualClock:
    """Runs at the wall clock's pace from `start`, plus every interval it was asked to skip."""

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0) if start is None else start - datetime.now(UTC)

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def skip_to(self, moment: datetime) -> bool:
        with self._lock:
            gap = moment - (datetime.now(UTC) + self._offset)
            if gap > timedelta(0):
                self._offset += gap
        return True

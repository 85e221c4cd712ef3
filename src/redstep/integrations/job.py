"""One task in flight: what it needs to know about its execution, and how to stop it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(slots=True)
class Job:
    """A Task state's resource being carried out on a thread of its own.

    `on_cancel` registers what stops the work (kill a function's worker, stop a child
    execution); `cancel` runs it, once, whether it was registered before or after.
    """

    execution_arn: str
    task_id: int
    task_token: str
    log: Path
    """Where the functions this task invokes write their output: the execution's own log."""
    _cancelled: bool = False
    _stoppers: list[Callable[[], None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def is_cancelled(self) -> bool:
        return self._cancelled

    def on_cancel(self, stop: Callable[[], None]) -> None:
        with self._lock:
            if not self._cancelled:
                self._stoppers.append(stop)
                return
        stop()

    def abandon(self) -> None:
        """Stop answering without stopping the work: redstep is shutting down, and the task is
        resumed at the next start."""
        with self._lock:
            self._cancelled = True
            self._stoppers = []

    def cancel(self) -> None:
        with self._lock:
            if self._cancelled:
                return
            self._cancelled = True
            stoppers, self._stoppers = self._stoppers, []
        for stop in stoppers:
            stop()

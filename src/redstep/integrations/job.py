"""One task in flight: what it needs to know about its execution, and how to stop it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from redstep.engine.signals import Signal


class _State(Enum):
    RUNNING = "running"
    CANCELLED = "cancelled"  # its execution no longer waits for it: stop the work
    ABANDONED = "abandoned"  # redstep is shutting down: leave the work, resume it next start


@dataclass(slots=True)
class Job:
    """A Task state's resource being carried out on a thread of its own.

    `on_cancel` registers what stops the work (kill a function's worker, stop a child
    execution): `cancel` runs it, whether it was registered before or after. Once cancelled or
    abandoned, the job answers nothing more.
    """

    execution_arn: str
    task_id: int
    task_token: str
    log: Path
    """Where the functions this task invokes write their output: the execution's own log."""
    _state: _State = _State.RUNNING
    _stoppers: list[Callable[[], None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def is_cancelled(self) -> bool:
        """Whether the job stopped answering (cancelled or abandoned)."""
        return self._state is not _State.RUNNING

    def answer(self, report: Callable[[Signal], None], signal: Signal) -> None:
        """Report `signal` unless the job was cancelled or abandoned (never after either)."""
        with self._lock:
            if self._state is _State.RUNNING:
                report(signal)

    def on_cancel(self, stop: Callable[[], None]) -> None:
        with self._lock:
            if self._state is _State.RUNNING:
                self._stoppers.append(stop)
                return
            if self._state is _State.ABANDONED:
                return
        stop()

    def cancel(self) -> Callable[[], None]:
        """Stop answering at once; return what stops the work, for the caller to run where it
        may wait (never on the executor's loop)."""
        with self._lock:
            if self._state is not _State.RUNNING:
                return _nothing
            self._state = _State.CANCELLED
            stoppers, self._stoppers = self._stoppers, []

        def stop() -> None:
            for stopper in stoppers:
                stopper()

        return stop

    def abandon(self) -> None:
        """Stop answering without stopping the work: redstep is shutting down, and the task is
        resumed at the next start."""
        with self._lock:
            if self._state is _State.RUNNING:
                self._state = _State.ABANDONED
                self._stoppers = []


def _nothing() -> None:
    pass

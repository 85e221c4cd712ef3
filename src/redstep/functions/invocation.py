"""An invocation under way, and the answer Lambda's Invoke API gives for it.

`Invocation` is the caller's handle: `result()` waits for the answer, `add_done_callback` is told
of it, `cancel()` gives it up (killing the worker if the handler still runs). Exactly one of
answer and cancel wins: an invocation cancelled is never answered (its callbacks are never
called), and cancelling one already answered changes nothing.

The sandbox running an invocation answers it (`set_result`) and learns of a cancel through
`set_interrupt`; those two are for `redstep.functions` itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from redstep.functions.errors import InvocationCancelled

logger = logging.getLogger(__name__)

LATEST = "$LATEST"


@dataclass(frozen=True, slots=True)
class InvocationResult:
    """What Lambda's Invoke API answers for a synchronous invocation."""

    payload: bytes
    """JSON text: the handler's return value, or an error object."""
    function_error: str | None
    """None, or `Unhandled` (Lambda's X-Amz-Function-Error) when `payload` is an error."""
    executed_version: str = LATEST
    status_code: int = 200


class Invocation:
    """One invocation of a function; see the module's docstring."""

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self._condition = threading.Condition()
        self._result: InvocationResult | None = None
        self._is_cancelled = False
        self._callbacks: list[Callable[[InvocationResult], None]] = []
        self._interrupt: Callable[[], None] | None = None

    @property
    def is_cancelled(self) -> bool:
        return self._is_cancelled

    @property
    def is_done(self) -> bool:
        """Whether it was answered or cancelled."""
        return self._result is not None or self._is_cancelled

    def result(self, timeout: float | None = None) -> InvocationResult:
        """Wait for the answer; TimeoutError if `timeout` seconds pass first, InvocationCancelled
        if it was cancelled."""
        with self._condition:
            if not self._condition.wait_for(lambda: self.is_done, timeout):
                raise TimeoutError(f"the invocation {self.request_id} is still running")
            if self._result is None:
                raise InvocationCancelled(self.request_id)
            return self._result

    def add_done_callback(self, callback: Callable[[InvocationResult], None]) -> None:
        """Call `callback` with the answer: on a redstep thread when it comes, or now if it has
        come already; never if the invocation is cancelled."""
        with self._condition:
            if self._is_cancelled:
                return
            if self._result is None:
                self._callbacks.append(callback)
                return
            result = self._result
        _call(callback, result)

    def cancel(self) -> None:
        """Give the invocation up; a handler still running is stopped (its worker killed)."""
        with self._condition:
            if self.is_done:
                return
            self._is_cancelled = True
            self._callbacks.clear()
            interrupt = self._interrupt
            self._condition.notify_all()
        if interrupt is not None:
            interrupt()

    def set_interrupt(self, interrupt: Callable[[], None]) -> None:
        """What `cancel()` calls to tell the sandbox running this invocation (redstep's own)."""
        with self._condition:
            self._interrupt = interrupt

    def set_result(self, result: InvocationResult) -> None:
        """Answer the invocation, unless it was cancelled (redstep's own)."""
        with self._condition:
            if self.is_done:
                return
            self._result = result
            callbacks, self._callbacks = self._callbacks, []
            self._interrupt = None
            self._condition.notify_all()
        for callback in callbacks:
            _call(callback, result)


def _call(callback: Callable[[InvocationResult], None], result: InvocationResult) -> None:
    try:
        callback(result)
    except Exception:  # one caller's bug must not stop the others being told
        logger.exception("a callback of a function invocation failed")

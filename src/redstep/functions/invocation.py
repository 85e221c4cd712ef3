"""An invocation under way, the answer Lambda's Invoke API gives for it, and what a caller may
see raised.

`Invocation` is the caller's handle: `result()` waits for the answer, `add_done_callback` is told
of it, `cancel()` gives it up (killing the worker if the handler still runs). Exactly one of
answer and cancel wins: an invocation cancelled is never answered (its callbacks are never
called), and cancelling one already answered changes nothing.

The sandbox running an invocation answers it (`set_result`) and learns of a cancel through
`set_interrupt`; those two are for `redstep.functions` itself. Callbacks waiting for the answer
are called on a thread of their own, never the sandbox's: a callback may be slow, or invoke the
same function and wait for it, without holding up the sandbox that answered.

A failing handler is an answer, never an exception. What `Functions` raises to its caller:

    KeyError
    └── UnknownFunction                   invoke() of a name no [functions.<name>] table gives
                                          (Lambda's ResourceNotFoundException)
    ValueError
    ├── InvalidRequestContentException    a payload that is not JSON, refused before any
    │                                     handler runs, as Lambda's Invoke refuses it
    └── RequestEntityTooLargeException    a payload over Lambda's 6 MB limit for a synchronous
                                          invocation, refused as Lambda's Invoke refuses it
    Exception
    └── InvocationCancelled               result() of an invocation that was cancelled, or that
                                          Functions.close() ended
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

LATEST = "$LATEST"
"""The version every invocation runs: the project's code as it is."""


class UnknownFunction(KeyError):
    """No function of that name is configured."""

    def __init__(self, name: str, arn: str) -> None:
        super().__init__(name)
        self.name = name
        self.message = f"Function not found: {arn}"

    def __str__(self) -> str:
        return self.message


class InvalidRequestContentException(ValueError):
    """The payload is not JSON text."""


class RequestEntityTooLargeException(ValueError):
    """The payload is larger than Lambda takes for a synchronous invocation (HTTP 413)."""


class InvocationCancelled(Exception):
    """The invocation was cancelled before it was answered."""

    def __init__(self, request_id: str) -> None:
        super().__init__(f"the invocation {request_id} was cancelled")
        self.request_id = request_id


@dataclass(frozen=True, slots=True)
class InvocationResult:
    """What Lambda's Invoke API answers for a synchronous invocation."""

    payload: bytes
    """JSON text: the handler's return value, or an error object."""
    function_error: str | None
    """None, or `Unhandled` (Lambda's X-Amz-Function-Error) when `payload` is an error."""
    executed_version: str = LATEST
    status_code: int = 200


Callback = Callable[[InvocationResult], None]


class Invocation:
    """One invocation of a function; see the module's docstring."""

    def __init__(self, request_id: str, *, function: str = "") -> None:
        self.request_id = request_id
        self.function = function
        self._condition = threading.Condition()
        self._result: InvocationResult | None = None
        self._is_cancelled = False
        self._callbacks: list[Callback] = []
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

    def add_done_callback(self, callback: Callback) -> None:
        """Call `callback` with the answer: on a redstep thread of its own when it comes (named
        `redstep-function-<function>-callbacks`), or now if it has come already; never if the
        invocation is cancelled."""
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
        """Answer the invocation, unless it was cancelled (redstep's own). Returns at once: the
        callbacks are called on a thread of their own."""
        with self._condition:
            if self.is_done:
                return
            self._result = result
            callbacks, self._callbacks = self._callbacks, []
            self._interrupt = None
            self._condition.notify_all()
        if callbacks:
            threading.Thread(
                target=_call_all,
                args=(callbacks, result),
                name=f"redstep-function-{self.function}-callbacks",
                daemon=True,
            ).start()


def _call_all(callbacks: list[Callback], result: InvocationResult) -> None:
    for callback in callbacks:
        _call(callback, result)


def _call(callback: Callback, result: InvocationResult) -> None:
    try:
        callback(result)
    except Exception:  # one caller's bug must not stop the others being told
        logger.exception("a callback of a function invocation failed")

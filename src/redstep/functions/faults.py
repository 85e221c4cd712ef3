"""The error objects an invocation answers with, shaped and worded as AWS Lambda's.

Lambda's Python runtime (awslambdaric) answers every failure it catches with the same four keys:

    {"errorMessage": ..., "errorType": ..., "requestId": ..., "stackTrace": [...]}

- an exception the handler raises: its message and class name, the traceback's frames as
  `traceback.format_list` writes them (the runtime's own frames left out);
- a failure of the runtime itself is a `Fault`, whose type is one of Lambda's `Runtime.*`
  names (`Runtime.ImportModuleError`, `Runtime.HandlerNotFound`, `Runtime.MarshalError`, …).
  Those raised while the module loads carry an empty `requestId`, as the runtime reports them
  before it has read the invocation.

Failures outside the process are Lambda's own, worded as it words them: the process exiting
(`Runtime.ExitError`, its exit status or signal as Go prints them), a timeout (an
`errorMessage` alone, which is how Lambda reports it), and an answer too large for Lambda to
return (`Function.ResponseSizeTooLarge`).

Standard library only: the worker imports this module.
"""

from __future__ import annotations

import signal
import traceback
from collections.abc import Container
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from datetime import datetime

MARSHAL_ERROR = "Runtime.MarshalError"
USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
EXIT_ERROR = "Runtime.ExitError"
UNKNOWN_ERROR = "Runtime.Unknown"
RESPONSE_SIZE_TOO_LARGE = "Function.ResponseSizeTooLarge"

MAX_RESPONSE_BYTES = 6_291_556
"""The largest answer Lambda returns from a synchronous invocation (6 MB and 100 bytes)."""

# How Go's os.ProcessState names a signal, which is what Lambda's ExitError message shows.
_SIGNAL_NAMES = {
    signal.SIGHUP: "hangup",
    signal.SIGINT: "interrupt",
    signal.SIGQUIT: "quit",
    signal.SIGILL: "illegal instruction",
    signal.SIGTRAP: "trace/breakpoint trap",
    signal.SIGABRT: "aborted",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating point exception",
    signal.SIGKILL: "killed",
    signal.SIGUSR1: "user defined signal 1",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGUSR2: "user defined signal 2",
    signal.SIGPIPE: "broken pipe",
    signal.SIGALRM: "alarm clock",
    signal.SIGTERM: "terminated",
}


class ErrorObject(TypedDict):
    errorMessage: str
    errorType: str
    requestId: str
    stackTrace: list[str]


class Fault(Exception):
    """A failure of the runtime, answered under one of Lambda's `Runtime.*` error types."""

    def __init__(self, error_type: str, message: str, stack_trace: list[str] | None = None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack_trace = stack_trace or []

    def error_object(self, request_id: str) -> ErrorObject:
        return error_object(self.message, self.error_type, self.stack_trace, request_id)


def error_object(
    message: str, error_type: str, stack_trace: list[str], request_id: str
) -> ErrorObject:
    """The runtime's error object, as awslambdaric's `make_error` builds it."""
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": stack_trace,
    }


def exception_error(
    error: BaseException, request_id: str, *, runtime_files: Container[str]
) -> ErrorObject:
    """An exception as the runtime answers it; leading frames in `runtime_files` are left out,
    as awslambdaric leaves out its own bootstrap's."""
    frames = traceback.extract_tb(error.__traceback__)
    while frames and frames[0].filename in runtime_files:
        frames.pop(0)
    return error_object(str(error), type(error).__name__, traceback.format_list(frames), request_id)


def exit_error(request_id: str, returncode: int) -> dict[str, str]:
    """The process ended during the invocation: `returncode` as `Popen` gives it (negative for
    the signal that ended it)."""
    if returncode == 0:
        reason = "Runtime exited without providing a reason"
    elif returncode > 0:
        reason = f"Runtime exited with error: exit status {returncode}"
    else:
        reason = f"Runtime exited with error: signal: {signal_name(-returncode)}"
    return {"errorType": EXIT_ERROR, "errorMessage": f"RequestId: {request_id} Error: {reason}"}


def signal_name(number: int) -> str:
    """A signal as Go (so Lambda) prints it: `killed`, `segmentation fault`, `signal 42`."""
    try:
        return _SIGNAL_NAMES.get(signal.Signals(number), f"signal {number}")
    except ValueError:
        return f"signal {number}"


def timeout_message(now: datetime, request_id: str, timeout: float) -> str:
    """Lambda's timeout line: `<UTC time with ms>Z <request id> Task timed out after 3.00 seconds`.

    `now` must be in UTC."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    return f"{stamp} {request_id} Task timed out after {timeout:.2f} seconds"


def timeout_error(now: datetime, request_id: str, timeout: float) -> dict[str, str]:
    """A timeout's answer: the message alone, with no errorType (Lambda gives none)."""
    return {"errorMessage": timeout_message(now, request_id, timeout)}


def unknown_error(request_id: str, reason: str) -> dict[str, str]:
    """The function's environment could not be started (not the handler's doing)."""
    return {"errorType": UNKNOWN_ERROR, "errorMessage": f"RequestId: {request_id} Error: {reason}"}


def response_too_large_error() -> dict[str, str]:
    """The handler answered more than `MAX_RESPONSE_BYTES`: Lambda's answer instead of it."""
    return {
        "errorMessage": "Response payload size exceeded maximum allowed payload size "
        f"({MAX_RESPONSE_BYTES} bytes).",
        "errorType": RESPONSE_SIZE_TOO_LARGE,
    }

"""The worker process: Lambda's Python runtime for one function, one invocation at a time.

`redstep.functions.sandbox` starts it in the project folder, in a session of its own, with the
function's environment variables:

    python -P -m redstep.functions.worker --in FD --out FD --root DIR --module NAME
        --function NAME [--file PATH]

It reads `invoke` messages from `--in` and answers on `--out` (`redstep.functions.messages`)
until that pipe closes, then exits. Those two descriptors are redstep's alone: closed in any
process the handler forks, so that the worker's end is seen as it happens. Between invocations
the module stays loaded: its globals are the warm state a Lambda environment keeps. For each
invocation:

- fds 1 and 2 point at the invocation's log file (appended to), so that what the handler, its C
  extensions and its child processes write lands there; `sys.stdout` and `sys.stderr` write
  through unbuffered, as Lambda's runtime makes them, and the root logger has Lambda's handler
  and format (`[INFO]\t<time>Z\t<request id>\t<message>`). The runtime's own lines (START,
  END, REPORT, an error) go through a descriptor of its own on the same file, so a handler that
  closes or redirects fd 1 does not lose them. After REPORT, fds 1 and 2 stay on that log until
  the next invocation: what a handler's thread or child writes late lands after its REPORT, as
  in the function's CloudWatch stream, rather than on redstep's terminal (before the first
  invocation fd 1 is /dev/null and fd 2 redstep's stderr, where a worker that cannot start
  says why).
- the first invocation imports the module, so that what it prints goes to that invocation's
  log, before START (with the project folder, and a handler file's own folder, first on
  `sys.path`). An import that fails is answered as the runtime answers it, and the worker exits
  after answering: Lambda starts a fresh environment for the next invocation.
- START, then `started` to redstep (the timeout counts from there), the handler with a Lambda
  context (`LambdaContext`), its answer marshalled to JSON as awslambdaric marshals it (bytes
  pass as they are), END and REPORT, and the `result`.
- an exception the handler raises is answered as an error object (`redstep.functions.faults`);
  SystemExit, KeyboardInterrupt and the like end the process, as they end Lambda's runtime, with
  the log still open to catch what Python prints on the way out, and redstep answers
  `Runtime.ExitError`.

Imports only the standard library (and redstep modules that only import it), so that a cold
start stays fast.
"""

from __future__ import annotations

import contextlib
import decimal
import importlib
import importlib.util
import io
import json
import logging
import math
import os
import resource
import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any, TextIO

from redstep.functions import faults, logs
from redstep.functions.faults import ErrorObject, Fault
from redstep.functions.messages import Header, read_message, write_message

_RUNTIME_FILES = frozenset({__file__})
"""Frames of these files lead every traceback and are left out of stack traces."""
_LOG_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"


class LambdaContext:
    """`context` in `handler(event, context)`, with the attributes Lambda's Python runtime
    gives it.

    As in awslambdaric, what describes the function (its name, version, memory, log group and
    stream) is read from the worker's environment variables, and the remaining time counts down
    to a deadline on the wall clock. No Cognito identity or mobile client context is ever passed
    to a local invocation, so `identity` and `client_context` are None.
    """

    def __init__(self, request_id: str, invoked_function_arn: str, deadline_ms: int) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        # A string, as Lambda's runtime gives it (it reads the variable too).
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity: object | None = None
        self.client_context: object | None = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until the function's timeout stops the handler (never below zero)."""
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, message: object) -> None:
        """Write to the invocation's log, as `context.log` does."""
        sys.stdout.write(str(message))

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},"
            f"client_context={self.client_context},"
            f"identity={self.identity}])"
        )


Handler = Callable[[Any, LambdaContext], Any]


class _Encoder(json.JSONEncoder):
    """awslambdaric's encoder, as its stdlib-json version writes: a Decimal (as DynamoDB gives
    them) is the float nearest it, `3` as `3.0` (awslambdaric answers a float subclass whose own
    repr the encoder never calls), a NaN one `NaN`. Characters are written as they are, as
    awslambdaric writes them for the python3.12 and later runtimes (it escapes them for 3.11 and
    earlier): the local Python says nothing of the runtime the function is deployed to, so the
    current runtimes' behaviour is the one to match."""

    def default(self, o: object) -> object:
        if isinstance(o, decimal.Decimal):
            return math.nan if o.is_nan() else float(o)
        return super().default(o)


_ENCODER = _Encoder(ensure_ascii=False)


def main(argv: list[str]) -> int:
    options = dict(zip(argv[::2], argv[1::2], strict=False))
    requests, answers = int(options["--in"]), int(options["--out"])
    # The handler's child processes must not hold redstep's pipes: those it starts lose them on
    # exec, those it forks (os.fork, multiprocessing) close them here.
    os.set_inheritable(requests, False)
    os.set_inheritable(answers, False)
    os.register_at_fork(after_in_child=lambda: _close(requests, answers))
    file = options.get("--file")
    paths = [os.path.dirname(file)] if file else []
    paths.append(options["--root"])
    sys.path[:0] = [path for path in dict.fromkeys(paths) if path not in sys.path]
    sys.stdout = _unbuffered(sys.stdout, 1)
    sys.stderr = _unbuffered(sys.stderr, 2)
    runtime = Runtime(options["--module"], options["--function"], file, answers)
    _install_logging(runtime)
    while (message := read_message(requests)) is not None:
        header, payload = message
        if header.get("type") != "invoke" or not runtime.serve(header, payload):
            break
    return 0


class Runtime:
    """Loads the handler once, and runs it for each invocation."""

    def __init__(self, module: str, function: str, file: str | None, answers: int) -> None:
        self.request_id = ""
        self._module, self._function, self._file = module, function, file
        self._answers = answers
        self._handler: Handler | None = None
        self._memory_size = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))

    def serve(self, message: Header, payload: bytes) -> bool:
        """Run one invocation and answer it; False when the worker must exit after it."""
        request_id: str = message["request_id"]
        log, log_error = _open_log(message["log"])
        _flush()  # what was written since the last invocation belongs to its log
        os.dup2(log, 1)
        os.dup2(log, 2)
        self.request_id = request_id
        init_duration_ms, error = self._initialise(log)
        is_final = error is not None
        _write(log, logs.start_line(request_id))
        began = time.perf_counter()
        deadline_ms = int(time.time() * 1000) + int(message["timeout"]) * 1000
        write_message(self._answers, {"type": "started", "max_memory": _max_memory()})
        body = b""
        if self._handler is not None and error is None:
            context = LambdaContext(request_id, message["arn"], deadline_ms)
            body, error = self._call(self._handler, payload, context)
            if error is not None:
                _flush()
                _write(log, logs.error_lines(error))
        if error is not None:
            body = _encode(error)
        duration_ms = (time.perf_counter() - began) * 1000
        _flush()
        report = logs.report_line(
            request_id,
            duration_ms=duration_ms,
            memory_size=self._memory_size,
            max_memory_used=_max_memory(),
            init_duration_ms=init_duration_ms,
        )
        _write(log, logs.end_line(request_id) + report)
        # Until the next invocation, fds 1 and 2 stay on this log (put back if the handler
        # closed or moved them).
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        self.request_id = ""
        write_message(
            self._answers,
            {
                "type": "result",
                "is_error": error is not None,
                "is_final": is_final,
                "max_memory": _max_memory(),
                "log_error": log_error,
            },
            body,
        )
        return not is_final

    def _initialise(self, log: int) -> tuple[float | None, ErrorObject | None]:
        """Import the handler if this is the first invocation: (init duration, error)."""
        if self._handler is not None:
            return None, None
        began = time.perf_counter()
        error: ErrorObject | None = None
        try:
            self._handler = load_handler(self._module, self._function, self._file)
        except Fault as fault:
            error = fault.error_object("")
        except Exception as raised:
            error = faults.exception_error(raised, "", runtime_files=_RUNTIME_FILES)
        duration_ms = (time.perf_counter() - began) * 1000
        if error is not None:
            _flush()
            _write(log, logs.error_lines(error))
        return duration_ms, error

    def _call(
        self, handler: Handler, payload: bytes, context: LambdaContext
    ) -> tuple[bytes, ErrorObject | None]:
        """The handler's answer as JSON, or the error object it came to."""
        request_id = context.aws_request_id
        try:
            event = json.loads(payload) if payload.strip() else {}
            return _marshal(handler(event, context)), None
        except Fault as fault:
            return b"", fault.error_object(request_id)
        except Exception as error:
            return b"", faults.exception_error(error, request_id, runtime_files=_RUNTIME_FILES)


def load_handler(module: str, function: str, file: str | None) -> Handler:
    """The handler, imported as awslambdaric imports it and its failures worded as it words them."""
    try:
        # A file is loaded under its stem, which must not be a module the runtime already has.
        if module.split(".")[0] in sys.builtin_module_names or (file and module in sys.modules):
            raise Fault(
                faults.BUILT_IN_MODULE_CONFLICT,
                f"Cannot use built-in module {module} as a handler module",
            )
        loaded = _import_file(module, file) if file else importlib.import_module(module)
    except ImportError as error:
        raise Fault(
            faults.IMPORT_MODULE_ERROR, f"Unable to import module '{module}': {error}"
        ) from None
    except SyntaxError as error:
        trace = [f'  File "{error.filename}" Line {error.lineno}\n    {error.text}']
        raise Fault(
            faults.USER_CODE_SYNTAX_ERROR, f"Syntax error in module '{module}': {error}", trace
        ) from None
    try:
        handler: Handler = getattr(loaded, function)
    except AttributeError:
        raise Fault(
            faults.HANDLER_NOT_FOUND, f"Handler '{function}' missing on module '{module}'"
        ) from None
    return handler


def _import_file(name: str, path: str) -> ModuleType:
    if not os.path.isfile(path):
        raise ModuleNotFoundError(f"No module named '{name}'", name=name)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named '{name}'", name=name)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _marshal(response: object) -> bytes:
    if isinstance(response, bytes):
        return response
    try:
        return _encode(response)
    except Exception as error:
        raise Fault(faults.MARSHAL_ERROR, f"Unable to marshal response: {error}") from None


def _encode(value: object) -> bytes:
    # A lone surrogate, which UTF-8 cannot hold, is written as its JSON escape (`\udc80`).
    return _ENCODER.encode(value).encode("utf-8", "backslashreplace")


def _open_log(path: str | None) -> tuple[int, str | None]:
    """The invocation's log, opened to append (its folders made); /dev/null, and why, if not."""
    reason = None
    if path is not None:
        try:
            return logs.open_log(path), None
        except OSError as error:
            reason = f"cannot write the log {path}: {error}"
    return os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC), reason


def _write(log: int, text: str) -> None:
    """The runtime's own lines, after what the handler wrote through `sys.stdout`."""
    with open(log, "w", encoding="utf-8", errors="backslashreplace", closefd=False) as file:
        file.write(text)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        # A stream the handler replaced, or closed, has nothing to keep.
        with contextlib.suppress(Exception):
            stream.flush()


def _close(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _unbuffered(stream: TextIO, fd: int) -> TextIO:
    """A text stream on `fd` that writes at once, as `python -u` makes it."""
    return io.TextIOWrapper(
        io.FileIO(fd, "w", closefd=False),
        encoding=stream.encoding,
        errors=stream.errors,
        write_through=True,
    )


def _max_memory() -> int:
    """MB the process has used at most (ru_maxrss is in KB on Linux, in bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // (1024 * 1024) if sys.platform == "darwin" else peak // 1024


class _LambdaLogHandler(logging.Handler):
    """The root logger's handler in Lambda's runtime: its text format, to the log."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record))
        except Exception:
            self.handleError(record)


def _install_logging(runtime: Runtime) -> None:
    def add_request_id(record: logging.LogRecord) -> bool:
        record.aws_request_id = runtime.request_id
        return True

    logging.Formatter.converter = time.gmtime
    handler = _LambdaLogHandler()
    handler.setFormatter(logging.Formatter(_LOG_FORMAT, "%Y-%m-%dT%H:%M:%S"))
    handler.addFilter(add_request_id)
    logging.getLogger().addHandler(handler)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The lines Lambda writes around an invocation's output, as CloudWatch Logs shows them.

    START RequestId: <id> Version: $LATEST
    ... what the handler wrote ...
    [ERROR] ValueError: boom                       (an exception the handler raised)
    Traceback (most recent call last):
      File "/project/functions/app.py", line 3, in handler
    END RequestId: <id>
    REPORT RequestId: <id>	Duration: 12.34 ms	Billed Duration: 13 ms	Memory Size: 128 MB	...

The first invocation of a worker has what the module printed as it was imported before its
START line, and its REPORT says `Init Duration`. When the process ends during an invocation, or
the invocation times out, redstep writes Lambda's lines for that after whatever the handler
wrote (`exit_lines`, or the timeout message), then END and REPORT.

Both write to the log file the same way (`open_log`): appended to, the file and its folders
created, at the absolute path `Functions.invoke` made of the caller's.

Standard library only: the worker imports this module.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping


def start_line(request_id: str) -> str:
    return f"START RequestId: {request_id} Version: $LATEST\n"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}\n"


def report_line(
    request_id: str,
    *,
    duration_ms: float,
    memory_size: int,
    max_memory_used: int,
    init_duration_ms: float | None = None,
) -> str:
    """Lambda's REPORT line (tab-separated); billed to the next millisecond, as Lambda bills."""
    fields = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {math.ceil(duration_ms)} ms",
        f"Memory Size: {memory_size} MB",
        f"Max Memory Used: {max_memory_used} MB",
    ]
    if init_duration_ms is not None:
        fields.append(f"Init Duration: {init_duration_ms:.2f} ms")
    return "\t".join(fields) + "\n"


def error_lines(error: Mapping[str, object]) -> str:
    """An error object as the runtime logs it (its text format, one line to a line here)."""
    error_type, message = error.get("errorType"), error.get("errorMessage")
    description = "[ERROR]"
    if error_type:
        description += f" {error_type}"
    if message:
        description += f"{':' if error_type else ''} {message}"
    lines = [description]
    stack_trace = error.get("stackTrace")
    if isinstance(stack_trace, list):
        lines.append("Traceback (most recent call last):")
        for frame in stack_trace:
            lines.extend(str(frame).splitlines())
    return "\n".join(lines) + "\n"


def exit_lines(error: Mapping[str, str]) -> str:
    """What Lambda logs when the process ends during an invocation: the message, the type."""
    return f"{error['errorMessage']}\n{error['errorType']}\n"


def open_log(path: str) -> int:
    """A log file's descriptor (not inherited), opened to append: the file and its folders are
    created. `path` is absolute (`Functions.invoke` makes it so)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)


def append(path: str, text: str) -> None:
    """Append to a log file, creating it and its folders."""
    with open(open_log(path), "a", encoding="utf-8", errors="backslashreplace") as log:
        log.write(text)

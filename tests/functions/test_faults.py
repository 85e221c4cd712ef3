"""Lambda's wording for an exit and a timeout, and its REPORT line."""

from __future__ import annotations

import signal
from datetime import UTC, datetime

import pytest

from redstep.functions import faults, logs


@pytest.mark.parametrize(
    ("returncode", "reason"),
    [
        (3, "Runtime exited with error: exit status 3"),
        (0, "Runtime exited without providing a reason"),
        (-signal.SIGKILL, "Runtime exited with error: signal: killed"),
        (-signal.SIGSEGV, "Runtime exited with error: signal: segmentation fault"),
        (-signal.SIGABRT, "Runtime exited with error: signal: aborted"),
        (-63, "Runtime exited with error: signal: signal 63"),
    ],
)
def test_an_exit_is_worded_as_lambda_words_it(returncode: int, reason: str) -> None:
    assert faults.exit_error("r-1", returncode) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: r-1 Error: {reason}",
    }


def test_a_timeout_is_worded_as_lambda_words_it() -> None:
    now = datetime(2024, 5, 1, 12, 0, 3, 45_678, tzinfo=UTC)
    assert faults.timeout_error(now, "r-1", 3) == {
        "errorMessage": "2024-05-01T12:00:03.045Z r-1 Task timed out after 3.00 seconds"
    }


def test_the_report_line_bills_to_the_next_millisecond() -> None:
    line = logs.report_line("r-1", duration_ms=12.3412, memory_size=256, max_memory_used=40)
    assert line == (
        "REPORT RequestId: r-1\tDuration: 12.34 ms\tBilled Duration: 13 ms\t"
        "Memory Size: 256 MB\tMax Memory Used: 40 MB\n"
    )

"""Calling one aws-sdk integration action directly, as a Task state would, in the tests of each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from redstep.integrations.failure import TaskFailure

Call = Callable[[str, Any], Any]
"""(action, Parameters) -> the task's result."""


def failure(call: Call, action: str, parameters: Any) -> TaskFailure:
    """The TaskFailure `call` raises for the action (failing the test when it succeeds)."""
    with pytest.raises(TaskFailure) as caught:
        call(action, parameters)
    return caught.value

"""A fake StartExecution that records what triggers start, and lets a test wait for it."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

WAIT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Start:
    state_machine: str
    name: str
    input: str

    @property
    def event(self) -> Any:
        return json.loads(self.input)


@dataclass
class Recorder:
    """Records each start; `fail_with` makes the next starts raise instead."""

    starts: list[Start] = field(default_factory=list)
    fail_with: Exception | None = None
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def __call__(self, state_machine: str, name: str, text: str) -> object:
        with self._changed:
            if self.fail_with is not None:
                raise self.fail_with
            self.starts.append(Start(state_machine, name, text))
            self._changed.notify_all()
        return {"executionArn": f"arn:aws:states:us-east-1:123456789012:execution:x:{name}"}

    def wait_for(self, predicate: Callable[[list[Start]], bool]) -> list[Start]:
        """The starts so far, once `predicate` holds of them (failing after WAIT_SECONDS)."""
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self.starts), WAIT_SECONDS):
                pytest.fail(f"timed out; started so far: {[s.name for s in self.starts]}")
            return list(self.starts)

    @property
    def names(self) -> list[str]:
        with self._changed:
            return [start.name for start in self.starts]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()

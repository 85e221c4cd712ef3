"""Shapes the distributed Map tests share: a machine around one distributed Map, and waits for
what the map runs' threads bring about."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from held_tasks import HeldTasks

from redstep.engine.commands import ScheduleTask
from redstep.engine.signals import Signal

#: How long a test waits for another thread, in real seconds.
WAIT = 60.0


def distributed(processor: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A machine whose only state is a distributed Map `M` over `$.items` (unless an
    ItemReader is given) running `processor` in each child."""
    state: dict[str, Any] = {
        "Type": "Map",
        "Label": "Each",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            **processor,
        },
        "End": True,
        **fields,
    }
    if "ItemReader" not in fields:
        state.setdefault("ItemsPath", "$.items")
    return {"StartAt": "M", "States": {"M": state}}


def eventually(condition: Callable[[], bool], what: str) -> None:
    """Wait for another thread to bring `condition` about (real time: threads, not timers)."""
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def held_tasks(
    held: HeldTasks, count: int
) -> list[tuple[str, ScheduleTask, Callable[[Signal], None]]]:
    """The first `count` tasks `held` was given, once it has been given that many."""
    eventually(lambda: len(held.started) >= count, f"{count} held tasks")
    return list(held.started[:count])

"""A task runner for tests: it keeps every task it is given until the test answers it."""

from __future__ import annotations

import threading
from collections.abc import Callable

from redstep.engine.commands import ScheduleTask
from redstep.engine.signals import Signal


class HeldTasks:
    """Records what it starts (with the callback that answers it) and what it cancels."""

    def __init__(self) -> None:
        self.started: list[tuple[str, ScheduleTask, Callable[[Signal], None]]] = []
        self.cancelled: list[tuple[str, int]] = []
        self.arrived = threading.Event()

    def start(
        self, execution_arn: str, command: ScheduleTask, report: Callable[[Signal], None]
    ) -> None:
        self.started.append((execution_arn, command, report))
        self.arrived.set()

    def cancel(self, execution_arn: str, task_id: int) -> None:
        self.cancelled.append((execution_arn, task_id))

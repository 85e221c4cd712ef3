"""`Progress`: what a map run's thread knows of its children as the run goes on (`MapRunner`,
`redstep.runtime.map_runs`): those still to start, to redrive and running, and how many of the
run's items failed, which decides when the run fails (`exceeds`)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from redstep.engine.commands import ExecutionStatus
from redstep.runtime.items import ChildInput

#: The statuses of a child whose items count as failed.
FAILURE_STATUSES = frozenset(
    {ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT, ExecutionStatus.ABORTED}
)


@dataclass(slots=True)
class Progress:
    """What a run's thread knows of its children."""

    inputs: list[ChildInput] | None
    total: int
    pending: deque[int]
    running: dict[str, int] = field(default_factory=dict)  # child ARN -> index
    failed_items: int = 0
    item_total: int = 0
    # How many items each child started before a restart holds, by index: the inputs are not
    # read again when every child was started.
    started_items: dict[int, int] = field(default_factory=dict)
    # Children that did not succeed in an earlier attempt, by index: waiting to be redriven
    # (`redrive`), or still being stopped, to be redriven once they have ended (`stale`).
    redrive: deque[int] = field(default_factory=deque)
    stale: set[int] = field(default_factory=set)

    def items_of(self, index: int) -> int:
        """How many of the run's items child `index` holds."""
        if self.inputs is not None:
            return self.inputs[index].items
        return self.started_items.get(index, 1)

    def count(self, items: int, status: ExecutionStatus) -> None:
        """A child of `items` items ended: they count as failed unless it succeeded."""
        if status in FAILURE_STATUSES:
            self.failed_items += items

    def exceeds(self, count: int | None, percentage: float | None) -> bool:
        """Whether the failed items pass a tolerated threshold, a count or a percentage of all
        items (neither set: none is tolerated)."""
        failed = self.failed_items
        if failed == 0:
            return False
        if count is None and percentage is None:
            return True
        if count is not None and failed > count:
            return True
        total = self.item_total
        return percentage is not None and total > 0 and failed * 100 / total > percentage

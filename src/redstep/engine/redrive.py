"""Redrive: an execution that FAILED, TIMED_OUT or was ABORTED runs again from what did not
succeed, in the same history, as AWS's RedriveExecution does.

AWS says a redrive "continues the failed execution from the unsuccessful step and uses the same
input", keeps the results of the successful steps, and, inside an Inline Map or a Parallel,
"reschedules and redrives only the iterations and branches that failed or aborted"; a state
machine's TimeoutSeconds starts over, and a redriven state's retries are counted from 0. Here that
is, recursively, for each path of control (`Flow`) that did not succeed:

- a flow that was about to enter its next state when the execution ended enters it;
- a flow in a Parallel or inline Map whose branches or iterations a failure cut short (or that
  was still running them) enters that state again and runs only the children that did not
  succeed, each redriven the same way; the others keep their results;
- any other flow enters its current state again, with the input it was entered with: a Task is
  scheduled again, a Fail state fails again (AWS's rule: a workflow that routes an error to a
  Fail state fails there again), a Parallel or Map that failed of its own runs whole;
- a distributed Map whose map run failed or was aborted redrives that map run (the same ARN;
  `MapRunRedriven` with its redrive count instead of `MapRunStarted`): the runtime redrives its
  unsuccessful children and starts those never started, keeping the ones that succeeded. As AWS
  does, a map run that failed reading its items or writing its results (States.ItemReaderFailed,
  States.ResultWriterFailed: on AWS, a role without the permissions) is not redriven: a new one
  starts, as it does when none had started.

The history records `ExecutionRedriven` (`{"redriveCount": n}`, after the event that ended the
execution), then each re-entered state's `…StateEntered`, pointing at it; a redriven Parallel or
Map records `…StateStarted` again and only the redriven children's events (a Map its
`MapIterationStarted` for each), then `…StateSucceeded` and `…StateExited` as usual.

What a redrive needs is noted while the execution runs, by hooks the interpreter calls: when a
flow fails (`_note_failure`: a branch or iteration that failed, even if tolerated), when a
Parallel or Map cuts what still runs (`_abort_container`: a child failed, or a Map's
ItemSelector did, and the children still running or queued did not succeed), and when the
execution ends (`_note_end`: where control was), and when a distributed Map's map run starts and
ends (`_start_map_run`, `_map_run_ended`). An item whose ItemSelector failed never ran: it counts
as not started. `RedriveSteps` is part of the interpreter (its base class); it overrides
six of `ContainerSteps`' steps: four to note cuts and to run a Parallel or Map partly, two to note
and redrive map runs.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from redstep.asl.errors import Failure, StatesError
from redstep.asl.model import MapState, ParallelState, ProcessorMode, StateMachine
from redstep.engine.agenda import Task
from redstep.engine.commands import ExecutionStatus
from redstep.engine.containers import ContainerSteps, Host
from redstep.engine.context import ExecutionInfo
from redstep.engine.flows import Flow, MapRun, ParallelRun

#: The statuses a redrive may follow.
REDRIVABLE = frozenset({ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT, ExecutionStatus.ABORTED})

#: Why a redrive fails at once when the interpreter cannot tell where control stood.
NOWHERE_CAUSE = "redstep cannot tell which states of this execution to redrive"

#: The errors of a map run that a redrive does not redrive: it starts a new one (module docstring).
NEW_MAP_RUN_ERRORS = frozenset(
    {StatesError.ITEM_READER_FAILED.value, StatesError.RESULT_WRITER_FAILED.value}
)

Run = ParallelRun | MapRun


@dataclass(slots=True)
class CutShort:
    """A Parallel's or Map's run that a child's failure ended (or that had a child fail and was
    still running when the execution ended): its children that did not succeed, by index.

    `entered_id` is the entry of the state the run belongs to: a later entry makes it stale."""

    run: Run
    entered_id: int
    children: dict[int, Flow] = field(default_factory=dict)


@dataclass(slots=True)
class MapRunNote:
    """The map run a distributed Map's entry `entered_id` started (or redrove, `redrives` times
    by then), and how it answered: succeeded, failed with `error`, or not at all (it was cut)."""

    entered_id: int
    arn: str
    redrives: int
    succeeded: bool = False
    error: str | None = None

    @property
    def is_redrivable(self) -> bool:
        return not self.succeeded and self.error not in NEW_MAP_RUN_ERRORS


@dataclass(slots=True)
class RedriveLedger:
    """What an execution's redrives need to know, kept as it runs."""

    root: Flow | None = None
    """The execution's own flow, once it failed or the execution ended."""
    redrives: int = 0
    cut: dict[Flow, CutShort] = field(default_factory=dict)
    """A Parallel's or Map's flow -> its last run that a failure cut short."""
    entries: dict[Flow, tuple[int, tuple[Any, ...]]] = field(default_factory=dict)
    """A flow -> (its entered_id then, the `_enter` arguments) of a state it was queued to enter
    when the execution ended or its siblings were cut: valid while entered_id is unchanged."""
    plans: dict[Flow, tuple[Run, list[Flow]]] = field(default_factory=dict)
    """A flow re-entering its Parallel or Map -> the run to complete and the children to redrive
    (taken by `_run_parallel` / `_run_map`)."""
    queues: dict[MapRun, deque[Flow]] = field(default_factory=dict)
    """A Map's run -> its redriven iterations still waiting for room under MaxConcurrency."""
    map_runs: dict[Flow, MapRunNote] = field(default_factory=dict)
    """A distributed Map's flow -> the map run its latest entry started."""
    map_run_redrives: dict[Flow, MapRunNote] = field(default_factory=dict)
    """A flow re-entering its distributed Map -> the map run to redrive (taken by
    `_start_map_run`)."""


class RedriveHost(Host, Protocol):
    """What a redrive needs of the interpreter, beyond what Parallel and Map need."""

    machine: StateMachine
    status: ExecutionStatus
    _now: datetime
    _execution_context: dict[str, Any] | None

    def _execution_timed_out(self) -> None: ...

    def _fail_execution(self, cause: str) -> None: ...

    def _redrive_ledger(self) -> RedriveLedger: ...

    def _redrive_flow(self, flow: Flow) -> None: ...

    def _note_entries(self) -> None: ...


class RedriveSteps(ContainerSteps):
    """The redrive part of the interpreter (see the module's docstring)."""

    # Made on first use: the interpreter's __init__ is not this module's.
    _ledger: RedriveLedger | None = None
    # The interpreter's own, which a redrive changes.
    status: ExecutionStatus
    info: ExecutionInfo
    _execution_context: dict[str, Any] | None

    def _redrive_ledger(self) -> RedriveLedger:
        if self._ledger is None:
            self._ledger = RedriveLedger()
        return self._ledger

    # -- hooks: what the interpreter tells as the execution runs --------------------------------

    def _note_failure(self: RedriveHost, flow: Flow, failure: Failure) -> None:
        """`flow` failed (called before its Parallel or Map, if any, hears of it)."""
        ledger = self._redrive_ledger()
        run = flow.parent
        if run is None:
            ledger.root = flow
            return
        # Even a tolerated failure is redriven: the others go on, and may yet succeed; if the
        # run is cut later, `_abort_container` notes what it cuts.
        _cut_record(ledger, run).children[flow.index] = flow

    def _note_end(self: RedriveHost) -> None:
        """The execution is ending (before what still runs is cancelled)."""
        ledger = self._redrive_ledger()
        self._note_entries()
        if ledger.root is not None:
            return
        waiting: Iterable[Flow | None] = (
            *(task.flow for task in self._agenda.tasks.values()),
            *(timer.flow for timer in self._agenda.timers.values()),
            *(flow for flow, _, _ in self._ready),
        )
        for flow in waiting:
            if flow is not None:
                while flow.parent is not None:
                    flow = flow.parent.flow
                ledger.root = flow
                return

    def _note_entries(self: RedriveHost) -> None:
        """Remember the states flows were queued to enter, as `_ready` is about to be lost."""
        entries = self._redrive_ledger().entries
        for flow, action, args in self._ready:
            if action == self._enter:
                entries[flow] = (flow.entered_id, args)

    # -- the redrive ---------------------------------------------------------------------------

    def _redrive(self: RedriveHost) -> None:
        """Run the execution again from what did not succeed (a `Redrive` signal)."""
        if self.status not in REDRIVABLE:
            return  # running or succeeded: the runtime never sends this, and it changes nothing
        ledger = self._redrive_ledger()
        ledger.redrives += 1
        self.info = dataclasses.replace(self.info, redrive_count=ledger.redrives)
        self._execution_context = None  # $$.Execution.RedriveCount changed
        self.status = ExecutionStatus.RUNNING
        redriven = self._emit(None, "ExecutionRedriven", {"redriveCount": ledger.redrives})
        if self.machine.timeout_seconds is not None:  # AWS starts the timeout over
            due = self._now + timedelta(seconds=self.machine.timeout_seconds)
            self._agenda.start_timer(None, due, self._execution_timed_out)
        root = ledger.root
        if root is None:
            self._fail_execution(NOWHERE_CAUSE)
            return
        _revive(root, redriven)
        self._redrive_flow(root)

    def _redrive_flow(self: RedriveHost, flow: Flow) -> None:
        """Enter again what `flow` had not done (see the module's docstring)."""
        ledger = self._redrive_ledger()
        flow.is_alive = True
        entry = ledger.entries.pop(flow, None)
        if entry is not None and entry[0] == flow.entered_id:
            flow.container = None
            self._enter(flow, *entry[1])
            return
        state = flow.state
        assert state is not None  # a flow never entered has its entry noted (see _partial_plan)
        plan = _partial_plan(ledger, flow)
        flow.container = None
        if plan is not None:
            ledger.plans[flow] = plan
        note = ledger.map_runs.get(flow)
        if note is not None and note.entered_id == flow.entered_id and note.is_redrivable:
            ledger.map_run_redrives[flow] = note
        self._enter(flow, state.name, flow.data)

    def _abort_container(self: RedriveHost, run: Run, previous: int) -> None:
        """Note what a cut leaves undone - the children still running or queued, and the
        states some were about to enter - before `ContainerSteps` cuts them.

        Only the outermost cut notes: `_note_cut` goes down the nested runs itself, and a
        nested run's owner is already dead when its own cut is called."""
        if run.flow.is_alive:
            _note_cut(self._redrive_ledger(), run)
            self._note_entries()
        ContainerSteps._abort_container(self, run, previous)

    # -- a distributed Map's map run --------------------------------------------------------------

    def _start_map_run(
        self: RedriveHost, flow: Flow, state: MapState, redrive: tuple[str, int] | None = None
    ) -> str:
        """Start a map run, or redrive the one this entry's redrive noted; note which."""
        ledger = self._redrive_ledger()
        earlier = ledger.map_run_redrives.pop(flow, None)
        if earlier is not None:
            redrive = (earlier.arn, earlier.redrives + 1)
        arn = ContainerSteps._start_map_run(self, flow, state, redrive)
        ledger.map_runs[flow] = MapRunNote(flow.entered_id, arn, redrive[1] if redrive else 0)
        return arn

    def _map_run_ended(self: RedriveHost, task: Task, result: Any, failure: Failure | None) -> None:
        flow = task.flow
        note = self._redrive_ledger().map_runs.get(flow)
        if note is not None and note.entered_id == flow.entered_id:
            note.succeeded = failure is None
            note.error = None if failure is None else failure.error
        ContainerSteps._map_run_ended(self, task, result, failure)

    # -- Parallel and Map, run partly ------------------------------------------------------------

    def _run_parallel(self: RedriveHost, flow: Flow, state: ParallelState) -> None:
        plan = self._redrive_ledger().plans.pop(flow, None)
        if plan is None:
            ContainerSteps._run_parallel(self, flow, state)
            return
        run, redo = plan
        assert isinstance(run, ParallelRun)
        self._input(flow, state.filters)  # a state that fails of its own fails again
        started = self._emit(flow, "ParallelStateStarted")
        run.remaining = len(redo)
        run.cursor = started
        flow.container = run
        for child in redo:
            _revive(child, started)
            self._ready.append((child, self._redrive_flow, ()))

    def _run_map(self: RedriveHost, flow: Flow, state: MapState) -> None:
        plan = self._redrive_ledger().plans.pop(flow, None)
        if plan is None:
            ContainerSteps._run_map(self, flow, state)
            return
        run, redo = plan
        assert isinstance(run, MapRun)
        self._input(flow, state.filters)  # a state that fails of its own fails again
        started = self._emit(flow, "MapStateStarted", {"length": len(run.items)})
        run.cursor = run.last_ended = started
        run.active.clear()
        run.failures = 0  # the tolerance counts the failures of this attempt
        run.completed = run.next_index - len(redo)
        flow.container = run
        if redo:
            self._redrive_ledger().queues[run] = deque(redo)
        self._continue_map(run)

    def _start_iterations(self: RedriveHost, run: MapRun) -> None:
        """Redriven iterations first (as many as MaxConcurrency lets run), then those never
        started, as a Map starts them."""
        queue = self._redrive_ledger().queues.get(run)
        if queue:
            owner = run.flow
            assert isinstance(owner.state, MapState)
            while queue and len(run.active) < run.max_concurrency:
                child = queue.popleft()
                started = self._emit(
                    owner,
                    "MapIterationStarted",
                    {"index": child.index, "name": owner.state.name},
                    previous=run.cursor,
                )
                _revive(child, started)
                run.active[child.index] = child
                self._ready.append((child, self._redrive_flow, ()))
            if queue:
                return
            del self._redrive_ledger().queues[run]
        ContainerSteps._start_iterations(self, run)
        if run.flow.container is not run:
            # An ItemSelector failed (it alone cuts a run here) on the last item taken, which
            # never ran: a redrive starts it again, with those after it.
            run.next_index -= 1


def _revive(flow: Flow, last_event: int) -> None:
    """A flow that ended runs again; its next event points at `last_event`."""
    flow.is_alive = True
    flow.last_event = last_event
    flow.task_id = None
    flow.timer_id = None


def _cut_record(ledger: RedriveLedger, run: Run) -> CutShort:
    """The record of `run` in its state's current entry (a new one after a redrive entered it
    again: what the last attempt noted is stale)."""
    owner = run.flow
    cut = ledger.cut.get(owner)
    if cut is None or cut.run is not run or cut.entered_id != owner.entered_id:
        cut = ledger.cut[owner] = CutShort(run, owner.entered_id)
    return cut


def _note_cut(ledger: RedriveLedger, run: Run) -> None:
    """`run` is about to be cut short: its children still running (and, inside them, the runs
    they are in) did not succeed, nor did the redriven iterations still queued."""
    cut = _cut_record(ledger, run)
    children = run.children if isinstance(run, ParallelRun) else run.active.values()
    for child in children:
        if child.is_alive:
            cut.children[child.index] = child
            if child.container is not None:
                _note_cut(ledger, child.container)
    if isinstance(run, MapRun):
        cut.children.update((child.index, child) for child in ledger.queues.pop(run, ()))


def _partial_plan(ledger: RedriveLedger, flow: Flow) -> tuple[Run, list[Flow]] | None:
    """The run of `flow`'s Parallel or inline Map to complete, and its children to redrive; None
    when the state must run whole (it failed of its own, or is no such state)."""
    state = flow.state
    if not isinstance(state, ParallelState | MapState):
        return None
    if isinstance(state, MapState) and state.mode is ProcessorMode.DISTRIBUTED:
        return None  # it starts whole: its map run (`_start_map_run`) redrives the children
    cut = ledger.cut.get(flow)
    run = flow.container
    if run is None:
        if cut is None or cut.entered_id != flow.entered_id:
            return None
        run = cut.run
    is_noted = cut is not None and cut.run is run and cut.entered_id == flow.entered_id
    children: dict[int, Flow] = dict(cut.children) if cut is not None and is_noted else {}
    if isinstance(run, ParallelRun):
        if run.remaining == 0:
            return None  # every branch succeeded: the state failed of its own
        children.update((child.index, child) for child in run.children if child.is_alive)
    else:
        if run.completed == len(run.items) and not children:
            return None
        children.update(run.active)
        children.update((child.index, child) for child in ledger.queues.pop(run, ()))
    redo = [children[index] for index in sorted(children)]
    for child in redo:
        entry = ledger.entries.get(child)
        if child.state is None and (entry is None or entry[0] != child.entered_id):
            return None  # where it would have started is lost: the state runs whole
    return run, redo

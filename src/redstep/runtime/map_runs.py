"""`MapRunner`: the map runs of distributed Maps, each item (or batch of items) a child execution.

A distributed Map hands its work to the executor as a task whose resource is MAP_RUN_RESOURCE
and whose parameters are a `MapRunRequest` (`redstep.engine.commands`). `MapRunner` is the task
runner for those; it passes every other task to the runner it wraps. A map run, on a thread of
its own:

1. records itself (`MapRunRecord`) and the revision its children run: the Map's ItemProcessor,
   as `arn:…:stateMachine:<machine>/<label>` (a revision only, so ListStateMachines does not
   show it);
2. reads its items (the request's, or its ItemReader's: `redstep.runtime.map_run_objects`),
   applies ItemSelector to each (`redstep.engine.containers.select_item`) and groups them with
   its ItemBatcher (`redstep.runtime.items`);
3. starts each child as an execution of its own (`arn:…:execution:<machine>/<label>:<uuid>`,
   its own history), at most MaxConcurrency at once (0: `UNBOUNDED_CONCURRENCY`), and is told
   by the executor when each ends (`Executor.add_end_listener`), never polling;
4. counts the items of failed, timed-out and aborted children against the tolerated failure
   thresholds (a count of items, and a percentage of all items; with neither set, none is
   tolerated: `redstep.runtime.map_run_progress`), and fails as soon as one is exceeded: the
   children still running are aborted, and the state fails with
   States.ExceedToleratedFailureThreshold;
5. writes its results with the ResultWriter, and answers the Map state: TaskSucceeded with the
   children's outputs in item order (one per batch), or the ResultWriter's description; or
   TaskFailed (States.ItemReaderFailed, States.ResultWriterFailed, States.DataLimitExceeded for
   an item too large for a child's input, the ItemSelector's own failure, States.Runtime for a
   defect or a store that fails). However it fails, the children still running are aborted
   first, so that none runs on unwatched.

Durability: the run's answer is recorded before it is given, and every child is recorded with
its link to the run, in one transaction, before it is submitted. After a restart the executor
resumes the children on its own and the interpreter dispatches the map run again: the runner
finds the run's record, answers the recorded answer if it has one, and otherwise joins the
children already started (child names are derived from the run's ARN and the child's index, so
nothing is started twice) and starts the rest. A run whose parent ended while the process was
down is aborted, children and all, when the engine starts again (`recover`).

Cancelling the task (the parent was stopped, timed out or failed) aborts the running children
and marks the run ABORTED; a cancel that comes while the run writes its results lets it finish
writing, and the run still ends ABORTED. UpdateMapRun changes MaxConcurrency and the
thresholds of a RUNNING run (`update`): a new MaxConcurrency holds for the children not started
yet, a new threshold at once, so one lowered below the failures already counted fails the run
then ("the maximum number of failed items before the Map Run fails", as AWS's reference words
it). While a run only waits for its children it tells the executor so
(`Executor.wait_on_children`), so that a virtual clock may skip their Wait states.

A redrive of the parent may redrive a run that failed or was aborted (the request's
`redriveCount` is past the record's, `redstep.engine.redrive` says when): the record runs again
(RUNNING, its redrive counted and dated, its answer cleared) and the run goes on as after a
restart, but that each child that did not succeed in an earlier attempt (the record's redrive
count is its attempt; each child's link keeps the attempt that last started or redrove it) is
redriven, before the children never started and under the same MaxConcurrency; one still being
stopped with the run is redriven once it has ended. A child's link takes the attempt once it is
redriven: after a restart in between, it runs on as an earlier attempt's child, redriven again
only should it fail again. The children that succeeded keep their results. DescribeMapRun may
tell the run as it ended for a moment after RedriveExecution returns: its thread changes it.

The parent may be an Express execution, which only the executor's store holds (the runner is
given that store); its children are durable, and aborted at the next start like any whose
parent is gone. EXPRESS children (ProcessorConfig.ExecutionType) are run as STANDARD ones are,
for now.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import queue
import random
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from redstep.asl.distributed import Transformation
from redstep.asl.errors import StatesError, StatesFailure
from redstep.asl.json_text import read_json
from redstep.asl.model import StateMachine
from redstep.asl.paths import to_json
from redstep.buckets import Buckets
from redstep.engine.commands import (
    MAP_RUN_RESOURCE,
    ExecutionStatus,
    MapRunRequest,
    ScheduleTask,
)
from redstep.engine.containers import select_item
from redstep.engine.context import ExecutionInfo
from redstep.engine.signals import Signal, Stop, TaskFailed, TaskSucceeded
from redstep.runtime.clock import Clock
from redstep.runtime.errors import InvalidArn
from redstep.runtime.executor import Executor, TaskRunner
from redstep.runtime.express import is_express_arn
from redstep.runtime.items import (
    Batching,
    ChildInput,
    ItemTooLarge,
    batched,
    one_by_one,
)
from redstep.runtime.map_run_api import MapRunArn, not_running
from redstep.runtime.map_run_definitions import (
    MapStateNotFound,
    find_map_state,
    processor_definition,
)
from redstep.runtime.map_run_objects import (
    ChildResult,
    ItemReaderFailed,
    ResultWriterFailed,
    read_items,
    transformed,
    write_results,
    writer_settings,
)
from redstep.runtime.map_run_progress import Progress
from redstep.runtime.store import (
    REDRIVABLE_STATUSES,
    ExecutionRecord,
    ExecutionStore,
    MapRunChild,
    MapRunRecord,
    MapRunStatus,
    SignalRecord,
    StateMachineRecord,
    StoreConflict,
)

logger = logging.getLogger(__name__)

#: How many children run at once when MaxConcurrency is 0 (AWS allows up to 10,000; one
#: process gains nothing from more live executions than this).
UNBOUNDED_CONCURRENCY = 1000
EXCEEDED_CAUSE = "The specified tolerated failure threshold was exceeded"  # AWS's
#: How long `close` waits for each map run's thread to put its work down.
CLOSE_WAIT_SECONDS = 5.0


class _Failed(Exception):
    """The map run fails with `error` and `cause`."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


@dataclass(eq=False, slots=True)
class _Run:
    """A map run in this process, and what its thread and the executor's tell each other."""

    arn: MapRunArn
    parent: str
    task_id: int
    request: MapRunRequest
    report: Callable[[Signal], None]
    max_concurrency: int
    tolerated_count: int | None
    tolerated_percentage: float | None
    # Guards the fields below, and `report` and `task_id`, which a dispatch of the same run
    # again changes while the run's thread may be answering.
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Child ARNs that ended, and "" for a wake-up (cancel, update, close).
    news: queue.SimpleQueue[str] = field(default_factory=queue.SimpleQueue)
    child_revision: str = ""
    now_waiting: Callable[[], None] = lambda: None
    is_waiting: bool = False
    is_cancelled: bool = False
    is_closing: bool = False
    is_over: bool = False  # it has answered: its thread only tidies up
    attempt: int = 0  # the record's redrive count, once read
    thread: threading.Thread | None = None
    # The same run, cancelled or answered, whose thread was still putting it down when a
    # redrive of its parent dispatched it again: this one waits for that one to end first.
    predecessor: _Run | None = None

    def tell(self, news: str = "") -> None:
        """Wake the run's thread; it has work again (so no virtual time passes until it
        waits again)."""
        with self.lock:
            self.is_waiting = False
            self.news.put(news)

    def waits(self) -> bool:
        with self.lock:
            return self.is_waiting

    def wait(self) -> list[str]:
        """Block until told something; everything told so far."""
        with self.lock:
            self.is_waiting = is_waiting = self.news.empty()
            now_waiting = self.now_waiting
        if is_waiting:
            now_waiting()
        told = [self.news.get()]
        while True:
            try:
                told.append(self.news.get_nowait())
            except queue.Empty:
                return told


#: An execution's state machine, parsed, and its context object's execution (for ItemSelector).
MachineOf = Callable[[ExecutionRecord], tuple[StateMachine, ExecutionInfo]]


class MapRunner:
    """The task runner for MAP_RUN_RESOURCE tasks; others go to `tasks`.

    `store` is the executor's own (an Express parent is kept only there); `attach` gives it the
    executor (made after it, since the executor takes it as its runner); `machine_of` reads a
    parent's state machine, for its Map state's ItemSelector."""

    def __init__(
        self,
        store: ExecutionStore,
        clock: Clock,
        tasks: TaskRunner,
        machine_of: MachineOf,
        buckets: Buckets | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.tasks = tasks
        self.buckets = buckets
        self._machine_of = machine_of
        self._executor: Executor | None = None
        self._lock = threading.Lock()
        # Every change of a map run's record reads and writes it under this lock, so that
        # UpdateMapRun and the run's own thread never write over each other.
        self._record_lock = threading.Lock()
        self._runs: dict[str, _Run] = {}
        self._by_task: dict[tuple[str, int], _Run] = {}
        self._children: dict[str, _Run] = {}
        self._closed = False

    def attach(self, executor: Executor) -> None:
        """Run children on `executor`, and be told when they end."""
        self._executor = executor
        executor.add_end_listener(self._ended)

    @property
    def executor(self) -> Executor:
        assert self._executor is not None, "MapRunner.attach was not called"
        return self._executor

    # -- TaskRunner ------------------------------------------------------------------------------

    def start(
        self, execution_arn: str, command: ScheduleTask, report: Callable[[Signal], None]
    ) -> None:
        if command.resource != MAP_RUN_RESOURCE:
            self.tasks.start(execution_arn, command, report)
            return
        request = cast(MapRunRequest, command.parameters)
        try:
            arn = MapRunArn.parse(request["mapRunArn"])
        except InvalidArn as error:
            report(TaskFailed(command.task_id, StatesError.RUNTIME.value, error.message))
            return
        run = _Run(
            arn=arn,
            parent=execution_arn,
            task_id=command.task_id,
            request=request,
            report=report,
            max_concurrency=request["maxConcurrency"],
            tolerated_count=request["toleratedFailureCount"],
            tolerated_percentage=request["toleratedFailurePercentage"],
        )
        with self._lock:
            if self._closed:
                return  # shutting down: the task stays in flight and runs again next start
            earlier = self._runs.get(str(arn))
            if earlier is not None:
                with earlier.lock:  # its thread may be answering meanwhile (`_answer`)
                    if earlier.is_cancelled or earlier.is_over:  # being put down: a redrive
                        run.predecessor, earlier = earlier, None  # runs it anew, after
                    else:  # dispatched again while it runs: the new asker is told
                        earlier.report, earlier.task_id = report, command.task_id
            if earlier is not None:
                self._by_task[(execution_arn, command.task_id)] = earlier
            else:
                self._runs[str(arn)] = run
                self._by_task[(execution_arn, command.task_id)] = run
        if earlier is not None:
            now_waiting = self.executor.wait_on_children(
                execution_arn, command.task_id, earlier.waits
            )
            with earlier.lock:
                earlier.now_waiting = now_waiting
            return
        run.now_waiting = self.executor.wait_on_children(execution_arn, command.task_id, run.waits)
        run.thread = threading.Thread(
            target=self._drive, args=(run,), name=f"redstep-map-run-{arn.path}", daemon=True
        )
        run.thread.start()

    def cancel(self, execution_arn: str, task_id: int) -> None:
        with self._lock:
            run = self._by_task.get((execution_arn, task_id))
        if run is None:
            self.tasks.cancel(execution_arn, task_id)
            return
        with run.lock:
            run.is_cancelled = True
        run.tell()

    def close(self) -> None:
        """Put every map run down where it stands: its record and its children stay RUNNING,
        and it carries on at the next start."""
        with self._lock:
            self._closed = True
            runs = list(self._runs.values())
        for run in runs:
            with run.lock:
                run.is_closing = True
            run.tell()
        for run in runs:
            if run.thread is not None:
                run.thread.join(CLOSE_WAIT_SECONDS)

    def recover(self) -> None:
        """Abort what a stopped process left of the map runs whose parent ended meanwhile
        (stopped just before the process was): their children would run on unwatched. The
        rest are joined again when their parents dispatch them."""
        for execution in self.store.running_executions():
            map_run_arn = self.store.map_run_of(execution.arn)
            record = None if map_run_arn is None else self.store.get_map_run(map_run_arn)
            if record is None:
                continue
            parent = self.store.get_execution(record.execution_arn)
            if parent is not None and parent.status is ExecutionStatus.RUNNING:
                continue
            self.executor.signal(execution.arn, Stop())
            with self._record_lock:
                current = self.store.get_map_run(record.arn)
                if current is not None and current.status is MapRunStatus.RUNNING:
                    stopped = parent.stop_date if parent is not None else None
                    self.store.update_map_run(
                        dataclasses.replace(
                            current,
                            status=MapRunStatus.ABORTED,
                            stop_date=stopped or self.clock.now(),
                        )
                    )

    # -- UpdateMapRun ----------------------------------------------------------------------------

    def update(
        self,
        record: MapRunRecord,
        max_concurrency: int | None,
        count: int | None,
        percentage: float | None,
    ) -> None:
        """Change a RUNNING map run's settings, for the children it has not started yet;
        ValidationException when it has ended meanwhile."""
        changes: dict[str, Any] = {}
        if max_concurrency is not None:
            changes["max_concurrency"] = max_concurrency
        if count is not None:
            changes["tolerated_failure_count"] = count
        if percentage is not None:
            changes["tolerated_failure_percentage"] = percentage
        with self._record_lock:
            current = self.store.get_map_run(record.arn)
            if current is None or current.status is not MapRunStatus.RUNNING:
                raise not_running(current or record)
            self.store.update_map_run(dataclasses.replace(current, **changes))
        with self._lock:
            run = self._runs.get(record.arn)
        if run is not None:
            with run.lock:
                if max_concurrency is not None:
                    run.max_concurrency = max_concurrency
                if count is not None:
                    run.tolerated_count = count
                if percentage is not None:
                    run.tolerated_percentage = percentage
            run.tell()

    # -- the executor's news -----------------------------------------------------------------------

    def _ended(self, execution_arn: str) -> None:
        """An execution ended (on the executor's thread): tell its map run, if it has one."""
        with self._lock:
            run = self._children.get(execution_arn)
        if run is not None:
            run.tell(execution_arn)

    # -- a run, on its thread ----------------------------------------------------------------------

    def _drive(self, run: _Run) -> None:
        if run.predecessor is not None and run.predecessor.thread is not None:
            run.predecessor.thread.join()
        run.predecessor = None
        try:
            self._run(run)
        except _Failed as failed:
            self._stop_running_children(run)
            self._finish(run, MapRunStatus.FAILED, {"error": failed.error, "cause": failed.cause})
        except Exception as error:  # a defect must fail the state, never leave it waiting
            logger.exception("redstep: the map run %s failed", run.arn)
            self._stop_running_children(run)
            cause = f"redstep could not run the map run: {type(error).__name__}: {error}"
            self._finish(run, MapRunStatus.FAILED, {"error": StatesError.RUNTIME, "cause": cause})
        finally:
            with self._lock:
                if self._runs.get(str(run.arn)) is run:
                    del self._runs[str(run.arn)]
                for key in [key for key, value in self._by_task.items() if value is run]:
                    del self._by_task[key]
                for child in [arn for arn, value in self._children.items() if value is run]:
                    del self._children[child]

    def _run(self, run: _Run) -> None:
        record = self._record(run)
        if run.request["redriveCount"] > record.redrive_count:
            record = self._redrive(run, record)
        if record.answer is not None:  # it ended before: answer as it did
            _answer(run, read_json(record.answer))
            return
        if record.status is not MapRunStatus.RUNNING:
            raise _Failed(StatesError.RUNTIME.value, f"The map run {run.arn} was {record.status}")
        run.attempt = record.redrive_count
        started = self._join_children(run)
        progress = self._progress(run, record, started)
        for child in started:
            status, is_stale = child.execution.status, child.attempt < run.attempt
            if status is ExecutionStatus.RUNNING:
                progress.running[child.execution.arn] = child.index
                if is_stale:
                    progress.stale.add(child.index)
            elif is_stale:
                if status in REDRIVABLE_STATUSES:
                    progress.redrive.append(child.index)
            else:
                progress.count(child.items, status)
        failing = False
        news: list[str] = []
        while True:
            for arn in news:
                index = progress.running.pop(arn, None)
                ended = self.store.get_execution(arn) if index is not None else None
                if index is None or ended is None:
                    continue
                if ended.status is ExecutionStatus.RUNNING:  # an earlier end, told late: it
                    progress.running[arn] = index  # was redriven since, and runs on
                    continue
                if index in progress.stale:  # stopped with an earlier attempt: redrive it
                    progress.stale.discard(index)
                    if ended.status in REDRIVABLE_STATUSES:
                        progress.redrive.append(index)
                else:
                    progress.count(progress.items_of(index), ended.status)
            with run.lock:
                is_cancelled, is_closing = run.is_cancelled, run.is_closing
            if is_closing:
                return
            if is_cancelled:
                self._abort(run, progress)
                return
            with run.lock:
                tolerated = run.tolerated_count, run.tolerated_percentage
            if not failing and progress.exceeds(*tolerated):
                failing = True
                self._stop_children(progress)
            if not failing and (progress.redrive or progress.pending):
                self._start_children(run, progress)
                if not progress.running:  # each one it met had ended already: look again
                    news = []
                    continue
            if not progress.running and (failing or not (progress.redrive or progress.pending)):
                break
            news = run.wait()
        if failing:
            self._write_after_failure(run, progress)
            raise _Failed(StatesError.EXCEED_TOLERATED_FAILURE_THRESHOLD.value, EXCEEDED_CAUSE)
        self._succeed(run)

    def _record(self, run: _Run) -> MapRunRecord:
        """The run's record: the one a run before a restart made, or a new one."""
        existing = self.store.get_map_run(str(run.arn))
        if existing is not None:
            with run.lock:  # its settings as UpdateMapRun left them
                run.max_concurrency = existing.max_concurrency
                run.tolerated_count = existing.tolerated_failure_count
                run.tolerated_percentage = existing.tolerated_failure_percentage
            if existing.answer is None:
                run.child_revision = self._child_machine(run, existing.start_date).revision_id
            return existing
        now = self.clock.now()
        machine = self._child_machine(run, now)
        run.child_revision = machine.revision_id
        record = MapRunRecord(
            arn=str(run.arn),
            execution_arn=run.parent,
            state_machine_arn=run.arn.state_machine_arn,
            status=MapRunStatus.RUNNING,
            start_date=now,
            max_concurrency=run.max_concurrency,
            tolerated_failure_count=run.tolerated_count,
            tolerated_failure_percentage=run.tolerated_percentage,
        )
        try:
            self.store.put_map_run(record, machine)
        except StoreConflict:  # made meanwhile by the same run dispatched again
            made = self.store.get_map_run(str(run.arn))
            assert made is not None
            return made
        return record

    def _redrive(self, run: _Run, record: MapRunRecord) -> MapRunRecord:
        """The run that failed or was aborted runs again, its redrive counted (its children are
        redriven as it goes on: `_run`)."""
        redrives = run.request["redriveCount"]
        if not run.child_revision:  # `_record` read it already for a run that has no answer
            run.child_revision = self._child_machine(run, record.start_date).revision_id
        with self._record_lock:
            current = self.store.get_map_run(str(run.arn)) or record
            redriven = dataclasses.replace(
                current,
                status=MapRunStatus.RUNNING,
                stop_date=None,
                answer=None,
                results_written=0,
                redrive_count=redrives,
                redrive_date=self.clock.now(),
            )
            self.store.update_map_run(redriven)
        return redriven

    def _child_machine(self, run: _Run, now: Any) -> StateMachineRecord:
        """The revision the children run: the Map's ItemProcessor as a definition of its own."""
        parent = self.store.get_execution(run.parent)
        if parent is None:
            raise _Failed(StatesError.RUNTIME.value, f"No execution {run.parent} runs this map")
        revision = self.store.get_revision(parent.state_machine_arn, parent.revision_id)
        assert revision is not None
        try:
            processor = processor_definition(revision.definition, run.request["stateName"])
        except MapStateNotFound as error:
            raise _Failed(StatesError.RUNTIME.value, str(error)) from None
        definition = to_json(processor)
        return StateMachineRecord(
            arn=run.arn.state_machine_arn,
            name=run.arn.path,
            definition=definition,
            role_arn=revision.role_arn,
            type="STANDARD",  # EXPRESS children run as STANDARD ones do, for now
            creation_date=now,
            revision_id=hashlib.sha256(definition.encode()).hexdigest()[:32],
        )

    def _join_children(self, run: _Run) -> list[MapRunChild]:
        """The children a run before a restart started, each told to end here from now on;
        read again once they are, so that an end in between is not missed."""
        started = self.store.map_run_children(str(run.arn))
        with self._lock:
            for child in started:
                self._children[child.execution.arn] = run
        return self.store.map_run_children(str(run.arn)) if started else started

    def _progress(self, run: _Run, record: MapRunRecord, started: list[MapRunChild]) -> Progress:
        """What is left to do: the inputs of the children not started yet (read once more after
        a restart, unless every child was started)."""
        started_items = {child.index: child.items for child in started}
        if record.child_total is not None and len(started_items) == record.child_total:
            total, items = record.child_total, record.item_total or 0
            return Progress(None, total, deque(), item_total=items, started_items=started_items)
        inputs = self._child_inputs(run, record)
        item_total = sum(child.items for child in inputs)
        if record.child_total is None:
            self._change(run, item_total=item_total, child_total=len(inputs))
        pending = deque(index for index in range(len(inputs)) if index not in started_items)
        return Progress(inputs, len(inputs), pending, item_total=item_total)

    def _child_inputs(self, run: _Run, record: MapRunRecord) -> list[ChildInput]:
        """Every child's input: the items read, selected and batched, in item order."""
        request = run.request
        try:
            items: Iterable[Any]
            if request["items"] is not None:
                items = request["items"]
            else:
                items = read_items(self.buckets, request["itemReader"] or {})
            selected = self._selected(run, record, items)
            batcher = request["itemBatcher"]
            children = (
                batched(selected, Batching.from_wire(batcher))
                if batcher is not None
                else one_by_one(selected)
            )
            return list(children)
        except ItemReaderFailed as error:
            raise _Failed(StatesError.ITEM_READER_FAILED.value, str(error)) from None
        except ItemTooLarge as error:
            raise _Failed(StatesError.DATA_LIMIT_EXCEEDED.value, str(error)) from None
        except StatesFailure as failure:
            name = failure.failure.error or StatesError.RUNTIME.value
            raise _Failed(name, failure.failure.cause or "") from None

    def _selected(self, run: _Run, record: MapRunRecord, items: Iterable[Any]) -> Iterator[Any]:
        """Each item through ItemSelector (or Parameters), as the Map state would select it."""
        parent = self.store.get_execution(run.parent)
        assert parent is not None
        machine, info = self._machine_of(parent)
        state = find_map_state(machine, run.request["stateName"])
        if state is None or state.item_selector is None:
            yield from items
            return
        # Seeded by the run, so a selection made again after a restart draws the same numbers.
        seed = int.from_bytes(hashlib.sha256(str(run.arn).encode()).digest()[:8], "big")
        draws = random.Random(seed)
        effective = run.request["input"]
        for index, item in enumerate(items):
            yield select_item(
                state,
                effective,
                index,
                item,
                info,
                draws,
                record.start_date,
                run.request["variables"],
            )

    def _start_children(self, run: _Run, progress: Progress) -> None:
        """Redrive children, then start them, while there is room under MaxConcurrency."""
        with run.lock:
            limit = run.max_concurrency or UNBOUNDED_CONCURRENCY
        while (progress.redrive or progress.pending) and len(progress.running) < limit:
            with run.lock:
                if run.is_cancelled or run.is_closing:
                    return
            if progress.redrive:
                self._redrive_child(run, progress, progress.redrive.popleft())
                continue
            assert progress.inputs is not None
            index = progress.pending.popleft()
            child = progress.inputs[index]
            arn = run.arn.child_arn(index)
            with self._lock:
                self._children[arn] = run
            now = self.clock.now()
            execution = ExecutionRecord(
                arn=arn,
                state_machine_arn=run.arn.state_machine_arn,
                revision_id=run.child_revision,
                name=arn.rpartition(":")[2],
                input=to_json(child.value),
                status=ExecutionStatus.RUNNING,
                start_date=now,
            )
            start = SignalRecord(0, "Start", {}, now, False)
            try:
                self.store.put_map_run_child(
                    str(run.arn), index, child.items, execution, start, run.attempt
                )
            except StoreConflict:  # started already: follow it as it stands
                existing = self.store.get_execution(arn)
                if existing is not None and existing.status is not ExecutionStatus.RUNNING:
                    progress.count(child.items, existing.status)
                    continue
            progress.running[arn] = index
            self.executor.submit(arn)

    def _redrive_child(self, run: _Run, progress: Progress, index: int) -> None:
        """Redrive a child that did not succeed in an earlier attempt, then give its link this
        attempt: after a restart in between it runs on as one of an earlier attempt's, and is
        redriven again only should it fail again (never is a failure left without a redrive)."""
        arn = run.arn.child_arn(index)
        with self._lock:
            self._children[arn] = run
        self.executor.redrive(arn)
        self.store.set_map_run_child_attempt(arn, run.attempt)
        progress.running[arn] = index

    def _stop_children(self, progress: Progress) -> None:
        for arn in progress.running:
            record = self.store.get_execution(arn)
            if record is not None and record.status is ExecutionStatus.RUNNING:
                self.executor.signal(arn, Stop())

    def _stop_running_children(self, run: _Run) -> None:
        """The run fails: abort its children still running, as the store has them (what broke
        it may have come between recording a child and the thread's knowing of it), so that
        none runs on unwatched. Not while closing: they carry on at the next start."""
        with run.lock:
            if run.is_closing:
                return
        try:
            children = self.store.map_run_children(str(run.arn))
        except Exception:  # what broke the run may break this too: it still fails
            logger.exception("redstep: the children of the map run %s were not stopped", run.arn)
            return
        for child in children:
            if child.execution.status is ExecutionStatus.RUNNING:
                self.executor.signal(child.execution.arn, Stop())

    def _abort(self, run: _Run, progress: Progress) -> None:
        """The parent no longer waits: its running children are aborted, and so is the run."""
        self._stop_children(progress)
        self._change(run, status=MapRunStatus.ABORTED, stop_date=self.clock.now())

    def _results(self, run: _Run, progress: Progress | None) -> list[ChildResult]:
        """Every child as it ended, in order; those never started as their input alone. With
        `progress` the run fails, so that its parent's redrive may redrive those that did not
        succeed (an Express parent's never: it cannot be redriven); without, it succeeds."""
        started = {child.index: child for child in self.store.map_run_children(str(run.arn))}
        results: list[ChildResult] = []
        total = progress.total if progress is not None else len(started)
        redrivable = progress is not None and not is_express_arn(run.parent)
        for index in range(total):
            child = started.get(index)
            if child is not None:
                results.append(ChildResult(child.execution, redrivable_by_map_run=redrivable))
            else:
                assert progress is not None
                assert progress.inputs is not None
                results.append(ChildResult(None, progress.inputs[index].value))
        return results

    def _write_after_failure(self, run: _Run, progress: Progress) -> None:
        """A failed run still writes what its children did (its error stays the run's own)."""
        writer = run.request["resultWriter"]
        if writer is None or not writer.get("Resource"):
            return
        try:
            written = write_results(
                self.buckets, writer, str(run.arn), self._results(run, progress)
            )
        except ResultWriterFailed as error:
            logger.warning("redstep: the failed map run %s wrote no results: %s", run.arn, error)
            return
        self._change(run, results_written=written.children_written)

    def _change(self, run: _Run, **changes: Any) -> None:
        """Change fields of the run's record (only its own: UpdateMapRun's stay)."""
        with self._record_lock:
            record = self.store.get_map_run(str(run.arn))
            if record is not None:
                self.store.update_map_run(dataclasses.replace(record, **changes))

    def _succeed(self, run: _Run) -> None:
        writer = run.request["resultWriter"]
        results = self._results(run, None)
        if writer is not None and writer.get("Resource"):
            try:
                written = write_results(self.buckets, writer, str(run.arn), results)
            except ResultWriterFailed as error:
                raise _Failed(StatesError.RESULT_WRITER_FAILED.value, str(error)) from None
            self._change(run, results_written=written.children_written)
            output: Any = written.output
        elif writer is not None:
            try:
                transformation, _ = writer_settings(writer)
            except ResultWriterFailed as error:
                raise _Failed(StatesError.RESULT_WRITER_FAILED.value, str(error)) from None
            output = transformed(results, transformation)
        else:
            output = transformed(results, Transformation.COMPACT)
        self._finish(run, MapRunStatus.SUCCEEDED, {"output": output})

    def _finish(self, run: _Run, status: MapRunStatus, answer: dict[str, Any]) -> None:
        """Record how the run ended, then answer the state (so a restart answers the same).

        A run whose parent stopped waiting while it finished (writing its results, say) ends
        ABORTED, as it would have had it heard sooner, and answers no one."""
        with run.lock:
            if run.is_closing:
                return
            is_cancelled = run.is_cancelled
        if is_cancelled:
            self._change(run, status=MapRunStatus.ABORTED, stop_date=self.clock.now())
            return
        self._change(run, status=status, stop_date=self.clock.now(), answer=to_json(answer))
        _answer(run, answer)


def _answer(run: _Run, answer: dict[str, Any]) -> None:
    with run.lock:  # the run may have been dispatched again: the latest asker is told
        report, task_id = run.report, run.task_id
        run.is_over = True
    if "output" in answer:
        report(TaskSucceeded(task_id, answer["output"]))
    else:
        report(TaskFailed(task_id, answer.get("error"), answer.get("cause")))

"""The executor: the I/O shell that feeds executions their signals and carries out their commands.

One asyncio loop, on a thread of its own, owns every live interpreter, so activations never race.
Each activation is committed — the signal it consumed, its events, timers set and cleared, the
end of the execution — in one store transaction before any of its commands is carried out. On
start the executor resumes every RUNNING execution by replaying its journal through a fresh
interpreter (pure, so nothing runs twice) and re-arming its timers; each task that had not
answered is journaled as interrupted, and the interpreter decides whether it runs again.

Signals from other threads (StopExecution, a task's result) are written to the store first and
then handed to the loop, so a crash between the two loses nothing: the restarted executor finds
them unprocessed in the journal. A task's answer from outside (SendTaskSuccess and its kin) is
first checked, on the loop, against the tasks the live interpreter still waits on.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import heapq
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from redstep.asl.errors import StatesError
from redstep.asl.json_text import InvalidJsonText, json_copy
from redstep.asl.resources import is_callback
from redstep.engine.commands import (
    CancelTask,
    CancelTimer,
    CompleteExecution,
    ScheduleTask,
    StartTimer,
)
from redstep.engine.interpreter import Decision, Interpreter
from redstep.engine.signals import (
    Continue,
    Redrive,
    Signal,
    Start,
    TaskFailed,
    TaskHeartbeat,
    TaskInterrupted,
    TaskSubmitted,
    TaskSucceeded,
    TimerFired,
    signal_from_record,
    signal_to_record,
)
from redstep.runtime.clock import Clock
from redstep.runtime.store import (
    Completion,
    ExecutionRecord,
    ExecutionStore,
    Redriven,
    TimerRecord,
)

logger = logging.getLogger(__name__)

#: How long after a failed commit the executor tries the execution again from the store.
RETRY_COMMIT_SECONDS = 1.0
#: How soon an idle executor looks again while a hold keeps a virtual clock where it is.
HOLD_RETRY_SECONDS = 0.01
#: How long `redrive` waits for the redrive's first activation (see `_run_redrive`).
REDRIVE_WAIT_SECONDS = 10.0


#: A task's answer from outside (SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat).
TaskAnswer = TaskSucceeded | TaskFailed | TaskHeartbeat


class Delivery(StrEnum):
    """What became of a task's answer from outside."""

    DELIVERED = "DELIVERED"  # the task was open: the answer is journaled (see `answer_task`)
    TASK_CLOSED = "TASK_CLOSED"  # answered already, timed out, or its execution has ended
    NO_TASK = "NO_TASK"  # the execution never scheduled a task with that id, or is unknown


#: How `answer_task` waits for the loop's outcome, at most `timeout` seconds (TimeoutError after):
#: a seam, so that a test makes the wait run out at the moment it chooses instead of sleeping.
OutcomeWait = Callable[[concurrent.futures.Future[Delivery], float | None], Delivery]


def wait_for_outcome(done: concurrent.futures.Future[Delivery], timeout: float | None) -> Delivery:
    """The outcome, waited for in real time: TimeoutError when `timeout` seconds pass first."""
    return done.result(timeout)


class ReplayMismatch(RuntimeError):
    """A journal replayed to a different history than the one stored: a determinism bug."""


class TaskRunner(Protocol):
    """Runs Task states' resources; answers through `report` from any thread."""

    def start(
        self, execution_arn: str, command: ScheduleTask, report: Callable[[Signal], None]
    ) -> None: ...

    def cancel(self, execution_arn: str, task_id: int) -> None: ...


class UnsupportedTasks:
    """The runner used until integrations exist: every resource fails with States.Runtime."""

    def start(
        self, execution_arn: str, command: ScheduleTask, report: Callable[[Signal], None]
    ) -> None:
        report(
            TaskFailed(
                command.task_id,
                StatesError.RUNTIME.value,
                f"redstep has no integration for the resource '{command.resource}' "
                f"(state '{command.state_name}')",
            )
        )

    def cancel(self, execution_arn: str, task_id: int) -> None:
        pass


def journal_record(signal: Signal) -> tuple[str, dict[str, Any]]:
    """The signal as the journal holds it: (kind, fields) decoded from their JSON, so that a live
    execution sees exactly what a replay would, and nothing the sender keeps a hold of.

    A task's output nested past MAX_JSON_DEPTH fails the task with States.Runtime instead: the
    interpreter's recursive walks could not take it (SendTaskSuccess refuses such an output
    before it gets here; a runner's answer cannot be refused, so it fails the task).
    """
    kind, fields = signal_to_record(signal)
    try:
        journaled: dict[str, Any] = json_copy(fields)
    except InvalidJsonText as error:
        if not isinstance(signal, TaskSucceeded):
            raise ValueError(f"{kind} cannot be journaled: {error}") from None  # only outputs nest
        cause = f"The task's output is nested too deeply: {error}"
        return journal_record(TaskFailed(signal.task_id, StatesError.RUNTIME.value, cause))
    return kind, journaled


def copy_parameters(command: ScheduleTask) -> Any:
    """A copy of the task's parameters for its runner, decoded from their JSON so that it shares
    nothing with the compiled definition (which every later execution reuses); ValueError when
    they nest past MAX_JSON_DEPTH (a value grown at run time, by States.StringToJson say)."""
    return json_copy(command.parameters)


def parameters_failure(command: ScheduleTask, error: ValueError) -> TaskFailed:
    """How a task whose parameters cannot be handed over ends (see `copy_parameters`)."""
    cause = f"redstep could not hand the task its parameters: {error}"
    return TaskFailed(command.task_id, StatesError.RUNTIME.value, cause)


def _signal_time(record: ExecutionRecord, signal: Signal) -> datetime | None:
    """When a signal from outside is consumed, if not now: the execution's start for Start, the
    redrive's date for Redrive (so that the history's times are those DescribeExecution gives)."""
    if isinstance(signal, Start):
        return record.start_date
    if isinstance(signal, Redrive):
        return record.redrive_date
    return None


@dataclass(slots=True)
class _Live:
    record: ExecutionRecord
    interpreter: Interpreter
    inbox: deque[tuple[int, Signal]] = field(default_factory=deque)
    journaled: set[int] = field(default_factory=set)  # seqs read from the store on resume
    # Tasks answered from outside (success or failure) whose answer is journaled but not yet
    # consumed: the interpreter still counts them pending, but they are closed to a next answer.
    answered: set[int] = field(default_factory=set)


def _is_callback(live: _Live, task_id: int) -> bool:
    """Whether the task waits for an answer from outside (`.waitForTaskToken`)."""
    return any(
        task.task_id == task_id and is_callback(task.resource)
        for task in live.interpreter.pending_tasks
    )


@dataclass(frozen=True, slots=True, eq=False)
class _Hold:
    """Something outside the executor that a virtual clock must not skip past."""

    horizon: Callable[[], datetime | None]
    on_skip: Callable[[], None]


@dataclass(slots=True)
class _EndWatch:
    """What `wait` callers on one execution share: the event its end sets, and how many of them
    hold it (the watch is dropped when the last one leaves)."""

    ended: threading.Event = field(default_factory=threading.Event)
    waiters: int = 0


@dataclass(order=True, slots=True)
class _Alarm:
    due: datetime
    order: int
    execution_arn: str = field(compare=False)
    timer_id: int = field(compare=False)


#: Builds a fresh interpreter for an execution (its definition revision, its facts).
InterpreterFactory = Callable[[ExecutionRecord], Interpreter]


class Executor:
    """Runs executions durably; thread-safe entry points are `submit`, `signal`, `answer_task`
    and `wait`. `wait_for_outcome` is how `answer_task` waits out its timeout (a test's seam)."""

    def __init__(
        self,
        store: ExecutionStore,
        clock: Clock,
        new_interpreter: InterpreterFactory,
        tasks: TaskRunner | None = None,
        *,
        wait_for_outcome: OutcomeWait = wait_for_outcome,
    ) -> None:
        self.store = store
        self.clock = clock
        self.wait_for_outcome = wait_for_outcome
        self._new_interpreter = new_interpreter
        self._tasks = tasks or UnsupportedTasks()
        self._live: dict[str, _Live] = {}
        self._alarms: list[_Alarm] = []
        self._armed: set[tuple[str, int]] = set()
        self._alarm_order = 0
        self._in_flight: set[tuple[str, int]] = set()
        # In-flight `.sync` tasks and the child execution each waits on: not work of its own
        # while the child is live here (a virtual clock may skip the child's waits).
        self._joining: dict[tuple[str, int], str] = {}
        # In-flight tasks that wait on executions of their own making (a map run's children):
        # no work of their own while the predicate holds (see `wait_on_children`).
        self._waiting: dict[tuple[str, int], Callable[[], bool]] = {}
        self._end_listeners: list[Callable[[str], None]] = []
        self._busy = 0
        self._holds: list[_Hold] = []
        # Only executions that a `wait` caller watches right now: an end pops and sets its
        # watch, the last waiter to leave drops it, so the map stays as small as the waiters.
        self._watches: dict[str, _EndWatch] = {}
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._alarms_changed: asyncio.Event | None = None
        self._ringer: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._run_loop, name="redstep-executor", daemon=True)
        self._started = threading.Event()
        self._closed = False

    # -- life cycle ----------------------------------------------------------------------------

    def start(self, *, resume: bool = True) -> None:
        """Start the loop and resume every RUNNING execution (unless `resume` is False)."""
        self._thread.start()
        self._started.wait()
        if not resume:
            return
        for record in self.store.running_executions():
            self._call(self._resume, record.arn)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._shut_down)
            self._thread.join(timeout=10)
        self._loop.close()

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._alarms_changed = asyncio.Event()
        self._ringer = self._loop.create_task(self._ring_alarms())
        self._started.set()
        self._loop.run_forever()

    def _shut_down(self) -> None:
        self._loop.create_task(self._stop_ringing())

    async def _stop_ringing(self) -> None:
        if self._ringer is not None:
            # Python 3.11's wait_for swallows a cancellation that arrives as the event it waits
            # on is set; the ringer then finds `_closed` set at the top of its loop and returns.
            self._ringer.cancel()
            self._poke()
            await asyncio.wait({self._ringer})
        self._loop.stop()

    def _call(self, action: Callable[..., None], *args: object) -> None:
        """Run `action` on the loop, from any thread; the loop counts it as pending work."""
        with self._lock:
            self._busy += 1
        self._loop.call_soon_threadsafe(self._run_counted, action, args)

    def _run_counted(self, action: Callable[..., None], args: tuple[object, ...]) -> None:
        try:
            action(*args)
        except Exception:
            logger.exception("redstep executor: %s failed", getattr(action, "__name__", action))
        finally:
            with self._lock:
                self._busy -= 1
            self._poke()

    # -- entry points (any thread) -----------------------------------------------------------

    def submit(self, execution_arn: str) -> None:
        """Run an execution just recorded by the store (its Start signal is in the journal)."""
        self._call(self._resume, execution_arn)

    def signal(self, execution_arn: str, signal: Signal) -> None:
        """Journal a signal for an execution, then deliver it.

        What is delivered is the signal as the journal holds it (see `journal_record`).
        """
        kind, fields = journal_record(signal)
        seq = self.store.add_signal(execution_arn, kind, fields, self.clock.now())
        self._call(self._deliver, execution_arn, seq, signal_from_record(kind, fields))

    def answer_task(
        self, execution_arn: str, answer: TaskAnswer, timeout: float | None = None
    ) -> Delivery:
        """Deliver a task's answer from outside, if the task is still open; say what became of it.

        The check and the journaling run as one step on the loop, which owns every live
        interpreter, and a success or failure closes the task to any later answer from then on
        (TASK_CLOSED), consumed or not: two answers to one task cannot both be delivered. The
        answer is journaled before it is consumed, like every signal from outside.

        DELIVERED from any other thread means the answer has been consumed: what the execution
        did next is committed. On the loop's own thread (a runner answering while it is being
        started, inside an activation) it means journaled and queued: the answer is consumed once
        that activation is done, never in the middle of it.

        TimeoutError when the loop does not get to it within `timeout` seconds (busy resuming
        executions, say); the answer then has had no effect, and never will: it is withdrawn
        before the loop reaches it. Once the loop has begun on it, this waits for the outcome,
        however long the timeout, so that an answer is never both refused and delivered.
        """
        if threading.current_thread() is self._thread:
            return self._answer(execution_arn, answer, at_once=False)
        done: concurrent.futures.Future[Delivery] = concurrent.futures.Future()

        def answer_on_loop() -> None:
            if not done.set_running_or_notify_cancel():
                return  # withdrawn: the caller was told it timed out, so it must have no effect
            try:
                done.set_result(self._answer(execution_arn, answer, at_once=True))
            except Exception as error:  # the caller raises it; the loop carries on
                done.set_exception(error)

        self._call(answer_on_loop)
        try:
            return self.wait_for_outcome(done, timeout)
        except TimeoutError:
            if done.cancel():
                raise
        # The loop took it up just as the wait ran out: its outcome is on its way.
        return done.result()

    def add_end_listener(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """Tell `listener(execution_arn)` of every execution that ends here, once its end is
        committed, on the executor's thread (so it must not block); returns the removal."""
        with self._lock:
            self._end_listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._end_listeners:
                    self._end_listeners.remove(listener)

        return remove

    def wait_on_children(
        self, execution_arn: str, task_id: int, is_waiting: Callable[[], bool]
    ) -> Callable[[], None]:
        """The in-flight task does no work of its own while `is_waiting()` is true: it waits
        for executions that run here (a map run for its children), whose own work counts for
        itself, so that a virtual clock may skip time meanwhile. Forgotten when the task ends.

        Returns what the task calls (from any thread) each time it begins to wait, so that the
        executor looks again whether time may skip."""
        with self._lock:
            self._waiting[(execution_arn, task_id)] = is_waiting

        def now_waiting() -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing to skip
                self._loop.call_soon_threadsafe(self._poke)

        return now_waiting

    def redrive(self, execution_arn: str, client_token: str | None = None) -> Redriven:
        """Journal a Redrive for an execution that ended and run it again (the store checks
        its status: StoreConflict when a redrive may not follow it, KeyError when unknown).

        `wait` waits for its new end once the store says RUNNING again: no watch outlives the
        end that set it, so no waiter takes the old end for the new one."""
        kind, fields = journal_record(Redrive())
        redriven = self.store.redrive_execution(
            execution_arn, self.clock.now(), client_token, kind, fields
        )
        if redriven.is_new:
            self._run_redrive(execution_arn)
        return redriven

    def _run_redrive(self, execution_arn: str) -> None:
        """Resume the redriven execution, and, from another thread of a running executor, wait
        (REDRIVE_WAIT_SECONDS at most) until the redrive's first activation is committed: a
        caller that reads the history next finds ExecutionRedriven in it."""
        done: concurrent.futures.Future[None] = concurrent.futures.Future()

        def resume() -> None:
            try:
                self._resume(execution_arn)
            finally:
                done.set_result(None)

        self._call(resume)
        if self._started.is_set() and threading.current_thread() is not self._thread:
            with contextlib.suppress(TimeoutError):
                done.result(REDRIVE_WAIT_SECONDS)

    def wait(self, execution_arn: str, timeout: float | None = None) -> bool:
        """Block until the execution has ended; whether it did within `timeout` seconds (at
        once for one that has ended; `timeout` for one the store does not know)."""
        # Watch first, then look: an end committed after the look sets the watch, one
        # committed before it is what the look finds.
        with self._lock:
            watch = self._watches.setdefault(execution_arn, _EndWatch())
            watch.waiters += 1
        try:
            record = self.store.get_execution(execution_arn)
            if record is not None and record.status != "RUNNING":
                return True
            return watch.ended.wait(timeout)
        finally:
            with self._lock:
                watch.waiters -= 1
                if watch.waiters == 0 and self._watches.get(execution_arn) is watch:
                    del self._watches[execution_arn]

    def _tell_waiters(self, execution_arn: str) -> None:
        """The execution's end is committed: wake its waiters and forget their watch."""
        with self._lock:
            watch = self._watches.pop(execution_arn, None)
        if watch is not None:
            watch.ended.set()

    # -- on the loop -------------------------------------------------------------------------

    def _resume(self, execution_arn: str) -> None:
        """Rebuild a live execution from its journal and carry on from where it stood."""
        if execution_arn in self._live:
            return
        record = self.store.get_execution(execution_arn)
        if record is None or record.status != "RUNNING":
            return
        interpreter = self._new_interpreter(record)
        live = _Live(record, interpreter)
        replayed = 0
        for entry in self.store.signals(execution_arn):
            live.journaled.add(entry.seq)
            signal = signal_from_record(entry.kind, entry.fields)
            if entry.is_processed:
                replayed += len(interpreter.activate(signal, entry.at).events)
            else:
                live.inbox.append((entry.seq, signal))
        stored = self.store.event_count(execution_arn)
        timers = {(t.timer_id, t.due) for t in self.store.timers(execution_arn)}
        if replayed != stored or timers != {
            (t.timer_id, t.due) for t in interpreter.pending_timers
        }:
            raise ReplayMismatch(
                f"{execution_arn}: the journal replays to {replayed} events and timers "
                f"{interpreter.pending_timers}; the store has {stored} events and timers {timers}"
            )
        waiting_tasks = interpreter.pending_tasks
        waiting_timers = interpreter.pending_timers
        self._live[execution_arn] = live
        # Answers journaled before the crash go first, so that only tasks still unanswered
        # after them are started again.
        self._drain_inbox(live)
        if execution_arn not in self._live:
            return
        still_tasks = {command.task_id for command in interpreter.pending_tasks}
        still_timers = {timer.timer_id for timer in interpreter.pending_timers}
        for timer in waiting_timers:
            if timer.timer_id in still_timers:
                self._arm(execution_arn, timer.timer_id, timer.due)
        for command in waiting_tasks:
            if command.task_id in still_tasks and (execution_arn, command.task_id) not in (
                self._in_flight
            ):  # lost when redstep stopped: the interpreter decides whether it runs again
                kind, fields = signal_to_record(TaskInterrupted(command.task_id))
                seq = self.store.add_signal(execution_arn, kind, fields, self.clock.now())
                self._deliver(execution_arn, seq, TaskInterrupted(command.task_id))
        if execution_arn not in self._live:
            return
        # A callback that still waits for its token is in flight, as it was before the restart.
        for command in interpreter.pending_tasks:
            self._in_flight.add((execution_arn, command.task_id))
        if interpreter.has_more:
            self._call(self._run_internal, execution_arn, Continue())

    def _answer(self, execution_arn: str, answer: TaskAnswer, *, at_once: bool) -> Delivery:
        live = self._live.get(execution_arn)
        if live is None:
            self._resume(execution_arn)  # RUNNING but not yet resumed (just after a restart)
            live = self._live.get(execution_arn)
        if live is None:
            record = self.store.get_execution(execution_arn)
            return Delivery.NO_TASK if record is None else Delivery.TASK_CLOSED
        interpreter = live.interpreter
        if answer.task_id in live.answered:  # its answer is queued behind this activation
            return Delivery.TASK_CLOSED
        if not any(task.task_id == answer.task_id for task in interpreter.pending_tasks):
            closed = interpreter.has_scheduled(answer.task_id)
            return Delivery.TASK_CLOSED if closed else Delivery.NO_TASK
        kind, fields = journal_record(answer)
        seq = self.store.add_signal(execution_arn, kind, fields, self.clock.now())
        if isinstance(answer, TaskSucceeded | TaskFailed):  # a heartbeat leaves the task open
            live.answered.add(answer.task_id)
        signal = signal_from_record(kind, fields)
        if at_once:
            self._deliver(execution_arn, seq, signal)
        else:
            self._call(self._deliver, execution_arn, seq, signal)
        return Delivery.DELIVERED

    def _deliver(self, execution_arn: str, seq: int, signal: Signal) -> None:
        live = self._live.get(execution_arn)
        if live is None:
            self._resume(execution_arn)  # journaled already: resuming picks it up
            return
        if seq in live.journaled:  # read from the journal when the execution was resumed
            return
        live.inbox.append((seq, signal))
        self._drain_inbox(live)

    def _drain_inbox(self, live: _Live) -> None:
        while live.inbox and live.record.arn in self._live:
            seq, signal = live.inbox.popleft()
            if isinstance(signal, TaskSucceeded | TaskFailed):
                self._task_done(live.record.arn, signal.task_id)
                live.answered.discard(signal.task_id)
            elif isinstance(signal, TaskSubmitted) and not _is_callback(live, signal.task_id):
                self._join(live.record.arn, signal.task_id, signal.output)
            at = _signal_time(live.record, signal) or self.clock.now()
            decision = live.interpreter.activate(signal, at)
            self._apply(live, decision, signal, at, seq)

    def _run_internal(self, execution_arn: str, signal: Signal, at: datetime | None = None) -> None:
        """A signal the executor makes itself (a timer, Continue): journaled with its effects."""
        live = self._live.get(execution_arn)
        if live is None:
            return
        at = at or self.clock.now()
        decision = live.interpreter.activate(signal, at)
        self._apply(live, decision, signal, at, None)

    def _apply(
        self, live: _Live, decision: Decision, signal: Signal, at: datetime, seq: int | None
    ) -> None:
        arn = live.record.arn
        new_timers = [
            TimerRecord(arn, command.timer_id, command.due)
            for command in decision.commands
            if isinstance(command, StartTimer)
        ]
        cleared = [c.timer_id for c in decision.commands if isinstance(c, CancelTimer)]
        if isinstance(signal, TimerFired):
            cleared.append(signal.timer_id)
        completion = next(
            (
                Completion(c.status, at, c.output, c.error, c.cause)
                for c in decision.commands
                if isinstance(c, CompleteExecution)
            ),
            None,
        )
        try:
            if seq is None:
                kind, fields = signal_to_record(signal)
                self.store.commit_signal(
                    arn, kind, fields, at, decision.events, new_timers, cleared, completion
                )
            else:
                self.store.commit(arn, seq, at, decision.events, new_timers, cleared, completion)
        except Exception:
            # The interpreter is now ahead of the store: forget it, and resume from what the
            # store holds (the signal, if journaled, is still unprocessed there).
            logger.exception("redstep executor: could not record a step of %s", arn)
            self._live.pop(arn, None)
            self._armed = {key for key in self._armed if key[0] != arn}
            self._loop.call_later(RETRY_COMMIT_SECONDS, self._call, self._resume, arn)
            return
        for command in decision.commands:
            match command:
                case StartTimer(timer_id=timer_id, due=due):
                    self._arm(arn, timer_id, due)
                case CancelTimer(timer_id=timer_id):
                    self._armed.discard((arn, timer_id))
                case ScheduleTask():
                    self._start_task(arn, command)
                case CancelTask(task_id=task_id):
                    self._task_done(arn, task_id)
                    self._tasks.cancel(arn, task_id)
                case CompleteExecution():
                    self._live.pop(arn, None)
                    self._armed = {key for key in self._armed if key[0] != arn}
                    self._tell_waiters(arn)
                    self._tell_end(arn)
        if decision.has_more:
            self._call(self._run_internal, arn, Continue())

    def _task_done(self, execution_arn: str, task_id: int) -> None:
        self._in_flight.discard((execution_arn, task_id))
        self._joining.pop((execution_arn, task_id), None)
        with self._lock:
            self._waiting.pop((execution_arn, task_id), None)

    def _tell_end(self, execution_arn: str) -> None:
        with self._lock:
            listeners = tuple(self._end_listeners)
        for listener in listeners:
            try:
                listener(execution_arn)
            except Exception:
                logger.exception("redstep executor: an end listener failed on %s", execution_arn)

    def _join(self, execution_arn: str, task_id: int, submission: Any) -> None:
        """A `.sync` task waits on the child its call started (see `_joining`)."""
        child = submission.get("ExecutionArn") if isinstance(submission, dict) else None
        if isinstance(child, str):
            self._joining[(execution_arn, task_id)] = child

    def _start_task(self, execution_arn: str, command: ScheduleTask) -> None:
        self._in_flight.add((execution_arn, command.task_id))
        if command.submission is not None and not is_callback(command.resource):
            self._join(execution_arn, command.task_id, command.submission)

        def report(signal: Signal) -> None:
            self.signal(execution_arn, signal)

        try:
            own = dataclasses.replace(command, parameters=copy_parameters(command))
        except ValueError as error:  # journaled like any answer, so a replay sees it too
            self.signal(execution_arn, parameters_failure(command, error))
            return
        self._tasks.start(execution_arn, own, report)

    # -- timers ------------------------------------------------------------------------------

    def _arm(self, execution_arn: str, timer_id: int, due: datetime) -> None:
        self._alarm_order += 1
        heapq.heappush(self._alarms, _Alarm(due, self._alarm_order, execution_arn, timer_id))
        self._armed.add((execution_arn, timer_id))
        self._poke()

    def hold_skips(
        self, horizon: Callable[[], datetime | None], on_skip: Callable[[], None]
    ) -> Callable[[], None]:
        """Keep a virtual clock from skipping past `horizon()`: the next moment something
        outside the executor must happen at (a schedule trigger's next fire time; a moment not
        after now holds the clock where it is until the holder has acted). `on_skip` is told
        after each skip, so that the holder acts at the moment reached. Returns the release."""
        hold = _Hold(horizon, on_skip)
        with self._lock:
            self._holds.append(hold)

        def release() -> None:
            with self._lock:
                if hold in self._holds:
                    self._holds.remove(hold)
            self._poke()

        return release

    def _held_until(self) -> datetime | None:
        with self._lock:
            holds = tuple(self._holds)
        moments = [moment for hold in holds if (moment := hold.horizon()) is not None]
        return min(moments, default=None)

    def _tell_holders(self) -> None:
        with self._lock:
            holds = tuple(self._holds)
        for hold in holds:
            try:
                hold.on_skip()
            except Exception:
                logger.exception("redstep executor: a hold on skipping time failed")

    def _poke(self) -> None:
        if self._alarms_changed is not None:
            self._alarms_changed.set()

    @property
    def _is_idle(self) -> bool:
        """Nothing can happen before the next timer: no pending work, no task in flight but
        `.sync` tasks whose child is live here (the child's own work counts for itself)."""
        with self._lock:
            return self._busy == 0 and all(
                self._joining.get(task) in self._live or self._waits_on_children(task)
                for task in self._in_flight
            )

    def _waits_on_children(self, task: tuple[str, int]) -> bool:
        is_waiting = self._waiting.get(task)
        return is_waiting is not None and is_waiting()

    async def _ring_alarms(self) -> None:
        assert self._alarms_changed is not None
        while not self._closed:
            while (
                self._alarms
                and (self._alarms[0].execution_arn, self._alarms[0].timer_id) not in self._armed
            ):
                heapq.heappop(self._alarms)
            if not self._alarms:
                self._alarms_changed.clear()
                await self._alarms_changed.wait()
                continue
            alarm = self._alarms[0]
            now = self.clock.now()
            delay = (alarm.due - now).total_seconds()
            if alarm.due > now and self._is_idle:
                held = self._held_until()
                if held is None or held >= alarm.due:
                    if self.clock.skip_to(alarm.due):
                        self._tell_holders()
                        now = alarm.due
                elif held > now and self.clock.skip_to(held):
                    self._tell_holders()  # they act at `held`, on their own threads
                    continue
                else:  # a holder's moment has come and it has not acted yet: give it a moment
                    delay = min(delay, HOLD_RETRY_SECONDS)
            if alarm.due <= now:
                heapq.heappop(self._alarms)
                self._armed.discard((alarm.execution_arn, alarm.timer_id))
                at = max(alarm.due, now)  # on a virtual clock, the moment it skipped to
                try:
                    self._run_internal(alarm.execution_arn, TimerFired(alarm.timer_id), at)
                except Exception:
                    logger.exception("redstep executor: timer of %s failed", alarm.execution_arn)
                continue
            self._alarms_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._alarms_changed.wait(), timeout=delay)

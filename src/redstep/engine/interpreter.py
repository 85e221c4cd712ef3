"""The interpreter: one execution's state, advanced by signals into history events and commands.

`Interpreter.activate(signal, now)` runs every state it can until each path of control (the top
level, a Parallel branch, a Map iteration: a *flow*) waits on the outside world — a task, a timer —
or ends. Flows take turns through one FIFO queue, so the order of events depends only on the
signals and their times: a fresh interpreter fed the journal of an execution reproduces its history
and its outstanding commands exactly. That is how an execution resumes after a crash.

State-level failures are data here: a `StatesFailure` raised while a state computes its input or
output becomes a `Failure`, goes through the state's Retry and Catch, and otherwise ends the flow.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random
from typing import Any, assert_never

from redstep.asl.errors import Failure, StatesError, StatesFailure, is_terminal
from redstep.asl.jsonata import QueryEvaluationFailure
from redstep.asl.model import (
    ChoiceState,
    FailState,
    Filters,
    MapState,
    ParallelState,
    PassState,
    ResultHandling,
    StateMachine,
    SucceedState,
    TaskState,
    Transition,
    WaitState,
)
from redstep.asl.outcome import Outcome
from redstep.asl.paths import Path, apply_result_path, to_json
from redstep.asl.queries import Query
from redstep.asl.scope import Scope
from redstep.engine.agenda import Agenda
from redstep.engine.commands import (
    Command,
    CompleteExecution,
    ExecutionStatus,
    ScheduleTask,
    StartTimer,
)
from redstep.engine.containers import error_output
from redstep.engine.context import ExecutionInfo, context_object
from redstep.engine.events import (
    STATE_EVENT_PREFIX,
    HistoryEvent,
    make_event,
    payload,
    task_event,
)
from redstep.engine.flows import Flow
from redstep.engine.inspection import Inspector, Stage
from redstep.engine.redrive import RedriveSteps
from redstep.engine.resolve import (
    error_text,
    select,
    wait_until,
)
from redstep.engine.retry import find_catcher, find_retrier, retry_delay
from redstep.engine.signals import (
    Continue,
    Redrive,
    Signal,
    Start,
    Stop,
    TaskFailed,
    TaskHeartbeat,
    TaskInterrupted,
    TaskStarted,
    TaskSubmitted,
    TaskSucceeded,
    TimerFired,
)
from redstep.engine.tasks import TaskSteps, error_details, size_failure
from redstep.engine.variables import checked_assignment

#: States entered per activation before the interpreter yields (a Continue signal resumes it),
#: so that one long loop neither holds one huge transaction nor starves other executions.
TRANSITION_BUDGET = 1000

#: AWS's quota on one execution's history; the event that reaches it is ExecutionFailed.
MAX_HISTORY_EVENTS = 25_000


class _HistoryFull(Exception):
    """Raised by `_emit` when the next event would reach the history quota."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What one activation produced. `has_more`: send Continue to go on."""

    events: list[HistoryEvent]
    commands: list[Command]
    has_more: bool = False


class Interpreter(RedriveSteps, TaskSteps):
    """Runs one execution of `machine`; feed it signals with `activate`."""

    def __init__(
        self,
        machine: StateMachine,
        info: ExecutionInfo,
        max_events: int | None = MAX_HISTORY_EVENTS,
        inspector: Inspector | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> None:
        """`max_events=None` lifts AWS's history quota (benchmarks, very long local loops);
        an `inspector` is told each stage of every state's data flow (TestState), which also
        gives the workflow `variables` the execution starts with."""
        self.machine = machine
        self.info = info
        self._max_events = max_events
        self._inspector = inspector
        self.status = ExecutionStatus.RUNNING
        self._random = Random(info.seed)
        self._next_event_id = 1
        self._agenda = Agenda()
        self._ready: deque[tuple[Flow, Callable[..., None], tuple[Any, ...]]] = deque()
        self._events: list[HistoryEvent] = []
        self._now = info.start_time
        self._budget = TRANSITION_BUDGET
        self._execution_context: dict[str, Any] | None = None
        self._variables = dict(variables or {})

    # -- the outside world's view ----------------------------------------------------------

    @property
    def is_finished(self) -> bool:
        return self.status is not ExecutionStatus.RUNNING

    @property
    def pending_tasks(self) -> list[ScheduleTask]:
        """Tasks scheduled and not yet answered: what a resumed executor must (re)dispatch."""
        return self._agenda.pending_tasks

    @property
    def pending_timers(self) -> list[StartTimer]:
        return self._agenda.pending_timers

    def has_scheduled(self, task_id: int) -> bool:
        """Whether a task with this id was ever scheduled (answered or not)."""
        return 1 <= task_id < self._agenda.next_task_number

    @property
    def has_more(self) -> bool:
        return bool(self._ready) and not self.is_finished

    def activate(self, signal: Signal, now: datetime) -> Decision:
        """Consume one signal at time `now`; return the events and commands it produced."""
        self._now = now
        self._events = []
        self._agenda.commands = []
        self._budget = TRANSITION_BUDGET
        if not self.is_finished or isinstance(signal, Redrive):
            try:
                self._dispatch(signal)
                self._drain()
            except _HistoryFull:
                self._fail_execution(
                    f"The execution reached the maximum number of history events "
                    f"({self._max_events})."
                )
            except Exception as error:  # a defect must end the execution, never wedge it
                self._fail_execution(
                    f"redstep could not run this execution: {type(error).__name__}: {error}"
                )
        return Decision(self._events, self._agenda.commands, self.has_more)

    def _fail_execution(self, cause: str) -> None:
        details = {"error": StatesError.RUNTIME.value, "cause": cause}
        self._finish("ExecutionFailed", ExecutionStatus.FAILED, details, self._next_event_id - 1)

    def _dispatch(self, signal: Signal) -> None:
        match signal:
            case Start():
                self._start()
            case Continue():
                pass
            case TimerFired(timer_id=timer_id):
                timer = self._agenda.pop_timer(timer_id)
                if timer is not None and (timer.flow is None or timer.flow.is_alive):
                    timer.fire()
            case TaskStarted(task_id=task_id):
                task = self._agenda.tasks.get(task_id)
                if task is not None and not task.is_submitted:  # not when joined again
                    self._emit(task.flow, *task_event(task.command.resource, "Started", {}))
            case TaskSubmitted(task_id=task_id, output=output):
                task = self._agenda.tasks.get(task_id)
                if task is not None and task.flow.is_alive and not task.is_submitted:
                    task.is_submitted = True  # once: a job joined again after a restart
                    task.submission = output
                    submitted = payload(to_json(output), "output")
                    self._emit(
                        task.flow, *task_event(task.command.resource, "Submitted", submitted)
                    )
            case TaskInterrupted(task_id=task_id):
                self._task_interrupted(task_id)
            case TaskSucceeded(task_id=task_id, output=output):
                task = self._end_task(task_id)
                if task is not None:
                    self._task_succeeded(task, output)
            case TaskFailed(task_id=task_id, error=error, cause=cause):
                task = self._end_task(task_id)
                if task is not None:
                    self._task_failed(task, "Failed", Failure(error, cause))
            case TaskHeartbeat(task_id=task_id):
                task = self._agenda.tasks.get(task_id)
                if task is not None and task.heartbeat_timer is not None:
                    self._agenda.cancel_timer(task.heartbeat_timer)
                    task.heartbeat_timer = self._heartbeat_timer(task)
            case Stop(error=error, cause=cause):
                self._finish_aborted(error, cause)
            case Redrive():
                self._redrive()
            case _:
                assert_never(signal)

    def _drain(self) -> None:
        while self._ready and not self.is_finished and self._budget > 0:
            flow, action, args = self._ready.popleft()
            if flow.is_alive:
                action(flow, *args)

    # -- events and commands -----------------------------------------------------------------

    def _emit(
        self,
        flow: Flow | None,
        event_type: str,
        details: dict[str, Any] | None = None,
        previous: int | None = None,
    ) -> int:
        event_id = self._next_event_id
        if (
            self._max_events is not None
            and event_id >= self._max_events
            and not event_type.startswith("Execution")
        ):
            raise _HistoryFull
        self._next_event_id += 1
        if previous is None:
            previous = flow.last_event if flow is not None else event_id - 1
        self._events.append(make_event(event_type, event_id, previous, self._now, details))
        if flow is not None:
            flow.last_event = event_id
        return event_id

    # -- the execution -------------------------------------------------------------------------

    def _start(self) -> None:
        if self._next_event_id != 1:
            return
        self._emit(
            None,
            "ExecutionStarted",
            {**payload(self.info.input, "input"), "roleArn": self.info.role_arn},
            previous=0,
        )
        if self.machine.timeout_seconds is not None:
            due = self._now + timedelta(seconds=self.machine.timeout_seconds)
            self._agenda.start_timer(None, due, self._execution_timed_out)
        root = Flow(self.machine, None, 0, 0)
        root.variables = self._variables
        self._enter(root, self.machine.start_at, json.loads(self.info.input))

    def _execution_timed_out(self) -> None:
        # AWS records the timeout alone (previousEventId 0) and describes the execution
        # without an error or cause.
        self._finish(
            "ExecutionTimedOut", ExecutionStatus.TIMED_OUT, {"error": StatesError.TIMEOUT.value}, 0
        )

    def _finish_aborted(self, error: str | None, cause: str | None) -> None:
        details = error_details(Failure(error or None, cause or None))
        self._finish("ExecutionAborted", ExecutionStatus.ABORTED, details, 0)

    def _finish(
        self, event_type: str, status: ExecutionStatus, details: dict[str, Any], previous: int
    ) -> None:
        """End the execution: its last event, then cancel whatever still runs."""
        self._emit(None, event_type, details, previous)
        self.status = status
        self._note_end()  # where control stood, for a redrive
        self._agenda.cancel_all()
        self._ready.clear()
        if status is ExecutionStatus.SUCCEEDED:
            self._agenda.commands.append(CompleteExecution(status, output=details["output"]))
        elif status is ExecutionStatus.TIMED_OUT:
            self._agenda.commands.append(CompleteExecution(status))
        else:
            self._agenda.commands.append(
                CompleteExecution(status, error=details.get("error"), cause=details.get("cause"))
            )

    # -- flows and states ----------------------------------------------------------------------

    def _enter(self, flow: Flow, name: str, data: Any, text: str | None = None) -> None:
        """Enter a state; `text` is `data` as JSON when the previous state already wrote it."""
        self._budget -= 1
        state = flow.machine.states[name]
        flow.state = state
        flow.data = data
        self._inspect(flow, Stage.INPUT, data)
        flow.attempts = {}
        flow.entered_at = self._now
        flow.entered_from = flow.last_event
        flow.entered_id = self._emit(
            flow,
            f"{STATE_EVENT_PREFIX[type(state)]}StateEntered",
            {"name": name, **payload(to_json(data) if text is None else text, "input")},
        )
        self._execute(flow)

    def _transition(
        self, flow: Flow, transition: Transition, output: Any, text: str | None = None
    ) -> None:
        if transition.next is None:
            self._flow_succeeded(flow, output)
        else:
            self._ready.append((flow, self._enter, (transition.next, output, text)))

    def _execute(self, flow: Flow) -> None:
        """Run the current state of `flow` from its input (on entry, and again on each retry)."""
        state = flow.state
        assert state is not None
        try:
            match state:
                case PassState():
                    self._run_pass(flow, state)
                case TaskState():
                    self._run_task(flow, state)
                case ChoiceState():
                    self._run_choice(flow, state)
                case WaitState():
                    self._run_wait(flow, state)
                case SucceedState():
                    output = self._output(flow, state.filters, self._input(flow, state.filters))
                    output = self._outcome(flow, state.outcome, output, {}, output)
                    self._exit(flow, output)
                    self._flow_succeeded(flow, output)
                case FailState():
                    self._run_fail(flow, state)
                case ParallelState():
                    self._run_parallel(flow, state)
                case MapState():
                    self._run_map(flow, state)
                case _:
                    assert_never(state)
        except StatesFailure as failure:
            self._failed_in_state(flow, failure)

    def _failed_in_state(self, flow: Flow, raised: StatesFailure) -> None:
        """The state failed on its own (its input, its settings, its expressions). A JSONata
        expression's failure is first recorded as EvaluationFailed, pointing where the state's
        entry pointed, and a Parallel or Map then records its …StateFailed, as AWS does."""
        failure = self._in_state(flow, raised.failure)
        if failure.error != StatesError.QUERY_EVALUATION_ERROR:
            self._state_failed(flow, failure, of_its_own=True)
            return
        at_entry = flow.last_event == flow.entered_id
        self._evaluation_failed(
            flow, raised, failure, flow.entered_from if at_entry else flow.last_event
        )
        # Once the state has recorded more (a Map run, a task's result), its Output's failure
        # is like a ResultSelector's: nothing more is recorded for a Parallel or Map.
        self._state_failed(flow, failure, of_its_own=not at_entry)

    def _evaluation_failed(
        self, flow: Flow, raised: StatesFailure, failure: Failure, previous: int
    ) -> None:
        assert flow.state is not None
        details = {**error_details(failure), "state": flow.state.name}
        if isinstance(raised, QueryEvaluationFailure):
            details["location"] = raised.location
        self._emit(flow, "EvaluationFailed", details, previous=previous)

    def _in_state(self, flow: Flow, failure: Failure) -> Failure:
        """A failure the engine found while running a state; AWS prefixes the cause of a
        States.Runtime error (and only of that) with the state and the event it entered at."""
        assert flow.state is not None
        if failure.error not in (StatesError.RUNTIME, StatesError.QUERY_EVALUATION_ERROR):
            return failure
        prefix = (
            f"An error occurred while executing the state '{flow.state.name}' "
            f"(entered at the event id #{flow.entered_id})."
        )
        return Failure(failure.error, f"{prefix} {failure.cause}" if failure.cause else prefix)

    def _scope(
        self,
        flow: Flow,
        map_item: tuple[int, Any] | None = None,
        states: dict[str, Any] | None = None,
    ) -> Scope:
        """What the current state's fields may read: `states` holds JSONata's `$states.result`
        or `$states.errorOutput` where the field has one."""
        return Scope(
            lambda: self._context(flow, map_item),
            self._random,
            flow.visible_variables(),
            states,
            self._now,
        )

    def _context(self, flow: Flow, map_item: tuple[int, Any] | None) -> dict[str, Any]:
        if self._execution_context is None:
            self._execution_context = self.info.execution_context()
        assert flow.state is not None
        assert flow.entered_at is not None
        return context_object(
            self.info,
            self._execution_context,
            flow.state.name,
            flow.entered_at,
            sum(flow.attempts.values()),
            None if flow.task_id is None else self._task_token(flow.task_id),
            map_item,
        )

    def _task_token(self, task_id: int) -> str:
        return f"{self.info.execution_arn}#{task_id}"

    # -- input and output processing ------------------------------------------------------------

    def _input(self, flow: Flow, filters: Filters) -> Any:
        effective = (
            {} if filters.input_path is None else self._select(flow, filters.input_path, flow.data)
        )
        self._inspect(flow, Stage.AFTER_INPUT_PATH, effective)
        return effective

    def _output(self, flow: Flow, filters: Filters, output: Any) -> Any:
        if filters.output_path is None:
            return {}
        return self._select(flow, filters.output_path, output)

    def _select(self, flow: Flow, path: Path, data: Any) -> Any:
        return select(path, data, self._scope(flow))

    def _result(self, flow: Flow, results: ResultHandling, result: Any) -> Any:
        """ResultSelector, then ResultPath over the state's raw input (JSONPath), or Output
        (JSONata); and the state's Assign."""
        state = flow.state
        assert isinstance(state, TaskState | ParallelState | MapState)
        self._inspect(flow, Stage.RESULT, result)
        if results.result_selector is not None:
            result = results.result_selector.evaluate(result, self._scope(flow))
        self._inspect(flow, Stage.AFTER_RESULT_SELECTOR, result)
        output = apply_result_path(flow.data, result, results.result_path)
        self._inspect(flow, Stage.AFTER_RESULT_PATH, output)
        return self._outcome(flow, state.outcome, output, {"result": result}, result)

    def _outcome(
        self, flow: Flow, outcome: Outcome, output: Any, states: dict[str, Any], result: Any
    ) -> Any:
        """A state's Assign and (JSONata) Output, both evaluated against the variables as the
        state found them; the assignment takes effect as the state exits (`_exit`). JSONPath's
        Assign reads `result` as `$`; JSONata's reads `$states`. Returns the state's output."""
        flow.assigned = None
        if outcome.is_empty:
            return output
        if outcome.assign is not None:
            if isinstance(outcome.assign, Query):
                assigned = outcome.assign.evaluate(flow.data, self._scope(flow, states=states))
            else:
                assigned = outcome.assign.evaluate(result, self._scope(flow))
            flow.assigned = checked_assignment(assigned)
        if outcome.output is not None:
            output = outcome.output.evaluate(flow.data, self._scope(flow, states=states))
        return output

    def _inspect(self, flow: Flow, stage: Stage, value: Any) -> None:
        if self._inspector is not None and flow.state is not None:
            self._inspector.stage(flow.state.name, stage, value)

    def _exit(self, flow: Flow, output: Any) -> str:
        """Record the state's exit with its output; return the output as JSON text."""
        assert flow.state is not None
        text = to_json(output)
        too_large = size_failure(text, flow.state)
        if too_large is not None:
            raise StatesFailure(StatesError.DATA_LIMIT_EXCEEDED, too_large.cause)
        details = {"name": flow.state.name, **payload(text, "output")}
        if flow.assigned is not None:
            details["assignedVariables"] = {
                name: to_json(value) for name, value in flow.assigned.items()
            }
            details["assignedVariablesDetails"] = {"truncated": False}
            flow.assign(flow.assigned)
            flow.assigned = None
        if self._inspector is not None:  # not on every exit of every execution
            self._inspect(flow, Stage.VARIABLES, flow.visible_variables())
        self._emit(flow, f"{STATE_EVENT_PREFIX[type(flow.state)]}StateExited", details)
        return text

    def _exit_to(self, flow: Flow, filters: Filters, output: Any, transition: Transition) -> None:
        output = self._output(flow, filters, output)
        self._transition(flow, transition, output, self._exit(flow, output))

    # -- Pass, Choice, Wait, Fail --------------------------------------------------------------

    def _run_pass(self, flow: Flow, state: PassState) -> None:
        effective = self._input(flow, state.filters)
        if state.has_result:
            result = state.result
            self._inspect(flow, Stage.RESULT, result)
        else:
            result = (
                effective
                if state.parameters is None
                else state.parameters.evaluate(effective, self._scope(flow))
            )
            self._inspect(flow, Stage.AFTER_PARAMETERS, result)
        self._inspect(flow, Stage.AFTER_RESULT_SELECTOR, result)  # a Pass has no ResultSelector
        output = apply_result_path(flow.data, result, state.result_path)
        self._inspect(flow, Stage.AFTER_RESULT_PATH, output)
        output = self._outcome(flow, state.outcome, output, {}, result)
        self._exit_to(flow, state.filters, output, state.transition)

    def _run_choice(self, flow: Flow, state: ChoiceState) -> None:
        effective = self._input(flow, state.filters)
        scope = self._scope(flow)
        target, outcome = state.default, state.outcome
        for rule in state.choices:
            if rule.matches(effective, scope):
                target, outcome = rule.next, rule.outcome
                break
        if target is None:
            self._state_failed(flow, Failure(StatesError.NO_CHOICE_MATCHED, "No Matches!"))
            return
        output = self._outcome(flow, outcome, effective, {}, effective)
        self._exit_to(flow, state.filters, output, Transition(target))

    def _run_wait(self, flow: Flow, state: WaitState) -> None:
        effective = self._input(flow, state.filters)
        due = wait_until(state, effective, self._scope(flow), self._now)
        output = self._outcome(flow, state.outcome, effective, {}, effective)
        if due <= self._now:
            self._exit_to(flow, state.filters, output, state.transition)
            return

        def wake() -> None:
            flow.timer_id = None
            self._guarded(flow, self._exit_to, state.filters, output, state.transition)

        flow.timer_id = self._agenda.start_timer(flow, due, wake)

    def _run_fail(self, flow: Flow, state: FailState) -> None:
        scope = self._scope(flow)
        error = state.error
        if state.error_path is not None:
            error = error_text(state.error_path.evaluate(flow.data, scope), "ErrorPath")
        cause = state.cause
        if state.cause_path is not None:
            cause = error_text(state.cause_path.evaluate(flow.data, scope), "CausePath")
        self._flow_failed(flow, Failure(error, cause))

    def _finish_state(
        self,
        flow: Flow,
        results: ResultHandling,
        filters: Filters,
        transition: Transition,
        result: Any,
    ) -> None:
        self._exit_to(flow, filters, self._result(flow, results, result), transition)

    def _guarded(self, flow: Flow, action: Callable[..., None], *args: Any) -> None:
        """Run a step of a state outside `_execute`, turning its failures into data."""
        try:
            action(flow, *args)
        except StatesFailure as failure:
            self._failed_in_state(flow, failure)

    # -- Parallel and Map ------------------------------------------------------------------------

    def _flow_succeeded(self, flow: Flow, output: Any) -> None:
        flow.is_alive = False
        if flow.parent is None:
            self._finish(
                "ExecutionSucceeded",
                ExecutionStatus.SUCCEEDED,
                payload(to_json(output), "output"),
                flow.last_event,
            )
        else:
            self._child_succeeded(flow.parent, flow, output)

    def _flow_failed(self, flow: Flow, failure: Failure) -> None:
        flow.is_alive = False
        self._note_failure(flow, failure)  # before its Parallel or Map cuts the others
        if flow.parent is None:
            self._finish(
                "ExecutionFailed", ExecutionStatus.FAILED, error_details(failure), flow.last_event
            )
        else:
            self._child_failed(flow.parent, flow, failure)

    # -- failure handling ------------------------------------------------------------------------

    def _state_failed(self, flow: Flow, failure: Failure, of_its_own: bool = False) -> None:
        """Retry, then Catch, then fail the flow: the spec's order.

        A Parallel or Map whose branch or iteration failed records `…StateFailed` unless it is
        about to be retried (AWS then goes straight to a new `…StateStarted`); one that failed
        `of_its_own` (its input, its settings, its result) records nothing more, as AWS does.
        """
        state = flow.state
        assert state is not None
        flow.task_id = None
        if self._inspector is not None:
            self._inspector.failed(state.name, failure)
        retriers, catchers = (
            (state.retry, state.catch)
            if isinstance(state, TaskState | ParallelState | MapState)
            else ((), ())
        )
        if not is_terminal(failure.error):
            index = find_retrier(retriers, failure.error)
            if index is not None and flow.attempts.get(index, 0) < retriers[index].max_attempts:
                made = flow.attempts.get(index, 0)
                flow.attempts[index] = made + 1
                delay = retry_delay(retriers[index], made, self._random)
                if self._inspector is not None:
                    self._inspector.retrying(state.name, index, delay)
                flow.timer_id = self._agenda.start_timer(
                    flow, self._now + timedelta(seconds=delay), lambda: self._retry(flow)
                )
                return
        if isinstance(state, ParallelState | MapState) and not of_its_own:
            self._emit(flow, f"{STATE_EVENT_PREFIX[type(state)]}StateFailed")
        catcher = None if is_terminal(failure.error) else find_catcher(catchers, failure.error)
        if catcher is None:
            self._flow_failed(flow, failure)
            return
        if self._inspector is not None:
            self._inspector.caught(state.name, catchers.index(catcher))
        flow.assigned = None
        try:
            caught = error_output(failure)
            output = apply_result_path(flow.data, caught, catcher.result_path)
            output = self._outcome(flow, catcher.outcome, output, {"errorOutput": caught}, caught)
        except StatesFailure as path_failure:
            failed = self._in_state(flow, path_failure.failure)
            if failed.error == StatesError.QUERY_EVALUATION_ERROR:  # the Catcher's Output/Assign
                self._evaluation_failed(flow, path_failure, failed, flow.last_event)
            self._flow_failed(flow, failed)
            return
        try:
            text = self._exit(flow, output)
        except StatesFailure as exit_failure:  # the error output made the state too large
            self._flow_failed(flow, exit_failure.failure)
            return
        self._transition(flow, Transition(catcher.next), output, text)

    def _retry(self, flow: Flow) -> None:
        flow.timer_id = None
        self._execute(flow)

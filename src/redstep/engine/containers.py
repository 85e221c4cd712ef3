"""Parallel and Map: starting branches and iterations, collecting what they return, and
failing, tolerating or cutting them short, with the events AWS records for each.

`ContainerSteps` is part of the interpreter (it is mixed into `Interpreter`); `Host` names what
it uses of the rest of the interpreter, so the two halves stay honest about their seam.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime
from random import Random
from typing import Any, Protocol

from redstep.asl.errors import Failure, StatesError, StatesFailure, is_terminal
from redstep.asl.model import (
    Filters,
    MapState,
    ParallelState,
    ProcessorMode,
    ResultHandling,
    Transition,
    WaitState,
)
from redstep.asl.scope import Scope
from redstep.engine.agenda import Agenda, Task
from redstep.engine.commands import MAP_RUN_RESOURCE, MapRunRequest, ScheduleTask
from redstep.engine.context import ExecutionInfo, context_object
from redstep.engine.events import STATE_EVENT_PREFIX
from redstep.engine.flows import Flow, MapRun, ParallelRun
from redstep.engine.resolve import (
    map_items,
    max_concurrency,
    positive_integer,
    tolerated_failures,
    tolerated_limits,
)


class Host(Protocol):
    """What Parallel and Map need of the interpreter they are part of."""

    _agenda: Agenda
    _ready: deque[tuple[Flow, Callable[..., None], tuple[Any, ...]]]
    _random: Random
    info: ExecutionInfo

    def _emit(
        self,
        flow: Flow | None,
        event_type: str,
        details: dict[str, Any] | None = None,
        previous: int | None = None,
    ) -> int: ...

    def _enter(self, flow: Flow, name: str, data: Any, text: str | None = None) -> None: ...

    def _input(self, flow: Flow, filters: Filters) -> Any: ...

    def _scope(
        self,
        flow: Flow,
        map_item: tuple[int, Any] | None = None,
        states: dict[str, Any] | None = None,
    ) -> Scope: ...

    def _task_token(self, task_id: int) -> str: ...

    def _in_state(self, flow: Flow, failure: Failure) -> Failure: ...

    def _failed_in_state(self, flow: Flow, raised: StatesFailure) -> None: ...

    def _state_failed(self, flow: Flow, failure: Failure, of_its_own: bool = False) -> None: ...

    def _guarded(self, flow: Flow, action: Callable[..., None], *args: Any) -> None: ...

    def _finish_state(
        self,
        flow: Flow,
        results: ResultHandling,
        filters: Filters,
        transition: Transition,
        result: Any,
    ) -> None: ...

    # the steps below, used by one another
    def _start_map_run(
        self, flow: Flow, state: MapState, redrive: tuple[str, int] | None = None
    ) -> str: ...

    def _start_iterations(self, run: MapRun) -> None: ...

    def _continue_map(self, run: MapRun) -> None: ...

    def _container_succeeded(self, flow: Flow, results: list[Any], previous: int) -> None: ...

    def _abort_container(self, run: ParallelRun | MapRun, previous: int) -> None: ...

    def _abort_flow(self, flow: Flow, previous: int) -> None: ...


class ContainerSteps:
    """The Parallel and Map half of the interpreter."""

    def _run_parallel(self: Host, flow: Flow, state: ParallelState) -> None:
        effective = self._input(flow, state.filters)
        if state.parameters is not None:
            effective = state.parameters.evaluate(effective, self._scope(flow))
        started = self._emit(flow, "ParallelStateStarted")
        run = ParallelRun(flow, len(state.branches))
        flow.container = run
        for index, branch in enumerate(state.branches):
            child = Flow(branch, run, index, started)
            run.children.append(child)
            self._ready.append((child, self._enter, (branch.start_at, effective)))

    def _run_map(self: Host, flow: Flow, state: MapState) -> None:
        if state.mode is ProcessorMode.DISTRIBUTED:
            self._start_map_run(flow, state)
            return
        effective = self._input(flow, state.filters)
        scope = self._scope(flow)
        items = map_items(state, effective, scope)
        concurrency = max_concurrency(state, effective, scope)
        started = self._emit(flow, "MapStateStarted", {"length": len(items)})
        # AWS reads the tolerance after MapStateStarted: its errors follow that event.
        tolerated = tolerated_failures(state.tolerated_failure, len(items), effective, scope)
        run = MapRun(flow, items, effective, concurrency or len(items), tolerated, started)
        flow.container = run
        if not items:
            self._container_succeeded(flow, [], started)
            return
        self._start_iterations(run)

    def _start_map_run(
        self: Host, flow: Flow, state: MapState, redrive: tuple[str, int] | None = None
    ) -> str:
        """A distributed Map hands its items to a map run, which runs each item (or batch) as
        a child execution; the run answers as a task does (`_map_run_ended`). Its ARN is
        returned.

        `redrive` is (ARN, n) when a redrive of the execution redrives the map run that ARN
        names, for the n-th time (`RedriveSteps`): MapRunRedriven instead of MapRunStarted."""
        effective = self._input(flow, state.filters)
        scope = self._scope(flow)
        items = None if state.item_reader is not None else map_items(state, effective, scope)
        concurrency = max_concurrency(state, effective, scope)
        self._emit(flow, "MapStateStarted", {"length": len(items) if items is not None else 0})
        count, percentage = tolerated_limits(state.tolerated_failure, effective, scope)
        task_id = self._agenda.next_task_id()
        flow.task_id = task_id
        arn, redrives = redrive or (_map_run_arn(self.info, state, self._random), 0)
        request: MapRunRequest = {
            "mapRunArn": arn,
            "stateName": state.name,
            "executionType": state.execution_type.value,
            "input": effective,
            "variables": flow.visible_variables(),
            "items": items,
            "itemReader": _item_reader(state, effective, scope),
            "itemBatcher": _item_batcher(state, effective, scope),
            "resultWriter": _result_writer(state, effective, scope),
            "maxConcurrency": concurrency,
            "toleratedFailureCount": count,
            "toleratedFailurePercentage": percentage,
            "redriveCount": redrives,
        }
        if redrive is None:
            self._emit(flow, "MapRunStarted", {"mapRunArn": arn})
        else:
            self._emit(flow, "MapRunRedriven", {"mapRunArn": arn, "redriveCount": redrives})
        command = ScheduleTask(
            task_id, state.name, MAP_RUN_RESOURCE, request, None, None, self._task_token(task_id)
        )
        self._agenda.schedule(flow, command)
        return arn

    def _map_run_ended(self: Host, task: Task, result: Any, failure: Failure | None) -> None:
        """The map run answered: MapRunSucceeded or MapRunFailed, then the state goes on (its
        MapStateSucceeded and Exited point at the map run's last event, as AWS records)."""
        flow = task.flow
        state = flow.state
        assert isinstance(state, MapState)
        if failure is not None:
            details = {
                key: value
                for key, value in (("error", failure.error), ("cause", failure.cause))
                if value is not None
            }
            self._emit(flow, "MapRunFailed", details)
            self._state_failed(flow, failure)
            return
        ended = self._emit(flow, "MapRunSucceeded")
        self._container_succeeded(flow, result, ended)

    def _start_iterations(self: Host, run: MapRun) -> None:
        flow = run.flow
        state = flow.state
        assert isinstance(state, MapState)
        while run.has_room:
            index = run.next_index
            run.next_index += 1
            started = self._emit(
                flow,
                "MapIterationStarted",
                {"index": index, "name": state.name},
                previous=run.cursor,
            )
            item = run.items[index]
            if state.item_selector is not None:
                try:
                    item = state.item_selector.evaluate(
                        run.effective, self._scope(flow, (index, item))
                    )
                except StatesFailure as failure:
                    self._abort_container(run, flow.last_event)
                    self._failed_in_state(flow, failure)
                    return
            child = Flow(state.processor, run, index, started)
            run.active[index] = child
            self._ready.append((child, self._enter, (state.processor.start_at, item)))

    def _child_succeeded(self: Host, run: ParallelRun | MapRun, flow: Flow, output: Any) -> None:
        """A branch or an iteration ended well: keep its output; finish when all have."""
        if isinstance(run, ParallelRun):
            run.results[flow.index] = output
            run.remaining -= 1
            run.cursor = max(run.cursor, flow.last_event)
            if run.remaining == 0:
                self._container_succeeded(run.flow, run.results, run.cursor)
        else:
            owner = run.flow
            assert isinstance(owner.state, MapState)
            run.last_ended = self._emit(
                owner,
                "MapIterationSucceeded",
                {"index": flow.index, "name": owner.state.name},
                previous=flow.last_event,
            )
            run.cursor = flow.last_event
            run.active.pop(flow.index)
            run.results[flow.index] = output
            run.completed += 1
            self._continue_map(run)

    def _continue_map(self: Host, run: MapRun) -> None:
        if run.completed == len(run.items):
            self._container_succeeded(run.flow, run.results, run.last_ended)
        else:
            self._start_iterations(run)

    def _container_succeeded(self: Host, flow: Flow, results: list[Any], previous: int) -> None:
        """`…StateSucceeded`, then the state's result; AWS points both it and the Exited event
        at the last event of the branches (the last MapIterationSucceeded for a Map)."""
        state = flow.state
        assert isinstance(state, ParallelState | MapState)
        flow.container = None
        self._emit(flow, f"{STATE_EVENT_PREFIX[type(state)]}StateSucceeded", previous=previous)
        flow.last_event = previous
        self._guarded(
            flow, self._finish_state, state.results, state.filters, state.transition, results
        )

    def _child_failed(self: Host, run: ParallelRun | MapRun, flow: Flow, failure: Failure) -> None:
        """A branch failed (the Parallel fails), or an iteration did (the Map fails unless the
        failure is tolerated)."""
        owner = run.flow
        if isinstance(run, ParallelRun):
            self._abort_container(run, flow.last_event)
            owner.last_event = flow.last_event
            self._state_failed(owner, failure)
            return
        assert isinstance(owner.state, MapState)
        self._emit(
            owner,
            "MapIterationFailed",
            {"index": flow.index, "name": owner.state.name},
            previous=flow.last_event,
        )
        run.active.pop(flow.index)
        run.cursor = flow.last_event
        run.failures += 1
        if run.failures <= run.tolerated and not is_terminal(failure.error):
            run.results[flow.index] = error_output(failure)
            run.completed += 1
            self._continue_map(run)
            return
        self._abort_container(run, flow.last_event)
        owner.last_event = flow.last_event
        if run.tolerated_configured and not is_terminal(failure.error):
            failure = Failure(
                StatesError.EXCEED_TOLERATED_FAILURE_THRESHOLD.value,
                "The specified tolerated failure threshold was exceeded",
            )
        self._state_failed(owner, failure)

    def _abort_container(self: Host, run: ParallelRun | MapRun, previous: int) -> None:
        """Cut the branches or iterations still running when one of them failed; each cut
        state records its `…StateAborted` (and a Map its MapIterationAborted), all pointing at
        the event that failed."""
        children = run.children if isinstance(run, ParallelRun) else list(run.active.values())
        for child in children:
            if child.is_alive:
                self._abort_flow(child, previous)
                if isinstance(run, MapRun):
                    owner = run.flow
                    assert isinstance(owner.state, MapState)
                    self._emit(
                        owner,
                        "MapIterationAborted",
                        {"index": child.index, "name": owner.state.name},
                        previous=previous,
                    )
        if isinstance(run, MapRun):
            run.active.clear()
        run.flow.container = None

    def _abort_flow(self: Host, flow: Flow, previous: int) -> None:
        flow.is_alive = False
        if flow.container is not None:
            self._abort_container(flow.container, previous)
        if flow.task_id is not None and self._agenda.cancel_task(flow.task_id) is not None:
            if isinstance(flow.state, MapState):
                self._emit(flow, "MapRunAborted", previous=previous)
            else:
                self._emit(flow, "TaskStateAborted", previous=previous)
        if flow.timer_id is not None:
            self._agenda.cancel_timer(flow.timer_id)
            if isinstance(flow.state, WaitState):
                self._emit(flow, "WaitStateAborted", previous=previous)
        if isinstance(flow.state, ParallelState | MapState):
            self._emit(
                flow, f"{STATE_EVENT_PREFIX[type(flow.state)]}StateAborted", previous=previous
            )


def error_output(failure: Failure) -> dict[str, Any]:
    """The `{"Error", "Cause"}` object a Catcher passes on (or a tolerated iteration returns).

    A timeout has no cause in the history, yet a Catcher gets `"Cause": ""` for it, as
    executions on AWS show.
    """
    output: dict[str, Any] = {}
    if failure.error is not None:
        output["Error"] = failure.error
    if failure.cause is not None:
        output["Cause"] = failure.cause
    elif failure.error == StatesError.TIMEOUT:
        output["Cause"] = ""
    return output


def select_item(
    state: MapState,
    effective: Any,
    index: int,
    value: Any,
    info: ExecutionInfo,
    random: Random,
    entered_at: datetime,
    variables: Mapping[str, Any],
) -> Any:
    """A distributed Map's item as its child receives it: ItemSelector (or Parameters) applied
    with `$$.Map.Item` set, reading the parent's variables, or the item itself."""
    if state.item_selector is None:
        return value
    execution = info.execution_context()
    scope = Scope(
        lambda: context_object(info, execution, state.name, entered_at, 0, None, (index, value)),
        random,
        variables,
        now=entered_at,
    )
    return state.item_selector.evaluate(effective, scope)


def _map_run_arn(info: ExecutionInfo, state: MapState, random: Random) -> str:
    """`arn:…:mapRun:<machine>/<label>:<id>`; ids drawn from the execution's seeded random, so
    a replay names the same map run."""
    run_id = str(uuid.UUID(int=random.getrandbits(128), version=4))
    label = state.label or run_id[:8]
    prefix, _, _ = info.state_machine_arn.rpartition(":stateMachine:")
    return f"{prefix}:mapRun:{info.state_machine_name}/{label}:{run_id}"


def _item_reader(state: MapState, effective: Any, scope: Scope) -> dict[str, Any] | None:
    reader = state.item_reader
    if reader is None:
        return None
    config = dict(reader.reader_config)
    max_items = positive_integer(
        config.get("MaxItems"), reader.max_items_path, "MaxItems", effective, scope
    )
    if max_items is not None:
        config["MaxItems"] = max_items
    arguments = reader.arguments.evaluate(effective, scope) if reader.arguments else {}
    return {"Resource": reader.resource, "Arguments": arguments, "ReaderConfig": config}


def _item_batcher(state: MapState, effective: Any, scope: Scope) -> dict[str, Any] | None:
    batcher = state.item_batcher
    if batcher is None:
        return None
    return {
        "MaxItemsPerBatch": positive_integer(
            batcher.max_items_per_batch,
            batcher.max_items_per_batch_path,
            "MaxItemsPerBatch",
            effective,
            scope,
        ),
        "MaxInputBytesPerBatch": positive_integer(
            batcher.max_input_bytes_per_batch,
            batcher.max_input_bytes_per_batch_path,
            "MaxInputBytesPerBatch",
            effective,
            scope,
        ),
        "BatchInput": (
            batcher.batch_input.evaluate(effective, scope) if batcher.batch_input else None
        ),
    }


def _result_writer(state: MapState, effective: Any, scope: Scope) -> dict[str, Any] | None:
    writer = state.result_writer
    if writer is None:
        return None
    arguments = writer.arguments.evaluate(effective, scope) if writer.arguments else {}
    return {
        "Resource": writer.resource,
        "Arguments": arguments,
        "WriterConfig": dict(writer.writer_config),
    }

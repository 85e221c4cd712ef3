"""`Engine`: the Step Functions operations over the durable store and the executor.

One method per operation, taking and returning mappings with the wire's member names
(`stateMachineArn`, `startDate`, …: `redstep.runtime.messages`), so that the CLI, the HTTP API
and Python callers share one implementation; `handle("StartExecution", request)` dispatches by
the wire's operation name. Dates are timezone-aware datetimes; the HTTP layer writes them as
epoch seconds.

The Engine wires the store, the executor, the map runner and the Express executions together,
and owns the executions' operations (when one may be redriven: `redrive_eligibility`) and
TestState. The other operations live with what they are about, and the Engine passes them on:
state machines (`redstep.runtime.state_machine_api`), tags (`tag_api`), task callbacks
(`callback_api`) and map runs (`map_run_api`).

Every operation first checks its request against botocore's model (`redstep.runtime.validation`),
as AWS's front end does, then applies the rules the model cannot express.

Wordings are AWS's where an answer of AWS's was seen (see the tests); those modelled without one
are said so where they are raised, here or in the module the operation is passed on to.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from redstep.asl.model import StateMachine
from redstep.asl.parse import parse_definition
from redstep.buckets import Buckets
from redstep.engine.commands import ExecutionStatus
from redstep.engine.context import ExecutionInfo
from redstep.engine.interpreter import MAX_HISTORY_EVENTS, Interpreter
from redstep.engine.signals import Stop
from redstep.project import Project, StateOwnership
from redstep.runtime import callback_api, express, state_machine_api, tag_api
from redstep.runtime.arns import Region, execution_parts
from redstep.runtime.clock import Clock, RealClock
from redstep.runtime.errors import (
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    ExecutionNotRedrivable,
    StateMachineDoesNotExist,
    ValidationException,
)
from redstep.runtime.executor import Executor, TaskRunner, UnsupportedTasks
from redstep.runtime.express_store import ExpressStore
from redstep.runtime.map_run_api import (
    describe_map_run,
    list_map_run_executions,
    list_map_runs,
    update_map_run,
)
from redstep.runtime.map_runs import MapRunner
from redstep.runtime.messages import (
    DEFAULT_PAGE_SIZE,
    Request,
    Response,
    check_input,
    described_execution,
    listed_execution,
    name_and_input,
    required,
    without_data,
)
from redstep.runtime.redrive_eligibility import (
    not_redrivable_reason,
    redrive_status,
    refuse_redrive,
    status_reason,
)
from redstep.runtime.single_state import (
    TEST_SECONDS,
    InspectionLevel,
    Mock,
    SingleStateRun,
    prepare,
    read_variables,
    run_state_test,
)
from redstep.runtime.sqlite_store import SqliteExecutionStore
from redstep.runtime.store import (
    ExecutionRecord,
    ExecutionStore,
    SignalRecord,
    StateMachineRecord,
    StoreConflict,
)
from redstep.runtime.tokens import decode_token, encode_token
from redstep.runtime.validation import validate_request

STOP_WAIT_SECONDS = 10.0


class Engine:
    """Create state machines, start and watch their executions; durable across restarts."""

    def __init__(
        self,
        store: ExecutionStore,
        *,
        clock: Clock | None = None,
        tasks: TaskRunner | None = None,
        region: Region | None = None,
        ownership: StateOwnership | None = None,
        max_history_events: int | None = MAX_HISTORY_EVENTS,
        test_state_seconds: float = TEST_SECONDS,
        run: bool = True,
        resume: bool = True,
        buckets: Buckets | None = None,
    ) -> None:
        """`max_history_events=None` lifts AWS's 25,000-event quota on one execution;
        `test_state_seconds` bounds one TestState call (a Task still running then fails);
        `run=False` opens the store for reading only: no execution runs or resumes (a command
        that looks at a stopped project's executions; one it started would wait for an engine
        that runs); `resume=False` runs what is started here but leaves the executions a
        stopped process left RUNNING as they are, for an engine that stays up. `buckets` are
        where distributed Maps' ItemReaders and ResultWriters read and write (without them,
        those fail)."""
        self.store = store
        self.clock = clock or RealClock()
        self.region = region or Region()
        self._ownership = ownership
        self._machines = lru_cache(maxsize=256)(self._parse_revision)
        self._max_history_events = max_history_events
        self._tasks = tasks or UnsupportedTasks()
        self._test_state_seconds = test_state_seconds
        express_store = ExpressStore(store)  # Express executions: in memory only
        # Distributed Maps' map runs go to their own runner, which passes the rest on; it reads
        # the executor's store, where an Express parent is.
        self.map_runs = MapRunner(express_store, self.clock, self._tasks, self._machine_of, buckets)
        self.executor = Executor(express_store, self.clock, self._interpreter_for, self.map_runs)
        self.map_runs.attach(self.executor)
        self.express = express.ExpressExecutions(
            express_store, self.executor, self.clock, self.region, is_running=run
        )
        self._operations: dict[str, Callable[[Request], Response]] = {
            "CreateStateMachine": self.create_state_machine,
            "UpdateStateMachine": self.update_state_machine,
            "DescribeStateMachine": self.describe_state_machine,
            "DescribeStateMachineForExecution": self.describe_state_machine_for_execution,
            "ListStateMachines": self.list_state_machines,
            "DeleteStateMachine": self.delete_state_machine,
            "ValidateStateMachineDefinition": self.validate_state_machine_definition,
            "StartExecution": self.start_execution,
            "DescribeExecution": self.describe_execution,
            "ListExecutions": self.list_executions,
            "GetExecutionHistory": self.get_execution_history,
            "StopExecution": self.stop_execution,
            "StartSyncExecution": self.start_sync_execution,
            "RedriveExecution": self.redrive_execution,
            "SendTaskSuccess": self.send_task_success,
            "SendTaskFailure": self.send_task_failure,
            "SendTaskHeartbeat": self.send_task_heartbeat,
            "TagResource": self.tag_resource,
            "UntagResource": self.untag_resource,
            "ListTagsForResource": self.list_tags_for_resource,
            "TestState": self.test_state,
            "ListMapRuns": lambda request: list_map_runs(self.store, request),
            "DescribeMapRun": lambda request: describe_map_run(
                self.store, self.clock, self._max_history_events, request
            ),
            "UpdateMapRun": lambda request: update_map_run(
                self.store, self.map_runs.update, request
            ),
        }
        if run:
            self.executor.start(resume=resume)
            if resume:
                self.map_runs.recover()

    @classmethod
    def open(
        cls,
        project: Project,
        *,
        clock: Clock | None = None,
        tasks: TaskRunner | None = None,
        max_history_events: int | None = MAX_HISTORY_EVENTS,
        run: bool = True,
        resume: bool = True,
    ) -> Engine:
        """The engine of a project: its store in `.redstep/`, owned by this process."""
        ownership = project.own_state()
        try:
            return cls(
                SqliteExecutionStore(project.state_dir),
                clock=clock,
                tasks=tasks,
                ownership=ownership,
                max_history_events=max_history_events,
                run=run,
                resume=resume,
            )
        except BaseException:
            ownership.release()
            raise

    def handle(self, operation: str, request: Request) -> Response:
        """Run the operation named as on the wire (`StartExecution`, …)."""
        method = self._operations.get(operation)
        if method is None:
            raise ValidationException(f"Unknown operation: {operation}")
        return method(request)

    @property
    def operations(self) -> list[str]:
        return list(self._operations)

    def close(self) -> None:
        self.express.close()
        self.map_runs.close()
        self.executor.close()
        self.store.close()
        if self._ownership is not None:
            self._ownership.release()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- state machines (`redstep.runtime.state_machine_api`) ------------------------------------

    def create_state_machine(self, request: Request) -> Response:
        return state_machine_api.create_state_machine(self.store, self.clock, self.region, request)

    def update_state_machine(self, request: Request) -> Response:
        return state_machine_api.update_state_machine(self.store, self.clock, request)

    def describe_state_machine(self, request: Request) -> Response:
        return state_machine_api.describe_state_machine(self.store, request)

    def describe_state_machine_for_execution(self, request: Request) -> Response:
        validate_request("DescribeStateMachineForExecution", request)
        execution = self._execution(request["executionArn"])
        return state_machine_api.describe_revision(self.store, execution)

    def list_state_machines(self, request: Request) -> Response:
        return state_machine_api.list_state_machines(self.store, request)

    def delete_state_machine(self, request: Request) -> Response:
        return state_machine_api.delete_state_machine(self.store, request)

    def validate_state_machine_definition(self, request: Request) -> Response:
        return state_machine_api.validate_state_machine_definition(request)

    # -- executions --------------------------------------------------------------------------

    def start_execution(self, request: Request) -> Response:
        validate_request("StartExecution", request)
        machine = self._state_machine(request["stateMachineArn"])
        name, text = name_and_input(request)
        if machine.type == express.EXPRESS:  # a new execution each time, whatever its name
            return express.started(self.express.start(machine, name, text))
        arn = self.region.execution_arn(machine.name, name)
        existing = self.store.get_execution(arn)
        if existing is not None:
            return _same_execution(existing, text)
        now = self.clock.now()
        record = ExecutionRecord(
            arn=arn,
            state_machine_arn=machine.arn,
            revision_id=machine.revision_id,
            name=name,
            input=text,
            status=ExecutionStatus.RUNNING,
            start_date=now,
        )
        try:
            self.store.put_execution(record, SignalRecord(0, "Start", {}, now, False))
        except StoreConflict:  # started by another caller since we looked
            existing = self.store.get_execution(arn)
            assert existing is not None
            return _same_execution(existing, text)
        self.executor.submit(arn)
        return {"executionArn": arn, "startDate": now}

    def describe_execution(self, request: Request) -> Response:
        validate_request("DescribeExecution", request)
        record = self._execution(request["executionArn"])
        with_data = request.get("includedData", "ALL_DATA") != "METADATA_ONLY"
        map_run = self.store.map_run_of(record.arn)
        redrive, reason = redrive_status(
            self.store, self.clock, self._max_history_events, record, map_run
        )
        response = described_execution(record, with_data)
        response["redriveCount"] = record.redrive_count
        response["redriveStatus"] = redrive
        if record.redrive_date is not None:
            response["redriveDate"] = record.redrive_date
        if reason is not None:
            response["redriveStatusReason"] = reason
        if map_run is not None:
            response["mapRunArn"] = map_run
        return response

    def list_executions(self, request: Request) -> Response:
        validate_request("ListExecutions", request)
        if request.get("mapRunArn") is not None:
            return list_map_run_executions(self.store, request)
        arn = required(request, "stateMachineArn")
        if self._state_machine(arn).type == express.EXPRESS:  # AWS lists no Express execution
            raise express.type_not_supported()
        status = request.get("statusFilter")
        redrive_filter = request.get("redriveFilter")
        size = request.get("maxResults") or DEFAULT_PAGE_SIZE
        page = self.store.list_executions(
            arn,
            ExecutionStatus(status) if status else None,
            size,
            request.get("nextToken"),
            redriven=None if redrive_filter is None else redrive_filter == "REDRIVEN",
        )
        response: Response = {"executions": [listed_execution(record) for record in page.items]}
        if page.next_token is not None:
            response["nextToken"] = page.next_token
        return response

    def get_execution_history(self, request: Request) -> Response:
        validate_request("GetExecutionHistory", request)
        arn = request["executionArn"]
        self._execution(arn)
        size = request.get("maxResults") or DEFAULT_PAGE_SIZE
        reverse = bool(request.get("reverseOrder", False))
        token = request.get("nextToken")
        scope = f"history:{arn}:{reverse}"
        after = decode_token(token, scope, 1)[0] if token else None
        events = self.store.history(arn, reverse, size + 1, after)
        response: Response = {"events": events[:size]}
        if not request.get("includeExecutionData", True):
            response["events"] = [without_data(event) for event in response["events"]]
        if len(events) > size:
            response["nextToken"] = encode_token(scope, [events[size - 1]["id"]])
        return response

    def stop_execution(self, request: Request) -> Response:
        validate_request("StopExecution", request)
        arn = request["executionArn"]
        record = self._execution(arn)
        if record.status is ExecutionStatus.RUNNING:
            self.executor.signal(arn, Stop(request.get("error"), request.get("cause")))
            self.executor.wait(arn, STOP_WAIT_SECONDS)
            record = self._execution(arn)
        return {"stopDate": record.stop_date or self.clock.now()}

    def start_sync_execution(self, request: Request) -> Response:
        """Run an Express execution to its end and answer with it (`redstep.runtime.express`);
        StateMachineTypeNotSupported for a STANDARD state machine."""
        validate_request("StartSyncExecution", request)
        machine = self._state_machine(request["stateMachineArn"])
        if machine.type != express.EXPRESS:
            raise express.type_not_supported()
        record = self.express.run(machine, *name_and_input(request))
        return express.sync_answer(record, request)

    def redrive_execution(self, request: Request) -> Response:
        """Run a FAILED, TIMED_OUT or ABORTED execution again from what did not succeed
        (`redstep.engine.redrive`); answers when the redrive is committed, not when it ends.

        A `clientToken` that redrove the execution in the last 15 minutes answers that
        redrive's date again and changes nothing, whatever the execution's status now."""
        validate_request("RedriveExecution", request)
        arn = request["executionArn"]
        record = self._execution(arn)
        refuse_redrive(self.store, self.clock, self._max_history_events, record)
        try:  # the store checks the status again, atomically, after the client token
            redriven = self.executor.redrive(arn, request.get("clientToken"))
        except StoreConflict:
            now = self._execution(arn)
            reason = not_redrivable_reason(self.store, self.clock, self._max_history_events, now)
            raise ExecutionNotRedrivable(reason or status_reason(now)) from None
        return {"redriveDate": redriven.redrive_date}

    # -- callbacks (`redstep.runtime.callback_api`) ----------------------------------------------

    def send_task_success(self, request: Request) -> Response:
        return callback_api.send_task_success(self.executor, request)

    def send_task_failure(self, request: Request) -> Response:
        return callback_api.send_task_failure(self.executor, request)

    def send_task_heartbeat(self, request: Request) -> Response:
        return callback_api.send_task_heartbeat(self.executor, request)

    # -- tags (`redstep.runtime.tag_api`) --------------------------------------------------------

    def tag_resource(self, request: Request) -> Response:
        return tag_api.tag_resource(self.store, request)

    def untag_resource(self, request: Request) -> Response:
        return tag_api.untag_resource(self.store, request)

    def list_tags_for_resource(self, request: Request) -> Response:
        return tag_api.list_tags_for_resource(self.store, request)

    # -- TestState -------------------------------------------------------------------------------

    def test_state(self, request: Request) -> Response:
        """Run one state on one input (see `redstep.runtime.single_state`)."""
        validate_request("TestState", request)
        for member in ("context", "stateConfiguration"):
            if request.get(member) is not None:
                raise ValidationException(f"redstep's TestState does not take '{member}' yet")
        under_test = prepare(request["definition"], request.get("stateName"))
        text = request.get("input")
        text = "{}" if text is None else text
        check_input(text)
        mock = request.get("mock")
        variables = request.get("variables")
        run = SingleStateRun(
            input=text,
            level=InspectionLevel(request.get("inspectionLevel") or InspectionLevel.INFO),
            role_arn=request.get("roleArn") or "",
            region=self.region,
            clock=self.clock,
            tasks=self._tasks,
            mock=None if mock is None else Mock.from_wire(mock),
            timeout=self._test_state_seconds,
            variables={} if variables is None else read_variables(variables),
        )
        return run_state_test(under_test, run)

    def events_after(
        self, execution_arn: str, after_event_id: int, limit: int
    ) -> list[dict[str, Any]]:
        """Up to `limit` history events of an execution, oldest first, after `after_event_id`
        (0: from the first): for a reader following the history as it grows; an Express
        execution's while redstep keeps it in memory."""
        return self.express.store.history(execution_arn, False, limit, after_event_id)

    def wait(self, execution_arn: str, timeout: float | None = None) -> Response:
        """Block until an execution ends (or `timeout` passes); describe it (an Express one as
        DescribeExecution would, were it offered)."""
        self.executor.wait(execution_arn, timeout)
        if express.is_express_arn(execution_arn):
            return self.express.describe(execution_arn)
        return self.describe_execution({"executionArn": execution_arn})

    # -- internals -----------------------------------------------------------------------------

    def _state_machine(self, arn: str) -> StateMachineRecord:
        return state_machine_api.existing_state_machine(self.store, arn)

    def _execution(self, arn: str) -> ExecutionRecord:
        express.refuse_express_arn(arn)  # no Express execution is described, stopped, …
        execution_parts(arn)
        record = self.store.get_execution(arn)
        if record is None:
            raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{arn}'")
        return record

    def _parse_revision(
        self, arn: str, revision_id: str
    ) -> tuple[StateMachineRecord, StateMachine]:
        record = self.store.get_revision(arn, revision_id)
        if record is None:
            raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{arn}'")
        return record, parse_definition(record.definition)

    def _interpreter_for(self, execution: ExecutionRecord) -> Interpreter:
        return Interpreter(*self._machine_of(execution), self._max_history_events)

    def _machine_of(self, execution: ExecutionRecord) -> tuple[StateMachine, ExecutionInfo]:
        """The execution's state machine, parsed, and its context object's execution."""
        record, machine = self._machines(execution.state_machine_arn, execution.revision_id)
        if record.type == express.EXPRESS:  # five minutes at most
            machine = express.within_express_limit(machine)
        seed = int.from_bytes(hashlib.sha256(execution.arn.encode()).digest()[:8], "big")
        info = ExecutionInfo(
            execution_arn=execution.arn,
            name=execution.name,
            state_machine_arn=record.arn,
            state_machine_name=record.name,
            role_arn=record.role_arn,
            input=execution.input,
            start_time=execution.start_date,
            seed=seed,
            region=self.region.name,
        )
        return machine, info


def _same_execution(existing: ExecutionRecord, text: str) -> Response:
    """StartExecution of a name that exists: idempotent while that execution runs with the
    same input, ExecutionAlreadyExists otherwise."""
    if existing.status is not ExecutionStatus.RUNNING or existing.input != text:
        raise ExecutionAlreadyExists(f"Execution Already Exists: '{existing.arn}'")
    return {"executionArn": existing.arn, "startDate": existing.start_date}

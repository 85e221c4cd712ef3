"""`Engine`: the Step Functions operations over the durable store and the executor.

One method per operation, taking and returning mappings with the wire's member names
(`stateMachineArn`, `startDate`, …), so that the CLI, the HTTP API and Python callers share
one implementation; `handle("StartExecution", request)` dispatches by the wire's operation name.
Dates are timezone-aware datetimes; the HTTP layer writes them as epoch seconds.

Every operation first checks its request against botocore's model (`redstep.runtime.validation`),
as AWS's front end does, then applies the rules the model cannot express.

Wordings are AWS's where an answer of AWS's was seen (see the tests); those modelled without one
are said so where they are raised: InvalidOutput's, TaskDoesNotExist's, TooManyTags' and
ExecutionNotRedrivable's (the `redriveStatusReason` texts AWS documents, and redstep's own for
the redrive limit and a Map Run's child, which it does not word).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta
from functools import lru_cache
from typing import Any

from redstep.asl.json_text import InvalidJsonText, read_json
from redstep.asl.model import StateMachine
from redstep.asl.parse import (
    DefinitionError,
    parse_definition,
    validate_definition,
)
from redstep.buckets import Buckets
from redstep.engine.commands import ExecutionStatus
from redstep.engine.context import ExecutionInfo
from redstep.engine.interpreter import MAX_HISTORY_EVENTS, MAX_PAYLOAD_BYTES, Interpreter
from redstep.engine.signals import Stop, TaskFailed, TaskHeartbeat, TaskSucceeded
from redstep.project import Project, StateOwnership
from redstep.runtime import express
from redstep.runtime.arns import (
    Region,
    check_name,
    execution_parts,
    is_states_arn,
    state_machine_name,
    task_token_parts,
)
from redstep.runtime.clock import Clock, RealClock
from redstep.runtime.errors import (
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    ExecutionNotRedrivable,
    InvalidArn,
    InvalidDefinition,
    InvalidExecutionInput,
    InvalidOutput,
    InvalidToken,
    MissingRequiredParameter,
    ResourceNotFound,
    StateMachineAlreadyExists,
    StateMachineDoesNotExist,
    StepFunctionsError,
    TaskDoesNotExist,
    TaskTimedOut,
    TooManyTags,
    ValidationException,
)
from redstep.runtime.executor import Delivery, Executor, TaskAnswer, TaskRunner, UnsupportedTasks
from redstep.runtime.express_store import ExpressStore
from redstep.runtime.map_run_api import (
    describe_map_run,
    list_map_run_executions,
    list_map_runs,
    update_map_run,
)
from redstep.runtime.map_runs import MapRunner
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
    REDRIVABLE_STATUSES,
    ExecutionRecord,
    ExecutionStore,
    SignalRecord,
    StateMachineRecord,
    StoreConflict,
)
from redstep.runtime.tokens import decode_token, encode_token
from redstep.runtime.validation import validate_request

DEFAULT_PAGE_SIZE = 100
STOP_WAIT_SECONDS = 10.0
#: How long SendTask* waits for the executor to take the answer before giving up.
ANSWER_WAIT_SECONDS = 10.0
#: The most tags a state machine may carry (AWS's quota).
MAX_TAGS = 50
#: RedriveExecution's limits: AWS redrives an execution within 14 days of its end, within a
#: year of its start, and (a modelled limit, as AWS's on a Map Run's redrives) 1000 times.
REDRIVABLE_PERIOD = timedelta(days=14)
MAX_OPEN_TIME = timedelta(days=365)
MAX_REDRIVES = 1000

Request = Mapping[str, Any]
Response = dict[str, Any]


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
        # Distributed Maps' map runs go to their own runner, which passes the rest on.
        self.map_runs = MapRunner(
            store,
            self.clock,
            self._tasks,
            self._interpreter_for,
            lambda arn: self.describe_execution({"executionArn": arn}),
            buckets,
        )
        express_store = ExpressStore(store)  # Express executions: in memory only
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
            "DescribeMapRun": lambda request: describe_map_run(self.store, request),
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

    # -- state machines ----------------------------------------------------------------------

    def create_state_machine(self, request: Request) -> Response:
        validate_request("CreateStateMachine", request)
        name = check_name(request["name"])
        definition = request["definition"]
        role_arn = request["roleArn"]
        machine_type = request.get("type") or "STANDARD"
        _parse(definition)
        if machine_type == express.EXPRESS:
            express.check_express_definition(definition)
        arn = self.region.state_machine_arn(name)
        tags = _tags(request.get("tags") or ())
        if len(tags) > MAX_TAGS:
            raise _too_many_tags(arn)
        existing = self.store.get_state_machine(arn)
        if existing is not None:
            return _same_state_machine(existing, definition, machine_type)
        now = self.clock.now()
        record = StateMachineRecord(
            arn=arn,
            name=name,
            definition=definition,
            role_arn=role_arn,
            type=machine_type,
            creation_date=now,
            revision_id=uuid.uuid4().hex,
            description=str(request.get("description", "")),
            tags=tags,
        )
        try:
            self.store.put_state_machine(record)
        except StoreConflict:  # created by another caller since we looked
            existing = self.store.get_state_machine(arn)
            assert existing is not None
            return _same_state_machine(existing, definition, machine_type)
        return {"stateMachineArn": arn, "creationDate": now}

    def update_state_machine(self, request: Request) -> Response:
        validate_request("UpdateStateMachine", request)
        current = self._state_machine(request["stateMachineArn"])
        definition = request.get("definition", current.definition)
        if "definition" not in request and "roleArn" not in request:
            raise MissingRequiredParameter(
                "Either the definition, the role ARN, the LoggingConfiguration, or the "
                "TracingConfiguration must be specified"
            )
        _parse(definition)
        if current.type == express.EXPRESS:
            express.check_express_definition(definition)
        now = self.clock.now()
        record = StateMachineRecord(
            arn=current.arn,
            name=current.name,
            definition=definition,
            role_arn=request.get("roleArn", current.role_arn),
            type=current.type,
            creation_date=current.creation_date,
            revision_id=uuid.uuid4().hex,
            update_date=now,
            description=current.description,
            tags=current.tags,
        )
        self.store.update_state_machine(record)
        return {"updateDate": now, "revisionId": record.revision_id}

    def describe_state_machine(self, request: Request) -> Response:
        validate_request("DescribeStateMachine", request)
        return _describe_machine(self._state_machine(request["stateMachineArn"]))

    def describe_state_machine_for_execution(self, request: Request) -> Response:
        validate_request("DescribeStateMachineForExecution", request)
        execution = self._execution(request["executionArn"])
        record = self.store.get_revision(execution.state_machine_arn, execution.revision_id)
        if record is None:
            raise StateMachineDoesNotExist(
                f"State Machine Does Not Exist: '{execution.state_machine_arn}'"
            )
        return {
            "stateMachineArn": record.arn,
            "name": record.name,
            "definition": record.definition,
            "roleArn": record.role_arn,
            "updateDate": record.update_date or record.creation_date,
            "revisionId": record.revision_id,
            "loggingConfiguration": {"level": "OFF", "includeExecutionData": False},
            "tracingConfiguration": {"enabled": False},
        }

    def list_state_machines(self, request: Request) -> Response:
        validate_request("ListStateMachines", request)
        machines = self.store.list_state_machines()
        offset, size = _page(request, "list_state_machines")
        page = machines[offset : offset + size]
        response: Response = {
            "stateMachines": [
                {
                    "stateMachineArn": m.arn,
                    "name": m.name,
                    "type": m.type,
                    "creationDate": m.creation_date,
                }
                for m in page
            ]
        }
        if offset + size < len(machines):
            response["nextToken"] = encode_token("list_state_machines", [offset + size])
        return response

    def delete_state_machine(self, request: Request) -> Response:
        validate_request("DeleteStateMachine", request)
        arn = request["stateMachineArn"]
        state_machine_name(arn)
        self.store.delete_state_machine(arn)
        return {}

    def validate_state_machine_definition(self, request: Request) -> Response:
        validate_request("ValidateStateMachineDefinition", request)
        validation = validate_definition(request["definition"])
        max_results = request.get("maxResults") or 100
        is_express = request.get("type") == express.EXPRESS
        refused = express.express_diagnostics(request["definition"]) if is_express else []
        diagnostics = [d.to_wire() for d in [*validation.diagnostics, *refused]]
        return {
            "result": "OK" if validation.is_ok and not refused else "FAIL",
            "diagnostics": diagnostics[:max_results],
            "truncated": len(diagnostics) > max_results,
        }

    # -- executions --------------------------------------------------------------------------

    def start_execution(self, request: Request) -> Response:
        validate_request("StartExecution", request)
        machine = self._state_machine(request["stateMachineArn"])
        name, text = _name_and_input(request)
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
        response: Response = {
            "executionArn": record.arn,
            "stateMachineArn": record.state_machine_arn,
            "name": record.name,
            "status": record.status.value,
            "startDate": record.start_date,
            "inputDetails": {"included": with_data},
            "redriveCount": record.redrive_count,
            "redriveStatus": "NOT_REDRIVABLE",
        }
        if record.redrive_date is not None:
            response["redriveDate"] = record.redrive_date
        # NOT_REDRIVABLE exactly when RedriveExecution would answer ExecutionNotRedrivable; the
        # reason only then (AWS's definitions of both).
        reason = self._not_redrivable_reason(record)
        if reason is not None:
            response["redriveStatusReason"] = reason
        elif self.store.map_run_of(record.arn) is not None:
            response["redriveStatus"] = "REDRIVABLE_BY_MAP_RUN"
        else:
            response["redriveStatus"] = "REDRIVABLE"
        if with_data:
            response["input"] = record.input
        if record.stop_date is not None:
            response["stopDate"] = record.stop_date
        if record.status is ExecutionStatus.SUCCEEDED:
            if with_data:
                response["output"] = record.output
            response["outputDetails"] = {"included": with_data}
        if record.error is not None:
            response["error"] = record.error
        if record.cause is not None:
            response["cause"] = record.cause
        map_run = self.store.map_run_of(record.arn)
        if map_run is not None:
            response["mapRunArn"] = map_run
        return response

    def list_executions(self, request: Request) -> Response:
        validate_request("ListExecutions", request)
        if request.get("mapRunArn") is not None:
            return list_map_run_executions(self.store, request)
        arn = _required(request, "stateMachineArn")
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
        executions = []
        for record in page.items:
            item: Response = {
                "executionArn": record.arn,
                "stateMachineArn": record.state_machine_arn,
                "name": record.name,
                "status": record.status.value,
                "startDate": record.start_date,
            }
            if record.stop_date is not None:
                item["stopDate"] = record.stop_date
            item["redriveCount"] = record.redrive_count
            if record.redrive_date is not None:
                item["redriveDate"] = record.redrive_date
            executions.append(item)
        response: Response = {"executions": executions}
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
            response["events"] = [_without_data(event) for event in response["events"]]
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
        record = self.express.run(machine, *_name_and_input(request))
        return express.sync_answer(record, request)

    def redrive_execution(self, request: Request) -> Response:
        """Run a FAILED, TIMED_OUT or ABORTED execution again from what did not succeed
        (`redstep.engine.redrive`); answers when the redrive is committed, not when it ends.

        A `clientToken` that redrove the execution in the last 15 minutes answers that
        redrive's date again and changes nothing, whatever the execution's status now."""
        validate_request("RedriveExecution", request)
        arn = request["executionArn"]
        record = self._execution(arn)
        reason = self._not_redrivable_reason(record)
        if reason is not None and record.status in REDRIVABLE_STATUSES:
            raise ExecutionNotRedrivable(reason)
        if reason is None and self.store.map_run_of(arn) is not None:
            raise ExecutionNotRedrivable(  # wording modelled
                "Execution was started by a Map Run: redrive the execution that runs the Map"
            )
        try:  # the store checks the status again, atomically, after the client token
            redriven = self.executor.redrive(arn, request.get("clientToken"))
        except StoreConflict:
            now = self._execution(arn)
            raise ExecutionNotRedrivable(
                self._not_redrivable_reason(now) or _status_reason(now)
            ) from None
        return {"redriveDate": redriven.redrive_date}

    def _not_redrivable_reason(self, record: ExecutionRecord) -> str | None:
        """Why RedriveExecution would refuse the execution now, as DescribeExecution's
        `redriveStatusReason` words it (AWS's documented reasons, but the redrive limit's),
        or None."""
        if record.status not in REDRIVABLE_STATUSES:
            return _status_reason(record)
        if (
            self.store.get_state_machine(record.state_machine_arn) is None
            and self.store.map_run_of(record.arn) is None  # a Map Run's children's is a revision
        ):
            return "State machine is in DELETING status"  # deleted, here at once
        now = self.clock.now()
        if now - record.start_date > MAX_OPEN_TIME:
            return "Execution has exceeded the max execution time"
        if record.stop_date is not None and now - record.stop_date > REDRIVABLE_PERIOD:
            return "Execution redrivable period exceeded"
        limit = self._max_history_events
        # room for ExecutionRedriven and one event more
        if limit is not None and self.store.event_count(record.arn) >= limit - 1:
            return "Execution history event limit exceeded"
        if record.redrive_count >= MAX_REDRIVES:  # wording modelled
            return f"Execution has been redriven {MAX_REDRIVES} times, the most it may be"
        return None

    # -- callbacks -----------------------------------------------------------------------------

    def send_task_success(self, request: Request) -> Response:
        """The task of `taskToken` succeeded with `output` (JSON text). InvalidOutput's wording
        is modelled."""
        validate_request("SendTaskSuccess", request)
        execution_arn, task_id = _task_of(request["taskToken"])
        text = request["output"]
        try:
            output = read_json(text)
        except InvalidJsonText as error:
            raise InvalidOutput(f"Invalid Output: '{error}'") from None
        self._answer_task(execution_arn, TaskSucceeded(task_id, output))
        return {}

    def send_task_failure(self, request: Request) -> Response:
        """The task of `taskToken` failed with `error` and `cause` (either may be absent)."""
        validate_request("SendTaskFailure", request)
        execution_arn, task_id = _task_of(request["taskToken"])
        failed = TaskFailed(task_id, request.get("error"), request.get("cause"))
        self._answer_task(execution_arn, failed)
        return {}

    def send_task_heartbeat(self, request: Request) -> Response:
        """The task of `taskToken` is alive: its HeartbeatSeconds starts over."""
        validate_request("SendTaskHeartbeat", request)
        execution_arn, task_id = _task_of(request["taskToken"])
        self._answer_task(execution_arn, TaskHeartbeat(task_id))
        return {}

    def _answer_task(self, execution_arn: str, answer: TaskAnswer) -> None:
        """Deliver the answer; a 500 (InternalServerError) when the executor is too busy to take
        it in time, and then the answer has had no effect, so that the retry botocore makes of
        a 500 finds the task still open."""
        try:
            delivery = self.executor.answer_task(execution_arn, answer, ANSWER_WAIT_SECONDS)
        except TimeoutError:
            raise StepFunctionsError(
                f"The executor was too busy to take the answer within {ANSWER_WAIT_SECONDS:g} "
                "seconds; nothing was delivered and the task is unchanged: send the answer again"
            ) from None
        match delivery:
            case Delivery.DELIVERED:
                return
            case Delivery.TASK_CLOSED:
                raise TaskTimedOut("Task Timed Out: 'Provided task does not exist anymore'")
            case Delivery.NO_TASK:  # wording modelled on TaskTimedOut's
                raise TaskDoesNotExist("Task Does Not Exist: 'Provided task does not exist'")

    # -- tags ------------------------------------------------------------------------------------

    def tag_resource(self, request: Request) -> Response:
        """Add or replace tags of a state machine; no new revision is made. TooManyTags'
        wording is modelled."""
        validate_request("TagResource", request)
        arn = self._tagged(request["resourceArn"])
        try:
            self.store.update_tags(arn, _tags(request["tags"]), (), MAX_TAGS)
        except KeyError:
            raise _resource_not_found(arn) from None
        except StoreConflict:
            raise _too_many_tags(arn) from None
        return {}

    def untag_resource(self, request: Request) -> Response:
        """Drop tags of a state machine by key (keys it does not carry are no error)."""
        validate_request("UntagResource", request)
        arn = self._tagged(request["resourceArn"])
        try:
            self.store.update_tags(arn, {}, set(request["tagKeys"]))
        except KeyError:
            raise _resource_not_found(arn) from None
        return {}

    def list_tags_for_resource(self, request: Request) -> Response:
        """Every tag of a state machine, in one answer (AWS's quota keeps it short)."""
        validate_request("ListTagsForResource", request)
        arn = self._tagged(request["resourceArn"])
        record = self.store.get_state_machine(arn)
        if record is None:
            raise _resource_not_found(arn)
        return {"tags": [{"key": key, "value": value} for key, value in record.tags.items()]}

    def _tagged(self, arn: str) -> str:
        """A resource ARN that may carry tags here: a state machine's. Any other Step Functions
        ARN names nothing redstep has (ResourceNotFound); anything else is no ARN (InvalidArn)."""
        try:
            state_machine_name(arn)
        except InvalidArn:
            if is_states_arn(arn):
                raise _resource_not_found(arn) from None
            raise
        return arn

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
        _check_input(text)
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
        state_machine_name(arn)
        record = self.store.get_state_machine(arn)
        if record is None:
            raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{arn}'")
        return record

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
        return Interpreter(machine, info, self._max_history_events)


def _same_state_machine(existing: StateMachineRecord, definition: str, kind: str) -> Response:
    """CreateStateMachine of a name that exists: the same machine again (AWS ignores the role
    and tags when it compares), or StateMachineAlreadyExists."""
    if existing.definition != definition or existing.type != kind:
        raise StateMachineAlreadyExists(f"State Machine Already Exists: '{existing.arn}'")
    return {"stateMachineArn": existing.arn, "creationDate": existing.creation_date}


def _same_execution(existing: ExecutionRecord, text: str) -> Response:
    """StartExecution of a name that exists: idempotent while that execution runs with the
    same input, ExecutionAlreadyExists otherwise."""
    if existing.status is not ExecutionStatus.RUNNING or existing.input != text:
        raise ExecutionAlreadyExists(f"Execution Already Exists: '{existing.arn}'")
    return {"executionArn": existing.arn, "startDate": existing.start_date}


def _parse(definition: str) -> StateMachine:
    try:
        return parse_definition(definition)
    except DefinitionError as error:
        raise InvalidDefinition(str(error)) from None


def _describe_machine(record: StateMachineRecord) -> Response:
    response: Response = {
        "stateMachineArn": record.arn,
        "name": record.name,
        "status": "ACTIVE",
        "definition": record.definition,
        "roleArn": record.role_arn,
        "type": record.type,
        "creationDate": record.creation_date,
        "loggingConfiguration": {"level": "OFF", "includeExecutionData": False},
        "tracingConfiguration": {"enabled": False},
        "revisionId": record.revision_id,
    }
    if record.description:
        response["description"] = record.description
    return response


def _required(request: Request, member: str) -> Any:
    """A member the model leaves optional that this operation needs all the same."""
    value = request.get(member)
    if value is None:
        raise ValidationException(
            f"1 validation error detected: Value null at '{member}' failed to satisfy "
            "constraint: Member must not be null"
        )
    return value


def _status_reason(record: ExecutionRecord) -> str:
    """AWS's documented reason for an execution RUNNING or SUCCEEDED."""
    return f"Execution is {record.status.value} and cannot be redriven"


def _task_of(token: str) -> tuple[str, int]:
    """(execution ARN, task id) of a task token; InvalidToken, worded as AWS's, when the token
    is not one this engine issued."""
    parts = task_token_parts(token)
    if parts is None:
        raise InvalidToken("Invalid Token: 'Invalid token'")
    return parts


def _tags(items: Any) -> dict[str, str]:
    return {tag["key"]: tag.get("value") or "" for tag in items}


def _resource_not_found(arn: str) -> ResourceNotFound:
    return ResourceNotFound(f"Resource not found: '{arn}'", arn)


def _too_many_tags(arn: str) -> TooManyTags:
    return TooManyTags(
        f"Too many tags: a state machine may carry at most {MAX_TAGS} tags ('{arn}')", arn
    )


def _name_and_input(request: Request) -> tuple[str, str]:
    """A start's execution name (a UUID when none is given) and input, both checked."""
    name = check_name(request.get("name") or str(uuid.uuid4()))
    text = request.get("input")
    text = "{}" if text is None else text
    _check_input(text)
    return name, text


def _check_input(text: Any) -> None:
    if not isinstance(text, str) or not text.strip():
        raise InvalidExecutionInput(
            "Invalid State Machine Execution Input: 'Invalid execution input.'"
        )
    if len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise InvalidExecutionInput(
            "Invalid State Machine Execution Input: 'The input size exceeds the maximum allowed "
            f"({MAX_PAYLOAD_BYTES} bytes)'"
        )
    try:
        read_json(text)
    except InvalidJsonText as error:
        raise InvalidExecutionInput(
            f"Invalid State Machine Execution Input: '{error}: {text[:200]}'"
        ) from None


def _page(request: Request, scope: str) -> tuple[int, int]:
    token = request.get("nextToken")
    offset = decode_token(token, scope, 1)[0] if token else 0
    if not isinstance(offset, int):
        raise InvalidToken(f"Invalid Token: '{token}'")
    return offset, request.get("maxResults") or DEFAULT_PAGE_SIZE


def _without_data(event: dict[str, Any]) -> dict[str, Any]:
    """An event without its input and output (GetExecutionHistory includeExecutionData=false)."""
    trimmed: dict[str, Any] = {}
    for key, value in event.items():
        if isinstance(value, dict) and key.endswith("EventDetails"):
            value = {k: v for k, v in value.items() if k not in ("input", "output")}
        trimmed[key] = value
    return trimmed

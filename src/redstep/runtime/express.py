"""Express workflows: what an EXPRESS state machine may hold, and how its executions run.

An Express execution runs on the engine's one executor, with the same interpreter and task
integrations as a Standard one, but is kept in memory only
(`redstep.runtime.express_store.ExpressStore`), never in the durable store:

- AWS keeps no history of an Express execution (only CloudWatch Logs, when logging is on) and
  its state does not persist between transitions; so DescribeExecution, StopExecution and
  GetExecutionHistory answer InvalidArn for its ARN, and ListExecutions answers
  StateMachineTypeNotSupported for its state machine, as on AWS. Writing a journal to SQLite
  on every transition would cost the throughput Express is chosen for, for a history nobody
  may read.
- While it runs, and among the last ended (`express_store.KEEP_ENDED`), redstep keeps its
  record and history in memory, for redstep's own views only (`redstep run` prints its states
  as they run). A restart forgets them all.
- Synchronous (StartSyncExecution) is at most once, as on AWS: answered when it ends, never
  resumed. If redstep stops while it runs, it is gone: the caller gets an error (in-process) or
  its connection drops (HTTP). Asynchronous (StartExecution) may run on after the call; AWS
  promises at least once (a workflow may run twice), redstep runs each once and, like the
  synchronous kind, loses one running when it stops. Use STANDARD for a workflow that must
  survive a restart.
- An Express execution lasts at most five minutes: one still running after
  `MAX_EXPRESS_SECONDS` ends TIMED_OUT. The limit is the definition's own `TimeoutSeconds`,
  lowered to it (`within_express_limit`), so it is a timer on the engine's clock and a virtual
  clock skips it like any other.
- Starting one with the name of another is no conflict: each start is a new execution, its ARN
  `arn:aws:states:<region>:<account>:express:<machine>:<name>:<uuid>`.

An EXPRESS definition may not run a job (`.sync`, `.sync:2`), wait for a callback
(`.waitForTaskToken`) or call an activity: CreateStateMachine and UpdateStateMachine answer
InvalidDefinition worded as AWS's (`express_diagnostics`), ValidateStateMachineDefinition lists
the same diagnostics for `type: EXPRESS`.
"""

from __future__ import annotations

import dataclasses
import math
import re
import threading
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from redstep.asl.diagnostics import Code, Diagnostic, pointer
from redstep.asl.json_text import InvalidJsonText, read_json
from redstep.asl.model import StateMachine
from redstep.asl.parse import invalid_definition_message
from redstep.asl.resources import Integration, Pattern, parse_resource
from redstep.engine.commands import ExecutionStatus
from redstep.engine.signals import Stop
from redstep.runtime.arns import Region
from redstep.runtime.clock import Clock
from redstep.runtime.errors import (
    ExecutionDoesNotExist,
    InvalidArn,
    InvalidDefinition,
    StateMachineTypeNotSupported,
    StepFunctionsError,
)
from redstep.runtime.executor import Executor
from redstep.runtime.express_store import ExpressStore
from redstep.runtime.messages import Response, described_execution
from redstep.runtime.store import ExecutionRecord, SignalRecord, StateMachineRecord

#: StateMachineType's value for an Express state machine.
EXPRESS = "EXPRESS"
#: The longest an Express execution may run (AWS's quota: five minutes).
MAX_EXPRESS_SECONDS = 300
#: AWS bills an Express execution's duration in steps of 100 ms, at least one.
BILLED_DURATION_STEP_MS = 100
#: AWS bills memory in 64-MB steps; redstep cannot measure it and reports the first step (what
#: AWS answers for a small execution).
BILLED_MEMORY_MB = 64
#: How often a synchronous caller looks whether the engine is closing while it waits.
CLOSING_CHECK_SECONDS = 0.25

_EXPRESS_ARN = re.compile(r"arn:aws[a-z-]*:states:[a-z0-9-]*:\d{12}:express:")
_ACTIVITY_ARN = re.compile(r"arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:activity:")


# -- ARNs ------------------------------------------------------------------------------------------


def express_execution_arn(region: Region, machine_name: str, name: str) -> str:
    """A new Express execution's ARN: the name, then a UUID that makes it unique."""
    prefix = f"arn:aws:states:{region.name}:{region.account}:express"
    return f"{prefix}:{machine_name}:{name}:{uuid.uuid4()}"


def is_express_arn(arn: object) -> bool:
    """Whether `arn` names an Express execution (its resource type is `express`)."""
    return isinstance(arn, str) and _EXPRESS_ARN.match(arn) is not None


def refuse_express_arn(arn: object) -> None:
    """InvalidArn, as AWS words it, for an operation Express executions do not offer."""
    if is_express_arn(arn):
        raise InvalidArn("Invalid Arn: 'Resource type not valid in this context: express'")


# -- definitions -----------------------------------------------------------------------------------


def express_diagnostics(definition: str) -> list[Diagnostic]:
    """What an EXPRESS state machine may not hold, in the order the states are written: a Task
    that runs a job, waits for a callback, or calls an activity, in the definition, its Parallel
    branches and its Maps' processors (but a distributed Map's STANDARD children, which are
    Standard executions). Nothing for text that is not JSON: the definition's own checks say so."""
    try:
        document = read_json(definition)
    except InvalidJsonText:
        return []
    return list(_refused_tasks(document, ()))


def check_express_definition(definition: str) -> None:
    """InvalidDefinition when `express_diagnostics` finds anything (AWS names the first)."""
    found = express_diagnostics(definition)
    if found:
        raise InvalidDefinition(invalid_definition_message(found[:1]))


def _refused_tasks(machine: object, at: tuple[str | int, ...]) -> Iterator[Diagnostic]:
    states = machine.get("States") if isinstance(machine, dict) else None
    if not isinstance(states, dict):
        return
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        here = (*at, "States", name)
        match state.get("Type"):
            case "Task":
                problem = _refused_resource(state.get("Resource"))
                if problem is not None:
                    yield Diagnostic(
                        Code.SCHEMA_VALIDATION_FAILED, problem, pointer(*here, "Resource")
                    )
            case "Parallel":
                branches = state.get("Branches")
                for index, branch in enumerate(branches if isinstance(branches, list) else ()):
                    yield from _refused_tasks(branch, (*here, "Branches", index))
            case "Map":
                key = "ItemProcessor" if "ItemProcessor" in state else "Iterator"
                processor = state.get(key)
                if not _runs_standard_children(processor):
                    yield from _refused_tasks(processor, (*here, key))


def _runs_standard_children(processor: object) -> bool:
    """Whether a Map's processor is a distributed one whose children are STANDARD executions."""
    config = processor.get("ProcessorConfig") if isinstance(processor, dict) else None
    return (
        isinstance(config, dict)
        and config.get("Mode") == "DISTRIBUTED"
        and config.get("ExecutionType") == "STANDARD"
    )


def _refused_resource(resource: object) -> str | None:
    """AWS's words for a resource an Express state machine may not use (recorded on AWS for
    `.sync`, `.waitForTaskToken` (with its second space) and an activity; `.sync:2` worded as
    `.sync` is)."""
    if not isinstance(resource, str):
        return None
    if _ACTIVITY_ARN.match(resource):
        return "Express state machine does not support Activity ARN"
    parsed = parse_resource(resource)
    if not isinstance(parsed, Integration):
        return None
    refused = f"Express state machine does not support '{parsed.pattern}' service integration"
    match parsed.pattern:
        case Pattern.SYNC | Pattern.SYNC_JSON:
            return refused
        case Pattern.CALLBACK:
            return refused + " "  # AWS's message has two spaces before "at" here
        case Pattern.REQUEST_RESPONSE:
            return None


def within_express_limit(machine: StateMachine) -> StateMachine:
    """The definition as an Express execution runs it: timed out after its own TimeoutSeconds
    or MAX_EXPRESS_SECONDS, whichever comes first."""
    own = machine.timeout_seconds
    if own is not None and own <= MAX_EXPRESS_SECONDS:
        return machine
    return dataclasses.replace(machine, timeout_seconds=MAX_EXPRESS_SECONDS)


# -- answers ---------------------------------------------------------------------------------------


def started(record: ExecutionRecord) -> Response:
    """StartExecution's answer for an Express execution."""
    return {"executionArn": record.arn, "startDate": record.start_date}


def type_not_supported() -> StateMachineTypeNotSupported:
    """AWS's answer (recorded for ListExecutions of an EXPRESS state machine) to an operation
    the state machine's type does not offer."""
    return StateMachineTypeNotSupported(
        "This operation is not supported by this type of state machine"
    )


def sync_answer(record: ExecutionRecord, request: Mapping[str, Any]) -> Response:
    """StartSyncExecution's answer for an ended execution, shaped as AWS's (recorded): the
    details of input and output say whether the data is included (not with the request's
    `includedData` METADATA_ONLY), even when a failed execution has no output; error and cause
    only when the execution has them (a timeout has neither, as DescribeExecution of a Standard
    one that timed out); the request's `traceHeader` back."""
    assert record.stop_date is not None, "answered only once the execution ended"
    with_data = request.get("includedData", "ALL_DATA") != "METADATA_ONLY"
    trace_header = request.get("traceHeader")
    status = record.status
    if status not in (ExecutionStatus.SUCCEEDED, ExecutionStatus.TIMED_OUT):
        status = ExecutionStatus.FAILED  # ABORTED is not a sync status: only redstep aborts one
    response: Response = {
        "executionArn": record.arn,
        "stateMachineArn": record.state_machine_arn,
        "name": record.name,
        "startDate": record.start_date,
        "stopDate": record.stop_date,
        "status": status.value,
        "inputDetails": {"included": with_data},
        "outputDetails": {"included": with_data},
        "billingDetails": billing_details(record.start_date, record.stop_date),
    }
    if with_data:
        response["input"] = record.input
        if record.status is ExecutionStatus.SUCCEEDED:
            response["output"] = record.output
    if record.error is not None:
        response["error"] = record.error
    if record.cause is not None:
        response["cause"] = record.cause
    if trace_header:
        response["traceHeader"] = trace_header
    return response


def billing_details(start: datetime, stop: datetime) -> dict[str, int]:
    """The duration rounded up to AWS's 100-ms step (at least one), and the memory's first step."""
    milliseconds = max((stop - start).total_seconds() * 1000, 1)
    steps = math.ceil(milliseconds / BILLED_DURATION_STEP_MS)
    return {
        "billedMemoryUsedInMB": BILLED_MEMORY_MB,
        "billedDurationInMilliseconds": steps * BILLED_DURATION_STEP_MS,
    }


def describe(record: ExecutionRecord) -> Response:
    """An Express execution described as DescribeExecution describes a Standard one, for
    redstep's own views (AWS offers no such call for it)."""
    return described_execution(record, with_data=True)


# -- the runner ------------------------------------------------------------------------------------


class ExpressExecutions:
    """Starts Express executions on the engine's executor and waits for the synchronous ones."""

    def __init__(
        self,
        store: ExpressStore,
        executor: Executor,
        clock: Clock,
        region: Region,
        *,
        is_running: bool,
    ) -> None:
        """`is_running` is False for an engine that runs nothing (opened to read): an Express
        execution started there would never run, and is refused."""
        self.store = store
        self._executor = executor
        self._clock = clock
        self._region = region
        self._is_running = is_running
        self._closing = threading.Event()

    def start(
        self, machine: StateMachineRecord, name: str, text: str, *, pinned: bool = False
    ) -> ExecutionRecord:
        """Start an execution of `machine` (its name and input already checked); it runs on
        after the call (StartExecution on an Express state machine)."""
        if not self._is_running or self._closing.is_set():
            raise StepFunctionsError(
                "This redstep runs no executions (it was opened to read, or is closing): an "
                "Express execution is kept in memory only, by the redstep that runs it"
            )
        now = self._clock.now()
        record = ExecutionRecord(
            arn=express_execution_arn(self._region, machine.name, name),
            state_machine_arn=machine.arn,
            revision_id=machine.revision_id,
            name=name,
            input=text,
            status=ExecutionStatus.RUNNING,
            start_date=now,
        )
        self.store.put_express(record, SignalRecord(0, "Start", {}, now, False), pinned=pinned)
        self._executor.submit(record.arn)
        return record

    def run(self, machine: StateMachineRecord, name: str, text: str) -> ExecutionRecord:
        """Start an execution and wait for its end (StartSyncExecution). It ends within
        MAX_EXPRESS_SECONDS of the engine's clock; if the engine closes first, the execution is
        lost (at most once) and this raises a StepFunctionsError that says so."""
        record = self.start(machine, name, text, pinned=True)
        try:
            while not self._executor.wait(record.arn, CLOSING_CHECK_SECONDS):
                if self._closing.is_set():
                    raise StepFunctionsError(
                        f"redstep stopped while the Express execution {record.arn} ran; it is "
                        "not resumed (a synchronous Express execution runs at most once)"
                    )
            ended = self.store.get_execution(record.arn)
        finally:
            self.store.release(record.arn)
        assert ended is not None, "a pinned execution is kept until released"
        return ended

    def stop(self, arn: str, error: str | None = None, cause: str | None = None) -> None:
        """End a running Express execution ABORTED: for redstep's own callers (Ctrl-C in
        `redstep run`); AWS's StopExecution does not take an Express execution."""
        record = self.store.get_execution(arn)
        if record is not None and record.status is ExecutionStatus.RUNNING:
            self._executor.signal(arn, Stop(error, cause))

    def describe(self, arn: str) -> Response:
        """The execution as `describe` shapes it; ExecutionDoesNotExist once it is forgotten."""
        record = self.store.get_execution(arn) if self.store.is_express(arn) else None
        if record is None:
            raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{arn}'")
        return describe(record)

    def close(self) -> None:
        """The engine closes: synchronous callers still waiting are told their execution is
        lost, and nothing more starts."""
        self._closing.set()

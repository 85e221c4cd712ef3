"""TestState: one state run once on one input, answered as AWS's TestState answers.

The state under test becomes a one-state machine for the pure interpreter: each state it may go
to next (Next, Default, a Choice rule's Next, a Catcher's Next) is replaced by a stand-in Succeed
state, so that the run ends where the state hands over, and the stand-in it entered names the
`nextState`. The interpreter reports each stage of the state's data flow to a `StateInspection`,
which gives DEBUG's `inspectionData`; a retrier about to retry ends the test as RETRIABLE, a
catcher that caught as CAUGHT_ERROR (with the catcher's Next as `nextState`).

What is run: Pass, Choice, Wait (its wait is not waited), Succeed, Fail and Task. A Task runs
through the engine's TaskRunner (started from the caller's thread; redstep's runners may be
started from any thread), or answers with the request's `mock`; its TimeoutSeconds and
HeartbeatSeconds are waited in real time, and the whole test in at most `timeout` seconds, after
which the task fails with States.Timeout. AWS bounds a test to five minutes; redstep's bound
(`TEST_SECONDS`) stays under botocore's default read timeout instead, since a client that gives
up on the call retries it, and the retry would run the task a second time.

As AWS documents, TestState runs an Activity task, or a task of the `.sync` or
`.waitForTaskToken` integration pattern, only with a `mock`: such a task waits on something
outside the test (a worker, a job, a callback; a tested task's token names no execution, so
SendTask* would answer it InvalidToken). Without one it is refused with ValidationException.

Confirmed against recordings of AWS's TestState (LocalStack's parity snapshots): the members of
the answer, which stages `inspectionData` holds for each state type (a Pass with Result shows no
afterInputPath or afterParameters; Choice, Wait, Succeed and Fail show input and afterInputPath),
`errorDetails` (catchIndex; retryIndex with retryBackoffIntervalSeconds), RETRIABLE answered
without output, "RoleArn must be specified when testing a Task state", and "Mocked result
must be valid JSON" for a mock result that is not JSON. Modelled: a single state is named
`StateName` (as the recordings' context objects show), its execution ARN has AWS's `express`
form, the messages refusing what redstep does not test yet (Parallel and Map, `context`,
`stateConfiguration`, `variables`) or a `stateName` absent from the definition, the one refusing
a task that runs only with a mock (from the sentence AWS documents), and the same answer as for
a result that is not JSON to one holding NaN, a number beyond a double, or nesting too deep.
"""

from __future__ import annotations

import json
import queue
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from redstep.asl.errors import Failure, StatesError
from redstep.asl.json_text import InvalidJsonText, read_json
from redstep.asl.model import (
    ChoiceState,
    FailState,
    PassState,
    State,
    StateMachine,
    SucceedState,
    TaskState,
    WaitState,
)
from redstep.asl.parse import (
    DefinitionError,
    parse_definition,
)
from redstep.engine.commands import CancelTask, ScheduleTask, StartTimer
from redstep.engine.context import ExecutionInfo
from redstep.engine.events import HistoryEvent, resource_parts
from redstep.engine.inspection import Stage, StateInspection
from redstep.engine.interpreter import Interpreter
from redstep.engine.signals import (
    Continue,
    Signal,
    Start,
    TaskFailed,
    TaskSucceeded,
    TimerFired,
    signal_from_record,
)
from redstep.runtime.arns import Region
from redstep.runtime.clock import Clock
from redstep.runtime.errors import InvalidDefinition, ValidationException
from redstep.runtime.executor import (
    TaskRunner,
    copy_parameters,
    journal_record,
    parameters_failure,
)

#: The name AWS gives a state tested on its own (what its `$$.State.Name` reads).
SINGLE_STATE_NAME = "StateName"

#: How long one test may run; a Task still running then fails with States.Timeout. AWS allows
#: five minutes, but botocore gives up reading an answer after 60 seconds (its default
#: read_timeout) and retries the call, which would run the task again: redstep answers first.
TEST_SECONDS = 50.0

#: AWS's answer (a ValidationException) to a mock `result` that is not JSON: recorded on AWS
#: for text that is not JSON at all (LocalStack's parity snapshot of TestState mock scenarios);
#: given, as modelled, to everything else `read_json` refuses too (NaN, 1e400, too deep).
INVALID_MOCK_RESULT = "Mocked result must be valid JSON"

#: A Task resource's integration pattern that TestState runs only with a mock.
_MOCK_ONLY_PATTERN = re.compile(r"\.(sync|waitForTaskToken)(:\d+)?$")

_TESTED_TYPES = (PassState, ChoiceState, WaitState, SucceedState, FailState, TaskState)


class InspectionLevel(StrEnum):
    """How much TestState shows: INFO the outcome; DEBUG and TRACE the data flow too (TRACE adds
    an HTTP Task's request and response, which redstep does not run)."""

    INFO = "INFO"
    DEBUG = "DEBUG"
    TRACE = "TRACE"


class SingleStateStatus(StrEnum):
    """TestState's `status` (the model's TestExecutionStatus)."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    RETRIABLE = "RETRIABLE"
    CAUGHT_ERROR = "CAUGHT_ERROR"


@dataclass(frozen=True, slots=True)
class StateUnderTest:
    """The state to test, inside the one-state machine built around it."""

    name: str
    state: State
    machine: StateMachine
    next_states: Mapping[str, str]  # stand-in state name -> the state it stands in for


def prepare(definition: str, state_name: str | None) -> StateUnderTest:
    """The state a TestState `definition` names, ready to run.

    `definition` is one state, or a whole state machine with `state_name` picking the state
    (its StartAt state when not given). InvalidDefinition, with the parser's message, for a
    definition AWS would refuse."""
    raw = _decode(definition)
    if isinstance(raw, Mapping) and "States" in raw:
        _parse(raw)  # the whole machine must be valid, not only the state under test
        name = state_name if state_name is not None else raw.get("StartAt")
        states = raw.get("States")
        if not isinstance(name, str) or not isinstance(states, Mapping) or name not in states:
            raise ValidationException(f"State '{name}' does not exist in the definition")
        state_raw, language = states[name], raw.get("QueryLanguage")
    else:
        if state_name is not None:
            raise ValidationException("stateName can only be given with a state machine definition")
        name, state_raw, language = SINGLE_STATE_NAME, raw, None
    stand_ins: dict[str, str] = {}
    rewritten = (
        _with_stand_ins(state_raw, name, stand_ins) if isinstance(state_raw, Mapping) else state_raw
    )
    machine_raw: dict[str, Any] = {
        "StartAt": name,
        "States": {name: rewritten, **{stand_in: {"Type": "Succeed"} for stand_in in stand_ins}},
    }
    if language is not None:
        machine_raw["QueryLanguage"] = language
    machine = _parse(machine_raw)
    state = machine.states[name]
    if not isinstance(state, _TESTED_TYPES):
        raise ValidationException(
            f"redstep's TestState does not run {type(state).__name__.removesuffix('State')} "
            "states yet; it runs Pass, Choice, Wait, Succeed, Fail and Task states"
        )
    return StateUnderTest(name, state, machine, stand_ins)


def _decode(definition: str) -> Any:
    try:
        return json.loads(definition)
    except (ValueError, RecursionError):
        _parse(definition)  # words the JSON error as CreateStateMachine does
        raise


def _parse(definition: str | Mapping[str, Any]) -> StateMachine:
    try:
        return parse_definition(definition)
    except DefinitionError as error:
        raise InvalidDefinition(str(error)) from None


def _with_stand_ins(raw: Mapping[str, Any], name: str, stand_ins: dict[str, str]) -> Any:
    """The state's JSON with every state it may go to replaced by a stand-in's name."""

    def stand_in(target: Any) -> Any:
        if not isinstance(target, str):
            return target  # the parser reports it
        for existing, real in stand_ins.items():
            if real == target:
                return existing
        made = f"(next state {len(stand_ins) + 1})"
        while made == name:
            made += "'"
        stand_ins[made] = target
        return made

    state = dict(raw)
    for key in ("Next", "Default"):
        if key in state:
            state[key] = stand_in(state[key])
    for key in ("Choices", "Catch"):
        items = state.get(key)
        if isinstance(items, list):
            state[key] = [
                {**item, "Next": stand_in(item["Next"])}
                if isinstance(item, Mapping) and "Next" in item
                else item
                for item in items
            ]
    return state


@dataclass(frozen=True, slots=True)
class Mock:
    """TestState's `mock`: the Task's result, or the error it fails with, instead of running it."""

    result: Any = None
    error: str | None = None
    cause: str | None = None
    is_failure: bool = False

    @classmethod
    def from_wire(cls, raw: Mapping[str, Any]) -> Mock:
        """The request's `mock` (its `fieldValidationMode` is not applied: nothing is checked
        against an integration's response shape here)."""
        error_output = raw.get("errorOutput")
        if ("result" in raw) == (error_output is not None):
            raise ValidationException("A mock must have exactly one of result and errorOutput")
        if error_output is not None:
            return cls(
                error=error_output.get("error"), cause=error_output.get("cause"), is_failure=True
            )
        try:
            # Strict as JSON is (no NaN, no 1e400) and no deeper than the interpreter's
            # recursive walks can take; every refusal answered as AWS answers text not JSON.
            return cls(result=read_json(raw["result"]))
        except InvalidJsonText:
            raise ValidationException(INVALID_MOCK_RESULT) from None


@dataclass(frozen=True, slots=True)
class SingleStateRun:
    """Everything one TestState call needs besides the state: input, level, and how to run it."""

    input: str
    level: InspectionLevel
    role_arn: str
    region: Region
    clock: Clock
    tasks: TaskRunner
    mock: Mock | None = None
    timeout: float = TEST_SECONDS


def run_state_test(under_test: StateUnderTest, run: SingleStateRun) -> dict[str, Any]:
    """Run the state once and answer as TestState does."""
    if isinstance(under_test.state, TaskState) and run.mock is None:
        needs_mock = _needing_a_mock(under_test.state.resource)
        if needs_mock is not None:  # first: with a mock, no role is needed either
            raise ValidationException(
                f"TestState only supports {needs_mock} when a mock is specified"
            )
        if not run.role_arn:
            raise ValidationException("RoleArn must be specified when testing a Task state")
    machine_name, execution_name = str(uuid.uuid4()), str(uuid.uuid4())
    region = run.region
    info = ExecutionInfo(
        execution_arn=(
            f"arn:aws:states:{region.name}:{region.account}:express:{machine_name}:{execution_name}"
        ),
        name=execution_name,
        state_machine_arn=region.state_machine_arn(machine_name),
        state_machine_name=machine_name,
        role_arn=run.role_arn,
        input=run.input,
        start_time=run.clock.now(),
        seed=uuid.uuid4().int & (2**63 - 1),
        region=region.name,
    )
    inspection = StateInspection(under_test.name)
    interpreter = Interpreter(under_test.machine, info, None, inspection)
    driver = _Driver(interpreter, inspection, info, under_test, run)
    driver.drive()
    return _answer(under_test, inspection, driver, run.level)


def _needing_a_mock(resource: str) -> str | None:
    """What AWS's TestState runs only with a mock, as its documentation names it, if the Task's
    resource is one: such a task waits on something outside the test, for as long as it takes
    (with a real runner here, past the client's read timeout)."""
    if resource_parts(resource)[0] == "activity":
        return "Activity tasks"
    found = _MOCK_ONLY_PATTERN.search(resource)
    if found is None:
        return None
    return f"the .{found.group(1)} service integration pattern"


class _Driver:
    """Feeds the interpreter until the state has handed over, failed, or is to be retried."""

    def __init__(
        self,
        interpreter: Interpreter,
        inspection: StateInspection,
        info: ExecutionInfo,
        under_test: StateUnderTest,
        run: SingleStateRun,
    ) -> None:
        self.interpreter = interpreter
        self.inspection = inspection
        self.info = info
        self.run = run
        self.waits_in_real_time = isinstance(under_test.state, TaskState)
        self.events: list[HistoryEvent] = []
        self.answers: queue.Queue[Signal] = queue.Queue()
        self.running: set[int] = set()

    @property
    def is_over(self) -> bool:
        return self.interpreter.is_finished or self.inspection.retry is not None

    def drive(self) -> list[HistoryEvent]:
        clock = self.run.clock
        deadline = clock.now().timestamp() + self.run.timeout
        self.step(Start(), self.info.start_time)
        try:
            while not self.is_over:
                if self.interpreter.has_more:
                    self.step(Continue(), clock.now())
                    continue
                timers = sorted(self.interpreter.pending_timers, key=lambda timer: timer.due)
                if timers and not self.waits_in_real_time:  # a Wait's wait is not waited
                    self.step(TimerFired(timers[0].timer_id), max(timers[0].due, clock.now()))
                elif not self.wait_for_answer(timers[0] if timers else None, deadline):
                    break
        finally:
            for task_id in sorted(self.running):
                self.run.tasks.cancel(self.info.execution_arn, task_id)
        return self.events

    def wait_for_answer(self, timer: StartTimer | None, deadline: float) -> bool:
        """Take the next answer, or fire a Task's timeout; False once the test is out of time."""
        clock = self.run.clock
        until = deadline if timer is None else min(deadline, timer.due.timestamp())
        try:
            signal = self.answers.get(timeout=max(0.0, until - clock.now().timestamp()))
        except queue.Empty:
            if timer is not None and timer.due.timestamp() <= deadline:
                self.step(TimerFired(timer.timer_id), clock.now())
                return True
            cause = f"The test ran for longer than {self.run.timeout:g} seconds"
            for task_id in sorted(self.running):
                self.run.tasks.cancel(self.info.execution_arn, task_id)
                self.step(TaskFailed(task_id, StatesError.TIMEOUT.value, cause), clock.now())
            return self.is_over
        self.step(signal, clock.now())
        return True

    def step(self, signal: Signal, at: datetime) -> None:
        if isinstance(signal, TaskSucceeded | TaskFailed):
            self.running.discard(signal.task_id)
        decision = self.interpreter.activate(signal, at)
        self.events.extend(decision.events)
        for command in decision.commands:
            if isinstance(command, ScheduleTask):
                self.start(command)
            elif isinstance(command, CancelTask) and command.task_id in self.running:
                self.running.discard(command.task_id)
                self.run.tasks.cancel(self.info.execution_arn, command.task_id)

    def start(self, command: ScheduleTask) -> None:
        mock = self.run.mock
        if mock is not None:
            self.answers.put(
                TaskFailed(command.task_id, mock.error, mock.cause)
                if mock.is_failure
                else TaskSucceeded(command.task_id, mock.result)
            )
            return
        try:  # the runner gets its own copy of the parameters, as the executor gives it
            own = replace(command, parameters=copy_parameters(command))
        except ValueError as error:
            self.answers.put(parameters_failure(command, error))
            return
        self.running.add(command.task_id)
        self.run.tasks.start(self.info.execution_arn, own, self.report)

    def report(self, signal: Signal) -> None:
        """A runner's answer, taken as the executor takes it (see `journal_record`)."""
        self.answers.put(signal_from_record(*journal_record(signal)))


def _answer(
    under_test: StateUnderTest,
    inspection: StateInspection,
    driver: _Driver,
    level: InspectionLevel,
) -> dict[str, Any]:
    answer: dict[str, Any] = {}
    failure = inspection.failure
    last = driver.events[-1]
    if inspection.retry is not None:
        status = SingleStateStatus.RETRIABLE
    elif last["type"] == "ExecutionSucceeded":
        answer["output"] = last["executionSucceededEventDetails"]["output"]
        next_state = _entered_stand_in(under_test, driver.events)
        if next_state is not None:
            answer["nextState"] = next_state
        status = (
            SingleStateStatus.SUCCEEDED
            if inspection.catch is None
            else SingleStateStatus.CAUGHT_ERROR
        )
    elif last["type"] == "ExecutionFailed":
        status = SingleStateStatus.FAILED
        details = last["executionFailedEventDetails"]
        failure = Failure(details.get("error"), details.get("cause"))
    else:  # out of time with nothing left to fail
        status = SingleStateStatus.FAILED
        failure = Failure(StatesError.TIMEOUT.value, "The test ran out of time")
    if failure is not None and status is not SingleStateStatus.SUCCEEDED:
        if failure.error is not None:
            answer["error"] = str(failure.error)  # a States.* name is a StrEnum inside
        if failure.cause is not None:
            answer["cause"] = str(failure.cause)
    answer["status"] = status.value
    if level is not InspectionLevel.INFO:
        answer["inspectionData"] = _inspection_data(under_test.state, inspection)
    return answer


def _entered_stand_in(under_test: StateUnderTest, events: list[HistoryEvent]) -> str | None:
    for event in events:
        details = event.get("stateEnteredEventDetails")
        if details is not None and details["name"] in under_test.next_states:
            return under_test.next_states[details["name"]]
    return None


def _inspection_data(state: State, inspection: StateInspection) -> dict[str, Any]:
    """The stages AWS shows for the state's type, as JSON text, and how a failure was handled."""
    stages = dict(inspection.stages)
    if isinstance(state, PassState) and state.has_result:
        stages.pop(Stage.AFTER_INPUT_PATH, None)  # AWS shows none: the Result replaces the input
    if isinstance(state, FailState) and Stage.INPUT in stages:
        stages.setdefault(Stage.AFTER_INPUT_PATH, stages[Stage.INPUT])
    if isinstance(state, ChoiceState | WaitState | SucceedState | FailState):
        stages = {
            stage: text
            for stage, text in stages.items()
            if stage in (Stage.INPUT, Stage.AFTER_INPUT_PATH)
        }
    data: dict[str, Any] = {stage.value: text for stage, text in stages.items()}
    if inspection.retry is not None:
        index, delay = inspection.retry
        data["errorDetails"] = {"retryIndex": index, "retryBackoffIntervalSeconds": round(delay)}
    elif inspection.catch is not None:
        data["errorDetails"] = {"catchIndex": inspection.catch}
    return data

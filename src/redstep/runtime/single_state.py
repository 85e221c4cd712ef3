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

The request's `variables` (the text of a JSON object) are the workflow variables the state runs
with; DEBUG and TRACE show them as they are after the state (its Assign done) as
`inspectionData.variables`, and leave the member out when there are none. A JSONata state shows
its input and, for a Task, its afterArguments and result: none of JSONPath's path stages.

Confirmed against recordings of AWS's TestState (LocalStack's parity snapshots): the members of
the answer, which stages `inspectionData` holds for each state type and language (a JSONPath Pass
with Result shows no afterInputPath or afterParameters; JSONPath Choice, Wait, Succeed and Fail
show input and afterInputPath; JSONata Pass, Choice and Fail their input only; a JSONata Task
input, afterArguments and result), `variables` (the request's, and none shown for none),
`errorDetails` (catchIndex; retryIndex with retryBackoffIntervalSeconds), a caught error's
`error` and `cause`, RETRIABLE answered without output, "RoleArn must be specified when testing a
Task state", "State not found in definition", the refusals of a mock for a state other than a
Task and of a mock with both members, "Mocked result must be valid JSON" for a mock result that
is not JSON, and a tested state named `StateName` in its context object, picked from a machine or
not. From AWS's API reference: `variables` is the set after the state, the state's assignments
included. Modelled: the test's execution ARN has AWS's `express` form; a JSONata Wait or Succeed
shows its input only (as the recorded JSONata states do); a failed or retriable state leaves the
variables it was given; the messages refusing `variables` text that is not a JSON object (worded
as AWS words a mock result's), what redstep does not test yet (Parallel and Map, `context`,
`stateConfiguration`), and a task that runs only with a mock (from the sentence AWS documents);
and the same answer as for a result that is not JSON to one holding NaN, a number beyond a
double, or nesting too deep.
"""

from __future__ import annotations

import json
import queue
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
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
from redstep.asl.paths import to_json
from redstep.asl.queries import QueryLanguage
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

#: AWS's answers (ValidationException) to a `stateName` its state machine does not hold, and to
#: a `mock` with both a result and an errorOutput (LocalStack's parity snapshots of TestState);
#: the second is given, as modelled, to a mock with neither too.
STATE_NOT_FOUND = "State not found in definition"
MOCK_NEEDS_ONE_FIELD = (
    "A test mock should have only one of the following fields: [result, errorOutput]."
)

#: redstep's answers (ValidationException) to a `variables` that is not JSON, or not an object:
#: modelled on AWS's recorded answers to a mock result that is not JSON, or not an object.
INVALID_VARIABLES = "Variables must be valid JSON"
VARIABLES_NOT_AN_OBJECT = "Variables must be a JSON object"

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

    name: str  # its name in `machine`: SINGLE_STATE_NAME
    state: State
    machine: StateMachine
    next_states: Mapping[str, str]  # stand-in state name -> the state it stands in for
    language: QueryLanguage = QueryLanguage.JSONPATH  # the state's own, else its machine's


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
            raise ValidationException(STATE_NOT_FOUND)
        state_raw, language = states[name], raw.get("QueryLanguage")
    else:
        if state_name is not None:
            raise ValidationException("stateName can only be given with a state machine definition")
        state_raw, language = raw, None
    # Named as AWS names a tested state, picked from a machine or not (the recordings' context
    # objects read StateName for both); every state it goes to is a stand-in, so none clashes.
    name = SINGLE_STATE_NAME
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
            f"redstep's TestState does not run {_type_name(state)} "
            "states yet; it runs Pass, Choice, Wait, Succeed, Fail and Task states"
        )
    own = state_raw.get("QueryLanguage") if isinstance(state_raw, Mapping) else None
    chosen = own or language or QueryLanguage.JSONPATH  # the parser took both as valid
    return StateUnderTest(name, state, machine, stand_ins, QueryLanguage(chosen))


def _type_name(state: State) -> str:
    return type(state).__name__.removesuffix("State")


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
            raise ValidationException(MOCK_NEEDS_ONE_FIELD)
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


def read_variables(text: str) -> dict[str, Any]:
    """TestState's `variables`: the workflow variables the state runs with, given as the text
    of a JSON object (read strictly, as `read_json` reads); ValidationException otherwise."""
    try:
        variables = read_json(text)
    except InvalidJsonText:
        raise ValidationException(INVALID_VARIABLES) from None
    if not isinstance(variables, dict):
        raise ValidationException(VARIABLES_NOT_AN_OBJECT)
    return variables


@dataclass(frozen=True, slots=True)
class SingleStateRun:
    """Everything one TestState call needs besides the state: input, level, the variables it
    starts with, and how to run it."""

    input: str
    level: InspectionLevel
    role_arn: str
    region: Region
    clock: Clock
    tasks: TaskRunner
    mock: Mock | None = None
    timeout: float = TEST_SECONDS
    variables: Mapping[str, Any] = field(default_factory=dict)


def run_state_test(under_test: StateUnderTest, run: SingleStateRun) -> dict[str, Any]:
    """Run the state once and answer as TestState does."""
    if run.mock is not None and not isinstance(under_test.state, TaskState):
        raise ValidationException(
            f"State type '{_type_name(under_test.state)}' is not supported when a mock is specified"
        )
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
    # The interpreter copies the variables: the state's Assign changes only its own copy.
    interpreter = Interpreter(under_test.machine, info, None, inspection, run.variables)
    driver = _Driver(interpreter, inspection, info, under_test, run)
    driver.drive()
    return _answer(under_test, inspection, driver, run)


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
    run: SingleStateRun,
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
    if run.level is not InspectionLevel.INFO:
        answer["inspectionData"] = _inspection_data(under_test, inspection, run.variables)
    return answer


def _entered_stand_in(under_test: StateUnderTest, events: list[HistoryEvent]) -> str | None:
    for event in events:
        details = event.get("stateEnteredEventDetails")
        if details is not None and details["name"] in under_test.next_states:
            return under_test.next_states[details["name"]]
    return None


#: The stages TestState shows, by query language: JSONata has no paths, Parameters or
#: ResultSelector (its Arguments and Output replace them), and shows a Task's Arguments and
#: result only.
_JSONPATH_STAGES = (
    Stage.INPUT,
    Stage.AFTER_INPUT_PATH,
    Stage.AFTER_PARAMETERS,
    Stage.RESULT,
    Stage.AFTER_RESULT_SELECTOR,
    Stage.AFTER_RESULT_PATH,
)
_JSONATA_TASK_STAGES = (Stage.INPUT, Stage.AFTER_ARGUMENTS, Stage.RESULT)


def _inspection_data(
    under_test: StateUnderTest, inspection: StateInspection, variables: Mapping[str, Any]
) -> dict[str, Any]:
    """The stages AWS shows for the state's type and language, as JSON text; the variables
    after the state; and how a failure was handled."""
    state = under_test.state
    stages = dict(inspection.stages)
    shown: tuple[Stage, ...]
    if under_test.language is QueryLanguage.JSONATA:
        shown = _JSONATA_TASK_STAGES if isinstance(state, TaskState) else (Stage.INPUT,)
    elif isinstance(state, ChoiceState | WaitState | SucceedState | FailState):
        shown = (Stage.INPUT, Stage.AFTER_INPUT_PATH)
        if isinstance(state, FailState) and Stage.INPUT in stages:
            stages.setdefault(Stage.AFTER_INPUT_PATH, stages[Stage.INPUT])
    else:
        shown = _JSONPATH_STAGES
        if isinstance(state, PassState) and state.has_result:
            stages.pop(Stage.AFTER_INPUT_PATH, None)  # AWS shows none: the Result replaces it
    data: dict[str, Any] = {stage.value: stages[stage] for stage in shown if stage in stages}
    # Reported as the state left, its Assign done; a state that failed, or is to be retried,
    # assigned nothing, and leaves the variables it was given.
    after = stages.get(Stage.VARIABLES)
    if after is None:
        after = to_json(variables)
    if after != "{}":  # AWS leaves an empty set out
        data[Stage.VARIABLES.value] = after
    if inspection.retry is not None:
        index, delay = inspection.retry
        data["errorDetails"] = {"retryIndex": index, "retryBackoffIntervalSeconds": round(delay)}
    elif inspection.catch is not None:
        data["errorDetails"] = {"catchIndex": inspection.catch}
    return data

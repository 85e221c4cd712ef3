"""TestState: one state run once, answered as AWS's TestState answers (shapes as recorded)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.endpoint import DEFAULT_TIMEOUT
from held_tasks import HeldTasks

from redstep.asl.json_text import JSON_TOO_DEEP, MAX_JSON_DEPTH
from redstep.engine.commands import ScheduleTask
from redstep.engine.signals import Signal, TaskFailed, TaskSucceeded
from redstep.runtime.clock import VirtualClock
from redstep.runtime.engine import Engine
from redstep.runtime.errors import InvalidDefinition, InvalidExecutionInput, ValidationException
from redstep.runtime.executor import TaskRunner
from redstep.runtime.memory_store import MemoryExecutionStore
from redstep.runtime.single_state import TEST_SECONDS

ROLE = "arn:aws:iam::123456789012:role/test"
LAMBDA = "arn:aws:states:::lambda:invoke"
HELLO = {"Value": "HelloWorld"}


class Answering:
    """A runner that answers every task at once with what `answer` makes of its command."""

    def __init__(self, answer: Callable[[ScheduleTask], Signal]) -> None:
        self.answer = answer
        self.started: list[ScheduleTask] = []

    def start(
        self, execution_arn: str, command: ScheduleTask, report: Callable[[Signal], None]
    ) -> None:
        self.started.append(command)
        report(self.answer(command))

    def cancel(self, execution_arn: str, task_id: int) -> None:
        """Nothing to cancel: the task is answered as it starts."""


@pytest.fixture
def make_engine() -> Iterator[Callable[..., Engine]]:
    engines: list[Engine] = []

    def make(tasks: TaskRunner | None = None, **options: Any) -> Engine:
        engine = Engine(MemoryExecutionStore(), clock=VirtualClock(), tasks=tasks, **options)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.close()


@pytest.fixture
def engine(make_engine: Callable[..., Engine]) -> Engine:
    return make_engine()


def try_state(
    engine: Engine, state: dict[str, Any], given: Any = None, level: str = "DEBUG", **more: Any
) -> dict[str, Any]:
    request = {"definition": json.dumps(state), "inspectionLevel": level, **more}
    if given is not None:
        request["input"] = json.dumps(given)
    return engine.test_state(request)


def parsed(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer with its JSON texts read (as the recordings show them)."""
    result = {key: json.loads(value) if key == "output" else value for key, value in answer.items()}
    if "inspectionData" in answer:
        result["inspectionData"] = {
            key: value if key == "errorDetails" else json.loads(value)
            for key, value in answer["inspectionData"].items()
        }
    return result


# -- Pass, Choice, Wait, Succeed, Fail -----------------------------------------------------


def test_a_pass_state_shows_every_stage_of_its_data_flow(engine: Engine) -> None:
    answer = try_state(engine, {"Type": "Pass", "End": True}, HELLO)
    assert parsed(answer) == {
        "output": HELLO,
        "status": "SUCCEEDED",
        "inspectionData": {
            "input": HELLO,
            "afterInputPath": HELLO,
            "afterParameters": HELLO,
            "afterResultSelector": HELLO,
            "afterResultPath": HELLO,
        },
    }
    assert isinstance(answer["output"], str)  # JSON text on the wire


def test_a_pass_state_with_parameters_and_paths(engine: Engine) -> None:
    state = {
        "Type": "Pass",
        "InputPath": "$.initialData",
        "Parameters": {"staticValue": "some value", "inputValue.$": "$.fieldFromInput"},
        "ResultPath": "$.modifiedData",
        "OutputPath": "$.modifiedData",
        "Next": "Later",
    }
    given = {"initialData": {"fieldFromInput": "from input"}, "other": 1}
    answer = parsed(try_state(engine, state, given))
    modified = {"staticValue": "some value", "inputValue": "from input"}
    assert answer["status"] == "SUCCEEDED"
    assert answer["nextState"] == "Later"
    assert answer["output"] == modified
    assert answer["inspectionData"] == {
        "input": given,
        "afterInputPath": {"fieldFromInput": "from input"},
        "afterParameters": modified,
        "afterResultSelector": modified,
        "afterResultPath": {**given, "modifiedData": modified},
    }


def test_a_pass_state_with_a_result_shows_the_result_instead_of_its_input(
    engine: Engine,
) -> None:
    state = {"Type": "Pass", "Result": {"resultKey": "result value"}, "End": True}
    answer = parsed(try_state(engine, state, HELLO))
    assert answer["inspectionData"] == {
        "input": HELLO,
        "result": {"resultKey": "result value"},
        "afterResultSelector": {"resultKey": "result value"},
        "afterResultPath": {"resultKey": "result value"},
    }


def test_info_shows_no_inspection_data_and_trace_shows_debugs(engine: Engine) -> None:
    state = {"Type": "Pass", "End": True}
    assert try_state(engine, state, HELLO, level="INFO") == {
        "output": '{"Value":"HelloWorld"}',
        "status": "SUCCEEDED",
    }
    assert "inspectionData" not in engine.test_state({"definition": json.dumps(state)})
    assert try_state(engine, state, HELLO, level="TRACE") == try_state(engine, state, HELLO)


def test_a_choice_state_names_the_state_it_chose(engine: Engine) -> None:
    state = {
        "Type": "Choice",
        "Choices": [
            {"Variable": "$.value", "NumericLessThan": 20, "Next": "ValueInTeens"},
            {"Variable": "$.value", "NumericLessThan": 30, "Next": "ValueInTwenties"},
        ],
        "Default": "Other",
    }
    given = {"type": "Private", "value": 22}
    assert parsed(try_state(engine, state, given)) == {
        "nextState": "ValueInTwenties",
        "output": given,
        "status": "SUCCEEDED",
        "inspectionData": {"input": given, "afterInputPath": given},
    }
    assert try_state(engine, state, {"value": 99})["nextState"] == "Other"


def test_a_choice_without_a_match_fails(engine: Engine) -> None:
    state = {"Type": "Choice", "Choices": [{"Variable": "$.v", "IsPresent": True, "Next": "A"}]}
    assert try_state(engine, state, {}, level="INFO") == {
        "error": "States.NoChoiceMatched",
        "cause": "No Matches!",
        "status": "FAILED",
    }


def test_a_wait_state_is_not_waited(engine: Engine) -> None:
    began = time.monotonic()
    answer = try_state(engine, {"Type": "Wait", "Seconds": 86_400, "Next": "After"}, HELLO)
    assert time.monotonic() - began < 5
    assert parsed(answer) == {
        "nextState": "After",
        "output": HELLO,
        "status": "SUCCEEDED",
        "inspectionData": {"input": HELLO, "afterInputPath": HELLO},
    }


def test_succeed_and_fail_states(engine: Engine) -> None:
    assert parsed(try_state(engine, {"Type": "Succeed"}, HELLO)) == {
        "output": HELLO,
        "status": "SUCCEEDED",
        "inspectionData": {"input": HELLO, "afterInputPath": HELLO},
    }
    failing = {"Type": "Fail", "Error": "SomeFailure", "Cause": "It failed."}
    assert parsed(try_state(engine, failing, HELLO)) == {
        "error": "SomeFailure",
        "cause": "It failed.",
        "status": "FAILED",
        "inspectionData": {"input": HELLO, "afterInputPath": HELLO},
    }


def test_a_runtime_failure_of_the_state_is_a_failure(engine: Engine) -> None:
    answer = try_state(engine, {"Type": "Pass", "InputPath": "$.missing", "End": True}, {})
    assert answer["status"] == "FAILED"
    assert answer["error"] == "States.Runtime"
    assert "$.missing" in answer["cause"]


def test_a_state_going_to_itself_names_itself_next(engine: Engine) -> None:
    answer = try_state(engine, {"Type": "Pass", "Next": "StateName"}, HELLO, level="INFO")
    assert answer == {
        "output": '{"Value":"HelloWorld"}',
        "nextState": "StateName",
        "status": "SUCCEEDED",
    }


def test_the_context_object_names_the_single_state(engine: Engine) -> None:
    state = {
        "Type": "Pass",
        "Parameters": {"state.$": "$$.State.Name", "execution.$": "$$.Execution.Id"},
        "End": True,
    }
    output = json.loads(try_state(engine, state, {}, level="INFO")["output"])
    assert output["state"] == "StateName"
    assert ":express:" in output["execution"]


def test_a_state_of_a_whole_machine_is_picked_by_name(engine: Engine) -> None:
    machine = {
        "StartAt": "First",
        "States": {
            "First": {"Type": "Pass", "Result": 1, "Next": "Second"},
            "Second": {"Type": "Pass", "Parameters": {"n.$": "$"}, "Next": "Third"},
            "Third": {"Type": "Succeed"},
        },
    }
    request = {"definition": json.dumps(machine), "input": "5"}
    assert engine.test_state({**request, "stateName": "Second"}) == {
        "output": '{"n":5}',
        "nextState": "Third",
        "status": "SUCCEEDED",
    }
    assert engine.test_state(request)["nextState"] == "Second"  # StartAt when no name is given
    with pytest.raises(ValidationException, match="'Fourth' does not exist"):
        engine.test_state({**request, "stateName": "Fourth"})


# -- Task ----------------------------------------------------------------------------------


def test_a_task_runs_through_the_engines_runner(make_engine: Callable[..., Engine]) -> None:
    runner = Answering(lambda command: TaskSucceeded(command.task_id, "HelloWorld!"))
    engine = make_engine(runner)
    state = {
        "Type": "Task",
        "Resource": LAMBDA,
        "Parameters": {"inputData.$": "$.Value"},
        "End": True,
    }
    answer = parsed(try_state(engine, state, HELLO, roleArn=ROLE))
    assert answer == {
        "output": "HelloWorld!",
        "status": "SUCCEEDED",
        "inspectionData": {
            "input": HELLO,
            "afterInputPath": HELLO,
            "afterParameters": {"inputData": "HelloWorld"},
            "result": "HelloWorld!",
            "afterResultSelector": "HelloWorld!",
            "afterResultPath": "HelloWorld!",
        },
    }
    [command] = runner.started
    assert command.parameters == {"inputData": "HelloWorld"}
    assert command.task_token.endswith("#1")


def test_a_task_answered_later_from_another_thread(make_engine: Callable[..., Engine]) -> None:
    held = HeldTasks()
    engine = make_engine(held)

    def answer_when_started() -> None:
        assert held.arrived.wait(5)
        _, command, report = held.started[0]
        report(TaskSucceeded(command.task_id, {"late": True}))

    answerer = threading.Thread(target=answer_when_started)
    answerer.start()
    state = {"Type": "Task", "Resource": LAMBDA, "ResultPath": "$.r", "Next": "Done"}
    answer = try_state(engine, state, {"a": 1}, level="INFO", roleArn=ROLE)
    answerer.join(5)
    assert answer == {
        "output": '{"a":1,"r":{"late":true}}',
        "nextState": "Done",
        "status": "SUCCEEDED",
    }


def test_a_task_that_fails_with_a_matching_retrier_is_retriable(
    make_engine: Callable[..., Engine],
) -> None:
    runner = Answering(lambda command: TaskFailed(command.task_id, "Flaky", "try again"))
    engine = make_engine(runner)
    state = {
        "Type": "Task",
        "Resource": LAMBDA,
        "Retry": [
            {"ErrorEquals": ["Other"]},
            {"ErrorEquals": ["Flaky"], "IntervalSeconds": 3, "MaxAttempts": 2},
        ],
        "End": True,
    }
    answer = parsed(try_state(engine, state, HELLO, roleArn=ROLE))
    assert answer == {
        "error": "Flaky",
        "cause": "try again",
        "status": "RETRIABLE",
        "inspectionData": {
            "input": HELLO,
            "afterInputPath": HELLO,
            "afterParameters": HELLO,
            "errorDetails": {"retryIndex": 1, "retryBackoffIntervalSeconds": 3},
        },
    }
    assert len(runner.started) == 1  # the retry itself is not run


def test_a_task_that_fails_into_a_catcher_is_caught(engine: Engine) -> None:
    state = {
        "Type": "Task",
        "Resource": LAMBDA,
        "Catch": [
            {"ErrorEquals": ["Other"], "Next": "Elsewhere"},
            {"ErrorEquals": ["States.ALL"], "Next": "HandleError", "ResultPath": "$.errorOutput"},
        ],
        "End": True,
    }
    mock = {"errorOutput": {"error": "MockException", "cause": "Mock the cause."}}
    answer = parsed(try_state(engine, state, HELLO, roleArn=ROLE, mock=mock))
    error_output = {"Error": "MockException", "Cause": "Mock the cause."}
    assert answer == {
        "error": "MockException",
        "cause": "Mock the cause.",
        "nextState": "HandleError",
        "output": {**HELLO, "errorOutput": error_output},
        "status": "CAUGHT_ERROR",
        "inspectionData": {
            "input": HELLO,
            "afterInputPath": HELLO,
            "afterParameters": HELLO,
            "errorDetails": {"catchIndex": 1},
        },
    }


def test_a_mocked_result_replaces_the_runner(engine: Engine) -> None:
    state = {"Type": "Task", "Resource": LAMBDA, "ResultSelector": {"n.$": "$.x"}, "End": True}
    answer = try_state(engine, state, {}, level="INFO", mock={"result": '{"x": 3}'})
    assert answer == {"output": '{"n":3}', "status": "SUCCEEDED"}
    with pytest.raises(ValidationException, match="exactly one of result and errorOutput"):
        try_state(engine, state, {}, mock={})


@pytest.mark.parametrize(
    "result",
    ["{nope", "", "NaN", "[1e400]", '{"a": Infinity}', "-Infinity", "1 2"],
)
def test_a_mocked_result_must_be_strict_json(engine: Engine, result: str) -> None:
    """Python's reader would take NaN and the infinities, and make 1e400 an infinity: AWS
    refuses them, as it refuses text that is not JSON at all (that answer recorded on AWS)."""
    state = {"Type": "Task", "Resource": LAMBDA, "End": True}
    with pytest.raises(ValidationException) as raised:
        try_state(engine, state, {}, level="INFO", mock={"result": result})
    assert raised.value.message == "Mocked result must be valid JSON"


def test_without_a_runner_a_task_fails_as_executions_fail_it(engine: Engine) -> None:
    state = {"Type": "Task", "Resource": LAMBDA, "End": True}
    answer = try_state(engine, state, {}, level="INFO", roleArn=ROLE)
    assert answer["status"] == "FAILED"
    assert answer["error"] == "States.Runtime"
    assert f"no integration for the resource '{LAMBDA}'" in answer["cause"]


def test_a_task_needs_a_role_unless_mocked(engine: Engine) -> None:
    with pytest.raises(ValidationException) as raised:
        try_state(engine, {"Type": "Task", "Resource": LAMBDA, "End": True}, {})
    assert raised.value.message == "RoleArn must be specified when testing a Task state"


def test_a_task_past_its_timeout_fails_with_states_timeout(
    make_engine: Callable[..., Engine],
) -> None:
    held = HeldTasks()
    engine = make_engine(held)
    state = {
        "Type": "Task",
        "Resource": LAMBDA,
        "TimeoutSeconds": 1,
        "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "TooSlow"}],
        "End": True,
    }
    answer = try_state(engine, state, {}, level="INFO", roleArn=ROLE)
    assert answer == {
        "output": '{"Error":"States.Timeout","Cause":""}',  # as executions on AWS show
        "nextState": "TooSlow",
        "error": "States.Timeout",
        "status": "CAUGHT_ERROR",
    }
    assert held.cancelled == [(held.started[0][0], 1)]


def test_a_test_that_runs_too_long_fails_and_cancels_its_task(
    make_engine: Callable[..., Engine],
) -> None:
    held = HeldTasks()
    engine = make_engine(held, test_state_seconds=0.3)
    answer = try_state(engine, {"Type": "Task", "Resource": LAMBDA, "End": True}, {}, roleArn=ROLE)
    assert answer["status"] == "FAILED"
    assert answer["error"] == "States.Timeout"
    assert held.cancelled == [(held.started[0][0], 1)]


# -- what TestState refuses ------------------------------------------------------------------


def test_a_bad_state_is_an_invalid_definition_with_the_parsers_message(engine: Engine) -> None:
    with pytest.raises(InvalidDefinition) as raised:
        try_state(engine, {"Type": "Pass", "Bogus": 1, "End": True})
    assert raised.value.message == (
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Field 'Bogus' is not "
        "supported at /States/StateName'"
    )
    with pytest.raises(InvalidDefinition, match="INVALID_JSON_DESCRIPTION"):
        engine.test_state({"definition": "{not json"})
    with pytest.raises(InvalidDefinition, match="MISSING_TRANSITION_TARGET"):
        engine.test_state(
            {
                "definition": json.dumps(
                    {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}
                )
            }
        )


def test_parallel_and_map_are_not_tested_yet(engine: Engine) -> None:
    branch = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    with pytest.raises(ValidationException, match="does not run Parallel states yet"):
        try_state(engine, {"Type": "Parallel", "Branches": [branch], "End": True})


@pytest.mark.parametrize("member", ["context", "stateConfiguration", "variables"])
def test_what_redstep_cannot_honour_is_refused(engine: Engine, member: str) -> None:
    value: Any = {} if member == "stateConfiguration" else "{}"
    with pytest.raises(ValidationException, match=f"does not take '{member}' yet"):
        try_state(engine, {"Type": "Pass", "End": True}, **{member: value})


def test_input_must_be_json(engine: Engine) -> None:
    with pytest.raises(InvalidExecutionInput, match="Invalid State Machine Execution Input"):
        engine.test_state({"definition": json.dumps({"Type": "Pass", "End": True}), "input": "{x"})


@pytest.mark.parametrize(
    ("resource", "refused"),
    [
        (f"{LAMBDA}.waitForTaskToken", "the .waitForTaskToken service integration pattern"),
        ("arn:aws:states:::states:startExecution.sync", "the .sync service integration pattern"),
        ("arn:aws:states:::states:startExecution.sync:2", "the .sync service integration pattern"),
        ("arn:aws:states:us-east-1:123456789012:activity:Work", "Activity tasks"),
    ],
)
def test_a_task_waiting_on_the_outside_world_is_tested_only_with_a_mock(
    make_engine: Callable[..., Engine], resource: str, refused: str
) -> None:
    """As AWS documents: such a task would hold the call until something outside answers it
    (here, past the client's read timeout, so that the client retries and runs it again)."""
    held = HeldTasks()
    engine = make_engine(held)
    state = {"Type": "Task", "Resource": resource, "End": True}
    for role in ({"roleArn": ROLE}, {}):
        with pytest.raises(ValidationException) as raised:
            try_state(engine, state, {}, **role)
        assert raised.value.message == f"TestState only supports {refused} when a mock is specified"
    answer = try_state(engine, state, {}, level="INFO", mock={"result": '{"done": true}'})
    assert answer == {"output": '{"done":true}', "status": "SUCCEEDED"}
    assert held.started == []


def test_a_test_answers_within_the_clients_read_timeout() -> None:
    """A test still running when botocore stops reading (and retries) would run twice."""
    assert TEST_SECONDS < DEFAULT_TIMEOUT  # botocore's default read_timeout, 60 seconds
    assert TEST_SECONDS <= 50


def test_json_nested_too_deeply_is_refused_not_a_crash(engine: Engine) -> None:
    deep = "[" * 1000 + "]" * 1000
    just_too_deep = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    state = json.dumps({"Type": "Pass", "End": True})
    for text in (deep, just_too_deep):
        with pytest.raises(InvalidDefinition, match="INVALID_JSON_DESCRIPTION: Document nesting"):
            engine.test_state({"definition": text})
        with pytest.raises(InvalidExecutionInput, match="Document nesting depth exceeds"):
            engine.test_state({"definition": state, "input": text})
        task = {"Type": "Task", "Resource": LAMBDA, "End": True}
        with pytest.raises(ValidationException) as raised:
            try_state(engine, task, {}, mock={"result": text})
        assert raised.value.message == "Mocked result must be valid JSON"


def test_a_runners_answer_nested_too_deeply_fails_the_tested_task(
    make_engine: Callable[..., Engine],
) -> None:
    deep: Any = []
    for _ in range(5000):
        deep = [deep]
    engine = make_engine(Answering(lambda command: TaskSucceeded(command.task_id, deep)))
    state = {"Type": "Task", "Resource": LAMBDA, "End": True}
    answer = try_state(engine, state, {}, level="INFO", roleArn=ROLE)
    assert answer == {
        "error": "States.Runtime",
        "cause": f"The task's output is nested too deeply: {JSON_TOO_DEEP}",
        "status": "FAILED",
    }


def test_parameters_grown_too_deep_fail_the_tested_task_without_running_it(
    make_engine: Callable[..., Engine],
) -> None:
    runner = Answering(lambda command: TaskSucceeded(command.task_id, "ran"))
    engine = make_engine(runner)
    state = {
        "Type": "Task",
        "Resource": LAMBDA,
        "Parameters": {"deeper": {"still.$": "$"}},  # two levels over an input at the limit
        "End": True,
    }
    at_the_limit = json.loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)
    answer = try_state(engine, state, at_the_limit, level="INFO", roleArn=ROLE)
    assert answer == {
        "error": "States.Runtime",
        "cause": f"redstep could not hand the task its parameters: {JSON_TOO_DEEP}",
        "status": "FAILED",
    }
    assert runner.started == []

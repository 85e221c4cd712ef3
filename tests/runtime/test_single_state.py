"""TestState: one state run once, answered as AWS's TestState answers (shapes as recorded)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import botocore.session
import pytest
from botocore.endpoint import DEFAULT_TIMEOUT
from held_tasks import HeldTasks
from wire_check import WireMismatch, check_shape

from redstep.asl.json_text import JSON_TOO_DEEP, MAX_JSON_DEPTH
from redstep.engine.commands import ScheduleTask
from redstep.engine.signals import Signal, TaskFailed, TaskSucceeded
from redstep.runtime.clock import VirtualClock
from redstep.runtime.engine import Engine
from redstep.runtime.errors import InvalidDefinition, InvalidExecutionInput, ValidationException
from redstep.runtime.executor import TaskRunner
from redstep.runtime.memory_store import MemoryExecutionStore
from redstep.runtime.single_state import (
    TEST_SECONDS,
    InspectionLevel,
    SingleStateRun,
    prepare,
    run_state_test,
)

ROLE = "arn:aws:iam::123456789012:role/test"
LAMBDA = "arn:aws:states:::lambda:invoke"
HELLO = {"Value": "HelloWorld"}
TEST_STATE_OUTPUT = (
    botocore.session.Session()
    .get_service_model("stepfunctions")
    .operation_model("TestState")
    .output_shape
)


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
    return on_the_wire(engine.test_state(request))


def on_the_wire(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer, checked against botocore's TestStateOutput shape (WireMismatch if not)."""
    check_shape(TEST_STATE_OUTPUT, answer, "TestState")
    return answer


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
    with pytest.raises(ValidationException) as raised:
        engine.test_state({**request, "stateName": "Fourth"})
    assert raised.value.message == "State not found in definition"  # as recorded on AWS


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
    both = {"result": "{}", "errorOutput": {"error": "E"}}
    for mock in (both, {}):  # the answer to both recorded on AWS; to neither, modelled
        with pytest.raises(ValidationException) as raised:
            try_state(engine, state, {}, mock=mock)
        assert raised.value.message == (
            "A test mock should have only one of the following fields: [result, errorOutput]."
        )


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


@pytest.mark.parametrize("member", ["context", "stateConfiguration"])
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


# -- workflow variables ----------------------------------------------------------------------


def test_the_wire_check_refuses_what_the_model_does_not_hold() -> None:
    """The check every answer here goes through can fail."""
    with pytest.raises(WireMismatch, match="afterEverything"):
        on_the_wire({"status": "SUCCEEDED", "inspectionData": {"afterEverything": "{}"}})
    with pytest.raises(WireMismatch, match="status"):
        on_the_wire({"status": "DONE"})


ASSIGNING_PASS = {
    "Type": "Pass",
    "Parameters": {"greeting.$": "$greeting", "n.$": "$.n"},
    "Assign": {"count.$": "$.n", "kept.$": "$greeting"},
    "Next": "After",
}


@pytest.mark.parametrize("level", list(InspectionLevel))
def test_a_state_runs_with_the_variables_given_and_shows_them_after_its_assign(
    engine: Engine, level: InspectionLevel
) -> None:
    given_variables = {"greeting": "hi", "count": 1}
    answer = parsed(
        try_state(engine, ASSIGNING_PASS, {"n": 5}, level, variables=json.dumps(given_variables))
    )
    assert answer["output"] == {"greeting": "hi", "n": 5}  # Parameters read the variable
    assert answer["nextState"] == "After"
    if level is InspectionLevel.INFO:
        assert "inspectionData" not in answer
        return
    assert answer["inspectionData"] == {
        "input": {"n": 5},
        "afterInputPath": {"n": 5},
        "afterParameters": {"greeting": "hi", "n": 5},
        "afterResultSelector": {"greeting": "hi", "n": 5},
        "afterResultPath": {"greeting": "hi", "n": 5},
        # JSONPath's Assign reads the state's result as `$`: count is reassigned, kept is new
        "variables": {"greeting": "hi", "count": 5, "kept": "hi"},
    }


def test_the_variables_are_json_text_on_the_wire(engine: Engine) -> None:
    answer = try_state(engine, ASSIGNING_PASS, {"n": 5}, variables='{"greeting": "hi"}')
    assert answer["inspectionData"]["variables"] == '{"greeting":"hi","count":5,"kept":"hi"}'


def test_without_variables_none_are_shown(engine: Engine) -> None:
    """As recorded on AWS: no `variables` member when there are none, given as `{}` or not."""
    state = {"Type": "Pass", "End": True}
    for more in ({}, {"variables": "{}"}):
        assert "variables" not in try_state(engine, state, HELLO, **more)["inspectionData"]
    assigning = {"Type": "Pass", "Assign": {"made": 1}, "End": True}
    shown = try_state(engine, assigning, HELLO, variables="{}")["inspectionData"]["variables"]
    assert json.loads(shown) == {"made": 1}


def test_a_state_reading_a_variable_it_was_not_given_fails(engine: Engine) -> None:
    answer = try_state(engine, ASSIGNING_PASS, {"n": 5}, level="INFO")
    assert answer["status"] == "FAILED"
    assert answer["error"] == "States.Runtime"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{nope", "Variables must be valid JSON"),
        ("", "Variables must be valid JSON"),
        ('{"a": NaN}', "Variables must be valid JSON"),
        ('{"a": 1e400}', "Variables must be valid JSON"),
        ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), "Variables must be valid JSON"),
        ("[1]", "Variables must be a JSON object"),
        ("3", "Variables must be a JSON object"),
        ("null", "Variables must be a JSON object"),
        ('"{}"', "Variables must be a JSON object"),
    ],
)
def test_variables_must_be_the_text_of_a_json_object(
    make_engine: Callable[..., Engine], text: str, message: str
) -> None:
    runner = Answering(lambda command: TaskSucceeded(command.task_id, "ran"))
    engine = make_engine(runner)
    task = {"Type": "Task", "Resource": LAMBDA, "End": True}
    with pytest.raises(ValidationException) as raised:
        try_state(engine, task, {}, roleArn=ROLE, variables=text)
    assert raised.value.message == message
    assert runner.started == []  # refused before anything ran
    answer = try_state(engine, task, {}, level="INFO", roleArn=ROLE, variables='{"a": 1}')
    assert answer == {"output": '"ran"', "status": "SUCCEEDED"}  # and the engine goes on


def test_a_choice_rules_assign_is_in_the_variables_after_it(engine: Engine) -> None:
    state = {
        "Type": "Choice",
        "Choices": [
            {
                "Variable": "$.value",
                "NumericGreaterThanPath": "$limit",
                "Assign": {"over.$": "$.value"},
                "Next": "TooBig",
            }
        ],
        "Default": "Fine",
        "Assign": {"over": False},
    }
    big = parsed(try_state(engine, state, {"value": 22}, variables='{"limit": 20}'))
    assert big["nextState"] == "TooBig"
    assert big["inspectionData"] == {
        "input": {"value": 22},
        "afterInputPath": {"value": 22},
        "variables": {"limit": 20, "over": 22},
    }
    small = parsed(try_state(engine, state, {"value": 2}, variables='{"limit": 20}'))
    assert small["nextState"] == "Fine"
    assert small["inspectionData"]["variables"] == {"limit": 20, "over": False}


def test_a_retriable_state_leaves_the_variables_it_was_given(
    make_engine: Callable[..., Engine],
) -> None:
    runner = Answering(lambda command: TaskFailed(command.task_id, "Flaky", "again"))
    engine = make_engine(runner)
    state = {
        "Type": "Task",
        "Resource": LAMBDA,
        "Retry": [{"ErrorEquals": ["Flaky"]}],
        "Assign": {"done": True},
        "End": True,
    }
    answer = parsed(try_state(engine, state, HELLO, roleArn=ROLE, variables='{"try": 1}'))
    assert answer["status"] == "RETRIABLE"
    assert answer["inspectionData"]["variables"] == {"try": 1}


def test_a_catchers_assign_is_in_the_variables_after_it(engine: Engine) -> None:
    state = {
        "Type": "Task",
        "Resource": LAMBDA,
        "Assign": {"succeeded": True},
        "Catch": [
            {"ErrorEquals": ["States.ALL"], "Assign": {"failed.$": "$.Error"}, "Next": "Handle"}
        ],
        "End": True,
    }
    mock = {"errorOutput": {"error": "Broken", "cause": "it broke"}}
    answer = parsed(try_state(engine, state, HELLO, mock=mock, variables='{"before": 0}'))
    assert answer["status"] == "CAUGHT_ERROR"
    assert answer["inspectionData"]["variables"] == {"before": 0, "failed": "Broken"}


def test_the_variables_given_are_not_changed_by_the_state(engine: Engine) -> None:
    given = {"count": 1, "list": [1]}
    state = {"Type": "Pass", "Assign": {"count": 2, "list": [2]}, "End": True}
    run = SingleStateRun(
        input="{}",
        level=InspectionLevel.DEBUG,
        role_arn="",
        region=engine.region,
        clock=VirtualClock(),
        tasks=Answering(lambda command: TaskSucceeded(command.task_id, None)),
        variables=given,
    )
    answer = run_state_test(prepare(json.dumps(state), None), run)
    assert json.loads(answer["inspectionData"]["variables"]) == {"count": 2, "list": [2]}
    assert given == {"count": 1, "list": [1]}


# -- JSONata states --------------------------------------------------------------------------


def jsonata(state: dict[str, Any]) -> dict[str, Any]:
    return {"QueryLanguage": "JSONata", **state}


def test_a_jsonata_pass_shows_its_input_and_the_variables(engine: Engine) -> None:
    """The recorded AWS scenario: a JSONata state in a JSONPath machine, with variables."""
    machine = {
        "StartAt": "Init",
        "States": {
            "Init": {
                "Type": "Pass",
                "Assign": {"var_input_value.$": "$.input_value", "var_constant_1": 1},
                "Next": "State0",
            },
            "State0": jsonata(
                {
                    "Type": "Pass",
                    "Output": {
                        "ja_state_name": "{% $states.context.State.Name %}",
                        "ja_states_input": "{% $states.input %}",
                        "ja_var_access": "{% $var_input_value %}",
                        "ja_expr": "{% $sum($states.input.input_values) + $var_constant_1 %}",
                    },
                    "End": True,
                }
            ),
        },
    }
    given = {"input_values": [1, 2, 3]}
    variables = {"var_input_value": "test_value", "var_constant_1": 10}
    request = {
        "definition": json.dumps(machine),
        "stateName": "State0",
        "input": json.dumps(given),
        "variables": json.dumps(variables),
        "inspectionLevel": "TRACE",
    }
    assert parsed(on_the_wire(engine.test_state(request))) == {
        "inspectionData": {"input": given, "variables": variables},
        "output": {
            "ja_state_name": "StateName",
            "ja_states_input": given,
            "ja_var_access": "test_value",
            "ja_expr": 16,
        },
        "status": "SUCCEEDED",
    }


@pytest.mark.parametrize(
    "state",
    [
        {"Type": "Pass", "Next": "After"},
        {"Type": "Wait", "Seconds": 10, "Next": "After"},
        {"Type": "Succeed"},
        {"Type": "Fail", "Error": "E"},
    ],
    ids=["Pass", "Wait", "Succeed", "Fail"],
)
def test_jsonata_states_other_than_a_task_show_only_their_input(
    engine: Engine, state: dict[str, Any]
) -> None:
    """Recorded on AWS for Pass, Choice and Fail; modelled for Wait and Succeed."""
    answer = parsed(try_state(engine, jsonata(state), HELLO))
    assert answer["inspectionData"] == {"input": HELLO}


def test_a_jsonata_task_shows_its_arguments_and_its_result(
    make_engine: Callable[..., Engine],
) -> None:
    runner = Answering(lambda command: TaskSucceeded(command.task_id, {"total": 7}))
    engine = make_engine(runner)
    state = jsonata(
        {
            "Type": "Task",
            "Resource": LAMBDA,
            "Arguments": {"n": "{% $states.input.n * $factor %}", "fixed": "text"},
            "Output": {"sum": "{% $states.result.total + $states.input.n %}"},
            "Assign": {"last": "{% $states.result.total %}", "factor": "{% $factor + 1 %}"},
            "Next": "After",
        }
    )
    answer = parsed(try_state(engine, state, {"n": 2}, roleArn=ROLE, variables='{"factor": 3}'))
    assert answer == {
        "output": {"sum": 9},
        "nextState": "After",
        "status": "SUCCEEDED",
        "inspectionData": {
            "input": {"n": 2},
            "afterArguments": {"n": 6, "fixed": "text"},
            "result": {"total": 7},
            "variables": {"factor": 4, "last": 7},  # Assign read the variables as given
        },
    }
    assert [command.parameters for command in runner.started] == [{"n": 6, "fixed": "text"}]


def test_a_jsonata_task_without_arguments_hands_on_its_input(engine: Engine) -> None:
    state = jsonata({"Type": "Task", "Resource": LAMBDA, "End": True})
    answer = parsed(try_state(engine, state, HELLO, mock={"result": '{"r": 1}'}))
    assert answer["inspectionData"] == {"input": HELLO, "afterArguments": HELLO, "result": {"r": 1}}
    assert answer["output"] == {"r": 1}


def test_a_jsonata_task_caught_shows_the_catcher_as_recorded_on_aws(engine: Engine) -> None:
    state = jsonata(
        {
            "Type": "Task",
            "Resource": LAMBDA,
            "Arguments": {"FunctionName": "foo", "Payload": "bar"},
            "Catch": [
                {"ErrorEquals": ["MockException"], "Output": "{% $states %}", "Next": "HandleMock"},
                {
                    "ErrorEquals": ["States.TaskFailed"],
                    "Output": "{% $states.errorOutput %}",
                    "Assign": {"seen": "{% $states.errorOutput.Error %}"},
                    "Next": "HandleThreshold",
                },
            ],
            "End": True,
        }
    )
    mock = {"errorOutput": {"error": "MockException", "cause": "Mock the cause of the error."}}
    answer = parsed(try_state(engine, state, HELLO, roleArn=ROLE, mock=mock))
    output = answer.pop("output")
    assert answer == {
        "error": "MockException",
        "cause": "Mock the cause of the error.",
        "nextState": "HandleMock",
        "status": "CAUGHT_ERROR",
        "inspectionData": {
            "input": HELLO,
            "afterArguments": {"FunctionName": "foo", "Payload": "bar"},
            "errorDetails": {"catchIndex": 0},
        },
    }
    assert output["input"] == HELLO
    assert output["context"]["State"]["Name"] == "StateName"
    assert output["errorOutput"] == {
        "Error": "MockException",
        "Cause": "Mock the cause of the error.",
    }
    failed = {"errorOutput": {"error": "States.TaskFailed", "cause": "The task failed."}}
    answer = parsed(try_state(engine, state, HELLO, roleArn=ROLE, mock=failed))
    assert answer["nextState"] == "HandleThreshold"
    assert answer["output"] == {"Error": "States.TaskFailed", "Cause": "The task failed."}
    assert answer["inspectionData"]["errorDetails"] == {"catchIndex": 1}
    assert answer["inspectionData"]["variables"] == {"seen": "States.TaskFailed"}


COST_APPROVAL = {
    "QueryLanguage": "JSONata",
    "StartAt": "Approval Required",
    "States": {
        "Approval Required": {
            "Type": "Choice",
            "Choices": [
                {
                    "Condition": "{% $states.input.cost < $threshold %}",
                    "Assign": {"approved_by": "policy"},
                    "Next": "Purchase Approved",
                }
            ],
            "Default": "Not Approved",
        },
        "Purchase Approved": {"Type": "Succeed"},
        "Not Approved": {
            "Type": "Fail",
            "Error": "{% 'Over' & $string($threshold) %}",
            "Cause": "{% 'A purchase of ' & $string($states.input.cost) & ' needs approval' %}",
        },
    },
}


@pytest.mark.parametrize(("cost", "chosen"), [(9, "Purchase Approved"), (10, "Not Approved")])
def test_a_jsonata_choice_names_the_state_its_rule_chose(
    engine: Engine, cost: int, chosen: str
) -> None:
    request = {
        "definition": json.dumps(COST_APPROVAL),
        "stateName": "Approval Required",
        "input": json.dumps({"cost": cost}),
        "variables": '{"threshold": 10}',
        "inspectionLevel": "DEBUG",
    }
    answer = parsed(on_the_wire(engine.test_state(request)))
    variables = {"threshold": 10, "approved_by": "policy"} if cost < 10 else {"threshold": 10}
    assert answer == {
        "nextState": chosen,
        "output": {"cost": cost},
        "status": "SUCCEEDED",
        "inspectionData": {"input": {"cost": cost}, "variables": variables},
    }


def test_a_jsonata_fail_answers_the_error_and_cause_its_expressions_make(engine: Engine) -> None:
    request = {
        "definition": json.dumps(COST_APPROVAL),
        "stateName": "Not Approved",
        "input": '{"cost": 12}',
        "variables": '{"threshold": 10}',
        "inspectionLevel": "DEBUG",
    }
    assert parsed(on_the_wire(engine.test_state(request))) == {
        "error": "Over10",
        "cause": "A purchase of 12 needs approval",
        "status": "FAILED",
        "inspectionData": {"input": {"cost": 12}, "variables": {"threshold": 10}},
    }
    request["inspectionLevel"] = "INFO"
    assert on_the_wire(engine.test_state(request)) == {
        "error": "Over10",
        "cause": "A purchase of 12 needs approval",
        "status": "FAILED",
    }


def test_a_jsonata_expression_that_fails_fails_the_test(engine: Engine) -> None:
    state = jsonata({"Type": "Pass", "Output": "{% $undefinedFunction() %}", "End": True})
    answer = try_state(engine, state, HELLO)
    assert answer["status"] == "FAILED"
    assert answer["error"] == "States.QueryEvaluationError"
    assert json.loads(answer["inspectionData"]["input"]) == HELLO


# -- mocks for states that run no task -----------------------------------------------------


@pytest.mark.parametrize(
    "state",
    [
        {"Type": "Pass", "End": True},
        {"Type": "Succeed"},
        {"Type": "Fail", "Error": "E"},
        {"Type": "Wait", "Seconds": 1, "End": True},
        {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": True, "Next": "A"}]},
    ],
    ids=lambda state: state["Type"],
)
def test_a_mock_is_refused_for_a_state_that_runs_no_task(
    engine: Engine, state: dict[str, Any]
) -> None:
    """As recorded on AWS for Pass, Succeed and Fail."""
    for mock in ({"result": "{}"}, {"errorOutput": {"error": "E"}}):
        with pytest.raises(ValidationException) as raised:
            try_state(engine, state, {}, mock=mock)
        assert raised.value.message == (
            f"State type '{state['Type']}' is not supported when a mock is specified"
        )

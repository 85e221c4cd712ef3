"""JSONata states: Arguments, Output, Assign, Condition, Items and the `$states` each sees."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from asl_driver import T0, drive

from redstep.asl.parse import DefinitionError, parse_definition
from redstep.engine.signals import TaskFailed, TaskSucceeded

TASK = "arn:aws:states:::lambda:invoke"


def jsonata(*states: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {"QueryLanguage": "JSONata", "StartAt": states[0][0], "States": dict(states)}


def test_task_arguments_and_output_see_input_result_and_variables() -> None:
    calls: list[Any] = []

    def answer(command: Any) -> Any:
        calls.append(command.parameters)
        return TaskSucceeded(command.task_id, {"total": 7})

    trace = drive(
        jsonata(
            ("Set", {"Type": "Pass", "Assign": {"factor": 3}, "Next": "T"}),
            (
                "T",
                {
                    "Type": "Task",
                    "Resource": TASK,
                    "Arguments": {"n": "{% $states.input.n * $factor %}", "fixed": "text"},
                    "Output": {"sum": "{% $states.result.total + $states.input.n %}"},
                    "Assign": {"last": "{% $states.result.total %}"},
                    "End": True,
                },
            ),
        ),
        {"n": 2},
        answer,
    )
    assert calls == [{"n": 6, "fixed": "text"}]
    assert trace.output == {"sum": 9}
    exited = trace.details("TaskStateExited")
    assert exited["assignedVariables"] == {"last": "7"}


def test_default_outputs_are_the_input_and_the_result() -> None:
    trace = drive(
        jsonata(
            ("P", {"Type": "Pass", "Next": "T"}),
            ("T", {"Type": "Task", "Resource": TASK, "End": True}),
        ),
        {"a": 1},
        lambda command: TaskSucceeded(command.task_id, {"r": 2}),
    )
    assert json.loads(trace.details("PassStateExited")["output"]) == {"a": 1}
    assert trace.output == {"r": 2}


@pytest.mark.parametrize(("given", "expected"), [({"n": 5}, "big"), ({"n": 1}, "small")])
def test_choice_condition_with_rule_output(given: Any, expected: str) -> None:
    trace = drive(
        jsonata(
            (
                "C",
                {
                    "Type": "Choice",
                    "Choices": [
                        {"Condition": "{% $states.input.n > 3 %}", "Next": "End", "Output": "big"}
                    ],
                    "Default": "End",
                    "Output": "small",
                },
            ),
            ("End", {"Type": "Succeed"}),
        ),
        given,
    )
    assert trace.output == expected


def test_a_condition_that_is_not_boolean_is_a_query_evaluation_error() -> None:
    trace = drive(
        jsonata(
            (
                "C",
                {
                    "Type": "Choice",
                    "Choices": [{"Condition": "{% $states.input.n %}", "Next": "End"}],
                    "Default": "End",
                },
            ),
            ("End", {"Type": "Succeed"}),
        ),
        {"n": 5},
    )
    assert trace.completion.error == "States.QueryEvaluationError"
    assert "Condition" in (trace.completion.cause or "")


def test_map_items_and_item_selector_with_the_map_context() -> None:
    trace = drive(
        jsonata(
            (
                "M",
                {
                    "Type": "Map",
                    "Items": "{% $states.input.list %}",
                    "ItemSelector": {
                        "value": "{% $states.context.Map.Item.Value %}",
                        "index": "{% $states.context.Map.Item.Index %}",
                    },
                    "ItemProcessor": {
                        "StartAt": "Inner",
                        "States": {"Inner": {"Type": "Pass", "End": True}},
                    },
                    "Output": "{% $count($states.result) %}",
                    "End": True,
                },
            )
        ),
        {"list": ["a", "b"]},
    )
    assert trace.output == 2
    assert json.loads(trace.details("PassStateEntered", 1)["input"]) == {"value": "b", "index": 1}


def test_catch_output_and_assign_read_the_error_output() -> None:
    trace = drive(
        jsonata(
            (
                "T",
                {
                    "Type": "Task",
                    "Resource": TASK,
                    "Catch": [
                        {
                            "ErrorEquals": ["States.ALL"],
                            "Output": {"caught": "{% $states.errorOutput.Error %}"},
                            "Assign": {"why": "{% $states.errorOutput.Cause %}"},
                            "Next": "After",
                        }
                    ],
                    "End": True,
                },
            ),
            (
                "After",
                {
                    "Type": "Pass",
                    "Output": {"c": "{% $states.input.caught %}", "w": "{% $why %}"},
                    "End": True,
                },
            ),
        ),
        {},
        lambda command: TaskFailed(command.task_id, "Boom", "broken"),
    )
    assert trace.output == {"c": "Boom", "w": "broken"}


def test_fail_error_and_cause_from_expressions() -> None:
    trace = drive(
        jsonata(
            (
                "F",
                {
                    "Type": "Fail",
                    "Error": "{% $states.input.e %}",
                    "Cause": "{% 'because ' & $states.input.e %}",
                },
            )
        ),
        {"e": "Bad"},
    )
    assert (trace.completion.error, trace.completion.cause) == ("Bad", "because Bad")


def test_wait_seconds_from_an_expression_and_now_reads_the_execution_clock() -> None:
    trace = drive(
        jsonata(
            ("W", {"Type": "Wait", "Seconds": "{% $states.input.s %}", "Next": "Now"}),
            ("Now", {"Type": "Pass", "Output": "{% $now() %}", "End": True}),
        ),
        {"s": 30},
    )
    waited = T0 + timedelta(seconds=30)
    assert trace.output == waited.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_an_expression_error_names_the_field_and_the_state() -> None:
    trace = drive(
        jsonata(("P", {"Type": "Pass", "Output": {"x": "{% $nothere() %}"}, "End": True}))
    )
    assert trace.completion.error == "States.QueryEvaluationError"
    cause = trace.completion.cause or ""
    assert cause.startswith(
        "An error occurred while executing the state 'P' (entered at the event id #2)."
    )
    assert "'Output/x'" in cause


def test_a_jsonpath_state_inside_a_jsonata_machine_and_the_other_way_round() -> None:
    trace = drive(
        {
            "StartAt": "Path",
            "States": {
                "Path": {"Type": "Pass", "Parameters": {"v.$": "$.v"}, "Next": "Nata"},
                "Nata": {
                    "Type": "Pass",
                    "QueryLanguage": "JSONata",
                    "Output": "{% $states.input.v + 1 %}",
                    "End": True,
                },
            },
        },
        {"v": 1},
    )
    assert trace.output == 2


@pytest.mark.parametrize("field", ["InputPath", "Parameters", "ResultPath", "OutputPath"])
def test_jsonpath_fields_are_refused_in_a_jsonata_state(field: str) -> None:
    value: Any = {} if field == "Parameters" else "$"
    with pytest.raises(DefinitionError) as raised:
        parse_definition(json.dumps(jsonata(("P", {"Type": "Pass", field: value, "End": True}))))
    assert (
        f"The QueryLanguage is set to 'JSONata', but field '{field}' is only supported for the "
        "'JSONPath' QueryLanguage"
    ) in str(raised.value)


def test_a_bad_expression_is_refused_when_the_definition_is_read() -> None:
    with pytest.raises(DefinitionError) as raised:
        parse_definition(
            json.dumps(
                jsonata(("P", {"Type": "Pass", "Output": "{% $states.input. %}", "End": True}))
            )
        )
    assert "/States/P/Output" in str(raised.value)


def test_an_evaluation_failure_is_recorded_with_its_state_and_field() -> None:
    trace = drive(
        jsonata(
            ("First", {"Type": "Pass", "Next": "Bad"}),
            ("Bad", {"Type": "Pass", "Output": {"x": "{% $states.input.missing %}"}, "End": True}),
        )
    )
    failed = trace.event("EvaluationFailed")
    entered = trace.event("PassStateEntered", 1)
    assert failed["previousEventId"] == entered["previousEventId"]  # where the entry pointed
    details = failed["evaluationFailedEventDetails"]
    assert (details["error"], details["state"], details["location"]) == (
        "States.QueryEvaluationError",
        "Bad",
        "Output/x",
    )
    assert details["cause"] == trace.completion.cause
    assert "returned nothing (undefined)" in details["cause"]
    assert trace.types[-2:] == ["EvaluationFailed", "ExecutionFailed"]


def test_a_map_whose_items_fail_records_map_state_failed_after_the_evaluation() -> None:
    trace = drive(
        jsonata(
            (
                "M",
                {
                    "Type": "Map",
                    "Items": "{% $states.input.nothing %}",
                    "ItemProcessor": {
                        "StartAt": "I",
                        "States": {"I": {"Type": "Pass", "End": True}},
                    },
                    "End": True,
                },
            )
        )
    )
    assert trace.types[-3:] == ["EvaluationFailed", "MapStateFailed", "ExecutionFailed"]


@pytest.mark.parametrize(
    ("field", "state"),
    [
        ("Seconds", {"Type": "Wait", "Seconds": "{% 'soon' %}", "End": True}),
        (
            "TimeoutSeconds",
            {"Type": "Task", "Resource": TASK, "TimeoutSeconds": "{% 0 %}", "End": True},
        ),
        (
            "MaxConcurrency",
            {
                "Type": "Map",
                "MaxConcurrency": "{% -1 %}",
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
                "End": True,
            },
        ),
    ],
)
def test_a_numeric_field_of_the_wrong_kind_is_a_query_evaluation_error(
    field: str, state: dict[str, Any]
) -> None:
    trace = drive(jsonata(("S", state)), [])
    assert trace.completion.error == "States.QueryEvaluationError"
    assert f"specified for the field '{field}' returned an unexpected result type" in (
        trace.completion.cause or ""
    )
    assert trace.details("EvaluationFailed")["location"] == field


def test_a_catchers_failing_output_is_recorded_as_an_evaluation_failure() -> None:
    trace = drive(
        jsonata(
            (
                "T",
                {
                    "Type": "Task",
                    "Resource": TASK,
                    "Catch": [
                        {"ErrorEquals": ["States.ALL"], "Output": "{% $nope() %}", "Next": "E"}
                    ],
                    "End": True,
                },
            ),
            ("E", {"Type": "Succeed"}),
        ),
        {},
        lambda command: TaskFailed(command.task_id, "Boom", None),
    )
    assert trace.types[-3:] == ["TaskFailed", "EvaluationFailed", "ExecutionFailed"]
    assert trace.completion.error == "States.QueryEvaluationError"


def test_an_inline_item_selector_failure_is_recorded_and_ends_the_iterations() -> None:
    trace = drive(
        jsonata(
            (
                "M",
                {
                    "Type": "Map",
                    "Items": [1, 2],
                    "ItemSelector": "{% $states.context.Map.Item.Value.nothing %}",
                    "ItemProcessor": {
                        "StartAt": "I",
                        "States": {"I": {"Type": "Pass", "End": True}},
                    },
                    "End": True,
                },
            )
        )
    )
    assert trace.completion.error == "States.QueryEvaluationError"
    assert "EvaluationFailed" in trace.types
    assert "PassStateEntered" not in trace.types


def test_distributed_map_sections_take_jsonata_and_refuse_jsonpath_fields() -> None:
    def distributed(**sections: Any) -> dict[str, Any]:
        return jsonata(
            (
                "M",
                {
                    "Type": "Map",
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "DISTRIBUTED"},
                        "StartAt": "I",
                        "States": {"I": {"Type": "Pass", "End": True}},
                    },
                    "End": True,
                    **sections,
                },
            )
        )

    machine = parse_definition(
        json.dumps(distributed(ItemBatcher={"MaxItemsPerBatch": "{% $states.input.n %}"}))
    )
    state = machine.states["M"]
    assert state.item_batcher is not None  # type: ignore[union-attr]
    assert state.item_batcher.max_items_per_batch_path is not None  # type: ignore[union-attr]
    with pytest.raises(DefinitionError) as raised:
        parse_definition(
            json.dumps(
                distributed(
                    ItemReader={"Resource": "arn:aws:states:::s3:getObject", "Parameters": {}}
                )
            )
        )
    assert "Field 'Parameters' is not supported" in str(raised.value)


@pytest.mark.parametrize(
    ("state", "member", "where"),
    [
        (
            {"Type": "Pass", "Output": "{% $states.result %}", "End": True},
            "result",
            "/States/S/Output",
        ),
        (
            {"Type": "Task", "Resource": TASK, "Arguments": "{% $states.result %}", "End": True},
            "result",
            "/States/S/Arguments",
        ),
        (
            {"Type": "Task", "Resource": TASK, "Output": "{% $states.errorOutput %}", "End": True},
            "errorOutput",
            "/States/S/Output",
        ),
        (
            {"Type": "Pass", "Assign": {"x": "{% $states.nothing %}"}, "End": True},
            "nothing",
            "/States/S/Assign",
        ),
    ],
)
def test_states_members_a_field_cannot_have_are_refused(
    state: dict[str, Any], member: str, where: str
) -> None:
    with pytest.raises(DefinitionError) as raised:
        parse_definition(json.dumps(jsonata(("S", state))))
    assert (
        f"UNSUPPORTED_JSONATA_EXPRESSION: Field '$states.{member}' does not exist. at {where}"
        in str(raised.value)
    )


def test_states_members_each_field_has_are_accepted() -> None:
    parse_definition(
        json.dumps(
            jsonata(
                (
                    "S",
                    {
                        "Type": "Task",
                        "Resource": TASK,
                        "Arguments": {"i": "{% $states.input %}", "c": "{% $states.context %}"},
                        "Output": "{% $states.result %}",
                        "Assign": {"r": "{% $states.result %}"},
                        "Catch": [
                            {
                                "ErrorEquals": ["States.ALL"],
                                "Output": "{% $states.errorOutput %}",
                                "Next": "E",
                            }
                        ],
                        "End": True,
                    },
                ),
                ("E", {"Type": "Succeed"}),
            )
        )
    )

"""Workflow variables (Assign) in both query languages: when values take effect, what `$` and
`$states` are in each state, scopes of branches and iterations, and AWS's quotas."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asl_driver import drive, new_interpreter

from redstep.asl.parse import DefinitionError, parse_definition
from redstep.engine.signals import TaskFailed, TaskSucceeded

TASK = "arn:aws:states:::lambda:invoke"


def machine(*states: tuple[str, dict[str, Any]], **top: Any) -> dict[str, Any]:
    return {"StartAt": states[0][0], "States": dict(states), **top}


def assigned(trace: Any, exited: str, occurrence: int = 0) -> dict[str, Any]:
    details = trace.details(exited, occurrence)
    assert details["assignedVariablesDetails"] == {"truncated": False}
    return {name: json.loads(text) for name, text in details["assignedVariables"].items()}


def test_a_variable_is_read_by_later_states_through_paths_and_intrinsics() -> None:
    trace = drive(
        machine(
            ("Set", {"Type": "Pass", "Assign": {"a": 2, "b.$": "$.b"}, "Next": "Use"}),
            (
                "Use",
                {
                    "Type": "Pass",
                    "Parameters": {"sum.$": "States.MathAdd($a, $b)", "b.$": "$b"},
                    "End": True,
                },
            ),
        ),
        {"b": 40},
    )
    assert trace.output == {"sum": 42, "b": 40}
    assert assigned(trace, "PassStateExited") == {"a": 2, "b": 40}
    assert "assignedVariables" not in trace.details("PassStateExited", 1)


def test_a_variable_with_a_unicode_name_is_read_through_paths_and_intrinsics() -> None:
    # Assign takes any identifier; a JSONPath path and an intrinsic read the same names.
    trace = drive(
        machine(
            (
                "Set",
                {
                    "Type": "Pass",
                    "Assign": {"größe": {"n": 3}, "_ä1": 4, "cafe\u0301": 5},
                    "Next": "Use",
                },
            ),
            (
                "Use",
                {
                    "Type": "Pass",
                    "Parameters": {
                        "sum.$": "States.MathAdd($größe.n, $_ä1)",
                        "n.$": "$größe.n",
                        "accent.$": "$cafe\u0301",
                    },
                    "End": True,
                },
            ),
        ),
        {},
    )
    assert trace.output == {"sum": 7, "n": 3, "accent": 5}


def test_assign_and_output_see_the_values_from_before_the_state() -> None:
    trace = drive(
        machine(
            ("One", {"Type": "Pass", "Assign": {"x": 1}, "Next": "Two"}),
            (
                "Two",
                {
                    "Type": "Pass",
                    "Assign": {"x": 2, "seen.$": "$x"},
                    "Parameters": {"x.$": "$x"},
                    "End": True,
                },
            ),
        )
    )
    assert trace.output == {"x": 1}
    assert assigned(trace, "PassStateExited", 1) == {"x": 2, "seen": 1}


def test_jsonpath_assign_reads_the_task_result_after_result_selector() -> None:
    trace = drive(
        machine(
            (
                "T",
                {
                    "Type": "Task",
                    "Resource": TASK,
                    "ResultSelector": {"v.$": "$.value"},
                    "ResultPath": "$.r",
                    "Assign": {"got.$": "$.v", "input.$": "$$.Execution.Input.n"},
                    "End": True,
                },
            )
        ),
        {"n": 5},
        lambda command: TaskSucceeded(command.task_id, {"value": 9}),
    )
    assert trace.output == {"n": 5, "r": {"v": 9}}
    assert assigned(trace, "TaskStateExited") == {"got": 9, "input": 5}


def test_a_catcher_assigns_from_the_error_output() -> None:
    trace = drive(
        machine(
            (
                "T",
                {
                    "Type": "Task",
                    "Resource": TASK,
                    "Assign": {"never": 1},
                    "Catch": [
                        {
                            "ErrorEquals": ["States.ALL"],
                            "Assign": {"error.$": "$.Error"},
                            "ResultPath": "$.failure",
                            "Next": "After",
                        }
                    ],
                    "End": True,
                },
            ),
            ("After", {"Type": "Pass", "Parameters": {"e.$": "$error"}, "End": True}),
        ),
        {},
        lambda command: TaskFailed(command.task_id, "Boom", "it broke"),
    )
    assert trace.output == {"e": "Boom"}
    assert assigned(trace, "TaskStateExited") == {"error": "Boom"}


def test_choice_rule_assign_and_state_assign_for_the_default() -> None:
    definition = machine(
        (
            "C",
            {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.n", "NumericEquals": 1, "Next": "End", "Assign": {"r": "one"}}
                ],
                "Default": "End",
                "Assign": {"r": "other"},
            },
        ),
        ("End", {"Type": "Pass", "Parameters": {"r.$": "$r"}, "End": True}),
    )
    assert drive(definition, {"n": 1}).output == {"r": "one"}
    assert drive(definition, {"n": 2}).output == {"r": "other"}


def test_iterations_read_outer_variables_and_their_own_stay_inside() -> None:
    trace = drive(
        machine(
            ("Set", {"Type": "Pass", "Assign": {"bias": 10}, "Next": "M"}),
            (
                "M",
                {
                    "Type": "Map",
                    "ItemProcessor": {
                        "StartAt": "Inner",
                        "States": {
                            "Inner": {
                                "Type": "Pass",
                                "Assign": {"mine.$": "$"},
                                "Next": "Read",
                            },
                            "Read": {
                                "Type": "Pass",
                                "Parameters": {"v.$": "States.MathAdd($mine, $bias)"},
                                "End": True,
                            },
                        },
                    },
                    "Next": "After",
                },
            ),
            ("After", {"Type": "Pass", "Parameters": {"bias.$": "$bias"}, "End": True}),
        ),
        [1, 2],
    )
    assert trace.output == {"bias": 10}
    assert json.loads(trace.details("MapStateExited")["output"]) == [{"v": 11}, {"v": 12}]


def test_an_outer_variable_is_not_visible_after_an_inner_scope_ends() -> None:
    trace = drive(
        machine(
            (
                "P",
                {
                    "Type": "Parallel",
                    "Branches": [
                        {
                            "StartAt": "B",
                            "States": {"B": {"Type": "Pass", "Assign": {"inner": 1}, "End": True}},
                        }
                    ],
                    "Next": "Read",
                },
            ),
            ("Read", {"Type": "Pass", "Parameters": {"v.$": "$inner"}, "End": True}),
        )
    )
    assert trace.completion.error == "States.Runtime"
    assert "inner" in (trace.completion.cause or "")


def test_an_assign_over_256_kib_fails_the_state() -> None:
    trace = drive(
        machine(("Big", {"Type": "Pass", "Assign": {"big.$": "$.text"}, "End": True})),
        {"text": "x" * (256 * 1024 + 1)},
    )
    assert trace.completion.error == "States.Runtime"
    assert "'big'" in (trace.completion.cause or "")


@pytest.mark.parametrize("name", ["1abc", "a-b", "states", "x" * 81])
def test_bad_variable_names_are_refused_when_the_definition_is_read(name: str) -> None:
    with pytest.raises(DefinitionError) as raised:
        parse_definition(
            json.dumps(machine(("P", {"Type": "Pass", "Assign": {name: 1}, "End": True})))
        )
    assert f"'{name}'" in str(raised.value)


def test_result_path_cannot_name_a_variable() -> None:
    with pytest.raises(DefinitionError):
        parse_definition(
            json.dumps(machine(("P", {"Type": "Pass", "ResultPath": "$x", "End": True})))
        )


def test_an_iteration_cannot_assign_a_variable_of_an_outer_scope() -> None:
    definition = machine(
        ("Set", {"Type": "Pass", "Assign": {"total": 0}, "Next": "M"}),
        (
            "M",
            {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "Add",
                    "States": {"Add": {"Type": "Pass", "Assign": {"total.$": "$"}, "End": True}},
                },
                "End": True,
            },
        ),
    )
    with pytest.raises(DefinitionError) as raised:
        parse_definition(json.dumps(definition))
    assert "/States/M/ItemProcessor/States/Add/Assign/total.$" in str(raised.value)
    assert "outer scope" in str(raised.value)


def test_sibling_branches_assign_the_same_name_each_in_its_own_scope() -> None:
    def branch(value: int) -> dict[str, Any]:
        return {
            "StartAt": f"Set{value}",
            "States": {
                f"Set{value}": {"Type": "Pass", "Assign": {"mine": value}, "Next": f"Read{value}"},
                f"Read{value}": {"Type": "Pass", "Parameters": {"mine.$": "$mine"}, "End": True},
            },
        }

    trace = drive(
        machine(("P", {"Type": "Parallel", "Branches": [branch(1), branch(2)], "End": True}))
    )
    assert trace.output == [{"mine": 1}, {"mine": 2}]


def test_a_journal_with_variables_and_jsonata_replays_to_the_same_history() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Set",
        "States": {
            "Set": {"Type": "Pass", "Assign": {"n": "{% $random() %}"}, "Next": "T"},
            "T": {
                "Type": "Task",
                "Resource": TASK,
                "Arguments": {"n": "{% $n %}", "id": "{% $uuid() %}"},
                "Output": "{% $shuffle([1, 2, 3, 4, 5]) %}",
                "End": True,
            },
        },
    }
    live = drive(definition, {}, lambda command: TaskSucceeded(command.task_id, {}))
    replayed = new_interpreter(definition, {})
    events = [
        event for signal, at in live.journal for event in replayed.activate(signal, at).events
    ]
    assert events == live.events

"""Parsing and validating definitions: the node tree, and every problem reported at once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from redstep.asl.diagnostics import Code
from redstep.asl.json_text import JSON_TOO_DEEP, MAX_JSON_DEPTH, is_nested_too_deeply
from redstep.asl.model import (
    ChoiceState,
    FailState,
    JitterStrategy,
    MapState,
    ParallelState,
    PassState,
    SucceedState,
    TaskState,
    WaitState,
)
from redstep.asl.parse import DefinitionError, parse_definition, validate_definition

TASK = "arn:aws:states:::lambda:invoke"


def problems(definition: Any) -> list[tuple[str, str | None, str]]:
    """(code, location, message) of every diagnostic, in order."""
    text = definition if isinstance(definition, str) else json.dumps(definition)
    return [(d.code, d.location, d.message) for d in validate_definition(text).diagnostics]


def one_state(state: dict[str, Any], name: str = "S") -> dict[str, Any]:
    return {"StartAt": name, "States": {name: state}}


def test_every_state_type_becomes_its_node() -> None:
    definition = {
        "Comment": "all of them",
        "TimeoutSeconds": 60,
        "StartAt": "P",
        "States": {
            "P": {"Type": "Pass", "Next": "T"},
            "T": {
                "Type": "Task",
                "Resource": TASK,
                "TimeoutSeconds": 10,
                "HeartbeatSeconds": 5,
                "Retry": [{"ErrorEquals": ["States.ALL"], "JitterStrategy": "FULL"}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "No"}],
                "Next": "C",
            },
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "W"}],
                "Default": "Par",
            },
            "W": {"Type": "Wait", "Seconds": 1, "Next": "M"},
            "M": {"Type": "Map", "ItemProcessor": one_state({"Type": "Succeed"}), "Next": "Par"},
            "Par": {
                "Type": "Parallel",
                "Branches": [one_state({"Type": "Pass", "End": True}, "B")],
                "Next": "Ok",
            },
            "Ok": {"Type": "Succeed"},
            "No": {"Type": "Fail", "Error": "E"},
        },
    }
    parsed = parse_definition(json.dumps(definition))
    assert parsed.start_at == "P"
    assert parsed.timeout_seconds == 60
    kinds = {name: type(state) for name, state in parsed.states.items()}
    assert kinds == {
        "P": PassState,
        "T": TaskState,
        "C": ChoiceState,
        "W": WaitState,
        "M": MapState,
        "Par": ParallelState,
        "Ok": SucceedState,
        "No": FailState,
    }
    task = parsed.states["T"]
    assert isinstance(task, TaskState)
    assert task.timeouts.timeout_seconds == 10
    assert task.retry[0].jitter_strategy is JitterStrategy.FULL
    assert (task.retry[0].interval_seconds, task.retry[0].max_attempts) == (1, 3)
    assert task.retry[0].backoff_rate == 2.0
    assert task.catch[0].next == "No"


def test_a_mapping_is_accepted_as_well_as_text() -> None:
    assert parse_definition(one_state({"Type": "Succeed"})).start_at == "S"


def test_every_problem_is_reported_at_once_with_its_location() -> None:
    found = problems(
        {
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Next": "Nowhere", "Bogus": 1, "InputPath": "not a path"},
                "B": {"Type": "Wait", "End": True},
                "C": {"Type": "Fail", "Next": "A"},
            },
        }
    )
    assert found == [
        ("SCHEMA_VALIDATION_FAILED", "/States/A", "Field 'Bogus' is not supported"),
        ("SCHEMA_VALIDATION_FAILED", "/States/A/InputPath", "Value must be a valid JSONPath."),
        (
            "SCHEMA_VALIDATION_FAILED",
            "/States/B",
            "This object should have only one of the following fields: "
            "[Seconds, SecondsPath, Timestamp, TimestampPath]",
        ),
        ("SCHEMA_VALIDATION_FAILED", "/States/C", "Field 'Next' is not supported"),
        ("MISSING_TRANSITION_TARGET", "/States/A/Next", "Missing 'Next' target: Nowhere"),
        ("MISSING_TRANSITION_TARGET", "/States/B", 'State "B" is not reachable.'),
        ("MISSING_TRANSITION_TARGET", "/States/C", 'State "C" is not reachable.'),
    ]


def test_the_create_message_lists_every_error_as_aws_does() -> None:
    with pytest.raises(DefinitionError) as raised:
        parse_definition('{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "X"}}}')
    assert str(raised.value) == (
        "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: "
        "X at /States/A/Next, MISSING_END_STATE: Workflow has no terminal state at null'"
    )


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ("", ("SCHEMA_VALIDATION_FAILED", None, "Definition must be a valid JSON object")),
        ("[1]", ("SCHEMA_VALIDATION_FAILED", None, "Definition must be a valid JSON object")),
        ("{}", ("SCHEMA_VALIDATION_FAILED", "/", "These fields are required: [States, StartAt]")),
    ],
)
def test_not_a_definition(definition: str, expected: tuple[str, str | None, str]) -> None:
    assert problems(definition) == [expected]


def test_invalid_json() -> None:
    [(code, _, message)] = problems('{"StartAt": ')
    assert code == Code.INVALID_JSON_DESCRIPTION
    assert "line 1" in message


@pytest.mark.parametrize(
    ("state", "location", "message"),
    [
        (
            {"Type": "Pass", "End": True, "Next": "S"},
            "/States/S",
            "There should only be one of the following fields: [Next, End]",
        ),
        (
            {"Type": "Pass"},
            "/States/S",
            "This object should have only one of the following fields: [Next, End]",
        ),
        (
            {"Type": "Nope", "End": True},
            "/States/S/Type",
            "Value should be one of the following: "
            "[Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map]",
        ),
        ({"End": True}, "/States/S", "These fields are required: [Type]"),
        ({"Type": "Task", "End": True}, "/States/S", "These fields are required: [Resource]"),
        (
            {"Type": "Task", "Resource": TASK, "TimeoutSeconds": "5", "End": True},
            "/States/S/TimeoutSeconds",
            "Expected value of type [INTEGER]",
        ),
        (
            {
                "Type": "Task",
                "Resource": TASK,
                "TimeoutSeconds": 5,
                "HeartbeatSeconds": 5,
                "End": True,
            },
            "/States/S/HeartbeatSeconds",
            "HeartbeatSeconds must be smaller than TimeoutSeconds",
        ),
        (
            {
                "Type": "Task",
                "Resource": TASK,
                "TimeoutSeconds": 5,
                "TimeoutSecondsPath": "$.t",
                "End": True,
            },
            "/States/S",
            "There should only be one of the following fields: "
            "[TimeoutSeconds, TimeoutSecondsPath]",
        ),
        (
            {"Type": "Pass", "ResultPath": "$.a[*]", "End": True},
            "/States/S/ResultPath",
            "Value is not a Reference Path: '$.a[*]' is not a valid Reference Path: it may only "
            "use '.name', \"['name']\" and '[index]' steps",
        ),
        (
            {"Type": "Pass", "Parameters": {"x.$": "States.Nope()"}, "End": True},
            "/States/S/Parameters/x.$",
            None,
        ),
        (
            {"Type": "Wait", "Timestamp": "tomorrow", "End": True},
            "/States/S/Timestamp",
            "Value must be a valid ISO-8601 extended offset date-time format string",
        ),
        ({"Type": "Choice", "Choices": []}, "/States/S/Choices", "Value cannot be empty"),
        (
            {"Type": "Choice", "Choices": [{"Variable": "$.x", "Next": "S"}]},
            "/States/S/Choices[0]",
            "Choice rules with no comparison operator are not supported",
        ),
        (
            {"Type": "Map", "End": True},
            "/States/S",
            "This object should have only one of the following fields: [ItemProcessor, Iterator]",
        ),
        (
            {
                "Type": "Map",
                "ItemProcessor": one_state({"Type": "Succeed"}, "I"),
                "MaxConcurrency": -1,
                "End": True,
            },
            "/States/S/MaxConcurrency",
            "Minimum value is 0",
        ),
        (
            {"Type": "Parallel", "Branches": [], "End": True},
            "/States/S/Branches",
            "Value cannot be empty",
        ),
        (
            {"Type": "Pass", "End": True, "QueryLanguage": "JSONata", "InputPath": "$"},
            "/States/S",
            "The QueryLanguage is set to 'JSONata', but field 'InputPath' is only supported for "
            "the 'JSONPath' QueryLanguage",
        ),
    ],
)
def test_state_problems(state: dict[str, Any], location: str, message: str | None) -> None:
    found = [(where, text) for _, where, text in problems(one_state(state))]
    if message is None:
        assert location in [where for where, _ in found], found
    else:
        assert (location, message) in found, found


@pytest.mark.parametrize(
    ("retrier", "location", "message"),
    [
        ({"ErrorEquals": []}, "/States/S/Retry[0]/ErrorEquals", "Value cannot be empty"),
        (
            {"ErrorEquals": ["States.ALL", "X"]},
            "/States/S/Retry[0]/ErrorEquals",
            "States.ALL must appear alone and at end of list",
        ),
        (
            {"ErrorEquals": ["X"], "BackoffRate": 0.5},
            "/States/S/Retry[0]/BackoffRate",
            "Minimum value is 1",
        ),
        (
            {"ErrorEquals": ["X"], "MaxAttempts": -1},
            "/States/S/Retry[0]/MaxAttempts",
            "Minimum value is 0",
        ),
        (
            {"ErrorEquals": ["X"], "JitterStrategy": "SOME"},
            "/States/S/Retry[0]/JitterStrategy",
            "Value should be one of the following: [NONE, FULL]",
        ),
        ({"ErrorEquals": ["X"], "Typo": 1}, "/States/S/Retry[0]", "Field 'Typo' is not supported"),
    ],
)
def test_retrier_problems(retrier: dict[str, Any], location: str, message: str) -> None:
    state = {"Type": "Task", "Resource": TASK, "Retry": [retrier], "End": True}
    assert (location, message) in [(where, text) for _, where, text in problems(one_state(state))]


def test_states_all_must_be_the_last_catcher() -> None:
    state = {
        "Type": "Task",
        "Resource": TASK,
        "Catch": [
            {"ErrorEquals": ["States.ALL"], "Next": "S"},
            {"ErrorEquals": ["X"], "Next": "S"},
        ],
        "End": True,
    }
    assert (
        "SCHEMA_VALIDATION_FAILED",
        "/States/S/Catch[0]/ErrorEquals",
        "States.ALL must appear alone and at end of list",
    ) in problems(one_state(state))


def test_targets_and_reachability_in_branches_and_processors() -> None:
    found = problems(
        one_state(
            {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Missing",
                        "States": {"In": {"Type": "Pass", "End": True}},
                    }
                ],
                "End": True,
            },
            "Par",
        )
    )
    assert found == [
        (
            "MISSING_TRANSITION_TARGET",
            "/States/Par/Branches[0]/StartAt",
            "Missing 'Next' target: Missing",
        ),
        (
            "MISSING_TRANSITION_TARGET",
            "/States/Par/Branches[0]/States/In",
            'State "In" is not reachable.',
        ),
    ]


def test_state_names_are_unique_across_the_whole_definition() -> None:
    found = problems(
        one_state(
            {"Type": "Parallel", "Branches": [one_state({"Type": "Succeed"}, "Same")], "End": True},
            "Same",
        )
    )
    assert (
        "DUPLICATE_STATE_NAME",
        "/States/Same/Branches[0]/States/Same",
        "Duplicate State name: Same",
    ) in found


def test_a_state_name_over_80_characters() -> None:
    name = "n" * 81
    assert problems(one_state({"Type": "Succeed"}, name))[0][0] == "INVALID_STATE_NAME"


def test_no_terminal_state_is_reported_without_reachability_noise() -> None:
    found = problems(
        {
            "StartAt": "A",
            "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}},
        }
    )
    assert found == [("MISSING_END_STATE", None, "Workflow has no terminal state")]


def test_compiled_paths_and_templates_are_ready_to_run() -> None:
    parsed = parse_definition(
        one_state(
            {"Type": "Pass", "InputPath": "$.a.b[0]", "Parameters": {"x.$": "$.y"}, "End": True}
        )
    )
    state = parsed.states["S"]
    assert isinstance(state, PassState)
    assert state.filters.input_path is not None
    assert state.filters.input_path.keys == ("a", "b", 0)
    assert state.parameters is not None


# -- nesting -------------------------------------------------------------------------------


def nested(depth: int) -> Any:
    """Arrays `depth` levels deep (built without recursion, so any depth can be made)."""
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_nesting_is_measured_to_the_limit_and_any_depth_past_it() -> None:
    assert not is_nested_too_deeply(nested(MAX_JSON_DEPTH))
    assert is_nested_too_deeply(nested(MAX_JSON_DEPTH + 1))
    assert is_nested_too_deeply({"a": [1, {"b": nested(MAX_JSON_DEPTH)}]})
    assert is_nested_too_deeply(nested(100_000))  # its own stack: no RecursionError
    assert not is_nested_too_deeply("[" * 1000)  # a string is no nesting
    # The text, when given, spares the walk for a document without enough brackets.
    assert not is_nested_too_deeply({"a": 1}, '{"a": 1}')


@pytest.mark.parametrize(
    "definition",
    [
        pytest.param("[" * 1000 + "]" * 1000, id="past-the-readers-stack"),
        pytest.param("[" * 100_000 + "]" * 100_000, id="far-past-the-readers-stack"),
        pytest.param(
            json.dumps(one_state({"Type": "Pass", "Result": nested(MAX_JSON_DEPTH), "End": True})),
            id="a-result-past-the-limit",
        ),
        pytest.param(
            json.dumps(one_state({"Type": "Pass", "Parameters": {"a": nested(400)}, "End": True})),
            id="a-template-past-the-limit",
        ),
    ],
)
def test_a_definition_nested_too_deeply_is_invalid_json(definition: str) -> None:
    assert problems(definition) == [(Code.INVALID_JSON_DESCRIPTION, None, JSON_TOO_DEEP)]
    with pytest.raises(DefinitionError, match="INVALID_JSON_DESCRIPTION: Document nesting depth"):
        parse_definition(definition)


def test_a_decoded_definition_nested_too_deeply_is_refused_too() -> None:
    definition = one_state({"Type": "Pass", "Result": nested(MAX_JSON_DEPTH), "End": True})
    [diagnostic] = validate_definition(definition).diagnostics
    assert diagnostic.message == JSON_TOO_DEEP


def test_a_definition_nested_to_the_limit_is_parsed() -> None:
    # The machine, its States, the state and the Result array: four levels above the Result's.
    state = {"Type": "Pass", "Result": {"r": nested(MAX_JSON_DEPTH - 4)}, "End": True}
    machine = parse_definition(json.dumps(one_state(state)))
    assert isinstance(machine.states["S"], PassState)


def test_the_deepest_walks_take_a_definition_nested_to_the_limit() -> None:
    """The limit leaves the parser's recursion room: templates and Choice rules recurse most."""
    # Four levels above the array: the machine, its States, the state, its Parameters.
    template = one_state(
        {"Type": "Pass", "Parameters": {"a": nested(MAX_JSON_DEPTH - 4)}, "End": True}
    )
    assert not is_nested_too_deeply(template)
    assert isinstance(parse_definition(template).states["S"], PassState)
    rule: dict[str, Any] = {"Variable": "$.x", "IsPresent": True}
    for _ in range(MAX_JSON_DEPTH - 5):  # below the machine, States, the state, Choices, a rule
        rule = {"Not": rule}
    states = {"C": {"Type": "Choice", "Choices": [{**rule, "Next": "E"}]}, "E": {"Type": "Succeed"}}
    choice = {"StartAt": "C", "States": states}
    assert not is_nested_too_deeply(choice)
    assert isinstance(parse_definition(choice).states["C"], ChoiceState)

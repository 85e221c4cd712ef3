"""Choice Rules: every operator, the Path forms, type mismatches, missing values, validation."""

from __future__ import annotations

import re
from typing import Any

import pytest

from redstep.asl.choice import (
    And,
    ChoiceRule,
    Comparison,
    Not,
    Operator,
    Or,
    PathComparison,
    PresenceTest,
    TypeTest,
    compile_choice_rule,
)
from redstep.asl.diagnostics import Code, Report
from redstep.asl.errors import Failure, StatesError, StatesFailure
from redstep.asl.scope import fixed_scope

LOCATION = "/States/Check/Choices[0]"
T0 = "2016-03-14T01:59:00Z"
T1 = "2016-03-14T01:59:01Z"


def compile_rule(raw: dict[str, Any]) -> ChoiceRule:
    """A top-level rule (Next added when absent) that must compile without a diagnostic."""
    report = Report()
    rule = compile_choice_rule(raw if "Next" in raw else {**raw, "Next": "Yes"}, LOCATION, report)
    assert report.diagnostics == []
    assert rule is not None
    return rule


def holds(raw: dict[str, Any], data: Any, context: Any = None) -> bool:
    return compile_rule(raw).matches(data, fixed_scope(context))


def runtime_failure(raw: dict[str, Any], data: Any) -> Failure:
    with pytest.raises(StatesFailure) as raised:
        holds(raw, data)
    return raised.value.failure


def invalid_path(path: str) -> Failure:
    return Failure(
        StatesError.RUNTIME,
        f"Invalid path '{path}': The choice state's condition path references an invalid value.",
    )


def problems(raw: Any) -> list[tuple[str, str]]:
    """The diagnostics of a rule that must not compile, as (location, message)."""
    report = Report()
    assert compile_choice_rule(raw, LOCATION, report) is None
    assert report.diagnostics, "a rule that does not compile must say why"
    assert {d.code for d in report.diagnostics} == {Code.SCHEMA_VALIDATION_FAILED}
    return [(d.location, d.message) for d in report.diagnostics]


# --- Every operator against a literal -------------------------------------------------------------

LITERAL_CASES = [
    # operator, literal, variable value, expected
    ("StringEquals", "abc", "abc", True),
    ("StringEquals", "abc", "abd", False),
    ("StringEquals", "abc", "ABC", False),
    ("StringLessThan", "b", "a", True),
    ("StringLessThan", "b", "b", False),
    ("StringLessThan", "b", "c", False),
    ("StringGreaterThan", "b", "c", True),
    ("StringGreaterThan", "b", "b", False),
    ("StringGreaterThan", "b", "a", False),
    ("StringLessThanEquals", "b", "b", True),
    ("StringLessThanEquals", "b", "a", True),
    ("StringLessThanEquals", "b", "c", False),
    ("StringGreaterThanEquals", "b", "b", True),
    ("StringGreaterThanEquals", "b", "c", True),
    ("StringGreaterThanEquals", "b", "a", False),
    ("StringMatches", "foo*.log", "foo23.log", True),
    ("StringMatches", "foo*.log", "foo.log", True),
    ("StringMatches", "foo*.log", "foo23.txt", False),
    ("StringMatches", "*.log", "zebra.log", True),
    ("StringMatches", "foo*.*", "foobar.zebra", True),
    ("StringMatches", "foo*", "xfoo", False),
    ("StringMatches", "a.c", "abc", False),  # no character but * is special
    ("StringMatches", "a?c", "abc", False),
    ("StringMatches", "[ab]", "a", False),
    ("StringMatches", "a*", "a\nb", True),  # * matches newlines too
    ("StringMatches", "a\\*b", "a*b", True),  # \* is a literal star
    ("StringMatches", "a\\*b", "axb", False),
    ("StringMatches", "a\\\\b", "a\\b", True),  # \\ is a literal backslash
    ("StringMatches", "a\\\\*", "a\\anything", True),
    ("StringMatches", "", "", True),
    ("StringMatches", "", "x", False),
    ("NumericEquals", 1, 1, True),
    ("NumericEquals", 1, 1.0, True),
    ("NumericEquals", 1.5, 1.5, True),
    ("NumericEquals", 1, 2, False),
    ("NumericEquals", 0, -0.0, True),
    ("NumericLessThan", 10, 9.5, True),
    ("NumericLessThan", 10, 10, False),
    ("NumericLessThan", 10, 11, False),
    ("NumericGreaterThan", 10, 10.5, True),
    ("NumericGreaterThan", 10, 10.0, False),
    ("NumericGreaterThan", 10, -3, False),
    ("NumericLessThanEquals", 10, 10.0, True),
    ("NumericLessThanEquals", 10, 10.5, False),
    ("NumericGreaterThanEquals", 10, 10, True),
    ("NumericGreaterThanEquals", 10, 9, False),
    ("BooleanEquals", True, True, True),
    ("BooleanEquals", True, False, False),
    ("BooleanEquals", False, False, True),
    ("TimestampEquals", T0, T0, True),
    ("TimestampEquals", T0, "2016-03-14T02:59:00+01:00", True),  # the same instant
    ("TimestampEquals", T0, "2016-03-13T20:59:00-05:00", True),
    ("TimestampEquals", T0, "2016-03-14T01:59:00.000Z", True),
    ("TimestampEquals", T0, T1, False),
    ("TimestampEquals", T0, "2016-03-14T01:59:00.000000001Z", False),
    ("TimestampLessThan", T1, T0, True),
    ("TimestampLessThan", T1, T1, False),
    ("TimestampLessThan", T0, "2016-03-14T01:59:00.5Z", False),
    ("TimestampGreaterThan", T0, T1, True),
    ("TimestampGreaterThan", T0, "2016-03-14T01:59:00.000000001Z", True),
    ("TimestampGreaterThan", T0, T0, False),
    ("TimestampLessThanEquals", T0, T0, True),
    ("TimestampLessThanEquals", T0, "2016-03-14T01:00:00Z", True),
    ("TimestampLessThanEquals", T0, T1, False),
    ("TimestampGreaterThanEquals", T0, T0, True),
    ("TimestampGreaterThanEquals", T0, "2017-01-01T00:00:00Z", True),
    ("TimestampGreaterThanEquals", T1, T0, False),
    ("IsNull", True, None, True),
    ("IsNull", True, 0, False),
    ("IsNull", True, "", False),
    ("IsNull", False, 0, True),
    ("IsNull", False, None, False),
    ("IsNumeric", True, 1, True),
    ("IsNumeric", True, 1.5, True),
    ("IsNumeric", True, "1", False),
    ("IsNumeric", True, True, False),  # booleans are not numbers
    ("IsNumeric", False, "1", True),
    ("IsString", True, "", True),
    ("IsString", True, 1, False),
    ("IsString", False, None, True),
    ("IsBoolean", True, False, True),
    ("IsBoolean", True, 0, False),
    ("IsBoolean", False, "true", True),
    ("IsTimestamp", True, T0, True),
    ("IsTimestamp", True, "2016-03-14T01:59:00.123456789+05:30", True),
    ("IsTimestamp", True, "2016-03-14T01:59:00", False),  # no offset
    ("IsTimestamp", True, "2016-03-14 01:59:00Z", False),
    ("IsTimestamp", True, "2016-03-14t01:59:00z", False),  # T and Z must be uppercase
    ("IsTimestamp", True, "2016-03-14T01:59Z", False),  # seconds are required
    ("IsTimestamp", True, "2016-02-30T00:00:00Z", False),
    ("IsTimestamp", True, "2016-03-14T24:00:00Z", False),
    ("IsTimestamp", True, "2016-03-14T01:59:00.1234567890Z", False),
    ("IsTimestamp", True, 1457920740, False),
    ("IsTimestamp", False, "yesterday", True),
    ("IsPresent", True, None, True),
    ("IsPresent", False, None, False),
]


@pytest.mark.parametrize(("operator", "literal", "value", "expected"), LITERAL_CASES)
def test_operator_against_a_literal(
    operator: str, literal: Any, value: Any, expected: bool
) -> None:
    assert holds({"Variable": "$.v", operator: literal}, {"v": value}) is expected


def test_every_literal_operator_has_a_true_and_a_false_case() -> None:
    outcomes: dict[str, set[bool]] = {}
    for operator, _, _, expected in LITERAL_CASES:
        outcomes.setdefault(operator, set()).add(expected)
    literal_operators = {op.value for op in Operator if not op.value.endswith("Path")}
    assert {name for name, seen in outcomes.items() if seen == {True, False}} == literal_operators


def test_is_present_is_false_when_the_variable_selects_nothing() -> None:
    assert holds({"Variable": "$.missing", "IsPresent": True}, {}) is False
    assert holds({"Variable": "$.missing", "IsPresent": False}, {}) is True
    assert holds({"Variable": "$.a.b", "IsPresent": False}, {"a": "not an object"}) is True
    assert holds({"Variable": "$.list[3]", "IsPresent": True}, {"list": [1, 2]}) is False


def test_strings_order_as_java_does_by_utf16_code_unit() -> None:
    # U+1F600 is the surrogate pair D83D DE00, which Java orders below U+FFFF.
    rule = {"Variable": "$.v", "StringLessThan": "\uffff"}
    assert holds(rule, {"v": "\U0001f600"}) is True
    assert holds({"Variable": "$.v", "StringGreaterThan": "\U0001f600"}, {"v": "\uffff"}) is True


def test_numbers_compare_exactly_across_int_and_float() -> None:
    assert holds({"Variable": "$.v", "NumericEquals": 10**20}, {"v": 1e20}) is True
    assert holds({"Variable": "$.v", "NumericLessThan": 0.1}, {"v": 0}) is True


# --- Path forms -----------------------------------------------------------------------------------

PATH_CASES = [
    # operator, left, right, expected
    ("StringEqualsPath", "a", "a", True),
    ("StringEqualsPath", "a", "b", False),
    ("StringLessThanPath", "a", "b", True),
    ("StringLessThanPath", "b", "a", False),
    ("StringGreaterThanPath", "b", "a", True),
    ("StringGreaterThanPath", "a", "a", False),
    ("StringLessThanEqualsPath", "a", "a", True),
    ("StringLessThanEqualsPath", "b", "a", False),
    ("StringGreaterThanEqualsPath", "a", "a", True),
    ("StringGreaterThanEqualsPath", "a", "b", False),
    ("NumericEqualsPath", 3, 3.0, True),
    ("NumericEqualsPath", 3, 4, False),
    ("NumericLessThanPath", 3, 4, True),
    ("NumericLessThanPath", 4, 4, False),
    ("NumericGreaterThanPath", 5, 4, True),
    ("NumericGreaterThanPath", 4, 4, False),
    ("NumericLessThanEqualsPath", 4, 4, True),
    ("NumericLessThanEqualsPath", 5, 4, False),
    ("NumericGreaterThanEqualsPath", 4, 4, True),
    ("NumericGreaterThanEqualsPath", 3, 4, False),
    ("BooleanEqualsPath", True, True, True),
    ("BooleanEqualsPath", True, False, False),
    ("TimestampEqualsPath", T0, "2016-03-14T03:59:00+02:00", True),
    ("TimestampEqualsPath", T0, T1, False),
    ("TimestampLessThanPath", T0, T1, True),
    ("TimestampLessThanPath", T1, T0, False),
    ("TimestampGreaterThanPath", T1, T0, True),
    ("TimestampGreaterThanPath", T0, T0, False),
    ("TimestampLessThanEqualsPath", T0, T0, True),
    ("TimestampLessThanEqualsPath", T1, T0, False),
    ("TimestampGreaterThanEqualsPath", T0, T0, True),
    ("TimestampGreaterThanEqualsPath", T0, T1, False),
]


@pytest.mark.parametrize(("operator", "left", "right", "expected"), PATH_CASES)
def test_path_operator(operator: str, left: Any, right: Any, expected: bool) -> None:
    rule = {"Variable": "$.left", operator: "$.right"}
    assert holds(rule, {"left": left, "right": right}) is expected


def test_every_path_operator_has_a_true_and_a_false_case() -> None:
    outcomes: dict[str, set[bool]] = {}
    for operator, _, _, expected in PATH_CASES:
        outcomes.setdefault(operator, set()).add(expected)
    path_operators = {op.value for op in Operator if op.value.endswith("Path")}
    assert {name for name, seen in outcomes.items() if seen == {True, False}} == path_operators


def test_path_operands_and_variables_may_read_the_context_object() -> None:
    context = {"Execution": {"Name": "run-7", "Input": {"limit": 3}}}
    rule = {"Variable": "$.count", "NumericLessThanPath": "$$.Execution.Input.limit"}
    assert holds(rule, {"count": 2}, context) is True
    assert holds(rule, {"count": 3}, context) is False
    assert holds({"Variable": "$$.Execution.Name", "StringMatches": "run-*"}, {}, context) is True


def test_variable_may_be_the_whole_input_or_use_brackets() -> None:
    assert holds({"Variable": "$", "NumericEquals": 3}, 3) is True
    assert holds({"Variable": "$['a b'][1]", "StringEquals": "y"}, {"a b": ["x", "y"]}) is True


# --- Type mismatches are false, not errors --------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "value"),
    [
        ({"StringEquals": "1"}, 1),
        ({"StringLessThan": "b"}, None),
        ({"StringMatches": "*"}, 5),
        ({"StringMatches": "*"}, ["a"]),
        ({"NumericEquals": 1}, "1"),
        ({"NumericEquals": 1}, True),  # booleans are not numbers
        ({"NumericGreaterThanEquals": 0}, False),
        ({"NumericLessThan": 5}, {"n": 1}),
        ({"BooleanEquals": True}, 1),
        ({"BooleanEquals": True}, "true"),
        ({"TimestampEquals": T0}, "not a timestamp"),
        ({"TimestampLessThan": T1}, 1457920740),
        ({"TimestampGreaterThan": T0}, "2016-03-14"),
    ],
)
def test_a_variable_of_the_wrong_type_makes_the_comparison_false(
    rule: dict[str, Any], value: Any
) -> None:
    assert holds({"Variable": "$.v", **rule}, {"v": value}) is False
    assert holds({"Not": {"Variable": "$.v", **rule}}, {"v": value}) is True


@pytest.mark.parametrize(
    ("operator", "left", "right"),
    [
        ("StringEqualsPath", "1", 1),
        ("NumericEqualsPath", 1, "1"),
        ("NumericEqualsPath", 1, True),
        ("NumericLessThanPath", "1", 2),
        ("BooleanEqualsPath", True, "true"),
        ("TimestampEqualsPath", T0, "not a timestamp"),
        ("TimestampLessThanPath", "not a timestamp", T1),
    ],
)
def test_path_operands_of_the_wrong_type_make_the_comparison_false(
    operator: str, left: Any, right: Any
) -> None:
    assert (
        holds({"Variable": "$.left", operator: "$.right"}, {"left": left, "right": right}) is False
    )


def test_json_null_is_present_and_of_no_comparison_type() -> None:
    data = {"v": None}
    assert holds({"Variable": "$.v", "IsPresent": True}, data) is True
    assert holds({"Variable": "$.v", "StringEquals": "null"}, data) is False
    assert holds({"Variable": "$.v", "NumericEquals": 0}, data) is False


# --- Missing values fail the execution ------------------------------------------------------------


def _sample_operand(operator: Operator) -> Any:
    name = operator.value
    if name.endswith("Path"):
        return "$.right"
    if name.startswith("Is"):
        return True
    if name.startswith("Numeric"):
        return 1
    if name.startswith("Boolean"):
        return True
    if name.startswith("Timestamp"):
        return T0
    return "x"


@pytest.mark.parametrize("operator", [op for op in Operator if op is not Operator.IS_PRESENT])
def test_a_variable_that_selects_nothing_is_a_runtime_error(operator: Operator) -> None:
    rule = {"Variable": "$.missing", operator.value: _sample_operand(operator)}
    assert runtime_failure(rule, {"right": "x"}) == invalid_path("$.missing")


def test_a_path_operand_that_selects_nothing_is_a_runtime_error() -> None:
    rule = {"Variable": "$.left", "NumericEqualsPath": "$.right"}
    assert runtime_failure(rule, {"left": 1}) == invalid_path("$.right")
    context_rule = {"Variable": "$.left", "StringEqualsPath": "$$.Execution.Nothing"}
    assert runtime_failure(context_rule, {"left": "a"}) == invalid_path("$$.Execution.Nothing")


def test_a_missing_path_operand_fails_even_when_the_variable_has_the_wrong_type() -> None:
    rule = {"Variable": "$.left", "NumericEqualsPath": "$.right"}
    assert runtime_failure(rule, {"left": "not a number"}) == invalid_path("$.right")


@pytest.mark.parametrize(
    ("variable", "data"),
    [
        ("$.a.b", {"a": 1}),  # through a value that is not an object
        ("$.list[2]", {"list": [1, 2]}),
        ("$.list.x", {"list": [1, 2]}),
        ("$.x", [1, 2]),
    ],
)
def test_paths_that_cannot_be_followed_are_runtime_errors(variable: str, data: Any) -> None:
    assert runtime_failure({"Variable": variable, "IsNull": False}, data) == invalid_path(variable)


def test_runtime_errors_are_terminal_states_runtime_failures() -> None:
    failure = runtime_failure({"Variable": "$.x", "IsNull": True}, {})
    assert failure.error == "States.Runtime"


def test_an_open_escape_in_string_matches_is_a_runtime_error() -> None:
    rule = {"Variable": "$.v", "StringMatches": "abc\\"}
    failure = runtime_failure(rule, {"v": "abc"})
    assert failure.error == StatesError.RUNTIME
    assert failure.cause is not None
    assert "abc\\" in failure.cause
    assert holds(rule, {"v": 42}) is False  # nothing to match against: just false


# --- Nesting --------------------------------------------------------------------------------------


def test_the_specs_choice_state_example() -> None:
    # The Choice state example of the States Language spec, rule by rule.
    public = compile_rule({"Not": {"Variable": "$.type", "StringEquals": "Private"}})
    twenties = compile_rule(
        {
            "And": [
                {"Variable": "$.value", "IsPresent": True},
                {"Variable": "$.value", "IsNumeric": True},
                {"Variable": "$.value", "NumericGreaterThanEquals": 20},
                {"Variable": "$.value", "NumericLessThan": 30},
            ]
        }
    )
    audit = compile_rule({"Variable": "$.rating", "NumericGreaterThanPath": "$.auditThreshold"})
    scope = fixed_scope()
    data = {"type": "Private", "value": 22}
    assert public.matches(data, scope) is False
    assert twenties.matches(data, scope) is True
    assert twenties.matches({"type": "Private", "value": "22"}, scope) is False
    assert twenties.matches({"type": "Private"}, scope) is False  # IsPresent decides first
    assert audit.matches({"rating": 7, "auditThreshold": 5}, scope) is True


def test_and_or_not_combine_and_nest() -> None:
    rule = {
        "Or": [
            {
                "And": [
                    {"Variable": "$.a", "BooleanEquals": True},
                    {"Not": {"Variable": "$.b", "IsNull": True}},
                ]
            },
            {"Not": {"Not": {"Variable": "$.c", "StringMatches": "yes*"}}},
        ]
    }
    assert holds(rule, {"a": True, "b": 1, "c": "no"}) is True
    assert holds(rule, {"a": True, "b": None, "c": "yes please"}) is True
    assert holds(rule, {"a": False, "b": 1, "c": "no"}) is False


def test_a_single_operand_and_behaves_as_its_operand() -> None:
    # choice_state_singleton_composite, recorded on AWS
    rule = {"And": [{"Variable": "$.type", "StringEquals": "Public"}]}
    assert holds(rule, {"type": "Public"}) is True
    assert holds(rule, {"type": "Private"}) is False


def test_and_and_or_stop_once_decided() -> None:
    # A later operand's missing path does not fail a rule already decided.
    missing = {"Variable": "$.missing", "NumericEquals": 1}
    assert holds({"And": [{"Variable": "$.a", "NumericEquals": 2}, missing]}, {"a": 1}) is False
    assert holds({"Or": [{"Variable": "$.a", "NumericEquals": 1}, missing]}, {"a": 1}) is True
    failure = runtime_failure({"And": [{"Variable": "$.a", "NumericEquals": 1}, missing]}, {"a": 1})
    assert failure == invalid_path("$.missing")


def test_is_present_guards_a_comparison_in_a_map_break_condition() -> None:
    # map_state_break_condition's rule, over the items AWS iterated.
    rule = compile_rule(
        {
            "And": [
                {"IsPresent": True, "Variable": "$"},
                {
                    "And": [
                        {"IsNumeric": True, "Variable": "$"},
                        {"NumericEquals": 3, "Variable": "$"},
                    ]
                },
            ]
        }
    )
    items = [1, "Hello", {}, 3.3, 3, 4, 5]
    assert [rule.matches(item, fixed_scope()) for item in items] == [
        False,
        False,
        False,
        False,
        True,
        False,
        False,
    ]


# --- What compiling produces ----------------------------------------------------------------------


def test_literals_are_converted_once_at_compile_time() -> None:
    timestamp = compile_rule({"Variable": "$.t", "TimestampEquals": T0}).condition
    assert isinstance(timestamp, Comparison)
    assert timestamp.operand == 1457920740 * 10**9
    glob = compile_rule({"Variable": "$.s", "StringMatches": "a*b"}).condition
    assert isinstance(glob, Comparison)
    assert isinstance(glob.operand, re.Pattern)


def test_rules_compile_to_nodes_shaped_like_the_spec() -> None:
    rule = compile_rule(
        {
            "Or": [
                {"Variable": "$.a", "IsPresent": True},
                {"Not": {"Variable": "$.a", "IsString": True}},
                {"Variable": "$.a", "NumericEqualsPath": "$.b"},
            ],
            "Comment": "kept out of the tree",
        }
    )
    assert rule.next == "Yes"
    assert isinstance(rule.condition, Or)
    first, second, third = rule.condition.conditions
    assert isinstance(first, PresenceTest)
    assert first.expected is True
    assert isinstance(second, Not)
    assert isinstance(second.condition, TypeTest)
    assert second.condition.operator is Operator.IS_STRING
    assert isinstance(third, PathComparison)
    assert third.operand.text == "$.b"
    assert isinstance(compile_rule({"And": [{"Variable": "$", "IsNull": True}]}).condition, And)


def test_a_top_level_rule_may_carry_an_assign_block() -> None:
    """The parser compiles a rule's Assign with the rest of its state (tests/engine/
    test_variables.py runs it); the rule's condition is the same with or without one."""
    rule = compile_rule(
        {"Variable": "$.input_value", "NumericEquals": 42, "Assign": {"status": "CORRECT"}}
    )
    assert (
        rule.condition == compile_rule({"Variable": "$.input_value", "NumericEquals": 42}).condition
    )


# --- Validation -----------------------------------------------------------------------------------


def test_valid_rules_produce_no_diagnostics() -> None:
    for raw in [
        {"Variable": "$.type", "StringEquals": "Buy", "Next": "A", "Comment": "why"},
        {
            "Not": {"Variable": "$$.Execution.Id", "IsString": True, "Comment": "nested"},
            "Next": "A",
        },
        {"Variable": "$.guess", "StringEqualsPath": "$$.Map.Item.Value", "Next": "A"},
    ]:
        report = Report()
        assert compile_choice_rule(raw, LOCATION, report) is not None
        assert report.diagnostics == []


def test_a_rule_with_no_comparison_is_reported() -> None:
    assert problems({"Variable": "$.x", "Next": "A"}) == [
        (LOCATION, "Choice rules with no comparison operator are not supported")
    ]
    assert problems({"Next": "A"}) == [
        (LOCATION, "Choice rules with no comparison operator are not supported")
    ]


def test_a_rule_with_two_comparisons_is_reported() -> None:
    assert problems({"Variable": "$.x", "StringEquals": "a", "IsNull": True, "Next": "A"}) == [
        (
            LOCATION,
            "Choice rules with more than one comparison operator are not supported: "
            "'StringEquals', 'IsNull'",
        )
    ]


def test_unknown_fields_are_reported_at_the_rule() -> None:
    assert problems({"Variable": "$.x", "StringEqual": "a", "Next": "A"}) == [
        (LOCATION, "Field 'StringEqual' is not supported"),
        (LOCATION, "Choice rules with no comparison operator are not supported"),
    ]
    assert problems(
        {"Variable": "$.x", "StringMatchesPath": "$.y", "IsNull": True, "Next": "A"}
    ) == [
        (LOCATION, "Field 'StringMatchesPath' is not supported"),
    ]


def test_jsonata_fields_are_named_as_such() -> None:
    assert problems({"Condition": "{% $x %}", "Next": "A"}) == [
        (
            LOCATION,
            "The QueryLanguage is set to 'JSONPath', but field 'Condition' is only supported "
            "for the 'JSONata' QueryLanguage",
        ),
        (LOCATION, "Choice rules with no comparison operator are not supported"),
    ]


def test_a_top_level_rule_needs_a_string_next() -> None:
    assert problems({"Variable": "$.x", "IsNull": True}) == [
        (LOCATION, "The field 'Next' is required but was missing")
    ]
    assert problems({"Variable": "$.x", "IsNull": True, "Next": 3}) == [
        (f"{LOCATION}/Next", "The value for the field 'Next' must be a string")
    ]


def test_nested_rules_may_not_have_next_or_assign() -> None:
    raw = {
        "And": [
            {"Variable": "$.x", "IsNull": True, "Next": "B"},
            {"Not": {"Variable": "$.y", "IsNull": True, "Assign": {}}},
        ],
        "Next": "A",
    }
    assert problems(raw) == [
        (f"{LOCATION}/And[0]", "Field 'Next' is not supported"),
        (f"{LOCATION}/And[1]/Not", "Field 'Assign' is not supported"),
    ]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("NumericEquals", "1", "a number"),
        ("NumericLessThan", True, "a number"),
        ("NumericGreaterThanEquals", None, "a number"),
        ("StringEquals", 1, "a string"),
        ("StringGreaterThan", None, "a string"),
        ("StringMatches", 5, "a string"),
        ("BooleanEquals", "true", "a boolean"),
        ("BooleanEquals", 1, "a boolean"),
        ("TimestampEquals", "2016-03-14", "a timestamp, such as '2016-03-14T01:59:00Z'"),
        ("TimestampLessThan", 1457920740, "a timestamp, such as '2016-03-14T01:59:00Z'"),
        ("IsNull", "true", "a boolean"),
        ("IsPresent", 1, "a boolean"),
        ("IsNumeric", None, "a boolean"),
        ("IsString", "yes", "a boolean"),
        ("IsBoolean", [], "a boolean"),
        ("IsTimestamp", 0, "a boolean"),
        ("NumericEqualsPath", 3, "a string"),
    ],
)
def test_operands_of_the_wrong_type_are_reported_at_the_operator(
    field: str, value: Any, expected: str
) -> None:
    assert problems({"Variable": "$.x", field: value, "Next": "A"}) == [
        (f"{LOCATION}/{field}", f"The value for the field '{field}' must be {expected}")
    ]


@pytest.mark.parametrize(
    ("variable", "reason"),
    [
        ("foo", "Reference path didn't start with '$'"),
        ("", "Reference path didn't start with '$'"),
        ("$.a[*]", "is not a valid Reference Path"),
        ("$..a", "is not a valid Reference Path"),
        ("$.a[?(@.b > 1)]", "is not a valid Reference Path"),
        ("$.a.", "is not a valid JSONPath"),
    ],
)
def test_bad_reference_paths_are_reported_at_the_field(variable: str, reason: str) -> None:
    [(location, message)] = problems({"Variable": variable, "IsNull": True, "Next": "A"})
    assert location == f"{LOCATION}/Variable"
    assert message.startswith("Value is not a Reference Path: ")
    assert reason in message
    [(location, message)] = problems({"Variable": "$.x", "StringEqualsPath": variable, "Next": "A"})
    assert location == f"{LOCATION}/StringEqualsPath"
    assert message.startswith("Value is not a Reference Path: ")
    assert reason in message


def test_variable_must_be_a_string_and_is_required_by_data_tests() -> None:
    assert problems({"Variable": 5, "IsNull": True, "Next": "A"}) == [
        (f"{LOCATION}/Variable", "The value for the field 'Variable' must be a string")
    ]
    assert problems({"IsNull": True, "Next": "A"}) == [
        (LOCATION, "The field 'Variable' is required but was missing")
    ]


def test_boolean_expressions_take_no_variable() -> None:
    assert problems(
        {"Variable": "$.x", "Not": {"Variable": "$.x", "IsNull": True}, "Next": "A"}
    ) == [(LOCATION, "Field 'Variable' is not supported")]


@pytest.mark.parametrize("operator", ["And", "Or"])
def test_and_and_or_need_a_non_empty_array_of_rules(operator: str) -> None:
    assert problems({operator: [], "Next": "A"}) == [
        (f"{LOCATION}/{operator}", "Value cannot be empty")
    ]
    assert problems({operator: {"Variable": "$.x", "IsNull": True}, "Next": "A"}) == [
        (f"{LOCATION}/{operator}", f"The value for the field '{operator}' must be an array")
    ]
    assert problems({operator: [{"Variable": "$.x", "IsNull": True}, "x"], "Next": "A"}) == [
        (f"{LOCATION}/{operator}[1]", "A Choice Rule must be a JSON object")
    ]


@pytest.mark.parametrize("value", [[{"Variable": "$.x", "IsNull": True}], "x", None])
def test_not_needs_a_single_rule(value: Any) -> None:
    assert problems({"Not": value, "Next": "A"}) == [
        (f"{LOCATION}/Not", "The value for the field 'Not' must be an object")
    ]


def test_a_rule_that_is_not_an_object_is_reported() -> None:
    assert problems("StringEquals") == [(LOCATION, "A Choice Rule must be a JSON object")]


def test_comment_and_assign_have_types() -> None:
    assert problems({"Variable": "$.x", "IsNull": True, "Comment": 1, "Next": "A"}) == [
        (f"{LOCATION}/Comment", "The value for the field 'Comment' must be a string")
    ]
    assert problems({"Variable": "$.x", "IsNull": True, "Assign": [], "Next": "A"}) == [
        (f"{LOCATION}/Assign", "The value for the field 'Assign' must be an object")
    ]


def test_every_problem_of_a_rule_is_reported_not_only_the_first() -> None:
    raw = {
        "Or": [
            {"Variable": "$.a[*]", "NumericEquals": "one"},
            {"And": []},
            {"Not": {"Variable": "$.b", "Unknown": 1}},
            {"Variable": "$.c", "TimestampEquals": "later", "Next": "Nested"},
        ],
        "Extra": True,
    }
    assert problems(raw) == [
        (LOCATION, "Field 'Extra' is not supported"),
        (
            f"{LOCATION}/Or[0]/Variable",
            "Value is not a Reference Path: '$.a[*]' is not a valid "
            "Reference Path: it may only use '.name', \"['name']\" and '[index]' steps",
        ),
        (
            f"{LOCATION}/Or[0]/NumericEquals",
            "The value for the field 'NumericEquals' must be a number",
        ),
        (f"{LOCATION}/Or[1]/And", "Value cannot be empty"),
        (f"{LOCATION}/Or[2]/Not", "Field 'Unknown' is not supported"),
        (f"{LOCATION}/Or[2]/Not", "Choice rules with no comparison operator are not supported"),
        (f"{LOCATION}/Or[3]", "Field 'Next' is not supported"),
        (
            f"{LOCATION}/Or[3]/TimestampEquals",
            "The value for the field 'TimestampEquals' must be a timestamp, such as "
            "'2016-03-14T01:59:00Z'",
        ),
        (LOCATION, "The field 'Next' is required but was missing"),
    ]


def test_locations_escape_json_pointer_characters() -> None:
    report = Report()
    location = "/States/a~1b/Choices[0]"  # a state named "a/b"
    assert (
        compile_choice_rule({"Variable": "$.x", "IsNull": 1, "Next": "A"}, location, report) is None
    )
    assert [d.location for d in report.diagnostics] == [f"{location}/IsNull"]

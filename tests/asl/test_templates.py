"""Payload templates and dynamic expressions: compiling, reporting problems, evaluating."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from conformance import MISSING, load_cases
from conformance import definition as recorded_definition

from redstep.asl.diagnostics import Code, Report
from redstep.asl.errors import StatesFailure
from redstep.asl.intrinsics import Intrinsic
from redstep.asl.paths import apply_result_path, compile_path, compile_reference_path
from redstep.asl.scope import fixed_scope
from redstep.asl.templates import (
    PathExpression,
    Template,
    compile_expression,
    compile_template,
)

STATE_MACHINE_ARN = "arn:<partition>:states:<region>:111111111111:stateMachine:<ArnPart_0idx>"
PASS_FIELDS = {"Type", "Parameters", "ResultPath", "OutputPath", "End", "Comment"}
FAIL_FIELDS = {"Type", "Error", "Cause", "ErrorPath", "CausePath", "Comment"}
#: Recorded cases that fail for a reason outside this module, with the reason.
AT = "/States/Foo/Parameters"


def compiled(raw: Any) -> Template:
    report = Report()
    template = compile_template(raw, AT, report)
    assert report.diagnostics == []
    return template


def evaluate(raw: Any, data: Any, context: Any = None) -> Any:
    return compiled(raw).evaluate(data, fixed_scope(context))


def problems(raw: Any) -> list[tuple[str | None, str]]:
    report = Report()
    compile_template(raw, AT, report)
    assert all(d.code is Code.SCHEMA_VALIDATION_FAILED for d in report.diagnostics)
    return [(d.location, d.message) for d in report.diagnostics]


def must_be_valid(field: str) -> str:
    return (
        f"The value for the field '{field}' must be a valid JSONPath or a valid intrinsic "
        "function call"
    )


# -- AWS's recorded executions ------------------------------------------------------------------


def _single_state_cases() -> list[Any]:
    return list(_each_single_state_case())


def _each_single_state_case() -> Iterator[Any]:
    """Recorded machines of one JSONPath Pass state with Parameters, or one Fail state."""
    cases = load_cases()
    if not cases:
        yield pytest.param(None, None, marks=pytest.mark.skip(reason=MISSING))
    for case in cases:
        definition = recorded_definition(case)
        if definition.get("QueryLanguage") == "JSONata" or len(definition["States"]) != 1:
            continue
        (name, state), *_ = definition["States"].items()
        is_pass = state["Type"] == "Pass" and "Parameters" in state and set(state) <= PASS_FIELDS
        is_fail = state["Type"] == "Fail" and set(state) <= FAIL_FIELDS
        if is_pass or is_fail:
            yield pytest.param(case, (name, state), id=case["id"])


@pytest.mark.parametrize(("case", "named_state"), _single_state_cases())
def test_recorded_aws_execution(case: dict[str, Any], named_state: tuple[str, Any]) -> None:
    name, state = named_state
    data = case["input"]
    if isinstance(data, str):
        data = json.loads(data)
    context = {
        "Execution": {"Name": "<ExecArnPart_0idx>", "Input": data},
        "StateMachine": {"Id": STATE_MACHINE_ARN, "Name": "<ArnPart_0idx>"},
        "State": {"Name": name},
    }
    scope = fixed_scope(context)
    report = Report()
    expected = case["expected"]
    if state["Type"] == "Pass":
        result = compile_template(state["Parameters"], "/States/x/Parameters", report)
        output = apply_result_path(
            data, result.evaluate(data, scope), compile_reference_path(state.get("ResultPath", "$"))
        )
        output = compile_path(state.get("OutputPath", "$")).select(output, scope)
        assert (expected["status"], output) == ("SUCCEEDED", expected["output"])
    else:
        error = compile_expression(state["ErrorPath"], "ErrorPath", "/States/x/ErrorPath", report)
        cause = compile_expression(state["CausePath"], "CausePath", "/States/x/CausePath", report)
        assert error is not None
        assert cause is not None
        assert (expected["status"], expected["error"], expected["cause"]) == (
            "FAILED",
            error.evaluate(data, scope),
            cause.evaluate(data, scope),
        )
    assert report.diagnostics == []


# -- evaluation ---------------------------------------------------------------------------------


def test_literals_are_copied_and_dollar_fields_are_filled_in() -> None:
    raw = {
        "constant": "text",
        "number": 1,
        "nothing": None,
        "nested": {"list": [1, "two", {"three": 3}], "empty": {}},
        "fromInput.$": "$.a.b",
        "whole.$": "$",
        "fromContext.$": "$$.Execution.Name",
        "computed.$": "States.Format('{}-{}', $.a.b, $$.Execution.Name)",
    }
    data = {"a": {"b": 7}}
    assert evaluate(raw, data, {"Execution": {"Name": "run"}}) == {
        "constant": "text",
        "number": 1,
        "nothing": None,
        "nested": {"list": [1, "two", {"three": 3}], "empty": {}},
        "fromInput": 7,
        "whole": data,
        "fromContext": "run",
        "computed": "7-run",
    }


def test_objects_inside_arrays_and_nested_objects_are_templates_too() -> None:
    raw = {
        "items": [{"id.$": "$.id", "kind": "a"}, [{"deep.$": "$.id"}], 5],
        "outer": {"inner.$": "$"},
    }
    assert evaluate(raw, {"id": 1}) == {
        "items": [{"id": 1, "kind": "a"}, [{"deep": 1}], 5],
        "outer": {"inner": {"id": 1}},
    }


def test_a_template_that_is_not_an_object() -> None:
    assert evaluate("text", {"a": 1}) == "text"
    assert evaluate(None, {"a": 1}) is None
    assert evaluate([{"a.$": "$.a"}, 2], {"a": 1}) == [{"a": 1}, 2]
    assert evaluate({}, {"a": 1}) == {}


def test_the_output_keeps_the_templates_field_order() -> None:
    raw = {"z.$": "$.v", "a": 1, "m.$": "$.v", "b": {"c": 2}}
    assert list(evaluate(raw, {"v": 0})) == ["z", "a", "m", "b"]
    raw = {"a": 1, "b": 2, "z.$": "$.v", "c": 3}
    assert list(evaluate(raw, {"v": 0})) == ["a", "b", "z", "c"]


def test_fields_named_like_state_fields_are_plain_fields() -> None:
    # Recorded on AWS: "Comment" inside Parameters is copied like any other field.
    raw = {"Comment": "Comment text", "comment": "comment text", "constant": "constant text"}
    assert evaluate(raw, {}) == raw


def test_evaluation_builds_a_new_value_and_never_modifies_the_input() -> None:
    template = compiled({"a": {"b": 1}, "list": [{"c.$": "$.c"}], "d.$": "$.d"})
    data = {"c": [1, 2], "d": {"e": 1}}
    before = copy.deepcopy(data)
    first = template.evaluate(data, fixed_scope())
    second = template.evaluate(data, fixed_scope())
    assert data == before
    assert first == second
    assert first is not second
    assert first["list"] is not second["list"]


def test_an_indefinite_path_gives_the_list_of_its_matches() -> None:
    # Recorded on AWS (TestSnfBase::test_state_pass_regex_json_path_base).
    data = {"users": [{"status": 0, "year": 1997}, {"status": 1, "year": 1998}]}
    raw = {"FromInput.$": "$.users[?(@.status == 0)]", "years.$": "$.users[*].year"}
    assert evaluate(raw, data) == {
        "FromInput": [{"status": 0, "year": 1997}],
        "years": [1997, 1998],
    }


def test_a_path_that_selects_nothing_fails_in_aws_words() -> None:
    template = compiled({"ok": 1, "param1.$": "$.missing"})
    with pytest.raises(StatesFailure) as raised:
        template.evaluate({"a": 1, "b": "é"}, fixed_scope())
    assert raised.value.failure.error == "States.Runtime"
    assert raised.value.failure.cause == (
        "The JSONPath '$.missing' specified for the field 'param1.$' could not be found in "
        'the input \'{"a":1,"b":"é"}\''
    )


def test_a_missing_context_path_names_the_context_object() -> None:
    template = compiled({"ctx.$": "$$.Map.Item.Value"})
    with pytest.raises(StatesFailure) as raised:
        template.evaluate({"a": 1}, fixed_scope({"Execution": {}}))
    assert raised.value.failure.cause == (
        "The JSONPath '$$.Map.Item.Value' specified for the field 'ctx.$' could not be found "
        "in the input '{\"Execution\":{}}'"
    )


def test_a_failing_intrinsic_fails_the_template() -> None:
    template = compiled({"deep": [{"sum.$": "States.MathAdd($.a, 1)"}]})
    with pytest.raises(StatesFailure) as raised:
        template.evaluate({"a": "x"}, fixed_scope())
    assert raised.value.failure.error == "States.Runtime"
    assert raised.value.failure.cause == (
        "The function 'States.MathAdd($.a, 1)' had the following error: "
        "Invalid arguments in States.MathAdd"
    )


def test_a_template_knows_whether_it_is_constant() -> None:
    assert compiled({"a": [1, {"b": 2}]}).is_constant
    assert compiled("x").is_constant
    assert not compiled({"a": [1, {"b.$": "$"}]}).is_constant
    assert compiled({"a": 1}) == compiled({"a": 1})
    assert compiled({"a": 1}).raw == {"a": 1}


# -- compile-time problems ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        (1, ""),
        (None, ""),
        ({"a": 1}, ""),
        (["$.a"], ""),
        ("not a path", ""),
        ("", ""),
        (" $.a", ""),
        ("$.a[", ": '$.a[' is not a valid JSONPath"),
        ("States.Nope()", ": unknown intrinsic function 'States.Nope'"),
        ("States.MathAdd(1)", ": 'States.MathAdd' takes 2 arguments, but 1 was given"),
        ("States.Format('x'", ": expected ')' before the end of the expression"),
    ],
)
def test_a_bad_dollar_field_is_reported_at_its_pointer(value: Any, detail: str) -> None:
    [(location, message)] = problems({"ok": 1, "bar.$": value})
    assert location == f"{AT}/bar.$"
    assert message.startswith(must_be_valid("bar.$") + detail)


def test_every_problem_is_reported_with_its_own_pointer() -> None:
    raw = {
        "a.$": 1,
        "fine.$": "$.x",
        "nested": {"list": [0, {"b.$": "nope"}], "c/d.$": "States.X()"},
        "e.$": "States.Array(",
    }
    assert [location for location, _ in problems(raw)] == [
        f"{AT}/a.$",
        f"{AT}/nested/list[1]/b.$",
        f"{AT}/nested/c/d.$",
        f"{AT}/e.$",
    ]


def test_the_rest_of_a_template_with_a_problem_still_compiles() -> None:
    report = Report()
    template = compile_template({"bad.$": 1, "good.$": "$.a", "c": 2}, AT, report)
    assert len(report.diagnostics) == 1
    assert template.evaluate({"a": 5}, fixed_scope()) == {"good": 5, "c": 2}


def test_a_field_given_twice_is_reported() -> None:
    assert problems({"a": 1, "a.$": "$.a"}) == [
        (f"{AT}/a.$", "The field 'a' is given twice, as 'a' and as 'a.$'")
    ]


# -- expressions (ErrorPath, CausePath) -----------------------------------------------------------


def expression(text: Any, field: str = "CausePath") -> tuple[Any, list[tuple[str | None, str]]]:
    report = Report()
    compiled = compile_expression(text, field, f"/States/Fail/{field}", report)
    return compiled, [(d.location, d.message) for d in report.diagnostics]


def test_an_expression_is_a_path_or_an_intrinsic() -> None:
    path, reported = expression("$.Cause")
    assert reported == []
    assert isinstance(path, PathExpression)
    assert path.evaluate({"Cause": "c"}, fixed_scope()) == "c"
    intrinsic, reported = expression("States.Format('{} failed', $$.State.Name)", "ErrorPath")
    assert reported == []
    assert isinstance(intrinsic, Intrinsic)
    assert intrinsic.evaluate({}, fixed_scope({"State": {"Name": "S"}})) == "S failed"


def test_an_expression_that_selects_nothing_names_its_field() -> None:
    path, _ = expression("$.Cause")
    assert path is not None
    with pytest.raises(StatesFailure) as raised:
        path.evaluate({}, fixed_scope())
    assert raised.value.failure.cause == (
        "The JSONPath '$.Cause' specified for the field 'CausePath' could not be found in the "
        "input '{}'"
    )


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        (None, ""),
        (42, ""),
        ("cause", ""),
        ("$.items[*]", ": '$.items[*]' is not a valid Reference Path"),
        ("States.Array($.a)", ": States.Array cannot be used here"),
        ("States.StringToJson($.a)", ": States.StringToJson cannot be used here"),
        ("States.Formatt('{}', $.a)", ": unknown intrinsic function 'States.Formatt'"),
    ],
)
def test_a_bad_error_or_cause_path_is_reported(text: Any, detail: str) -> None:
    compiled, reported = expression(text)
    assert compiled is None
    [(location, message)] = reported
    assert location == "/States/Fail/CausePath"
    assert message.startswith(must_be_valid("CausePath") + detail)


@pytest.mark.parametrize(
    "text",
    [
        "States.Format('{}', $.a)",
        "States.JsonToString($.a)",
        "States.ArrayGetItem($.a, 0)",
        "States.Base64Encode($.a)",
        "States.Base64Decode($.a)",
        "States.Hash($.a, 'MD5')",
        "States.UUID()",
    ],
)
def test_the_string_intrinsics_aws_documents_for_error_and_cause_paths(text: str) -> None:
    compiled, reported = expression(text)
    assert reported == []
    assert compiled is not None

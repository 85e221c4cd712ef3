"""The intrinsic functions: parsing, each function's values and failures, and AWS's recordings.

Expected values come from three places, named at each test: executions recorded on AWS (the
conformance cases, and LocalStack's AWS-validated snapshots), AWS's developer guide, and the
standard test vectors of the hash algorithms.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from conformance import MISSING, load_cases
from conformance import definition as recorded_definition

from redstep.asl.errors import StatesFailure
from redstep.asl.intrinsics import (
    FUNCTIONS,
    Intrinsic,
    IntrinsicSyntaxError,
    compile_intrinsic,
    is_intrinsic,
)
from redstep.asl.paths import apply_result_path, compile_path, compile_reference_path
from redstep.asl.scope import fixed_scope

INTRINSIC_SUITES = (
    "TestArray",
    "TestEncodeDecode",
    "TestGeneric",
    "TestJsonManipulation",
    "TestMathOperations",
)
STATE_MACHINE_ARN = "arn:<partition>:states:<region>:111111111111:stateMachine:<ArnPart_0idx>"


def run(text: str, data: Any = None, context: Any = None, seed: int = 0) -> Any:
    return compile_intrinsic(text).evaluate(data, fixed_scope(context, seed))


def failure(text: str, data: Any = None, context: Any = None) -> tuple[str | None, str | None]:
    with pytest.raises(StatesFailure) as raised:
        run(text, data, context)
    return raised.value.failure.error, raised.value.failure.cause


def invalid(text: str, data: Any = None) -> None:
    """The call fails as AWS's does for bad arguments: States.Runtime, naming the function."""
    name = text[: text.index("(")]
    assert failure(text, data) == (
        "States.Runtime",
        f"The function '{text}' had the following error: Invalid arguments in {name}",
    )


# -- AWS's recorded executions --------------------------------------------------------------------


def _intrinsic_cases() -> list[Any]:
    return list(_each_intrinsic_case())


def _each_intrinsic_case() -> Iterator[Any]:
    cases = load_cases()
    if not cases:
        yield pytest.param(None, marks=pytest.mark.skip(reason=MISSING))
    for case in cases:
        if case["id"].split("::")[0] in INTRINSIC_SUITES:
            yield pytest.param(case, id=case["id"])


@pytest.mark.parametrize("case", _intrinsic_cases())
def test_recorded_aws_execution(case: dict[str, Any]) -> None:
    """Each recorded single-Pass-state machine's output, computed from its intrinsics alone."""
    definition = recorded_definition(case)
    assert len(definition["States"]) == 1
    name, state = next(iter(definition["States"].items()))
    data = case["input"]
    if isinstance(data, str):
        data = json.loads(data)
    context = {
        "Execution": {"Name": "<ExecArnPart_0idx>", "Input": data},
        "StateMachine": {"Id": STATE_MACHINE_ARN, "Name": "<ArnPart_0idx>"},
        "State": {"Name": name},
    }
    scope = fixed_scope(context)
    parameters = {
        key.removesuffix(".$"): compile_intrinsic(value).evaluate(data, scope)
        if key.endswith(".$")
        else value
        for key, value in state["Parameters"].items()
    }
    output = apply_result_path(
        data, parameters, compile_reference_path(state.get("ResultPath", "$"))
    )
    output = compile_path(state.get("OutputPath", "$")).select(output, scope)
    expected = case["expected"]
    assert expected["status"] == "SUCCEEDED"
    assert output == expected["output"]
    # Numbers keep their JSON type: 1 stays 1, not 1.0.
    assert json.dumps(output, sort_keys=True) == json.dumps(expected["output"], sort_keys=True)


# -- parsing --------------------------------------------------------------------------------------


def test_a_compiled_intrinsic_keeps_its_text_and_name() -> None:
    intrinsic = compile_intrinsic("States.Array(1, 2)")
    assert isinstance(intrinsic, Intrinsic)
    assert intrinsic.text == "States.Array(1, 2)"
    assert intrinsic.name == "States.Array"
    assert compile_intrinsic("States.Array(1, 2)") == intrinsic


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.Array()", True),
        ("States.Format('{}', $.a)", True),
        ("States.UUID ()", True),
        ("$.a", False),
        ("$$.Execution.Id", False),
        ("States.", False),
        ("States.Array", False),
        ("Hello States.Array()", False),
        ("", False),
    ],
)
def test_is_intrinsic(text: str, expected: bool) -> None:
    assert is_intrinsic(text) is expected


def test_all_eighteen_functions_are_known() -> None:
    names = [
        *("Format", "StringToJson", "JsonToString", "Array", "ArrayPartition", "ArrayContains"),
        *("ArrayRange", "ArrayGetItem", "ArrayLength", "ArrayUnique", "Base64Encode"),
        *("Base64Decode", "Hash", "JsonMerge", "MathRandom", "MathAdd", "StringSplit", "UUID"),
    ]
    assert sorted(FUNCTIONS) == sorted(f"States.{name}" for name in names)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.Array(1, -2, 1.5, -0.25, 2e3, 0)", [1, -2, 1.5, -0.25, 2000.0, 0]),
        ("States.Array(true, false, null)", [True, False, None]),
        ("States.Array('a', '', 'b c')", ["a", "", "b c"]),
        ("States.Array(  1 ,2,   'x'  )", [1, 2, "x"]),
        ("  States.Array(1)  ", [1]),
        ("States.Array('it\\'s', 'a\\\\b', '\\{\\}', '{}')", ["it's", "a\\b", "{}", "{}"]),
        ("States.Array('a,b)', 'c')", ["a,b)", "c"]),
        ("States.Array(States.Array(), States.Array(States.Array(1)))", [[], [[1]]]),
    ],
)
def test_literal_arguments(text: str, expected: Any) -> None:
    result = run(text)
    assert result == expected
    assert [type(item) for item in result] == [type(item) for item in expected]


def test_path_arguments_read_the_input_and_context_paths_the_context() -> None:
    data = {"a": {"b": [10, 20]}, "odd key": 1, "c,d": 2}
    context = {"Execution": {"Name": "run-1"}}
    assert run("States.Array($, $.a.b[1], $['odd key'], $['c,d'])", data) == [data, 20, 1, 2]
    assert run("States.Array($$.Execution.Name, $$)", data, context) == ["run-1", context]


def test_an_indefinite_path_argument_is_the_list_of_its_matches() -> None:
    data = {"items": [{"x": 1, "ok": True}, {"x": 2, "ok": False}, {"y": 3}]}
    assert run("States.Array($.items[*].x)", data) == [[1, 2]]
    assert run("States.ArrayLength($.items[?(@.ok == true)])", data) == 1
    # A wildcard that matches nothing is an empty array, not a missing argument.
    assert run("States.ArrayLength($.items[*].nope)", data) == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "States.Formatt('{}', 1)",
            "unknown intrinsic function 'States.Formatt'; did you mean 'States.Format'?",
        ),
        ("States.Nothing()", "unknown intrinsic function 'States.Nothing'"),
        ("States.Array(States.Sum(1))", "unknown intrinsic function 'States.Sum'"),
        ("Format('{}', 1)", "an intrinsic function call starts with 'States.'"),
        ("$.a", "an intrinsic function call starts with 'States.'"),
        ("States.MathAdd(1)", "'States.MathAdd' takes 2 arguments, but 1 was given"),
        ("States.MathAdd(1, 2, 3)", "'States.MathAdd' takes 2 arguments, but 3 were given"),
        ("States.UUID(1)", "'States.UUID' takes 0 arguments, but 1 was given"),
        ("States.MathRandom(1)", "'States.MathRandom' takes 2 to 3 arguments, but 1 was given"),
        ("States.Format()", "'States.Format' takes at least 1 argument, but 0 were given"),
        ("States.JsonMerge($.a, $.b)", "'States.JsonMerge' takes 3 arguments, but 2 were given"),
        ("States.Array('abc)", "unterminated string literal"),
        ("States.Array(1", "expected ')' before the end of the expression"),
        ("States.Array(1,", "expected an argument before the end of the expression"),
        ("States.Array(1 2)", "expected ',' or ')' but found '2'"),
        ("States.Array(1) + 1", "unexpected '+' after the call"),
        ('States.Array("a")', "unexpected '\"' where an argument was expected"),
        ("States.Array(yes)", "unexpected 'yes'; a string argument is written in single quotes"),
        ("States.Array($.a[)", "is not a valid JSONPath"),
        ("States.Array", "expected '(' after 'States.Array'"),
    ],
)
def test_syntax_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(IntrinsicSyntaxError, match=re.escape(message)):
        compile_intrinsic(text)


def test_syntax_errors_are_value_errors_and_name_the_position() -> None:
    with pytest.raises(ValueError, match=r"at position 13 of \"States.Array\('abc\)\""):
        compile_intrinsic("States.Array('abc)")


# -- run-time failures ----------------------------------------------------------------------------


def test_a_path_argument_that_selects_nothing_fails_naming_the_whole_expression() -> None:
    # The cause as AWS writes it (captured from AWS by the Floci emulator's test suite).
    text = "States.Format('{}', States.Format('{}', $.nope))"
    assert failure(text, {"other": 1}) == (
        "States.Runtime",
        f"The function '{text}' had the following error: The JsonPath argument for the field "
        "'$.nope' could not be found in the input '{\"other\":1}'",
    )


def test_an_index_past_the_end_is_a_missing_argument() -> None:
    error, cause = failure("States.Array($.items[5])", {"items": [1, 2]})
    assert error == "States.Runtime"
    assert "the field '$.items[5]' could not be found" in (cause or "")


def test_a_missing_context_path_is_named_inside_the_context_object() -> None:
    assert failure("States.Array($$.Nope.Deep)", {"other": 1}, {"State": {}}) == (
        "States.Runtime",
        "The function 'States.Array($$.Nope.Deep)' had the following error: The JsonPath "
        "argument for the field '$.Nope.Deep' could not be found in the input '{\"other\":1}'",
    )


def test_an_explicit_null_argument_is_a_value_not_a_miss() -> None:
    assert run("States.Format('{}', $.nul)", {"nul": None}) == "null"


def test_an_unknown_escape_fails_when_the_state_runs() -> None:
    # AWS documents an open escape backslash as a run-time error.
    text = "States.Array('a\\nb')"
    compiled = compile_intrinsic(text)
    with pytest.raises(StatesFailure, match=re.escape("Invalid escape sequence '\\n'")):
        compiled.evaluate(None, fixed_scope())


COUNT_MISMATCH = (
    "Invalid arguments in States.Format: number of arguments do not match the occurrences of {}."
)


# -- States.Format --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "data", "expected"),
    [
        # AWS developer guide.
        (
            "States.Format('Hello, my name is {}.', $.name)",
            {"name": "Arnav"},
            "Hello, my name is Arnav.",
        ),
        (
            "States.Format($.template, $.name)",
            {"name": "Arnav", "template": "Hello, my name is {}."},
            "Hello, my name is Arnav.",
        ),
        ("States.Format('no placeholders')", None, "no placeholders"),
        ("States.Format('{}{}', 'a', 'b')", None, "ab"),
        ("States.Format('\\{\\} {} \\\\', 1)", None, "{} 1 \\"),
        ("States.Format('it\\'s {}', true)", None, "it's true"),
        ("States.Format('{} {} {}', null, 1.5, -3)", None, "null 1.5 -3"),
        # Objects and arrays as Java's toString writes them, as recorded on AWS.
        ("States.Format('{}', $)", {"Id": "arn", "Name": "n"}, "{Id=arn, Name=n}"),
        (
            "States.Format('{}', $)",
            {"a": [1, "x", None, {"b": True}], "c": {}},
            "{a=[1, x, null, {b=true}], c={}}",
        ),
        ("States.Format('{}', States.Array())", None, "[]"),
        ("States.Format('{}', $.s)", {"s": '{"Arg1": 1}'}, '{"Arg1": 1}'),
    ],
)
def test_format(text: str, data: Any, expected: str) -> None:
    assert run(text, data) == expected


@pytest.mark.parametrize(
    ("text", "data", "detail"),
    [
        (
            "States.Format('{} {}', 1)",
            None,
            COUNT_MISMATCH,
        ),
        (
            "States.Format('{}', 1, 2)",
            None,
            COUNT_MISMATCH,
        ),
        (
            "States.Format('{', 1)",
            None,
            "Invalid template in States.Format: matching '}' not found for '{'.",
        ),
        (
            "States.Format('{x}', 1)",
            None,
            "Invalid template in States.Format: matching '}' not found for '{'.",
        ),
        (
            "States.Format('}', 1)",
            None,
            "Invalid template in States.Format: matching '{' not found for '}'.",
        ),
        (
            "States.Format($.t, 1)",
            {"t": "{"},
            "Invalid template in States.Format: matching '}' not found for '{'.",
        ),
        ("States.Format($.t)", {"t": 1}, "Invalid arguments in States.Format"),
    ],
)
def test_format_failures(text: str, data: Any, detail: str) -> None:
    assert failure(text, data) == (
        "States.Runtime",
        f"The function '{text}' had the following error: {detail}",
    )


# -- JSON -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ("  ", None),
        ("null", None),
        ("-0", 0),
        ("1", 1),
        ("1.1", 1.1),
        ("true", True),
        ('"HelloWorld"', "HelloWorld"),
        ('[1, 2, "HelloWorld"]', [1, 2, "HelloWorld"]),
        ('{"foo": "bar"}', {"foo": "bar"}),
    ],
)
def test_string_to_json(text: str, expected: Any) -> None:
    result = run("States.StringToJson($.s)", {"s": text})
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    "value",
    [
        1,
        None,
        ["[]"],
        {"a": 1},
        "{",
        "[1,]",
        "1 2",
        # Python's reader takes these; JSON has no NaN or infinities, and 1e400 overflows a double
        "NaN",
        "-Infinity",
        '{"a": Infinity}',
        "[1e400]",
        "1" * 5000,
        "[" * 300 + "]" * 300,
        "[" * 5000,
    ],
)
def test_string_to_json_rejects_non_strings_and_bad_or_too_deep_json(value: Any) -> None:
    invalid("States.StringToJson($.s)", {"s": value})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (0, "0"),
        (1.1, "1.1"),
        (True, "true"),
        ("HelloWorld", '"HelloWorld"'),
        ([1, 2, "HelloWorld"], '[1,2,"HelloWorld"]'),
        ({"Arg1": 1, "Arg2": []}, '{"Arg1":1,"Arg2":[]}'),
        ({"é": "ü"}, '{"é":"ü"}'),
    ],
)
def test_json_to_string_writes_compact_json(value: Any, expected: str) -> None:
    assert run("States.JsonToString($.v)", {"v": value}) == expected


def test_json_merge_is_shallow_and_the_second_object_wins() -> None:
    # AWS developer guide.
    data = {"json1": {"a": {"a1": 1, "a2": 2}, "b": 2}, "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}}
    merged = run("States.JsonMerge($.json1, $.json2, false)", data)
    assert merged == {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3}
    assert list(merged) == ["a", "b", "c"]
    assert data["json1"] == {"a": {"a1": 1, "a2": 2}, "b": 2}


@pytest.mark.parametrize(
    "text",
    [
        "States.JsonMerge($.o, $.o, true)",  # AWS supports only the shallow merge
        "States.JsonMerge($.o, $.o, 0)",
        "States.JsonMerge($.o, $.o, null)",
        "States.JsonMerge($.o, $.list, false)",
        "States.JsonMerge('{}', $.o, false)",
    ],
)
def test_json_merge_failures(text: str) -> None:
    invalid(text, {"o": {"a": 1}, "list": [1]})


# -- arrays ---------------------------------------------------------------------------------------


def test_array() -> None:
    assert run("States.Array()") == []
    assert run("States.Array($.Id)", {"Id": 123456}) == [123456]  # AWS developer guide


@pytest.mark.parametrize(
    ("items", "size", "expected"),
    [
        ([1, 2, 3, 4, 5, 6, 7, 8, 9], 4, [[1, 2, 3, 4], [5, 6, 7, 8], [9]]),  # developer guide
        ([], 3, []),
        ([1, 2, 3], 10, [[1, 2, 3]]),
        ([[1], [2], [3]], 2, [[[1], [2]], [[3]]]),
        ([1, 2, 3, 4, 5], 2.6, [[1, 2], [3, 4], [5]]),  # AWS truncates the chunk size
        ([1, 2, 3], 2147483647, [[1, 2, 3]]),
    ],
)
def test_array_partition(items: list[Any], size: float, expected: Any) -> None:
    assert run("States.ArrayPartition($.items, $.size)", {"items": items, "size": size}) == expected


@pytest.mark.parametrize(
    ("items", "size"),
    [([1], 0), ([1], 0.6), ([1], -1), ([1], "2"), ([1], None), ([1], True), ("x", 2)],
)
def test_array_partition_failures(items: Any, size: Any) -> None:
    invalid("States.ArrayPartition($.items, $.size)", {"items": items, "size": size})


@pytest.mark.parametrize(
    ("items", "value", "expected"),
    [
        ([1, 2, 3, 4, 5, 6, 7, 8, 9], 5, True),  # developer guide
        ([[1, 2, 3], 2], [1, 2, 3], True),
        ([{"1": 2, "2": []}], {"2": [], "1": 2}, True),
        ([True, False], False, True),
        ([1], True, False),  # a boolean is not a number
        ([0], False, False),
        ([1.0], 1, True),
        ([None], None, True),
        ([], None, False),
        ([[1]], [1, 1], False),
    ],
)
def test_array_contains(items: list[Any], value: Any, expected: bool) -> None:
    assert (
        run("States.ArrayContains($.items, $.value)", {"items": items, "value": value}) is expected
    )


def test_array_contains_needs_an_array() -> None:
    invalid("States.ArrayContains($.s, 1)", {"s": "abc"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.ArrayRange(1, 9, 2)", [1, 3, 5, 7, 9]),  # developer guide
        ("States.ArrayRange(0, 9, 3)", [0, 3, 6, 9]),
        ("States.ArrayRange(0, 10, 3)", [0, 3, 6, 9]),
        ("States.ArrayRange(1, 9, 9)", [1]),
        ("States.ArrayRange(-2, 2, 2)", [-2, 0, 2]),
        ("States.ArrayRange(3, 3, -1)", [3]),
        ("States.ArrayRange(5, 1, -2)", [5, 3, 1]),
        ("States.ArrayRange(5, 1, 1)", []),
        ("States.ArrayRange(1.6, 1.4, 1)", [1]),  # AWS truncates every argument
        ("States.ArrayRange(5.4, -0.6, -2.4)", [5, 3, 1]),
    ],
)
def test_array_range(text: str, expected: list[int]) -> None:
    result = run(text)
    assert result == expected
    assert all(type(item) is int for item in result)


def test_array_range_allows_at_most_1000_items() -> None:
    assert len(run("States.ArrayRange(1, 1000, 1)")) == 1000
    assert len(run("States.ArrayRange(1000, 1, -1)")) == 1000
    invalid("States.ArrayRange(1, 1001, 1)")
    invalid("States.ArrayRange(1001, 1, -1)")


@pytest.mark.parametrize(
    "text",
    [
        "States.ArrayRange(1, 10, 0)",
        "States.ArrayRange(1, 10, 0.49)",
        "States.ArrayRange('a', 5, 1)",
        "States.ArrayRange(1, null, 1)",
    ],
)
def test_array_range_failures(text: str) -> None:
    invalid(text)


def test_array_get_item() -> None:
    data = {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "index": 5}
    assert run("States.ArrayGetItem($.inputArray, $.index)", data) == 6  # developer guide
    assert run("States.ArrayGetItem($.inputArray, 0)", data) == 1
    assert run("States.ArrayGetItem($.inputArray, 8)", data) == 9
    for index in ("9", "-1", "'0'", "null"):
        invalid(f"States.ArrayGetItem($.inputArray, {index})", data)
    invalid("States.ArrayGetItem($.index, 0)", data)


def test_array_length() -> None:
    assert run("States.ArrayLength($.a)", {"a": [1, 2, 3, 4, 5, 6, 7, 8, 9]}) == 9
    assert run("States.ArrayLength($.a)", {"a": []}) == 0
    invalid("States.ArrayLength($.a)", {"a": "abc"})
    invalid("States.ArrayLength($.a)", {"a": {"k": 1}})


def test_array_unique_keeps_the_first_of_equal_values_in_order() -> None:
    # AWS developer guide: [1,2,3,3,3,3,3,3,4] gives [1,2,3,4].
    assert run("States.ArrayUnique($.a)", {"a": [1, 2, 3, 3, 3, 3, 3, 3, 4]}) == [1, 2, 3, 4]
    objects = [{"a": 1, "b": 2}, {"b": 2, "a": 1}, {"a": 1, "b": 1}]
    values = [None, None, True, True, False, False, 1, 1, 1.1, 0, 0, "Hi", "Hi", [], [], [None]]
    unique = [None, True, False, 1, 1.1, 0, "Hi", [], [None], objects[0], objects[2]]
    assert run("States.ArrayUnique($.a)", {"a": values + objects}) == unique
    invalid("States.ArrayUnique($.a)", {"a": None})


# -- encoding and hashing -------------------------------------------------------------------------


def test_base64() -> None:
    assert run("States.Base64Encode($.s)", {"s": "Data to encode"}) == "RGF0YSB0byBlbmNvZGU="
    assert run("States.Base64Decode($.s)", {"s": "RGF0YSB0byBlbmNvZGU="}) == "Data to encode"
    assert run("States.Base64Encode('')") == ""
    assert run("States.Base64Decode('')") == ""
    assert run("States.Base64Decode(States.Base64Encode('héllo ✓'))") == "héllo ✓"


@pytest.mark.parametrize(
    "text",
    [
        "States.Base64Encode($.n)",
        "States.Base64Decode($.n)",
        "States.Base64Decode('not base64!')",
        "States.Base64Decode('/w==')",  # not UTF-8
        "States.Base64Encode($.long)",
        "States.Base64Decode($.long)",
    ],
)
def test_base64_failures(text: str) -> None:
    invalid(text, {"n": 1, "long": "A" * 10_004})


@pytest.mark.parametrize(
    ("data", "algorithm", "expected"),
    [
        # AWS developer guide.
        ("input data", "SHA-1", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
        # The standard test vectors of each algorithm ("abc").
        ("abc", "MD5", "900150983cd24fb0d6963f7d28e17f72"),
        ("abc", "SHA-1", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("abc", "SHA-256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abc",
            "SHA-384",
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
        ),
        (
            "abc",
            "SHA-512",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        ),
    ],
)
def test_hash(data: str, algorithm: str, expected: str) -> None:
    assert (
        run("States.Hash($.Data, $.Algorithm)", {"Data": data, "Algorithm": algorithm}) == expected
    )


@pytest.mark.parametrize(
    ("data", "algorithm"),
    [
        ("abc", "sha-1"),
        ("abc", "SHA1"),
        ("abc", "CRC32"),
        ("abc", None),
        (1, "MD5"),
        ("A" * 10_001, "MD5"),
    ],
)
def test_hash_failures(data: Any, algorithm: Any) -> None:
    invalid("States.Hash($.Data, $.Algorithm)", {"Data": data, "Algorithm": algorithm})


# -- numbers --------------------------------------------------------------------------------------

#: (a, b, sum) recorded on AWS (LocalStack's AWS-validated snapshot test_math_operations): a
#: non-integer is rounded half up, as Java's Math.round does.
MATH_ADD_RECORDED = [
    (-9, 3, -6), (1.49, 1.5, 3), (1.5, 1.51, 4), (-1.49, -1.5, -2), (-1.5, -1.51, -3),
    (1.49, 0, 1), (1.49, -1.49, 0), (1.5, 0, 2), (1.51, 0, 2), (-1.49, 0, -1), (-1.5, 0, -1),
    (-1.51, 0, -2), (0.5, 0, 1), (1.5, 0, 2), (2.5, 0, 3), (3.5, 0, 4), (-0.5, 0.5, 1),
    (-0.5, 0, 0), (-1.5, 0, -1), (-2.5, 0, -2),
]  # fmt: skip


@pytest.mark.parametrize(("first", "second", "expected"), MATH_ADD_RECORDED)
def test_math_add_as_recorded_on_aws(first: float, second: float, expected: int) -> None:
    result = run("States.MathAdd($.a, $.b)", {"a": first, "b": second})
    assert result == expected
    assert type(result) is int


def test_math_add_keeps_integers() -> None:
    assert json.dumps(run("States.MathAdd(1, 2)")) == "3"
    assert run("States.MathAdd($.value1, $.step)", {"value1": 111, "step": -1}) == 110


@pytest.mark.parametrize(
    "text",
    [
        "States.MathAdd($.s, 1)",
        "States.MathAdd(1, null)",
        "States.MathAdd(true, 1)",
        "States.MathAdd(2147483647, 1)",
        "States.MathAdd(-2147483649, 0)",
    ],
)
def test_math_add_failures(text: str) -> None:
    invalid(text, {"s": "NOT A NUMBER"})


def test_math_random_draws_from_the_scope_so_replays_repeat() -> None:
    values = [run("States.MathRandom(1, 999)", seed=seed) for seed in range(50)]
    assert all(type(value) is int and 1 <= value < 999 for value in values)
    assert values == [run("States.MathRandom(1, 999)", seed=seed) for seed in range(50)]
    assert len(set(values)) > 10
    # The end is exclusive and bounds are truncated: (1.6, 2.4) can only give 1.
    assert {run("States.MathRandom(1.6, 2.4)", seed=seed) for seed in range(20)} == {1}


def test_math_random_with_a_seed_does_not_depend_on_the_scope() -> None:
    seeded = {run("States.MathRandom(0, 999, 3)", seed=seed) for seed in range(10)}
    assert len(seeded) == 1
    assert 0 <= seeded.pop() < 999
    assert run("States.MathRandom(1, 10, -10)") in range(1, 10)


@pytest.mark.parametrize(
    "text",
    [
        "States.MathRandom(1, 1)",
        "States.MathRandom(10, 5)",
        "States.MathRandom(1.4, 1.6)",
        "States.MathRandom('a', 10)",
        "States.MathRandom(1, 10, 'seed')",
        "States.MathRandom(1, 10, null)",
        "States.MathRandom(0, 2147483648)",
    ],
)
def test_math_random_failures(text: str) -> None:
    invalid(text)


# -- strings and ids ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "delimiters", "expected"),
    [
        ("1,2,3,4,5", ",", ["1", "2", "3", "4", "5"]),  # LocalStack's AWS-validated snapshot
        ("This.is+a,test=string", ".+,=", ["This", "is", "a", "test", "string"]),
        ("a,,b,", ",", ["a", "b"]),
        ("no delimiter", ",", ["no delimiter"]),
        ("a-b-c", "", ["a-b-c"]),
        ("", ",", []),
        ("a]b\\c", "]\\", ["a", "b", "c"]),
    ],
)
def test_string_split(text: str, delimiters: str, expected: list[str]) -> None:
    assert run("States.StringSplit($.s, $.d)", {"s": text, "d": delimiters}) == expected


def test_string_split_failures() -> None:
    invalid("States.StringSplit($.n, ',')", {"n": 1})
    invalid("States.StringSplit('a,b', $.n)", {"n": None})


def test_uuid_is_a_version_4_uuid_drawn_from_the_scope() -> None:
    first = run("States.UUID()", seed=7)
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", first
    )
    assert run("States.UUID()", seed=7) == first
    assert run("States.UUID()", seed=8) != first
    scope = fixed_scope(seed=7)
    intrinsic = compile_intrinsic("States.Array(States.UUID(), States.UUID())")
    one, two = intrinsic.evaluate(None, scope)
    assert one == first
    assert two != one


def test_nested_calls() -> None:
    # After the AWS developer guide's example of nine nested calls in one field.
    arn = "arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/my-recipe.v2/1.0.0"
    text = (
        "States.Format('{}.{}', "
        "States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit("
        "$.ImageRecipe.Arn, '/'), 2), '.'), 0), "
        "States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit("
        "$.ImageRecipe.Arn, '/'), 2), '.'), 1))"
    )
    assert run(text, {"ImageRecipe": {"Arn": arn}}) == "1.0"

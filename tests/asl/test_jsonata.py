"""JSONata expressions: the `{% %}` test, compiling, evaluating, AWS's added functions and AWS's
wording of failures.

Expected values come from AWS: its developer guide ("Transforming data with JSONata in Step
Functions": the added functions and their examples, `$eval` disabled, undefined is an error),
executions recorded on AWS (../shared/conformance/asl: $parse outputs, the T1006 cause), and
AWS's own answers as recorded by the Floci emulator's tests (the syntax-error messages, which it
ran through ValidateStateMachineDefinition, and the added functions' error messages).
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import uuid
from datetime import UTC, datetime
from random import Random
from typing import Any

import pytest
from conformance import MISSING, load_cases
from conformance import definition as recorded_definition

from redstep.asl.errors import StatesError, StatesFailure
from redstep.asl.jsonata import (
    MAX_RANGE_LENGTH,
    Bindings,
    JsonataSyntaxError,
    QueryEvaluationFailure,
    compile_expression,
    compile_template,
    is_expression,
)
from redstep.asl.paths import to_json

NOW = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
NOW_MILLIS = 1714979289123


def bindings(
    state_input: Any = None, variables: dict[str, Any] | None = None, seed: int = 7, **states: Any
) -> Bindings:
    return Bindings(
        {"input": state_input, "context": {"Execution": {"Name": "run"}}, **states},
        variables or {},
        Random(seed),
        NOW,
    )


def evaluate(text: Any, state_input: Any = None, **kwargs: Any) -> Any:
    return compile_template(text, "Output").evaluate(bindings(state_input, **kwargs))


def failure(text: Any, state_input: Any = None, field: str = "Output", **kwargs: Any) -> str:
    """The cause of the QueryEvaluationFailure evaluating `text` raises."""
    with pytest.raises(QueryEvaluationFailure) as raised:
        compile_template(text, field).evaluate(bindings(state_input, **kwargs))
    assert raised.value.failure.error == StatesError.QUERY_EVALUATION_ERROR
    return raised.value.failure.cause or ""


def threw(text: str, message: str) -> str:
    inner = text[2:-2].strip()
    return (
        f"The JSONata expression '{inner}' specified for the field 'Output' "
        f"threw an error during evaluation. {message}"
    )


def undefined(text: str, field: str = "Output") -> str:
    inner = text[2:-2].strip()
    return (
        f"The JSONata expression '{inner}' specified for the field '{field}' "
        "returned nothing (undefined)."
    )


def assert_plain_json(value: Any) -> None:
    """Only the types JSON has: no library sequences or markers."""
    if isinstance(value, dict):
        assert type(value) is dict
        for item in value.values():
            assert_plain_json(item)
    elif isinstance(value, list):
        assert type(value) is list
        for item in value:
            assert_plain_json(item)
    else:
        assert value is None or type(value) in (str, int, float, bool)


# -- the delimiters -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["{% 1 %}", "{%1%}", "{%%}", "{% $states.input %}"])
def test_is_expression(value: str) -> None:
    assert is_expression(value)


@pytest.mark.parametrize("value", [" {% 1 %}", "{% 1 %} ", "{%", "{%}", "%}", "$.a", 1, None, []])
def test_is_not_expression(value: object) -> None:
    assert not is_expression(value)


def test_compile_expression_trims_what_stands_between_the_delimiters() -> None:
    assert compile_expression("{%   1 + 2\n %}").text == "1 + 2"
    assert compile_expression(" $states.input ").text == "$states.input"


def test_one_expression_evaluates_again_and_again_for_its_field() -> None:
    condition = compile_expression("{% $states.input.type = 'Public' %}")
    assert condition.evaluate(bindings({"type": "Public"}), "Choices[0]/Condition") is True
    assert condition.evaluate(bindings({"type": "Private"}), "Choices[0]/Condition") is False
    with pytest.raises(QueryEvaluationFailure) as raised:
        compile_expression("{% $states.input.gone %}").evaluate(bindings({}), "Seconds")
    assert raised.value.failure.cause == undefined("{% $states.input.gone %}", "Seconds")
    assert raised.value.location == "Seconds"


# -- numbers and plain JSON ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{% 1 + 2 %}", 3),
        ("{% 6 / 2 %}", 3),
        ("{% 3 / 2 %}", 1.5),
        ("{% 0.1 + 0.2 %}", 0.30000000000000004),
        ("{% -0 %}", 0),
        ("{% 2e20 %}", 200000000000000000000),
        ("{% $sum([1.5, 1.5]) %}", 3),
        ("{% $states.input.f %}", 2),
        ("{% $string($states.input.f) %}", "2"),
        ("{% $states.input.f * 1.5 %}", 3),
    ],
)
def test_numbers_are_written_as_javascript_writes_them(text: str, expected: Any) -> None:
    result = evaluate(text, {"f": 2.0})
    assert result == expected
    assert type(result) is type(expected)


def test_a_whole_float_past_two_to_the_53_keeps_its_shortest_decimal_digits() -> None:
    # JavaScript writes 2**63 as a double: 9223372036854776000, not its exact binary value.
    assert evaluate("{% $states.input.big %}", {"big": float(2**63)}) == 9223372036854776000


def test_results_are_plain_json() -> None:
    result = evaluate(
        "{% {'list': [1, 2], 'seq': $states.input.items.v, 'obj': $states.input, 'n': null} %}",
        {"items": [{"v": 1}, {"v": 2.0}], "nested": [[None]]},
    )
    assert result == {
        "list": [1, 2],
        "seq": [1, 2],
        "obj": {"items": [{"v": 1}, {"v": 2}], "nested": [[None]]},
        "n": None,
    }
    assert_plain_json(result)


# -- null and undefined -------------------------------------------------------------------------


def test_json_null_is_a_value() -> None:
    state_input = {"a": None}
    assert evaluate("{% $states.input.a %}", state_input) is None
    assert evaluate("{% $type($states.input.a) %}", state_input) == "null"
    assert evaluate("{% $exists($states.input.a) %}", state_input) is True
    assert evaluate("{% [$nothing, 1] %}", variables={"nothing": None}) == [None, 1]
    assert evaluate({"v": "{% $states.input.a %}"}, state_input) == {"v": None}


def test_undefined_fails_the_field() -> None:
    text = "{% $states.input.missing %}"
    assert failure(text, {}) == undefined(text)


def test_undefined_inside_an_object_or_an_array_fails_naming_its_path() -> None:
    text = "{% $states.input.missing %}"
    assert failure({"x": text}, {}) == undefined(text, "Output/x")
    assert failure([1, text], {}) == undefined(text, "Output[1]")
    assert failure({"a": {"b": [text]}}, {}) == undefined(text, "Output/a/b[0]")
    assert failure({"c": text}, {}, field="Choices[1]/Output") == undefined(
        text, "Choices[1]/Output/c"
    )


def test_the_failure_carries_the_location_for_the_evaluation_failed_event() -> None:
    with pytest.raises(QueryEvaluationFailure) as raised:
        compile_template({"a": ["{% $x %}"]}, "Assign").evaluate(bindings({}))
    assert raised.value.location == "Assign/a[0]"
    assert isinstance(raised.value, StatesFailure)


def test_a_function_has_no_json_form() -> None:
    # As JSON.stringify: a key holding a function is dropped, an array slot becomes null, and a
    # function alone is nothing.
    assert evaluate("{% {'f': $sum, 'g': 1} %}") == {"g": 1}
    assert evaluate("{% [$sum, 1] %}") == [None, 1]
    assert failure("{% $sum %}") == undefined("{% $sum %}")


# -- templates ----------------------------------------------------------------------------------


def test_a_template_replaces_each_expression_at_any_depth_and_keeps_literals() -> None:
    template = compile_template(
        {
            "static": "Hello",
            "title": "{% $states.input.title %}",
            "name": "{% $customerName %}",
            "not-evaluated": "$customerName",
            "deep": [{"n": "{% 1 + 1 %}", "s": " {% 1 %}"}, 5, None, True],
        },
        "Arguments",
    )
    assert not template.is_constant
    result = template.evaluate(bindings({"title": "Doctor"}, {"customerName": "María"}))
    assert result == {
        "static": "Hello",
        "title": "Doctor",
        "name": "María",
        "not-evaluated": "$customerName",
        "deep": [{"n": 2, "s": " {% 1 %}"}, 5, None, True],
    }


def test_a_template_without_expressions_is_its_own_value() -> None:
    raw = {"a": ["x", {"b": 1}], "c": "%} {%"}
    template = compile_template(raw, "Output")
    assert template.is_constant
    assert template.evaluate(bindings()) is raw


def test_a_top_level_expression_may_produce_any_json_type() -> None:
    assert evaluate("{% $states.input %}", [1, "two", True]) == [1, "two", True]
    assert evaluate("{% $states.input %}", "text") == "text"
    assert evaluate("{% $states.context.Execution.Name %}") == "run"
    assert evaluate("{% $states.result.x %}", result={"x": 1}) == 1
    assert evaluate("{% $states.errorOutput.Error %}", errorOutput={"Error": "E"}) == "E"


def test_variables_are_read_by_name_and_none_hides_states() -> None:
    variables = {"myVar": {"k": [1, 2]}, "states": "a variable"}
    assert evaluate("{% $myVar.k[1] %}", variables=variables) == 2
    assert evaluate("{% $states.input %}", "the input", variables=variables) == "the input"


# -- failures, worded as AWS words them ---------------------------------------------------------


def test_an_evaluation_error_is_worded_as_aws_words_it() -> None:
    # Recorded on AWS (math_random_seeded_jsonata).
    template = compile_template(
        {"FunctionResult": "{% $randomSeeded($states.input.FunctionInput.fst) %}"}, "Output"
    )
    with pytest.raises(QueryEvaluationFailure) as raised:
        template.evaluate(bindings({"FunctionInput": "fst"}))
    assert raised.value.failure.cause == (
        "The JSONata expression '$randomSeeded($states.input.FunctionInput.fst)' specified for "
        "the field 'Output/FunctionResult' threw an error during evaluation. "
        "T1006: Attempted to invoke a non-function"
    )
    assert raised.value.location == "Output/FunctionResult"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{% $sum('a') %}", 'T0412: Argument 1 of function "sum" must be an array of "numbers"'),
        ("{% 1 + 'a' %}", 'T2002: The right side of the "+" operator must evaluate to a number'),
        (
            "{% 'a' < 1 %}",
            'T2009: The values "a" and 1 either side of operator "<" must be of the same data type',
        ),
        (
            "{% ($f := function($x){1 + $f($x)}; $f(1)) %}",
            "D1011: Stack overflow. Check for non-terminating recursive function.  "
            "Consider rewriting as tail-recursive",
        ),
    ],
)
def test_jsonata_errors_read_as_jsonata_js_writes_them(text: str, message: str) -> None:
    assert failure(text) == threw(text, message)


def test_eval_is_disabled() -> None:
    text = "{% $eval('1 + 1') %}"
    assert failure(text) == threw(text, "T1006: Attempted to invoke a non-function")


@pytest.mark.parametrize(
    ("text", "message"),
    [  # each pair as AWS's ValidateStateMachineDefinition answered it
        ("a[1,2)", 'Expected "]", got ","'),
        ('"unterminated', "String literal must be terminated by a matching quote"),
        ("1 +", "Unexpected end of expression"),
        ('{"a":}', 'The symbol "}" cannot be used as a unary operator'),
        ("$x :=", "Unexpected end of expression"),
        ('$match("a", /abc', "No terminating / in regular expression"),
        ("phone %.other", 'The symbol "." cannot be used as a unary operator'),
        ("", "Unexpected end of expression"),
    ],
)
def test_a_syntax_error_reads_as_aws_invalid_jsonata_expression(text: str, message: str) -> None:
    with pytest.raises(JsonataSyntaxError) as raised:
        compile_expression("{% " + text + " %}")
    assert str(raised.value) == message
    assert raised.value.code.startswith("S0")
    assert isinstance(raised.value, ValueError)


def test_a_syntax_error_in_a_template_names_the_string_it_is_in() -> None:
    with pytest.raises(JsonataSyntaxError) as raised:
        compile_template({"ok": "{% 1 %}", "v": ["{% phone[1,2) %}"]}, "Output")
    assert raised.value.location == "Output/v[0]"
    assert raised.value.code == "S0202"


def test_a_failed_evaluation_changes_nothing_it_was_given() -> None:
    state_input = {"items": [3, 1, None], "obj": {"k": "v"}}
    given = bindings(copy.deepcopy(state_input), {"v": [1]})
    before = (copy.deepcopy(dict(given.states)), copy.deepcopy(dict(given.variables)))
    template = compile_template({"a": "{% $sort($states.input.items) %}"}, "Output")
    with pytest.raises(QueryEvaluationFailure):
        template.evaluate(given)
    assert (dict(given.states), dict(given.variables)) == before


# -- the functions Step Functions adds ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{% $partition([1, 2, 3, 4, 5, 6, 7, 8, 9], 3) %}", [[1, 2, 3], [4, 5, 6], [7, 8, 9]]),
        ("{% $partition([1, 2, 3, 4, 5], 2) %}", [[1, 2], [3, 4], [5]]),
        ("{% $partition([1, 2, 3], 5) %}", [[1, 2, 3]]),
        ("{% $partition([1, 2, 3], 2.9) %}", [[1, 2], [3]]),
        ("{% $partition([1, 2, 3]) %}", [[1, 2, 3]]),
        ("{% $partition([[1], {'a': null}], 1) %}", [[[1]], [{"a": None}]]),
    ],
)
def test_partition(text: str, expected: Any) -> None:
    assert evaluate(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{% $partition([1], -1) %}", "D3137: Second argument must be zero or greater"),
        ("{% $partition('x', 2) %}", 'T0412: Argument 1 of function "partition" must be an array'),
        (
            "{% $partition([1], 'x') %}",
            'T0410: Argument 2 of function "partition" does not match function signature',
        ),
        (
            "{% $partition([1], 1, 1) %}",
            'T0410: Argument 3 of function "partition" does not match function signature',
        ),
    ],
)
def test_partition_errors(text: str, message: str) -> None:
    assert failure(text).startswith(threw(text, message))


@pytest.mark.parametrize(
    "text", ["{% $partition([], 2) %}", "{% $partition([1], 0) %}", "{% $partition($none, 1) %}"]
)
def test_partition_of_nothing_is_nothing(text: str) -> None:
    assert failure(text) == undefined(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{% $range(0, 10, 2) %}", [0, 2, 4, 6, 8, 10]),
        ("{% $range(1, 10, 4) %}", [1, 5, 9]),
        ("{% $range(10, 0, -5) %}", [10, 5, 0]),
        ("{% $range(-1.7, 2, 1) %}", [-1, 0, 1, 2]),
        ("{% $range(3, 3, 1) %}", 3),
        ("{% $range(0, 1, 2) %}", [0]),
    ],
)
def test_range(text: str, expected: Any) -> None:
    assert evaluate(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{% $range('a', 2, 1) %}", 'T0410: Argument 1 of function "range"'),
        ("{% $range(1, null, 1) %}", 'T0410: Argument 2 of function "range"'),
        ("{% $range(1, 2, true) %}", 'T0410: Argument 3 of function "range"'),
        ("{% $range(1, 2, 1, 1) %}", 'T0410: Argument 4 of function "range"'),
        (f"{{% $range(1, {MAX_RANGE_LENGTH + 1}, 1) %}}", "Expression evaluation memory limit"),
    ],
)
def test_range_errors(text: str, message: str) -> None:
    assert failure(text).startswith(threw(text, message))


def test_range_at_its_limit_is_built() -> None:
    assert len(evaluate(f"{{% $range(1, {MAX_RANGE_LENGTH}, 1) %}}")) == MAX_RANGE_LENGTH


@pytest.mark.parametrize(
    "text", ["{% $range(0, 10) %}", "{% $range(0, 10, 0) %}", "{% $range(0, 10, -1) %}"]
)
def test_range_without_a_step_that_reaches_the_end_is_nothing(text: str) -> None:
    assert failure(text) == undefined(text)


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512"])
def test_hash(algorithm: str) -> None:
    name = algorithm.replace("-", "").lower()
    expected = hashlib.new(name, "input data é".encode()).hexdigest()
    assert evaluate(f"{{% $hash($states.input, '{algorithm}') %}}", "input data é") == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "{% $hash('a', 'sha-256') %}",
            "D3137: Hash algorithm 'sha-256' must be one of SHA-1, SHA-384, SHA-256, SHA-512, MD5",
        ),
        ("{% $hash(1, 'MD5') %}", 'T0410: Argument 1 of function "hash"'),
        ("{% $hash($none, 'MD5') %}", 'T0410: Argument 1 of function "hash"'),
        ("{% $hash('a', 5) %}", 'T0410: Argument 2 of function "hash"'),
        ("{% $hash('a', 'MD5', 1) %}", 'T0410: Argument 3 of function "hash"'),
    ],
)
def test_hash_errors(text: str, message: str) -> None:
    assert failure(text).startswith(threw(text, message))


def test_hash_without_an_algorithm_is_nothing() -> None:
    assert failure("{% $hash('a') %}") == undefined("{% $hash('a') %}")


def test_random_draws_from_the_execution_randomness() -> None:
    first = evaluate("{% [$random(), $random()] %}", seed=11)
    expected = Random(11)
    assert first == [expected.random(), expected.random()]
    assert evaluate("{% [$random(), $random()] %}", seed=11) == first
    assert all(0 <= value < 1 for value in first)


def test_seeded_random_is_java_util_random_as_on_aws() -> None:
    # new java.util.Random(42).nextDouble(), what AWS answers to $random(42).
    assert evaluate("{% $random(42) %}") == 0.7275636800328681
    assert evaluate("{% $random(42.9) %}") == 0.7275636800328681
    assert evaluate("{% $random(7) %}", seed=1) == evaluate("{% $random(7) %}", seed=2)
    assert evaluate("{% $random(-1) %}") != evaluate("{% $random(1) %}")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{% $random('x') %}", 'T0410: Argument 1 of function "random"'),
        ("{% $random(1, 2) %}", 'T0410: Argument 2 of function "random"'),
        ("{% $uuid(1) %}", 'T0410: Argument 1 of function "uuid"'),
        ("{% $parse(1) %}", 'T0410: Argument 1 of function "parse"'),
        ("{% $parse('1', 2) %}", 'T0410: Argument 2 of function "parse"'),
        ("{% $parse('{bad') %}", "D3137: Invalid JSON"),
        ("{% $parse('NaN') %}", "D3137: Invalid JSON"),
    ],
)
def test_random_uuid_and_parse_errors(text: str, message: str) -> None:
    assert failure(text).startswith(threw(text, message))


def test_uuid_is_a_version_4_uuid_from_the_execution_randomness() -> None:
    value = evaluate("{% $uuid() %}", seed=3)
    assert value == str(uuid.UUID(int=Random(3).getrandbits(128), version=4))
    assert uuid.UUID(value).version == 4
    assert evaluate("{% $uuid() %}", seed=4) != value


def test_parse() -> None:
    text = "{% $parse($states.input.s) %}"
    assert evaluate(text, {"s": '{"a": [1, 2.0, null], "b": "é"}'}) == {
        "a": [1, 2, None],
        "b": "é",
    }
    assert evaluate("{% $type($parse('null')) %}") == "null"
    assert failure("{% $parse($none) %}") == undefined("{% $parse($none) %}")


def test_now_and_millis_read_the_execution_clock() -> None:
    assert evaluate("{% $now() %}") == "2024-05-06T07:08:09.123Z"
    assert evaluate("{% $millis() %}") == NOW_MILLIS
    assert evaluate("{% $now('[Y0001]-[M01]-[D01]') %}") == "2024-05-06"
    later = Bindings({}, {}, Random(0), datetime(2030, 1, 2, 3, 4, 5))  # naive: read as UTC
    assert compile_template("{% $now() %}", "Output").evaluate(later) == "2030-01-02T03:04:05.000Z"
    assert compile_template("{% $millis() %}", "Output").evaluate(later) == 1893553445000


# -- what is given is never changed -------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "{% $states.input ~> |$|{'added': 1}| %}",
        "{% $states.input ~> |obj|{'k': 'changed'}, ['other']| %}",
        "{% $sort($states.input.items) %}",
        "{% $append($states.input.items, 4) %}",
        "{% $merge([$states.input.obj, {'k': 'x'}]) %}",
        "{% $myVar ~> |$|{'z': 0}| %}",
        "{% ($x := $states.input; $x ~> |obj|{'k': 'x'}|) %}",
    ],
)
def test_an_expression_never_changes_its_bindings(text: str) -> None:
    state_input = {"items": [3, 1, 2], "obj": {"k": "v", "other": None}, "n": None}
    variables = {"myVar": {"a": [1, {"b": None}]}}
    given = bindings(copy.deepcopy(state_input), copy.deepcopy(variables))
    evaluate_twice = compile_template(text, "Output")
    first = evaluate_twice.evaluate(given)
    assert evaluate_twice.evaluate(given) == first
    assert given.states["input"] == state_input
    assert dict(given.variables) == variables


def test_a_result_shares_nothing_with_the_input() -> None:
    state_input = {"obj": {"k": [1]}}
    result = evaluate("{% $states.input.obj %}", state_input)
    result["k"].append(2)
    assert state_input == {"obj": {"k": [1]}}


# -- threads --------------------------------------------------------------------------------------


def test_one_compiled_expression_runs_on_four_threads_at_once() -> None:
    # Compiled here, and run here and on three more threads together; each thread binds a
    # variable of its own name, which no other thread's evaluation may see. (jsonata-python
    # evaluates in a thread through the Jsonata object last built there, here "seen"'s, and that
    # object's scope leaks into other threads' evaluations when they share it.)
    template = compile_template(
        {
            "mapped": "{% $map($states.input.items, function($x){ $x * $k }) %}",
            "sum": "{% $reduce($states.input.items, function($a, $b){ $a + $b }) + $k %}",
            "now": "{% $millis() %}",
            "seen": "{% $map([1..20], function($i){ [$exists($v1), $exists($v2), $exists($v3),"
            " $exists($v4)] })[0] %}",
        },
        "Output",
    )
    barrier = threading.Barrier(4)
    results: dict[int, list[Any]] = {}
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            given = bindings({"items": list(range(1, 30))}, {"k": k, f"v{k}": True})
            barrier.wait()
            results[k] = [template.evaluate(given) for _ in range(150)]
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2, 5)]
    for thread in threads:
        thread.start()
    work(1)
    for thread in threads:
        thread.join()
    assert errors == []
    for k in range(1, 5):
        expected = {
            "seen": [k == 1, k == 2, k == 3, k == 4],
            "mapped": [v * k for v in range(1, 30)],
            "sum": 435 + k,
            "now": NOW_MILLIS,
        }
        assert results[k] == [expected] * 150


# -- executions recorded on AWS -------------------------------------------------------------------

CASES = load_cases()
JSONATA_CASES = [case for case in CASES if "{%" in json.dumps(recorded_definition(case))]


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return [value] if is_expression(value) else []


@pytest.mark.skipif(not CASES, reason=MISSING)
def test_every_recorded_expression_compiles() -> None:
    texts = [text for case in JSONATA_CASES for text in _strings(recorded_definition(case))]
    assert len(texts) > 10
    for text in texts:
        compile_expression(text)


def _parse_cases() -> list[dict[str, Any]]:
    return [case for case in CASES if case["template"].endswith("parse_jsonata.json5")]


@pytest.mark.skipif(not _parse_cases(), reason=MISSING)
@pytest.mark.parametrize("case", _parse_cases(), ids=lambda case: case["id"])
def test_parse_as_recorded(case: dict[str, Any]) -> None:
    state = recorded_definition(case)["States"]["State_0"]
    result = compile_template(state["Output"], "Output").evaluate(bindings(case["input"]))
    expected = case["expected"]["output"]
    # An object output is stored parsed, any other as the JSON text AWS wrote.
    assert result == expected if isinstance(expected, dict) else to_json(result) == expected


def _fail_cases() -> list[dict[str, Any]]:
    names = ("fail_error_jsonata", "fail_cause_jsonata", "math_random_seeded_jsonata")
    return [case for case in CASES if any(name in case["template"] for name in names)]


@pytest.mark.skipif(not _fail_cases(), reason=MISSING)
@pytest.mark.parametrize("case", _fail_cases(), ids=lambda case: case["id"])
def test_fail_and_error_fields_as_recorded(case: dict[str, Any]) -> None:
    (state,) = recorded_definition(case)["States"].values()
    expected = case["expected"]
    for name in ("Error", "Cause", "Output"):
        if name not in state:
            continue
        template = compile_template(state[name], name)
        if expected["status"] == "SUCCEEDED" or name != "Output":
            assert template.evaluate(bindings(case["input"])) == expected[name.lower()]
            continue
        with pytest.raises(QueryEvaluationFailure) as raised:
            template.evaluate(bindings(case["input"]))
        assert raised.value.failure.error == expected["error"]
        # AWS puts the state's own sentence in front of the expression's cause.
        assert expected["cause"].endswith(raised.value.failure.cause)


def test_shuffle_draws_from_the_executions_random_so_a_replay_shuffles_alike() -> None:
    shuffles = [evaluate("{% $shuffle([1..20]) %}", seed=5) for _ in range(3)]
    assert shuffles[0] == shuffles[1] == shuffles[2]
    assert sorted(shuffles[0]) == list(range(1, 21))
    assert shuffles[0] != list(range(1, 21))
    assert evaluate("{% $shuffle($states.input) %}", 7) == [7]

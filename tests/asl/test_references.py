"""Which workflow variables each state reads (DescribeStateMachine's `variableReferences`).

Several cases are the definitions of executions recorded on AWS (LocalStack's
`test_sfn_api_variable_references`), with the states and names AWS listed for them; AWS's order
within a list is not known (the recorder sorted the lists), so those compare as sets.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from redstep.asl.parse import parse_definition
from redstep.asl.references import variable_references


def machine(states: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A definition of `states`, starting at the first; checked to be valid, so that every case
    is one AWS would accept."""
    definition = {"StartAt": next(iter(states)), "States": states, **top}
    parse_definition(definition)
    return definition


def as_sets(references: dict[str, list[str]]) -> dict[str, set[str]]:
    return {state: set(names) for state, names in references.items()}


# -- JSONPath ----------------------------------------------------------------------------------


def test_a_path_field_naming_a_variable_is_a_reference_and_a_literal_is_not() -> None:
    definition = machine(
        {
            "State0": {
                "Type": "Pass",
                "Parameters": {"result": "$result"},  # no `.$`: a literal string
                "Assign": {"result": "foobar"},
                "Next": "State1",
            },
            "State1": {
                "Type": "Pass",
                "ResultPath": "$.result",
                "Parameters": {"result.$": "$result"},
                "End": True,
            },
        }
    )
    assert variable_references(definition) == {"State1": ["result"]}


def test_input_and_output_paths_are_read_and_each_name_is_listed_once() -> None:
    definition = machine(
        {
            "State0": {"Type": "Pass", "Assign": {"answer": 42}, "Next": "State1"},
            "State1": {
                "Type": "Pass",
                "InputPath": "$answer",
                "ResultPath": "$.theAnswer",
                "OutputPath": "$answer",
                "Assign": {"answer": "<omitted>"},
                "End": True,
            },
        }
    )
    assert variable_references(definition) == {"State1": ["answer"]}


def test_choice_rules_read_their_variable_and_path_operands_at_any_depth() -> None:
    definition = machine(
        {
            "Setup": {"Type": "Pass", "Assign": {"guess": 1, "answer": 2}, "Next": "Check"},
            "Check": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$guess", "StringEqualsPath": "$answer", "Next": "Done"},
                    {
                        "And": [
                            {"Variable": "$.n", "NumericGreaterThanPath": "$low"},
                            {"Not": {"Variable": "$high", "IsNull": True}},
                        ],
                        "Assign": {"tries.$": "States.MathAdd($tries, 1)"},
                        "Next": "Done",
                    },
                ],
                "Default": "Wrong",
            },
            "Wrong": {"Type": "Pass", "Assign": {"guess.$": "$answer"}, "Next": "Check"},
            "Done": {"Type": "Succeed"},
        }
    )
    assert variable_references(definition) == {
        "Check": ["guess", "answer", "low", "high", "tries"],
        "Wrong": ["answer"],
    }


def test_intrinsic_functions_read_their_path_arguments_nested_calls_included() -> None:
    definition = machine(
        {
            "Sum": {
                "Type": "Pass",
                "Assign": {
                    "Sum.$": "States.MathAdd(States.MathAdd($yCurrent, $xCurrent), $bias)",
                    "Text.$": "States.Format('{} and {}', $.local, $$.Execution.Id)",
                    "Id.$": "States.UUID()",
                },
                "End": True,
            }
        }
    )
    assert variable_references(definition) == {"Sum": ["yCurrent", "xCurrent", "bias"]}


def test_the_recorded_intrinsics_in_parameters_name_what_aws_listed() -> None:
    definition = machine(
        {
            "State1": {
                "Type": "Pass",
                "Parameters": {
                    "encodingOps": {
                        "encoded.$": "States.Base64Encode($rawString)",
                        "decoded.$": "States.Base64Decode($encodedString)",
                    },
                    "hashOps": {"hashValue.$": "States.Hash($inputString, 'SHA-256')"},
                    "jsonOps": {
                        "mergedJson.$": "States.JsonMerge($json1, $json2, false)",
                        "parsedJson.$": "States.StringToJson($jsonString)",
                        "stringifiedJson.$": "States.JsonToString($jsonObject)",
                    },
                    "mathOps": {"sum.$": "States.MathAdd($value1, $value2)"},
                    "stringOps": {
                        "splitString.$": "States.StringSplit($csvString, ',')",
                        "formattedString.$": "States.Format('Hello {}, welcome to {}!', $name, "
                        "$place)",
                    },
                    "uuidOp": {"uniqueId.$": "States.UUID()"},
                },
                "End": True,
            }
        }
    )
    recorded = {
        "State1": {
            "csvString",
            "encodedString",
            "inputString",
            "json1",
            "json2",
            "jsonObject",
            "jsonString",
            "name",
            "place",
            "rawString",
            "value1",
            "value2",
        }
    }
    assert as_sets(variable_references(definition)) == recorded


def test_fail_wait_and_map_path_fields_are_read() -> None:
    definition = machine(
        {
            "Wait": {"Type": "Wait", "SecondsPath": "$waitTime", "Next": "Map"},
            "Map": {
                "Type": "Map",
                "ItemsPath": "$items",
                "MaxConcurrencyPath": "$maxConcurrency",
                "ToleratedFailurePercentagePath": "$percentage",
                "ToleratedFailureCountPath": "$count",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSON", "MaxItemsPath": "$maxItems"},
                    "Parameters": {"Bucket.$": "$bucket", "Key.$": "$.Key"},
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Item",
                    "States": {"Item": {"Type": "Pass", "End": True}},
                },
                "Next": "Fail",
            },
            "Fail": {"Type": "Fail", "CausePath": "$causeVar", "ErrorPath": "$errorVar"},
        }
    )
    assert variable_references(definition) == {
        "Wait": ["waitTime"],
        "Map": ["items", "maxConcurrency", "percentage", "count", "maxItems", "bucket"],
        "Fail": ["causeVar", "errorVar"],
    }


def test_states_inside_map_processors_and_parallel_branches_are_listed_by_their_own_name() -> None:
    definition = machine(
        {
            "Start": {"Type": "Pass", "Assign": {"template": "It's {}!"}, "Next": "Map"},
            "Map": {
                "Type": "Map",
                "ItemSelector": {"Announce.$": "States.Format($template, $$.Map.Item.Value)"},
                "ItemProcessor": {
                    "StartAt": "Inner",
                    "States": {
                        "Inner": {
                            "Type": "Pass",
                            "Parameters": {"Question.$": "$question"},
                            "End": True,
                        }
                    },
                },
                "Next": "Both",
            },
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Left",
                        "States": {"Left": {"Type": "Pass", "InputPath": "$left", "End": True}},
                    },
                    {
                        "StartAt": "Right",
                        "States": {"Right": {"Type": "Pass", "End": True}},
                    },
                ],
                "End": True,
            },
        }
    )
    assert variable_references(definition) == {
        "Map": ["template"],
        "Inner": ["question"],
        "Left": ["left"],
    }


def test_a_catchers_assign_is_read_but_its_result_path_is_not() -> None:
    definition = machine(
        {
            "Task": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "f"},
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "ResultPath": "$.error",
                        "Assign": {"failure.$": "States.Format('{}: {}', $prefix, $.error)"},
                        "Next": "Handled",
                    }
                ],
                "End": True,
            },
            "Handled": {"Type": "Succeed"},
        }
    )
    assert variable_references(definition) == {"Task": ["prefix"]}


def test_a_jsonata_string_in_a_jsonpath_state_is_a_literal() -> None:
    definition = machine(
        {"P": {"Type": "Pass", "Parameters": {"a": "{% $x %}"}, "Result": "$y", "End": True}}
    )
    assert variable_references(definition) == {}


# -- JSONata -----------------------------------------------------------------------------------


def test_jsonata_expressions_read_variables_in_every_field_in_order_of_appearance() -> None:
    definition = machine(
        {
            "Task": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": "f", "Payload": {"b": "{% $zeta + $alpha %}"}},
                "Output": "{% $states.result.Payload %}",
                "Assign": {"total": "{% $total + $zeta %}"},
                "Next": "Wait",
            },
            "Wait": {"Type": "Wait", "Seconds": "{% $delay %}", "Next": "Done"},
            "Done": {"Type": "Fail", "Error": "{% $errorName %}", "Cause": "plain $text"},
        },
        QueryLanguage="JSONata",
    )
    assert variable_references(definition) == {
        "Task": ["zeta", "alpha", "total"],
        "Wait": ["delay"],
        "Done": ["errorName"],
    }


def test_jsonata_choice_rules_and_catchers_are_read() -> None:
    definition = machine(
        {
            "Check": {
                "Type": "Choice",
                "QueryLanguage": "JSONata",
                "Choices": [
                    {
                        "Condition": "{% $count > $limit %}",
                        "Assign": {"seen": "{% $seen + 1 %}"},
                        "Output": {"why": "{% $reason %}"},
                        "Next": "Call",
                    }
                ],
                "Default": "Call",
            },
            "Call": {
                "Type": "Task",
                "QueryLanguage": "JSONata",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": "f"},
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Assign": {"failure": "{% $states.errorOutput.Error & $suffix %}"},
                        "Next": "End",
                    }
                ],
                "Next": "End",
            },
            "End": {"Type": "Succeed"},
        }
    )
    assert variable_references(definition) == {
        "Check": ["count", "limit", "seen", "reason"],
        "Call": ["suffix"],
    }


def test_jsonata_states_functions_and_names_bound_inside_the_expression_are_not_variables() -> None:
    definition = machine(
        {
            "P": {
                "Type": "Pass",
                "Output": {
                    "count": "{% $count($states.input.items) %}",
                    "parts": "{% $partition($states.input.items, 2) %}",
                    "upper": "{% $states.input.name ~> $uppercase %}",
                    "local": "{% ($v := 2; $v * $v) %}",
                    "lambda": "{% $map($states.input.items, function($item) { $item * 2 }) %}",
                    "indexed": "{% $states.input.items#$i[$i > 0] %}",
                    "context": "{% $states.context.Execution.Id & $.a & $$.b %}",
                },
                "End": True,
            }
        },
        QueryLanguage="JSONata",
    )
    assert variable_references(definition) == {}


def test_a_jsonata_name_read_before_the_expression_binds_it_is_a_variable() -> None:
    definition = machine(
        {
            "P": {
                "Type": "Pass",
                "Assign": {
                    "total": "{% ($total := $total + $step; $total) %}",
                    "scaled": "{% ($k := 2) + $k %}",  # the block's $k ends with the block
                    "closure": "{% function($x) { $x + $offset }($base) %}",
                },
                "End": True,
            }
        },
        QueryLanguage="JSONata",
    )
    assert variable_references(definition) == {"P": ["total", "step", "k", "offset", "base"]}


def test_a_jsonata_group_by_on_any_expression_is_read() -> None:
    definition = machine(
        {
            "P": {
                "Type": "Pass",
                "Output": "{% [$a{$b: $c}, ($d){$e: 1}, $f.g{$h: 1}] %}",
                "End": True,
            }
        },
        QueryLanguage="JSONata",
    )
    assert variable_references(definition) == {"P": ["a", "b", "c", "d", "e", "f", "h"]}


def test_a_jsonata_variable_named_like_a_function_is_a_variable_when_not_called() -> None:
    definition = machine(
        {"P": {"Type": "Pass", "Output": "{% $count + $sum([1, 2]) %}", "End": True}},
        QueryLanguage="JSONata",
    )
    assert variable_references(definition) == {"P": ["count"]}


def test_jsonata_states_nested_in_a_jsonpath_machine_and_the_other_way_round() -> None:
    definition = machine(
        {
            "Map": {
                "Type": "Map",
                "QueryLanguage": "JSONata",
                "Items": "{% $list %}",
                "ItemSelector": {"value": "{% $states.context.Map.Item.Value %}", "k": "{% $k %}"},
                "ItemProcessor": {
                    "StartAt": "Inner",
                    "States": {"Inner": {"Type": "Pass", "InputPath": "$inner", "End": True}},
                },
                "End": True,
            }
        }
    )
    assert variable_references(definition) == {"Map": ["list", "k"], "Inner": ["inner"]}


# -- machines without references, and text --------------------------------------------------


@pytest.mark.parametrize(
    "definition",
    [
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        {
            "StartAt": "Choice",
            "States": {
                "Choice": {
                    "Type": "Choice",
                    "QueryLanguage": "JSONata",
                    "Choices": [
                        {"Condition": "{% $states.input.result.done %}", "Next": "Yes"},
                        {"Condition": "{% $not($states.input.result.done) %}", "Next": "No"},
                    ],
                },
                "Yes": {"Type": "Pass", "End": True},
                "No": {"Type": "Pass", "End": True},
            },
        },
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Pass",
                    "Result": {"answer": 42},
                    "Assign": {"theAnswer.$": "$.answer", "id.$": "$$.Execution.Id"},
                    "End": True,
                }
            },
        },
    ],
    ids=["no-variables", "jsonata-states-and-functions", "assign-from-input-and-context"],
)
def test_a_machine_that_reads_no_variable_has_no_references(definition: dict[str, Any]) -> None:
    parse_definition(definition)
    assert variable_references(definition) == {}
    assert variable_references(json.dumps(definition)) == {}


def test_definition_text_is_read_as_its_object() -> None:
    definition = machine({"P": {"Type": "Pass", "InputPath": "$x", "End": True}})
    assert variable_references(json.dumps(definition)) == {"P": ["x"]}


@pytest.mark.parametrize(
    "text", ["", "not json", "[1, 2]", '{"States": []}', '{"States": {"P": 1}}']
)
def test_text_that_is_no_state_machine_has_no_references(text: str) -> None:
    assert variable_references(text) == {}


def test_values_that_are_not_paths_or_expressions_read_nothing() -> None:
    # Not valid definitions (the parser refuses them); read without failing all the same.
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Pass",
                "InputPath": 7,
                "OutputPath": "$[",
                "Parameters": {"a.$": "States.Nope($x)", "b.$": ["$y"]},
                "End": True,
            },
            "J": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $a + %}", "End": True},
        },
    }
    assert variable_references(definition) == {}

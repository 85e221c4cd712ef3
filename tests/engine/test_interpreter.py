"""The interpreter, state type by state type, on a virtual timeline (no clock, no sleeping)."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from asl_driver import T0, drive, new_interpreter

from redstep.engine.commands import ScheduleTask
from redstep.engine.interpreter import Interpreter
from redstep.engine.signals import (
    Continue,
    Signal,
    Start,
    Stop,
    TaskFailed,
    TaskHeartbeat,
    TaskStarted,
    TaskSucceeded,
)


def machine(*states: tuple[str, dict[str, Any]], **top: Any) -> dict[str, Any]:
    """A definition of the given states, starting at the first."""
    return {"StartAt": states[0][0], "States": dict(states), **top}


def succeed_with(output: Any) -> Any:
    return lambda command: TaskSucceeded(command.task_id, output)


def fail_with(error: str, cause: str | None = None) -> Any:
    return lambda command: TaskFailed(command.task_id, error, cause)


TASK = "arn:aws:states:::lambda:invoke"

# -- Pass ----------------------------------------------------------------------------------------


def test_pass_result_goes_to_result_path_and_output_path_filters() -> None:
    trace = drive(
        machine(
            (
                "P",
                {
                    "Type": "Pass",
                    "InputPath": "$.inner",
                    "Result": {"r": 1},
                    "ResultPath": "$.added",
                    "OutputPath": "$.added",
                    "End": True,
                },
            )
        ),
        {"inner": {"x": 1}, "other": 2},
    )
    assert trace.output == {"r": 1}
    assert trace.types == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert json.loads(trace.details("PassStateEntered")["input"]) == {"inner": {"x": 1}, "other": 2}


def test_result_path_applies_to_the_raw_input_not_the_input_path_selection() -> None:
    trace = drive(
        machine(("P", {"Type": "Pass", "InputPath": "$.a", "ResultPath": "$.b", "End": True})),
        {"a": 1},
    )
    assert trace.output == {"a": 1, "b": 1}


def test_null_paths() -> None:
    trace = drive(
        machine(("P", {"Type": "Pass", "InputPath": None, "ResultPath": None, "End": True})),
        {"keep": True},
    )
    assert trace.output == {"keep": True}
    trace = drive(machine(("P", {"Type": "Pass", "OutputPath": None, "End": True})), {"x": 1})
    assert trace.output == {}


def test_parameters_with_paths_context_and_intrinsics() -> None:
    trace = drive(
        machine(
            (
                "P",
                {
                    "Type": "Pass",
                    "Parameters": {
                        "copy.$": "$.value",
                        "state.$": "$$.State.Name",
                        "execution.$": "$$.Execution.Id",
                        "sum.$": "States.MathAdd($.value, 2)",
                        "literal": [1, {"nested": "x"}],
                    },
                    "End": True,
                },
            )
        ),
        {"value": 40},
    )
    assert trace.output == {
        "copy": 40,
        "state": "P",
        "execution": "arn:aws:states:us-east-1:123456789012:execution:Machine:run-1",
        "sum": 42,
        "literal": [1, {"nested": "x"}],
    }


def test_a_path_that_selects_nothing_fails_with_aws_message() -> None:
    trace = drive(machine(("P", {"Type": "Pass", "InputPath": "$.missing", "End": True})))
    assert trace.completion.error == "States.Runtime"
    assert trace.completion.cause == (
        "An error occurred while executing the state 'P' (entered at the event id #2). "
        "Invalid path '$.missing' : No results for path: $['missing']"
    )
    assert trace.types == ["ExecutionStarted", "PassStateEntered", "ExecutionFailed"]
    assert trace.event("ExecutionFailed")["previousEventId"] == 2


def test_indefinite_paths_select_lists() -> None:
    trace = drive(
        machine(("P", {"Type": "Pass", "InputPath": "$.items[?(@.n > 1)].n", "End": True})),
        {"items": [{"n": 1}, {"n": 2}, {"n": 3}]},
    )
    assert trace.output == [2, 3]


def test_events_are_numbered_and_chained_as_aws_does() -> None:
    trace = drive(
        machine(("A", {"Type": "Pass", "Next": "B"}), ("B", {"Type": "Pass", "End": True}))
    )
    assert [(e["id"], e["previousEventId"]) for e in trace.events] == [
        (1, 0),
        (2, 0),
        (3, 2),
        (4, 3),
        (5, 4),
        (6, 5),
    ]
    assert all(e["timestamp"] == T0 for e in trace.events)


def test_output_over_256_kib_is_data_limit_exceeded() -> None:
    trace = drive(machine(("Big", {"Type": "Pass", "Result": "x" * (256 * 1024), "End": True})))
    assert trace.completion.error == "States.DataLimitExceeded"
    assert trace.completion.cause == (
        "The state/task 'Big' returned a result with a size exceeding the maximum number of "
        "bytes service limit."
    )


# -- Choice --------------------------------------------------------------------------------------


def choice_machine(default: bool = True) -> dict[str, Any]:
    choice: dict[str, Any] = {
        "Type": "Choice",
        "Choices": [
            {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"},
            {"Variable": "$.n", "NumericGreaterThan": 5, "Next": "Medium"},
        ],
    }
    if default:
        choice["Default"] = "Small"
    states = [
        ("C", choice),
        ("Big", {"Type": "Pass", "Result": "big", "End": True}),
        ("Medium", {"Type": "Pass", "Result": "medium", "End": True}),
    ]
    if default:
        states.append(("Small", {"Type": "Pass", "Result": "small", "End": True}))
    return machine(*states)


@pytest.mark.parametrize(("n", "expected"), [(11, "big"), (6, "medium"), (1, "small")])
def test_choice_takes_the_first_matching_rule_then_default(n: int, expected: str) -> None:
    assert drive(choice_machine(), {"n": n}).output == expected


def test_choice_without_match_or_default_fails_no_choice_matched() -> None:
    trace = drive(choice_machine(default=False), {"n": 1})
    assert trace.completion.error == "States.NoChoiceMatched"
    assert trace.types[-2:] == ["ChoiceStateEntered", "ExecutionFailed"]


def test_choice_on_a_missing_variable_is_a_runtime_error() -> None:
    trace = drive(choice_machine(), {})
    assert trace.completion.error == "States.Runtime"
    assert trace.completion.cause is not None
    assert trace.completion.cause.endswith(
        "Invalid path '$.n': The choice state's condition path references an invalid value."
    )


# -- Wait ----------------------------------------------------------------------------------------


def test_wait_seconds_elapse_on_the_virtual_timeline() -> None:
    trace = drive(machine(("W", {"Type": "Wait", "Seconds": 90, "End": True})))
    assert trace.types == [
        "ExecutionStarted",
        "WaitStateEntered",
        "WaitStateExited",
        "ExecutionSucceeded",
    ]
    assert trace.event("WaitStateEntered")["timestamp"] == T0
    assert trace.event("WaitStateExited")["timestamp"] == T0 + timedelta(seconds=90)


def test_wait_until_a_timestamp_from_a_path() -> None:
    trace = drive(
        machine(("W", {"Type": "Wait", "TimestampPath": "$.at", "End": True})),
        {"at": "2026-01-02T04:00:00Z"},
    )
    assert trace.event("WaitStateExited")["timestamp"] == datetime.fromisoformat(
        "2026-01-02T04:00:00+00:00"
    )


def test_a_timestamp_in_the_past_does_not_wait() -> None:
    trace = drive(
        machine(("W", {"Type": "Wait", "Timestamp": "2020-01-01T00:00:00Z", "End": True}))
    )
    assert trace.event("WaitStateExited")["timestamp"] == T0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "The SecondsPath parameter references a negative value: $.s == -1"),
        (1.5, "The SecondsPath parameter cannot be parsed as a long value: $.s == 1.5"),
        ("x", 'The SecondsPath parameter cannot be parsed as a long value: $.s == "x"'),
    ],
)
def test_wait_seconds_path_errors(value: Any, message: str) -> None:
    trace = drive(machine(("W", {"Type": "Wait", "SecondsPath": "$.s", "End": True})), {"s": value})
    assert trace.completion.error == "States.Runtime"
    assert trace.completion.cause is not None
    assert trace.completion.cause.endswith(message)


def test_bad_timestamp_path_value() -> None:
    trace = drive(
        machine(("W", {"Type": "Wait", "TimestampPath": "$.at", "End": True})),
        {"at": "2026-01-02 04:00:00"},
    )
    assert trace.completion.error == "States.Runtime"


# -- Succeed and Fail ----------------------------------------------------------------------------


def test_succeed_applies_its_paths() -> None:
    trace = drive(machine(("S", {"Type": "Succeed", "InputPath": "$.a"})), {"a": [1]})
    assert trace.output == [1]
    assert trace.types[-3:] == ["SucceedStateEntered", "SucceedStateExited", "ExecutionSucceeded"]


def test_fail_with_constant_error_and_cause() -> None:
    trace = drive(machine(("F", {"Type": "Fail", "Error": "Oops", "Cause": "because"})))
    assert (trace.completion.error, trace.completion.cause) == ("Oops", "because")
    assert trace.types == ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]
    assert trace.details("ExecutionFailed") == {"error": "Oops", "cause": "because"}


def test_fail_with_error_path_and_cause_from_an_intrinsic() -> None:
    trace = drive(
        machine(
            (
                "F",
                {
                    "Type": "Fail",
                    "ErrorPath": "$.code",
                    "CausePath": "States.Format('bad {}', $.what)",
                },
            )
        ),
        {"code": "E42", "what": "input"},
    )
    assert (trace.completion.error, trace.completion.cause) == ("E42", "bad input")


def test_fail_without_cause_records_no_cause() -> None:
    trace = drive(machine(("F", {"Type": "Fail", "Error": "Only"})))
    assert trace.details("ExecutionFailed") == {"error": "Only"}


# -- Task, Retry, Catch ----------------------------------------------------------------------------


def task(**fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": TASK, **fields}


def test_task_schedules_its_resource_and_processes_the_result() -> None:
    scheduled: list[ScheduleTask] = []

    def answer(command: ScheduleTask) -> Signal:
        scheduled.append(command)
        return TaskSucceeded(command.task_id, {"Payload": {"total": 3}, "StatusCode": 200})

    trace = drive(
        machine(
            (
                "T",
                task(
                    Parameters={"FunctionName": "f", "Payload.$": "$"},
                    ResultSelector={"total.$": "$.Payload.total"},
                    ResultPath="$.result",
                    End=True,
                ),
            )
        ),
        {"x": 1},
        answer,
    )
    assert scheduled[0].parameters == {"FunctionName": "f", "Payload": {"x": 1}}
    assert scheduled[0].resource == TASK
    assert trace.output == {"x": 1, "result": {"total": 3}}
    assert trace.types == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    assert trace.details("TaskScheduled") == {
        "resourceType": "lambda",
        "resource": "invoke",
        "region": "us-east-1",
        "parameters": '{"FunctionName":"f","Payload":{"x":1}}',
    }


def test_task_started_is_recorded_when_the_integration_says_so() -> None:
    interpreter = new_interpreter(machine(("T", task(End=True))))
    decision = interpreter.activate(Start(), T0)
    command = next(c for c in decision.commands if isinstance(c, ScheduleTask))
    started = interpreter.activate(TaskStarted(command.task_id), T0)
    assert [e["type"] for e in started.events] == ["TaskStarted"]
    assert started.events[0]["taskStartedEventDetails"] == {
        "resourceType": "lambda",
        "resource": "invoke",
    }


def test_retry_waits_interval_times_backoff_then_catch_takes_over() -> None:
    trace = drive(
        machine(
            (
                "T",
                task(
                    Retry=[
                        {
                            "ErrorEquals": ["Boom"],
                            "IntervalSeconds": 2,
                            "MaxAttempts": 3,
                            "BackoffRate": 3,
                        }
                    ],
                    Catch=[
                        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Handled"}
                    ],
                    End=True,
                ),
            ),
            ("Handled", {"Type": "Pass", "End": True}),
        ),
        {"keep": 1},
        fail_with("Boom", "it broke"),
    )
    scheduled = [e["timestamp"] - T0 for e in trace.events if e["type"] == "TaskScheduled"]
    assert scheduled == [
        timedelta(0),
        timedelta(seconds=2),
        timedelta(seconds=8),
        timedelta(seconds=26),
    ]
    assert trace.output == {"keep": 1, "error": {"Error": "Boom", "Cause": "it broke"}}
    assert trace.types[-5:] == [
        "TaskFailed",
        "TaskStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]


def test_max_delay_caps_the_backoff_and_full_jitter_stays_below_it() -> None:
    trace = drive(
        machine(
            (
                "T",
                task(
                    Retry=[
                        {
                            "ErrorEquals": ["States.ALL"],
                            "IntervalSeconds": 10,
                            "MaxAttempts": 4,
                            "BackoffRate": 10,
                            "MaxDelaySeconds": 15,
                            "JitterStrategy": "FULL",
                        }
                    ],
                    End=True,
                ),
            )
        ),
        answer=fail_with("Boom"),
    )
    times = [e["timestamp"] for e in trace.events if e["type"] == "TaskScheduled"]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert len(gaps) == 4
    assert all(0 <= gap <= 15 for gap in gaps)
    assert gaps != [gaps[0]] * 4  # jittered


def test_only_the_first_matching_retrier_counts() -> None:
    trace = drive(
        machine(
            (
                "T",
                task(
                    Retry=[
                        {"ErrorEquals": ["Boom"], "MaxAttempts": 1},
                        {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5},
                    ],
                    End=True,
                ),
            )
        ),
        answer=fail_with("Boom"),
    )
    assert trace.types.count("TaskScheduled") == 2
    assert trace.completion.error == "Boom"


def test_max_attempts_zero_never_retries() -> None:
    trace = drive(
        machine(("T", task(Retry=[{"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}], End=True))),
        answer=fail_with("Boom"),
    )
    assert trace.types.count("TaskScheduled") == 1


def test_catchers_are_tried_in_order_and_task_failed_is_a_wildcard() -> None:
    definition = machine(
        (
            "T",
            task(
                Catch=[
                    {"ErrorEquals": ["Specific"], "Next": "A"},
                    {"ErrorEquals": ["States.TaskFailed"], "Next": "B"},
                    {"ErrorEquals": ["States.ALL"], "Next": "C"},
                ],
                End=True,
            ),
        ),
        ("A", {"Type": "Pass", "Result": "A", "End": True}),
        ("B", {"Type": "Pass", "Result": "B", "End": True}),
        ("C", {"Type": "Pass", "Result": "C", "End": True}),
    )
    assert drive(definition, answer=fail_with("Specific")).output == "A"
    assert drive(definition, answer=fail_with("Other")).output == "B"
    # States.TaskFailed does not match States.Timeout; States.ALL does.
    assert drive(definition, answer=fail_with("States.Timeout")).output == "C"


def test_states_runtime_is_never_caught() -> None:
    trace = drive(
        machine(
            ("P", {"Type": "Pass", "InputPath": "$.missing", "Next": "T"}),
            ("T", task(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "T"}], End=True)),
        )
    )
    assert trace.completion.error == "States.Runtime"
    trace = drive(
        machine(
            ("T", task(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "X"}], End=True)),
            ("X", {"Type": "Succeed"}),
        ),
        answer=fail_with("States.Runtime", "no integration"),
    )
    assert trace.completion.error == "States.Runtime"


def test_task_timeout_fails_with_states_timeout_and_cancels_the_task() -> None:
    trace = drive(machine(("T", task(TimeoutSeconds=5, End=True))), answer=lambda command: None)
    assert trace.completion.error == "States.Timeout"
    assert trace.completion.cause is None
    assert trace.details("TaskTimedOut") == {
        "resourceType": "lambda",
        "resource": "invoke",
        "error": "States.Timeout",
    }
    assert trace.event("TaskTimedOut")["timestamp"] == T0 + timedelta(seconds=5)
    assert trace.details("TaskScheduled")["timeoutInSeconds"] == 5


def test_timeout_seconds_path_and_heartbeat() -> None:
    interpreter = new_interpreter(
        machine(("T", task(TimeoutSecondsPath="$.timeout", HeartbeatSeconds=10, End=True))),
        {"timeout": 100},
    )
    decision = interpreter.activate(Start(), T0)
    command = next(c for c in decision.commands if isinstance(c, ScheduleTask))
    assert (command.timeout_seconds, command.heartbeat_seconds) == (100, 10)
    beat = interpreter.activate(TaskHeartbeat(command.task_id), T0 + timedelta(seconds=8))
    assert {type(c).__name__ for c in beat.commands} == {"CancelTimer", "StartTimer"}
    assert interpreter.pending_timers[-1].due == T0 + timedelta(seconds=18)


def test_an_answer_for_a_task_no_longer_waited_for_is_ignored() -> None:
    interpreter = new_interpreter(machine(("T", task(End=True))))
    interpreter.activate(Start(), T0)
    interpreter.activate(TaskSucceeded(1, "first"), T0)
    late = interpreter.activate(TaskSucceeded(1, "again"), T0)
    assert late.events == []
    assert late.commands == []


# -- Parallel ------------------------------------------------------------------------------------


def test_parallel_returns_branch_outputs_in_branch_order() -> None:
    trace = drive(
        machine(
            (
                "Par",
                {
                    "Type": "Parallel",
                    "Branches": [
                        machine(
                            ("W", {"Type": "Wait", "Seconds": 5, "Next": "A"}),
                            ("A", {"Type": "Pass", "Result": "slow", "End": True}),
                        ),
                        machine(("B", {"Type": "Pass", "Result": "fast", "End": True})),
                    ],
                    "ResultSelector": {"both.$": "$"},
                    "End": True,
                },
            )
        )
    )
    assert trace.output == {"both": ["slow", "fast"]}
    assert trace.types[:3] == ["ExecutionStarted", "ParallelStateEntered", "ParallelStateStarted"]
    assert trace.types[-3:] == [
        "ParallelStateSucceeded",
        "ParallelStateExited",
        "ExecutionSucceeded",
    ]
    started = trace.event("ParallelStateStarted")["id"]
    firsts = [e for e in trace.events if e["type"].endswith("StateEntered")][1:3]
    assert all(e["previousEventId"] == started for e in firsts)


def test_a_failing_branch_aborts_the_others_and_fails_the_parallel() -> None:
    trace = drive(
        machine(
            (
                "Par",
                {
                    "Type": "Parallel",
                    "Branches": [
                        machine(("Slow", {"Type": "Wait", "Seconds": 60, "End": True})),
                        machine(("Boom", {"Type": "Fail", "Error": "Broken"})),
                    ],
                    "Catch": [{"ErrorEquals": ["Broken"], "Next": "Recovered"}],
                    "End": True,
                },
            ),
            ("Recovered", {"Type": "Pass", "End": True}),
        )
    )
    assert trace.output == {"Error": "Broken"}
    failing = trace.event("FailStateEntered")["id"]
    assert trace.types[trace.types.index("FailStateEntered") :] == [
        "FailStateEntered",
        "WaitStateAborted",
        "ParallelStateFailed",
        "ParallelStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert trace.event("WaitStateAborted")["previousEventId"] == failing
    assert trace.event("ParallelStateFailed")["previousEventId"] == failing


# -- Map -----------------------------------------------------------------------------------------


def map_state(**fields: Any) -> dict[str, Any]:
    return {
        "Type": "Map",
        "ItemProcessor": machine(("Item", {"Type": "Pass", "End": True})),
        "End": True,
        **fields,
    }


def test_map_over_items_path_with_item_selector_and_context() -> None:
    trace = drive(
        machine(
            (
                "M",
                map_state(
                    ItemsPath="$.things",
                    ItemSelector={
                        "i.$": "$$.Map.Item.Index",
                        "v.$": "$$.Map.Item.Value",
                        "tag.$": "$.tag",
                    },
                    MaxConcurrency=1,
                ),
            )
        ),
        {"things": ["a", "b"], "tag": "t"},
    )
    assert trace.output == [{"i": 0, "v": "a", "tag": "t"}, {"i": 1, "v": "b", "tag": "t"}]
    assert trace.types == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapIterationStarted",
        "PassStateEntered",
        "PassStateExited",
        "MapIterationSucceeded",
        "MapIterationStarted",
        "PassStateEntered",
        "PassStateExited",
        "MapIterationSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]
    assert trace.details("MapStateStarted") == {"length": 2}
    assert trace.details("MapIterationStarted", 1) == {"index": 1, "name": "M"}


def test_map_with_legacy_iterator_and_parameters() -> None:
    trace = drive(
        machine(
            (
                "M",
                {
                    "Type": "Map",
                    "Iterator": machine(("Item", {"Type": "Pass", "End": True})),
                    "Parameters": {"value.$": "$$.Map.Item.Value"},
                    "End": True,
                },
            )
        ),
        [1, 2, 3],
    )
    assert trace.output == [{"value": 1}, {"value": 2}, {"value": 3}]


def test_map_over_an_empty_array() -> None:
    trace = drive(machine(("M", map_state())), [])
    assert trace.output == []
    assert trace.types[-3:] == ["MapStateSucceeded", "MapStateExited", "ExecutionSucceeded"]


def test_map_over_a_non_array_is_a_runtime_error() -> None:
    trace = drive(machine(("M", map_state(ItemsPath="$.x"))), {"x": 1})
    assert trace.completion.error == "States.Runtime"


def test_map_max_concurrency_limits_how_many_iterations_run_at_once() -> None:
    waiting = machine(("W", {"Type": "Wait", "Seconds": 10, "End": True}))
    trace = drive(machine(("M", map_state(ItemProcessor=waiting, MaxConcurrency=2))), [1, 2, 3])
    assert trace.output == [1, 2, 3]
    exits = [e["timestamp"] - T0 for e in trace.events if e["type"] == "WaitStateExited"]
    assert exits == [timedelta(seconds=10)] * 2 + [timedelta(seconds=20)]


def test_map_tolerated_failures() -> None:
    fails_on_two = machine(
        (
            "C",
            {
                "Type": "Choice",
                "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "F"}],
                "Default": "P",
            },
        ),
        ("F", {"Type": "Fail", "Error": "Two"}),
        ("P", {"Type": "Pass", "End": True}),
    )
    tolerant = drive(
        machine(("M", map_state(ItemProcessor=fails_on_two, ToleratedFailureCount=1))),
        [1, 2, 3],
    )
    assert tolerant.output == [1, {"Error": "Two"}, 3]
    strict = drive(
        machine(("M", map_state(ItemProcessor=fails_on_two, ToleratedFailurePercentage=10))),
        [1, 2, 3],
    )
    assert strict.completion.error == "States.ExceedToleratedFailureThreshold"
    untolerated = drive(machine(("M", map_state(ItemProcessor=fails_on_two))), [1, 2, 3])
    assert untolerated.completion.error == "Two"


# -- the execution ---------------------------------------------------------------------------------


def test_execution_timeout() -> None:
    trace = drive(machine(("W", {"Type": "Wait", "Seconds": 100, "End": True}), TimeoutSeconds=30))
    assert trace.completion.status == "TIMED_OUT"
    assert (trace.completion.error, trace.completion.cause) == (None, None)
    assert trace.types[-1] == "ExecutionTimedOut"
    assert trace.details("ExecutionTimedOut") == {"error": "States.Timeout"}
    assert trace.event("ExecutionTimedOut")["timestamp"] == T0 + timedelta(seconds=30)


def test_stop_aborts_with_the_given_error_and_cause() -> None:
    interpreter = new_interpreter(machine(("T", task(End=True))))
    interpreter.activate(Start(), T0)
    decision = interpreter.activate(Stop("Halt", "user asked"), T0 + timedelta(seconds=1))
    assert [e["type"] for e in decision.events] == ["ExecutionAborted"]
    assert decision.events[0]["executionAbortedEventDetails"] == {
        "error": "Halt",
        "cause": "user asked",
    }
    assert decision.events[0]["previousEventId"] == 0
    assert {type(c).__name__ for c in decision.commands} == {"CancelTask", "CompleteExecution"}
    assert interpreter.is_finished
    assert interpreter.activate(Stop(), T0).events == []


def test_a_long_loop_yields_at_its_transition_budget() -> None:
    loop = machine(
        ("Init", {"Type": "Pass", "Parameters": {"i": 0}, "Next": "Check"}),
        (
            "Check",
            {
                "Type": "Choice",
                "Choices": [{"Variable": "$.i", "NumericLessThan": 1500, "Next": "Inc"}],
                "Default": "Done",
            },
        ),
        ("Inc", {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "Check"}),
        ("Done", {"Type": "Succeed"}),
    )
    trace = drive(loop)
    assert trace.output == {"i": 1500}
    assert [type(signal).__name__ for signal, _ in trace.journal].count("Continue") >= 2


# -- limits and defects ----------------------------------------------------------------------------


def test_the_history_quota_fails_the_execution_as_aws_does() -> None:
    loop = machine(
        ("A", {"Type": "Pass", "Next": "B"}),
        (
            "B",
            {
                "Type": "Choice",
                "Choices": [{"Variable": "$.stop", "IsPresent": True, "Next": "Never"}],
                "Default": "A",
            },
        ),
        ("Never", {"Type": "Succeed"}),
    )
    interpreter = new_interpreter(loop, max_events=50)
    events = interpreter.activate(Start(), T0).events
    while interpreter.has_more:
        events += interpreter.activate(Continue(), T0).events
    assert len(events) == 50
    assert events[-1]["type"] == "ExecutionFailed"
    assert events[-1]["executionFailedEventDetails"] == {
        "error": "States.Runtime",
        "cause": "The execution reached the maximum number of history events (50).",
    }


def test_a_defect_in_the_interpreter_fails_the_execution_instead_of_wedging_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(self: Any, flow: Any, state: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(Interpreter, "_run_pass", broken)
    trace = drive(machine(("P", {"Type": "Pass", "End": True})))
    assert trace.completion.error == "States.Runtime"
    assert trace.completion.cause == "redstep could not run this execution: RuntimeError: boom"
    assert trace.types[-1] == "ExecutionFailed"


def test_a_retry_forever_policy_keeps_its_capped_delay() -> None:
    trace = drive(
        machine(
            (
                "T",
                task(
                    Retry=[
                        {
                            "ErrorEquals": ["States.ALL"],
                            "MaxAttempts": 1100,
                            "BackoffRate": 2.0,
                            "MaxDelaySeconds": 5,
                        }
                    ],
                    End=True,
                ),
            )
        ),
        answer=fail_with("Boom"),
    )
    times = [e["timestamp"] for e in trace.events if e["type"] == "TaskScheduled"]
    assert len(times) == 1101
    assert (times[-1] - times[-2]).total_seconds() == 5
    assert trace.completion.error == "Boom"


def test_huge_wait_and_timeout_values_are_runtime_errors() -> None:
    wait = drive(machine(("W", {"Type": "Wait", "SecondsPath": "$.s", "End": True})), {"s": 10**20})
    assert wait.completion.error == "States.Runtime"
    timed = drive(machine(("T", task(TimeoutSecondsPath="$.t", End=True))), {"t": 10**15})
    assert timed.completion.error == "States.Runtime"


def test_a_task_result_over_256_kib_is_data_limit_exceeded_and_can_be_caught() -> None:
    trace = drive(
        machine(
            (
                "T",
                task(
                    ResultSelector={"small": "x"},
                    Catch=[{"ErrorEquals": ["States.DataLimitExceeded"], "Next": "Caught"}],
                    End=True,
                ),
            ),
            ("Caught", {"Type": "Pass", "End": True}),
        ),
        answer=succeed_with("x" * (256 * 1024 + 1)),
    )
    assert trace.output["Error"] == "States.DataLimitExceeded"
    assert "'lambda' returned a result with a size exceeding" in trace.output["Cause"]
    assert "TaskSucceeded" not in trace.types


def test_a_catch_output_too_large_fails_the_execution() -> None:
    trace = drive(
        machine(
            (
                "T",
                task(
                    Catch=[
                        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Caught"}
                    ],
                    End=True,
                ),
            ),
            ("Caught", {"Type": "Pass", "End": True}),
        ),
        {"blob": "x" * 258_000},
        fail_with("Boom", "y" * 10_000),
    )
    assert trace.completion.error == "States.DataLimitExceeded"


def test_a_parallel_failing_on_its_own_input_records_no_parallel_failed() -> None:
    trace = drive(
        machine(
            (
                "Par",
                {
                    "Type": "Parallel",
                    "InputPath": "$.missing",
                    "Branches": [machine(("B", {"Type": "Succeed"}))],
                    "End": True,
                },
            )
        )
    )
    assert trace.types == ["ExecutionStarted", "ParallelStateEntered", "ExecutionFailed"]

"""The Step Functions operations of `Engine`, over the durable store, on a virtual clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from held_tasks import HeldTasks

from redstep.asl.json_text import JSON_TOO_DEEP, MAX_JSON_DEPTH
from redstep.engine.signals import TaskSucceeded
from redstep.runtime.clock import VirtualClock
from redstep.runtime.engine import Engine
from redstep.runtime.errors import (
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    ExecutionNotRedrivable,
    InvalidArn,
    InvalidDefinition,
    InvalidExecutionInput,
    InvalidName,
    StateMachineAlreadyExists,
    StateMachineDoesNotExist,
    StateMachineTypeNotSupported,
    ValidationException,
)
from redstep.runtime.sqlite_store import SqliteExecutionStore

ROLE = "arn:aws:iam::123456789012:role/test"
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
TASK = {
    "StartAt": "T",
    "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}},
}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with Engine(SqliteExecutionStore(tmp_path), clock=VirtualClock()) as engine:
        yield engine


def create(engine: Engine, definition: dict[str, Any], name: str = "Machine") -> str:
    response = engine.create_state_machine(
        {"name": name, "definition": json.dumps(definition), "roleArn": ROLE}
    )
    return str(response["stateMachineArn"])


def run(engine: Engine, arn: str, given: Any = None, name: str | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {"stateMachineArn": arn, "input": json.dumps(given or {})}
    if name:
        request["name"] = name
    started = engine.start_execution(request)
    return engine.wait(started["executionArn"], timeout=10)


# -- state machines --------------------------------------------------------------------------


def test_create_describe_list_update_delete(engine: Engine) -> None:
    arn = create(engine, PASS)
    assert arn == "arn:aws:states:us-east-1:123456789012:stateMachine:Machine"
    described = engine.describe_state_machine({"stateMachineArn": arn})
    assert described["status"] == "ACTIVE"
    assert json.loads(described["definition"]) == PASS
    assert described["type"] == "STANDARD"
    assert engine.list_state_machines({})["stateMachines"][0]["name"] == "Machine"
    updated = engine.update_state_machine({"stateMachineArn": arn, "definition": json.dumps(TASK)})
    assert updated["revisionId"] != described["revisionId"]
    assert json.loads(engine.describe_state_machine({"stateMachineArn": arn})["definition"]) == TASK
    engine.delete_state_machine({"stateMachineArn": arn})
    with pytest.raises(StateMachineDoesNotExist, match="State Machine Does Not Exist"):
        engine.describe_state_machine({"stateMachineArn": arn})


def test_create_is_idempotent_for_the_same_definition_only(engine: Engine) -> None:
    arn = create(engine, PASS)
    assert create(engine, PASS) == arn
    other_role = {"name": "Machine", "definition": json.dumps(PASS), "roleArn": ROLE + "2"}
    assert engine.create_state_machine(other_role)["stateMachineArn"] == arn  # AWS ignores it
    with pytest.raises(StateMachineAlreadyExists):
        create(engine, TASK)


def test_an_invalid_definition_is_refused_with_every_problem(engine: Engine) -> None:
    bad = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "Nowhere", "Bogus": 1},
            "B": {"Type": "Pass", "End": True},
        },
    }
    with pytest.raises(InvalidDefinition) as raised:
        create(engine, bad)
    message = raised.value.message
    assert message.startswith("Invalid State Machine Definition: '")
    assert "SCHEMA_VALIDATION_FAILED: Field 'Bogus' is not supported at /States/A" in message
    assert "MISSING_TRANSITION_TARGET: Missing 'Next' target: Nowhere at /States/A/Next" in message
    assert engine.list_state_machines({})["stateMachines"] == []


def test_validate_reports_diagnostics_without_creating(engine: Engine) -> None:
    assert engine.validate_state_machine_definition({"definition": json.dumps(PASS)}) == {
        "result": "OK",
        "diagnostics": [],
        "truncated": False,
    }
    result = engine.validate_state_machine_definition({"definition": '{"StartAt": 1}'})
    assert result["result"] == "FAIL"
    assert {d["code"] for d in result["diagnostics"]} == {"SCHEMA_VALIDATION_FAILED"}


@pytest.mark.parametrize("name", ["has space", "semi;colon", "star*"])
def test_bad_names_are_refused(engine: Engine, name: str) -> None:
    with pytest.raises(InvalidName, match="Invalid Name"):
        create(engine, PASS, name=name)


def test_an_empty_name_breaks_the_model_before_the_naming_rules(engine: Engine) -> None:
    with pytest.raises(ValidationException, match="length greater than or equal to 1"):
        create(engine, PASS, name="")


def test_a_name_over_80_characters_is_a_validation_error(engine: Engine) -> None:
    with pytest.raises(ValidationException, match="less than or equal to 80"):
        create(engine, PASS, name="a" * 81)


def test_bad_arns_are_refused(engine: Engine) -> None:
    with pytest.raises(InvalidArn, match="Invalid Arn"):
        engine.describe_state_machine({"stateMachineArn": "not-an-arn"})
    with pytest.raises(ValidationException, match="Member must not be null"):
        engine.describe_state_machine({})


# -- executions ----------------------------------------------------------------------------------


def test_start_and_describe_an_execution(engine: Engine) -> None:
    arn = create(
        engine,
        {
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "Result": 1, "ResultPath": "$.r", "End": True}},
        },
    )
    described = run(engine, arn, {"a": 1}, name="first")
    assert described["status"] == "SUCCEEDED"
    assert described["executionArn"].endswith(":execution:Machine:first")
    assert json.loads(described["output"]) == {"a": 1, "r": 1}
    assert described["stopDate"] >= described["startDate"]
    assert described["redriveStatus"] == "NOT_REDRIVABLE"
    for_execution = engine.describe_state_machine_for_execution(
        {"executionArn": described["executionArn"]}
    )
    assert for_execution["name"] == "Machine"


def test_input_must_be_json(engine: Engine) -> None:
    arn = create(engine, PASS)
    with pytest.raises(InvalidExecutionInput, match="Invalid State Machine Execution Input"):
        engine.start_execution({"stateMachineArn": arn, "input": "{not json"})
    # Over 262,144 characters the model refuses it; under that but over 256 KiB of UTF-8, the
    # service does.
    with pytest.raises(ValidationException, match="length less than or equal to 262144"):
        engine.start_execution({"stateMachineArn": arn, "input": json.dumps("x" * 300_000)})
    wide = json.dumps("é" * 200_000, ensure_ascii=False)
    with pytest.raises(InvalidExecutionInput, match="exceeds the maximum"):
        engine.start_execution({"stateMachineArn": arn, "input": wide})
    with pytest.raises(InvalidExecutionInput, match="NaN"):
        engine.start_execution({"stateMachineArn": arn, "input": '{"x": NaN}'})
    with pytest.raises(InvalidExecutionInput, match="Invalid execution input"):
        engine.start_execution({"stateMachineArn": arn, "input": ""})
    assert engine.list_executions({"stateMachineArn": arn}) == {"executions": []}


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ('{"x": NaN}', "Non-standard token 'NaN'"),
        ('{"a": Infinity}', "Non-standard token 'Infinity'"),
        ("[1e400]", "Numeric value (1e400) out of range"),
        ("{not json", "Expecting property name enclosed in double quotes"),
    ],
)
def test_input_that_is_not_strict_json_is_refused_with_the_reason(
    engine: Engine, given: str, reason: str
) -> None:
    arn = create(engine, PASS)
    with pytest.raises(InvalidExecutionInput) as raised:
        engine.start_execution({"stateMachineArn": arn, "input": given})
    assert raised.value.message == f"Invalid State Machine Execution Input: '{reason}: {given}'"


def test_start_execution_is_idempotent_while_running(tmp_path: Path) -> None:
    held = HeldTasks()
    with Engine(SqliteExecutionStore(tmp_path), clock=VirtualClock(), tasks=held) as engine:
        arn = create(engine, TASK)
        first = engine.start_execution({"stateMachineArn": arn, "name": "n", "input": "{}"})
        again = engine.start_execution({"stateMachineArn": arn, "name": "n", "input": "{}"})
        assert again == first
        with pytest.raises(ExecutionAlreadyExists):
            engine.start_execution({"stateMachineArn": arn, "name": "n", "input": '{"x":1}'})
        assert held.arrived.wait(5)
        _, command, report = held.started[0]
        report(TaskSucceeded(command.task_id, {"done": True}))
        assert engine.wait(first["executionArn"], 5)["status"] == "SUCCEEDED"
        with pytest.raises(ExecutionAlreadyExists, match="Execution Already Exists"):
            engine.start_execution({"stateMachineArn": arn, "name": "n", "input": "{}"})


def test_stop_execution_aborts_and_cancels_the_task(tmp_path: Path) -> None:
    held = HeldTasks()
    with Engine(SqliteExecutionStore(tmp_path), clock=VirtualClock(), tasks=held) as engine:
        arn = create(engine, TASK)
        started = engine.start_execution({"stateMachineArn": arn, "input": "{}"})
        assert held.arrived.wait(5)
        stopped = engine.stop_execution(
            {"executionArn": started["executionArn"], "error": "Halt", "cause": "enough"}
        )
        described = engine.describe_execution({"executionArn": started["executionArn"]})
        assert described["status"] == "ABORTED"
        assert (described["error"], described["cause"]) == ("Halt", "enough")
        assert described["stopDate"] == stopped["stopDate"]
        assert held.cancelled == [(started["executionArn"], 1)]


def test_a_task_without_an_integration_fails_with_states_runtime(engine: Engine) -> None:
    described = run(engine, create(engine, TASK))
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Runtime"
    assert "arn:aws:states:::lambda:invoke" in described["cause"]


def test_waits_elapse_on_the_virtual_clock_and_history_keeps_their_times(engine: Engine) -> None:
    arn = create(
        engine, {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    )
    described = run(engine, arn)
    assert described["status"] == "SUCCEEDED"
    events = engine.get_execution_history({"executionArn": described["executionArn"]})["events"]
    waited = events[2]["timestamp"] - events[1]["timestamp"]
    assert events[2]["type"] == "WaitStateExited"
    assert timedelta(seconds=3600) <= waited < timedelta(seconds=3605)


def test_list_executions_filters_and_pages(engine: Engine) -> None:
    arn = create(engine, PASS)
    failing = create(engine, {"StartAt": "F", "States": {"F": {"Type": "Fail"}}}, name="Failing")
    names = [f"run-{i}" for i in range(5)]
    for name in names:
        run(engine, arn, name=name)
    run(engine, failing, name="bad")
    seen: list[str] = []
    token = None
    while True:
        request: dict[str, Any] = {"stateMachineArn": arn, "maxResults": 2}
        if token:
            request["nextToken"] = token
        page = engine.list_executions(request)
        seen += [e["name"] for e in page["executions"]]
        token = page.get("nextToken")
        if not token:
            break
    assert sorted(seen) == names
    failed = engine.list_executions({"stateMachineArn": failing, "statusFilter": "FAILED"})
    assert [e["name"] for e in failed["executions"]] == ["bad"]
    assert engine.list_executions({"stateMachineArn": arn, "statusFilter": "FAILED"}) == {
        "executions": []
    }
    with pytest.raises(ValidationException, match="statusFilter"):
        engine.list_executions({"stateMachineArn": arn, "statusFilter": "DONE"})


def test_history_pages_forwards_and_backwards(engine: Engine) -> None:
    arn = create(
        engine,
        {
            "StartAt": "A",
            "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "End": True}},
        },
    )
    execution = run(engine, arn)["executionArn"]
    everything = engine.get_execution_history({"executionArn": execution})["events"]
    assert [e["id"] for e in everything] == [1, 2, 3, 4, 5, 6]
    first = engine.get_execution_history({"executionArn": execution, "maxResults": 4})
    rest = engine.get_execution_history(
        {"executionArn": execution, "maxResults": 4, "nextToken": first["nextToken"]}
    )
    assert [e["id"] for e in first["events"] + rest["events"]] == [1, 2, 3, 4, 5, 6]
    assert "nextToken" not in rest
    backwards = engine.get_execution_history(
        {"executionArn": execution, "reverseOrder": True, "maxResults": 2}
    )
    assert [e["id"] for e in backwards["events"]] == [6, 5]
    bare = engine.get_execution_history({"executionArn": execution, "includeExecutionData": False})
    assert "input" not in bare["events"][0]["executionStartedEventDetails"]


def test_unknown_execution(engine: Engine) -> None:
    missing = "arn:aws:states:us-east-1:123456789012:execution:Machine:nope"
    with pytest.raises(ExecutionDoesNotExist, match="Execution Does Not Exist"):
        engine.describe_execution({"executionArn": missing})


# -- redrive and synchronous executions -------------------------------------------------------


def test_a_running_or_succeeded_execution_is_not_redrivable_and_describe_says_why(
    tmp_path: Path,
) -> None:
    held = HeldTasks()
    with Engine(SqliteExecutionStore(tmp_path), clock=VirtualClock(), tasks=held) as engine:
        running = engine.start_execution({"stateMachineArn": create(engine, TASK)})["executionArn"]
        done = run(engine, create(engine, PASS, name="Pass"))["executionArn"]
        failing = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}
        failed = run(engine, create(engine, failing, name="Fail"))["executionArn"]
        described = engine.describe_execution({"executionArn": failed})
        assert described["redriveStatus"] == "REDRIVABLE"  # tests/runtime/test_redrive.py
        assert "redriveStatusReason" not in described
        expected = {
            running: "Execution is RUNNING and cannot be redriven",
            done: "Execution is SUCCEEDED and cannot be redriven",
        }
        for arn, reason in expected.items():
            described = engine.describe_execution({"executionArn": arn})
            assert (described["redriveStatus"], described["redriveStatusReason"]) == (
                "NOT_REDRIVABLE",
                reason,
            )
            assert described["redriveCount"] == 0
            with pytest.raises(ExecutionNotRedrivable) as raised:
                engine.redrive_execution({"executionArn": arn, "clientToken": "token-1"})
            assert raised.value.message == reason
            assert raised.value.code == "ExecutionNotRedrivable"


def test_redrive_checks_the_execution_first(engine: Engine) -> None:
    missing = "arn:aws:states:us-east-1:123456789012:execution:Machine:nope"
    with pytest.raises(ExecutionDoesNotExist):
        engine.redrive_execution({"executionArn": missing})
    with pytest.raises(InvalidArn):
        engine.redrive_execution({"executionArn": "not-an-arn"})


def test_a_redriven_filter_lists_nothing(engine: Engine) -> None:
    arn = create(engine, PASS)
    run(engine, arn)
    assert engine.list_executions({"stateMachineArn": arn, "redriveFilter": "REDRIVEN"}) == {
        "executions": []
    }
    not_redriven = engine.list_executions({"stateMachineArn": arn, "redriveFilter": "NOT_REDRIVEN"})
    assert len(not_redriven["executions"]) == 1


def test_a_standard_machine_does_not_run_synchronously(engine: Engine) -> None:
    arn = create(engine, PASS)
    with pytest.raises(StateMachineTypeNotSupported) as raised:
        engine.start_sync_execution({"stateMachineArn": arn, "input": "{}"})
    assert raised.value.message == "This operation is not supported by this type of state machine"
    assert engine.list_executions({"stateMachineArn": arn}) == {"executions": []}
    missing = "arn:aws:states:us-east-1:123456789012:stateMachine:Missing"
    with pytest.raises(StateMachineDoesNotExist):
        engine.start_sync_execution({"stateMachineArn": missing})
    with pytest.raises(InvalidArn):
        engine.start_sync_execution({"stateMachineArn": "nope"})


def test_metadata_only_leaves_out_input_and_output(engine: Engine) -> None:
    described = run(engine, create(engine, PASS), {"secret": 1})
    bare = engine.describe_execution(
        {"executionArn": described["executionArn"], "includedData": "METADATA_ONLY"}
    )
    assert "input" not in bare
    assert "output" not in bare
    assert bare["inputDetails"] == {"included": False}
    assert bare["status"] == "SUCCEEDED"


# -- JSON nested too deeply ------------------------------------------------------------------

DEEP = "[" * 1000 + "]" * 1000  # about 2 KB, deeper than Python's reader can recurse
JUST_TOO_DEEP = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)


def test_a_definition_nested_too_deeply_is_invalid_not_a_crash(engine: Engine) -> None:
    for definition in (DEEP, JUST_TOO_DEEP):
        assert engine.validate_state_machine_definition({"definition": definition}) == {
            "result": "FAIL",
            "diagnostics": [
                {"severity": "ERROR", "code": "INVALID_JSON_DESCRIPTION", "message": JSON_TOO_DEEP}
            ],
            "truncated": False,
        }
        with pytest.raises(InvalidDefinition) as raised:
            engine.create_state_machine({"name": "Deep", "definition": definition, "roleArn": ROLE})
        assert raised.value.message == (
            f"Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: {JSON_TOO_DEEP} at null'"
        )
    arn = create(engine, PASS)
    with pytest.raises(InvalidDefinition, match="nesting depth"):
        engine.update_state_machine({"stateMachineArn": arn, "definition": DEEP})


def test_input_nested_too_deeply_is_invalid_not_a_crash(engine: Engine) -> None:
    arn = create(engine, PASS)
    for text in (DEEP, JUST_TOO_DEEP):
        with pytest.raises(InvalidExecutionInput) as raised:
            engine.start_execution({"stateMachineArn": arn, "input": text})
        assert raised.value.message.startswith(
            f"Invalid State Machine Execution Input: '{JSON_TOO_DEEP}: [[["
        )
    at_the_limit = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert run(engine, arn, json.loads(at_the_limit))["output"] == at_the_limit


def test_json_grown_too_deep_at_run_time_fails_the_execution_not_the_executor(
    engine: Engine,
) -> None:
    parse_deep = {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Pass", "Parameters": {"x.$": "States.StringToJson($.s)"}, "End": True}
        },
    }
    described = run(engine, create(engine, parse_deep), {"s": "[" * 5000 + "]" * 5000})
    assert (described["status"], described["error"]) == ("FAILED", "States.Runtime")
    assert described["cause"].endswith("Invalid arguments in States.StringToJson")
    assert run(engine, create(engine, PASS, "After"), {"still": "running"})["status"] == (
        "SUCCEEDED"
    )


def test_parameters_grown_too_deep_fail_the_task_without_running_it(tmp_path: Path) -> None:
    held = HeldTasks()
    grown = {
        "StartAt": "Parse",
        "States": {
            "Parse": {
                "Type": "Pass",
                "Parameters": {"deeper": {"still.$": "$"}},  # two levels over the input's
                "Next": "T",
            },
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True},
        },
    }
    at_the_limit = json.loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)
    with Engine(SqliteExecutionStore(tmp_path), clock=VirtualClock(), tasks=held) as engine:
        described = run(engine, create(engine, grown), at_the_limit)
    assert (described["status"], described["error"]) == ("FAILED", "States.Runtime")
    assert described["cause"] == (
        f"redstep could not hand the task its parameters: {JSON_TOO_DEEP}"
    )
    assert held.started == []


def test_both_describes_list_the_variables_each_state_reads_and_omit_the_member_when_none(
    engine: Engine,
) -> None:
    reads = {
        "StartAt": "Set",
        "States": {
            "Set": {"Type": "Pass", "Assign": {"answer": 42, "unit": "m"}, "Next": "Use"},
            "Use": {
                "Type": "Pass",
                "Parameters": {"text.$": "States.Format('{} {}', $answer, $unit)"},
                "End": True,
            },
        },
    }
    arn = create(engine, reads)
    expected = {"Use": ["answer", "unit"]}
    assert engine.describe_state_machine({"stateMachineArn": arn})["variableReferences"] == expected
    described = run(engine, arn)
    assert json.loads(described["output"]) == {"text": "42 m"}
    for_execution = engine.describe_state_machine_for_execution(
        {"executionArn": described["executionArn"]}
    )
    assert for_execution["variableReferences"] == expected
    # The revision an execution ran keeps its references after an update that reads none.
    engine.update_state_machine({"stateMachineArn": arn, "definition": json.dumps(PASS)})
    assert "variableReferences" not in engine.describe_state_machine({"stateMachineArn": arn})
    for_execution = engine.describe_state_machine_for_execution(
        {"executionArn": described["executionArn"]}
    )
    assert for_execution["variableReferences"] == expected

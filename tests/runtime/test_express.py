"""Express workflows (`redstep.runtime.express`): created, started synchronously and not, kept
out of the durable store and of the operations AWS keeps them out of; through `Engine`, boto3
against the HTTP app, and `redstep run`. Expected wordings are AWS's, as recorded on AWS."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from click.testing import CliRunner
from held_tasks import HeldTasks
from live_server import live_server
from wire_check import check_shape, check_wire

from redstep.api.app import App
from redstep.cli import main
from redstep.engine.commands import ExecutionStatus, ScheduleTask
from redstep.engine.signals import Signal, TaskSucceeded
from redstep.project import ProjectError, load_project
from redstep.runtime.clock import VirtualClock
from redstep.runtime.engine import Engine
from redstep.runtime.errors import (
    ExecutionDoesNotExist,
    InvalidArn,
    InvalidDefinition,
    InvalidExecutionInput,
    InvalidName,
    StateMachineAlreadyExists,
    StateMachineDoesNotExist,
    StateMachineTypeNotSupported,
    StepFunctionsError,
)
from redstep.runtime.express import MAX_EXPRESS_SECONDS, billing_details, is_express_arn
from redstep.runtime.express_store import ExpressStore
from redstep.runtime.memory_store import MemoryExecutionStore
from redstep.runtime.sqlite_store import SqliteExecutionStore
from redstep.runtime.store import Completion, ExecutionRecord, SignalRecord
from redstep.services import Services

ROLE = "arn:aws:iam::123456789012:role/test"
MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:Quick"
EXPRESS_ARN = re.compile(
    r"arn:aws:states:us-east-1:123456789012:express:Quick:(?P<name>[^:]+):"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z"
)
NOT_HERE = "Invalid Arn: 'Resource type not valid in this context: express'"
NOT_THIS_TYPE = "This operation is not supported by this type of state machine"

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"Arg1": "a"}, "End": True}}}
FAIL = {
    "StartAt": "F",
    "States": {"F": {"Type": "Fail", "Error": "SomeFailure", "Cause": "It failed."}},
}
NAP = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 400, "End": True}}}
TASK = {
    "StartAt": "T",
    "States": {
        "T": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "f", "Payload.$": "$"},
            "OutputPath": "$.Payload",
            "End": True,
        }
    },
}


def with_task(resource: str) -> dict[str, Any]:
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True}}}


class Echo:
    """A task runner that answers every task at once: `{"Payload": <its parameters' Payload>}`."""

    def __init__(self) -> None:
        self.resources: list[str] = []

    def start(
        self, execution_arn: str, command: ScheduleTask, report: Callable[[Signal], None]
    ) -> None:
        self.resources.append(command.resource)
        report(TaskSucceeded(command.task_id, {"Payload": command.parameters["Payload"]}))

    def cancel(self, execution_arn: str, task_id: int) -> None:
        """Nothing to cancel: `start` answers before it returns."""


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with Engine(SqliteExecutionStore(tmp_path), clock=VirtualClock(), tasks=Echo()) as engine:
        yield engine


def create(engine: Engine, definition: dict[str, Any], kind: str = "EXPRESS") -> str:
    request = {"name": "Quick", "definition": json.dumps(definition), "roleArn": ROLE}
    arn: str = engine.create_state_machine({**request, "type": kind})["stateMachineArn"]
    return arn


def run_sync(engine: Engine, arn: str, given: Any = None, **more: Any) -> dict[str, Any]:
    request = {"stateMachineArn": arn, "input": json.dumps({} if given is None else given)}
    return engine.start_sync_execution({**request, **more})


def wire(response: dict[str, Any]) -> Any:
    """The response as the HTTP layer writes it: timestamps as epoch seconds."""

    def epoch(value: object) -> float:
        assert isinstance(value, datetime)
        return value.timestamp()

    return json.loads(json.dumps(response, default=epoch))


def check_output(operation: str, response: dict[str, Any]) -> None:
    model = botocore.session.get_session().get_service_model("stepfunctions")
    check_shape(model.operation_model(operation).output_shape, wire(response), operation)


# -- state machines --------------------------------------------------------------------------


def test_an_express_state_machine_is_created_described_and_listed(engine: Engine) -> None:
    arn = create(engine, PASS)
    assert arn == MACHINE_ARN
    described = engine.describe_state_machine({"stateMachineArn": arn})
    assert described["type"] == "EXPRESS"
    assert json.loads(described["definition"]) == PASS
    listed = engine.list_state_machines({})["stateMachines"]
    assert [(m["name"], m["type"]) for m in listed] == [("Quick", "EXPRESS")]
    assert create(engine, PASS) == arn  # the same machine again: idempotent
    with pytest.raises(StateMachineAlreadyExists):
        create(engine, PASS, "STANDARD")  # the type is part of what must be the same


REFUSED = [
    (
        with_task("arn:aws:states:::states:startExecution.sync"),
        "Express state machine does not support '.sync' service integration at /States/T/Resource",
    ),
    (
        with_task("arn:aws:states:::states:startExecution.sync:2"),
        "Express state machine does not support '.sync:2' service integration "
        "at /States/T/Resource",
    ),
    (
        with_task("arn:aws:states:::sqs:sendMessage.waitForTaskToken"),
        "Express state machine does not support '.waitForTaskToken' service integration  "
        "at /States/T/Resource",
    ),
    (
        with_task("arn:aws:states:us-east-1:123456789012:activity:Chores"),
        "Express state machine does not support Activity ARN at /States/T/Resource",
    ),
    (
        {
            "StartAt": "Both",
            "States": {
                "Both": {
                    "Type": "Parallel",
                    "Branches": [
                        PASS,
                        with_task("arn:aws:states:::lambda:invoke.waitForTaskToken"),
                    ],
                    "End": True,
                }
            },
        },
        "Express state machine does not support '.waitForTaskToken' service integration  "
        "at /States/Both/Branches[1]/States/T/Resource",
    ),
    (
        {
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "ItemProcessor": with_task("arn:aws:states:::states:startExecution.sync"),
                    "End": True,
                }
            },
        },
        "Express state machine does not support '.sync' service integration "
        "at /States/M/ItemProcessor/States/T/Resource",
    ),
]


@pytest.mark.parametrize(("definition", "problem"), REFUSED)
def test_an_express_definition_may_not_run_a_job_wait_for_a_callback_or_call_an_activity(
    engine: Engine, definition: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InvalidDefinition) as raised:
        create(engine, definition)
    assert raised.value.message == (
        f"Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: {problem}'"
    )
    with pytest.raises(StateMachineDoesNotExist):  # nothing was created
        engine.describe_state_machine({"stateMachineArn": MACHINE_ARN})
    assert create(engine, definition, "STANDARD") == MACHINE_ARN  # a Standard one may
    validated = engine.validate_state_machine_definition(
        {"definition": json.dumps(definition), "type": "EXPRESS"}
    )
    assert validated["result"] == "FAIL"
    assert [
        f"{d['code']}: {d['message']} at {d['location']}" for d in validated["diagnostics"]
    ] == [f"SCHEMA_VALIDATION_FAILED: {problem}"]


def test_a_standard_machine_may_run_express_children_in_a_distributed_map(engine: Engine) -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    **PASS,
                },
                "End": True,
            }
        },
    }
    assert create(engine, definition, "STANDARD") == MACHINE_ARN
    described = engine.describe_state_machine({"stateMachineArn": MACHINE_ARN})
    assert described["type"] == "STANDARD"


def test_an_update_is_refused_the_same_and_changes_nothing(engine: Engine) -> None:
    arn = create(engine, PASS)
    before = engine.describe_state_machine({"stateMachineArn": arn})
    callback = with_task("arn:aws:states:::lambda:invoke.waitForTaskToken")
    with pytest.raises(InvalidDefinition, match=r"does not support '\.waitForTaskToken'"):
        engine.update_state_machine({"stateMachineArn": arn, "definition": json.dumps(callback)})
    assert engine.describe_state_machine({"stateMachineArn": arn}) == before
    engine.update_state_machine({"stateMachineArn": arn, "definition": json.dumps(FAIL)})
    assert run_sync(engine, arn)["status"] == "FAILED"


# -- StartSyncExecution -----------------------------------------------------------------------


def test_a_synchronous_execution_answers_with_its_output(engine: Engine) -> None:
    arn = create(engine, PASS)
    answer = run_sync(engine, arn, {"x": 1}, name="first")
    check_output("StartSyncExecution", answer)
    match = EXPRESS_ARN.match(answer["executionArn"])
    assert match is not None
    assert match["name"] == "first"
    assert answer["name"] == "first"
    assert answer["stateMachineArn"] == arn
    assert answer["status"] == "SUCCEEDED"
    assert json.loads(answer["output"]) == {"Arg1": "a"}
    assert json.loads(answer["input"]) == {"x": 1}
    assert answer["inputDetails"] == answer["outputDetails"] == {"included": True}
    assert answer["startDate"] <= answer["stopDate"]
    assert answer["billingDetails"]["billedMemoryUsedInMB"] == 64
    assert answer["billingDetails"]["billedDurationInMilliseconds"] % 100 == 0
    assert "error" not in answer
    assert "cause" not in answer
    assert "traceHeader" not in answer


def test_a_name_given_twice_starts_two_executions(engine: Engine) -> None:
    arn = create(engine, PASS)
    first = run_sync(engine, arn, name="same")["executionArn"]
    second = run_sync(engine, arn, name="same")["executionArn"]
    assert first != second
    assert first.rsplit(":", 1)[0] == second.rsplit(":", 1)[0]


def test_a_failed_execution_answers_with_its_error_and_cause(engine: Engine) -> None:
    arn = create(engine, FAIL)
    answer = run_sync(engine, arn)
    check_output("StartSyncExecution", answer)
    assert answer["status"] == "FAILED"
    assert (answer["error"], answer["cause"]) == ("SomeFailure", "It failed.")
    assert "output" not in answer
    assert answer["outputDetails"] == {"included": True}  # as AWS answers a failed one


def test_an_execution_still_running_after_five_minutes_times_out(engine: Engine) -> None:
    arn = create(engine, NAP)  # waits 400 s: the virtual clock skips to the limit
    answer = run_sync(engine, arn)
    check_output("StartSyncExecution", answer)
    assert answer["status"] == "TIMED_OUT"
    assert answer["stopDate"] - answer["startDate"] == timedelta(seconds=MAX_EXPRESS_SECONDS)
    assert answer["billingDetails"]["billedDurationInMilliseconds"] == 300_000
    assert "error" not in answer
    assert "cause" not in answer
    assert "output" not in answer


def test_a_shorter_timeout_of_the_definition_comes_first(engine: Engine) -> None:
    arn = create(engine, {**NAP, "TimeoutSeconds": 10})
    answer = run_sync(engine, arn)
    assert answer["status"] == "TIMED_OUT"
    assert answer["stopDate"] - answer["startDate"] == timedelta(seconds=10)


def test_a_wait_within_the_limit_is_skipped_and_billed(engine: Engine) -> None:
    arn = create(
        engine, {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
    )
    answer = run_sync(engine, arn)
    assert answer["status"] == "SUCCEEDED"
    billed = answer["billingDetails"]["billedDurationInMilliseconds"]
    assert 60_000 <= billed < 61_000
    assert billed % 100 == 0


def test_tasks_run_through_the_engines_integrations(tmp_path: Path) -> None:
    echo = Echo()
    with Engine(SqliteExecutionStore(tmp_path), clock=VirtualClock(), tasks=echo) as engine:
        arn = create(engine, TASK)
        answer = run_sync(engine, arn, {"n": 7})
    assert answer["status"] == "SUCCEEDED"
    assert json.loads(answer["output"]) == {"n": 7}
    assert echo.resources == ["arn:aws:states:::lambda:invoke"]


def test_metadata_only_leaves_the_data_out_and_the_trace_header_comes_back(engine: Engine) -> None:
    arn = create(engine, PASS)
    answer = run_sync(engine, arn, includedData="METADATA_ONLY", traceHeader="Root=1-abc")
    check_output("StartSyncExecution", answer)
    assert "input" not in answer
    assert "output" not in answer
    assert answer["inputDetails"] == answer["outputDetails"] == {"included": False}
    assert answer["traceHeader"] == "Root=1-abc"


def test_bad_requests_are_refused_and_start_nothing(engine: Engine) -> None:
    arn = create(engine, PASS)
    with pytest.raises(InvalidExecutionInput, match="Invalid State Machine Execution Input"):
        engine.start_sync_execution({"stateMachineArn": arn, "input": "{not json"})
    with pytest.raises(InvalidName, match="Invalid Name: 'a b'"):
        engine.start_sync_execution({"stateMachineArn": arn, "name": "a b"})
    with pytest.raises(StateMachineDoesNotExist):
        engine.start_sync_execution({"stateMachineArn": MACHINE_ARN + "x"})
    with pytest.raises(InvalidArn):
        engine.start_sync_execution({"stateMachineArn": "nope"})
    assert engine.express.store.kept() == []  # nothing was started
    assert run_sync(engine, arn)["status"] == "SUCCEEDED"  # and the machine still runs


def test_a_standard_machine_does_not_run_synchronously(engine: Engine) -> None:
    arn = create(engine, PASS, "STANDARD")
    with pytest.raises(StateMachineTypeNotSupported) as raised:
        run_sync(engine, arn)
    assert raised.value.message == NOT_THIS_TYPE


def test_billing_rounds_up_to_a_hundred_milliseconds() -> None:
    start = datetime(2024, 1, 1)
    assert billing_details(start, start)["billedDurationInMilliseconds"] == 100
    assert (
        billing_details(start, start + timedelta(milliseconds=100))["billedDurationInMilliseconds"]
        == 100
    )
    assert (
        billing_details(start, start + timedelta(milliseconds=7501))["billedDurationInMilliseconds"]
        == 7600
    )


# -- no history, no listing, not durable ------------------------------------------------------


def test_express_executions_are_not_listed_described_stopped_or_given_a_history(
    engine: Engine,
) -> None:
    arn = create(engine, PASS)
    execution = run_sync(engine, arn)["executionArn"]
    with pytest.raises(StateMachineTypeNotSupported) as listed:
        engine.list_executions({"stateMachineArn": arn})
    assert listed.value.message == NOT_THIS_TYPE
    for operation in (
        "DescribeExecution",
        "StopExecution",
        "GetExecutionHistory",
        "DescribeStateMachineForExecution",
        "RedriveExecution",
    ):
        with pytest.raises(InvalidArn) as raised:
            engine.handle(operation, {"executionArn": execution})
        assert raised.value.message == NOT_HERE, operation
    assert engine.store.get_execution(execution) is None  # never in the durable store


def test_start_execution_on_an_express_machine_runs_on_after_the_call(engine: Engine) -> None:
    arn = create(
        engine,
        {
            "StartAt": "W",
            "States": {"W": {"Type": "Wait", "Seconds": 30, "Next": "P"}, "P": PASS["States"]["P"]},
        },
    )
    started = engine.start_execution({"stateMachineArn": arn, "name": "async"})
    check_output("StartExecution", started)
    match = EXPRESS_ARN.match(started["executionArn"])
    assert match is not None
    assert match["name"] == "async"
    again = engine.start_execution({"stateMachineArn": arn, "name": "async"})
    assert again["executionArn"] != started["executionArn"]  # no idempotency, as on AWS
    described = engine.wait(started["executionArn"], timeout=10)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"Arg1": "a"}
    events = engine.events_after(started["executionArn"], 0, 100)
    assert next(e["type"] for e in events) == "ExecutionStarted"
    assert events[-1]["type"] == "ExecutionSucceeded"
    assert engine.store.running_executions() == []


def test_an_express_execution_is_not_resumed_after_a_restart(tmp_path: Path) -> None:
    held = HeldTasks()
    with Engine(SqliteExecutionStore(tmp_path), clock=VirtualClock(), tasks=held) as engine:
        arn = create(engine, TASK)
        started = engine.start_execution({"stateMachineArn": arn})["executionArn"]
        assert held.arrived.wait(10)
        assert engine.express.describe(started)["status"] == "RUNNING"
    echo = Echo()
    with Engine(SqliteExecutionStore(tmp_path), clock=VirtualClock(), tasks=echo) as engine:
        assert engine.store.running_executions() == []
        with pytest.raises(ExecutionDoesNotExist):
            engine.express.describe(started)
        assert echo.resources == []  # its task was not run again
        assert run_sync(engine, arn, {"k": 1})["status"] == "SUCCEEDED"  # the machine is kept


def test_a_synchronous_caller_is_told_when_redstep_stops_first(tmp_path: Path) -> None:
    held = HeldTasks()
    engine = Engine(SqliteExecutionStore(tmp_path), clock=VirtualClock(), tasks=held)
    arn = create(engine, TASK)
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            run_sync(engine, arn)
        except StepFunctionsError as error:
            outcome.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    assert held.arrived.wait(10)
    engine.close()
    caller.join(10)
    assert not caller.is_alive()
    assert len(outcome) == 1
    assert "it is not resumed" in str(outcome[0])
    assert outcome[0].code == "InternalServerError"


def test_a_read_only_engine_starts_no_express_execution(tmp_path: Path) -> None:
    with Engine(SqliteExecutionStore(tmp_path), clock=VirtualClock()) as engine:
        arn = create(engine, PASS)
    with Engine(SqliteExecutionStore(tmp_path), run=False) as engine:
        with pytest.raises(StepFunctionsError, match="runs no executions"):
            engine.start_execution({"stateMachineArn": arn})
        with pytest.raises(StepFunctionsError, match="runs no executions"):
            engine.start_sync_execution({"stateMachineArn": arn})


def test_the_store_keeps_only_the_last_ended_executions() -> None:
    store = ExpressStore(MemoryExecutionStore(), keep_ended=2)
    start = datetime(2024, 1, 1)
    arns = [f"arn:aws:states:us-east-1:123456789012:express:M:e{i}:u" for i in range(3)]
    ended = Completion(ExecutionStatus.SUCCEEDED, start, "{}")
    for arn in arns:
        record = ExecutionRecord(arn, MACHINE_ARN, "r", arn, "{}", ExecutionStatus.RUNNING, start)
        store.put_express(record, SignalRecord(0, "Start", {}, start, False), pinned=arn == arns[0])
        store.commit(arn, store.signals(arn)[0].seq, start, [], [], [], ended)
    assert all(store.is_express(arn) for arn in arns)  # the first is pinned: not counted
    store.release(arns[0])
    assert [store.is_express(arn) for arn in arns] == [True, False, True]
    assert store.get_execution(arns[1]) is None


def test_is_express_arn() -> None:
    assert is_express_arn("arn:aws:states:us-east-1:123456789012:express:M:n:u")
    assert not is_express_arn("arn:aws:states:us-east-1:123456789012:execution:M:n")
    assert not is_express_arn(None)


# -- through boto3 -------------------------------------------------------------------------------


@pytest.fixture
def sfn(tmp_path: Path) -> Iterator[Any]:
    """boto3's client of the HTTP app serving a project, every response checked on the wire."""
    (tmp_path / "redstep.toml").write_text("")
    services = Services.open(load_project(tmp_path), tasks=Echo())
    with services, live_server(App(services)) as url:
        client = boto3.client(
            "stepfunctions",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            # StartSyncExecution's host prefix is `sync-`, which 127.0.0.1 cannot take
            config=Config(inject_host_prefix=False, retries={"max_attempts": 1}),
        )
        check_wire(client)
        yield client


def test_boto3_starts_express_executions_and_gets_aws_errors(sfn: Any) -> None:
    arn = sfn.create_state_machine(
        name="Quick", definition=json.dumps(PASS), roleArn=ROLE, type="EXPRESS"
    )["stateMachineArn"]
    assert sfn.describe_state_machine(stateMachineArn=arn)["type"] == "EXPRESS"
    answer = sfn.start_sync_execution(stateMachineArn=arn, input='{"a": 1}')
    assert answer["status"] == "SUCCEEDED"
    assert json.loads(answer["output"]) == {"Arg1": "a"}
    assert EXPRESS_ARN.match(answer["executionArn"])
    assert isinstance(answer["stopDate"], datetime)
    assert answer["billingDetails"]["billedMemoryUsedInMB"] == 64
    started = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert EXPRESS_ARN.match(started)
    with pytest.raises(sfn.exceptions.InvalidArn, match="not valid in this context: express"):
        sfn.describe_execution(executionArn=started)
    with pytest.raises(sfn.exceptions.InvalidArn, match="not valid in this context: express"):
        sfn.get_execution_history(executionArn=answer["executionArn"])
    with pytest.raises(sfn.exceptions.StateMachineTypeNotSupported):
        sfn.list_executions(stateMachineArn=arn)
    callback = with_task("arn:aws:states:::lambda:invoke.waitForTaskToken")
    with pytest.raises(sfn.exceptions.InvalidDefinition, match="waitForTaskToken"):
        sfn.create_state_machine(
            name="Callback", definition=json.dumps(callback), roleArn=ROLE, type="EXPRESS"
        )
    failed = sfn.create_state_machine(
        name="Fails", definition=json.dumps(FAIL), roleArn=ROLE, type="EXPRESS"
    )["stateMachineArn"]
    answer = sfn.start_sync_execution(stateMachineArn=failed)
    assert (answer["status"], answer["error"]) == ("FAILED", "SomeFailure")


# -- redstep.toml and `redstep run` -----------------------------------------------------------


def test_redstep_toml_declares_the_type(tmp_path: Path) -> None:
    (tmp_path / "quick.asl.json").write_text(json.dumps(PASS))
    (tmp_path / "redstep.toml").write_text(
        '[state_machines.quick]\ndefinition = "quick.asl.json"\ntype = "EXPRESS"\n'
        '[state_machines.slow]\ndefinition = "quick.asl.json"\n'
    )
    project = load_project(tmp_path)
    assert project.state_machines["quick"].type == "EXPRESS"
    assert project.state_machines["slow"].type == "STANDARD"
    (tmp_path / "redstep.toml").write_text(
        '[state_machines.quick]\ndefinition = "quick.asl.json"\ntype = "FAST"\n'
    )
    with pytest.raises(
        ProjectError, match=r"state_machines\.quick\.type must be STANDARD or EXPRESS"
    ):
        load_project(tmp_path)


def test_redstep_run_runs_an_express_machine_and_prints_its_result(tmp_path: Path) -> None:
    (tmp_path / "redstep.toml").write_text("")
    definition = {
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", "Seconds": 30, "Next": "P"},
            "P": {"Type": "Pass", "Result": {"done": True}, "End": True},
        },
    }
    engine = Engine.open(load_project(tmp_path), run=False)
    try:
        create(engine, definition)
    finally:
        engine.close()
    result = CliRunner().invoke(main, ["run", "--project", str(tmp_path), "Quick", "--fast-waits"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert EXPRESS_ARN.match(lines[0])
    assert "▶ W" in lines
    assert "▶ P" in lines
    assert lines[-2].startswith("SUCCEEDED in ")
    assert json.loads(lines[-1]) == {"done": True}
    as_json = CliRunner().invoke(
        main, ["run", "--project", str(tmp_path), "Quick", "--fast-waits", "--output", "json"]
    )
    assert as_json.exit_code == 0, as_json.output
    summary = json.loads(as_json.output)
    assert summary["status"] == "SUCCEEDED"
    assert summary["output"] == {"done": True}


def test_ctrl_c_in_redstep_run_aborts_an_express_execution(tmp_path: Path) -> None:
    (tmp_path / "redstep.toml").write_text("")
    engine = Engine.open(load_project(tmp_path), run=False)
    try:
        create(
            engine, {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 200, "End": True}}}
        )
    finally:
        engine.close()
    process = subprocess.Popen(
        [sys.executable, "-m", "redstep", "run", "Quick", "--project", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        arn = process.stdout.readline().strip()  # printed once the execution started
        assert EXPRESS_ARN.match(arn), process.stderr.read() if process.stderr else ""
        process.send_signal(signal.SIGINT)
        rest, errors = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 1, errors
    assert "ABORTED" in rest


def test_a_project_express_machine_runs_and_executions_list_skips_it(tmp_path: Path) -> None:
    (tmp_path / "quick.asl.json").write_text(json.dumps(PASS))
    (tmp_path / "redstep.toml").write_text(
        '[state_machines.quick]\ndefinition = "quick.asl.json"\ntype = "EXPRESS"\n'
        '[state_machines.slow]\ndefinition = "quick.asl.json"\n'
    )
    project = ["--project", str(tmp_path)]
    for name in ("quick", "slow"):
        ran = CliRunner().invoke(main, ["run", name, *project, "--output", "json"])
        assert ran.exit_code == 0, ran.output
        assert json.loads(ran.output)["status"] == "SUCCEEDED"
    listed = CliRunner().invoke(main, ["executions", "list", *project, "--output", "json"])
    assert listed.exit_code == 0, listed.output
    assert [row["stateMachineArn"].rsplit(":", 1)[-1] for row in json.loads(listed.output)] == [
        "slow"
    ]
    (tmp_path / "redstep.toml").write_text(
        '[state_machines.quick]\ndefinition = "quick.asl.json"\ntype = "STANDARD"\n'
    )
    changed = CliRunner().invoke(main, ["run", "quick", *project])
    assert changed.exit_code != 0
    assert "type is STANDARD, but the state machine exists as EXPRESS" in changed.output

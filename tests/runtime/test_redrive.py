"""RedriveExecution through the engine: over the durable store, on a virtual clock, through boto3.

What runs again is the interpreter's (tests/engine/test_redrive.py); here, the operation: which
executions it redrives and which it refuses (with AWS's error and message, and nothing lost),
what DescribeExecution and ListExecutions then say, its client token, the executor's wait for
the new end, and a store closed and opened again in the middle of a redriven execution.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from held_tasks import HeldTasks
from live_server import live_server
from wire_check import check_wire

from redstep.api.app import App
from redstep.engine.commands import ExecutionStatus, ScheduleTask
from redstep.engine.signals import Signal, TaskFailed, TaskSucceeded, signal_from_record
from redstep.project import load_project
from redstep.runtime import redrive_eligibility, sqlite_database
from redstep.runtime.clock import VirtualClock
from redstep.runtime.engine import Engine
from redstep.runtime.errors import (
    ExecutionDoesNotExist,
    ExecutionNotRedrivable,
    InvalidArn,
    ValidationException,
)
from redstep.runtime.executor import TaskRunner
from redstep.runtime.sqlite_store import SqliteExecutionStore
from redstep.runtime.store import ExecutionRecord, SignalRecord
from redstep.services import Services

ROLE = "arn:aws:iam::123456789012:role/test"
TASK = "arn:aws:states:::lambda:invoke"
WAIT = 10.0
"""The longest any execution here takes to end, in real seconds (they take milliseconds)."""

LOAD = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Result": "ready", "ResultPath": "$.prepared", "Next": "Load"},
        "Load": {
            "Type": "Task",
            "Resource": TASK,
            "Parameters": {"step": "load", "input.$": "$"},
            "ResultPath": "$.loaded",
            "End": True,
        },
    },
}


class Scripted:
    """Answers each task at once: a state's first `failures[state]` tasks fail, later ones
    succeed with their parameters."""

    def __init__(self, failures: dict[str, int] | None = None) -> None:
        self.failures = Counter(failures or {})
        self.started: list[str] = []

    def start(
        self, execution_arn: str, command: ScheduleTask, report: Callable[[Signal], None]
    ) -> None:
        self.started.append(command.state_name)
        if self.failures[command.state_name] > 0:
            self.failures[command.state_name] -= 1
            report(TaskFailed(command.task_id, "Load.Broken", "the table is missing"))
        else:
            report(TaskSucceeded(command.task_id, {"done": command.parameters["step"]}))

    def cancel(self, execution_arn: str, task_id: int) -> None:
        """Nothing to cancel: `start` answers before it returns."""


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


def open_engine(path: Path, clock: VirtualClock, tasks: TaskRunner, **options: Any) -> Engine:
    return Engine(SqliteExecutionStore(path), clock=clock, tasks=tasks, **options)


def create(engine: Engine, definition: dict[str, Any], name: str = "Load") -> str:
    request = {"name": name, "definition": json.dumps(definition), "roleArn": ROLE}
    return str(engine.create_state_machine(request)["stateMachineArn"])


def run(engine: Engine, machine: str, given: Any = None) -> str:
    request = {"stateMachineArn": machine, "input": json.dumps(given or {"day": 2})}
    arn = str(engine.start_execution(request)["executionArn"])
    engine.wait(arn, WAIT)
    return arn


def history(engine: Engine, arn: str) -> list[dict[str, Any]]:
    return engine.get_execution_history({"executionArn": arn, "maxResults": 1000})["events"]


def types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def after_redrive(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    marks = [i for i, event in enumerate(events) if event["type"] == "ExecutionRedriven"]
    return events[marks[-1] + 1 :]


# -- every status a redrive may follow --------------------------------------------------------


def test_a_failed_execution_is_redriven_from_its_failed_task(
    tmp_path: Path, clock: VirtualClock
) -> None:
    tasks = Scripted({"Load": 1})
    with open_engine(tmp_path, clock, tasks) as engine:
        arn = run(engine, create(engine, LOAD))
        failed = engine.describe_execution({"executionArn": arn})
        assert (failed["status"], failed["error"]) == ("FAILED", "Load.Broken")
        assert (failed["redriveStatus"], failed["redriveCount"]) == ("REDRIVABLE", 0)
        assert "redriveDate" not in failed
        assert "redriveStatusReason" not in failed
        before = history(engine, arn)

        clock.skip_to(clock.now() + timedelta(hours=2))
        answer = engine.redrive_execution({"executionArn": arn})
        described = engine.wait(arn, WAIT)
        assert described["status"] == "SUCCEEDED"
        assert json.loads(described["output"])["loaded"] == {"done": "load"}
        assert (described["redriveCount"], described["redriveDate"]) == (1, answer["redriveDate"])
        assert described["redriveStatus"] == "NOT_REDRIVABLE"
        assert described["redriveStatusReason"] == "Execution is SUCCEEDED and cannot be redriven"
        assert "error" not in described
        assert "cause" not in described
        assert described["startDate"] == failed["startDate"]
        assert described["stopDate"] > failed["stopDate"]

        events = history(engine, arn)
        assert events[: len(before)] == before  # the history grows; nothing is rewritten
        redriven = events[len(before)]
        assert redriven["type"] == "ExecutionRedriven"
        assert redriven["executionRedrivenEventDetails"] == {"redriveCount": 1}
        assert redriven["timestamp"] == answer["redriveDate"]
        assert redriven["previousEventId"] == before[-1]["id"]
        assert types(events[len(before) + 1 :])[:2] == ["TaskStateEntered", "TaskScheduled"]
        assert tasks.started == ["Load", "Load"]  # Prepare did not run again


def test_a_timed_out_execution_is_redriven_with_its_timeout_started_over(
    tmp_path: Path, clock: VirtualClock
) -> None:
    definition = {
        "StartAt": "First",
        "TimeoutSeconds": 30,
        "States": {
            "First": {"Type": "Wait", "Seconds": 20, "Next": "Second"},
            "Second": {"Type": "Wait", "Seconds": 20, "End": True},
        },
    }
    with open_engine(tmp_path, clock, Scripted()) as engine:
        arn = run(engine, create(engine, definition))
        timed_out = engine.describe_execution({"executionArn": arn})
        assert timed_out["status"] == "TIMED_OUT"
        assert timed_out["redriveStatus"] == "REDRIVABLE"

        answer = engine.redrive_execution({"executionArn": arn})
        described = engine.wait(arn, WAIT)
        # 20 more seconds of the second Wait, within a timeout of 30 counted from the redrive
        assert described["status"] == "SUCCEEDED"
        assert described["stopDate"] - answer["redriveDate"] == timedelta(seconds=20)
        resumed = after_redrive(history(engine, arn))
        assert [e["stateEnteredEventDetails"]["name"] for e in resumed[:1]] == ["Second"]


def test_an_aborted_execution_is_redriven_from_the_task_it_was_stopped_in(
    tmp_path: Path, clock: VirtualClock
) -> None:
    held = HeldTasks()
    with open_engine(tmp_path, clock, held) as engine:
        machine = create(engine, LOAD)
        arn = engine.start_execution({"stateMachineArn": machine, "input": "{}"})["executionArn"]
        assert held.arrived.wait(WAIT)
        engine.stop_execution({"executionArn": arn, "error": "Halt", "cause": "by hand"})
        aborted = engine.describe_execution({"executionArn": arn})
        assert (aborted["status"], aborted["redriveStatus"]) == ("ABORTED", "REDRIVABLE")

        held.arrived.clear()
        engine.redrive_execution({"executionArn": arn})
        # answered once the redrive's first step is in the history
        assert types(history(engine, arn))[-4:] == [
            "ExecutionAborted",
            "ExecutionRedriven",
            "TaskStateEntered",
            "TaskScheduled",
        ]
        assert not engine.executor.wait(arn, timeout=0)  # it waits for the new end
        assert held.arrived.wait(WAIT)
        (_, first, _), (_, second, report) = held.started
        assert (first.state_name, second.state_name) == ("Load", "Load")
        assert second.task_id != first.task_id  # a new task, and a new token
        running = engine.describe_execution({"executionArn": arn})
        assert running["status"] == "RUNNING"
        assert "stopDate" not in running
        assert "error" not in running
        assert running["redriveStatusReason"] == "Execution is RUNNING and cannot be redriven"
        report(TaskSucceeded(second.task_id, "loaded"))
        assert engine.wait(arn, WAIT)["status"] == "SUCCEEDED"


def test_a_second_redrive_counts_two_and_lists_as_redriven(
    tmp_path: Path, clock: VirtualClock
) -> None:
    tasks = Scripted({"Load": 3})  # the execution redriven twice, and the other one, fail
    with open_engine(tmp_path, clock, tasks) as engine:
        machine = create(engine, LOAD)
        arn = run(engine, machine)
        untouched = run(
            engine,
            create(
                engine, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "Other"
            ),
        )
        other = run(engine, machine)  # never redriven
        engine.redrive_execution({"executionArn": arn})
        assert engine.wait(arn, WAIT)["status"] == "FAILED"
        first = engine.describe_execution({"executionArn": arn})["redriveDate"]
        clock.skip_to(clock.now() + timedelta(minutes=1))
        second = engine.redrive_execution({"executionArn": arn})["redriveDate"]
        described = engine.wait(arn, WAIT)
        assert (described["status"], described["redriveCount"]) == ("SUCCEEDED", 2)
        assert described["redriveDate"] == second > first
        counts = [
            e["executionRedrivenEventDetails"]["redriveCount"]
            for e in history(engine, arn)
            if e["type"] == "ExecutionRedriven"
        ]
        assert counts == [1, 2]

        def listed(**request: Any) -> list[dict[str, Any]]:
            answer = engine.list_executions({"stateMachineArn": machine, **request})
            return list(answer["executions"])

        redriven = listed(redriveFilter="REDRIVEN")
        assert [(e["executionArn"], e["redriveCount"]) for e in redriven] == [(arn, 2)]
        assert redriven[0]["redriveDate"] == second
        not_redriven = listed(redriveFilter="NOT_REDRIVEN")
        assert [(e["executionArn"], e["redriveCount"]) for e in not_redriven] == [(other, 0)]
        assert "redriveDate" not in not_redriven[0]
        assert {e["executionArn"] for e in listed()} == {arn, other}
        assert untouched not in {e["executionArn"] for e in listed()}


# -- refused ----------------------------------------------------------------------------------


def refused(engine: Engine, arn: str, **request: Any) -> str:
    """Redrive `arn`, expecting ExecutionNotRedrivable; its message. Nothing may change."""
    before = (engine.describe_execution({"executionArn": arn}), history(engine, arn))
    with pytest.raises(ExecutionNotRedrivable) as raised:
        engine.redrive_execution({"executionArn": arn, **request})
    assert raised.value.code == "ExecutionNotRedrivable"
    assert (engine.describe_execution({"executionArn": arn}), history(engine, arn)) == before
    return raised.value.message


def test_running_and_succeeded_executions_are_refused_as_aws_words_it(
    tmp_path: Path, clock: VirtualClock
) -> None:
    held = HeldTasks()
    with open_engine(tmp_path, clock, held) as engine:
        machine = create(engine, LOAD)
        running = engine.start_execution({"stateMachineArn": machine})["executionArn"]
        done = run(
            engine,
            create(
                engine, {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "Done"
            ),
        )
        assert refused(engine, running) == "Execution is RUNNING and cannot be redriven"
        assert refused(engine, done, clientToken="t") == (
            "Execution is SUCCEEDED and cannot be redriven"
        )
        for arn, reason in (
            (running, "Execution is RUNNING and cannot be redriven"),
            (done, "Execution is SUCCEEDED and cannot be redriven"),
        ):
            described = engine.describe_execution({"executionArn": arn})
            assert (described["redriveStatus"], described["redriveStatusReason"]) == (
                "NOT_REDRIVABLE",
                reason,
            )


def test_an_execution_ended_more_than_14_days_ago_is_refused(
    tmp_path: Path, clock: VirtualClock
) -> None:
    with open_engine(tmp_path, clock, Scripted({"Load": 1})) as engine:
        arn = run(engine, create(engine, LOAD))
        stopped = engine.describe_execution({"executionArn": arn})["stopDate"]
        clock.skip_to(stopped + timedelta(days=14) - timedelta(minutes=1))
        assert engine.describe_execution({"executionArn": arn})["redriveStatus"] == "REDRIVABLE"
        clock.skip_to(stopped + timedelta(days=14, seconds=1))
        assert refused(engine, arn) == "Execution redrivable period exceeded"
        described = engine.describe_execution({"executionArn": arn})
        assert described["redriveStatusReason"] == "Execution redrivable period exceeded"


def test_a_history_too_long_to_take_a_redrive_is_refused(
    tmp_path: Path, clock: VirtualClock
) -> None:
    # ExecutionStarted, Prepare's two events, Load's three, ExecutionFailed: 7 events
    with open_engine(tmp_path, clock, Scripted({"Load": 1}), max_history_events=8) as engine:
        arn = run(engine, create(engine, LOAD))
        assert len(history(engine, arn)) == 7
        assert refused(engine, arn) == "Execution history event limit exceeded"
    # room for ExecutionRedriven (and, by AWS's rule, one more: not by redstep's count)
    with open_engine(tmp_path, clock, Scripted(), max_history_events=9) as engine:
        engine.redrive_execution({"executionArn": arn})
        described = engine.wait(arn, WAIT)
        assert (described["status"], described["error"]) == ("FAILED", "States.Runtime")
        assert "maximum number of history events" in described["cause"]


def test_the_redrive_limit_and_a_deleted_state_machine_are_refused(
    tmp_path: Path, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redrive_eligibility, "MAX_REDRIVES", 1)
    with open_engine(tmp_path, clock, Scripted({"Load": 2})) as engine:
        machine = create(engine, LOAD)
        arn = run(engine, machine)
        engine.redrive_execution({"executionArn": arn})
        assert engine.wait(arn, WAIT)["status"] == "FAILED"
        assert refused(engine, arn) == "Execution has been redriven 1 times, the most it may be"
        monkeypatch.setattr(redrive_eligibility, "MAX_REDRIVES", 1000)
        engine.delete_state_machine({"stateMachineArn": machine})
        assert refused(engine, arn) == "State machine is in DELETING status"


def test_unknown_and_express_executions_are_refused_as_for_any_operation(
    tmp_path: Path, clock: VirtualClock
) -> None:
    with open_engine(tmp_path, clock, Scripted()) as engine:
        missing = "arn:aws:states:us-east-1:123456789012:execution:Load:nope"
        with pytest.raises(ExecutionDoesNotExist, match="Execution Does Not Exist"):
            engine.redrive_execution({"executionArn": missing})
        quick = engine.create_state_machine(
            {
                "name": "QuickExpress",
                "type": "EXPRESS",
                "definition": json.dumps({"StartAt": "F", "States": {"F": {"Type": "Fail"}}}),
                "roleArn": ROLE,
            }
        )["stateMachineArn"]
        started = engine.start_execution({"stateMachineArn": quick})["executionArn"]
        with pytest.raises(InvalidArn, match="Resource type not valid in this context: express"):
            engine.redrive_execution({"executionArn": started})


def test_a_malformed_request_is_refused_before_anything_changes(
    tmp_path: Path, clock: VirtualClock
) -> None:
    with open_engine(tmp_path, clock, Scripted({"Load": 1})) as engine:
        arn = run(engine, create(engine, LOAD))
        before = (engine.describe_execution({"executionArn": arn}), history(engine, arn))
        with pytest.raises(ValidationException, match="clientToken"):
            engine.redrive_execution({"executionArn": arn, "clientToken": "x" * 65})
        with pytest.raises(InvalidArn):
            engine.redrive_execution({"executionArn": "not-an-arn"})
        assert (engine.describe_execution({"executionArn": arn}), history(engine, arn)) == before
        assert before[0]["redriveStatus"] == "REDRIVABLE"


# -- the client token -------------------------------------------------------------------------


def test_a_client_token_answers_its_redrive_again_for_15_minutes(
    tmp_path: Path, clock: VirtualClock
) -> None:
    held = HeldTasks()
    with open_engine(tmp_path, clock, held) as engine:
        machine = create(engine, LOAD)
        arn = engine.start_execution({"stateMachineArn": machine})["executionArn"]
        assert held.arrived.wait(WAIT)
        engine.stop_execution({"executionArn": arn})
        held.arrived.clear()
        first = engine.redrive_execution({"executionArn": arn, "clientToken": "once"})
        assert held.arrived.wait(WAIT)  # the redriven task runs
        clock.skip_to(clock.now() + timedelta(minutes=14))
        # RUNNING now: the same token is answered as before, and nothing is redriven again
        again = engine.redrive_execution({"executionArn": arn, "clientToken": "once"})
        assert again == first
        assert engine.describe_execution({"executionArn": arn})["redriveCount"] == 1
        assert refused(engine, arn, clientToken="another") == (
            "Execution is RUNNING and cannot be redriven"
        )
        engine.stop_execution({"executionArn": arn})
        clock.skip_to(clock.now() + timedelta(minutes=2))  # 16 minutes after its first use
        later = engine.redrive_execution({"executionArn": arn, "clientToken": "once"})
        assert later["redriveDate"] > first["redriveDate"]
        assert engine.describe_execution({"executionArn": arn})["redriveCount"] == 2


# -- durable -------------------------------------------------------------------------------------


def replayed(engine: Engine, arn: str) -> list[dict[str, Any]]:
    """The history a fresh interpreter makes of the execution's journal."""
    record = engine.store.get_execution(arn)
    assert record is not None
    interpreter = engine._interpreter_for(record)
    events: list[dict[str, Any]] = []
    for entry in engine.store.signals(arn):
        if entry.is_processed:
            signal = signal_from_record(entry.kind, entry.fields)
            events.extend(interpreter.activate(signal, entry.at).events)
    return events


def test_a_redriven_execution_survives_a_restart_and_replays_to_its_history(
    tmp_path: Path, clock: VirtualClock
) -> None:
    held = HeldTasks()
    with open_engine(tmp_path, clock, Scripted({"Load": 1})) as engine:
        arn = run(engine, create(engine, LOAD))
    with open_engine(tmp_path, clock, held) as engine:  # the first redrive, on a fresh engine
        engine.redrive_execution({"executionArn": arn})
        assert held.arrived.wait(WAIT)
        before = history(engine, arn)
        assert types(before)[-3:] == ["ExecutionRedriven", "TaskStateEntered", "TaskScheduled"]
    # closed while the redriven task ran: opened again, it replays its journal and runs on
    with open_engine(tmp_path, clock, Scripted()) as engine:
        described = engine.wait(arn, WAIT)
        assert (described["status"], described["redriveCount"]) == ("SUCCEEDED", 1)
        events = history(engine, arn)
        assert events[: len(before)] == before
        assert replayed(engine, arn) == events


def test_a_store_made_before_redrive_opens_and_reads_its_executions_as_never_redriven(
    tmp_path: Path, clock: VirtualClock
) -> None:
    db = sqlite3.connect(tmp_path / sqlite_database.STORE_FILE, isolation_level=None)
    db.executescript(sqlite_database.SCHEMA)  # the tables as they were, without redrive's columns
    start = clock.now()
    db.execute(
        "INSERT INTO executions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            "arn:aws:states:us-east-1:123456789012:execution:Old:run",
            "arn:aws:states:us-east-1:123456789012:stateMachine:Old",
            "r1",
            "run",
            "{}",
            "FAILED",
            start.isoformat(timespec="microseconds"),
            start.isoformat(timespec="microseconds"),
            None,
            "E",
            None,
        ),
    )
    db.close()
    store = SqliteExecutionStore(tmp_path)
    try:
        record = store.get_execution("arn:aws:states:us-east-1:123456789012:execution:Old:run")
        assert record is not None
        assert (record.status, record.redrive_count, record.redrive_date) == ("FAILED", 0, None)
        page = store.list_executions(None, None, 10, None, redriven=False)
        assert [r.arn for r in page.items] == [record.arn]
        assert store.list_executions(None, None, 10, None, redriven=True).items == []
        new = ExecutionRecord(
            "arn:aws:states:us-east-1:123456789012:execution:Old:new",
            record.state_machine_arn,
            "r1",
            "new",
            "{}",
            ExecutionStatus.RUNNING,
            start,
        )
        store.put_execution(new, SignalRecord(0, "Start", {}, start, False))
        assert store.get_execution(new.arn) == new
    finally:
        store.close()
    SqliteExecutionStore(tmp_path).close()  # opened again: the columns are there already


# -- on the wire ---------------------------------------------------------------------------------


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[Any, Services]]:
    """A boto3 Step Functions client of a served project whose `load` machine fails once."""
    (tmp_path / "load.asl.json").write_text(json.dumps(LOAD))
    (tmp_path / "redstep.toml").write_text('[state_machines.load]\ndefinition = "load.asl.json"\n')
    project = load_project(tmp_path)
    with (
        Services.open(project, tasks=Scripted({"Load": 1})) as services,
        live_server(App(services)) as url,
    ):
        made = boto3.client(
            "stepfunctions",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 1}, inject_host_prefix=False),
        )
        check_wire(made)  # every answer, and every error, against botocore's model
        yield made, services


def test_redrive_describe_and_list_as_botocore_models_them(
    client: tuple[Any, Services],
) -> None:
    sfn, services = client
    machine = services.engine.region.state_machine_arn("load")
    arn = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    services.engine.wait(arn, WAIT)
    failed = sfn.describe_execution(executionArn=arn)
    assert (failed["status"], failed["redriveStatus"]) == ("FAILED", "REDRIVABLE")

    answer = sfn.redrive_execution(executionArn=arn, clientToken="token-1")
    services.engine.wait(arn, WAIT)
    described = sfn.describe_execution(executionArn=arn)
    assert described["status"] == "SUCCEEDED"
    assert described["redriveCount"] == 1
    assert described["redriveDate"] == answer["redriveDate"]
    listed = sfn.list_executions(stateMachineArn=machine, redriveFilter="REDRIVEN")
    assert [(e["executionArn"], e["redriveCount"]) for e in listed["executions"]] == [(arn, 1)]
    assert (
        sfn.list_executions(stateMachineArn=machine, redriveFilter="NOT_REDRIVEN")["executions"]
        == []
    )
    events = sfn.get_execution_history(executionArn=arn)["events"]
    assert [
        e["executionRedrivenEventDetails"] for e in events if e["type"] == "ExecutionRedriven"
    ] == [{"redriveCount": 1}]
    with pytest.raises(ClientError) as raised:
        sfn.redrive_execution(executionArn=arn)
    error = raised.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "ExecutionNotRedrivable",
        "Execution is SUCCEEDED and cannot be redriven",
    )

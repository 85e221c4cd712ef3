"""Distributed Map runs end to end through the Engine, on a virtual clock: children as
executions of their own, ItemReader / ItemBatcher / ResultWriter over a folder bucket, tolerated
failures, UpdateMapRun, a restart in the middle of a run, the parent's abort; the map-run store
contract on both stores; and the operations' answers checked against botocore's model."""

from __future__ import annotations

import gzip
import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from distributed_maps import WAIT, distributed, eventually, held_tasks
from held_tasks import HeldTasks
from live_server import live_server
from wire_check import check_shape, check_wire

from redstep.api.app import App
from redstep.buckets import Buckets
from redstep.engine.commands import ExecutionStatus
from redstep.engine.signals import TaskSucceeded
from redstep.project import load_project
from redstep.runtime.clock import VirtualClock
from redstep.runtime.engine import Engine
from redstep.runtime.errors import (
    ExecutionDoesNotExist,
    InvalidArn,
    ResourceNotFound,
    ValidationException,
)
from redstep.runtime.map_run_api import MapRunArn
from redstep.runtime.map_run_objects import read_items
from redstep.runtime.map_runs import EXCEEDED_CAUSE
from redstep.runtime.memory_store import MemoryExecutionStore
from redstep.runtime.sqlite_store import SqliteExecutionStore
from redstep.runtime.store import (
    Completion,
    ExecutionRecord,
    ExecutionStore,
    MapRunRecord,
    MapRunStatus,
    SignalRecord,
    StateMachineRecord,
    StoreConflict,
)
from redstep.services import Services

ROLE = "arn:aws:iam::123456789012:role/test"
TASK = "arn:aws:states:::lambda:invoke"
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
#: A child that fails when its item's `n` is below `failBelow` (of the item itself).
FAIL_BELOW = {
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.fail", "BooleanEquals": True, "Next": "Fail"}],
            "Default": "Done",
        },
        "Fail": {"Type": "Fail", "Error": "Item.Bad", "Cause": "the item is bad"},
        "Done": {"Type": "Pass", "End": True},
    },
}
HELD = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": TASK, "End": True}}}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The folder of the bucket `data`."""
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def buckets(tmp_path: Path, folder: Path) -> Iterator[Buckets]:
    opened = Buckets({"data": folder}, staging=tmp_path / "staging")
    yield opened
    opened.close()


@pytest.fixture
def engine(tmp_path: Path, buckets: Buckets) -> Iterator[Engine]:
    with Engine(
        SqliteExecutionStore(tmp_path / "state"), clock=VirtualClock(), buckets=buckets
    ) as opened:
        yield opened


def create(engine: Engine, definition: dict[str, Any], name: str = "Machine") -> str:
    request = {"name": name, "definition": json.dumps(definition), "roleArn": ROLE}
    return str(engine.create_state_machine(request)["stateMachineArn"])


def start(engine: Engine, definition: dict[str, Any], given: Any = None) -> str:
    arn = create(engine, definition)
    request = {"stateMachineArn": arn, "input": json.dumps({} if given is None else given)}
    return str(engine.start_execution(request)["executionArn"])


def run(engine: Engine, definition: dict[str, Any], given: Any = None) -> dict[str, Any]:
    """Run the definition to its end; its DescribeExecution."""
    return engine.wait(start(engine, definition, given), WAIT)


def the_map_run(engine: Engine, execution_arn: str) -> dict[str, Any]:
    runs = engine.handle("ListMapRuns", {"executionArn": execution_arn})["mapRuns"]
    assert len(runs) == 1
    return dict(engine.handle("DescribeMapRun", {"mapRunArn": runs[0]["mapRunArn"]}))


def children(engine: Engine, map_run_arn: str) -> list[dict[str, Any]]:
    return list(engine.handle("ListExecutions", {"mapRunArn": map_run_arn})["executions"])


def history_types(engine: Engine, execution_arn: str) -> list[str]:
    events = engine.get_execution_history({"executionArn": execution_arn, "maxResults": 1000})
    return [event["type"] for event in events["events"]]


def answer(task: Any, output: Any = None) -> None:
    _, command, report = task
    report(TaskSucceeded(command.task_id, {"done": True} if output is None else output))


# -- children ------------------------------------------------------------------------------------


def test_each_item_runs_as_a_child_execution_of_its_own(engine: Engine) -> None:
    definition = distributed(
        PASS, ItemSelector={"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"}
    )
    described = run(engine, definition, {"items": ["a", "b", "c"]})
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == [
        {"value": "a", "index": 0},
        {"value": "b", "index": 1},
        {"value": "c", "index": 2},
    ]
    map_run = the_map_run(engine, described["executionArn"])
    assert map_run["status"] == "SUCCEEDED"
    assert map_run["itemCounts"]["succeeded"] == map_run["itemCounts"]["total"] == 3
    assert map_run["executionCounts"]["pending"] == map_run["executionCounts"]["running"] == 0
    machine = MapRunArn.parse(map_run["mapRunArn"]).state_machine_arn
    assert machine == "arn:aws:states:us-east-1:123456789012:stateMachine:Machine/Each"

    listed = children(engine, map_run["mapRunArn"])
    assert len(listed) == 3
    assert {item["itemCount"] for item in listed} == {1}
    assert {item["mapRunArn"] for item in listed} == {map_run["mapRunArn"]}
    child = listed[0]["executionArn"]
    assert child.startswith("arn:aws:states:us-east-1:123456789012:execution:Machine/Each:")
    child_described = engine.describe_execution({"executionArn": child})
    assert child_described["mapRunArn"] == map_run["mapRunArn"]
    assert child_described["stateMachineArn"] == machine
    assert history_types(engine, child) == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    # The children's machine is a revision only: listed nowhere, yet it describes them.
    listed_machines = engine.list_state_machines({})["stateMachines"]
    assert [m["name"] for m in listed_machines] == ["Machine"]
    parent_machine = described["stateMachineArn"]
    listed_runs = engine.list_executions({"stateMachineArn": parent_machine})["executions"]
    assert [e["executionArn"] for e in listed_runs] == [described["executionArn"]]
    child_machine = engine.describe_state_machine_for_execution({"executionArn": child})
    assert child_machine["name"] == "Machine/Each"
    assert json.loads(child_machine["definition"]) == PASS
    assert "mapRunArn" not in engine.describe_execution({"executionArn": described["executionArn"]})


def test_a_100000_line_csv_in_batches_with_a_result_writer(engine: Engine, folder: Path) -> None:
    with (folder / "rows.csv").open("w") as rows:
        rows.write("id,amount\n")
        rows.writelines(f"{n},{n * 3}\n" for n in range(100_000))
    definition = distributed(
        {
            "StartAt": "Count",
            "States": {
                "Count": {
                    "Type": "Pass",
                    "Parameters": {
                        "count.$": "States.ArrayLength($.Items)",
                        "first.$": "$.Items[0].id",
                        "run.$": "$.BatchInput.run",
                    },
                    "End": True,
                }
            },
        },
        ItemReader={
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
            "Parameters": {"Bucket": "data", "Key": "rows.csv"},
        },
        ItemBatcher={"MaxItemsPerBatch": 1000, "BatchInput": {"run.$": "$.run"}},
        ResultWriter={
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "data", "Prefix": "results"},
        },
    )
    described = run(engine, definition, {"run": "nightly"})
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    map_run_arn = output["MapRunArn"]
    run_id = map_run_arn.rpartition(":")[2]
    assert output["ResultWriterDetails"] == {
        "Bucket": "data",
        "Key": f"results/{run_id}/manifest.json",
    }
    manifest = json.loads((folder / "results" / run_id / "manifest.json").read_text())
    succeeded_key = f"results/{run_id}/SUCCEEDED_0.json"
    assert manifest == {
        "DestinationBucket": "data",
        "MapRunArn": map_run_arn,
        "ResultFiles": {
            "FAILED": [],
            "PENDING": [],
            "SUCCEEDED": [{"Key": succeeded_key, "Size": (folder / succeeded_key).stat().st_size}],
        },
    }
    entries = json.loads((folder / succeeded_key).read_text())
    assert len(entries) == 100
    outputs = [json.loads(entry["Output"]) for entry in entries]
    assert outputs[0] == {"count": 1000, "first": "0", "run": "nightly"}
    assert [o["first"] for o in outputs] == [str(n * 1000) for n in range(100)]
    entry = entries[-1]
    assert entry["Status"] == "SUCCEEDED"
    assert json.loads(entry["Input"])["Items"][-1] == {"id": "99999", "amount": "299997"}
    assert set(entry) >= {"ExecutionArn", "Name", "StateMachineArn", "StartDate", "StopDate"}
    assert entry["StartDate"].endswith("Z")

    map_run = the_map_run(engine, described["executionArn"])
    assert map_run["itemCounts"] | {"failuresNotRedrivable": 0} == {
        "pending": 0,
        "running": 0,
        "succeeded": 100_000,
        "failed": 0,
        "timedOut": 0,
        "aborted": 0,
        "total": 100_000,
        "resultsWritten": 100_000,
        "failuresNotRedrivable": 0,
        "pendingRedrive": 0,
    }
    assert map_run["executionCounts"]["succeeded"] == 100
    assert map_run["executionCounts"]["resultsWritten"] == 100
    assert {child["itemCount"] for child in children(engine, map_run_arn)} == {1000}


def test_writer_config_flattens_and_writes_json_lines(engine: Engine, folder: Path) -> None:
    definition = distributed(
        PASS,
        ResultWriter={
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "data", "Prefix": "out/"},
            "WriterConfig": {"Transformation": "FLATTEN", "OutputType": "JSONL"},
        },
    )
    described = run(engine, definition, {"items": [[1, 2], [3], {"four": 4}]})
    key = json.loads(described["output"])["ResultWriterDetails"]["Key"]
    assert key.startswith("out/")
    assert key.count("/") == 2
    manifest = json.loads((folder / key).read_text())
    [succeeded] = manifest["ResultFiles"]["SUCCEEDED"]
    lines = (folder / succeeded["Key"]).read_text().splitlines()
    assert [json.loads(line) for line in lines] == [1, 2, 3, {"four": 4}]


def test_writer_config_alone_shapes_the_state_output(engine: Engine) -> None:
    definition = distributed(PASS, ResultWriter={"WriterConfig": {"Transformation": "FLATTEN"}})
    described = run(engine, definition, {"items": [[1, 2], [3]]})
    assert json.loads(described["output"]) == [1, 2, 3]


def test_children_run_on_the_virtual_clock(engine: Engine) -> None:
    processor = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    described = run(engine, distributed(processor, MaxConcurrency=2), {"items": [1, 2, 3]})
    assert described["status"] == "SUCCEEDED"
    child = children(engine, the_map_run(engine, described["executionArn"])["mapRunArn"])[0]
    assert child["stopDate"] - child["startDate"] >= timedelta(hours=1)


# -- failures ------------------------------------------------------------------------------------


def items_failing(count: int, failing: set[int]) -> dict[str, Any]:
    return {"items": [{"n": n, "fail": n in failing} for n in range(count)]}


def test_tolerated_failure_count_lets_the_run_succeed(engine: Engine) -> None:
    definition = distributed(FAIL_BELOW, ToleratedFailureCount=3)
    described = run(engine, definition, items_failing(10, {7, 8, 9}))
    assert described["status"] == "SUCCEEDED"
    output = json.loads(described["output"])
    assert output[:7] == [{"n": n, "fail": False} for n in range(7)]
    failed = output[7]  # a failed child is its whole entry, as with Transformation NONE
    assert (failed["Status"], failed["Error"], failed["Cause"]) == (
        "FAILED",
        "Item.Bad",
        "the item is bad",
    )
    map_run = the_map_run(engine, described["executionArn"])
    assert (map_run["itemCounts"]["failed"], map_run["toleratedFailureCount"]) == (3, 3)
    failed_child = next(
        child for child in children(engine, map_run["mapRunArn"]) if child["status"] == "FAILED"
    )
    assert history_types(engine, failed_child["executionArn"])[-2:] == [
        "FailStateEntered",
        "ExecutionFailed",
    ]


@pytest.mark.parametrize(("percentage", "status"), [(30, "SUCCEEDED"), (20, "FAILED")])
def test_tolerated_failure_percentage_is_of_all_items(
    engine: Engine, percentage: float, status: str
) -> None:
    definition = distributed(FAIL_BELOW, ToleratedFailurePercentage=percentage)
    described = run(engine, definition, items_failing(10, {1, 4, 8}))
    assert described["status"] == status
    assert the_map_run(engine, described["executionArn"])["status"] == status


def test_passing_the_threshold_fails_at_once_leaving_the_rest_pending(
    engine: Engine, folder: Path
) -> None:
    definition = distributed(
        FAIL_BELOW,
        MaxConcurrency=1,
        ToleratedFailureCount=1,
        ResultWriter={
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "data", "Prefix": "failed"},
        },
    )
    described = run(engine, definition, items_failing(10, {0, 1, 2}))
    assert described["status"] == "FAILED"
    assert (described["error"], described["cause"]) == (
        "States.ExceedToleratedFailureThreshold",
        EXCEEDED_CAUSE,
    )
    types = history_types(engine, described["executionArn"])
    assert types[types.index("MapRunStarted") + 1 :] == [
        "MapRunFailed",
        "MapStateFailed",
        "ExecutionFailed",
    ]
    map_run = the_map_run(engine, described["executionArn"])
    assert map_run["status"] == "FAILED"
    counts = map_run["executionCounts"]
    assert (counts["failed"], counts["succeeded"], counts["pending"], counts["total"]) == (
        2,
        0,
        8,
        10,
    )
    manifest = next((folder / "failed").glob("*/manifest.json"))
    files = json.loads(manifest.read_text())["ResultFiles"]
    assert files["SUCCEEDED"] == []
    failed = json.loads((folder / files["FAILED"][0]["Key"]).read_text())
    pending = json.loads((folder / files["PENDING"][0]["Key"]).read_text())
    assert [entry["Error"] for entry in failed] == ["Item.Bad", "Item.Bad"]
    assert [json.loads(entry["Input"])["n"] for entry in pending] == list(range(2, 10))


def test_no_tolerance_means_one_failure_fails_the_run(engine: Engine) -> None:
    described = run(engine, distributed(FAIL_BELOW), items_failing(3, {2}))
    assert described["error"] == "States.ExceedToleratedFailureThreshold"


def test_without_buckets_an_item_reader_fails_clearly(tmp_path: Path) -> None:
    definition = distributed(
        PASS,
        ItemReader={
            "Resource": "arn:aws:states:::s3:getObject",
            "Parameters": {"Bucket": "data", "Key": "rows.json"},
        },
    )
    with Engine(MemoryExecutionStore(), clock=VirtualClock()) as engine:
        described = run(engine, definition)
        assert described["error"] == "States.ItemReaderFailed"
        assert "no buckets" in described["cause"]
        assert "MapRunFailed" in history_types(engine, described["executionArn"])


@pytest.mark.parametrize(
    ("key", "content", "cause"),
    [
        ("missing.csv", None, "NoSuchKey"),
        ("twice.csv", "a,a\n1,2\n", "CSV headers cannot contain duplicates."),
    ],
)
def test_an_item_reader_that_cannot_read_fails_the_state(
    engine: Engine, folder: Path, key: str, content: str | None, cause: str
) -> None:
    if content is not None:
        (folder / key).write_text(content)
    definition = distributed(
        PASS,
        ItemReader={
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "CSV"},
            "Parameters": {"Bucket": "data", "Key": key},
        },
    )
    described = run(engine, definition)
    assert described["error"] == "States.ItemReaderFailed"
    assert cause in described["cause"]


def write_inventory(folder: Path) -> None:
    """An S3 Inventory report of two gzip files, under the bucket's `inventory/` prefix."""
    keys = []
    for number, rows in enumerate([["a.jpg", "b.jpg"], ["c.jpg"]]):
        key = f"inventory/data/part-{number}.csv.gz"
        lines = "".join(f'"photos","{row}","{len(row)}"\n' for row in rows)
        (folder / key).parent.mkdir(parents=True, exist_ok=True)
        (folder / key).write_bytes(gzip.compress(lines.encode()))
        keys.append({"key": key, "size": 1, "MD5checksum": "x"})
    manifest = {
        "sourceBucket": "photos",
        "destinationBucket": "arn:aws:s3:::data",
        "fileFormat": "CSV",
        "fileSchema": "Bucket, Key, Size",
        "files": keys,
    }
    (folder / "inventory" / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("key", "content", "config", "expected"),
    [
        (
            "rows.csv",
            "1|x\n2|y\n3|z\n",
            {
                "InputType": "CSV",
                "CSVHeaderLocation": "GIVEN",
                "CSVHeaders": ["n", "letter"],
                "CSVDelimiter": "PIPE",
                "MaxItems": 2,
            },
            [{"n": "1", "letter": "x"}, {"n": "2", "letter": "y"}],
        ),
        ("rows.json", '[1, {"two": 2}]', {"InputType": "JSON"}, [1, {"two": 2}]),
        ("rows.jsonl", '{"a": 1}\n{"a": 2}\n', {"InputType": "JSONL"}, [{"a": 1}, {"a": 2}]),
        (
            "inventory/manifest.json",
            None,
            {"InputType": "MANIFEST"},
            [
                {"Bucket": "photos", "Key": "a.jpg", "Size": "5"},
                {"Bucket": "photos", "Key": "b.jpg", "Size": "5"},
                {"Bucket": "photos", "Key": "c.jpg", "Size": "5"},
            ],
        ),
    ],
)
def test_each_input_type_is_read_from_the_bucket(
    engine: Engine,
    folder: Path,
    key: str,
    content: str | None,
    config: dict[str, Any],
    expected: list[Any],
) -> None:
    if content is None:
        write_inventory(folder)
    else:
        (folder / key).write_text(content)
    definition = distributed(
        PASS,
        ItemReader={
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": config,
            "Parameters": {"Bucket": "data", "Key": key},
        },
    )
    described = run(engine, definition)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == expected


def test_a_jsonl_object_with_crlf_line_endings_reads_one_item_a_line(
    buckets: Buckets, folder: Path
) -> None:
    (folder / "rows.jsonl").write_bytes(b'{"a": 1}\r\n\r\n{"a": "x\\r\\ny"}\r\n[3]')
    reader = {
        "Resource": "arn:aws:states:::s3:getObject",
        "Arguments": {"Bucket": "data", "Key": "rows.jsonl"},
        "ReaderConfig": {"InputType": "JSONL", "MaxItems": 3},
    }
    assert list(read_items(buckets, reader)) == [{"a": 1}, {"a": "x\r\ny"}, [3]]


def test_a_listing_reader_gives_each_object(engine: Engine, folder: Path) -> None:
    (folder / "in").mkdir()
    for name in ("a.txt", "b.txt"):
        (folder / "in" / name).write_text(name)
    definition = distributed(
        PASS,
        ItemReader={
            "Resource": "arn:aws:states:::s3:listObjectsV2",
            "Parameters": {"Bucket": "data", "Prefix": "in/"},
        },
    )
    described = run(engine, definition)
    listed = json.loads(described["output"])
    assert [item["Key"] for item in listed] == ["in/a.txt", "in/b.txt"]
    assert set(listed[0]) == {"Etag", "Key", "LastModified", "Size", "StorageClass"}


def test_a_result_writer_that_cannot_write_fails_the_state(tmp_path: Path) -> None:
    writer = {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "nowhere"}}
    with Engine(MemoryExecutionStore(), clock=VirtualClock()) as engine:
        described = run(engine, distributed(PASS, ResultWriter=writer), {"items": [1]})
        assert described["error"] == "States.ResultWriterFailed"
        assert "no buckets" in described["cause"]


def test_an_item_selector_that_fails_fails_the_state(engine: Engine) -> None:
    definition = distributed(PASS, ItemSelector={"x.$": "$$.Map.Item.Value.missing"})
    described = run(engine, definition, {"items": [{"present": 1}]})
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Runtime"
    assert children_of(engine, described) == []


def children_of(engine: Engine, described: dict[str, Any]) -> list[dict[str, Any]]:
    return children(engine, the_map_run(engine, described["executionArn"])["mapRunArn"])


# -- while it runs -------------------------------------------------------------------------------


@pytest.fixture
def held() -> HeldTasks:
    return HeldTasks()


@pytest.fixture
def held_engine(tmp_path: Path, held: HeldTasks) -> Iterator[Engine]:
    with Engine(
        SqliteExecutionStore(tmp_path / "held"), clock=VirtualClock(), tasks=held
    ) as opened:
        yield opened


def test_update_map_run_changes_what_is_not_started_yet(
    held_engine: Engine, held: HeldTasks
) -> None:
    parent = start(held_engine, distributed(HELD, MaxConcurrency=1), {"items": [1, 2, 3, 4]})
    first = held_tasks(held, 1)
    map_run_arn = held_engine.handle("ListMapRuns", {"executionArn": parent})["mapRuns"][0][
        "mapRunArn"
    ]
    described = held_engine.handle("DescribeMapRun", {"mapRunArn": map_run_arn})
    assert (described["status"], described["maxConcurrency"]) == ("RUNNING", 1)
    assert described["executionCounts"]["running"] == 1
    assert described["executionCounts"]["pending"] == 3
    held_engine.handle(
        "UpdateMapRun",
        {"mapRunArn": map_run_arn, "maxConcurrency": 3, "toleratedFailurePercentage": 50},
    )
    held_tasks(held, 3)
    described = held_engine.handle("DescribeMapRun", {"mapRunArn": map_run_arn})
    assert described["maxConcurrency"] == 3
    assert described["toleratedFailurePercentage"] == 50.0
    assert described["executionCounts"]["running"] == 3
    for task in [*first, *held.started[1:3]]:
        answer(task)
    for task in held_tasks(held, 4)[3:]:
        answer(task)
    assert held_engine.wait(parent, WAIT)["status"] == "SUCCEEDED"
    with pytest.raises(ValidationException, match="only a RUNNING Map Run"):
        held_engine.handle("UpdateMapRun", {"mapRunArn": map_run_arn, "maxConcurrency": 5})


def test_update_map_run_refuses_what_it_cannot_apply(held_engine: Engine) -> None:
    unknown = "arn:aws:states:us-east-1:123456789012:mapRun:Machine/Each:nope"
    with pytest.raises(ResourceNotFound, match="Resource not found"):
        held_engine.handle("UpdateMapRun", {"mapRunArn": unknown, "maxConcurrency": 1})
    with pytest.raises(InvalidArn):
        held_engine.handle("DescribeMapRun", {"mapRunArn": "arn:aws:states:::nope"})
    with pytest.raises(ValidationException, match="At least one of"):
        held_engine.handle("UpdateMapRun", {"mapRunArn": unknown})
    with pytest.raises(ValidationException, match="toleratedFailurePercentage"):
        held_engine.handle(
            "UpdateMapRun", {"mapRunArn": unknown, "toleratedFailurePercentage": 101}
        )
    with pytest.raises(ExecutionDoesNotExist):
        held_engine.handle(
            "ListMapRuns",
            {"executionArn": "arn:aws:states:us-east-1:123456789012:execution:Machine:none"},
        )
    with pytest.raises(ResourceNotFound):
        held_engine.handle("ListExecutions", {"mapRunArn": unknown})


def test_stopping_the_parent_aborts_the_children(held_engine: Engine, held: HeldTasks) -> None:
    parent = start(held_engine, distributed(HELD, MaxConcurrency=2), {"items": [1, 2, 3]})
    held_tasks(held, 2)
    held_engine.stop_execution({"executionArn": parent, "error": "Enough"})
    assert held_engine.describe_execution({"executionArn": parent})["status"] == "ABORTED"
    map_run_arn = held_engine.handle("ListMapRuns", {"executionArn": parent})["mapRuns"][0][
        "mapRunArn"
    ]
    running = children(held_engine, map_run_arn)
    assert len(running) == 2  # the third never started
    for child in running:
        assert held_engine.wait(child["executionArn"], WAIT)["status"] == "ABORTED"

    def is_aborted() -> bool:
        return bool(
            held_engine.handle("DescribeMapRun", {"mapRunArn": map_run_arn})["status"] == "ABORTED"
        )

    eventually(is_aborted, "the map run to be aborted")
    assert history_types(held_engine, parent)[-1] == "ExecutionAborted"


def test_a_restart_mid_run_joins_the_children_it_started(tmp_path: Path) -> None:
    items = {"items": [{"n": n} for n in range(5)]}
    definition = distributed(HELD, MaxConcurrency=2)
    first = HeldTasks()
    with Engine(SqliteExecutionStore(tmp_path), clock=VirtualClock(), tasks=first) as engine:
        parent = start(engine, definition, items)
        started = held_tasks(first, 2)
        answer(started[0], {"n": 0})  # child 0 ends; child 2 starts in its place
        held_tasks(first, 3)
        map_run_arn = engine.handle("ListMapRuns", {"executionArn": parent})["mapRuns"][0][
            "mapRunArn"
        ]
        eventually(lambda: len(children(engine, map_run_arn)) == 3, "a third child")
    second = HeldTasks()
    with Engine(SqliteExecutionStore(tmp_path), clock=VirtualClock(), tasks=second) as engine:
        answered: set[str] = set()

        def answer_all() -> bool:
            for task in list(second.started):
                execution_arn, _command, _ = task
                if execution_arn not in answered:
                    answered.add(execution_arn)
                    given = json.loads(
                        engine.describe_execution({"executionArn": execution_arn})["input"]
                    )
                    answer(task, given)
            return bool(engine.describe_execution({"executionArn": parent})["status"] != "RUNNING")

        eventually(answer_all, "the parent to end")
        described = engine.describe_execution({"executionArn": parent})
        assert described["status"] == "SUCCEEDED"
        assert json.loads(described["output"]) == items["items"]
        listed = children(engine, map_run_arn)
        assert len(listed) == len({child["executionArn"] for child in listed}) == 5
        assert len(engine.handle("ListMapRuns", {"executionArn": parent})["mapRuns"]) == 1
        # the two children cut short ran their task again; the rest ran it once
        assert len(second.started) == 2 + 2


def test_children_left_by_a_parent_that_ended_are_aborted_at_the_next_start(
    tmp_path: Path,
) -> None:
    definition = distributed(HELD, MaxConcurrency=2)
    with Engine(SqliteExecutionStore(tmp_path), clock=VirtualClock(), tasks=HeldTasks()) as engine:
        parent = start(engine, definition, {"items": [1, 2, 3]})
        eventually(
            lambda: len(engine.handle("ListMapRuns", {"executionArn": parent})["mapRuns"]) == 1,
            "the map run",
        )
        map_run_arn = engine.handle("ListMapRuns", {"executionArn": parent})["mapRuns"][0][
            "mapRunArn"
        ]
        eventually(lambda: len(children(engine, map_run_arn)) == 2, "two children")
    # The parent was stopped just before the process was: its end is in the store, yet its
    # map run never heard of it.
    store = SqliteExecutionStore(tmp_path)
    now = datetime.now(UTC)
    last = store.event_count(parent)
    aborted = {
        "timestamp": now,
        "type": "ExecutionAborted",
        "id": last + 1,
        "previousEventId": last,
    }
    store.commit_signal(
        parent,
        "Stop",
        {"error": None, "cause": None},
        now,
        [aborted],
        [],
        [],
        Completion(ExecutionStatus.ABORTED, now),
    )
    store.close()
    with Engine(SqliteExecutionStore(tmp_path), clock=VirtualClock(), tasks=HeldTasks()) as engine:
        for child in children(engine, map_run_arn):
            assert engine.wait(child["executionArn"], WAIT)["status"] == "ABORTED"
        described = engine.handle("DescribeMapRun", {"mapRunArn": map_run_arn})
        assert described["status"] == "ABORTED"
        assert described["executionCounts"]["aborted"] == 2


# -- the store -----------------------------------------------------------------------------------

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
RUN = "arn:aws:states:us-east-1:123456789012:mapRun:orders/Each:run-1"
CHILD_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:orders/Each"
PARENT = "arn:aws:states:us-east-1:123456789012:execution:orders:parent"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ExecutionStore]:
    opened: ExecutionStore = (
        MemoryExecutionStore() if request.param == "memory" else SqliteExecutionStore(tmp_path)
    )
    yield opened
    opened.close()


def map_run(**changes: Any) -> MapRunRecord:
    fields: dict[str, Any] = {
        "arn": RUN,
        "execution_arn": PARENT,
        "state_machine_arn": CHILD_MACHINE,
        "status": MapRunStatus.RUNNING,
        "start_date": T0,
        "max_concurrency": 0,
    }
    fields.update(changes)
    return MapRunRecord(**fields)


def child_machine() -> StateMachineRecord:
    return StateMachineRecord(
        arn=CHILD_MACHINE,
        name="orders/Each",
        definition=json.dumps(PASS),
        role_arn=ROLE,
        type="STANDARD",
        creation_date=T0,
        revision_id="child-rev",
    )


def put_child(
    store: ExecutionStore,
    index: int,
    items: int,
    started: datetime,
    status: ExecutionStatus = ExecutionStatus.RUNNING,
    attempt: int = 0,
) -> str:
    arn = MapRunArn.parse(RUN).child_arn(index)
    record = ExecutionRecord(
        arn=arn,
        state_machine_arn=CHILD_MACHINE,
        revision_id="child-rev",
        name=arn.rpartition(":")[2],
        input="{}",
        status=status,
        start_date=started,
    )
    start = SignalRecord(0, "Start", {}, started, False)
    store.put_map_run_child(RUN, index, items, record, start, attempt)
    return arn


def test_a_map_run_reads_back_as_put_and_updated(store: ExecutionStore) -> None:
    store.put_map_run(map_run(tolerated_failure_percentage=12.5), child_machine())
    assert store.get_map_run(RUN) == map_run(tolerated_failure_percentage=12.5)
    with pytest.raises(StoreConflict):
        store.put_map_run(map_run(), child_machine())
    ended = map_run(
        status=MapRunStatus.SUCCEEDED,
        stop_date=T0 + timedelta(seconds=5),
        item_total=7,
        child_total=3,
        results_written=3,
        answer='{"output":[1]}',
        redrive_count=2,
        redrive_date=T0 + timedelta(seconds=4),
    )
    store.update_map_run(ended)
    assert store.get_map_run(RUN) == ended
    assert store.list_map_runs(PARENT) == [ended]
    assert store.list_map_runs("other") == []
    with pytest.raises(KeyError):
        store.update_map_run(map_run(arn=RUN + "x"))
    # its children's revision is readable, yet no state machine is listed
    assert store.get_revision(CHILD_MACHINE, "child-rev") == child_machine()
    assert store.get_state_machine(CHILD_MACHINE) is None
    assert store.list_state_machines() == []


def test_children_are_linked_counted_and_paged(store: ExecutionStore) -> None:
    store.put_map_run(map_run(), child_machine())
    arns = [put_child(store, index, 10, T0 + timedelta(seconds=index)) for index in range(3)]
    with pytest.raises(StoreConflict):
        put_child(store, 0, 10, T0)
    assert [child.index for child in store.map_run_children(RUN)] == [0, 1, 2]
    assert store.map_run_of(arns[1]) == RUN
    assert store.map_run_of(PARENT) is None
    assert store.map_run_counts(RUN) == {ExecutionStatus.RUNNING: (3, 30)}
    first = store.list_map_run_executions(RUN, None, 2, None)
    assert [child.execution.arn for child in first.items] == [arns[2], arns[1]]
    assert first.next_token is not None
    rest = store.list_map_run_executions(RUN, None, 2, first.next_token)
    assert [child.execution.arn for child in rest.items] == [arns[0]]
    assert rest.next_token is None
    assert store.list_map_run_executions(RUN, ExecutionStatus.FAILED, 10, None).items == []


def test_a_childs_attempt_is_kept_and_its_redrive_waits_until_it_is_taken(
    store: ExecutionStore,
) -> None:
    store.put_map_run(map_run(), child_machine())
    failed = put_child(store, 0, 4, T0, ExecutionStatus.FAILED)
    put_child(store, 1, 2, T0, ExecutionStatus.SUCCEEDED)
    put_child(store, 2, 1, T0, ExecutionStatus.ABORTED, attempt=1)
    assert [child.attempt for child in store.map_run_children(RUN)] == [0, 0, 1]
    # attempt 1 has yet to redrive child 0 (child 2 failed in attempt 1 itself); 2 none
    assert store.map_run_pending_redrive(RUN, 1) == (1, 4)
    assert store.map_run_pending_redrive(RUN, 2) == (2, 5)
    store.set_map_run_child_attempt(failed, 2)
    assert [child.attempt for child in store.map_run_children(RUN)] == [2, 0, 1]
    assert store.map_run_pending_redrive(RUN, 2) == (1, 1)
    assert store.map_run_pending_redrive(RUN, 0) == (0, 0)


def test_a_store_made_before_map_runs_opens_and_gains_them(tmp_path: Path) -> None:
    SqliteExecutionStore(tmp_path).close()
    with sqlite3.connect(tmp_path / "store.sqlite") as db:  # as an older redstep left it
        db.execute("DROP TABLE map_runs")
        db.execute("DROP TABLE map_run_executions")
    reopened = SqliteExecutionStore(tmp_path)
    try:
        reopened.put_map_run(map_run(), child_machine())
        assert reopened.get_map_run(RUN) == map_run()
    finally:
        reopened.close()


def test_map_run_tables_made_before_redrives_gain_their_columns(tmp_path: Path) -> None:
    SqliteExecutionStore(tmp_path).close()
    with sqlite3.connect(tmp_path / "store.sqlite") as db:  # as an older redstep left it
        db.execute("ALTER TABLE map_runs DROP COLUMN redrive_count")
        db.execute("ALTER TABLE map_runs DROP COLUMN redrive_date")
        db.execute("ALTER TABLE map_run_executions DROP COLUMN attempt")
    reopened = SqliteExecutionStore(tmp_path)
    try:
        redriven = map_run(redrive_count=1, redrive_date=T0 + timedelta(seconds=1))
        reopened.put_map_run(redriven, child_machine())
        assert reopened.get_map_run(RUN) == redriven
        put_child(reopened, 0, 1, T0, attempt=1)
        assert [child.attempt for child in reopened.map_run_children(RUN)] == [1]
    finally:
        reopened.close()


# -- the wire ------------------------------------------------------------------------------------


def wire(value: Any) -> Any:
    """A response as the JSON protocol writes it (dates as epoch seconds)."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {key: wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [wire(item) for item in value]
    return value


def test_answers_match_botocore_output_shapes(engine: Engine) -> None:
    model = botocore.session.get_session().get_service_model("stepfunctions")
    described = run(engine, distributed(FAIL_BELOW, ToleratedFailureCount=1), items_failing(3, {1}))
    parent = described["executionArn"]
    runs = engine.handle("ListMapRuns", {"executionArn": parent})
    map_run_arn = runs["mapRuns"][0]["mapRunArn"]
    answers = {
        "ListMapRuns": runs,
        "DescribeMapRun": engine.handle("DescribeMapRun", {"mapRunArn": map_run_arn}),
        "ListExecutions": engine.handle("ListExecutions", {"mapRunArn": map_run_arn}),
        "DescribeExecution": engine.handle(
            "DescribeExecution", {"executionArn": children(engine, map_run_arn)[0]["executionArn"]}
        ),
    }
    for operation, response in answers.items():
        output_shape = model.operation_model(operation).output_shape
        assert output_shape is not None
        check_shape(output_shape, wire(response), operation)


def test_boto3_reaches_the_map_run_operations(tmp_path: Path) -> None:
    (tmp_path / "redstep.toml").write_text('[buckets.data]\npath = "data"\n')
    (tmp_path / "data").mkdir()
    project = load_project(tmp_path)
    with Services.open(project) as services, live_server(App(services)) as url:
        client = boto3.client(
            "stepfunctions",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 1}, inject_host_prefix=False),
        )
        checked = check_wire(client)
        arn = client.create_state_machine(
            name="Machine", definition=json.dumps(distributed(PASS)), roleArn=ROLE
        )["stateMachineArn"]
        parent = client.start_execution(stateMachineArn=arn, input='{"items": [1, 2]}')[
            "executionArn"
        ]
        services.engine.wait(parent, WAIT)
        map_run_arn = client.list_map_runs(executionArn=parent)["mapRuns"][0]["mapRunArn"]
        described = client.describe_map_run(mapRunArn=map_run_arn)
        assert described["status"] == "SUCCEEDED"
        assert described["itemCounts"]["succeeded"] == 2
        listed = client.list_executions(mapRunArn=map_run_arn)["executions"]
        assert {child["itemCount"] for child in listed} == {1}
        child = client.describe_execution(executionArn=listed[0]["executionArn"])
        assert child["mapRunArn"] == map_run_arn
        with pytest.raises(client.exceptions.ValidationException):
            client.update_map_run(mapRunArn=map_run_arn, maxConcurrency=4)
        assert {"ListMapRuns", "DescribeMapRun", "UpdateMapRun", "ListExecutions"} <= set(checked)


def test_a_map_run_arn_names_its_machine_and_children() -> None:
    arn = MapRunArn.parse(RUN)
    assert (arn.path, arn.run_id, str(arn)) == ("orders/Each", "run-1", RUN)
    assert arn.child_arn(3) == arn.child_arn(3) != arn.child_arn(4)
    with pytest.raises(InvalidArn):
        MapRunArn.parse(PARENT)


def test_threads_are_not_left_behind(engine: Engine) -> None:
    run(engine, distributed(PASS), {"items": [1]})
    eventually(
        lambda: not any(t.name.startswith("redstep-map-run") for t in threading.enumerate()),
        "the map run's thread to end",
    )

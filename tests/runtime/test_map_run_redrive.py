"""Redriving a distributed Map's map run, through the Engine on a virtual clock: a parent's
redrive redrives the map run its Map state ran (the same ARN; MapRunRedriven in the parent's
history), which redrives its children that did not succeed and starts those never started,
keeping those that succeeded; what the run and its children tell before and after; a run that
failed reading its items is not redriven (a new one starts); a restart during a redrive
redrives no child twice.

The machine around one distributed Map and the wait come from distributed_maps (tests/helpers);
test_map_runs.py's other shapes are repeated here in brief: test modules are not imported from
one another."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from distributed_maps import WAIT, distributed, eventually, held_tasks
from held_tasks import HeldTasks

from redstep.buckets import Buckets
from redstep.engine.signals import TaskFailed, TaskSucceeded
from redstep.runtime.clock import VirtualClock
from redstep.runtime.engine import Engine
from redstep.runtime.errors import ExecutionNotRedrivable
from redstep.runtime.redrive_eligibility import BY_MAP_RUN_ONLY, MAP_RUN_NOT_REDRIVABLE
from redstep.runtime.sqlite_store import SqliteExecutionStore

ROLE = "arn:aws:iam::123456789012:role/test"
HELD = {
    "StartAt": "T",
    "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}},
}
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}

Task = tuple[str, Any, Callable[[Any], None]]


@pytest.fixture
def held() -> HeldTasks:
    return HeldTasks()


@pytest.fixture
def engine(tmp_path: Path, held: HeldTasks) -> Iterator[Engine]:
    with Engine(SqliteExecutionStore(tmp_path), clock=VirtualClock(), tasks=held) as opened:
        yield opened


def start(engine: Engine, definition: dict[str, Any], given: Any) -> str:
    request = {"name": "Machine", "definition": json.dumps(definition), "roleArn": ROLE}
    arn = engine.create_state_machine(request)["stateMachineArn"]
    started = engine.start_execution({"stateMachineArn": arn, "input": json.dumps(given)})
    return str(started["executionArn"])


def succeed(task: Task) -> None:
    """Answer a child's task with the child's item, as the child's input holds it."""
    _, command, report = task
    report(TaskSucceeded(command.task_id, command.parameters))


def fail(task: Task) -> None:
    _, command, report = task
    report(TaskFailed(command.task_id, "Boom", "the task failed"))


def the_map_run(engine: Engine, parent: str) -> str:
    eventually(
        lambda: bool(engine.handle("ListMapRuns", {"executionArn": parent})["mapRuns"]),
        "the map run",
    )
    return str(engine.handle("ListMapRuns", {"executionArn": parent})["mapRuns"][0]["mapRunArn"])


def indexes(engine: Engine, map_run_arn: str) -> dict[str, int]:
    """Each child's place among the run's children, by its ARN."""
    return {
        child.execution.arn: child.index for child in engine.store.map_run_children(map_run_arn)
    }


def children(engine: Engine, map_run_arn: str, **filters: str) -> dict[int, dict[str, Any]]:
    """The run's children as ListExecutions lists them, by index."""
    listed = engine.list_executions({"mapRunArn": map_run_arn, **filters})["executions"]
    index_of = indexes(engine, map_run_arn)
    return {index_of[child["executionArn"]]: child for child in listed}


def history(engine: Engine, execution_arn: str) -> list[dict[str, Any]]:
    request = {"executionArn": execution_arn, "maxResults": 1000}
    return list(engine.get_execution_history(request)["events"])


def types(engine: Engine, execution_arn: str) -> list[str]:
    return [event["type"] for event in history(engine, execution_arn)]


def assert_its_one_child_is_not_redrivable(engine: Engine, map_run_arn: str) -> None:
    """The run's only child failed, and nothing will redrive it: its Map Run says so too."""
    [child] = children(engine, map_run_arn).values()
    described = engine.describe_execution({"executionArn": child["executionArn"]})
    assert (described["redriveStatus"], described["redriveStatusReason"]) == (
        "NOT_REDRIVABLE",
        MAP_RUN_NOT_REDRIVABLE,
    )
    counts = engine.handle("DescribeMapRun", {"mapRunArn": map_run_arn})["executionCounts"]
    assert counts["failuresNotRedrivable"] == 1


def answer_every_task(engine: Engine, held: HeldTasks, parent: str, answered: int) -> None:
    """Succeed each task as it comes, from the `answered`-th on, until the parent ends."""

    def go_on() -> bool:
        nonlocal answered
        for task in list(held.started[answered:]):
            succeed(task)
            answered += 1
        return bool(engine.describe_execution({"executionArn": parent})["status"] != "RUNNING")

    eventually(go_on, "the parent to end")


# -- a failed map run --------------------------------------------------------------------------


def test_a_redrive_redrives_the_unsuccessful_children_and_starts_the_rest(
    engine: Engine, held: HeldTasks
) -> None:
    parent = start(engine, distributed(HELD, MaxConcurrency=2), {"items": [10, 11, 12, 13]})
    first, _ = held_tasks(held, 2)
    fail(first)  # nothing tolerated: child 0 fails the run, child 1 is aborted, 2 and 3 wait
    failed = engine.wait(parent, WAIT)
    assert failed["error"] == "States.ExceedToleratedFailureThreshold"
    map_run_arn = the_map_run(engine, parent)
    eventually(
        lambda: engine.handle("DescribeMapRun", {"mapRunArn": map_run_arn})["status"] == "FAILED",
        "the map run to fail",
    )
    before = children(engine, map_run_arn)
    assert {index: child["status"] for index, child in before.items()} == {
        0: "FAILED",
        1: "ABORTED",
    }
    described = engine.describe_execution({"executionArn": before[0]["executionArn"]})
    assert described["redriveStatus"] == "REDRIVABLE_BY_MAP_RUN"
    assert "redriveStatusReason" not in described
    with pytest.raises(ExecutionNotRedrivable, match=BY_MAP_RUN_ONLY):
        engine.redrive_execution({"executionArn": before[0]["executionArn"]})
    counts = engine.handle("DescribeMapRun", {"mapRunArn": map_run_arn})["executionCounts"]
    assert (counts["failed"], counts["aborted"], counts["pending"]) == (1, 1, 2)
    assert (counts["failuresNotRedrivable"], counts["pendingRedrive"]) == (0, 0)

    engine.redrive_execution({"executionArn": parent})
    redriven = held_tasks(held, 4)[2:]  # children 0 and 1 run their task again
    assert {task[0] for task in redriven} == {before[0]["executionArn"], before[1]["executionArn"]}
    answer_every_task(engine, held, parent, answered=2)

    done = engine.describe_execution({"executionArn": parent})
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == [10, 11, 12, 13]
    events = history(engine, parent)
    assert [event["type"] for event in events].count("MapRunStarted") == 1
    [again] = [event for event in events if event["type"] == "MapRunRedriven"]
    assert again["mapRunRedrivenEventDetails"] == {"mapRunArn": map_run_arn, "redriveCount": 1}
    assert len(engine.handle("ListMapRuns", {"executionArn": parent})["mapRuns"]) == 1

    described_run = engine.handle("DescribeMapRun", {"mapRunArn": map_run_arn})
    assert (described_run["status"], described_run["redriveCount"]) == ("SUCCEEDED", 1)
    assert described_run["redriveDate"] >= described_run["startDate"]
    assert described_run["executionCounts"]["succeeded"] == 4
    after = children(engine, map_run_arn)
    assert {index: child["status"] for index, child in after.items()} == dict.fromkeys(
        range(4), "SUCCEEDED"
    )
    redriven_children = children(engine, map_run_arn, redriveFilter="REDRIVEN")
    assert set(redriven_children) == {0, 1}
    assert all(child["redriveCount"] == 1 for child in redriven_children.values())
    assert all("redriveDate" in child for child in redriven_children.values())
    assert set(children(engine, map_run_arn, redriveFilter="NOT_REDRIVEN")) == {2, 3}
    for index in (0, 1):
        child = engine.describe_execution({"executionArn": after[index]["executionArn"]})
        assert child["redriveCount"] == 1
        assert "ExecutionRedriven" in types(engine, after[index]["executionArn"])
    for index in (2, 3):
        child = engine.describe_execution({"executionArn": after[index]["executionArn"]})
        assert child["redriveCount"] == 0


def test_children_that_succeeded_keep_their_results_and_do_not_run_again(
    engine: Engine, held: HeldTasks
) -> None:
    parent = start(engine, distributed(HELD), {"items": ["a", "b", "c"]})
    started = held_tasks(held, 3)
    map_run_arn = the_map_run(engine, parent)
    index_of = indexes(engine, map_run_arn)
    tasks = {index_of[task[0]]: task for task in started}
    succeed(tasks[1])
    succeed(tasks[2])
    fail(tasks[0])
    assert engine.wait(parent, WAIT)["status"] == "FAILED"
    kept = {
        index: types(engine, child["executionArn"])
        for index, child in children(engine, map_run_arn).items()
        if index != 0
    }

    engine.redrive_execution({"executionArn": parent})
    [again] = held_tasks(held, 4)[3:]
    assert index_of[again[0]] == 0  # only the failed child runs again
    succeed(again)
    done = engine.wait(parent, WAIT)
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == ["a", "b", "c"]
    assert len(held.started) == 4
    for index, before in kept.items():
        assert types(engine, children(engine, map_run_arn)[index]["executionArn"]) == before


def test_redriven_children_wait_for_room_under_max_concurrency(
    engine: Engine, held: HeldTasks
) -> None:
    definition = distributed(HELD, MaxConcurrency=1, ToleratedFailureCount=2)
    parent = start(engine, definition, {"items": [1, 2, 3, 4]})
    for count in (1, 2, 3):  # one at a time: the third failure passes the threshold
        fail(held_tasks(held, count)[count - 1])
    assert engine.wait(parent, WAIT)["status"] == "FAILED"
    map_run_arn = the_map_run(engine, parent)

    engine.redrive_execution({"executionArn": parent})
    held_tasks(held, 4)  # the first redriven child; the other two wait their turn
    described = engine.handle("DescribeMapRun", {"mapRunArn": map_run_arn})
    assert described["status"] == "RUNNING"
    counts = described["executionCounts"]
    assert (counts["running"], counts["pendingRedrive"], counts["failuresNotRedrivable"]) == (
        1,
        2,
        0,
    )
    assert (counts["failed"], counts["pending"]) == (2, 1)
    engine.handle("UpdateMapRun", {"mapRunArn": map_run_arn, "maxConcurrency": 1})
    assert len(held.started) == 4
    answer_every_task(engine, held, parent, answered=3)
    done = engine.describe_execution({"executionArn": parent})
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == [1, 2, 3, 4]
    assert len(held.started) == 3 + 4  # three first tries, three redrives, the fourth item
    assert set(children(engine, map_run_arn, redriveFilter="REDRIVEN")) == {0, 1, 2}


def test_an_end_told_late_does_not_lose_a_child_redriven_since(
    engine: Engine, held: HeldTasks
) -> None:
    # The end of a child's earlier attempt may be told after the child was redriven: the run
    # must follow the child as it runs again, not take the old end for its new one.
    parent = start(engine, distributed(HELD, MaxConcurrency=1), {"items": [1, 2]})
    fail(held_tasks(held, 1)[0])
    assert engine.wait(parent, WAIT)["status"] == "FAILED"
    engine.redrive_execution({"executionArn": parent})
    [again] = held_tasks(held, 2)[1:]
    engine.map_runs._ended(again[0])  # as the executor tells an end, but late
    time.sleep(0.2)
    assert len(held.started) == 2  # MaxConcurrency 1: child 1 waits for child 0's new end
    answer_every_task(engine, held, parent, answered=1)
    done = engine.describe_execution({"executionArn": parent})
    assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", [1, 2])


def test_a_second_redrive_counts_on(engine: Engine, held: HeldTasks) -> None:
    parent = start(engine, distributed(HELD), {"items": [1]})
    fail(held_tasks(held, 1)[0])
    assert engine.wait(parent, WAIT)["status"] == "FAILED"
    engine.redrive_execution({"executionArn": parent})
    fail(held_tasks(held, 2)[1])
    eventually(lambda: types(engine, parent)[-1] == "ExecutionFailed", "the redrive to fail")
    engine.redrive_execution({"executionArn": parent})
    succeed(held_tasks(held, 3)[2])
    assert engine.wait(parent, WAIT)["status"] == "SUCCEEDED"

    map_run_arn = the_map_run(engine, parent)
    counts = [
        event["mapRunRedrivenEventDetails"]["redriveCount"]
        for event in history(engine, parent)
        if event["type"] == "MapRunRedriven"
    ]
    assert counts == [1, 2]
    assert engine.handle("DescribeMapRun", {"mapRunArn": map_run_arn})["redriveCount"] == 2
    [child] = children(engine, map_run_arn).values()
    assert engine.describe_execution({"executionArn": child["executionArn"]})["redriveCount"] == 2


def test_a_map_run_aborted_with_its_parent_is_redriven(engine: Engine, held: HeldTasks) -> None:
    parent = start(engine, distributed(HELD, MaxConcurrency=2), {"items": [1, 2, 3]})
    held_tasks(held, 2)
    engine.stop_execution({"executionArn": parent, "error": "Enough"})
    map_run_arn = the_map_run(engine, parent)
    eventually(
        lambda: engine.handle("DescribeMapRun", {"mapRunArn": map_run_arn})["status"] == "ABORTED",
        "the map run to be aborted",
    )
    engine.redrive_execution({"executionArn": parent})
    answer_every_task(engine, held, parent, answered=2)
    done = engine.describe_execution({"executionArn": parent})
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == [1, 2, 3]
    assert set(children(engine, map_run_arn, redriveFilter="REDRIVEN")) == {0, 1}
    assert engine.handle("DescribeMapRun", {"mapRunArn": map_run_arn})["redriveCount"] == 1


def test_a_redrive_right_after_a_stop_waits_for_the_run_to_be_put_down(
    engine: Engine, held: HeldTasks
) -> None:
    # The map run's thread may still be aborting the children when the redrive dispatches the
    # same run again: the redrive's run starts once that one has ended, not alongside it.
    parent = start(engine, distributed(HELD, MaxConcurrency=2), {"items": [1, 2, 3]})
    held_tasks(held, 2)
    engine.stop_execution({"executionArn": parent, "error": "Enough"})
    engine.redrive_execution({"executionArn": parent})
    answer_every_task(engine, held, parent, answered=2)
    done = engine.describe_execution({"executionArn": parent})
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == [1, 2, 3]
    map_run_arn = the_map_run(engine, parent)
    assert engine.handle("DescribeMapRun", {"mapRunArn": map_run_arn})["redriveCount"] == 1


def test_a_failure_caught_in_the_parent_leaves_the_children_not_redrivable(
    engine: Engine, held: HeldTasks
) -> None:
    caught = distributed(HELD, Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Handled"}])
    caught["States"]["M"].pop("End")
    caught["States"]["M"]["Next"] = "Done"
    caught["States"] |= {
        "Handled": {"Type": "Pass", "End": True},
        "Done": {"Type": "Pass", "End": True},
    }
    parent = start(engine, caught, {"items": [1]})
    fail(held_tasks(held, 1)[0])
    assert engine.wait(parent, WAIT)["status"] == "SUCCEEDED"
    assert_its_one_child_is_not_redrivable(engine, the_map_run(engine, parent))


def test_children_of_a_parent_that_cannot_be_redriven_are_not_redrivable(
    engine: Engine, held: HeldTasks
) -> None:
    parent = start(engine, distributed(HELD), {"items": [1]})
    fail(held_tasks(held, 1)[0])
    assert engine.wait(parent, WAIT)["status"] == "FAILED"
    machine = engine.describe_execution({"executionArn": parent})["stateMachineArn"]
    engine.delete_state_machine({"stateMachineArn": machine})  # the parent's own reason
    assert_its_one_child_is_not_redrivable(engine, the_map_run(engine, parent))


# -- a run that never started its children ---------------------------------------------------


def test_a_map_run_that_failed_reading_its_items_is_not_redriven_a_new_one_starts(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    buckets = Buckets({"data": folder}, staging=tmp_path / "staging")
    reader = {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket": "data", "Key": "items.json"},
    }
    with Engine(
        SqliteExecutionStore(tmp_path / "state"), clock=VirtualClock(), buckets=buckets
    ) as engine:
        parent = start(engine, distributed(PASS, ItemReader=reader), {})
        failed = engine.wait(parent, WAIT)
        assert failed["error"] == "States.ItemReaderFailed"
        (folder / "items.json").write_text(json.dumps(["x", "y"]))

        engine.redrive_execution({"executionArn": parent})
        eventually(lambda: types(engine, parent)[-1] != "ExecutionRedriven", "the redrive")
        done = engine.wait(parent, WAIT)
        assert done["status"] == "SUCCEEDED"
        assert json.loads(done["output"]) == ["x", "y"]
        assert types(engine, parent).count("MapRunStarted") == 2
        assert "MapRunRedriven" not in types(engine, parent)
        runs = engine.handle("ListMapRuns", {"executionArn": parent})["mapRuns"]
        assert len({run["mapRunArn"] for run in runs}) == 2
    buckets.close()


# -- durability ------------------------------------------------------------------------------


def test_a_restart_during_a_redrive_redrives_no_child_twice(tmp_path: Path) -> None:
    definition = distributed(HELD, MaxConcurrency=1)
    first = HeldTasks()
    with Engine(SqliteExecutionStore(tmp_path), clock=VirtualClock(), tasks=first) as engine:
        parent = start(engine, definition, {"items": [1, 2]})
        fail(held_tasks(first, 1)[0])
        assert engine.wait(parent, WAIT)["status"] == "FAILED"
        engine.redrive_execution({"executionArn": parent})
        held_tasks(first, 2)  # child 0 runs its task again; the process stops meanwhile
    second = HeldTasks()
    with Engine(SqliteExecutionStore(tmp_path), clock=VirtualClock(), tasks=second) as engine:
        answer_every_task(engine, second, parent, answered=0)
        done = engine.describe_execution({"executionArn": parent})
        assert done["status"] == "SUCCEEDED"
        assert json.loads(done["output"]) == [1, 2]
        map_run_arn = the_map_run(engine, parent)
        listed = children(engine, map_run_arn)
        redrives = [
            engine.describe_execution({"executionArn": child["executionArn"]})["redriveCount"]
            for _, child in sorted(listed.items())
        ]
        assert redrives == [1, 0]
        assert engine.handle("DescribeMapRun", {"mapRunArn": map_run_arn})["redriveCount"] == 1
        assert types(engine, parent).count("MapRunRedriven") == 1

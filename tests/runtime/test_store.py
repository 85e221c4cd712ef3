"""The ExecutionStore contract, run against SQLite and against the in-memory fake alike.

Every test takes the `store` fixture, so the fake the executor's tests use is held to the same
behaviour as the durable store; what only SQLite can show (durability across instances, sharing
the file with the Data API, rollback of a half-written commit) follows at the end.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from redstep.dataapi.statements import StatementRecord, StatusString, Target
from redstep.dataapi.store import StatementStore
from redstep.engine.commands import ExecutionStatus
from redstep.runtime.errors import InvalidToken
from redstep.runtime.memory_store import MemoryExecutionStore
from redstep.runtime.sqlite_store import SqliteExecutionStore
from redstep.runtime.store import (
    Completion,
    ExecutionRecord,
    ExecutionStore,
    SignalRecord,
    StateMachineRecord,
    StoreConflict,
    TimerRecord,
)

T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:orders"
OTHER_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:refunds"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ExecutionStore]:
    """An empty store, once per implementation."""
    opened: ExecutionStore = (
        MemoryExecutionStore() if request.param == "memory" else SqliteExecutionStore(tmp_path)
    )
    yield opened
    opened.close()


def machine(
    arn: str = MACHINE, revision: str = "r1", created: datetime = T0, **changes: Any
) -> StateMachineRecord:
    fields: dict[str, Any] = {
        "arn": arn,
        "name": arn.rsplit(":", 1)[1],
        "definition": f'{{"StartAt":"{revision}"}}',
        "role_arn": "arn:aws:iam::123456789012:role/states",
        "type": "STANDARD",
        "creation_date": created,
        "revision_id": revision,
        "tags": {"team": "data"},
    }
    fields.update(changes)
    return StateMachineRecord(**fields)


def execution_arn(name: str, machine_arn: str = MACHINE) -> str:
    return machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"


def start(
    store: ExecutionStore, name: str, started: datetime = T0, machine_arn: str = MACHINE
) -> str:
    """Record a RUNNING execution with its Start signal; return its ARN."""
    arn = execution_arn(name, machine_arn)
    record = ExecutionRecord(
        arn=arn,
        state_machine_arn=machine_arn,
        revision_id="r1",
        name=name,
        input='{"order":1}',
        status=ExecutionStatus.RUNNING,
        start_date=started,
    )
    store.put_execution(record, SignalRecord(0, "Start", {}, started, False))
    return arn


def event(event_id: int, at: datetime = T0, **details: Any) -> dict[str, Any]:
    """A history event; with no details it carries no details member, as some types don't."""
    made: dict[str, Any] = {
        "timestamp": at,
        "type": "PassStateEntered" if details else "ExecutionSucceeded",
        "id": event_id,
        "previousEventId": event_id - 1,
    }
    if details:
        made["stateEnteredEventDetails"] = {**details, "inputDetails": {"truncated": False}}
    return made


def start_seq(store: ExecutionStore, arn: str) -> int:
    return store.signals(arn)[0].seq


def commit(
    store: ExecutionStore,
    arn: str,
    events: list[dict[str, Any]],
    timers: tuple[TimerRecord, ...] = (),
    cleared: tuple[int, ...] = (),
    completion: Completion | None = None,
) -> None:
    """Commit an activation consuming the execution's first pending signal."""
    seq = next(signal.seq for signal in store.signals(arn) if not signal.is_processed)
    store.commit(arn, seq, T0, events, timers, cleared, completion)


# -- state machines ------------------------------------------------------------------------------
def test_a_state_machine_reads_back_as_put(store: ExecutionStore) -> None:
    record = machine(update_date=T0 + timedelta(seconds=1), description="orders flow")
    store.put_state_machine(record)
    assert store.get_state_machine(MACHINE) == record
    assert store.get_revision(MACHINE, "r1") == record
    assert store.get_state_machine(OTHER_MACHINE) is None
    assert store.get_revision(MACHINE, "r2") is None


def test_putting_a_state_machine_twice_conflicts(store: ExecutionStore) -> None:
    store.put_state_machine(machine())
    with pytest.raises(StoreConflict):
        store.put_state_machine(machine(revision="r2"))
    assert store.get_state_machine(MACHINE) == machine()


def test_an_update_keeps_earlier_revisions_readable(store: ExecutionStore) -> None:
    store.put_state_machine(machine())
    updated = machine(revision="r2", update_date=T0 + timedelta(hours=1), tags={})
    store.update_state_machine(updated)
    assert store.get_state_machine(MACHINE) == updated
    assert store.get_revision(MACHINE, "r2") == updated
    assert store.get_revision(MACHINE, "r1") == machine()


def test_updating_an_unknown_state_machine_raises_key_error(store: ExecutionStore) -> None:
    with pytest.raises(KeyError):
        store.update_state_machine(machine())
    assert store.get_state_machine(MACHINE) is None


def test_state_machines_list_by_creation_date_then_name(store: ExecutionStore) -> None:
    later = machine(OTHER_MACHINE, created=T0 + timedelta(minutes=1))
    alpha = machine(MACHINE.replace("orders", "alpha"), created=T0 + timedelta(minutes=1))
    first = machine()
    for record in (later, alpha, first):
        store.put_state_machine(record)
    assert store.list_state_machines() == [first, alpha, later]


def test_deleting_a_state_machine_leaves_its_executions(store: ExecutionStore) -> None:
    store.put_state_machine(machine())
    store.update_state_machine(machine(revision="r2"))
    arn = start(store, "run-1")
    store.delete_state_machine(MACHINE)
    store.delete_state_machine(MACHINE)  # deleting what is gone is no error
    assert store.get_state_machine(MACHINE) is None
    # executions still running on it need their definition
    revision = store.get_revision(MACHINE, "r1")
    assert revision is not None
    assert revision.revision_id == "r1"
    assert store.get_revision(MACHINE, "r2") is not None
    assert store.list_state_machines() == []
    execution = store.get_execution(arn)
    assert execution is not None
    assert execution.state_machine_arn == MACHINE
    assert len(store.signals(arn)) == 1


def test_tags_change_in_place_without_a_revision(store: ExecutionStore) -> None:
    store.put_state_machine(machine())
    tags = store.update_tags(MACHINE, {"env": "prod", "team": "etl"}, ())
    assert tags == {"team": "etl", "env": "prod"}
    assert store.update_tags(MACHINE, {}, {"team", "absent"}) == {"env": "prod"}
    current = store.get_state_machine(MACHINE)
    assert current is not None
    assert current.tags == {"env": "prod"}
    assert current.revision_id == "r1"
    assert store.get_revision(MACHINE, "r1") == machine()  # the revision keeps its tags
    assert store.list_state_machines() == [current]


def test_tags_past_the_limit_conflict_and_write_nothing(store: ExecutionStore) -> None:
    store.put_state_machine(machine())
    assert store.update_tags(MACHINE, {"a": "1"}, (), limit=2) == {"team": "data", "a": "1"}
    with pytest.raises(StoreConflict):
        store.update_tags(MACHINE, {"b": "2"}, (), limit=2)
    # replacing a value or swapping one tag for another stays within the limit
    assert store.update_tags(MACHINE, {"b": "2"}, {"a"}, limit=2) == {"team": "data", "b": "2"}
    current = store.get_state_machine(MACHINE)
    assert current is not None
    assert current.tags == {"team": "data", "b": "2"}


def test_tagging_an_unknown_state_machine_raises_key_error(store: ExecutionStore) -> None:
    with pytest.raises(KeyError):
        store.update_tags(MACHINE, {"a": "1"}, ())
    store.put_state_machine(machine())
    store.delete_state_machine(MACHINE)
    with pytest.raises(KeyError):
        store.update_tags(MACHINE, {"a": "1"}, ())


def test_an_update_after_tagging_carries_the_tags_it_is_given(store: ExecutionStore) -> None:
    store.put_state_machine(machine())
    store.update_tags(MACHINE, {"a": "1"}, ())
    store.update_state_machine(machine(revision="r2", tags={"team": "data", "a": "1"}))
    current = store.get_state_machine(MACHINE)
    assert current is not None
    assert (current.revision_id, current.tags) == ("r2", {"team": "data", "a": "1"})


# -- executions ----------------------------------------------------------------------------------
def test_an_execution_starts_with_one_pending_signal(store: ExecutionStore) -> None:
    arn = start(store, "run-1")
    assert store.get_execution(arn) == ExecutionRecord(
        arn=arn,
        state_machine_arn=MACHINE,
        revision_id="r1",
        name="run-1",
        input='{"order":1}',
        status=ExecutionStatus.RUNNING,
        start_date=T0,
    )
    [signal] = store.signals(arn)
    assert (signal.kind, signal.fields, signal.at, signal.is_processed) == ("Start", {}, T0, False)
    assert store.get_execution(execution_arn("missing")) is None


def test_putting_an_execution_twice_conflicts(store: ExecutionStore) -> None:
    arn = start(store, "run-1")
    with pytest.raises(StoreConflict):
        start(store, "run-1", started=T0 + timedelta(seconds=5))
    record = store.get_execution(arn)
    assert record is not None
    assert record.start_date == T0
    assert len(store.signals(arn)) == 1


def test_executions_list_newest_first_across_pages(store: ExecutionStore) -> None:
    # Two pairs share a start date: the ARN orders them, descending as the dates are.
    offsets = {"a": 0, "b": 1, "c": 1, "d": 2, "e": 3, "f": 3, "g": 4}
    for name, seconds in offsets.items():
        start(store, name, started=T0 + timedelta(seconds=seconds))
    expected = ["g", "f", "e", "d", "c", "b", "a"]
    names: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        page = store.list_executions(MACHINE, None, 3, token)
        pages += 1
        assert len(page.items) <= 3
        names.extend(record.name for record in page.items)
        token = page.next_token
        if token is None:
            break
    assert names == expected
    assert pages == 3
    whole = store.list_executions(None, None, 0, None)
    assert [record.name for record in whole.items] == expected
    assert whole.next_token is None


def test_a_page_token_survives_executions_started_since(store: ExecutionStore) -> None:
    for index in range(4):
        start(store, f"run-{index}", started=T0 + timedelta(seconds=index))
    first = store.list_executions(MACHINE, None, 2, None)
    start(store, "run-new", started=T0 + timedelta(hours=1))
    assert first.next_token is not None
    second = store.list_executions(MACHINE, None, 2, first.next_token)
    assert [record.name for record in first.items + second.items] == [
        "run-3",
        "run-2",
        "run-1",
        "run-0",
    ]
    assert second.next_token is None


def test_executions_filter_by_state_machine_and_status(store: ExecutionStore) -> None:
    done = start(store, "done", started=T0)
    start(store, "running", started=T0 + timedelta(seconds=1))
    start(store, "elsewhere", started=T0 + timedelta(seconds=2), machine_arn=OTHER_MACHINE)
    commit(store, done, [event(1)], completion=Completion(ExecutionStatus.SUCCEEDED, T0))

    def names(machine_arn: str | None, status: ExecutionStatus | None) -> list[str]:
        return [r.name for r in store.list_executions(machine_arn, status, 10, None).items]

    assert names(None, None) == ["elsewhere", "running", "done"]
    assert names(MACHINE, None) == ["running", "done"]
    assert names(None, ExecutionStatus.RUNNING) == ["elsewhere", "running"]
    assert names(MACHINE, ExecutionStatus.SUCCEEDED) == ["done"]
    assert names(OTHER_MACHINE, ExecutionStatus.FAILED) == []


@pytest.mark.parametrize("token", ["garbage!", "W10=", "WyJub3QgYSBkYXRlIiwgImFybiJd"])
def test_a_token_the_store_did_not_issue_is_invalid(store: ExecutionStore, token: str) -> None:
    start(store, "run-1")
    with pytest.raises(InvalidToken):
        store.list_executions(None, None, 10, token)


def test_running_executions_are_oldest_first_and_drop_completed_ones(
    store: ExecutionStore,
) -> None:
    newest = start(store, "newest", started=T0 + timedelta(seconds=2))
    oldest = start(store, "oldest", started=T0)
    finished = start(store, "finished", started=T0 + timedelta(seconds=1))
    middle = start(store, "middle", started=T0 + timedelta(seconds=1, microseconds=1))
    commit(store, finished, [event(1)], completion=Completion(ExecutionStatus.ABORTED, T0))
    assert [record.arn for record in store.running_executions()] == [oldest, middle, newest]


# -- journal -------------------------------------------------------------------------------------
def test_the_journal_keeps_sequence_order_and_processed_flags(store: ExecutionStore) -> None:
    arn = start(store, "run-1")
    other = start(store, "run-2")
    later = T0 + timedelta(seconds=30)
    task = store.add_signal(arn, "TaskSucceeded", {"task_id": 1, "output": {"a": [1]}}, later)
    elsewhere = store.add_signal(other, "Stop", {"error": None, "cause": None}, later)
    assert start_seq(store, arn) < task < elsewhere
    consumed_at = T0 + timedelta(seconds=1)
    store.commit(arn, start_seq(store, arn), consumed_at, [event(1)], (), (), None)
    fired = store.commit_signal(arn, "TimerFired", {"timer_id": 7}, later, [event(2)], (), (), None)
    assert fired > elsewhere
    journal = store.signals(arn)
    assert [signal.seq for signal in journal] == [start_seq(store, arn), task, fired]
    assert [(s.kind, s.at, s.is_processed) for s in journal] == [
        ("Start", consumed_at, True),
        ("TaskSucceeded", later, False),
        ("TimerFired", later, True),
    ]
    assert journal[1].fields == {"task_id": 1, "output": {"a": [1]}}
    assert journal[2].fields == {"timer_id": 7}
    assert [signal.seq for signal in store.signals(other)] == [start_seq(store, other), elsewhere]


def test_signals_for_an_unknown_execution_raise_key_error(store: ExecutionStore) -> None:
    missing = execution_arn("missing")
    with pytest.raises(KeyError):
        store.add_signal(missing, "Stop", {}, T0)
    with pytest.raises(KeyError):
        store.commit_signal(missing, "Continue", {}, T0, [event(1)], (), (), None)
    assert store.signals(missing) == []
    assert store.event_count(missing) == 0


def test_a_signal_is_committed_only_once(store: ExecutionStore) -> None:
    arn = start(store, "run-1")
    other = start(store, "run-2")
    seq = start_seq(store, arn)
    store.commit(arn, seq, T0, [event(1)], (), (), None)
    with pytest.raises(StoreConflict):
        store.commit(arn, seq, T0, [event(2)], (), (), None)
    with pytest.raises(StoreConflict):  # another execution's signal
        store.commit(arn, start_seq(store, other), T0, [event(2)], (), (), None)
    assert store.event_count(arn) == 1
    assert store.signals(other)[0].is_processed is False


def test_signals_added_from_many_threads_get_distinct_increasing_numbers(
    store: ExecutionStore,
) -> None:
    arn = start(store, "run-1")
    numbers: list[list[int]] = [[] for _ in range(4)]

    def add(mine: list[int]) -> None:
        for index in range(25):
            mine.append(store.add_signal(arn, "TaskHeartbeat", {"task_id": index}, T0))

    threads = [threading.Thread(target=add, args=(mine,)) for mine in numbers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(mine == sorted(mine) for mine in numbers)
    every = [seq for mine in numbers for seq in mine]
    assert len(set(every)) == 100
    assert [signal.seq for signal in store.signals(arn)][1:] == sorted(every)


# -- commits -------------------------------------------------------------------------------------
def test_a_completion_ends_the_execution(store: ExecutionStore) -> None:
    arn = start(store, "run-1")
    stopped = T0 + timedelta(minutes=5, microseconds=7)
    completion = Completion(ExecutionStatus.FAILED, stopped, None, "States.TaskFailed", "boom")
    commit(store, arn, [event(1)], completion=completion)
    record = store.get_execution(arn)
    assert record is not None
    assert (record.status, record.stop_date, record.output) == (
        ExecutionStatus.FAILED,
        stopped,
        None,
    )
    assert (record.error, record.cause) == ("States.TaskFailed", "boom")
    succeeded = start(store, "run-2")
    commit(store, succeeded, [event(1)], completion=Completion(ExecutionStatus.SUCCEEDED, T0, "{}"))
    record = store.get_execution(succeeded)
    assert record is not None
    assert (record.status, record.output, record.error) == (ExecutionStatus.SUCCEEDED, "{}", None)


def test_timers_are_added_cleared_and_dropped_on_completion(store: ExecutionStore) -> None:
    arn = start(store, "run-1")
    other = start(store, "run-2")
    soon, later = T0 + timedelta(seconds=10), T0 + timedelta(hours=1, microseconds=5)
    commit(store, arn, [event(1)], timers=(TimerRecord(arn, 2, later), TimerRecord(arn, 1, soon)))
    commit(store, other, [event(1)], timers=(TimerRecord(other, 1, soon),))
    assert store.timers(arn) == [TimerRecord(arn, 1, soon), TimerRecord(arn, 2, later)]
    fired = store.commit_signal(
        arn,
        "TimerFired",
        {"timer_id": 1},
        soon,
        [event(2)],
        [TimerRecord(arn, 3, later)],
        [1],
        None,
    )
    assert fired > 0
    assert store.timers(arn) == [TimerRecord(arn, 2, later), TimerRecord(arn, 3, later)]
    store.commit_signal(
        arn, "Continue", {}, soon, [event(3)], [], [], Completion(ExecutionStatus.SUCCEEDED, soon)
    )
    assert store.timers(arn) == []
    assert store.timers(other) == [TimerRecord(other, 1, soon)]


def test_a_timer_id_may_be_reused_once_cleared(store: ExecutionStore) -> None:
    arn = start(store, "run-1")
    commit(store, arn, [event(1)], timers=(TimerRecord(arn, 1, T0),))
    later = T0 + timedelta(seconds=1)
    store.commit_signal(
        arn, "TimerFired", {"timer_id": 1}, T0, [], [TimerRecord(arn, 1, later)], [1], None
    )
    assert store.timers(arn) == [TimerRecord(arn, 1, later)]


def test_an_unserialisable_event_writes_nothing_of_its_commit(store: ExecutionStore) -> None:
    arn = start(store, "run-1")
    commit(store, arn, [event(1)], timers=(TimerRecord(arn, 1, T0),))
    pending = store.add_signal(arn, "TimerFired", {"timer_id": 1}, T0)
    broken = [event(2, input="{}"), event(3, input=object()), event(4, input="{}")]
    done = Completion(ExecutionStatus.SUCCEEDED, T0, "{}")
    with pytest.raises(TypeError):
        store.commit(arn, pending, T0, broken, [TimerRecord(arn, 2, T0)], [1], done)
    with pytest.raises(TypeError):
        store.commit_signal(arn, "Continue", {}, T0, broken, [TimerRecord(arn, 2, T0)], [1], done)
    assert_unchanged_after_first_commit(store, arn, pending)


def test_a_repeated_event_id_conflicts_and_writes_nothing(store: ExecutionStore) -> None:
    arn = start(store, "run-1")
    commit(store, arn, [event(1)], timers=(TimerRecord(arn, 1, T0),))
    pending = store.add_signal(arn, "TimerFired", {"timer_id": 1}, T0)
    # Event 2 is new; event 1 is already in the history, so the commit fails part-way.
    clashing = [event(2, input="{}"), event(1, input="{}")]
    done = Completion(ExecutionStatus.SUCCEEDED, T0, "{}")
    with pytest.raises(StoreConflict):
        store.commit(arn, pending, T0, clashing, [TimerRecord(arn, 2, T0)], [1], done)
    with pytest.raises(StoreConflict):  # a timer id that is still pending
        store.commit(arn, pending, T0, [event(2)], [TimerRecord(arn, 1, T0)], [], None)
    assert_unchanged_after_first_commit(store, arn, pending)


def assert_unchanged_after_first_commit(store: ExecutionStore, arn: str, pending: int) -> None:
    """The execution is as its first commit left it: nothing of a failed commit remains."""
    assert store.history(arn, False, 0, None) == [event(1)]
    assert store.event_count(arn) == 1
    assert store.timers(arn) == [TimerRecord(arn, 1, T0)]
    journal = store.signals(arn)
    assert [(signal.seq, signal.is_processed) for signal in journal] == [
        (journal[0].seq, True),
        (pending, False),
    ]
    record = store.get_execution(arn)
    assert record is not None
    assert (record.status, record.stop_date, record.output) == (ExecutionStatus.RUNNING, None, None)
    assert [running.arn for running in store.running_executions()] == [arn]


# -- history -------------------------------------------------------------------------------------
def test_history_reads_back_exactly_what_was_committed(store: ExecutionStore) -> None:
    arn = start(store, "run-1")
    events = [
        event(1, at=T0, name="First", input='{"é":"ü"}'),
        event(2, at=T0 + timedelta(microseconds=1), name="Second", input="[1.5,null,true]"),
        event(3, at=T0 + timedelta(seconds=1)),
    ]
    events[0]["stateEnteredEventDetails"]["nested"] = {"list": [1, 2.25, None, "x"], "flag": True}
    commit(store, arn, events[:2])
    store.commit_signal(arn, "Continue", {}, T0, events[2:], (), (), None)
    history = store.history(arn, False, 0, None)
    assert history == events
    assert all(moment["timestamp"].tzinfo is not None for moment in history)
    assert "stateEnteredEventDetails" not in history[2]


def test_history_pages_forward_and_backward(store: ExecutionStore) -> None:
    arn = start(store, "run-1")
    events = [event(index, name=f"S{index}") for index in range(1, 8)]
    commit(store, arn, events[:3])
    store.commit_signal(arn, "Continue", {}, T0, events[3:], (), (), None)
    assert store.event_count(arn) == 7

    def ids(reverse: bool, limit: int, after: int | None) -> list[int]:
        return [e["id"] for e in store.history(arn, reverse, limit, after)]

    assert ids(False, 0, None) == [1, 2, 3, 4, 5, 6, 7]
    assert ids(False, 3, None) == [1, 2, 3]
    assert ids(False, 3, 3) == [4, 5, 6]
    assert ids(False, 3, 6) == [7]
    assert ids(False, 3, 7) == []
    assert ids(True, 0, None) == [7, 6, 5, 4, 3, 2, 1]
    assert ids(True, 3, None) == [7, 6, 5]
    assert ids(True, 3, 5) == [4, 3, 2]
    assert ids(True, 3, 2) == [1]
    assert store.history(arn, False, 2, 4) == events[4:6]
    assert store.history(execution_arn("missing"), False, 0, None) == []


# -- SQLite only ---------------------------------------------------------------------------------
def test_a_reopened_sqlite_store_sees_everything(tmp_path: Path) -> None:
    first = SqliteExecutionStore(tmp_path)
    first.put_state_machine(machine())
    first.update_state_machine(machine(revision="r2"))
    arn = start(first, "run-1")
    running = start(first, "run-2", started=T0 + timedelta(seconds=1))
    commit(first, arn, [event(1, name="A")], timers=(TimerRecord(arn, 1, T0),))
    first.commit_signal(
        arn, "Continue", {"n": 1}, T0, [event(2)], [], [], Completion(ExecutionStatus.FAILED, T0)
    )
    pending = first.add_signal(running, "Stop", {"error": "E"}, T0)
    before = (
        first.list_state_machines(),
        first.get_revision(MACHINE, "r1"),
        first.list_executions(None, None, 0, None),
        first.signals(arn),
        first.signals(running),
        first.history(arn, False, 0, None),
        first.timers(running),
    )
    first.close()
    second = SqliteExecutionStore(tmp_path)
    after = (
        second.list_state_machines(),
        second.get_revision(MACHINE, "r1"),
        second.list_executions(None, None, 0, None),
        second.signals(arn),
        second.signals(running),
        second.history(arn, False, 0, None),
        second.timers(running),
    )
    assert after == before
    assert [record.arn for record in second.running_executions()] == [running]
    assert second.signals(running)[-1].seq == pending
    assert second.add_signal(running, "Stop", {}, T0) > pending
    second.close()


def test_sqlite_keeps_the_instant_of_a_non_utc_time(tmp_path: Path) -> None:
    store = SqliteExecutionStore(tmp_path)
    eastern = datetime(2024, 5, 1, 8, 0, 0, 1, tzinfo=timezone(timedelta(hours=-4)))
    arn = start(store, "run-1", started=eastern)
    utc = start(store, "run-2", started=T0)  # 12:00:00.123456Z, after 12:00:00.000001Z
    record = store.get_execution(arn)
    listed = [r.arn for r in store.list_executions(None, None, 0, None).items]
    store.close()
    assert record is not None
    assert record.start_date == eastern
    assert record.start_date.utcoffset() == timedelta(0)
    assert listed == [utc, arn]


def test_closing_the_sqlite_store_stops_its_checkpointer(tmp_path: Path) -> None:
    store = SqliteExecutionStore(tmp_path)
    commit(store, start(store, "run-1"), [event(1)])
    store.close()
    store.close()
    assert not [t for t in threading.enumerate() if t.name.endswith(str(store.path))]


def test_sqlite_refuses_a_naive_time(tmp_path: Path) -> None:
    store = SqliteExecutionStore(tmp_path)
    with pytest.raises(ValueError, match="naive"):
        start(store, "run-1", started=datetime(2024, 5, 1))
    assert store.get_execution(execution_arn("run-1")) is None
    store.close()


def test_the_data_api_shares_the_sqlite_file(tmp_path: Path) -> None:
    executions = SqliteExecutionStore(tmp_path)
    statements = StatementStore(tmp_path)
    assert statements.path == executions.path
    arn = start(executions, "run-1")
    statement = StatementRecord(
        id="11111111-2222-4333-8444-555555555555",
        target=Target(warehouse="default", database="dev"),
        is_batch=False,
        query_strings=("select 1",),
        status=StatusString.SUBMITTED,
        created_at=T0,
        updated_at=T0,
    )
    statements.insert(statement)
    commit(executions, arn, [event(1)])
    reopened = StatementStore(tmp_path)
    assert reopened.get(statement.id) == statement
    assert executions.event_count(arn) == 1
    for store in (statements, reopened, executions):
        store.close()
    with sqlite3.connect(tmp_path / "store.sqlite") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    db.close()
    assert tables == {
        "statements",
        "sub_statements",
        "state_machines",
        "state_machine_revisions",
        "executions",
        "execution_signals",
        "history_events",
        "execution_timers",
        "map_runs",
        "map_run_executions",
    }
    assert mode == "wal"

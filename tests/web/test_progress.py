"""How far an execution got, state by state: the rules on small histories written here, then
invariants over real histories — the conformance templates run through redstep's engine, and
the executions recorded on AWS."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conformance import MISSING, load_cases
from conformance import definition as case_definition
from graph_members import members

from redstep.asl.parse import validate_definition
from redstep.runtime.clock import VirtualClock
from redstep.runtime.engine import Engine
from redstep.runtime.memory_store import MemoryExecutionStore
from redstep.web.graph import state_graph
from redstep.web.progress import ExecutionProgress, StateStatus

NOT_STARTED, RUNNING = StateStatus.NOT_STARTED, StateStatus.RUNNING
SUCCEEDED, FAILED = StateStatus.SUCCEEDED, StateStatus.FAILED
CAUGHT, CANCELLED = StateStatus.CAUGHT, StateStatus.CANCELLED
ROLE = "arn:aws:iam::123456789012:role/console-tests"
START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
DETAILS = {
    "ExecutionStarted": "executionStartedEventDetails",
    "ExecutionFailed": "executionFailedEventDetails",
    "ExecutionAborted": "executionAbortedEventDetails",
    "ExecutionTimedOut": "executionTimedOutEventDetails",
    "ExecutionSucceeded": "executionSucceededEventDetails",
    "TaskScheduled": "taskScheduledEventDetails",
    "TaskStarted": "taskStartedEventDetails",
    "TaskSucceeded": "taskSucceededEventDetails",
    "TaskFailed": "taskFailedEventDetails",
    "MapIterationStarted": "mapIterationStartedEventDetails",
    "MapIterationSucceeded": "mapIterationSucceededEventDetails",
}


class History:
    """A history written by hand: each event follows the last one unless told otherwise."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def add(self, kind: str, *, after: int | None = None, **details: Any) -> int:
        event_id = len(self.events) + 1
        event: dict[str, Any] = {
            "id": event_id,
            "previousEventId": (event_id - 1 if after is None else after),
            "type": kind,
            "timestamp": START + timedelta(seconds=event_id),
        }
        if kind.endswith("StateEntered"):
            event["stateEnteredEventDetails"] = {"input": "{}", **details}
        elif kind.endswith("StateExited"):
            event["stateExitedEventDetails"] = {"output": "{}", **details}
        elif details or kind in DETAILS:
            member = DETAILS.get(kind, kind[0].lower() + kind[1:] + "EventDetails")
            event[member] = details
        self.events.append(event)
        return event_id

    def task(self, name: str, *, after: int | None = None) -> int:
        """A Task state entered and its task scheduled and started; the TaskStarted id."""
        self.add("TaskStateEntered", after=after, name=name)
        self.add("TaskScheduled", resource="invoke", resourceType="lambda", region="us-east-1")
        return self.add("TaskStarted", resource="invoke", resourceType="lambda")


def fold(
    history: History,
) -> tuple[ExecutionProgress, list[dict[str, StateStatus]]]:
    """The progress after every event, and what each event changed."""
    progress = ExecutionProgress()
    return progress, [progress.apply(event) for event in history.events]


def statuses(progress: ExecutionProgress) -> dict[str, StateStatus]:
    return {name: progress.status(name) for name in progress.visits}


# -- the rules, on histories written here ---------------------------------------------------


def test_a_state_runs_from_its_entry_and_succeeds_at_its_exit() -> None:
    history = History()
    history.add("ExecutionStarted", input="{}")
    history.add("PassStateEntered", after=0, name="First")
    history.add("PassStateExited", name="First", output='{"a": 1}')
    history.add("ExecutionSucceeded", output='{"a": 1}')
    progress = ExecutionProgress()
    assert progress.status("First") is NOT_STARTED
    changes = [progress.apply(event) for event in history.events]
    assert changes == [{}, {"First": RUNNING}, {"First": SUCCEEDED}, {}]
    assert progress.execution_status == "SUCCEEDED"
    (visit,) = progress.visits["First"]
    assert (visit.entered, visit.exited) == (
        START + timedelta(seconds=2),
        START + timedelta(seconds=3),
    )
    assert (visit.input, visit.output, visit.retries, visit.failures) == ("{}", '{"a": 1}', 0, [])


def test_step_names_the_state_an_event_happened_in() -> None:
    history = History()
    history.add("ExecutionStarted", input="{}")
    history.task("Work", after=0)
    history.add("TaskSucceeded", output='{"Id": "s-1"}', resource="invoke", resourceType="lambda")
    history.add("TaskStateExited", name="Work")
    history.add("ExecutionSucceeded", output="{}")
    progress = ExecutionProgress()
    steps = []
    for event in history.events:
        progress.apply(event)
        steps.append(progress.step(event))
    assert steps == [None, "Work", "Work", "Work", "Work", "Work", None]


def test_a_tasks_results_are_collected() -> None:
    history = History()
    history.add("ExecutionStarted", input="{}")
    history.task("Submit", after=0)
    history.add("TaskSucceeded", output='{"Id": "first"}', resource="x", resourceType="y")
    history.add("TaskStateExited", name="Submit")
    progress, _ = fold(history)
    (visit,) = progress.visits["Submit"]
    assert visit.results == ['{"Id": "first"}']
    assert visit.status is SUCCEEDED


def test_a_failed_attempt_followed_by_another_is_a_retry_and_the_state_still_runs() -> None:
    history = History()
    history.add("ExecutionStarted", input="{}")
    history.task("Work", after=0)
    history.add("TaskFailed", error="Busy", cause="try later", resource="x", resourceType="y")
    history.add("TaskScheduled", resource="invoke", resourceType="lambda", region="us-east-1")
    history.add("TaskStarted", resource="invoke", resourceType="lambda")
    progress, changes = fold(history)
    assert changes[1:] == [{"Work": RUNNING}, {}, {}, {}, {}, {}]
    assert progress.status("Work") is RUNNING
    (visit,) = progress.visits["Work"]
    assert visit.retries == 1
    assert [(f.event_type, f.error, f.cause) for f in visit.failures] == [
        ("TaskFailed", "Busy", "try later")
    ]
    history.add("TaskSucceeded", output="{}", resource="x", resourceType="y")
    history.add("TaskStateExited", name="Work")
    progress, changes = fold(history)
    assert changes[-1] == {"Work": SUCCEEDED}
    assert progress.visits["Work"][0].retries == 1


def test_a_failure_followed_by_the_states_exit_was_caught() -> None:
    history = History()
    history.add("ExecutionStarted", input="{}")
    history.task("Work", after=0)
    history.add("TaskFailed", error="Boom", cause="it broke", resource="x", resourceType="y")
    history.add("TaskStateExited", name="Work")
    history.add("PassStateEntered", name="Recover")
    history.add("PassStateExited", name="Recover")
    history.add("ExecutionSucceeded", output="{}")
    progress, changes = fold(history)
    assert changes[5] == {"Work": CAUGHT}
    assert statuses(progress) == {"Work": CAUGHT, "Recover": SUCCEEDED}
    assert progress.visits["Work"][0].retries == 0


def test_a_task_failure_that_fails_the_execution_fails_the_state() -> None:
    history = History()
    history.add("ExecutionStarted", input="{}")
    history.task("Work", after=0)
    history.add("TaskFailed", error="Boom", cause="it broke", resource="x", resourceType="y")
    history.add("ExecutionFailed", error="Boom", cause="it broke")
    progress, changes = fold(history)
    assert changes[-2:] == [{}, {"Work": FAILED}]
    assert progress.execution_status == "FAILED"
    assert [(f.error, f.cause) for f in progress.visits["Work"][0].failures] == [
        ("Boom", "it broke")
    ]


def test_an_aborted_execution_cancels_what_runs() -> None:
    history = History()
    history.add("ExecutionStarted", input="{}")
    history.add("PassStateEntered", after=0, name="Before")
    history.add("PassStateExited", name="Before")
    history.add("WaitStateEntered", name="Sleep")
    history.add("ExecutionAborted", cause="stopped")
    progress, changes = fold(history)
    assert changes[-1] == {"Sleep": CANCELLED}
    assert statuses(progress) == {"Before": SUCCEEDED, "Sleep": CANCELLED}
    assert progress.execution_status == "ABORTED"


def test_a_timed_out_execution_fails_what_runs() -> None:
    history = History()
    history.add("ExecutionStarted", input="{}")
    history.task("Slow", after=0)
    history.add("ExecutionTimedOut", error="States.Timeout")
    progress, changes = fold(history)
    assert changes[-1] == {"Slow": FAILED}
    assert progress.execution_status == "TIMED_OUT"


def test_a_fail_state_fails_with_the_executions_error_and_cause() -> None:
    history = History()
    history.add("ExecutionStarted", input="{}")
    history.add("FailStateEntered", after=0, name="Stop")
    history.add("ExecutionFailed", error="Custom.Error", cause="because")
    progress, changes = fold(history)
    assert changes == [{}, {"Stop": RUNNING}, {"Stop": FAILED}]
    (visit,) = progress.visits["Stop"]
    assert [(f.event_type, f.error, f.cause) for f in visit.failures] == [
        ("ExecutionFailed", "Custom.Error", "because")
    ]
    assert progress.execution_status == "FAILED"


def test_a_state_whose_runtime_error_fails_the_execution_failed() -> None:
    # As AWS records it: the execution's failure follows the state's entry, and names it.
    history = History()
    history.add("ExecutionStarted", input="{}")
    history.add("WaitStateEntered", after=0, name="Sleep")
    history.add(
        "ExecutionFailed",
        error="States.Runtime",
        cause="An error occurred while executing the state 'Sleep' (entered at the event id #2).",
    )
    progress, changes = fold(history)
    assert changes[-1] == {"Sleep": FAILED}
    assert progress.execution_status == "FAILED"


def parallel_history() -> History:
    """A Parallel whose first branch fails (a Fail state) while its second one waits."""
    history = History()
    history.add("ExecutionStarted", input="{}")
    history.add("ParallelStateEntered", after=0, name="Both")
    started = history.add("ParallelStateStarted")
    history.add("WaitStateEntered", after=started, name="Slow")
    history.add("FailStateEntered", after=started, name="Boom")
    history.add("ParallelStateFailed", error="Bad", cause="branch 1 failed")
    return history


def test_a_failed_parallel_fails_its_failing_branch_and_cancels_the_other() -> None:
    history = parallel_history()
    history.add("ExecutionFailed", error="Bad", cause="branch 1 failed")
    progress, changes = fold(history)
    assert changes[5] == {"Slow": CANCELLED, "Boom": FAILED}
    assert changes[6] == {"Both": FAILED}
    assert statuses(progress) == {"Both": FAILED, "Slow": CANCELLED, "Boom": FAILED}
    (visit,) = progress.visits["Both"]
    assert [(f.event_type, f.error, f.cause) for f in visit.failures] == [
        ("ParallelStateFailed", "Bad", "branch 1 failed")
    ]


def test_a_failed_parallel_that_its_catcher_takes_was_caught() -> None:
    history = parallel_history()
    history.add("ParallelStateExited", name="Both")
    history.add("PassStateEntered", name="Handle")
    history.add("PassStateExited", name="Handle")
    history.add("ExecutionSucceeded", output="{}")
    progress, changes = fold(history)
    assert changes[6] == {"Both": CAUGHT}
    assert statuses(progress) == {
        "Both": CAUGHT,
        "Slow": CANCELLED,
        "Boom": FAILED,
        "Handle": SUCCEEDED,
    }


def test_a_state_entered_twice_runs_while_either_visit_runs() -> None:
    history = History()
    history.add("ExecutionStarted", input="{}")
    history.add("MapStateEntered", after=0, name="Each")
    started = history.add("MapStateStarted", length=2)
    first = history.add("MapIterationStarted", after=started, index=0, name="Each")
    second = history.add("MapIterationStarted", after=started, index=1, name="Each")
    one = history.add("PassStateEntered", after=first, name="Item")
    two = history.add("PassStateEntered", after=second, name="Item")
    history.add("PassStateExited", after=one, name="Item")
    done = history.add("PassStateExited", after=two, name="Item")
    history.add("MapIterationSucceeded", after=done, index=0, name="Each")
    history.add("MapIterationSucceeded", after=done, index=1, name="Each")
    history.add("MapStateSucceeded")
    history.add("MapStateExited", name="Each")
    history.add("ExecutionSucceeded", output="[]")
    progress, changes = fold(history)
    assert changes[5:9] == [{"Item": RUNNING}, {}, {}, {"Item": SUCCEEDED}]
    assert changes[12] == {"Each": SUCCEEDED}
    assert statuses(progress) == {"Each": SUCCEEDED, "Item": SUCCEEDED}
    assert [visit.status for visit in progress.visits["Item"]] == [SUCCEEDED, SUCCEEDED]


def test_a_loop_shows_the_gravest_outcome_of_its_visits() -> None:
    history = History()
    history.add("ExecutionStarted", input="{}")
    history.task("Work", after=0)
    history.add("TaskFailed", error="Boom", cause="", resource="x", resourceType="y")
    history.add("TaskStateExited", name="Work")  # caught
    history.add("PassStateEntered", name="Again")
    history.add("PassStateExited", name="Again")
    history.task("Work")
    history.add("TaskSucceeded", output="{}", resource="x", resourceType="y")
    progress, changes = fold(history)
    assert changes[8] == {"Work": RUNNING}  # the second visit runs: the state runs
    history.add("TaskStateExited", name="Work")
    progress, changes = fold(history)
    assert changes[-1] == {"Work": CAUGHT}
    assert [visit.status for visit in progress.visits["Work"]] == [CAUGHT, SUCCEEDED]


def test_apply_returns_only_the_states_it_changed() -> None:
    history = History()
    history.add("ExecutionStarted", input="{}")
    history.add("PassStateEntered", after=0, name="A")
    history.add("PassStateExited", name="A")
    history.add("PassStateEntered", name="B")
    history.add("PassStateExited", name="B")
    _, changes = fold(history)
    assert changes == [{}, {"A": RUNNING}, {"A": SUCCEEDED}, {"B": RUNNING}, {"B": SUCCEEDED}]


# -- invariants over real histories ---------------------------------------------------------------

CASES = load_cases()
EXITED = "StateExited"


def members_or_skip(case: dict[str, Any]) -> dict[str, frozenset[str]]:
    """The Parallel and Map members of the case's definition; skip when redstep cannot parse it."""
    validation = validate_definition(case_definition(case))
    if validation.machine is None:
        pytest.skip(f"redstep does not parse this template: {validation.diagnostics[0].message}")
    return members(state_graph(validation.machine))


def check_invariants(
    events: list[dict[str, Any]], members: dict[str, frozenset[str]], status: str
) -> None:
    """What the States Language says of any history, as `ExecutionProgress` folds it."""
    progress = ExecutionProgress()
    shown: dict[str, StateStatus] = {}  # what a page that applies each event's changes shows
    exits: Counter[str] = Counter()
    for event in events:
        changes = progress.apply(event)
        shown.update(changes)
        details = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails")
        if details is not None:
            assert progress.step(event) == details["name"], event
        if event["type"].endswith(EXITED):
            exits[event["stateExitedEventDetails"]["name"]] += 1
    final = statuses(progress)
    assert progress.execution_status == status
    # The changes, applied one event at a time, end where the progress is.
    assert shown == final
    # Once the execution has ended, nothing runs.
    assert RUNNING not in final.values(), final
    # Each exit ended one visit, which succeeded or was caught.
    for name, count in exits.items():
        ended_well = [
            visit for visit in progress.visits[name] if visit.status in (SUCCEEDED, CAUGHT)
        ]
        assert len(ended_well) == count, (name, [visit.status for visit in progress.visits[name]])
    inside = {name for names in members.values() for name in names}
    if status == "SUCCEEDED":
        # Only inside a Parallel or a Map (whose Catcher or tolerance took it) can a state have
        # failed, or been cut short, in an execution that succeeded.
        for name, value in final.items():
            if value in (FAILED, CANCELLED):
                assert name in inside, final
    if status in ("FAILED", "TIMED_OUT") and final:
        # Some state failed: the execution fails only when a state's failure goes uncaught.
        assert FAILED in final.values(), final


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    with Engine(MemoryExecutionStore(), clock=VirtualClock()) as engine:
        yield engine


@pytest.mark.skipif(not CASES, reason=MISSING)
@pytest.mark.parametrize("index", range(len(CASES)), ids=[case["id"] for case in CASES])
def test_the_progress_of_a_conformance_template_run_here(engine: Engine, index: int) -> None:
    case = CASES[index]
    members = members_or_skip(case)
    machine = engine.create_state_machine(
        {"name": f"case-{index}", "definition": json.dumps(case_definition(case)), "roleArn": ROLE}
    )
    given = case["input"]
    started = engine.start_execution(
        {
            "stateMachineArn": machine["stateMachineArn"],
            "input": given if isinstance(given, str) else json.dumps(given),
        }
    )
    described = engine.wait(started["executionArn"], timeout=30)
    events = engine.get_execution_history(
        {"executionArn": started["executionArn"], "maxResults": 1000}
    )["events"]
    check_invariants(events, members, described["status"])


RECORDED = [
    case for case in CASES if all(isinstance(event["id"], int) for event in case["history"])
]


@pytest.mark.skipif(not RECORDED, reason=MISSING)
@pytest.mark.parametrize("case", RECORDED, ids=[case["id"] for case in RECORDED])
def test_the_progress_of_a_history_recorded_on_aws(case: dict[str, Any]) -> None:
    members = members_or_skip(case)
    check_invariants(case["history"], members, case["expected"]["status"])


# -- groups in groups, tolerated failures, retried groups: run here, then folded --------------


def run_here(engine: Engine, name: str, definition: dict[str, Any], given: Any = None) -> Any:
    """Run `definition` on the engine; its statuses folded, its progress and its status."""
    machine = engine.create_state_machine(
        {"name": name, "definition": json.dumps(definition), "roleArn": ROLE}
    )
    started = engine.start_execution(
        {"stateMachineArn": machine["stateMachineArn"], "input": json.dumps(given or {})}
    )
    described = engine.wait(started["executionArn"], timeout=30)
    events = engine.get_execution_history(
        {"executionArn": started["executionArn"], "maxResults": 1000}
    )["events"]
    progress = ExecutionProgress()
    for event in events:
        progress.apply(event)
    return statuses(progress), progress, described["status"]


def test_an_inner_maps_failure_is_the_outer_maps_too(engine: Engine) -> None:
    inner = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemProcessor": {"StartAt": "Bad", "States": {"Bad": {"Type": "Fail", "Error": "E"}}},
        "End": True,
    }
    definition = {
        "StartAt": "Outer",
        "States": {
            "Outer": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemSelector": {"items.$": "$$.Map.Item.Value"},
                "ItemProcessor": {"StartAt": "Inner", "States": {"Inner": inner}},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}],
                "End": True,
            },
            "Handled": {"Type": "Pass", "End": True},
        },
    }
    found, _, status = run_here(engine, "nested-maps", definition, {"items": [[1]]})
    assert status == "SUCCEEDED"
    assert found == {"Outer": CAUGHT, "Inner": FAILED, "Bad": FAILED, "Handled": SUCCEEDED}


def test_a_parallel_in_a_parallel_fails_both_and_cancels_the_other_branch(engine: Engine) -> None:
    inner = {
        "Type": "Parallel",
        "Branches": [{"StartAt": "Bad", "States": {"Bad": {"Type": "Fail", "Error": "E"}}}],
        "End": True,
    }
    slow = {"StartAt": "Slow", "States": {"Slow": {"Type": "Wait", "Seconds": 600, "End": True}}}
    definition = {
        "StartAt": "Outer",
        "States": {
            "Outer": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "Inner", "States": {"Inner": inner}}, slow],
                "End": True,
            }
        },
    }
    found, _, status = run_here(engine, "nested-parallels", definition)
    assert status == "FAILED"
    assert found == {"Outer": FAILED, "Inner": FAILED, "Bad": FAILED, "Slow": CANCELLED}


def test_a_tolerated_iteration_failure_fails_its_state_and_the_map_goes_on(
    engine: Engine,
) -> None:
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ToleratedFailurePercentage": 100,
                "ItemProcessor": {
                    "StartAt": "Check",
                    "States": {
                        "Check": {
                            "Type": "Choice",
                            "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Bad"}],
                            "Default": "Good",
                        },
                        "Bad": {"Type": "Fail", "Error": "E"},
                        "Good": {"Type": "Pass", "End": True},
                    },
                },
                "Next": "After",
            },
            "After": {"Type": "Pass", "End": True},
        },
    }
    found, _, status = run_here(engine, "tolerated", definition, {"items": [1, 2, 3]})
    assert status == "SUCCEEDED"
    assert found == {
        "Each": SUCCEEDED,
        "Check": SUCCEEDED,
        "Bad": FAILED,
        "Good": SUCCEEDED,
        "After": SUCCEEDED,
    }


def test_a_retried_parallel_counts_its_retry_and_ends_the_first_attempt(engine: Engine) -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "Bad", "States": {"Bad": {"Type": "Fail", "Error": "E"}}}],
                "Retry": [{"ErrorEquals": ["E"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                "End": True,
            }
        },
    }
    found, progress, status = run_here(engine, "retried-parallel", definition)
    assert status == "FAILED"
    assert found == {"P": FAILED, "Bad": FAILED}
    (visit,) = progress.visits["P"]
    assert visit.retries == 1
    assert [bad.status for bad in progress.visits["Bad"]] == [FAILED, FAILED]


def test_a_failure_in_one_map_iteration_ends_nothing_in_another(engine: Engine) -> None:
    # Item 0's branch fails (and is caught) while item 1's slow branch still runs: item 1's
    # state is not cancelled by it, and each failure stays with its own iteration's visit.
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "StartAt": "P",
                    "States": {
                        "P": {
                            "Type": "Parallel",
                            "Branches": [
                                {
                                    "StartAt": "Check",
                                    "States": {
                                        "Check": {
                                            "Type": "Choice",
                                            "Choices": [
                                                {"Variable": "$", "NumericEquals": 0, "Next": "Bad"}
                                            ],
                                            "Default": "Fine",
                                        },
                                        "Bad": {"Type": "Fail", "Error": "E", "Cause": "c"},
                                        "Fine": {"Type": "Pass", "End": True},
                                    },
                                },
                                {
                                    "StartAt": "Slow",
                                    "States": {"Slow": {"Type": "Wait", "Seconds": 3, "End": True}},
                                },
                            ],
                            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}],
                            "End": True,
                        },
                        "Handled": {"Type": "Pass", "End": True},
                    },
                },
                "End": True,
            }
        },
    }
    found, progress, status = run_here(engine, "map-of-parallels", definition, {"items": [0, 1]})
    assert status == "SUCCEEDED"
    assert sorted(visit.status for visit in progress.visits["Slow"]) == [CANCELLED, SUCCEEDED]
    assert sorted(visit.status for visit in progress.visits["P"]) == [CAUGHT, SUCCEEDED]
    (caught,) = [visit for visit in progress.visits["P"] if visit.status is CAUGHT]
    assert caught.input == "0"
    assert found["Bad"] == FAILED


def test_a_runtime_error_in_a_branch_fails_its_state_with_the_executions_error(
    engine: Engine,
) -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Pick",
                        "States": {"Pick": {"Type": "Pass", "InputPath": "$.a", "End": True}},
                    }
                ],
                "End": True,
            }
        },
    }
    found, progress, status = run_here(engine, "branch-runtime-error", definition)
    assert status == "FAILED"
    assert found == {"P": FAILED, "Pick": FAILED}
    (pick,) = progress.visits["Pick"]
    assert [failure.error for failure in pick.failures] == ["States.Runtime"]
    assert "'Pick'" in (pick.failures[0].cause or "")

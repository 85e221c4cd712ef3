"""Benchmark: state transitions per second, redstep beside moto's Step Functions interpreter.

One definition, a counting loop of Pass and Choice states (Init sets `i` to 0 and keeps `n`;
Check goes to Inc while `$.i` < `$.n`, else to Done; Inc adds 1 with `States.MathAdd`; Done
succeeds), runs with input `{"n": n}`. A transition is a state entered: Init, n times Check and
Inc, Check, Done, so 2n + 3. For each requested count N the loop runs with the n that makes
2n + 3 nearest N (the actual count is reported), on both sides in the same process:

- redstep: through the Python API (`Engine`) with the durable store on (SQLite, a fresh
  temporary folder each repetition), timed from `start_execution` to `wait` returning. The
  engine runs with `max_history_events=None`: AWS's quota of 25,000 history events per
  execution is lifted, since 100,000 transitions write about 200,000 events (on AWS a Standard
  workflow that long fails at the quota).
- moto: boto3's `stepfunctions` client inside `mock_aws` with moto's interpreter on (a fresh
  mock each repetition), timed by the execution's own startDate and stopDate (milliseconds),
  which `describe_execution` reports once it ended; polling every 50 ms, so the poller takes
  little of the GIL from moto's interpreter thread (at 5 ms it slowed moto by about 20 %).

Every run must end SUCCEEDED with output `{"i": n, "n": n}`; on the first redstep run of each N
the StateEntered events of the history are counted, to confirm 2n + 3. Figures are medians of
the repetitions (`--repeat`; default: 5 each up to 10,000 transitions; above, 3 for redstep and
1 for moto, which runs about 1,000 transitions a second). Ratio: redstep over moto.

    .venv/bin/python bench/asl_throughput.py --transitions 1000
    .venv/bin/python bench/asl_throughput.py --json

Not a test: it prints figures, and with --json one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from machine import describe_machine, machine_line

from redstep.runtime.engine import Engine
from redstep.runtime.sqlite_store import SqliteExecutionStore
from redstep.wire import paginate

DEFINITION: dict[str, Any] = {
    "StartAt": "Init",
    "States": {
        "Init": {"Type": "Pass", "Parameters": {"i": 0, "n.$": "$.n"}, "Next": "Check"},
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.i", "NumericLessThanPath": "$.n", "Next": "Inc"}],
            "Default": "Done",
        },
        "Inc": {
            "Type": "Pass",
            "Parameters": {"i.$": "States.MathAdd($.i, 1)", "n.$": "$.n"},
            "Next": "Check",
        },
        "Done": {"Type": "Succeed"},
    },
}
ROLE_ARN = "arn:aws:iam::123456789012:role/bench"
DEFAULT_TRANSITIONS = (1000, 100000)
TARGET_RATIO = 25.0
RUN_SECONDS = 3600.0
POLL_SECONDS = 0.05


def loop_count(transitions: int) -> int:
    """The n whose 2n + 3 transitions are nearest `transitions` (a half rounds up)."""
    return max(0, (transitions - 2) // 2)


def check_result(side: str, status: str, output: str | None, n: int) -> None:
    """Insist that the run did the work: SUCCEEDED, having counted to n."""
    if status != "SUCCEEDED" or json.loads(output or "null") != {"i": n, "n": n}:
        raise RuntimeError(f"{side}: the loop to {n} ended {status} with output {output}")


def time_redstep(n: int, is_counted: bool) -> float:
    """One execution on a fresh durable store; with `is_counted`, check 2n + 3 in its history."""
    with (
        tempfile.TemporaryDirectory(prefix="redstep-bench-") as folder,
        Engine(SqliteExecutionStore(Path(folder)), max_history_events=None) as engine,
    ):
        request = {"name": "loop", "definition": json.dumps(DEFINITION), "roleArn": ROLE_ARN}
        arn = engine.create_state_machine(request)["stateMachineArn"]
        begun = time.perf_counter()
        started = engine.start_execution({"stateMachineArn": arn, "input": json.dumps({"n": n})})
        described = engine.wait(started["executionArn"], RUN_SECONDS)
        seconds = time.perf_counter() - begun
        check_result("redstep", described["status"], described.get("output"), n)
        if is_counted:
            entered = count_entered(engine, started["executionArn"])
            if entered != 2 * n + 3:
                raise RuntimeError(f"redstep entered {entered} states, not 2n + 3 = {2 * n + 3}")
    return seconds


def count_entered(engine: Engine, execution_arn: str) -> int:
    """The StateEntered events of an execution's history, read page by page."""
    request = {"executionArn": execution_arn, "maxResults": 1000}
    events = paginate(engine.handle, "GetExecutionHistory", request, "events", "nextToken")
    return sum(1 for event in events if event["type"].endswith("StateEntered"))


def time_moto(n: int) -> float:
    """One execution through moto's interpreter, on a fresh mock."""
    import boto3
    from moto import mock_aws

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        client = boto3.client("stepfunctions", region_name="us-east-1")
        arn = client.create_state_machine(
            name="loop", definition=json.dumps(DEFINITION), roleArn=ROLE_ARN
        )["stateMachineArn"]
        begun = time.perf_counter()
        # Named: moto 5.2.5 takes every unnamed execution for one named "None".
        started = client.start_execution(
            stateMachineArn=arn, name="run", input=json.dumps({"n": n})
        )
        while True:
            described = client.describe_execution(executionArn=started["executionArn"])
            if described["status"] != "RUNNING" or time.perf_counter() - begun > RUN_SECONDS:
                break
            time.sleep(POLL_SECONDS)
    check_result("moto", described["status"], described.get("output"), n)
    return (described["stopDate"] - described["startDate"]).total_seconds()


def measure(requested: int, repeat: int | None, log: Callable[[str], None]) -> dict[str, Any]:
    n = loop_count(requested)
    transitions = 2 * n + 3
    redstep_repetitions = repeat or (5 if transitions <= 10000 else 3)
    moto_repetitions = repeat or (5 if transitions <= 10000 else 1)
    redstep_seconds: list[float] = []
    for repetition in range(redstep_repetitions):
        redstep_seconds.append(time_redstep(n, is_counted=repetition == 0))
        log(
            f"{transitions:,} transitions, redstep {repetition + 1}/{redstep_repetitions}: "
            f"{redstep_seconds[-1]:.3f} s"
        )
    moto_seconds: list[float] = []
    for repetition in range(moto_repetitions):
        moto_seconds.append(time_moto(n))
        log(
            f"{transitions:,} transitions, moto {repetition + 1}/{moto_repetitions}: "
            f"{moto_seconds[-1]:.3f} s"
        )
    redstep_rate = statistics.median(transitions / s for s in redstep_seconds)
    moto_rate = statistics.median(transitions / s for s in moto_seconds)
    return {
        "requested_transitions": requested,
        "transitions": transitions,
        "loop_count": n,
        "redstep_transitions_per_s": round(redstep_rate, 1),
        "moto_transitions_per_s": round(moto_rate, 1),
        "ratio": round(redstep_rate / moto_rate, 2),
        "redstep_repetitions": redstep_repetitions,
        "moto_repetitions": moto_repetitions,
        "redstep_seconds": round(statistics.median(redstep_seconds), 4),
        "moto_seconds": round(statistics.median(moto_seconds), 4),
    }


def print_table(runs: Sequence[Mapping[str, Any]], machine: Mapping[str, Any]) -> None:
    print(machine_line(machine))
    print("\nPass + Choice counting loop, transitions per second (medians)")
    print(f"  {'transitions':>12}{'redstep /s':>13}{'moto /s':>11}{'ratio':>9}{'runs':>8}")
    for run in runs:
        repetitions = f"{run['redstep_repetitions']}/{run['moto_repetitions']}"
        print(
            f"  {run['transitions']:>12,}{run['redstep_transitions_per_s']:>13,.0f}"
            f"{run['moto_transitions_per_s']:>11,.0f}{run['ratio']:>8.1f}x{repetitions:>8}"
        )
    print(f"  target: redstep >= {TARGET_RATIO:g}x moto; runs: redstep/moto repetitions")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--transitions",
        type=int,
        action="append",
        help="states entered per execution, at least 3 (repeatable; default: 1000 and 100000)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="repetitions per count on each side (default: 5 up to 10,000 transitions; "
        "above, 3 for redstep and 1 for moto)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    requested = sorted(set(args.transitions or DEFAULT_TRANSITIONS))
    if requested[0] < 3 or (args.repeat is not None and args.repeat < 1):
        parser.error("--transitions must be at least 3 and --repeat at least 1")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    # moto patches in its own while mocking; these are for boto3 when the user has none.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    runs = [measure(count, args.repeat, log) for count in requested]
    machine = describe_machine("moto", "boto3")
    if args.json:
        largest = runs[-1]
        keys = ("redstep_transitions_per_s", "moto_transitions_per_s", "ratio")
        result = {"benchmark": "asl_throughput", "machine": machine}
        result |= {key: largest[key] for key in keys}
        print(json.dumps({**result, "target_ratio": TARGET_RATIO, "runs": runs}))
        return 0
    print_table(runs, machine)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: the Data API's latency for a trivial statement, in process and over HTTP.

One call is ExecuteStatement {Sql: "select 1", WaitTimeSeconds: 10}, which returns once the
statement ended, then GetStatementResult on its Id; every call checks that the statement
FINISHED and that the records are [[{"longValue": 1}]]. After a warm-up, `--calls` calls run one
after another and each is timed:

- in process: `DataApiService.handle` on the project's services, opened as `redstep run` opens
  them (a fresh DuckDB project made by `redstep init`);
- over HTTP: boto3's `redshift-data` client (dummy credentials, one attempt) against the real
  `redstep serve` in a subprocess, bound to 127.0.0.1 on a port the system picks, found through
  the endpoint it records in `.redstep/` (at --log-level warning: no log line per call). This
  adds boto3's serialising and parsing, HTTP on loopback, uvicorn and the hand-off to a thread.

Then `--concurrency` calls (200, a Redshift cluster's limit of active statements) are released
at once from as many threads, each waiting for its own result, in process and over HTTP. They
run `select count(*) from generate_series(1, 100000)`: valid Redshift, a checked result, and
some work in the engine (a fraction of a millisecond in DuckDB), so that a worker holds each
statement a while as later ones arrive, without making the wave a measure of DuckDB. `peak
active` is how many of them were active (submitted, not ended) at once, from ListStatements'
CreatedAt and UpdatedAt: whether the 200 really overlapped, or the service took them in turn.
Refusals (ActiveStatementsExceededException or any other error) are counted and printed.

Each statement writes its result to files and its record to SQLite under the project's
`.redstep/`, so the figures depend on the filesystem the projects are made on (`--workdir`).

    .venv/bin/python bench/dataapi_latency.py
    .venv/bin/python bench/dataapi_latency.py --calls 2000 --json

Not a test: it prints figures, and with --json one JSON object. Target: p50 under 2 ms in
process, under 10 ms over HTTP.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from machine import describe_machine, machine_line

from redstep.api.endpoint_file import read_record
from redstep.cli.init import create_project
from redstep.project import load_project
from redstep.services import Services

SQL = "select 1"
EXPECTED: list[list[dict[str, Any]]] = [[{"longValue": 1}]]
CONCURRENT_SQL = "select count(*) from generate_series(1, 100000)"
CONCURRENT_EXPECTED: list[list[dict[str, Any]]] = [[{"longValue": 100000}]]
CLUSTER = "redstep-bench"
"""No [warehouses] table names it, so it routes to the project's default warehouse."""
WAIT_SECONDS = 10
SERVE_START_SECONDS = 30.0
SERVE_STOP_SECONDS = 15.0

Send = Callable[[str, dict[str, Any]], Mapping[str, Any]]
"""Calls a Data API operation by its wire name with a wire request, returning the response."""


def call(send: Send, sql: str, expected: object) -> float:
    """One ExecuteStatement (waiting) and GetStatementResult, checked; its seconds."""
    started = time.perf_counter()
    request = {"Sql": sql, "ClusterIdentifier": CLUSTER, "Database": "dev"}
    submitted = send("ExecuteStatement", {**request, "WaitTimeSeconds": WAIT_SECONDS})
    result = send("GetStatementResult", {"Id": submitted["Id"]})
    elapsed = time.perf_counter() - started
    if submitted["Status"] != "FINISHED" or result["Records"] != expected:
        raise RuntimeError(f"{sql!r} ended {submitted['Status']}: {result.get('Records')}")
    return elapsed


def figures(seconds: Sequence[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
    }


def serial(send: Send, calls: int, warmup: int) -> dict[str, Any]:
    """`warmup` calls untimed, then `calls` timed one after another."""
    for _ in range(warmup):
        call(send, SQL, EXPECTED)
    started = time.perf_counter()
    seconds = [call(send, SQL, EXPECTED) for _ in range(calls)]
    wall = time.perf_counter() - started
    return {"calls": calls, **figures(seconds), "calls_per_s": round(calls / wall, 1)}


def concurrent(send: Send, concurrency: int) -> dict[str, Any]:
    """`concurrency` calls released at once, one per thread; refusals counted, not raised."""
    barrier = threading.Barrier(concurrency)
    spans: list[tuple[float, float]] = []
    errors: Counter[str] = Counter()

    def one() -> None:
        barrier.wait()
        started = time.perf_counter()
        try:
            call(send, CONCURRENT_SQL, CONCURRENT_EXPECTED)
        except Exception as error:  # reported: ActiveStatementsExceededException, a failed check
            code = getattr(error, "response", {}).get("Error", {}).get("Code")
            errors[code or type(error).__name__] += 1
            return
        spans.append((started, time.perf_counter()))

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for future in [pool.submit(one) for _ in range(concurrency)]:
            future.result()
    result: dict[str, Any] = {"statements": concurrency, "finished": len(spans)}
    if spans:
        wall = max(end for _, end in spans) - min(start for start, _ in spans)
        result["wall_ms"] = round(wall * 1000, 1)
        result.update(figures([end - start for start, end in spans]))
    result["peak_active"] = peak_active(send, CONCURRENT_SQL, len(spans))
    result["errors"] = dict(errors)
    return result


def peak_active(send: Send, sql: str, count: int) -> int:
    """How many of the newest `count` FINISHED runs of `sql` were active at once, from their
    CreatedAt and UpdatedAt (when each ended) in ListStatements: whether the wave overlapped."""
    listed: list[Mapping[str, Any]] = []
    request: dict[str, Any] = {"Status": "FINISHED", "MaxResults": 100}
    while len(listed) < count:
        page = send("ListStatements", request)
        listed += [one for one in page["Statements"] if one.get("QueryString") == sql]
        if not page.get("NextToken"):
            break
        request["NextToken"] = page["NextToken"]
    moments = sorted(
        [(one["CreatedAt"], 1) for one in listed[:count]]
        + [(one["UpdatedAt"], -1) for one in listed[:count]]
    )
    active = peak = 0
    for _, step in moments:  # at a tie, an end comes before a start
        active += step
        peak = max(peak, active)
    return peak


def measure_in_process(project: Path, calls: int, warmup: int, concurrency: int) -> dict[str, Any]:
    with Services.open(load_project(project), is_one_off=True) as services:
        send: Send = services.dataapi.handle
        return {"serial": serial(send, calls, warmup), "concurrent": concurrent(send, concurrency)}


def measure_http(
    project: Path, calls: int, warmup: int, concurrency: int, log: Callable[[str], None]
) -> dict[str, Any]:
    import boto3
    from botocore.config import Config

    with serving(project) as url:
        log(f"redstep serve answers at {url}")
        client = boto3.client(
            "redshift-data",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            # Enough pooled connections for every thread, or urllib3 drops and reopens them.
            config=Config(retries={"max_attempts": 1}, max_pool_connections=concurrency),
        )
        methods = {
            "ExecuteStatement": client.execute_statement,
            "GetStatementResult": client.get_statement_result,
            "ListStatements": client.list_statements,
        }

        def send(operation: str, request: dict[str, Any]) -> Mapping[str, Any]:
            response: Mapping[str, Any] = methods[operation](**request)
            return response

        return {"serial": serial(send, calls, warmup), "concurrent": concurrent(send, concurrency)}


@contextmanager
def serving(project: Path) -> Iterator[str]:
    """`redstep serve` on the project, on 127.0.0.1 and a free port; yields its URL."""
    command = [sys.executable, "-m", "redstep", "serve", "--project", str(project)]
    command += ["--host", "127.0.0.1", "--port", "0", "--log-level", "warning"]
    with tempfile.TemporaryFile() as server_log:
        process = subprocess.Popen(command, stdout=server_log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + SERVE_START_SECONDS
            state_dir = load_project(project).state_dir
            while (record := read_record(state_dir)).get("pid") != process.pid:
                if process.poll() is not None or time.monotonic() > deadline:
                    server_log.seek(0)
                    output = server_log.read().decode(errors="replace")
                    raise RuntimeError(f"redstep serve did not start:\n{output}")
                time.sleep(0.02)
            yield str(record["url"])
        finally:
            process.terminate()
            try:
                process.wait(SERVE_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def print_table(result: Mapping[str, Any]) -> None:
    print(f"\nExecuteStatement({SQL!r}, WaitTimeSeconds) + GetStatementResult, one at a time")
    header = "".join(f"{column:>9}" for column in ("p50 ms", "p99 ms", "mean ms", "max ms"))
    print(f"  {'':<12}{'calls':>7}{header}{'calls/s':>9}")
    for name in ("in_process", "http"):
        row = result[name]
        print(
            f"  {name:<12}{row['calls']:>7}{row['p50_ms']:>9.3f}{row['p99_ms']:>9.3f}"
            f"{row['mean_ms']:>9.3f}{row['max_ms']:>9.3f}{row['calls_per_s']:>9.1f}"
        )
    wave = result["concurrent"]
    count = wave["in_process"]["statements"]
    print(f"\n{count} at once: {CONCURRENT_SQL!r}, each waiting for its own result")
    header = "".join(f"{column:>9}" for column in ("finished", "wall ms", "p50 ms", "p99 ms"))
    print(f"  {'':<12}{header}{'peak active':>12}  errors")
    for name in ("in_process", "http"):
        row = wave[name]
        print(
            f"  {name:<12}{row['finished']:>9}{row.get('wall_ms', 0.0):>9.1f}"
            f"{row.get('p50_ms', 0.0):>9.3f}{row.get('p99_ms', 0.0):>9.3f}"
            f"{row['peak_active']:>12}  {row['errors'] or '-'}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=1000, help="timed calls (default 1000)")
    parser.add_argument("--warmup", type=int, default=50, help="untimed calls first")
    parser.add_argument("--concurrency", type=int, default=200, help="statements at once")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where the projects go (default: the temp dir)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="redstep-bench-", dir=args.workdir) as folder:
        log(f"in process, in {folder} ...")
        local = measure_in_process(
            create_project(Path(folder) / "in-process"), args.calls, args.warmup, args.concurrency
        )
        log("over HTTP ...")
        remote = measure_http(
            create_project(Path(folder) / "http"), args.calls, args.warmup, args.concurrency, log
        )
    machine = {
        **describe_machine("duckdb", "boto3", "uvicorn"),
        "workdir": str(args.workdir or tempfile.gettempdir()),
    }
    result = {
        "benchmark": "dataapi_latency",
        "machine": machine,
        "in_process_p50_ms": local["serial"]["p50_ms"],
        "http_p50_ms": remote["serial"]["p50_ms"],
        "in_process": local["serial"],
        "http": remote["serial"],
        "concurrent": {"in_process": local["concurrent"], "http": remote["concurrent"]},
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{machine_line(machine)}; projects in {machine['workdir']}")
    print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

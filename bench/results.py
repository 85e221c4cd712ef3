"""Benchmark: a 10-million-row result through GetStatementResult, paged to the end, beside the
same rows read bare from DuckDB's driver: rows per second and peak memory.

A DuckDB warehouse is filled with one table of `--rows` rows (an int8 id, a varchar name, a
numeric(12,2) price, a date) by DuckDB itself; then each side runs in a process of its own, so
that its peak resident memory (ru_maxrss) is its own:

- redstep: a project over that warehouse, opened in process as `redstep run` opens one (no
  HTTP: the pages are not encoded for the wire, which `redstep serve` would add); ExecuteStatement
  `select id, name, price, day from bench_rows`, DescribeStatement (WaitTimeSeconds) until it
  FINISHED (the rows stream from DuckDB into the result's pages on disk, `.redstep/results/`),
  then GetStatementResult page after page to the last NextToken.
- bare: duckdb's own connection to the same file runs the same query and fetches 10,000 rows at
  a time (fetchmany; fetchall would hold them all).

Each side checks it read every row (the count, and the sum of the ids). `execute` is the time to
run the query and, for redstep, to write its result; `read` is the paging (bare: the fetching);
rates are rows over the sum of both. `baseline` is the process's resident memory before the query
(the interpreter and the imports), `peak` its highest.

    .venv/bin/python bench/results.py                 # 10 million rows
    .venv/bin/python bench/results.py --rows 1000000 --json

Not a test: it prints figures, and with --json one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from machine import describe_machine, machine_line

from redstep.cli.init import create_project
from redstep.project import load_project
from redstep.services import Services

DEFAULT_ROWS = 10_000_000
TARGET_PEAK_MB = 500
QUERY = "select id, name, price, day from bench_rows"
WAREHOUSE_FILE = Path(".redstep") / "warehouse.duckdb"
FETCH_ROWS = 10_000
RUN_SECONDS = 3600.0


def fill(project: Path, rows: int) -> None:
    """The table both sides read, made by DuckDB in the project's warehouse file."""
    import duckdb

    (project / WAREHOUSE_FILE).parent.mkdir(exist_ok=True)
    with duckdb.connect(str(project / WAREHOUSE_FILE)) as database:
        database.execute("CREATE SCHEMA IF NOT EXISTS public")
        database.execute(
            "CREATE TABLE public.bench_rows AS SELECT i::BIGINT AS id, "
            "'item-' || i::VARCHAR AS name, ((i % 100000) / 100)::DECIMAL(12, 2) AS price, "
            f"DATE '2003-01-01' + (i % 3650)::INTEGER AS day FROM range({rows}) t(i)"
        )


def peak_mb() -> float:
    """This process's peak resident memory: VmHWM, which starts afresh at exec (ru_maxrss
    would carry over the parent's peak, the table's making included)."""
    try:
        status = Path("/proc/self/status").read_text(encoding="utf-8")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    (kilobytes,) = (line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(kilobytes) / 1024


def check(side: str, rows: int, counted: int, id_sum: int) -> None:
    """Insist that every row was read: the count, and the ids 0 … rows - 1 summed."""
    if (counted, id_sum) != (rows, rows * (rows - 1) // 2):
        raise RuntimeError(f"{side} read {counted} rows (ids summing to {id_sum}), not {rows}")


def run_redstep(project: Path, rows: int) -> dict[str, Any]:
    baseline = peak_mb()
    with Services.open(load_project(project), is_one_off=True) as services:
        api = services.dataapi
        begun = time.perf_counter()
        submitted = api.handle("ExecuteStatement", {"Sql": QUERY, "Database": "dev"})
        while True:
            described = api.handle(
                "DescribeStatement", {"Id": submitted["Id"], "WaitTimeSeconds": 20}
            )
            if described["Status"] in ("FINISHED", "FAILED", "ABORTED"):
                break
            if time.perf_counter() - begun > RUN_SECONDS:
                raise RuntimeError(f"the statement is still {described['Status']}")
        if described["Status"] != "FINISHED":
            raise RuntimeError(f"the statement ended {described['Status']}: {described}")
        executed = time.perf_counter()
        counted = id_sum = pages = 0
        request: dict[str, Any] = {"Id": submitted["Id"]}
        while True:
            page = api.handle("GetStatementResult", request)
            records = page["Records"]
            counted += len(records)
            id_sum += sum(record[0]["longValue"] for record in records)
            pages += 1
            if "NextToken" not in page:
                break
            request = {"Id": submitted["Id"], "NextToken": page["NextToken"]}
        read = time.perf_counter()
        stored = sum(path.stat().st_size for path in (project / ".redstep" / "results").rglob("*"))
    check("redstep", rows, counted, id_sum)
    return {
        "execute_seconds": round(executed - begun, 3),
        "read_seconds": round(read - executed, 3),
        "rows_per_s": round(rows / (read - begun)),
        "pages": pages,
        "result_size_bytes": described["ResultSize"],
        "stored_bytes": stored,
        "baseline_rss_mb": round(baseline, 1),
        "peak_rss_mb": round(peak_mb(), 1),
    }


def run_bare(project: Path, rows: int) -> dict[str, Any]:
    import duckdb

    baseline = peak_mb()
    with duckdb.connect(str(project / WAREHOUSE_FILE), read_only=True) as database:
        begun = time.perf_counter()
        cursor = database.execute("SELECT id, name, price, day FROM public.bench_rows")
        executed = time.perf_counter()
        counted = id_sum = 0
        while batch := cursor.fetchmany(FETCH_ROWS):
            counted += len(batch)
            id_sum += sum(row[0] for row in batch)
        read = time.perf_counter()
    check("bare", rows, counted, id_sum)
    return {
        "execute_seconds": round(executed - begun, 3),
        "read_seconds": round(read - executed, 3),
        "rows_per_s": round(rows / (read - begun)),
        "baseline_rss_mb": round(baseline, 1),
        "peak_rss_mb": round(peak_mb(), 1),
    }


def run_side(side: str, project: Path, rows: int) -> dict[str, Any]:
    """One side in a child process, for a peak memory of its own."""
    command = [sys.executable, __file__, "--side", side, "--project", str(project)]
    finished = subprocess.run(
        [*command, "--rows", str(rows)], capture_output=True, text=True, check=False
    )
    if finished.returncode != 0:
        raise RuntimeError(f"the {side} side failed:\n{finished.stderr}")
    measured: dict[str, Any] = json.loads(finished.stdout)
    return measured


def print_table(result: Mapping[str, Any]) -> None:
    print(machine_line(result["machine"]))
    print(f"\nGetStatementResult over {result['rows']:,} rows, paged to the end")
    print(f"  {'':<9}{'execute s':>11}{'read s':>9}{'rows/s':>11}{'baseline MB':>13}{'peak MB':>9}")
    for side in ("redstep", "bare"):
        run = result[side]
        print(
            f"  {side:<9}{run['execute_seconds']:>11.2f}{run['read_seconds']:>9.2f}"
            f"{run['rows_per_s']:>11,}{run['baseline_rss_mb']:>13.0f}{run['peak_rss_mb']:>9.0f}"
        )
    redstep = result["redstep"]
    print(
        f"  redstep: {redstep['pages']:,} pages, {redstep['stored_bytes'] / 2**20:,.0f} MB on "
        f"disk (ResultSize {redstep['result_size_bytes'] / 2**20:,.0f} MB); "
        f"target: peak under {TARGET_PEAK_MB} MB"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows in the result")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--side", choices=("redstep", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    if args.side is not None:  # a child: measure one side, print its figures
        run = run_redstep if args.side == "redstep" else run_bare
        print(json.dumps(run(args.project, args.rows)))
        return 0

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="redstep-bench-") as folder:
        project = create_project(Path(folder) / "project")
        began = time.perf_counter()
        fill(project, args.rows)
        log(f"{args.rows:,} rows made in {time.perf_counter() - began:.1f} s")
        result: dict[str, Any] = {"benchmark": "results", "rows": args.rows}
        for side in ("bare", "redstep"):
            result[side] = run_side(side, project, args.rows)
            log(f"{side}: {result[side]}")
    result["machine"] = describe_machine("duckdb")
    result["peak_rss_mb"] = result["redstep"]["peak_rss_mb"]
    result["rows_per_s"] = result["redstep"]["rows_per_s"]
    if args.json:
        print(json.dumps(result))
        return 0
    print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

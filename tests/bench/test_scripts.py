"""Each benchmark script runs, at a toy size, and prints the JSON object its README describes.

Not a timing: the figures at this size mean nothing; what is checked is that the scripts work on
a fresh checkout and that each checks its own result (a script whose run went wrong exits
non-zero).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def run_script(name: str, *arguments: str) -> dict[str, Any]:
    finished = subprocess.run(
        [sys.executable, str(BENCH / name), *arguments, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    printed: dict[str, Any] = json.loads(finished.stdout)
    assert printed["machine"]["cpus"] >= 1
    return printed


def test_asl_throughput() -> None:
    printed = run_script("asl_throughput.py", "--transitions", "21", "--repeat", "1")
    (run,) = printed["runs"]
    assert run["transitions"] == 21
    assert printed["ratio"] == pytest.approx(
        printed["redstep_transitions_per_s"] / printed["moto_transitions_per_s"], rel=0.01
    )


def test_dataapi_latency() -> None:
    printed = run_script(
        "dataapi_latency.py", "--calls", "5", "--warmup", "1", "--concurrency", "4"
    )
    assert printed["in_process"]["calls"] == printed["http"]["calls"] == 5
    assert printed["in_process_p50_ms"] > 0
    assert printed["http_p50_ms"] > 0
    for side in ("in_process", "http"):
        assert printed["concurrent"][side]["finished"] == 4


def test_pipeline() -> None:
    printed = run_script("pipeline.py", "--scale", "0.001", "--repeat", "1")
    steps = [step["name"] for step in printed["steps"]]
    assert steps == ["setup", "dimension loads", "fact load", "validate"]
    assert printed["redstep_seconds"] > 0
    assert printed["bare_seconds"] > 0


def test_results() -> None:
    printed = run_script("results.py", "--rows", "3000")
    assert printed["rows"] == 3000
    assert printed["redstep"]["pages"] >= 1
    assert printed["peak_rss_mb"] == printed["redstep"]["peak_rss_mb"] > 0

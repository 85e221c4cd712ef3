"""`redstep run`: one execution in process, shown as it runs, its exit code its status."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result

from redstep.cli import main
from redstep.project import load_project
from redstep.runtime.engine import Engine


def run(project_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["run", "--project", str(project_dir), *args])


def test_a_run_shows_each_state_its_sql_and_the_output(project_dir: Path) -> None:
    result = run(project_dir, "load")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("arn:aws:states:us-east-1:123456789012:execution:load:")
    assert lines[1] == "▶ Load"
    assert lines[2].startswith("✓ Load  ")
    assert lines[3] == "▶ Describe"
    assert lines[4].startswith("  SQL load_numbers  FINISHED  2 statements  2 rows  ")
    assert lines[5].startswith("    insert into numbers values (1), (2)  2 rows")
    assert lines[6].startswith("✓ Describe  ")
    assert lines[7].startswith("SUCCEEDED in ")
    assert json.loads(lines[8]) == {"status": "FINISHED"}


def test_a_failed_run_shows_the_retry_and_the_error_and_exits_1(project_dir: Path) -> None:
    result = run(project_dir, "fails", "--fast-waits")
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()[1:]
    assert lines[0] == "▶ Get"
    assert lines[1].startswith("✗ Get: S3.NoSuchKeyException: The specified key does not exist.")
    assert lines[2] == "↻ Get: retry 1"
    assert lines[3].startswith("✗ Get: S3.NoSuchKeyException: ")
    assert lines[4].startswith("FAILED in ")
    assert lines[5].startswith("S3.NoSuchKeyException: The specified key does not exist.")
    assert len(lines) == 6


def test_json_output_is_one_object(project_dir: Path) -> None:
    succeeded = run(project_dir, "load", "--output", "json")
    assert succeeded.exit_code == 0
    summary = json.loads(succeeded.output)
    assert sorted(summary) == ["duration", "executionArn", "output", "status"]
    assert summary["status"] == "SUCCEEDED"
    assert summary["output"] == {"status": "FINISHED"}
    assert summary["duration"] >= 0

    failed = run(project_dir, "fails", "--fast-waits", "--output", "json")
    assert failed.exit_code == 1
    summary = json.loads(failed.output)
    assert sorted(summary) == ["cause", "duration", "error", "executionArn", "status"]
    assert (summary["status"], summary["error"]) == ("FAILED", "S3.NoSuchKeyException")


def test_fast_waits_skip_the_wait(project_dir: Path) -> None:
    result = run(project_dir, "nap", "--fast-waits", "--output", "json")
    assert result.exit_code == 0
    assert json.loads(result.output)["duration"] == 3600.0  # the history's time, not the wall's


def test_the_input_comes_from_an_option_or_a_file(project_dir: Path) -> None:
    (project_dir / "input.json").write_text('{"day": "2003-01-02"}')
    input_file = str(project_dir / "input.json")
    from_file = run(project_dir, "nap", "--fast-waits", "--input-file", input_file)
    assert from_file.exit_code == 0, from_file.output
    result = run(project_dir, "nap", "--fast-waits", "--input", '{"day": 1}', "--output", "json")
    assert json.loads(result.output)["output"] == {"day": 1}


def test_bad_requests_are_refused_before_anything_runs(project_dir: Path) -> None:
    not_json = run(project_dir, "nap", "--input", "{")
    assert not_json.exit_code == 2
    assert "not JSON" in not_json.output
    both = run(
        project_dir, "nap", "--input", "{}", "--input-file", str(project_dir / "nap.asl.json")
    )
    assert both.exit_code == 2
    unknown = run(project_dir, "nope")
    assert unknown.exit_code == 1
    assert "no state machine 'nope'" in unknown.output
    assert "declares: fails, load, nap" in unknown.output


def test_a_project_in_use_is_named(project_dir: Path) -> None:
    ownership = load_project(project_dir).own_state()
    try:
        result = run(project_dir, "nap")
    finally:
        ownership.release()
    assert result.exit_code == 1
    assert "Error: " in result.output
    assert str(os.getpid()) in result.output


def test_ctrl_c_stops_the_execution(project_dir: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "redstep", "run", "nap", "--project", str(project_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        arn = process.stdout.readline().strip()  # printed once the execution started
        assert arn.startswith("arn:aws:states:"), process.stderr.read() if process.stderr else ""
        process.send_signal(signal.SIGINT)
        rest, errors = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 1, errors
    assert "ABORTED" in rest
    described = CliRunner().invoke(
        main, ["executions", "describe", "--project", str(project_dir), arn]
    )
    assert json.loads(described.output)["status"] == "ABORTED"


CHILD = """
import sys, time
from redstep.api.local_endpoint import open_services
from redstep.project import load_project
from redstep.runtime.engine import Engine

services = open_services(load_project(sys.argv[1]))
arn = services.engine.region.state_machine_arn("nap")
print(services.engine.start_execution({"stateMachineArn": arn})["executionArn"], flush=True)
time.sleep(3600)  # until the test kills this process
"""


def test_executions_left_running_are_named_and_left_for_serve(project_dir: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(project_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        left_running = child.stdout.readline().strip()
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    assert left_running.startswith("arn:aws:states:")

    result = run(project_dir, "load")  # a one-off: it would leave the nap cut short again
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1] == (
        f"{left_running} was left RUNNING by a redstep that stopped: `redstep serve` resumes it"
    )
    assert lines[-2].startswith("SUCCEEDED in ")
    engine = Engine.open(load_project(project_dir), run=False)
    try:
        described = engine.describe_execution({"executionArn": left_running})
        history = engine.get_execution_history({"executionArn": left_running})["events"]
    finally:
        engine.close()
    assert described["status"] == "RUNNING"
    assert not any(event["type"] == "WaitStateExited" for event in history)

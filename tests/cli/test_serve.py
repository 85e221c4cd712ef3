"""`redstep serve` as a user runs it: a process that serves, logs a line per call without
secrets, refuses to expose itself unguarded, and stops cleanly on SIGTERM leaving running
executions to resume at the next start."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from click.testing import CliRunner
from serve_process import serving, stepfunctions

from redstep.api.app import HEALTH_PATH
from redstep.api.endpoint_file import recorded_endpoint
from redstep.cli import main

WAIT = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
SECRET = "s3cr3t-never-logged"


def test_sigterm_stops_cleanly_and_running_executions_resume(tmp_path: Path) -> None:
    (tmp_path / "wait.asl.json").write_text(json.dumps(WAIT))
    (tmp_path / "redstep.toml").write_text('[state_machines.waits]\ndefinition = "wait.asl.json"\n')
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:waits"
    with serving(tmp_path) as server:
        execution = stepfunctions(server.url).start_execution(stateMachineArn=arn)["executionArn"]
        log = server.stop()
        assert server.process.returncode == 0, log
    assert "AWSStepFunctions.StartExecution" in log
    with serving(tmp_path) as server:
        described = stepfunctions(server.url).describe_execution(executionArn=execution)
        assert described["status"] == "RUNNING"
        history = stepfunctions(server.url).get_execution_history(executionArn=execution)
        assert history["events"][-1]["type"] == "WaitStateEntered"


def test_an_open_console_stream_does_not_hold_the_shutdown(tmp_path: Path) -> None:
    (tmp_path / "wait.asl.json").write_text(json.dumps(WAIT))
    (tmp_path / "redstep.toml").write_text('[state_machines.waits]\ndefinition = "wait.asl.json"\n')
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:waits"
    with serving(tmp_path) as server:
        execution = stepfunctions(server.url).start_execution(stateMachineArn=arn)["executionArn"]
        stream_url = f"{server.url}/_redstep/execution/events"
        with httpx.stream("GET", stream_url, params={"arn": execution}, timeout=30) as stream:
            lines = stream.iter_lines()
            assert next(lines) == "id: 2"  # the stream is open, and waits for more events
            stopping = time.monotonic()
            log = server.stop()
            took = time.monotonic() - stopping
            assert list(lines)[-1:] == [""]  # it ended cleanly, not cut
    assert server.process.returncode == 0, log
    assert took < 5, f"the server took {took:.1f} s to stop"  # uvicorn would wait 10 s for it
    assert "Traceback" not in log


def test_each_call_is_logged_and_no_secret_is(tmp_path: Path) -> None:
    environment = {"REDSTEP_ACCESS_KEY_ID": "AKIDSERVE", "REDSTEP_SECRET_ACCESS_KEY": SECRET}
    with serving(tmp_path, "--log-level", "debug", env=environment) as server:
        client = stepfunctions(server.url, "AKIDSERVE", SECRET)
        client.list_state_machines()
        log = server.stop()
    assert "AWSStepFunctions.ListStateMachines / 200" in log
    assert SECRET not in log


def test_binding_a_reachable_address_needs_credentials(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["serve", "--project", str(tmp_path), "--host", "0.0.0.0"], env={}
    )
    assert result.exit_code != 0
    assert "give credentials" in result.output


def test_half_the_credentials_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["serve", "--project", str(tmp_path), "--access-key", "AKID"], env={}
    )
    assert result.exit_code == 2
    assert "--secret-key" in result.output


def test_port_0_serves_on_a_port_the_system_picks_and_says_which(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "redstep", "serve", "--project", str(tmp_path)]
    with tempfile.TemporaryFile() as log_file:
        process = subprocess.Popen([*command, "--port", "0"], stderr=log_file)
        try:
            deadline = time.monotonic() + 30
            while (url := recorded_endpoint(tmp_path / ".redstep", process.pid)) is None:
                assert process.poll() is None, "redstep serve exited"
                assert time.monotonic() < deadline, "redstep serve did not start"
                time.sleep(0.05)
            assert httpx.get(url + HEALTH_PATH, timeout=5).status_code == 200
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        log_file.seek(0)
        log = log_file.read().decode()
    assert not url.endswith(":0")
    assert f"redstep serving {tmp_path} on {url}" in log

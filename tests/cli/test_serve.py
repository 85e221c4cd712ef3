"""`redstep serve` as a user runs it: a process that serves, logs a line per call without
secrets, refuses to expose itself unguarded, and stops cleanly on SIGTERM leaving running
executions to resume at the next start."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import boto3
import httpx
from click.testing import CliRunner

from redstep.api.app import HEALTH_PATH
from redstep.cli import main

WAIT = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}
SECRET = "s3cr3t-never-logged"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Server:
    """A `redstep serve` process, its URL, and the file its log (stderr) goes to."""

    url: str
    process: subprocess.Popen[str]
    log_file: IO[bytes]

    def log(self) -> str:
        """Everything the server has logged so far (read at an offset: the file's own position
        is shared with the server, which writes at it)."""
        descriptor = self.log_file.fileno()
        return os.pread(descriptor, os.fstat(descriptor).st_size, 0).decode(errors="replace")

    def stop(self) -> str:
        """SIGTERM the server and wait for it to end; its whole log."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        return self.log()


@contextmanager
def serving(project: Path, *extra: str, env: dict[str, str] | None = None) -> Iterator[Server]:
    """`redstep serve` in a subprocess, up and answering; SIGTERM'd on exit if still running,
    and killed if it outlives that.

    Its log goes to a file, not a pipe: nothing reads a pipe while the server runs, and a
    chatty server (`--log-level debug`) would block once the pipe's buffer filled.
    """
    port = free_port()
    command = ["serve", "--project", str(project), "--port", str(port), *extra]
    with tempfile.TemporaryFile() as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "redstep", *command],
            stderr=log_file,
            text=True,
            env={**os.environ, **(env or {})},
        )
        server = Server(f"http://127.0.0.1:{port}", process, log_file)
        try:
            deadline = time.monotonic() + 30
            while True:
                if process.poll() is not None:
                    raise AssertionError(f"redstep serve exited: {server.log()}")
                try:
                    if httpx.get(server.url + HEALTH_PATH, timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "redstep serve did not start"
                    time.sleep(0.05)
            yield server
        finally:
            try:
                if process.poll() is None:
                    server.stop()
            finally:
                if process.poll() is None:  # it outlived SIGTERM (stop timed out): no leak
                    process.kill()
                    process.wait()


def stepfunctions(url: str, access_key: str = "test", secret_key: str = "test") -> Any:
    return boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
    )


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

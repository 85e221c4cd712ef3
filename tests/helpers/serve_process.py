"""`redstep serve` in a subprocess, as a user runs it, for the tests that need a real one."""

from __future__ import annotations

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

from redstep.api.app import HEALTH_PATH


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

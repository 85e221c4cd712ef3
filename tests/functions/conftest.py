"""Fixtures for the functions suite: a project whose handlers live in `tmp_path`, and real
worker processes running them."""

from __future__ import annotations

import json
import os
import textwrap
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from redstep.functions import Functions, Invocation, InvocationResult
from redstep.project import Project, load_project

REGION = "eu-west-1"
INJECTED = {
    "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:4566",
    "AWS_ACCESS_KEY_ID": "ASIAINJECTED",
    "REDSTEP_INJECTED": "yes",
}

APP = """
import ctypes
import decimal
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time

print("app imported")
calls = 0


def echo(event, context):
    return event


def count(event, context):
    global calls
    if "exit" in event:
        sys.exit(event["exit"])
    if event.get("kill"):
        os.kill(os.getpid(), signal.SIGKILL)
    calls += 1
    return {"calls": calls, "pid": os.getpid()}


def nap(event, context):
    time.sleep(event.get("seconds", 0))
    return os.getpid()


def sleep(event, context):
    if "pid_file" in event:
        with open(event["pid_file"], "w") as file:
            file.write(str(os.getpid()))
    time.sleep(event.get("seconds", 60))
    return "slept"


def fail(event, context):
    raise ValueError("the input was " + json.dumps(event))


def leave_a_child(event, context):
    child = subprocess.Popen(["sleep", "60"])
    with open(event["pid_file"], "w") as file:
        file.write(str(child.pid))
    sys.exit(3)


def unmarshallable(event, context):
    return {"numbers": {1, 2}}


def raw(event, context):
    return b"not json"


def describe(event, context):
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "identity": context.identity,
        "client_context": context.client_context,
        "remaining": context.get_remaining_time_in_millis(),
        "variables": {name: os.environ.get(name) for name in event.get("variables", [])},
        "cwd": os.getcwd(),
    }


def fork(event, context):
    # A fork by libc itself runs none of Python's at-fork hooks, as one in a C extension would.
    pid = ctypes.CDLL(None).fork() if event.get("how") == "libc" else os.fork()
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    with open(event["pid_file"], "w") as file:
        file.write(str(pid))
    if "exit" in event:
        os._exit(event["exit"])
    return {"calls": count({}, context)["calls"], "pid": os.getpid()}


def numbers(event, context):
    number = decimal.Decimal
    return {
        "whole": number("3"),
        "fraction": number("1.10"),
        "power": number("1E+2"),
        "nan": number("NaN"),
        "text": "é £ 日本",
    }


def big(event, context):
    return "y" * event["length"]


def lose_stdout(event, context):
    print("before", event["how"])
    if event["how"] == "close":
        os.close(1)
    else:
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    return "lost"


def late(event, context):
    def later():
        time.sleep(event["after"])
        os.write(2, b"late from a thread\\n")

    threading.Thread(target=later).start()
    return "early"


def talk(event, context):
    print("stdout", event["say"])
    sys.stderr.write("stderr " + event["say"] + "\\n")
    os.system("echo child " + event["say"])
    logging.getLogger().warning("logged %s", event["say"])
    time.sleep(event.get("seconds", 0))
    print("done", event["say"])
    return event["say"]
"""

TOML = """
[functions.echo]
handler = "functions/app.py:echo"
[functions.count]
handler = "functions/app.py:count"
[functions.nap]
handler = "functions/app.py:nap"
[functions.sleep]
handler = "functions/app.py:sleep"
timeout = 60
[functions.slow]
handler = "functions/app.py:sleep"
timeout = 1
[functions.fail]
handler = "functions/app.py:fail"
[functions.leave_a_child]
handler = "functions/app.py:leave_a_child"
[functions.unmarshallable]
handler = "functions/app.py:unmarshallable"
[functions.raw]
handler = "functions/app.py:raw"
[functions.describe]
handler = "functions/app.py:describe"
memory = 256
timeout = 30
environment = { GREETING = "hello", AWS_ENDPOINT_URL_S3 = "http://127.0.0.1:9000" }
[functions.talk]
handler = "functions/app.py:talk"
[functions.fork]
handler = "functions/app.py:fork"
[functions.numbers]
handler = "functions/app.py:numbers"
[functions.big]
handler = "functions/app.py:big"
[functions.lose_stdout]
handler = "functions/app.py:lose_stdout"
[functions.late]
handler = "functions/app.py:late"
"""


def write(folder: Path, relative: str, text: str) -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


class Lambdas:
    """A project with one handler file, `functions/app.py`, and a function for each of its
    handlers (`TOML`); `functions` runs them, and helpers invoke them and watch processes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        write(root, "functions/app.py", APP)
        write(root, "redstep.toml", TOML)
        self.project = load_project(root)
        self._made: list[Functions] = []
        self.functions = self.make()

    def make(
        self,
        project: Project | None = None,
        environment: Callable[[], Mapping[str, str]] = lambda: INJECTED,
    ) -> Functions:
        """Another `Functions` (closed after the test), over this project or another one."""
        project = project or self.project
        functions = Functions(
            project.functions, root=project.root, region=REGION, environment=environment
        )
        self._made.append(functions)
        return functions

    def close(self) -> None:
        for functions in self._made:
            functions.close()

    def invoke(self, name: str, event: Any = None, **options: Any) -> Invocation:
        payload = json.dumps({} if event is None else event).encode()
        return self.functions.invoke(name, payload, **options)

    def call(self, name: str, event: Any = None, **options: Any) -> InvocationResult:
        """Invoke and wait for the answer."""
        return self.invoke(name, event, **options).result(timeout=20)

    @staticmethod
    def answer(result: InvocationResult) -> Any:
        return json.loads(result.payload)

    @staticmethod
    def wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < deadline, "timed out waiting"
            time.sleep(0.01)

    @staticmethod
    def is_reaped(pid: int) -> bool:
        """Whether a child process is gone, and waited for (no zombie left)."""
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    @staticmethod
    def is_dead(pid: int) -> bool:
        """Whether a process (not ours to reap) has ended: gone, or a zombie its parent has not
        reaped yet."""
        try:
            stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
        except FileNotFoundError:
            return True
        return stat.rsplit(")", 1)[1].split()[0] == "Z"


@pytest.fixture
def lambdas(tmp_path: Path) -> Iterator[Lambdas]:
    harness = Lambdas(tmp_path)
    yield harness
    harness.close()

"""Workers' lives: cancelled, closed, dying while idle; no process or thread left behind."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from redstep.functions import InvocationCancelled, InvocationResult

if TYPE_CHECKING:
    from conftest import Lambdas


def running_pid(lambdas: Lambdas, pid_file: Path) -> int:
    """The PID a `sleep` handler wrote, once it has."""
    lambdas.wait_until(lambda: pid_file.exists() and pid_file.read_text() != "")
    return int(pid_file.read_text())


def redstep_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("redstep-function")]


def test_cancel_kills_a_running_handler(lambdas: Lambdas, tmp_path: Path) -> None:
    invocation = lambdas.invoke("sleep", {"pid_file": str(tmp_path / "pid")})
    pid = running_pid(lambdas, tmp_path / "pid")
    heard: list[InvocationResult] = []
    invocation.add_done_callback(heard.append)
    invocation.cancel()
    with pytest.raises(InvocationCancelled):
        invocation.result(0)
    lambdas.wait_until(lambda: lambdas.is_reaped(pid))
    invocation.add_done_callback(heard.append)
    assert heard == [], "a cancelled invocation is never answered"
    assert lambdas.answer(lambdas.call("sleep", {"seconds": 0})) == "slept"


def test_cancelling_an_answered_invocation_changes_nothing(lambdas: Lambdas) -> None:
    invocation = lambdas.invoke("count")
    result = invocation.result(10)
    invocation.cancel()
    assert invocation.result(0) == result
    assert lambdas.answer(lambdas.call("count"))["pid"] == lambdas.answer(result)["pid"]


def test_an_invocation_cancelled_before_its_worker_started_runs_nothing(
    lambdas: Lambdas, tmp_path: Path
) -> None:
    gate = threading.Event()

    def slow_environment() -> dict[str, str]:
        gate.wait(10)
        return {}

    functions = lambdas.make(environment=slow_environment)
    pid_file = tmp_path / "pid"
    invocation = functions.invoke("sleep", json.dumps({"pid_file": str(pid_file)}).encode())
    invocation.cancel()
    gate.set()
    with pytest.raises(InvocationCancelled):
        invocation.result(0)
    assert functions.invoke("count", b"{}").result(10).function_error is None
    assert not pid_file.exists()


def test_close_ends_running_invocations_and_leaves_nothing_behind(
    lambdas: Lambdas, tmp_path: Path
) -> None:
    idle_pid = lambdas.answer(lambdas.call("count"))["pid"]
    running = [lambdas.invoke("sleep", {"pid_file": str(tmp_path / f"{n}.pid")}) for n in range(2)]
    pids = [running_pid(lambdas, tmp_path / f"{n}.pid") for n in range(2)]
    lambdas.functions.close()
    for invocation in running:
        with pytest.raises(InvocationCancelled):
            invocation.result(0)
    assert all(lambdas.is_reaped(pid) for pid in [idle_pid, *pids])
    assert redstep_threads() == []
    lambdas.functions.close()  # idempotent
    with pytest.raises(InvocationCancelled):
        lambdas.invoke("echo").result(0)


def test_close_may_be_called_from_a_callback(lambdas: Lambdas) -> None:
    closed = threading.Event()
    called_on: list[str] = []

    def close_all(result: InvocationResult) -> None:
        called_on.append(threading.current_thread().name)
        lambdas.functions.close()
        closed.set()

    lambdas.invoke("echo").add_done_callback(close_all)
    assert closed.wait(10)
    assert called_on == ["redstep-function-echo-callbacks"], "not the sandbox's own thread"
    lambdas.wait_until(lambda: redstep_threads() == [])


def test_close_does_not_wait_for_a_worker_still_asking_for_its_environment(
    lambdas: Lambdas,
) -> None:
    asked, gate = threading.Event(), threading.Event()

    def slow_environment() -> dict[str, str]:
        asked.set()
        gate.wait(10)
        return {}

    functions = lambdas.make(environment=slow_environment)
    invocation = functions.invoke("echo", b"{}")
    assert asked.wait(10)
    began = time.monotonic()
    functions.close()
    assert time.monotonic() - began < 1.0
    with pytest.raises(InvocationCancelled):
        invocation.result(0)
    gate.set()
    lambdas.wait_until(lambda: redstep_threads() == [])


def test_a_callback_may_invoke_the_same_function_and_wait_for_it(lambdas: Lambdas) -> None:
    warm = lambdas.answer(lambdas.call("count"))["pid"]
    heard: list[InvocationResult] = []

    def invoke_again(result: InvocationResult) -> None:
        heard.append(lambdas.invoke("count").result(10))

    lambdas.invoke("count").add_done_callback(invoke_again)
    lambdas.wait_until(lambda: len(heard) == 1)
    assert lambdas.answer(heard[0])["pid"] == warm, "on the worker that was just released"


def test_a_slow_callback_does_not_hold_up_the_next_invocation(lambdas: Lambdas) -> None:
    gate = threading.Event()

    def hold_on(result: InvocationResult) -> None:
        gate.wait(20)

    invocation = lambdas.invoke("count")
    invocation.add_done_callback(hold_on)
    first = lambdas.answer(invocation.result(10))
    second = lambdas.answer(lambdas.invoke("count").result(5))
    assert (second["pid"], second["calls"]) == (first["pid"], 2), "the same warm worker"
    gate.set()


def test_a_worker_that_dies_while_idle_is_reaped_and_replaced(lambdas: Lambdas) -> None:
    first = lambdas.answer(lambdas.call("count"))
    os.kill(first["pid"], signal.SIGKILL)
    lambdas.wait_until(lambda: lambdas.is_reaped(first["pid"]))
    second = lambdas.answer(lambdas.call("count"))
    assert second["calls"] == 1
    assert second["pid"] != first["pid"]


def test_a_failing_callback_does_not_stop_the_others(
    lambdas: Lambdas, caplog: pytest.LogCaptureFixture
) -> None:
    heard: list[InvocationResult] = []

    def fail(result: InvocationResult) -> None:
        raise RuntimeError("a bug in the caller")

    invocation = lambdas.invoke("nap", {"seconds": 0.2})
    invocation.add_done_callback(fail)
    invocation.add_done_callback(heard.append)
    result = invocation.result(10)
    lambdas.wait_until(lambda: heard == [result])
    assert "a callback of a function invocation failed" in caplog.text

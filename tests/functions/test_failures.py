"""Failures, answered as Lambda answers them: exceptions, exits, timeouts, and modules that do
not load."""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from redstep.project import load_project

if TYPE_CHECKING:
    from conftest import Lambdas


def line_of(text: str, source: str) -> int:
    return next(n for n, line in enumerate(source.split("\n"), 1) if text in line)


def test_an_exception_is_answered_with_its_type_message_and_stack(lambdas: Lambdas) -> None:
    invocation = lambdas.invoke("fail", {"a": 1})
    result = invocation.result(10)
    assert result.function_error == "Unhandled"
    error = lambdas.answer(result)
    assert list(error) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert error["errorMessage"] == 'the input was {"a": 1}'
    assert error["errorType"] == "ValueError"
    assert error["requestId"] == invocation.request_id
    app = lambdas.root / "functions" / "app.py"
    line = line_of('raise ValueError("the input was "', app.read_text())
    assert error["stackTrace"] == [
        f'  File "{app}", line {line}, in fail\n'
        '    raise ValueError("the input was " + json.dumps(event))\n'
    ], "the runtime's own frames are left out"


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"exit": 3}, "Runtime exited with error: exit status 3"),
        ({"kill": True}, "Runtime exited with error: signal: killed"),
        ({"exit": 0}, "Runtime exited without providing a reason"),
    ],
    ids=["exit-3", "sigkill", "exit-0"],
)
def test_a_worker_that_ends_is_an_exit_error_and_is_replaced(
    lambdas: Lambdas, event: dict[str, Any], reason: str
) -> None:
    first = lambdas.answer(lambdas.call("count"))
    invocation = lambdas.invoke("count", event)
    result = invocation.result(10)
    assert result.function_error == "Unhandled"
    assert lambdas.answer(result) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {invocation.request_id} Error: {reason}",
    }
    assert lambdas.is_reaped(first["pid"]), "answered only once the worker is waited for"
    fresh = lambdas.answer(lambdas.call("count"))
    assert fresh["calls"] == 1, "a fresh worker, its module imported again"
    assert fresh["pid"] != first["pid"]


def test_what_a_dead_worker_started_goes_with_it(lambdas: Lambdas, tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    result = lambdas.call("leave_a_child", {"pid_file": str(pid_file)})
    assert lambdas.answer(result)["errorType"] == "Runtime.ExitError"
    child = int(pid_file.read_text())
    lambdas.wait_until(lambda: lambdas.is_dead(child))


def test_a_timeout_kills_the_worker_and_the_next_invocation_runs(
    lambdas: Lambdas, tmp_path: Path
) -> None:
    pid_file = tmp_path / "worker.pid"
    began = time.monotonic()
    invocation = lambdas.invoke("slow", {"seconds": 30, "pid_file": str(pid_file)})
    result = invocation.result(20)
    assert 1.0 <= time.monotonic() - began < 10.0, "1 s after the cold import, however slow"
    assert result.function_error == "Unhandled"
    error = lambdas.answer(result)
    assert list(error) == ["errorMessage"], "Lambda gives a timeout no errorType"
    pattern = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (\S+) Task timed out after 1\.00 seconds"
    match = re.fullmatch(pattern, error["errorMessage"])
    assert match is not None, error
    assert match[1] == invocation.request_id
    assert lambdas.is_reaped(int(pid_file.read_text()))
    assert lambdas.answer(lambdas.call("slow", {"seconds": 0})) == "slept"


def module_project(lambdas: Lambdas, files: dict[str, str], handler: str) -> Any:
    for name, text in files.items():
        (lambdas.root / name).write_text(text, encoding="utf-8")
    (lambdas.root / "redstep.toml").write_text(f'[functions.f]\nhandler = "{handler}"\n')
    return lambdas.make(load_project(lambdas.root))


def test_a_module_that_cannot_be_imported_is_retried_in_a_fresh_worker(lambdas: Lambdas) -> None:
    functions = module_project(lambdas, {"broken.py": "import not_a_module\n"}, "broken.py:handler")
    result = functions.invoke("f", b"{}").result(10)
    assert result.function_error == "Unhandled"
    assert json.loads(result.payload) == {
        "errorMessage": "Unable to import module 'broken': No module named 'not_a_module'",
        "errorType": "Runtime.ImportModuleError",
        "requestId": "",
        "stackTrace": [],
    }
    (lambdas.root / "broken.py").write_text("def handler(event, context):\n    return 'fixed'\n")
    assert functions.invoke("f", b"{}").result(10).payload == b'"fixed"'


@pytest.mark.parametrize(
    ("files", "handler", "expected"),
    [
        (
            {"plain.py": "x = 1\n"},
            "plain.py:absent",
            {
                "errorMessage": "Handler 'absent' missing on module 'plain'",
                "errorType": "Runtime.HandlerNotFound",
                "requestId": "",
                "stackTrace": [],
            },
        ),
        (
            {"sys.py": "def handler(event, context):\n    pass\n"},
            "sys.py:handler",
            {
                "errorMessage": "Cannot use built-in module sys as a handler module",
                "errorType": "Runtime.BuiltInModuleConflict",
                "requestId": "",
                "stackTrace": [],
            },
        ),
    ],
    ids=["missing-handler", "built-in-module"],
)
def test_a_handler_that_cannot_be_found_is_a_runtime_fault(
    lambdas: Lambdas, files: dict[str, str], handler: str, expected: dict[str, Any]
) -> None:
    functions = module_project(lambdas, files, handler)
    assert json.loads(functions.invoke("f", b"{}").result(10).payload) == expected


def test_a_syntax_error_is_a_user_code_syntax_error(lambdas: Lambdas) -> None:
    functions = module_project(lambdas, {"typo.py": "def handler(:\n"}, "typo.handler")
    error = json.loads(functions.invoke("f", b"{}").result(10).payload)
    assert error["errorType"] == "Runtime.UserCodeSyntaxError"
    assert error["errorMessage"].startswith("Syntax error in module 'typo': ")
    assert error["stackTrace"][0].startswith(f'  File "{lambdas.root / "typo.py"}" Line 1')


def test_an_exception_while_importing_is_answered_as_the_exception(lambdas: Lambdas) -> None:
    functions = module_project(lambdas, {"eager.py": "raise KeyError('setting')\n"}, "eager.h")
    error = json.loads(functions.invoke("f", b"{}").result(10).payload)
    assert (error["errorType"], error["errorMessage"], error["requestId"]) == (
        "KeyError",
        "'setting'",
        "",
    )
    assert 'eager.py", line 1, in <module>' in error["stackTrace"][-1]


def test_an_answer_that_is_not_json_is_a_marshal_error(lambdas: Lambdas) -> None:
    invocation = lambdas.invoke("unmarshallable")
    assert lambdas.answer(invocation.result(10)) == {
        "errorMessage": "Unable to marshal response: Object of type set is not JSON serializable",
        "errorType": "Runtime.MarshalError",
        "requestId": invocation.request_id,
        "stackTrace": [],
    }


def test_a_worker_that_cannot_be_prepared_is_an_unknown_error(lambdas: Lambdas) -> None:
    def unavailable() -> dict[str, str]:
        raise RuntimeError("the local endpoint did not start")

    functions = lambdas.make(environment=unavailable)
    invocation = functions.invoke("echo", b"{}")
    result = invocation.result(10)
    assert result.function_error == "Unhandled"
    assert json.loads(result.payload) == {
        "errorType": "Runtime.Unknown",
        "errorMessage": f"RequestId: {invocation.request_id} Error: the function's environment "
        "could not be prepared: the local endpoint did not start",
    }


def test_a_worker_that_cannot_be_started_is_an_unknown_error(
    lambdas: Lambdas, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[tuple[int, int]] = []
    real_pipe = os.pipe

    def pipe() -> tuple[int, int]:
        if made:
            raise OSError(errno.EMFILE, "Too many open files")
        made.append(real_pipe())
        return made[-1]

    functions = lambdas.make()
    monkeypatch.setattr(os, "pipe", pipe)
    invocation = functions.invoke("echo", b"{}")
    result = invocation.result(10)
    monkeypatch.undo()
    assert result.function_error == "Unhandled"
    assert json.loads(result.payload) == {
        "errorType": "Runtime.Unknown",
        "errorMessage": f"RequestId: {invocation.request_id} Error: the function's worker could "
        "not be started: [Errno 24] Too many open files",
    }
    for fd in made[0]:
        with pytest.raises(OSError, match="Bad file descriptor"):
            os.fstat(fd)  # the pipe made before the failure is closed again


FORKS = [
    pytest.param("os", id="os.fork"),
    pytest.param(
        "libc",
        id="libc-fork",
        marks=pytest.mark.skipif(sys.platform != "linux", reason="pidfds are Linux's"),
    ),
]


@pytest.mark.parametrize("how", FORKS)
def test_a_worker_that_forked_and_exits_is_an_exit_error_at_once(
    lambdas: Lambdas, tmp_path: Path, how: str
) -> None:
    pid_file = tmp_path / "child.pid"
    began = time.monotonic()
    invocation = lambdas.invoke("fork", {"how": how, "pid_file": str(pid_file), "exit": 3})
    result = invocation.result(20)
    assert time.monotonic() - began < 10, "not when the forked child, which sleeps 60 s, ends"
    assert lambdas.answer(result) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {invocation.request_id} Error: Runtime exited with error: "
        "exit status 3",
    }
    child = int(pid_file.read_text())
    lambdas.wait_until(lambda: lambdas.is_dead(child))


@pytest.mark.parametrize("how", FORKS)
def test_a_worker_that_forked_and_died_while_idle_is_not_given_the_next_invocation(
    lambdas: Lambdas, tmp_path: Path, how: str
) -> None:
    pid_file = tmp_path / "child.pid"
    first = lambdas.answer(lambdas.call("fork", {"how": how, "pid_file": str(pid_file)}))
    child = int(pid_file.read_text())
    assert not lambdas.is_dead(child), "the forked child holds on"
    os.kill(first["pid"], signal.SIGKILL)
    lambdas.wait_until(lambda: lambdas.is_dead(first["pid"]))
    second = lambdas.call("count")
    assert second.function_error is None, lambdas.answer(second)
    assert lambdas.answer(second)["pid"] != first["pid"]
    lambdas.wait_until(lambda: lambdas.is_dead(child))


def test_the_import_may_take_lambdas_init_time_beyond_the_timeout(lambdas: Lambdas) -> None:
    (lambdas.root / "heavy.py").write_text(
        "import time\ntime.sleep(1.5)\n\ndef handler(event, context):\n    return 'ready'\n"
    )
    (lambdas.root / "redstep.toml").write_text(
        '[functions.f]\nhandler = "heavy.py:handler"\ntimeout = 1\n'
    )
    functions = lambdas.make(load_project(lambdas.root))
    assert functions.invoke("f", b"{}").result(20).payload == b'"ready"'


def test_a_failure_of_redsteps_own_is_answered_not_left_waiting(lambdas: Lambdas) -> None:
    def broken() -> dict[str, str]:
        raise SystemExit("a bug")  # past the `except Exception` that answers a failed start

    functions = lambdas.make(environment=broken)
    invocation = functions.invoke("echo", b"{}")
    assert json.loads(invocation.result(10).payload) == {
        "errorType": "Runtime.Unknown",
        "errorMessage": f"RequestId: {invocation.request_id} Error: redstep failed: "
        "SystemExit('a bug')",
    }

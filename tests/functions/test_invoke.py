"""Invoking a function: answers, warm workers, concurrency, handler spellings and the context."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from redstep.functions import (
    InvalidRequestContentException,
    InvocationResult,
    RequestEntityTooLargeException,
    UnknownFunction,
)
from redstep.project import load_project

if TYPE_CHECKING:
    from conftest import Lambdas  # the fixture's class, in this folder's conftest.py


def test_a_handler_answers_with_its_return_value_as_json(lambdas: Lambdas) -> None:
    event = {"run_date": "2024-01-01", "tables": ["a", "b"], "n": 1.5, "none": None}
    result = lambdas.call("echo", event)
    assert result == InvocationResult(result.payload, None, "$LATEST", 200)
    assert lambdas.answer(result) == event


def test_an_empty_payload_is_an_empty_object(lambdas: Lambdas) -> None:
    assert lambdas.functions.invoke("echo", b"").result(10).payload == b"{}"


def test_bytes_a_handler_returns_pass_as_they_are(lambdas: Lambdas) -> None:
    assert lambdas.call("raw").payload == b"not json"


def test_module_state_survives_on_a_warm_worker(lambdas: Lambdas) -> None:
    first, second = lambdas.answer(lambdas.call("count")), lambdas.answer(lambdas.call("count"))
    assert (first["calls"], second["calls"]) == (1, 2)
    assert first["pid"] == second["pid"]


def test_concurrent_invocations_run_in_separate_workers_that_stay_warm(lambdas: Lambdas) -> None:
    running = [lambdas.invoke("nap", {"seconds": 0.5}) for _ in range(3)]
    pids = {lambdas.answer(invocation.result(10)) for invocation in running}
    assert len(pids) == 3
    assert lambdas.answer(lambdas.call("nap")) in pids, "a later invocation reuses a warm worker"


SPELLINGS = {
    "file": "functions/app.py:echo",
    "module": "package.handlers:handler",
    "lambda": "lambda_function.lambda_handler",
    "lambda with a path": "package/handlers.handler",
}


@pytest.mark.parametrize("handler", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_every_handler_spelling_loads(lambdas: Lambdas, tmp_path: Path, handler: str) -> None:
    (tmp_path / "package").mkdir()
    (tmp_path / "package" / "__init__.py").write_text("")
    (tmp_path / "package" / "handlers.py").write_text(
        "from package.helpers import shout\n\ndef handler(event, context):\n"
        "    return shout(event)\n"
    )
    (tmp_path / "package" / "helpers.py").write_text(
        "def shout(event):\n    return event.upper()\n"
    )
    (tmp_path / "lambda_function.py").write_text(
        "def lambda_handler(event, context):\n    return event.upper()\n"
    )
    (tmp_path / "redstep.toml").write_text(f'[functions.spelt]\nhandler = "{handler}"\n')
    functions = lambdas.make(load_project(tmp_path))
    result = functions.invoke("spelt", b'"quiet"').result(10)
    assert result.payload == (b'"quiet"' if handler.endswith(":echo") else b'"QUIET"')


def test_a_handler_file_imports_its_neighbours(lambdas: Lambdas, tmp_path: Path) -> None:
    (tmp_path / "lambdas").mkdir()
    (tmp_path / "lambdas" / "helper.py").write_text("WORD = 'neighbour'\n")
    (tmp_path / "lambdas" / "main.py").write_text(
        "import helper\n\ndef handler(event, context):\n    return helper.WORD\n"
    )
    (tmp_path / "redstep.toml").write_text('[functions.f]\nhandler = "lambdas/main.py:handler"\n')
    functions = lambdas.make(load_project(tmp_path))
    assert functions.invoke("f", b"{}").result(10).payload == b'"neighbour"'


def test_the_context_describes_the_function_and_counts_down(lambdas: Lambdas) -> None:
    invocation = lambdas.invoke("describe")
    context = lambdas.answer(invocation.result(10))
    stream = context.pop("log_stream_name")
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", stream), stream
    remaining = context.pop("remaining")
    assert 25_000 < remaining <= 30_000, "30 s of timeout, counted from the handler's start"
    assert context == {
        "function_name": "describe",
        "function_version": "$LATEST",
        "invoked_function_arn": "arn:aws:lambda:eu-west-1:123456789012:function:describe",
        "memory_limit_in_mb": "256",
        "aws_request_id": invocation.request_id,
        "log_group_name": "/aws/lambda/describe",
        "identity": None,
        "client_context": None,
        "variables": {},
        "cwd": str(lambdas.root.resolve()),
    }


def test_the_caller_may_name_the_request_id(lambdas: Lambdas) -> None:
    invocation = lambdas.invoke("describe", request_id="my-request")
    assert invocation.request_id == "my-request"
    assert lambdas.answer(invocation.result(10))["aws_request_id"] == "my-request"


def test_callbacks_hear_the_answer_on_a_redstep_thread_or_at_once(lambdas: Lambdas) -> None:
    heard: list[tuple[InvocationResult, str]] = []
    done = threading.Event()

    def listen(result: InvocationResult) -> None:
        heard.append((result, threading.current_thread().name))
        done.set()

    invocation = lambdas.invoke("nap", {"seconds": 0.2})
    invocation.add_done_callback(listen)
    assert done.wait(10)
    result = invocation.result()
    assert heard == [(result, "redstep-function-nap-callbacks")]
    invocation.add_done_callback(listen)
    assert heard[1] == (result, threading.current_thread().name)


def test_result_gives_up_after_its_timeout(lambdas: Lambdas) -> None:
    invocation = lambdas.invoke("nap", {"seconds": 1})
    with pytest.raises(TimeoutError):
        invocation.result(timeout=0.05)
    assert lambdas.answer(invocation.result(10)) > 0


def test_an_unknown_function_is_refused(lambdas: Lambdas) -> None:
    assert "echo" in lambdas.functions
    assert "nowhere" not in lambdas.functions
    with pytest.raises(UnknownFunction) as raised:
        lambdas.functions.invoke("nowhere", b"{}")
    assert str(raised.value) == (
        "Function not found: arn:aws:lambda:eu-west-1:123456789012:function:nowhere"
    )


def test_a_payload_that_is_not_json_is_refused_before_any_handler_runs(lambdas: Lambdas) -> None:
    with pytest.raises(InvalidRequestContentException, match="Could not parse request body"):
        lambdas.functions.invoke("echo", b"{oops")


def test_payloads_larger_than_a_pipe_holds_cross_whole(lambdas: Lambdas) -> None:
    event = {"rows": [f"row {n} " + "x" * 100 for n in range(10_000)]}  # about 1 MiB
    assert lambdas.answer(lambdas.call("echo", event)) == event


def test_a_payload_over_lambdas_limit_is_refused(lambdas: Lambdas) -> None:
    limit = 6_291_456
    largest = b'"' + b"x" * (limit - 2) + b'"'
    assert lambdas.functions.invoke("echo", largest).result(20).payload == largest
    with pytest.raises(RequestEntityTooLargeException) as raised:
        lambdas.functions.invoke("echo", largest + b" ")
    assert str(raised.value) == (
        "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    )


def test_an_answer_over_lambdas_limit_is_a_function_error(lambdas: Lambdas) -> None:
    limit = 6_291_556
    assert len(lambdas.call("big", {"length": limit - 2}).payload) == limit
    result = lambdas.call("big", {"length": limit - 1})
    assert result.function_error == "Unhandled"
    assert result.payload == (
        b'{"errorMessage":"Response payload size exceeded maximum allowed payload size '
        b'(6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"}'
    )
    assert lambdas.call("big", {"length": 1}).payload == b'"y"'


def test_decimals_and_non_ascii_text_are_written_as_awslambdaric_writes_them(
    lambdas: Lambdas,
) -> None:
    expected = '{"whole": 3.0, "fraction": 1.1, "power": 100.0, "nan": NaN, "text": "é £ 日本"}'
    assert lambdas.call("numbers").payload == expected.encode()

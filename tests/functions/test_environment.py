"""A worker's environment variables: Lambda's, the injected ones, the function's own, and
nothing of redstep's own AWS configuration."""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING

import pytest

from redstep.functions.variables import PLACEHOLDER_CREDENTIALS

if TYPE_CHECKING:
    from conftest import Lambdas


def test_variables_are_lambdas_then_injected_then_the_functions_own(
    lambdas: Lambdas, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "a real secret")
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    monkeypatch.setenv("REDSTEP_TEST_MARKER", "kept")
    expected = {
        "AWS_LAMBDA_FUNCTION_NAME": "describe",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/describe",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python3.{sys.version_info.minor}",
        "LAMBDA_TASK_ROOT": str(lambdas.root.resolve()),
        "_HANDLER": "functions/app.describe",
        "TZ": ":UTC",
        "AWS_ACCESS_KEY_ID": "ASIAINJECTED",  # injected, over the placeholder
        "AWS_SECRET_ACCESS_KEY": PLACEHOLDER_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "AWS_SESSION_TOKEN": PLACEHOLDER_CREDENTIALS["AWS_SESSION_TOKEN"],
        "AWS_PROFILE": None,
        "REDSTEP_TEST_MARKER": "kept",
        "REDSTEP_INJECTED": "yes",
        "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000",  # the function's own, over the injected
        "GREETING": "hello",
    }
    result = lambdas.call("describe", {"variables": list(expected)})
    assert lambdas.answer(result)["variables"] == expected


def test_the_injected_variables_are_asked_for_as_each_worker_starts(lambdas: Lambdas) -> None:
    calls: list[str] = []

    def environment() -> dict[str, str]:
        calls.append(threading.current_thread().name)
        return {"REDSTEP_INJECTED": f"call {len(calls)}"}

    functions = lambdas.make(environment=environment)
    running = [functions.invoke("nap", b'{"seconds": 0.3}') for _ in range(2)]
    for invocation in running:
        invocation.result(10)
    functions.invoke("nap", b"{}").result(10)
    assert len(calls) == 2, "once per worker, not per invocation"
    assert all(name.startswith("redstep-function-nap") for name in calls)

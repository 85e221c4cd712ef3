"""The AWS CLI (v1, from PyPI) against `redstep serve`, changing nothing but --endpoint-url."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from redstep.services import Services

AWS = shutil.which("aws", path=str(Path(sys.executable).parent))


@pytest.fixture
def aws(endpoint: str, tmp_path: Path) -> Any:
    """`aws("s3", "ls")`: the CLI's parsed JSON output (or its text), failing on a non-zero exit."""
    if AWS is None:
        pytest.fail("the AWS CLI is a test dependency: pip install -e '.[test]'")
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
    }

    def run(*arguments: str, **extra_env: str) -> Any:
        completed = subprocess.run(
            [AWS, *arguments, "--endpoint-url", endpoint, "--output", "json"],
            env={**env, **extra_env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
        text = completed.stdout.strip()
        return json.loads(text) if text.startswith(("{", "[")) else text

    return run


def test_stepfunctions_start_execution(aws: Any, services: Services) -> None:
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:hello"
    started = aws("stepfunctions", "start-execution", "--state-machine-arn", arn, "--input", "{}")
    services.engine.wait(started["executionArn"], 10)
    described = aws(
        "stepfunctions", "describe-execution", "--execution-arn", started["executionArn"]
    )
    assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", "hello, world")


def test_test_state_reaches_the_endpoint_without_the_sync_host_prefix(aws: Any) -> None:
    """As the README says: the CLI would send TestState to sync-127.0.0.1 without the variable."""
    state = json.dumps({"Type": "Pass", "Result": {"ok": True}, "End": True})
    answer = aws(
        "stepfunctions",
        "test-state",
        "--definition",
        state,
        "--role-arn",
        "arn:aws:iam::123456789012:role/test",
        "--input",
        "{}",
        AWS_DISABLE_HOST_PREFIX_INJECTION="true",
    )
    assert (answer["status"], json.loads(answer["output"])) == ("SUCCEEDED", {"ok": True})


def test_redshift_data_statement_and_result(aws: Any) -> None:
    submitted = aws(
        "redshift-data",
        "execute-statement",
        "--sql",
        "select 6 * 7 as answer",
        "--database",
        "dev",
        "--cluster-identifier",
        "local",
    )
    deadline = time.monotonic() + 30
    while (status := aws("redshift-data", "describe-statement", "--id", submitted["Id"]))[
        "Status"
    ] not in ("FINISHED", "FAILED", "ABORTED"):
        assert time.monotonic() < deadline, status
    assert status["Status"] == "FINISHED"
    result = aws("redshift-data", "get-statement-result", "--id", submitted["Id"])
    assert result["Records"] == [[{"longValue": 42}]]


def test_s3_cp_both_ways(aws: Any, tmp_path: Path) -> None:
    source = tmp_path / "report.csv"
    source.write_text("id,amount\n1,9.50\n")
    aws("s3", "cp", str(source), "s3://data/incoming/report.csv")
    back = tmp_path / "back.csv"
    aws("s3", "cp", "s3://data/incoming/report.csv", str(back))
    assert back.read_text() == source.read_text()
    assert (tmp_path / "data" / "incoming" / "report.csv").read_text() == source.read_text()

"""`redstep tasks send-*`: a callback task answered from the command line, through the
endpoint the running `redstep serve` recorded in `.redstep/`."""

from __future__ import annotations

import json
import time
from pathlib import Path

from click.testing import CliRunner
from serve_process import serving, stepfunctions

from redstep.cli import main

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:approve"
CALLBACK = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:s3:putObject.waitForTaskToken",
            "Parameters": {"Bucket": "inbox", "Key": "token", "Body.$": "$$.Task.Token"},
            "End": True,
        }
    },
}


def project_with_a_callback(root: Path) -> Path:
    """A project whose `approve` machine writes its task token to s3://inbox/token and waits."""
    (root / "inbox").mkdir()
    (root / "approve.asl.json").write_text(json.dumps(CALLBACK))
    (root / "redstep.toml").write_text(
        '[buckets.inbox]\npath = "inbox"\n\n'
        '[state_machines.approve]\ndefinition = "approve.asl.json"\n'
    )
    return root / "inbox" / "token"


def token_written(path: Path) -> str:
    deadline = time.monotonic() + 30
    while not path.exists():
        assert time.monotonic() < deadline, "the task never wrote its token"
        time.sleep(0.02)
    return json.loads(path.read_text())  # putObject writes the Body as JSON text


def test_a_callback_is_answered_from_the_command_line(tmp_path: Path) -> None:
    token_file = project_with_a_callback(tmp_path)
    with serving(tmp_path) as server:
        client = stepfunctions(server.url)
        execution = client.start_execution(stateMachineArn=MACHINE)["executionArn"]
        token = token_written(token_file)
        answered = CliRunner().invoke(
            main,
            ["tasks", "send-success", "--project", str(tmp_path), token, "--output", '{"ok": 1}'],
        )
        assert answered.exit_code == 0, answered.output
        deadline = time.monotonic() + 30
        while (described := client.describe_execution(executionArn=execution))["status"] == (
            "RUNNING"
        ):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert described["status"] == "SUCCEEDED"
        assert json.loads(described["output"]) == {"ok": 1}
        again = CliRunner().invoke(
            main, ["tasks", "send-heartbeat", "--project", str(tmp_path), token]
        )
        assert again.exit_code == 1
        assert "TaskTimedOut: Task Timed Out: 'Provided task does not exist anymore'" in (
            again.output
        )


def test_without_a_running_server_the_command_says_where_answers_go(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["tasks", "send-failure", "--project", str(tmp_path), "token", "--error", "E"]
    )
    assert result.exit_code == 1
    assert "no redstep runs the project" in result.output
    assert "redstep serve" in result.output


def test_output_must_be_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["tasks", "send-success", "--project", str(tmp_path), "t", "--output", "{nope"]
    )
    assert result.exit_code == 2
    assert "not JSON" in result.output

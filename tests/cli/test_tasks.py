"""`redstep tasks send-*`: a callback task answered from the command line, through the
endpoint the running `redstep serve` recorded in `.redstep/`."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from click.testing import CliRunner
from serve_process import serving, stepfunctions

from redstep.api.endpoint_file import record_endpoint, recorded_endpoint
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


def test_the_command_signs_with_the_servers_credentials(tmp_path: Path) -> None:
    token_file = project_with_a_callback(tmp_path)
    keys = {"REDSTEP_ACCESS_KEY_ID": "AKIDTASKS", "REDSTEP_SECRET_ACCESS_KEY": "tasks-secret"}
    with serving(tmp_path, env=keys) as server:
        client = stepfunctions(server.url, "AKIDTASKS", "tasks-secret")
        client.start_execution(stateMachineArn=MACHINE)
        token = token_written(token_file)
        command = ["tasks", "send-heartbeat", "--project", str(tmp_path), token]
        unsigned = CliRunner().invoke(main, command, env={"REDSTEP_ACCESS_KEY_ID": None})
        assert unsigned.exit_code == 1
        assert "UnrecognizedClientException" in unsigned.output
        signed = CliRunner().invoke(main, command, env=keys)
        assert signed.exit_code == 0, signed.output


def test_a_record_left_by_another_process_is_not_used(tmp_path: Path) -> None:
    record_endpoint(tmp_path, "http://127.0.0.1:1")
    assert recorded_endpoint(tmp_path, os.getpid()) == "http://127.0.0.1:1"
    assert recorded_endpoint(tmp_path, os.getpid() + 1) is None


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

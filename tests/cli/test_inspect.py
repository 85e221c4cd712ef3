"""`redstep executions` and `redstep statements`: a project's store read after a run, in
process when the project is stopped, through the running `redstep serve` when it is not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from serve_process import serving

from redstep.cli import main


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def loaded(project_dir: Path) -> str:
    """The ARN of a finished run of `load` in the project."""
    result = invoke("run", "load", "--project", str(project_dir), "--output", "json")
    assert result.exit_code == 0, result.output
    arn: str = json.loads(result.output)["executionArn"]
    return arn


def test_executions_are_listed_described_and_their_history_read(
    project_dir: Path, loaded: str
) -> None:
    project = ["--project", str(project_dir)]
    failed = invoke("run", "fails", "--fast-waits", *project)
    assert failed.exit_code == 1

    listed = json.loads(invoke("executions", "list", *project, "--output", "json").output)
    assert [(row["stateMachineArn"].rsplit(":", 1)[-1], row["status"]) for row in listed] == [
        ("fails", "FAILED"),
        ("load", "SUCCEEDED"),
    ]
    assert listed[1]["executionArn"] == loaded
    only = invoke("executions", "list", *project, "--status", "SUCCEEDED", "--output", "json")
    assert [row["name"] for row in json.loads(only.output)] == [loaded.rsplit(":", 1)[-1]]
    table = invoke("executions", "list", *project)
    assert "SUCCEEDED" in table.output
    assert "(2 rows)" in table.output

    by_name = invoke("executions", "describe", *project, loaded.rsplit(":", 1)[-1])
    described = json.loads(by_name.output)
    assert (described["executionArn"], described["status"]) == (loaded, "SUCCEEDED")
    assert json.loads(described["output"]) == {"status": "FINISHED"}

    history = json.loads(
        invoke("executions", "history", *project, loaded, "--output", "json").output
    )
    assert history[0]["type"] == "ExecutionStarted"
    assert history[-1]["type"] == "ExecutionSucceeded"
    table = invoke("executions", "history", *project, loaded)
    rows = [line.split("│") for line in table.output.splitlines()]
    assert [row[2].strip() for row in rows if len(row) == 4 and "TaskStateEntered" in row[2]] == [
        "TaskStateEntered",
        "TaskStateEntered",
    ]
    assert "Load" in rows[3][3]

    unknown = invoke("executions", "list", *project, "--state-machine", "nope")
    assert unknown.exit_code == 1
    assert "no state machine is named 'nope'" in unknown.output

    missing = invoke("executions", "describe", *project, "nope")
    assert missing.exit_code == 1
    assert "no execution is named 'nope'" in missing.output


def test_statements_are_listed_described_and_their_results_read(
    project_dir: Path, loaded: str
) -> None:
    project = ["--project", str(project_dir)]
    ran = invoke("sql", "select n, n * 10 as tens from numbers order by n", *project)
    assert ran.exit_code == 0, ran.output

    listed = json.loads(invoke("statements", "list", *project, "--output", "json").output)
    assert [row["Status"] for row in listed] == ["FINISHED", "FINISHED"]
    assert listed[1]["StatementName"] == "load_numbers"
    table = invoke("statements", "list", *project)
    assert "load_numbers" in table.output

    batch = json.loads(invoke("statements", "describe", *project, listed[1]["Id"]).output)
    assert [sub["ResultRows"] for sub in batch["SubStatements"]] == [0, 2]

    rows = invoke("statements", "result", *project, listed[0]["Id"], "--output", "csv")
    assert rows.output == "n,tens\n1,10\n2,20\n"

    missing = invoke("statements", "describe", *project, "00000000-0000-0000-0000-000000000000")
    assert missing.exit_code == 1
    assert "ResourceNotFoundException" in missing.output


def test_a_running_server_answers_for_its_project(project_dir: Path, loaded: str) -> None:
    project = ["--project", str(project_dir)]
    with serving(project_dir):
        described = invoke("executions", "describe", *project, loaded)
        assert described.exit_code == 0, described.output
        assert json.loads(described.output)["status"] == "SUCCEEDED"
        listed = invoke("statements", "list", *project, "--output", "json")
        assert json.loads(listed.output)[0]["StatementName"] == "load_numbers"

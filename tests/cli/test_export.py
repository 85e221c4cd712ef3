"""`redstep export cloudformation` and `redstep deploy --dry-run`, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.stub import Stubber
from click.testing import CliRunner

from redstep.cli import main
from redstep.cli.init import create_project
from redstep.deploy.template import export_project
from redstep.project import load_project


@pytest.fixture
def sales(tmp_path: Path) -> Path:
    return create_project(tmp_path / "sales", example="sales")


def test_export_writes_the_template_as_yaml_or_json(sales: Path, tmp_path: Path) -> None:
    expected = json.loads(json.dumps(export_project(load_project(sales)).template))
    runner = CliRunner()
    printed = runner.invoke(main, ["export", "cloudformation", "--project", str(sales)])
    assert printed.exit_code == 0, printed.output
    assert yaml.safe_load(printed.output) == expected
    for name, read in [("template.yaml", yaml.safe_load), ("template.json", json.loads)]:
        written = runner.invoke(
            main, ["export", "cloudformation", "--project", str(sales), "-o", str(tmp_path / name)]
        )
        assert written.exit_code == 0, written.output
        assert read((tmp_path / name).read_text()) == expected


def test_export_takes_the_target_from_the_options(sales: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["export", "cloudformation", "--project", str(sales),
         "--cluster-identifier", "prod", "--db-user", "etl", "--database", "warehouse"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    parameters = yaml.safe_load(result.output)["Parameters"]
    defaults = [parameters[name]["Default"] for name in ("ClusterIdentifier", "DbUser", "Database")]
    assert defaults == ["prod", "etl", "warehouse"]


def test_export_says_what_it_cannot_grant(sales: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["export", "cloudformation", "--project", str(sales), "--workgroup-name", "analytics"],
    )
    assert result.exit_code == 1
    assert "Error: the target is a Serverless workgroup, but Data API tasks give" in result.output


def test_deploy_dry_run_prints_the_uploads_and_the_changes(
    sales: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: dict[str, Any] = {}
    make_client = boto3.session.Session.client

    def client(self: boto3.session.Session, service: str, **_: Any) -> Any:
        assert self.region_name == "eu-west-1"
        made[service] = make_client(self, service, aws_access_key_id="t", aws_secret_access_key="t")
        stubber = Stubber(made[service])
        if service == "cloudformation":
            stubber.add_client_error(
                "describe_stacks", "ValidationError", "Stack with id etl does not exist"
            )
        stubber.activate()
        return made[service]

    monkeypatch.setattr(boto3.session.Session, "client", client)
    result = CliRunner().invoke(
        main,
        ["deploy", "--project", str(sales), "--stack-name", "etl", "--region", "eu-west-1",
         "--parameter", "SalesScriptsBucket=acme-scripts", "--dry-run"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"would upload {sales / 'sql' / 'setup.sql'} to s3://acme-scripts/setup.sql" in lines
    assert "would create stack etl:" in lines
    assert "  Add     SalesDataPipelineStateMachine  AWS::StepFunctions::StateMachine" in lines
    assert "  parameter SalesScriptsBucket = acme-scripts" in lines
    assert set(made) == {"s3", "cloudformation"}


def test_deploy_refuses_a_malformed_parameter(sales: Path) -> None:
    result = CliRunner().invoke(
        main, ["deploy", "--project", str(sales), "--parameter", "NoEquals", "--dry-run"]
    )
    assert result.exit_code == 2
    assert "'NoEquals' is not NAME=VALUE" in result.output


@pytest.mark.parametrize("command", [["export", "cloudformation"], ["deploy", "--dry-run"]])
def test_a_broken_project_is_an_error_not_a_traceback(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "redstep.toml").write_text("[functions.f]\nhandler = 3\n")
    result = CliRunner().invoke(main, [*command, "--project", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert "redstep.toml" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)

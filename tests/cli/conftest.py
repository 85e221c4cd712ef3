"""A small project for the commands that run and inspect executions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TARGET = {"ClusterIdentifier": "local", "Database": "dev"}
REDSHIFT_DATA = "arn:aws:states:::aws-sdk:redshiftdata"

MACHINES = {
    # SQL submitted, waited for with long polling, and its row count handed on.
    "load": {
        "StartAt": "Load",
        "States": {
            "Load": {
                "Type": "Task",
                "Resource": f"{REDSHIFT_DATA}:batchExecuteStatement",
                "Parameters": {
                    **TARGET,
                    "StatementName": "load_numbers",
                    "Sqls": [
                        "create table if not exists numbers (n int)",
                        "insert into numbers values (1), (2)",
                    ],
                },
                "Next": "Describe",
            },
            "Describe": {
                "Type": "Task",
                "Resource": f"{REDSHIFT_DATA}:describeStatement",
                "Parameters": {"Id.$": "$.Id", "WaitTimeSeconds": 20},
                "ResultSelector": {"status.$": "$.Status"},
                "End": True,
            },
        },
    },
    # A task that fails, is retried once, and fails the execution.
    "fails": {
        "StartAt": "Get",
        "States": {
            "Get": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                "Parameters": {"Bucket": "inbox", "Key": "missing.csv"},
                "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1}],
                "End": True,
            }
        },
    },
    "nap": {"StartAt": "Nap", "States": {"Nap": {"Type": "Wait", "Seconds": 3600, "End": True}}},
}


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """A project declaring the machines above, with an empty bucket `inbox`."""
    (tmp_path / "inbox").mkdir()
    toml = ['[buckets.inbox]\npath = "inbox"\n']
    for name, definition in MACHINES.items():
        (tmp_path / f"{name}.asl.json").write_text(json.dumps(definition))
        toml.append(f'[state_machines.{name}]\ndefinition = "{name}.asl.json"\n')
    (tmp_path / "redstep.toml").write_text("\n".join(toml))
    return tmp_path

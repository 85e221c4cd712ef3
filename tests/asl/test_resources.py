"""Task resources: what each names, and which AWS refuses when a state machine is created."""

from __future__ import annotations

import json

import pytest

from redstep.asl.diagnostics import Code
from redstep.asl.parse import validate_definition
from redstep.asl.resources import FunctionCall, Integration, Pattern, parse_resource

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:load"


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (
            "arn:aws:states:::lambda:invoke",
            Integration("lambda", "invoke", Pattern.REQUEST_RESPONSE),
        ),
        (
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
            Integration("lambda", "invoke", Pattern.CALLBACK),
        ),
        (
            "arn:aws:states:::states:startExecution.sync:2",
            Integration("states", "startExecution", Pattern.SYNC_JSON),
        ),
        (
            "arn:aws:states:::states:startExecution.sync",
            Integration("states", "startExecution", Pattern.SYNC),
        ),
        (
            "arn:aws:states:::aws-sdk:redshiftdata:executeStatement",
            Integration("aws-sdk:redshiftdata", "executeStatement", Pattern.REQUEST_RESPONSE),
        ),
        (FUNCTION, FunctionCall(FUNCTION)),
        (f"{FUNCTION}:$LATEST", FunctionCall(f"{FUNCTION}:$LATEST")),
        ("arn:aws:states:::lambda", None),
        ("lambda:invoke", None),
    ],
)
def test_what_a_resource_names(resource: str, expected: object) -> None:
    assert parse_resource(resource) == expected


def problems_of(resource: str) -> list[tuple[str, str | None, str]]:
    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": resource, "End": True}},
    }
    return [
        (d.code, d.location, d.message)
        for d in validate_definition(json.dumps(definition)).diagnostics
    ]


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:states:::lambda:invoke",
        "arn:aws:states:::states:startExecution.sync",
        "arn:aws:states:::aws-sdk:s3:getObject.waitForTaskToken",
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",  # valid; redstep fails it when run
        "arn:aws:states:us-east-1:123456789012:activity:work",
        "arn:aws:states:::emr-containers:startJobRun.sync",
        FUNCTION,
    ],
)
def test_resources_aws_takes(resource: str) -> None:
    assert problems_of(resource) == []


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:states:::lambda:invoke.sync",
        "arn:aws:states:::aws-sdk:redshiftdata:executeStatement.sync:2",
        "arn:aws:states:::lambda:invoke.blocking",
        "not-an-arn",
    ],
)
def test_resources_aws_refuses(resource: str) -> None:
    assert problems_of(resource) == [
        (
            Code.SCHEMA_VALIDATION_FAILED.value,
            "/States/T/Resource",
            f"The resource provided {resource} is not recognized. The value is not a valid "
            "resource ARN, or the resource is not available in this region.",
        )
    ]

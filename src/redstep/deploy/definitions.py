"""A state machine's definition as CloudFormation deploys it.

The project's definition is taken with its substitutions applied (so `{ statements = … }` SQL is
inlined as the JSON array it is locally: a DefinitionSubstitution replaces a placeholder with a
scalar, never with an array), then what names the project's own resources becomes a `${Name}`
placeholder that the template's DefinitionSubstitutions fill at deployment:

    a task's FunctionName (or function ARN) naming a project function  ${<Function>FunctionArn}
    a startExecution's StateMachineArn naming a project state machine  ${<Machine>StateMachineArn}
    ClusterIdentifier, WorkgroupName, Database, DbUser of a Data API task  ${ClusterIdentifier} ...
    a string in a task's request that is a project bucket's name or in it  ${<Bucket>Bucket}

Everything else stays as written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redstep.asl.resources import FunctionCall, Integration, parse_resource
from redstep.deploy.calls import (
    Member,
    bucket_named,
    function_name,
    state_machine_name,
    task_arguments,
    task_states,
)
from redstep.deploy.names import bucket_parameter, function_id, state_machine_id
from redstep.project import Project

Intrinsic = dict[str, Any]
"""A CloudFormation intrinsic function: `{"Ref": …}`, `{"Fn::GetAtt": […]}`."""


@dataclass(frozen=True, slots=True)
class DeployedDefinition:
    """A definition with placeholders, and what CloudFormation substitutes for each."""

    definition: Mapping[str, Any]
    substitutions: Mapping[str, Intrinsic]


def deployed_definition(project: Project, name: str) -> DeployedDefinition:
    """The definition of state machine `name` as the template carries it (see the module)."""
    definition = json.loads(project.state_machines[name].definition)
    substitutions: dict[str, Intrinsic] = {}
    for _, state in task_states(definition):
        resource = state.get("Resource", "")
        parsed = parse_resource(resource) if isinstance(resource, str) else None
        arguments = task_arguments(state)
        match parsed:
            case FunctionCall(function_arn=arn) if function_name(arn) in project.functions:
                state["Resource"] = _function_placeholder(function_name(arn), substitutions)
            case Integration(service="lambda", action="invoke"):
                given = arguments.get("FunctionName")
                if isinstance(given, str) and function_name(given) in project.functions:
                    placeholder = _function_placeholder(function_name(given), substitutions)
                    arguments["FunctionName"] = placeholder
            case Integration(service="states", action="startExecution"):
                started = arguments.get("StateMachineArn")
                if (
                    isinstance(started, str)
                    and state_machine_name(started) in project.state_machines
                ):
                    machine = state_machine_id(state_machine_name(started))
                    substitutions[f"{machine}Arn"] = {"Ref": machine}
                    arguments["StateMachineArn"] = f"${{{machine}Arn}}"
            case Integration(service="aws-sdk:redshiftdata"):
                for member in map(str, Member):
                    if isinstance(arguments.get(member), str):
                        substitutions[member] = {"Ref": member}
                        arguments[member] = f"${{{member}}}"
        _replace_buckets(project, arguments, substitutions)
    return DeployedDefinition(definition, substitutions)


def _function_placeholder(name: str, substitutions: dict[str, Intrinsic]) -> str:
    function = function_id(name)
    substitutions[f"{function}Arn"] = {"Fn::GetAtt": [function, "Arn"]}
    return f"${{{function}Arn}}"


def _replace_buckets(
    project: Project, value: dict[str, Any] | list[Any], substitutions: dict[str, Intrinsic]
) -> None:
    """Put `${<Bucket>Bucket}` for each project bucket named in a task's request, in place."""
    keys: list[Any] = list(value) if isinstance(value, dict) else list(range(len(value)))
    for key in keys:
        if isinstance(key, str) and key.endswith(".$"):
            continue
        item = value[key]
        if isinstance(item, dict | list):
            _replace_buckets(project, item, substitutions)
        elif isinstance(item, str) and (bucket := _bucket_in(project, key, item)) is not None:
            parameter = bucket_parameter(bucket)
            substitutions[parameter] = {"Ref": parameter}
            value[key] = item.replace(bucket, f"${{{parameter}}}", 1)


def _bucket_in(project: Project, key: object, text: str) -> str | None:
    """The project bucket a request's string names: its name, an `s3://` address in it, or an
    S3 copy's source (`CopySource` is `bucket/key`)."""
    if key == "CopySource":
        bucket = text.lstrip("/").split("/", 1)[0]
        return bucket if bucket in project.buckets else None
    return bucket_named(project, text)

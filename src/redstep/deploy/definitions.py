"""A state machine's definition as CloudFormation deploys it.

The project's definition is taken with its substitutions applied (so `{ statements = … }` SQL is
inlined as the JSON array it is locally: CloudFormation's DefinitionSubstitutions hold strings
only), then what names the project's own resources becomes a `${Name}` placeholder that the
template's DefinitionSubstitutions fill at deployment:

    a task's FunctionName (or function ARN) naming a project function  ${<Function>FunctionArn}
    a startExecution's StateMachineArn naming a project state machine  ${<Machine>StateMachineArn}
    ClusterIdentifier, WorkgroupName, Database, DbUser of a Data API task  ${ClusterIdentifier} ...
    a string in a task's request that is a project bucket's name or in it  ${<Bucket>Bucket}

Everything else stays as written.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redstep.asl.resources import FunctionCall, Integration, parse_resource
from redstep.deploy.calls import (
    DATA_API_TARGET_MEMBERS,
    ExportError,
    bucket_named,
    function_name,
    state_machine_name,
    task_arguments,
    task_states,
)
from redstep.project import Project

Intrinsic = dict[str, Any]
"""A CloudFormation intrinsic function: `{"Ref": …}`, `{"Fn::GetAtt": […]}`."""

_WORD = re.compile(r"[A-Za-z0-9]+")


def logical_id(name: str, kind: str) -> str:
    """A CloudFormation logical id: (`sales-scripts`, `Bucket`) → `SalesScriptsBucket`."""
    words = _WORD.findall(name)
    return "".join(word[:1].upper() + word[1:] for word in words) + kind


def function_id(name: str) -> str:
    return logical_id(name, "Function")


def state_machine_id(name: str) -> str:
    return logical_id(name, "StateMachine")


def bucket_parameter(name: str) -> str:
    return logical_id(name, "Bucket")


@dataclass(frozen=True, slots=True)
class DeployedDefinition:
    """A definition with placeholders, and what CloudFormation substitutes for each."""

    definition: Mapping[str, Any]
    substitutions: Mapping[str, Intrinsic]


def deployed_definition(project: Project, name: str) -> DeployedDefinition:
    """The definition of state machine `name` as the template carries it (see the module)."""
    definition = copy.deepcopy(json.loads(project.state_machines[name].definition))
    substitutions: dict[str, Intrinsic] = {}
    for state in task_states(definition):
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
                machine_arn = arguments.get("StateMachineArn")
                if (
                    isinstance(machine_arn, str)
                    and state_machine_name(machine_arn) in project.state_machines
                ):
                    machine = state_machine_id(state_machine_name(machine_arn))
                    if state_machine_name(machine_arn) == name:
                        raise ExportError(
                            f"state machine {name!r} starts itself: CloudFormation cannot give "
                            "a state machine its own ARN"
                        )
                    substitutions[f"{machine}Arn"] = {"Ref": machine}
                    arguments["StateMachineArn"] = f"${{{machine}Arn}}"
            case Integration(service="aws-sdk:redshiftdata"):
                for member in DATA_API_TARGET_MEMBERS:
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
        elif isinstance(item, str) and (bucket := bucket_named(project, item)) is not None:
            parameter = bucket_parameter(bucket)
            substitutions[parameter] = {"Ref": parameter}
            value[key] = item.replace(bucket, f"${{{parameter}}}", 1)

"""The CloudFormation template of a project.

Per state machine an `AWS::StepFunctions::StateMachine` (its type from redstep.toml, its
definition as `redstep.deploy.definitions` makes it) and the role it runs as; per function an
`AWS::Lambda::Function` (runtime, handler, timeout, memory and environment from redstep.toml; code
from the code bucket, or inline when small) and its role; the roles allow what the code calls and
no more (`redstep.deploy.policies`). Parameters: the Redshift target (`redstep.deploy.target`)
when anything calls the Data API, and one per project bucket the stack uses, its default the
project's name for it. Outputs: every state machine's and function's ARN.

A function's environment value that is the target's cluster, workgroup, database or user, or a
project bucket's name, becomes a reference to that parameter, so the deployed function reads what
the stack was given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from redstep import __version__
from redstep.deploy.calls import ProjectCalls, bucket_named, find_calls
from redstep.deploy.definitions import deployed_definition
from redstep.deploy.names import (
    CODE_BUCKET_PARAMETER,
    bucket_parameter,
    check_names,
    function_id,
    function_role_id,
    state_machine_id,
    state_machine_role_id,
)
from redstep.deploy.packages import ARCHITECTURE, RUNTIME, FunctionPackage, function_package
from redstep.deploy.policies import PolicyDocument, function_policy, machine_policy
from redstep.deploy.target import Target, find_target
from redstep.project import Project

_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9]+)\}")
"""A parameter or resource named in an `Fn::Sub` text (`${Name}`; `${Name.Attr}` is a resource)."""
_LAMBDA_LOGS = "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


@dataclass(frozen=True, slots=True)
class Export:
    """A project's template, and what deploying it needs to know."""

    template: Mapping[str, Any]
    target: Target | None
    packages: Mapping[str, FunctionPackage]
    """The functions whose code goes to the code bucket (not inline)."""
    buckets: Mapping[str, str]
    """Project bucket -> the template parameter that names its S3 bucket."""
    code_bucket_parameter: str | None
    """The parameter naming the bucket the packages go to (None when there are none)."""


def export_project(
    project: Project, given: Mapping[str, str] | None = None, code_bucket: str | None = None
) -> Export:
    """The template of `project`. `given` overrides the Redshift target (Data API member ->
    value); `code_bucket` names the bucket function code goes to (the project's only bucket by
    default)."""
    check_names(project)
    calls = find_calls(project)
    target = find_target(project, calls, given or {}) if calls.uses_data_api else None
    packages = {
        name: function_package(project, config) for name, config in project.functions.items()
    }
    shipped = {name: p for name, p in packages.items() if p.inline_source is None}
    resources: dict[str, Any] = {}
    for name in project.functions:
        environment = _environment(project, name, target)
        resources.update(_function(project, name, packages[name], environment, calls, target))
    for name in project.state_machines:
        deployed = deployed_definition(project, name)
        policy = machine_policy(calls.machines[name], target or Target(), project.buckets)
        kind = project.state_machines[name].type
        resources.update(
            _state_machine(name, kind, deployed.definition, deployed.substitutions, policy)
        )
    code_parameter = _code_bucket(project, code_bucket) if shipped else None
    for name, package in shipped.items():
        resources[function_id(name)]["Properties"]["Code"] = {
            "S3Bucket": {"Ref": code_parameter},
            "S3Key": package.key,
        }
    used = _referenced(resources)
    parameters = {
        name: spec for name, spec in (target.parameters() if target else {}).items() if name in used
    }
    buckets = {
        bucket: bucket_parameter(bucket)
        for bucket in sorted(project.buckets)
        if bucket_parameter(bucket) in used
    }
    for bucket, parameter in buckets.items():
        parameters[parameter] = {
            "Type": "String",
            "Description": f"The S3 bucket the project calls {bucket}",
            "Default": bucket,
        }
    if code_parameter == CODE_BUCKET_PARAMETER:
        parameters[CODE_BUCKET_PARAMETER] = {
            "Type": "String",
            "Description": "The S3 bucket the functions' code is uploaded to",
            "MinLength": 3,
            **({"Default": code_bucket} if code_bucket is not None else {}),
        }
    template: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"{project.root.name}: exported by redstep {__version__}",
    }
    if parameters:
        template["Parameters"] = parameters
    template["Resources"] = resources
    template["Outputs"] = _outputs(project)
    return Export(
        template=template,
        target=target,
        packages=shipped,
        buckets=buckets,
        code_bucket_parameter=code_parameter,
    )


def _code_bucket(project: Project, code_bucket: str | None) -> str:
    """The parameter naming the code bucket: a project bucket's (the only one by default), or
    CodeBucket."""
    if code_bucket is None and len(project.buckets) == 1:
        code_bucket = next(iter(project.buckets))
    if code_bucket is not None and code_bucket in project.buckets:
        return bucket_parameter(code_bucket)
    return CODE_BUCKET_PARAMETER


def _environment(project: Project, name: str, target: Target | None) -> dict[str, Any]:
    """A function's variables: a value that is the target's cluster, workgroup, database or user
    (as the project or the caller names it) becomes that parameter, a project bucket's name or
    `s3://` address in it becomes its bucket's parameter."""
    references = target.references() if target is not None else {}
    environment: dict[str, Any] = {}
    for key, value in project.functions[name].environment.items():
        bucket = bucket_named(project, value)
        if value in references:
            environment[key] = {"Ref": str(references[value])}
        elif bucket is not None:
            parameter = bucket_parameter(bucket)
            replaced = value.replace(bucket, f"${{{parameter}}}", 1)
            environment[key] = {"Ref": parameter} if value == bucket else {"Fn::Sub": replaced}
        else:
            environment[key] = value
    return environment


def _function(
    project: Project,
    name: str,
    package: FunctionPackage,
    environment: dict[str, Any],
    calls: ProjectCalls,
    target: Target | None,
) -> dict[str, Any]:
    config = project.functions[name]
    role = function_role_id(name)
    inline = package.inline_source
    properties: dict[str, Any] = {
        "Description": f"redstep function {name} ({config.handler})",
        "Runtime": RUNTIME,
        "Architectures": [ARCHITECTURE],
        "Handler": package.inline_handler if inline is not None else package.handler,
        "Code": {"ZipFile": inline} if inline is not None else {},
        "Role": {"Fn::GetAtt": [role, "Arn"]},
        "Timeout": config.timeout,
        "MemorySize": config.memory,
    }
    if environment:
        properties["Environment"] = {"Variables": environment}
    role_properties: dict[str, Any] = {
        "AssumeRolePolicyDocument": _trust("lambda.amazonaws.com"),
        "ManagedPolicyArns": [{"Fn::Sub": _LAMBDA_LOGS}],
    }
    policy = function_policy(calls.functions[name], target or Target())
    if policy["Statement"]:
        role_properties["Policies"] = [{"PolicyName": "calls", "PolicyDocument": policy}]
    return {
        role: {"Type": "AWS::IAM::Role", "Properties": role_properties},
        function_id(name): {"Type": "AWS::Lambda::Function", "Properties": properties},
    }


def _state_machine(
    name: str,
    kind: str,
    definition: Mapping[str, Any],
    substitutions: Mapping[str, Any],
    policy: PolicyDocument,
) -> dict[str, Any]:
    role = state_machine_role_id(name)
    role_properties: dict[str, Any] = {"AssumeRolePolicyDocument": _trust("states.amazonaws.com")}
    if policy["Statement"]:
        role_properties["Policies"] = [{"PolicyName": "calls", "PolicyDocument": policy}]
    properties: dict[str, Any] = {
        "StateMachineType": kind,
        "Definition": definition,
        "RoleArn": {"Fn::GetAtt": [role, "Arn"]},
    }
    if substitutions:
        properties["DefinitionSubstitutions"] = dict(sorted(substitutions.items()))
    return {
        role: {"Type": "AWS::IAM::Role", "Properties": role_properties},
        state_machine_id(name): {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": properties,
        },
    }


def _referenced(value: object) -> set[str]:
    """Every name a part of the template refers to: `Ref`s and `${Name}` in `Fn::Sub` texts."""
    if isinstance(value, dict):
        found = set()
        if isinstance(value.get("Ref"), str):
            found.add(value["Ref"])
        if isinstance(value.get("Fn::Sub"), str):
            found |= set(_SUB_NAME.findall(value["Fn::Sub"]))
        for item in value.values():
            found |= _referenced(item)
        return found
    if isinstance(value, list):
        return set().union(*map(_referenced, value)) if value else set()
    return set()


def _trust(service: str) -> dict[str, Any]:
    """A role only `service` may assume, and only for this account (no confused deputy)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
            }
        ],
    }


def _outputs(project: Project) -> dict[str, Any]:
    outputs: dict[str, Any] = {}
    for name in project.state_machines:
        outputs[f"{state_machine_id(name)}Arn"] = {
            "Description": f"The ARN of state machine {name}",
            "Value": {"Ref": state_machine_id(name)},
        }
    for name in project.functions:
        outputs[f"{function_id(name)}Arn"] = {
            "Description": f"The ARN of function {name}",
            "Value": {"Fn::GetAtt": [function_id(name), "Arn"]},
        }
    return outputs


class _TemplateDumper(yaml.SafeDumper):
    """YAML as people write CloudFormation: keys in the template's order, text with several
    lines (a function's inline code, a SQL statement) as a literal block."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text and not text.endswith((" ", "\t")) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_TemplateDumper.add_representer(str, _represent_text)


def template_text(template: Mapping[str, Any], *, as_json: bool = False) -> str:
    """The template as YAML (or JSON)."""
    if as_json:
        return json.dumps(template, indent=2) + "\n"
    return yaml.dump(
        template, Dumper=_TemplateDumper, sort_keys=False, width=100, allow_unicode=True
    )

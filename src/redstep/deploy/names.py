"""The template's names for the project's things: logical ids and parameter names.

A project name becomes CamelCase words and a kind (`sales-scripts`, `Bucket` →
`SalesScriptsBucket`). Two names that would become one id (`a_b` and `a-b`) are refused, as is a
project bucket whose parameter would be the code bucket's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from redstep.deploy.errors import ExportError
from redstep.project import Project

CODE_BUCKET_PARAMETER = "CodeBucket"
"""The parameter naming where function code goes when it is not one of the project's buckets."""
_WORD = re.compile(r"[A-Za-z0-9]+")


def logical_id(name: str, kind: str) -> str:
    """A CloudFormation logical id: (`sales-scripts`, `Bucket`) → `SalesScriptsBucket`."""
    return "".join(word[:1].upper() + word[1:] for word in _WORD.findall(name)) + kind


def function_id(name: str) -> str:
    """The logical id of a function's `AWS::Lambda::Function`."""
    return logical_id(name, "Function")


def function_role_id(name: str) -> str:
    """The logical id of the role a function runs as."""
    return logical_id(name, "FunctionRole")


def state_machine_id(name: str) -> str:
    """The logical id of a state machine's `AWS::StepFunctions::StateMachine`."""
    return logical_id(name, "StateMachine")


def state_machine_role_id(name: str) -> str:
    """The logical id of the role a state machine runs as."""
    return logical_id(name, "StateMachineRole")


def bucket_parameter(name: str) -> str:
    """The parameter naming the S3 bucket of a project bucket."""
    return logical_id(name, "Bucket")


def check_names(project: Project) -> None:
    """Raise ExportError when two of the project's names would be one id in the template."""
    _check("functions", project.functions, function_id)
    _check("state machines", project.state_machines, state_machine_id)
    _check("buckets", project.buckets, bucket_parameter)
    for bucket in project.buckets:
        if bucket_parameter(bucket) == CODE_BUCKET_PARAMETER:
            raise ExportError(
                f"bucket {bucket!r} would be the template's {CODE_BUCKET_PARAMETER} parameter, "
                "which names where function code goes: rename the bucket in redstep.toml"
            )


def _check(kind: str, names: Iterable[str], to_id: Callable[[str], str]) -> None:
    seen: dict[str, str] = {}
    for name in names:
        made = to_id(name)
        if made in seen:
            raise ExportError(
                f"{kind} {seen[made]!r} and {name!r} would both be {made} in the template: "
                "rename one in redstep.toml"
            )
        seen[made] = name

"""What a project's code asks of AWS, read from the code itself.

A state machine's calls are its Task states' resources: the functions it invokes, the Data API
actions its `aws-sdk:redshiftdata` tasks call, the S3 actions of its `aws-sdk:s3` tasks on their
buckets, and the machines it starts. A function's calls are read from its Python files: the
methods called on each `boto3.client("redshift-data")` or `boto3.client("s3")` it keeps in a
name. The buckets a function reads are those its environment or the payloads of the tasks that
invoke it name. Whatever cannot be told from the code (a function named at run time, a service
redstep does not grant) is an ExportError that says where it is, never a guess.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore import xform_name

from redstep import wire
from redstep.asl.resources import FunctionCall, Integration, Pattern, parse_resource
from redstep.project import FunctionConfig, Project

DATA_API_SERVICE = "redshift-data"
DATA_API_TARGET_MEMBERS = ("ClusterIdentifier", "WorkgroupName", "Database", "DbUser")
"""A Data API request's members that name the Redshift it runs on."""

S3_ACTIONS: Mapping[str, tuple[str, ...]] = {
    "get_object": ("s3:GetObject",),
    "head_object": ("s3:GetObject",),
    "download_file": ("s3:GetObject",),
    "download_fileobj": ("s3:GetObject",),
    "list_objects": ("s3:ListBucket",),
    "list_objects_v2": ("s3:ListBucket",),
    "put_object": ("s3:PutObject",),
    "upload_file": ("s3:PutObject",),
    "upload_fileobj": ("s3:PutObject",),
    "copy_object": ("s3:GetObject", "s3:PutObject"),
    "delete_object": ("s3:DeleteObject",),
    "delete_objects": ("s3:DeleteObject",),
}
"""boto3's S3 methods (in snake case, as a function calls them) and the IAM actions each needs;
an `aws-sdk:s3:<action>` task's action is looked up here in snake case too."""


CLIENT_HELPERS = frozenset({"can_paginate", "close"})
"""A client's own methods that call no operation."""
BY_NAME = frozenset({"get_paginator", "get_waiter"})
"""A client's methods that call what their first argument names."""


class ExportError(ValueError):
    """The project cannot be exported as it is; the message says where and why."""


@dataclass(frozen=True, slots=True)
class MachineCalls:
    """What one state machine's tasks call."""

    name: str
    functions: frozenset[str] = frozenset()
    data_api_actions: frozenset[str] = frozenset()
    """IAM action names without the prefix: `ExecuteStatement`, `DescribeStatement`, ..."""
    s3_actions: frozenset[tuple[str, str]] = frozenset()
    """(IAM action, bucket) pairs."""
    started_machines: frozenset[str] = frozenset()
    synced_machines: frozenset[str] = frozenset()
    """Machines it starts and waits for (`.sync`, `.sync:2`), a subset of `started_machines`."""


@dataclass(frozen=True, slots=True)
class FunctionCalls:
    """What one function's code calls, and the buckets it is given."""

    name: str
    data_api_actions: frozenset[str] = frozenset()
    s3_actions: frozenset[str] = frozenset()
    buckets: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ProjectCalls:
    """Every state machine's and function's calls, and the Data API targets the tasks name."""

    machines: Mapping[str, MachineCalls]
    functions: Mapping[str, FunctionCalls]
    target_values: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Data API member (ClusterIdentifier, Database, ...) -> the literal values tasks give it."""


def task_states(definition: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every Task state of a definition, in Parallel branches and Map processors too."""
    for state in definition.get("States", {}).values():
        if not isinstance(state, dict):
            continue
        if state.get("Type") == "Task":
            yield state
        for branch in state.get("Branches", ()):
            yield from task_states(branch)
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                yield from task_states(state[key])


def task_arguments(state: Mapping[str, Any]) -> dict[str, Any]:
    """A task's request: `Parameters` (JSONPath) or `Arguments` (JSONata); {} when it has none."""
    arguments = state.get("Parameters", state.get("Arguments"))
    return arguments if isinstance(arguments, dict) else {}


def function_name(reference: str) -> str:
    """The function a Lambda FunctionName or ARN names: `name`, `…:function:name[:qualifier]`."""
    if ":function:" in reference:
        return reference.split(":function:", 1)[1].split(":", 1)[0]
    return reference.split(":", 1)[0]


def state_machine_name(arn: str) -> str:
    """The name at the end of a state machine's ARN."""
    return arn.rsplit(":stateMachine:", 1)[-1]


def find_calls(project: Project) -> ProjectCalls:
    """Read every state machine's and function's calls (see the module)."""
    target_values: dict[str, set[str]] = {member: set() for member in DATA_API_TARGET_MEMBERS}
    payload_buckets: dict[str, set[str]] = {name: set() for name in project.functions}
    machines = {}
    for name, config in project.state_machines.items():
        definition = json.loads(config.definition)
        machines[name] = _machine_calls(project, name, definition, target_values, payload_buckets)
    functions = {
        name: _function_calls(project, config, payload_buckets[name])
        for name, config in project.functions.items()
    }
    return ProjectCalls(
        machines=machines,
        functions=functions,
        target_values={member: frozenset(values) for member, values in target_values.items()},
    )


def _machine_calls(
    project: Project,
    name: str,
    definition: Mapping[str, Any],
    target_values: dict[str, set[str]],
    payload_buckets: dict[str, set[str]],
) -> MachineCalls:
    functions: set[str] = set()
    data_api: set[str] = set()
    s3: set[tuple[str, str]] = set()
    started: set[str] = set()
    synced: set[str] = set()
    for state in task_states(definition):
        where = f"state machine {name!r}, Task {_state_name(definition, state)!r}"
        resource = state.get("Resource", "")
        parsed = parse_resource(resource) if isinstance(resource, str) else None
        arguments = task_arguments(state)
        match parsed:
            case FunctionCall(function_arn=arn):
                invoked = _project_function(project, function_name(arn), where)
                functions.add(invoked)
                payload_buckets[invoked] |= buckets_in(project, arguments)
            case Integration(service="lambda", action="invoke"):
                given = arguments.get("FunctionName")
                if not isinstance(given, str):
                    raise ExportError(
                        f"{where}: FunctionName must name one of the project's functions; one "
                        "chosen at run time cannot be granted"
                    )
                invoked = _project_function(project, function_name(given), where)
                functions.add(invoked)
                payload_buckets[invoked] |= buckets_in(project, arguments.get("Payload"))
            case Integration(service="aws-sdk:redshiftdata", action=action):
                data_api.add(data_api_action(action[:1].upper() + action[1:], where))
                for member in DATA_API_TARGET_MEMBERS:
                    if isinstance(arguments.get(member), str):
                        target_values[member].add(arguments[member])
            case Integration(service="aws-sdk:s3", action=action):
                bucket = arguments.get("Bucket")
                if not isinstance(bucket, str):
                    raise ExportError(f"{where}: Bucket must be written in the definition")
                for iam_action in _s3_actions(xform_name(action), where):
                    s3.add((iam_action, bucket))
            case Integration(service="states", action="startExecution", pattern=pattern):
                machine_arn = arguments.get("StateMachineArn")
                if (
                    not isinstance(machine_arn, str)
                    or state_machine_name(machine_arn) not in project.state_machines
                ):
                    raise ExportError(
                        f"{where}: StateMachineArn must name one of the project's state machines"
                    )
                started.add(state_machine_name(machine_arn))
                if pattern in (Pattern.SYNC, Pattern.SYNC_JSON):
                    synced.add(state_machine_name(machine_arn))
            case _:
                raise ExportError(f"{where}: redstep cannot export the permissions of {resource}")
    return MachineCalls(
        name=name,
        functions=frozenset(functions),
        data_api_actions=frozenset(data_api),
        s3_actions=frozenset(s3),
        started_machines=frozenset(started),
        synced_machines=frozenset(synced),
    )


def _state_name(definition: Mapping[str, Any], state: Mapping[str, Any]) -> str:
    """A task state's name, found by identity (nested states included)."""
    for states in _state_tables(definition):
        for name, candidate in states.items():
            if candidate is state:
                return str(name)
    return "?"


def _state_tables(definition: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    states = definition.get("States", {})
    yield states
    for state in states.values():
        if not isinstance(state, dict):
            continue
        for branch in state.get("Branches", ()):
            yield from _state_tables(branch)
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                yield from _state_tables(state[key])


def _project_function(project: Project, name: str, where: str) -> str:
    if name not in project.functions:
        raise ExportError(f"{where}: invokes {name!r}, which is not one of the project's functions")
    return name


def data_api_action(operation: str, where: str) -> str:
    """The IAM action a Data API operation needs (GetStatementResultV2 needs GetStatementResult)."""
    if operation not in wire.service_model(DATA_API_SERVICE).operation_names:
        raise ExportError(f"{where}: the Data API has no operation {operation}")
    return "GetStatementResult" if operation == "GetStatementResultV2" else operation


def _s3_actions(method: str, where: str) -> tuple[str, ...]:
    actions = S3_ACTIONS.get(method)
    if actions is None:
        raise ExportError(f"{where}: redstep cannot export the permissions of S3's {method}")
    return actions


def buckets_in(project: Project, value: object) -> set[str]:
    """The project's buckets a JSON value names: strings that are a bucket's name or an
    `s3://bucket/…` address (keys ending in `.$` are paths, not names, and are skipped)."""
    found: set[str] = set()
    if isinstance(value, str):
        bucket = bucket_named(project, value)
        if bucket is not None:
            found.add(bucket)
    elif isinstance(value, dict):
        for key, item in value.items():
            if not str(key).endswith(".$"):
                found |= buckets_in(project, item)
    elif isinstance(value, list):
        for item in value:
            found |= buckets_in(project, item)
    return found


def bucket_named(project: Project, text: str) -> str | None:
    """The project bucket `text` is the name of, or the `s3://` address in; None otherwise."""
    if text in project.buckets:
        return text
    if text.startswith("s3://"):
        bucket = text[len("s3://") :].split("/", 1)[0]
        return bucket if bucket in project.buckets else None
    return None


def _function_calls(project: Project, config: FunctionConfig, given: set[str]) -> FunctionCalls:
    data_api: set[str] = set()
    s3: set[str] = set()
    for path, service, method in client_calls(package_files(project, config)):
        where = f"function {config.name!r} ({path.relative_to(project.root)})"
        if service == DATA_API_SERVICE:
            operations = {xform_name(op): op for op in wire.service_model(service).operation_names}
            if method in operations:
                data_api.add(data_api_action(operations[method], where))
        elif service == "s3":
            s3.update(_s3_actions(method, where))
        else:
            raise ExportError(f"{where}: redstep cannot export the permissions of {service}")
    buckets = set(given)
    for value in config.environment.values():
        bucket = bucket_named(project, value)
        if bucket is not None:
            buckets.add(bucket)
    if s3 and not buckets:
        raise ExportError(
            f"function {config.name!r} calls S3, but neither its environment nor the payloads "
            "of the tasks that invoke it name one of the project's buckets: it could be granted "
            "none"
        )
    return FunctionCalls(
        name=config.name,
        data_api_actions=frozenset(data_api),
        s3_actions=frozenset(s3),
        buckets=frozenset(buckets) if s3 else frozenset(),
    )


def package_root(project: Project, config: FunctionConfig) -> Path:
    """The folder a function's package is made of: a file handler's folder, or the project
    folder for a module handler (whose top package is what it ships)."""
    return config.source.parent if config.is_file_handler else project.root


def package_files(project: Project, config: FunctionConfig) -> list[Path]:
    """The Python files of a function's package, sorted: every file beside a file handler, or
    a module handler's top-level package (or module)."""
    root = package_root(project, config)
    if config.is_file_handler:
        top = root
    else:
        first = config.handler_module.split(".", 1)[0]
        top = root / first if (root / first).is_dir() else root / f"{first}.py"
    files = [top] if top.is_file() else sorted(top.rglob("*"))
    return [
        path
        for path in files
        if path.is_file()
        and "__pycache__" not in path.relative_to(root).parts
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    ]


def client_calls(files: list[Path]) -> Iterator[tuple[Path, str, str]]:
    """(file, service, method) for each call on a boto3 client kept in a name:
    `name = boto3.client("s3")` then `name.get_object(...)`. A client (or a resource) made any
    other way is an ExportError: what it calls cannot be followed."""
    for path in files:
        if path.suffix != ".py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        clients: dict[str, str] = {}
        kept: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and _client_service(node.value) is not None:
                names = [target.id for target in node.targets if isinstance(target, ast.Name)]
                if len(names) == len(node.targets):
                    kept.add(id(node.value))
                    clients.update(dict.fromkeys(names, str(_client_service(node.value))))
        for node in ast.walk(tree):
            made = _client_service(node) if isinstance(node, ast.expr) else None
            if made is not None and isinstance(node, ast.expr) and id(node) not in kept:
                raise ExportError(
                    f"{path.name} line {node.lineno}: a {made} client not kept in a name of its "
                    "own (name = boto3.client(...)): redstep cannot tell what it calls"
                )
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in clients
                and node.func.attr not in CLIENT_HELPERS
            ):
                method = node.func.attr
                if method in BY_NAME and node.args and isinstance(node.args[0], ast.Constant):
                    method = str(node.args[0].value)
                yield path, clients[node.func.value.id], method


def _client_service(node: ast.expr) -> str | None:
    """The service of `….client("service", …)` or `….resource("service", …)`, or None."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("client", "resource")
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return node.args[0].value
    return None

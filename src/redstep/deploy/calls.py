"""What a project's code asks of AWS, read from the code itself.

A state machine's calls are its Task states' resources: the functions it invokes, the Data API
actions its `aws-sdk:redshiftdata` tasks call, the S3 actions of its `aws-sdk:s3` tasks on their
buckets, and the machines it starts. A function's calls are read from its Python source
(`redstep.deploy.sources`). The buckets a function reads are those its environment or the
payloads of the tasks that invoke it name. Whatever cannot be told from the code (a function,
bucket, machine or Redshift chosen at run time; a service redstep does not grant) is an
ExportError that says where, never a guess.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any

from botocore import xform_name

from redstep import wire
from redstep.asl.resources import FunctionCall, Integration, Pattern, parse_resource
from redstep.deploy.errors import ExportError
from redstep.deploy.packages import package_root
from redstep.deploy.sources import client_calls, imported_files
from redstep.project import FunctionConfig, Project

DATA_API_SERVICE = "redshift-data"


class Member(StrEnum):
    """A Data API request's members that name the Redshift it runs on."""

    CLUSTER_IDENTIFIER = "ClusterIdentifier"
    WORKGROUP_NAME = "WorkgroupName"
    DATABASE = "Database"
    DB_USER = "DbUser"


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
    target_values: Mapping[Member, frozenset[str]] = field(default_factory=dict)
    """Data API member -> the values tasks give it."""

    @property
    def uses_data_api(self) -> bool:
        """Whether any state machine or function calls the Data API."""
        return any(m.data_api_actions for m in self.machines.values()) or any(
            f.data_api_actions for f in self.functions.values()
        )


def task_states(definition: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, state) of every Task state, in Parallel branches and Map processors too."""
    for name, state in definition.get("States", {}).items():
        if not isinstance(state, dict):
            continue
        if state.get("Type") == "Task":
            yield name, state
        for branch in state.get("Branches", ()):
            yield from task_states(branch)
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                yield from task_states(state[key])


def task_arguments(state: Mapping[str, Any]) -> dict[str, Any]:
    """A task's request: `Parameters` (JSONPath) or `Arguments` (JSONata); {} when it has none."""
    arguments = state.get("Parameters", state.get("Arguments"))
    return arguments if isinstance(arguments, dict) else {}


def written(arguments: Mapping[str, Any], member: str, where: str) -> str | None:
    """A request member's value as the definition writes it (None when absent); an ExportError
    when a path (`Member.$`) or a JSONata expression (`{% … %}`) chooses it at run time."""
    value = arguments.get(member)
    if f"{member}.$" in arguments or (isinstance(value, str) and value.lstrip().startswith("{%")):
        raise ExportError(f"{where}: {member} is chosen at run time, and could be granted none")
    if value is not None and not isinstance(value, str):
        raise ExportError(f"{where}: {member} must be a string")
    return value


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
    target_values: dict[Member, set[str]] = {member: set() for member in Member}
    payload_buckets: dict[str, set[str]] = {name: set() for name in project.functions}
    machines = {}
    for name, config in project.state_machines.items():
        definition = json.loads(config.definition)
        machines[name] = _machine_calls(project, name, definition, target_values, payload_buckets)
    _check_no_cycle(machines)
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
    target_values: dict[Member, set[str]],
    payload_buckets: dict[str, set[str]],
) -> MachineCalls:
    functions: set[str] = set()
    data_api: set[str] = set()
    s3: set[tuple[str, str]] = set()
    started: set[str] = set()
    synced: set[str] = set()
    for state_name, state in task_states(definition):
        where = f"state machine {name!r}, Task {state_name!r}"
        resource = state.get("Resource", "")
        parsed = parse_resource(resource) if isinstance(resource, str) else None
        arguments = task_arguments(state)
        match parsed:
            case FunctionCall(function_arn=arn):
                invoked = _project_function(project, function_name(arn), where)
                functions.add(invoked)
                payload_buckets[invoked] |= buckets_in(project, arguments)
            case Integration(service="lambda", action="invoke"):
                given = written(arguments, "FunctionName", where)
                if not given:
                    raise ExportError(f"{where}: FunctionName must name a project's function")
                invoked = _project_function(project, function_name(given), where)
                functions.add(invoked)
                payload_buckets[invoked] |= buckets_in(project, arguments.get("Payload"))
            case Integration(service="aws-sdk:redshiftdata", action=action):
                data_api.add(data_api_action(action[:1].upper() + action[1:], where))
                for member in Member:
                    value = written(arguments, member, where)
                    if value is not None:
                        target_values[member].add(value)
            case Integration(service="aws-sdk:s3", action=action):
                s3 |= _s3_task_grants(xform_name(action), arguments, where)
            case Integration(service="states", action="startExecution", pattern=pattern):
                arn = written(arguments, "StateMachineArn", where) or ""
                if state_machine_name(arn) not in project.state_machines:
                    raise ExportError(
                        f"{where}: StateMachineArn must name one of the project's state machines"
                    )
                started.add(state_machine_name(arn))
                if pattern in (Pattern.SYNC, Pattern.SYNC_JSON):
                    synced.add(state_machine_name(arn))
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


def _s3_task_grants(method: str, arguments: Mapping[str, Any], where: str) -> set[tuple[str, str]]:
    """(IAM action, bucket) for an `aws-sdk:s3` task: its action on `Bucket`, and for a copy,
    reading the source's bucket (`CopySource` is `bucket/key`)."""
    bucket = written(arguments, "Bucket", where)
    if bucket is None:
        raise ExportError(f"{where}: Bucket must be written in the definition")
    if method != "copy_object":
        return {(action, bucket) for action in _s3_actions(method, where)}
    source = written(arguments, "CopySource", where)
    if source is None:
        raise ExportError(f"{where}: CopySource must be written in the definition")
    return {("s3:GetObject", source.lstrip("/").split("/", 1)[0]), ("s3:PutObject", bucket)}


def _check_no_cycle(machines: Mapping[str, MachineCalls]) -> None:
    """CloudFormation gives a state machine the ARNs of those it starts, so none may start
    itself, even through others."""

    def visit(name: str, path: tuple[str, ...]) -> None:
        for started in sorted(machines[name].started_machines):
            if started in path:
                cycle = " → ".join((*path[path.index(started) :], started))
                raise ExportError(
                    f"state machines start each other ({cycle}): CloudFormation cannot give "
                    "each the other's ARN; pass one of them its ARN in the input instead"
                )
            visit(started, (*path, started))

    for name in machines:
        visit(name, (name,))


def _project_function(project: Project, name: str, where: str) -> str:
    if name not in project.functions:
        raise ExportError(f"{where}: invokes {name!r}, which is not one of the project's functions")
    return name


def data_api_action(operation: str, where: str) -> str:
    """The IAM action a Data API operation needs (GetStatementResultV2 needs GetStatementResult)."""
    if operation not in wire.service_model(DATA_API_SERVICE).operation_names:
        raise ExportError(f"{where}: the Data API has no operation {operation}")
    return "GetStatementResult" if operation == "GetStatementResultV2" else operation


@cache
def _data_api_operations() -> dict[str, str]:
    """boto3's method name (`execute_statement`) -> the Data API operation it calls."""
    return {xform_name(op): op for op in wire.service_model(DATA_API_SERVICE).operation_names}


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
    root = package_root(project, config)
    files = imported_files(config.source, root)
    for where, service, method in client_calls(files, root, project.root):
        where = f"function {config.name!r} ({where})"
        if service == DATA_API_SERVICE:
            operation = _data_api_operations().get(method)
            if operation is None:
                raise ExportError(f"{where}: the Data API has no method {method}")
            data_api.add(data_api_action(operation, where))
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

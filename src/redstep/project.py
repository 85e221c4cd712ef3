"""A redstep project: a folder with `redstep.toml`, its state kept in `.redstep/` beside it.

The file this module reads:

    [warehouse]                       # the default warehouse (this table may be absent)
    url = "duckdb:///.redstep/warehouse.duckdb"

    [warehouses.analytics-cluster]    # ClusterIdentifier / WorkgroupName -> a named warehouse
    url = "postgresql://postgres@127.0.0.1:5432/analytics"

    [buckets.sales-data]              # s3://sales-data/... -> a local folder
    path = "data/sales"

    [state_machines.sales_data_pipeline]       # created (or updated) when redstep starts
    definition = "workflows/sales_data_pipeline.asl.json"
    role_arn = "arn:aws:iam::123456789012:role/etl"   # optional; nothing checks it locally
    type = "STANDARD"                 # optional; or "EXPRESS" (fixed once the machine exists)
    [state_machines.sales_data_pipeline.substitutions]  # ${Name} in the definition, as
    Bucket = "sales-data"                               # CloudFormation's DefinitionSubstitutions
    SetupSqls = { statements = "sql/setup.sql" }        # "${SetupSqls}" -> ["create ...", ...]
    [triggers.nightly]                # starts an execution on a schedule (EventBridge syntax, UTC)
    state_machine = "sales_data_pipeline"
    input = { run_date = "2024-01-01" }        # a table, or a JSON text
    schedule = "cron(0 2 * * ? *)"
    catch_up = false                  # fire the times missed while redstep was down

    [triggers.on-upload]              # ... or once per object written under a prefix of a bucket
    state_machine = "sales_data_pipeline"
    bucket = "sales-data"
    prefix = "incoming/"

    [functions.redshift_batch_data_api]        # a Lambda function, run locally (redstep.functions)
    handler = "functions/redshift_batch_data_api.py:handler"
    timeout = 60                      # seconds, 1 to 900 (Lambda's default: 3)
    memory = 256                      # MB, 128 to 10240, reported only (Lambda's default: 128)
    environment = { SCRIPTS_BUCKET = "sales-scripts" }   # strings; Lambda's reserved keys refused

A function's handler is spelled one of three ways: a file under the project folder and a function
(`functions/app.py:handler`), a module importable from the project folder and a function
(`package.module:handler`), or Lambda's own `module.handler` (the last dot separates, and slashes
may stand for dots, as Lambda allows). A module must be a file of the project's, as a Lambda
function's code is its deployment package.

A substitution is a string, a number, a boolean, or `{ statements = "<file>.sql" }`: a SQL
script of the project's, split into its statements (comments between them dropped), for a
BatchExecuteStatement's `Sqls`. Its placeholder must be a whole JSON string (`"Sqls":
"${SetupSqls}"`), which becomes the JSON array of the statements, so the SQL lives once, in its
file, and the definition stays plain ASL.

Every problem is reported with the file and the key it concerns.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from redstep.schedules import ScheduleError, parse_schedule
from redstep.warehouse.dialect import split_script
from redstep.warehouse.dialect.script import ScriptError
from redstep.warehouse.registry import WarehouseOptions, WarehouseUrlError, check_url

CONFIG_FILE = "redstep.toml"
STATE_DIR = ".redstep"
OWNER_FILE = "owner.lock"
DEFAULT_WAREHOUSE_URL = f"duckdb:///{STATE_DIR}/warehouse.duckdb"
DEFAULT_WAREHOUSE = "default"
"""The name under which the `[warehouse]` table's warehouse is known."""
DEFAULT_ROLE_ARN = "arn:aws:iam::123456789012:role/redstep"
"""The role a project's state machine carries when its table names none (nothing checks it)."""
STATE_MACHINE_TYPES = ("STANDARD", "EXPRESS")
"""A state machine's `type`, as CreateStateMachine's; the first is the default."""

_PLACEHOLDER = re.compile(r'(?P<open>(?<!\\)")?\$\{(?P<name>[A-Za-z0-9_.:-]+)\}(?P<close>")?')
"""`${Name}`, with the quotes around it when it is a whole JSON string (a statements list
replaces the quotes too)."""
STATEMENTS_KEY = "statements"
"""The key of a substitution that is a SQL file's statements: `{ statements = "sql/x.sql" }`."""
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
"""S3's rule for a bucket name: 3 to 63 lowercase letters, digits, dots and hyphens."""
_FUNCTION_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
"""Lambda's rule for a function name."""
_ENVIRONMENT_KEY = re.compile(r"[a-zA-Z][a-zA-Z0-9_]+")
"""Lambda's rule for an environment variable's name."""

DEFAULT_FUNCTION_TIMEOUT = 3
"""Seconds, as Lambda's default; a table may say 1 to 900."""
DEFAULT_FUNCTION_MEMORY = 128
"""MB, as Lambda's default; a table may say 128 to 10240."""
ENVIRONMENT_SIZE_LIMIT = 4096
"""Bytes: Lambda's limit on a function's variables, measured as their JSON text."""
RESERVED_ENVIRONMENT_KEYS = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)
"""The variables Lambda sets itself and refuses in a function's configuration."""


class ProjectError(ValueError):
    """`redstep.toml` is unreadable or says something redstep does not accept."""


class ProjectInUse(RuntimeError):
    """Another redstep process owns the project's state."""


@dataclass(frozen=True, slots=True)
class StateMachineConfig:
    """A `[state_machines.<name>]` table: a definition file, its placeholders filled in."""

    name: str
    definition: str
    """The definition's text with every `${Name}` replaced from `substitutions`."""
    source: Path
    role_arn: str = DEFAULT_ROLE_ARN
    type: str = STATE_MACHINE_TYPES[0]
    """STANDARD or EXPRESS (`redstep.runtime.express`)."""


@dataclass(frozen=True, slots=True)
class TriggerConfig:
    """A `[triggers.<name>]` table: what starts `state_machine`, and with which input.

    Exactly one of `schedule` (EventBridge's `cron(…)` / `rate(…)`, in UTC) and `bucket` is set;
    a bucket trigger fires for each object written under `prefix`.
    """

    name: str
    state_machine: str
    input: str | None
    """The execution input as JSON text; None to pass the event that fired, as EventBridge does
    for a target without a constant input."""
    schedule: str | None = None
    bucket: str | None = None
    prefix: str = ""
    catch_up: bool = False


@dataclass(frozen=True, slots=True)
class FunctionConfig:
    """A `[functions.<name>]` table: a Python handler that Task states invoke as a Lambda function.

    `handler` is kept as written; `handler_module`, `handler_function` and `is_file_handler` say
    how to load it, and `source` is the file it lives in (checked to exist in the project).
    """

    name: str
    handler: str
    timeout: int
    """Seconds the handler may run before it is stopped, as Lambda's timeout."""
    memory: int
    """MB; reported in the logs and the context only, never enforced."""
    environment: Mapping[str, str]
    """The function's own variables (Lambda's reserved keys are refused)."""
    source: Path
    """The absolute path of the file that defines the handler."""

    @property
    def is_file_handler(self) -> bool:
        """Whether the handler names a file (`functions/app.py:handler`) rather than a module."""
        return _split_handler(self.handler)[2]

    @property
    def handler_module(self) -> str:
        """The module's name: dotted as imported, or a file's stem (the name it is loaded as)."""
        target, _, is_file = _split_handler(self.handler)
        return Path(target).stem if is_file else target.replace("/", ".")

    @property
    def handler_function(self) -> str:
        """The name of the handler function in its module."""
        return _split_handler(self.handler)[1]


@dataclass(frozen=True, slots=True)
class Project:
    """A loaded project: where it lives and what its `redstep.toml` says."""

    root: Path
    warehouses: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({DEFAULT_WAREHOUSE: DEFAULT_WAREHOUSE_URL})
    )
    """Warehouse name -> URL; `default` is always present."""
    buckets: Mapping[str, Path] = field(default_factory=lambda: MappingProxyType({}))
    """Bucket name -> absolute local folder."""
    state_machines: Mapping[str, StateMachineConfig] = field(
        default_factory=lambda: MappingProxyType({})
    )
    triggers: Mapping[str, TriggerConfig] = field(default_factory=lambda: MappingProxyType({}))
    functions: Mapping[str, FunctionConfig] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def state_dir(self) -> Path:
        """Where the project's state lives: the store, the DuckDB file, statement results."""
        return self.root / STATE_DIR

    def warehouse_name(self, identifier: str | None) -> str:
        """The warehouse a ClusterIdentifier or WorkgroupName routes to (the default otherwise)."""
        if identifier and identifier in self.warehouses:
            return identifier
        return DEFAULT_WAREHOUSE

    def warehouse_options(self) -> WarehouseOptions:
        """What every backend of this project needs beyond its URL."""
        return WarehouseOptions(root=self.root, buckets=self.buckets)

    def own_state(self) -> StateOwnership:
        """Take the project's state for this process, or raise ProjectInUse naming the owner.

        One process owns `.redstep/` at a time (a DuckDB file takes one writer, and a starting
        process marks the statements it finds running as interrupted). The claim is an advisory
        lock held until `StateOwnership.release` or the process's end, so a killed owner never
        leaves a stale claim behind.
        """
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self.state_dir / OWNER_FILE
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(descriptor, 64, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(descriptor)
            raise ProjectInUse(
                f"the project at {self.root} is in use by another redstep process (PID {owner})"
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode("ascii"), 0)
        return StateOwnership(descriptor)


class StateOwnership:
    """This process's claim on a project's state; see `Project.own_state`."""

    def __init__(self, descriptor: int) -> None:
        self._descriptor: int | None = descriptor

    def release(self) -> None:
        """Give the state up (closing the lock file releases the lock)."""
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None


def load_project(root: Path | str = ".") -> Project:
    """Read `redstep.toml` in `root`; a folder without one is a project with every default."""
    folder = Path(root).resolve()
    if not folder.is_dir():
        raise ProjectError(f"{folder}: no such project folder")
    path = folder / CONFIG_FILE
    if not path.is_file():
        return Project(root=folder)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ProjectError(f"{path}: {error}") from error
    return _parse(document, folder, path)


def _parse(document: Mapping[str, Any], folder: Path, path: Path) -> Project:
    known = {"warehouse", "warehouses", "buckets", "state_machines", "triggers", "functions"}
    _reject_unknown(document, known, path, prefix="")
    warehouses = {DEFAULT_WAREHOUSE: DEFAULT_WAREHOUSE_URL}
    if "warehouse" in document:
        warehouses[DEFAULT_WAREHOUSE] = _warehouse_url(document["warehouse"], path, "warehouse")
    for name, table in _tables(document.get("warehouses", {}), path, "warehouses").items():
        warehouses[name] = _warehouse_url(table, path, f"warehouses.{name}")
    buckets: dict[str, Path] = {}
    for name, table in _tables(document.get("buckets", {}), path, "buckets").items():
        key = f"buckets.{name}"
        _reject_unknown(table, {"path"}, path, prefix=key)
        bucket_path = table.get("path")
        if not isinstance(bucket_path, str) or not bucket_path:
            raise ProjectError(f"{path}: {key}.path must be a folder path (a string)")
        if not _BUCKET_NAME.fullmatch(name):
            raise ProjectError(
                f"{path}: {key}: {name!r} is not a bucket name S3 accepts (3 to 63 lowercase "
                "letters, digits, dots and hyphens, starting and ending with a letter or digit)"
            )
        buckets[name] = (folder / bucket_path).resolve()
        state_dir = folder / STATE_DIR
        if (
            buckets[name] == state_dir
            or state_dir.is_relative_to(buckets[name])
            or (buckets[name].is_relative_to(state_dir))
        ):
            raise ProjectError(
                f"{path}: {key}.path must not hold redstep's own state ({state_dir}): "
                "name a folder beside it"
            )
    state_machines = {
        name: _state_machine(name, table, folder, path)
        for name, table in _tables(
            document.get("state_machines", {}), path, "state_machines"
        ).items()
    }
    triggers = {
        name: _trigger(name, table, path, state_machines, buckets)
        for name, table in _tables(document.get("triggers", {}), path, "triggers").items()
    }
    functions = {
        name: _function(name, table, folder, path)
        for name, table in _tables(document.get("functions", {}), path, "functions").items()
    }
    return Project(
        root=folder,
        warehouses=MappingProxyType(warehouses),
        buckets=MappingProxyType(buckets),
        state_machines=MappingProxyType(state_machines),
        triggers=MappingProxyType(triggers),
        functions=MappingProxyType(functions),
    )


def _state_machine(
    name: str, table: Mapping[str, Any], folder: Path, path: Path
) -> StateMachineConfig:
    key = f"state_machines.{name}"
    _reject_unknown(table, {"definition", "substitutions", "role_arn", "type"}, path, prefix=key)
    source = table.get("definition")
    if not isinstance(source, str) or not source:
        raise ProjectError(f"{path}: {key}.definition must be the path of a definition file")
    source_path = (folder / source).resolve()
    try:
        text = source_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ProjectError(
            f"{path}: {key}.definition: cannot read {source_path}: {error}"
        ) from None
    substitutions = _substitutions(
        table.get("substitutions", {}), folder, path, f"{key}.substitutions"
    )
    placeholders = [match["name"] for match in _PLACEHOLDER.finditer(text)]
    missing = sorted({m for m in placeholders if m not in substitutions})
    if missing:
        names = ", ".join(f"${{{m}}}" for m in missing)
        raise ProjectError(f"{path}: {key}.substitutions: nothing given for {names} in {source}")

    def substitute(match: re.Match[str]) -> str:
        value = substitutions[match["name"]]
        opening, closing = match["open"] or "", match["close"] or ""
        if isinstance(value, tuple):
            if not (opening and closing):
                raise ProjectError(
                    f"{path}: {key}.substitutions.{match['name']}: a statements list must "
                    f'replace a whole JSON string ("${{{match["name"]}}}") in {source}'
                )
            return json.dumps(list(value))
        written = json.dumps(value) if isinstance(value, bool) else str(value)
        return f"{opening}{written}{closing}"

    role_arn = table.get("role_arn", DEFAULT_ROLE_ARN)
    if not isinstance(role_arn, str):
        raise ProjectError(f"{path}: {key}.role_arn must be a string")
    kind = table.get("type", STATE_MACHINE_TYPES[0])
    if kind not in STATE_MACHINE_TYPES:
        expected = " or ".join(STATE_MACHINE_TYPES)
        raise ProjectError(f"{path}: {key}.type must be {expected}, not {kind!r}")
    definition = _PLACEHOLDER.sub(substitute, text)
    return StateMachineConfig(name, definition, source_path, role_arn, kind)


Substitution = str | int | float | bool | tuple[str, ...]
"""A placeholder's value: text put in as it is, or a SQL file's statements (a JSON array)."""


def _substitutions(value: object, folder: Path, path: Path, key: str) -> dict[str, Substitution]:
    if not isinstance(value, dict):
        raise ProjectError(f"{path}: {key} must be a table")
    substitutions: dict[str, Substitution] = {}
    for name, given in value.items():
        if isinstance(given, dict):
            substitutions[name] = _statements(given, folder, path, f"{key}.{name}")
        elif isinstance(given, str | int | float | bool):
            substitutions[name] = given
        else:
            raise ProjectError(
                f"{path}: {key} must map names to strings, numbers or "
                '{ statements = "<file>.sql" } tables'
            )
    return substitutions


def _statements(table: Mapping[str, Any], folder: Path, path: Path, key: str) -> tuple[str, ...]:
    """A SQL file's statements, each as written, without the comments around it."""
    _reject_unknown(table, {STATEMENTS_KEY}, path, prefix=key)
    source = table.get(STATEMENTS_KEY)
    if not isinstance(source, str) or not source:
        raise ProjectError(f"{path}: {key}.{STATEMENTS_KEY} must be the path of a SQL file")
    file = (folder / source).resolve()
    try:
        script = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ProjectError(f"{path}: {key}.{STATEMENTS_KEY}: cannot read {file}: {error}") from None
    try:
        statements = split_script(script, with_comments=False)
    except ScriptError as error:
        raise ProjectError(f"{path}: {key}.{STATEMENTS_KEY}: {file}: {error}") from None
    if not statements:
        raise ProjectError(f"{path}: {key}.{STATEMENTS_KEY}: no SQL statement in {file}")
    return tuple(statements)


def _trigger(
    name: str,
    table: Mapping[str, Any],
    path: Path,
    state_machines: Mapping[str, StateMachineConfig],
    buckets: Mapping[str, Path],
) -> TriggerConfig:
    key = f"triggers.{name}"
    known = {"state_machine", "input", "schedule", "catch_up", "bucket", "prefix"}
    _reject_unknown(table, known, path, prefix=key)
    machine = table.get("state_machine")
    if not isinstance(machine, str) or machine not in state_machines:
        declared = ", ".join(sorted(state_machines)) or "none"
        raise ProjectError(
            f"{path}: {key}.state_machine must name a [state_machines.<name>] table "
            f"(declared: {declared})"
        )
    schedule, bucket = table.get("schedule"), table.get("bucket")
    if (schedule is None) == (bucket is None):
        raise ProjectError(f"{path}: {key} needs either `schedule` or `bucket`, not both")
    if schedule is not None:
        if not isinstance(schedule, str):
            raise ProjectError(f"{path}: {key}.schedule must be a string")
        try:
            parse_schedule(schedule)
        except ScheduleError as error:
            raise ProjectError(f"{path}: {key}.schedule: {error}") from None
        if "prefix" in table:
            raise ProjectError(f"{path}: {key}.prefix belongs to bucket triggers")
    if bucket is not None:
        if bucket not in buckets:
            raise ProjectError(f"{path}: {key}.bucket must name a [buckets.<name>] table")
        if "catch_up" in table:
            raise ProjectError(f"{path}: {key}.catch_up belongs to schedule triggers")
    prefix, catch_up = table.get("prefix", ""), table.get("catch_up", False)
    if not isinstance(prefix, str):
        raise ProjectError(f"{path}: {key}.prefix must be a string")
    if not isinstance(catch_up, bool):
        raise ProjectError(f"{path}: {key}.catch_up must be true or false")
    return TriggerConfig(
        name=name,
        state_machine=machine,
        input=_input_text(table["input"], path, key) if "input" in table else None,
        schedule=schedule,
        bucket=bucket,
        prefix=prefix,
        catch_up=catch_up,
    )


def _function(name: str, table: Mapping[str, Any], folder: Path, path: Path) -> FunctionConfig:
    key = f"functions.{name}"
    _reject_unknown(table, {"handler", "timeout", "memory", "environment"}, path, prefix=key)
    if not _FUNCTION_NAME.fullmatch(name):
        raise ProjectError(
            f"{path}: {key}: {name!r} is not a function name Lambda accepts (1 to 64 letters, "
            "digits, hyphens and underscores)"
        )
    handler = table.get("handler")
    if not isinstance(handler, str):
        raise ProjectError(
            f"{path}: {key}.handler must be a string: a file and a function "
            '("functions/app.py:handler"), a module and a function ("package.module:handler"), '
            'or Lambda\'s "module.handler"'
        )
    source = _handler_source(handler, folder, path, f"{key}.handler")
    timeout = _whole_number(table, "timeout", DEFAULT_FUNCTION_TIMEOUT, (1, 900), path, key)
    memory = _whole_number(table, "memory", DEFAULT_FUNCTION_MEMORY, (128, 10240), path, key)
    environment = _environment(table.get("environment", {}), path, f"{key}.environment")
    return FunctionConfig(name, handler, timeout, memory, environment, source)


def _split_handler(handler: str) -> tuple[str, str, bool]:
    """A handler's (file or module, function, whether the first is a file)."""
    if ":" in handler:
        target, _, function = handler.rpartition(":")
        return target, function, target.endswith(".py")
    module, _, function = handler.rpartition(".")
    return module, function, False


def _handler_source(handler: str, folder: Path, path: Path, key: str) -> Path:
    """The file a handler lives in, which must be in the project folder."""
    target, function, is_file = _split_handler(handler)
    if ":" not in handler and handler.endswith(".py"):
        raise ProjectError(
            f"{path}: {key}: {handler!r} names a file but no function: write {handler}:handler"
        )
    if not function.isidentifier():
        raise ProjectError(f"{path}: {key}: {function!r} in {handler!r} is not a function name")
    if is_file:
        source = (folder / target).resolve()
        if not source.is_relative_to(folder):
            raise ProjectError(f"{path}: {key}: {target} is not inside the project folder")
        if not source.is_file():
            raise ProjectError(f"{path}: {key}: no file {target} in the project folder")
        return source
    if not target:
        raise ProjectError(
            f"{path}: {key}: {handler!r} names no module: write file.py:function, "
            "package.module:function or module.function"
        )
    # Lambda's own spelling may use slashes for dots ("functions/app.handler").
    dotted = target if ":" in handler else target.replace("/", ".")
    parts = dotted.split(".")
    if not all(part.isidentifier() for part in parts):
        raise ProjectError(
            f"{path}: {key}: {target!r} is neither a Python module nor a file ending in .py"
        )
    base = folder.joinpath(*parts)
    for candidate in (base.with_name(base.name + ".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate.resolve()
    relative = "/".join(parts)
    raise ProjectError(
        f"{path}: {key}: module {'.'.join(parts)!r} is not in the project folder "
        f"(looked for {relative}.py and {relative}/__init__.py)"
    )


def _whole_number(
    table: Mapping[str, Any],
    name: str,
    default: int,
    bounds: tuple[int, int],
    path: Path,
    key: str,
) -> int:
    value = table.get(name, default)
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProjectError(f"{path}: {key}.{name} must be a whole number from {low} to {high}")
    return value


def _environment(value: object, path: Path, key: str) -> Mapping[str, str]:
    """A function's variables, checked as Lambda checks them."""
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ProjectError(f"{path}: {key} must map names to strings")
    for name in value:
        if not _ENVIRONMENT_KEY.fullmatch(name):
            raise ProjectError(
                f"{path}: {key}: {name!r} is not a variable name Lambda accepts (a letter, then "
                "one or more letters, digits and underscores)"
            )
    reserved = sorted(RESERVED_ENVIRONMENT_KEYS.intersection(value))
    if reserved:
        raise ProjectError(
            f"{path}: {key}: Lambda was unable to configure your environment variables because "
            "the environment variables you have provided contains reserved keys that are "
            f"currently not supported for modification. Reserved keys used in this request: "
            f"{', '.join(reserved)}"
        )
    measured = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if len(measured.encode("utf-8")) > ENVIRONMENT_SIZE_LIMIT:
        raise ProjectError(
            f"{path}: {key}: Lambda was unable to configure your environment variables because "
            "the environment variables you have provided exceeded the 4KB limit. "
            f"String measured: {measured}"
        )
    return MappingProxyType(dict(value))


def _input_text(value: object, path: Path, key: str) -> str:
    """A trigger's input: a TOML table, or a string of JSON."""
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError as error:
            raise ProjectError(f"{path}: {key}.input is not JSON: {error}") from None
        return value
    raise ProjectError(f"{path}: {key}.input must be a table or a string of JSON")


def _warehouse_url(table: object, path: Path, key: str) -> str:
    if not isinstance(table, dict):
        raise ProjectError(f"{path}: {key} must be a table with a `url`")
    _reject_unknown(table, {"url"}, path, prefix=key)
    url = table.get("url")
    if not isinstance(url, str):
        raise ProjectError(f"{path}: {key}.url must be a string")
    try:
        check_url(url)
    except WarehouseUrlError as error:
        raise ProjectError(f"{path}: {key}.url: {error}") from error
    return url


def _tables(value: object, path: Path, key: str) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ProjectError(f"{path}: {key} must hold tables, as [{key}.<name>]")
    return value


def _reject_unknown(table: Mapping[str, Any], known: set[str], path: Path, *, prefix: str) -> None:
    for key in table:
        if key not in known:
            name = f"{prefix}.{key}" if prefix else key
            expected = ", ".join(sorted(known))
            raise ProjectError(f"{path}: unknown key {name!r} (expected one of: {expected})")

"""The environment variables of a function's worker process, layered as Lambda's are:

1. redstep's own environment, without any variable whose name starts with `AWS_`: no real
   credentials, profile or region of the machine leak into a local function;
2. what Lambda sets itself (`AWS_LAMBDA_FUNCTION_NAME`, `AWS_REGION`, `_HANDLER`,
   `LAMBDA_TASK_ROOT` = the project folder, …, placeholder credentials, and `TZ=:UTC`);
3. the variables redstep injects (the local endpoints, and the credentials they accept);
4. the function's own `environment` from redstep.toml, which may override an injected variable,
   never one of Lambda's reserved keys.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from redstep.functions.invocation import LATEST
from redstep.project import RESERVED_ENVIRONMENT_KEYS, FunctionConfig

PLACEHOLDER_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "ASIAREDSTEPLOCAL0000",
    "AWS_SECRET_ACCESS_KEY": "redstep-local-functions-have-no-real-credentials",
    "AWS_SESSION_TOKEN": "redstep-local-session-token",
}
"""What a function's AWS SDK signs with when nothing injected says otherwise."""


def worker_variables(
    config: FunctionConfig,
    *,
    root: Path,
    region: str,
    log_stream: str,
    injected: Mapping[str, str],
    inherited: Mapping[str, str],
) -> dict[str, str]:
    """The environment of one worker process of `config`'s function (see the module)."""
    variables = {key: value for key, value in inherited.items() if not key.startswith("AWS_")}
    variables.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": config.name,
            "AWS_LAMBDA_FUNCTION_VERSION": LATEST,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory),
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": log_group(config.name),
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python3.{sys.version_info.minor}",
            "LAMBDA_TASK_ROOT": str(root),
            "_HANDLER": lambda_handler(config, root),
            "TZ": ":UTC",
            **PLACEHOLDER_CREDENTIALS,
        }
    )
    variables.update(injected)
    variables.update(
        {k: v for k, v in config.environment.items() if k not in RESERVED_ENVIRONMENT_KEYS}
    )
    return variables


def log_group(function_name: str) -> str:
    return f"/aws/lambda/{function_name}"


def lambda_handler(config: FunctionConfig, root: Path) -> str:
    """The handler as Lambda spells it in `_HANDLER`: `module.function`, a file's path (relative
    to the project, without `.py`) standing for the module, as Lambda allows."""
    if config.is_file_handler and config.source.is_relative_to(root):
        module = config.source.relative_to(root).with_suffix("").as_posix()
    else:
        module = config.handler_module
    return f"{module}.{config.handler_function}"

"""The context object (`$$`): what an execution knows about itself and the state it runs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redstep.asl.timestamps import format_timestamp


@dataclass(frozen=True, slots=True)
class ExecutionInfo:
    """The facts of one execution: `$$.Execution`, `$$.StateMachine`, and its random seed."""

    execution_arn: str
    name: str
    state_machine_arn: str
    state_machine_name: str
    role_arn: str
    input: str
    start_time: datetime
    seed: int
    region: str = "us-east-1"
    redrive_count: int = 0

    def execution_context(self) -> dict[str, Any]:
        """`$$.Execution` (the same for every state of the execution)."""
        return {
            "Id": self.execution_arn,
            "Input": json.loads(self.input),
            "Name": self.name,
            "RoleArn": self.role_arn,
            "StartTime": format_timestamp(self.start_time),
            "RedriveCount": self.redrive_count,
        }


def context_object(
    info: ExecutionInfo,
    execution: dict[str, Any],
    state_name: str,
    entered_at: datetime,
    retry_count: int,
    task_token: str | None = None,
    map_item: tuple[int, Any] | None = None,
) -> dict[str, Any]:
    """The whole `$$` object as a state sees it."""
    context: dict[str, Any] = {
        "Execution": execution,
        "State": {
            "EnteredTime": format_timestamp(entered_at),
            "Name": state_name,
            "RetryCount": retry_count,
        },
        "StateMachine": {"Id": info.state_machine_arn, "Name": info.state_machine_name},
    }
    if task_token is not None:
        context["Task"] = {"Token": task_token}
    if map_item is not None:
        context["Map"] = {"Item": {"Index": map_item[0], "Value": map_item[1]}}
    return context

"""Workflow variables: what one Assign may store, checked against AWS's quotas.

A state's Assign evaluates to an object of variable names and values. AWS bounds each value and
each Assign to 256 KiB of JSON text; a state that assigns more fails with States.Runtime.
Where variables live (a flow's scope, read by the branches and iterations inside it) is
`redstep.engine.flows.Flow`.
"""

from __future__ import annotations

from typing import Any

from redstep.asl.errors import StatesError, StatesFailure
from redstep.asl.paths import to_json

#: AWS's quota on one variable's value and on all the values of one Assign, in bytes of JSON.
MAX_ASSIGN_BYTES = 256 * 1024


def checked_assignment(assigned: Any) -> dict[str, Any]:
    """An Assign's evaluated object, within AWS's size quotas; raises StatesFailure."""
    if not isinstance(assigned, dict):
        raise StatesFailure(
            StatesError.RUNTIME,
            f"The value of the field 'Assign' must be an object, but was: {to_json(assigned)}",
        )
    total = 0
    for name, value in assigned.items():
        size = len(to_json(value).encode())
        if size > MAX_ASSIGN_BYTES:
            raise StatesFailure(
                StatesError.RUNTIME,
                f"The variable '{name}' is {size} bytes, more than the {MAX_ASSIGN_BYTES} bytes "
                "a variable may hold",
            )
        total += size
    if total > MAX_ASSIGN_BYTES:
        raise StatesFailure(
            StatesError.RUNTIME,
            f"The field 'Assign' assigns {total} bytes, more than the {MAX_ASSIGN_BYTES} bytes "
            "one Assign may hold",
        )
    return assigned

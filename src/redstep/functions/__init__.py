"""Functions: a project's `[functions.<name>]` handlers, run as AWS Lambda runs Python.

`Functions` (`pool.py`) keeps, for each function, a pool of warm worker processes
(`sandbox.py`): an invocation takes an idle one or starts another, and module state survives
from one invocation to the next on the same worker. `invoke()` answers with an `Invocation`
(`invocation.py`, which also names what a caller may see raised) whose `result()` is what
Lambda's Invoke API answers, an `InvocationResult`: the handler's return value as JSON, or
Lambda's error object with `function_error="Unhandled"` (`faults.py`). The worker (`worker.py`,
run as `python -m redstep.functions.worker`) is Lambda's Python runtime: it imports the handler,
gives it a Lambda context, and writes the invocation's output, between Lambda's START/END/REPORT
lines (`logs.py`), to the log file the caller names. Its environment variables are Lambda's
(`variables.py`). Parent and worker talk over a pipe pair of their own (`messages.py`).

The worker imports only the standard library and the modules here that do, so this package
loads its parent-side modules only when first asked for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redstep.functions.invocation import (
        LATEST,
        InvalidRequestContentException,
        Invocation,
        InvocationCancelled,
        InvocationResult,
        RequestEntityTooLargeException,
        UnknownFunction,
    )
    from redstep.functions.pool import Functions

__all__ = [
    "LATEST",
    "Functions",
    "InvalidRequestContentException",
    "Invocation",
    "InvocationCancelled",
    "InvocationResult",
    "RequestEntityTooLargeException",
    "UnknownFunction",
]


def __getattr__(name: str) -> Any:
    # The worker process imports this package too: it must not pay for the parent's modules.
    if name in __all__:
        import importlib

        module = "redstep.functions.pool" if name == "Functions" else "redstep.functions.invocation"
        return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module 'redstep.functions' has no attribute {name!r}")

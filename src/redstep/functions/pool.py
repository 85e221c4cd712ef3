"""`Functions`: a project's Lambda functions, each with a pool of warm worker processes.

An invocation takes an idle sandbox of its function, or starts a new one when every sandbox is
busy (as Lambda scales out), and the sandbox goes back to the pool when the handler is done
(`redstep.functions.sandbox`). Sandboxes are never retired for age: a warm worker lives until
it dies, is discarded after a failure, or `close()`.

The pool's lock guards only which sandboxes exist and which are idle; nothing slow (starting a
process, asking for the injected variables) happens under it, so `invoke()` returns at once.
An idle sandbox whose worker is seen to have died is passed over, never handed the invocation.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType

from redstep.functions.invocation import (
    InvalidRequestContentException,
    Invocation,
    RequestEntityTooLargeException,
    UnknownFunction,
)
from redstep.functions.sandbox import EXIT_GRACE_SECONDS, Job, Sandbox, SandboxSpec
from redstep.functions.variables import worker_variables
from redstep.project import FunctionConfig

logger = logging.getLogger(__name__)

# redstep.runtime.arns has it too, but the layers keep redstep.functions from importing it.
DEFAULT_ACCOUNT = "123456789012"
MAX_REQUEST_BYTES = 6_291_456
"""The largest payload Lambda takes for a synchronous invocation (6 MB)."""
CLOSE_SECONDS = EXIT_GRACE_SECONDS + 3.0
"""How long `close()` waits, at most, for the threads whose workers it kills."""


class Functions:
    """The functions of a project, run locally as AWS Lambda runs them."""

    def __init__(
        self,
        configs: Mapping[str, FunctionConfig],
        *,
        root: Path,
        region: str,
        account: str = DEFAULT_ACCOUNT,
        environment: Callable[[], Mapping[str, str]] = dict,
    ) -> None:
        """`environment()` gives the variables to inject into each worker as it starts (the
        local endpoints); it is called on the starting sandbox's thread, never under a lock."""
        self._region, self._account = region, account
        self._root = Path(root).resolve()
        self._environment = environment
        self._specs = {
            name: SandboxSpec(config, self._root, self.arn(name), self._variables_of(config))
            for name, config in configs.items()
        }
        self._lock = threading.Lock()
        self._idle: dict[str, list[Sandbox]] = {name: [] for name in self._specs}
        self._sandboxes: set[Sandbox] = set()
        self._started: list[Sandbox] = []
        """Every sandbox whose thread may still run, forgotten or not."""
        self._serial = itertools.count(1)
        self._is_closed = False

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def arn(self, name: str) -> str:
        """The function's ARN, as Lambda would have it in this region and account."""
        return f"arn:aws:lambda:{self._region}:{self._account}:function:{name}"

    def invoke(
        self,
        name: str,
        payload: bytes,
        *,
        log: Path | None = None,
        request_id: str | None = None,
    ) -> Invocation:
        """Start an invocation at once (never waiting for the handler); its output is appended
        to `log` (discarded if None; a relative path is taken from the current folder). An empty
        payload is the event `{}`.

        Raises UnknownFunction, RequestEntityTooLargeException for a payload over Lambda's
        limit, or InvalidRequestContentException for a payload not JSON."""
        if name not in self._specs:
            raise UnknownFunction(name, self.arn(name))
        payload = bytes(payload)
        if len(payload) > MAX_REQUEST_BYTES:
            raise RequestEntityTooLargeException(
                f"Request must be smaller than {MAX_REQUEST_BYTES} bytes for the InvokeFunction "
                "operation"
            )
        if payload.strip():
            try:
                json.loads(payload)
            except ValueError as error:
                raise InvalidRequestContentException(
                    "Could not parse request body into json: Could not parse payload into json: "
                    f"{error}"
                ) from None
        invocation = Invocation(request_id or str(uuid.uuid4()), function=name)
        # Absolute here, once: the worker runs in the project folder, redstep's thread does not.
        absolute = None if log is None else Path(os.path.abspath(log))
        self.dispatch(Job(name, invocation, payload, absolute))
        return invocation

    def close(self) -> None:
        """Kill every worker and end every thread; invocations under way are cancelled. Later
        invocations are cancelled as they start. Idempotent.

        Waits (for `CLOSE_SECONDS` at most) for the threads that started a worker to kill and
        reap it; a thread still asking for the environment ends when that returns, starting
        nothing."""
        with self._lock:
            self._is_closed = True
            sandboxes = list(self._sandboxes)
            started, self._started = self._started, []
            for idle in self._idle.values():
                idle.clear()
        for sandbox in sandboxes:
            sandbox.stop()
        deadline = time.monotonic() + CLOSE_SECONDS
        current = threading.current_thread()
        for sandbox in started:
            # Not the thread calling: close() from `environment()`, on a sandbox's thread.
            if sandbox.has_process and sandbox.thread is not current:
                sandbox.thread.join(max(deadline - time.monotonic(), 0))
                if sandbox.thread.is_alive():
                    logger.warning("function %s: a worker was not reaped", sandbox.spec.config.name)

    def __enter__(self) -> Functions:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- SandboxOwner ---------------------------------------------------------------------------

    def dispatch(self, job: Job) -> None:
        """Give a job to an idle sandbox of its function, or to a new one."""
        with self._lock:
            if not self._is_closed:
                if job.invocation.is_cancelled:
                    return
                idle = self._idle[job.function]
                while idle:
                    sandbox = idle.pop()  # the most recent: the warmest
                    if not sandbox.has_exited():  # a dead one is its thread's to forget
                        sandbox.assign(job)
                        return
                sandbox = Sandbox(self._specs[job.function], self, job, serial=next(self._serial))
                self._sandboxes.add(sandbox)
                self._started = [other for other in self._started if other.thread.is_alive()]
                self._started.append(sandbox)
                sandbox.start()
                return
        job.invocation.cancel()

    def release(self, sandbox: Sandbox) -> bool:
        with self._lock:
            if self._is_closed or sandbox not in self._sandboxes:
                return False
            self._idle[sandbox.spec.config.name].append(sandbox)
            return True

    def forget(self, sandbox: Sandbox) -> None:
        with self._lock:
            self._sandboxes.discard(sandbox)
            idle = self._idle.get(sandbox.spec.config.name, [])
            if sandbox in idle:
                idle.remove(sandbox)

    def _variables_of(self, config: FunctionConfig) -> Callable[[str], Mapping[str, str]]:
        def variables(log_stream: str) -> Mapping[str, str]:
            return worker_variables(
                config,
                root=self._root,
                region=self._region,
                log_stream=log_stream,
                injected=self._environment(),
                inherited=os.environ,
            )

        return variables

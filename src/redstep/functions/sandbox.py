"""One warm worker process of a function, and the thread that keeps it: Lambda's execution
environment.

A sandbox runs one invocation at a time, and is reused for as long as its process lives. Its
thread owns the process from start to reaping, and nothing else touches it; others talk to the
thread through the sandbox's state and a wake-up pipe. The life of a sandbox:

1. Started for an invocation that found no idle sandbox of its function. The thread asks for the
   worker's environment variables (which may be slow: it may start the local endpoint), then
   starts `python -P -m redstep.functions.worker` in the project folder, in a session of its own
   (so that the terminal's Ctrl-C does not reach it, and its whole process group can be killed),
   with a pipe each way (`redstep.functions.messages`). Its stdout is /dev/null and its stderr
   redstep's, except during an invocation: a worker that cannot start says why there.
2. Serving: it sends the invocation and waits for `started` and `result`, for the worker's end,
   for a cancel, or for the timeout: the function's timeout counts from `started`, and the import
   before it (the first invocation's) is given a timeout of the same length.
3. Idle: back in the pool (`SandboxOwner.release`), before the invocation is answered, so that
   the next invocation finds it warm. A process that dies while idle is reaped and forgotten;
   an invocation given to it in that instant goes to another sandbox.
4. Discarded: after the process ended during an invocation (`Runtime.ExitError`), a timeout, a
   cancel, an import that failed, or `Functions.close()`. Its process group is killed (with
   whatever the handler started) and reaped before the invocation is answered.

Log lines for an end the worker could not write itself (an exit, a timeout) are appended to the
invocation's log by the thread, after what the worker wrote.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from redstep.functions import faults, logs
from redstep.functions.invocation import Invocation, InvocationResult
from redstep.functions.messages import InvokeMessage, MessageBuffer, encode_message
from redstep.project import FunctionConfig

logger = logging.getLogger(__name__)

UNHANDLED = "Unhandled"
"""Lambda's X-Amz-Function-Error for an answer that is an error object."""
EXIT_GRACE_SECONDS = 2.0
"""How long a worker that closed its pipe may take to exit before its process group is killed."""
_READ_SIZE = 1 << 16


@dataclass(frozen=True, slots=True)
class Job:
    """An invocation, waiting for a sandbox or given to one."""

    function: str
    invocation: Invocation
    payload: bytes
    log: Path | None


@dataclass(frozen=True, slots=True)
class SandboxSpec:
    """What every sandbox of one function shares."""

    config: FunctionConfig
    root: Path
    arn: str
    variables: Callable[[str], Mapping[str, str]]
    """The worker's environment variables, given its log stream's name; may be slow."""


class SandboxOwner(Protocol):
    """The pool a sandbox belongs to (`redstep.functions.pool.Functions`)."""

    def release(self, sandbox: Sandbox) -> bool:
        """Take the sandbox back as idle; False if it must stop instead (the pool closes)."""
        ...

    def forget(self, sandbox: Sandbox) -> None:
        """The sandbox is gone: give it no more jobs."""
        ...

    def dispatch(self, job: Job) -> None:
        """Run a job on another sandbox (this one died before it could send it)."""
        ...


class Sandbox:
    """One worker process and its thread; see the module's docstring."""

    def __init__(self, spec: SandboxSpec, owner: SandboxOwner, job: Job, *, serial: int) -> None:
        self.spec = spec
        self._owner = owner
        self._lock = threading.Lock()
        self._job: Job | None = job
        self._is_stopping = False
        self._wake_reader, self._wake_writer = os.pipe()
        os.set_blocking(self._wake_reader, False)
        os.set_blocking(self._wake_writer, False)
        self._process: subprocess.Popen[bytes] | None = None
        self._requests = -1
        """Our end of the pipe the worker reads invocations from."""
        self._answers = -1
        """Our end of the pipe the worker answers on."""
        self._max_memory = 0
        job.invocation.set_interrupt(self.wake)
        self.thread = threading.Thread(
            target=self._run, name=f"redstep-function-{spec.config.name}-{serial}", daemon=True
        )

    def start(self) -> None:
        self.thread.start()

    def assign(self, job: Job) -> None:
        """Give an idle sandbox its next job (the owner calls this, under its lock)."""
        job.invocation.set_interrupt(self.wake)
        with self._lock:
            self._job = job
        self.wake()

    def stop(self) -> None:
        """Cancel the job under way, kill the worker and end the thread (`Functions.close()`)."""
        with self._lock:
            self._is_stopping = True
            job = self._job
        if job is not None:
            job.invocation.cancel()
        self.wake()

    def wake(self) -> None:
        """Make the thread look at the sandbox's state again (a job, a cancel, a stop)."""
        with self._lock:
            if self._wake_writer < 0:
                return
            # A full pipe holds wake-ups not yet read: the thread is awake already.
            with contextlib.suppress(BlockingIOError):
                os.write(self._wake_writer, b"\0")

    # -- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        job: Job | None = None
        try:
            if not self._spawn():
                return
            while (job := self._next_job()) is not None:
                result, is_reusable = self._serve(job)
                with self._lock:
                    self._job = None
                if is_reusable and self._owner.release(self):
                    if result is not None:
                        job.invocation.set_result(result)
                    continue
                self._end_process(grace=0)
                self._owner.forget(self)
                if result is not None:
                    job.invocation.set_result(result)
                return
        except BaseException as error:  # a bug of redstep's: answer rather than hang the caller
            logger.exception("the sandbox of function %s failed", self.spec.config.name)
            if job is not None:
                job.invocation.set_result(self._unknown(job, f"redstep failed: {error!r}"))
        finally:
            self._end_process(grace=0)
            self._owner.forget(self)
            with self._lock:
                os.close(self._wake_reader)
                os.close(self._wake_writer)
                self._wake_reader = self._wake_writer = -1

    def _spawn(self) -> bool:
        """Start the worker; False (the job answered) if it cannot be started, or the sandbox
        was stopped meanwhile."""
        config = self.spec.config
        stream = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        try:
            variables = self.spec.variables(stream)
        except Exception as error:
            return self._fail_start(f"the function's environment could not be prepared: {error}")
        with self._lock:
            if self._is_stopping:
                return False
        requests_reader, requests_writer = os.pipe()
        answers_reader, answers_writer = os.pipe()
        command = [
            sys.executable,
            "-P",  # the project folder must not hide redstep from `-m`
            "-m",
            "redstep.functions.worker",
            *("--in", str(requests_reader), "--out", str(answers_writer)),
            *("--root", str(self.spec.root)),
            *("--module", config.handler_module, "--function", config.handler_function),
            *(("--file", str(config.source)) if config.is_file_handler else ()),
        ]
        try:
            self._process = subprocess.Popen(
                command,
                pass_fds=(requests_reader, answers_writer),
                env=dict(variables),
                cwd=self.spec.root,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                start_new_session=True,
            )
        except Exception as error:  # OSError, or variables that are not strings
            os.close(requests_writer)
            os.close(answers_reader)
            return self._fail_start(f"the function's worker could not be started: {error}")
        finally:
            os.close(requests_reader)
            os.close(answers_writer)
        self._requests, self._answers = requests_writer, answers_reader
        os.set_blocking(self._requests, False)
        os.set_blocking(self._answers, False)
        return True

    def _fail_start(self, reason: str) -> bool:
        logger.error("function %s: %s", self.spec.config.name, reason)
        with self._lock:
            job, self._job = self._job, None
        if job is not None:
            job.invocation.set_result(self._unknown(job, reason))
        return False

    def _next_job(self) -> Job | None:
        """Wait, idle, for a job; None when the sandbox stops or its worker died."""
        while True:
            with self._lock:
                if self._is_stopping:
                    return None
                if self._job is not None:
                    return self._job
            if self._answers in self._wait(None, is_writing=False):
                # An idle worker says nothing: it ended (or closed its pipe). A job given to it
                # meanwhile was never sent, so another sandbox can run it.
                self._owner.forget(self)
                with self._lock:
                    job, self._job = self._job, None
                if job is not None:
                    self._owner.dispatch(job)
                return None

    def _serve(self, job: Job) -> tuple[InvocationResult | None, bool]:
        """Run one job: (its answer, or None if it was cancelled; whether the worker stays)."""
        invocation, timeout = job.invocation, self.spec.config.timeout
        if invocation.is_cancelled:
            return None, True  # never sent: the worker is as warm as it was
        message: InvokeMessage = {
            "type": "invoke",
            "request_id": invocation.request_id,
            "log": None if job.log is None else str(job.log),
            "arn": self.spec.arn,
            "timeout": timeout,
        }
        outgoing = memoryview(encode_message(message, job.payload))
        since = time.monotonic()
        deadline = since + timeout
        answers = MessageBuffer()
        while True:
            with self._lock:
                is_stopping = self._is_stopping
            if invocation.is_cancelled or is_stopping:
                self._end_process(grace=0)
                return None, False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return self._time_out(job, since), False
            ready = self._wait(remaining, is_writing=bool(outgoing))
            if outgoing and self._requests in ready:
                try:
                    outgoing = outgoing[os.write(self._requests, outgoing) :]
                except BlockingIOError:
                    pass
                except OSError:  # the worker is gone: its answers pipe will say so
                    outgoing = outgoing[len(outgoing) :]
            if self._answers not in ready:
                continue
            try:
                data = os.read(self._answers, _READ_SIZE)
            except BlockingIOError:
                continue
            if not data:
                return self._exited(job, since), False
            answers.feed(data)
            while (answer := answers.next_message()) is not None:
                header, body = answer
                self._max_memory = int(header.get("max_memory", self._max_memory))
                if header["type"] == "started":
                    since = time.monotonic()
                    deadline = since + timeout
                elif header["type"] == "result":
                    if header.get("log_error"):
                        logger.warning(
                            "function %s: %s", self.spec.config.name, header["log_error"]
                        )
                    function_error = UNHANDLED if header["is_error"] else None
                    return InvocationResult(body, function_error), not header["is_final"]

    def _wait(self, timeout: float | None, *, is_writing: bool) -> set[int]:
        """The descriptors ready within `timeout` seconds (forever if None), wake-ups drained."""
        poller = select.poll()
        poller.register(self._wake_reader, select.POLLIN)
        poller.register(self._answers, select.POLLIN)
        if is_writing:
            poller.register(self._requests, select.POLLOUT)
        milliseconds = None if timeout is None else max(math.ceil(timeout * 1000), 0)
        ready = {fd for fd, _ in poller.poll(milliseconds)}
        if self._wake_reader in ready:
            try:
                while os.read(self._wake_reader, 4096):
                    pass
            except BlockingIOError:
                pass
        return ready

    def _time_out(self, job: Job, since: float) -> InvocationResult:
        now = datetime.now(UTC)
        self._end_process(grace=0)
        timeout = self.spec.config.timeout
        error = faults.timeout_error(now, job.invocation.request_id, timeout)
        self._append_log(job, error["errorMessage"] + "\n", since)
        return InvocationResult(_compact(error), UNHANDLED)

    def _exited(self, job: Job, since: float) -> InvocationResult:
        returncode = self._end_process(grace=EXIT_GRACE_SECONDS)
        error = faults.exit_error(job.invocation.request_id, returncode or 0)
        self._append_log(job, logs.exit_lines(error), since)
        return InvocationResult(_compact(error), UNHANDLED)

    def _append_log(self, job: Job, text: str, since: float) -> None:
        """Lambda's lines for an end the worker could not report: `text`, END and REPORT."""
        if job.log is None:
            return
        request_id = job.invocation.request_id
        report = logs.report_line(
            request_id,
            duration_ms=(time.monotonic() - since) * 1000,
            memory_size=self.spec.config.memory,
            max_memory_used=self._max_memory,
        )
        try:
            logs.append(job.log, text + logs.end_line(request_id) + report)
        except OSError as error:
            logger.warning("function %s: cannot write the log %s: %s", job.function, job.log, error)

    def _end_process(self, *, grace: float) -> int | None:
        """Reap the worker, killing its process group if it has not ended within `grace`
        seconds, and kill what it left running in its group; its exit status (None if it was
        never started, or already reaped)."""
        process, self._process = self._process, None
        if process is None:
            return None
        try:
            returncode = process.wait(grace) if grace > 0 else process.poll()
        except subprocess.TimeoutExpired:
            returncode = None
        if returncode is None:
            _kill_group(process.pid)
            returncode = process.wait()
        # The handler's own children, if any outlived it, still hold the group's id.
        _kill_group(process.pid)
        for fd in (self._requests, self._answers):
            os.close(fd)
        self._requests = self._answers = -1
        return returncode

    def _unknown(self, job: Job, reason: str) -> InvocationResult:
        return InvocationResult(
            _compact(faults.unknown_error(job.invocation.request_id, reason)), UNHANDLED
        )


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _compact(error: Mapping[str, str]) -> bytes:
    """An error object Lambda's service writes (not the runtime): compact JSON."""
    return json.dumps(error, separators=(",", ":")).encode("utf-8")

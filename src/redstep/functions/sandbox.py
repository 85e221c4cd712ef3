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
   redstep's until its first invocation: a worker that cannot start says why there. A start
   that fails (no environment, no descriptors left, no Python) is answered `Runtime.Unknown`.
2. Serving: it sends the invocation and waits for `started` and `result`, for the worker's end,
   for a cancel, or for the timeout: the function's timeout counts from `started`, and the import
   before it (the first invocation's) is given Lambda's init time, 10 seconds, or the function's
   timeout if that is longer. The worker's end is seen on a pidfd where the system has them
   (Linux), so that a process the handler forked and left holding the pipe cannot hide it, and
   otherwise as the end of its pipe. An answer larger than Lambda returns is answered
   `Function.ResponseSizeTooLarge`, and the worker stays.
3. Idle: back in the pool (`SandboxOwner.release`), then the invocation is answered, so that the
   next invocation finds it warm. A process that dies while idle is reaped and forgotten; an
   invocation given to it in that instant, never sent, goes to another sandbox.
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
from redstep.functions.invocation import LATEST, Invocation, InvocationResult
from redstep.functions.messages import InvokeMessage, MessageBuffer, encode_message
from redstep.project import FunctionConfig

logger = logging.getLogger(__name__)

UNHANDLED = "Unhandled"
"""Lambda's X-Amz-Function-Error for an answer that is an error object."""
INIT_TIMEOUT_SECONDS = 10
"""What Lambda gives a function's init (the module's import), whatever its timeout."""
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
    """Absolute."""


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
        """The job given to the sandbox and not yet done (under the lock)."""
        self._is_stopping = False
        self._has_process = False
        self._wake_reader = self._wake_writer = -1
        self._process: subprocess.Popen[bytes] | None = None
        self._pidfd = -1
        """Readable once the worker has ended; -1 where the system has no pidfds."""
        self._requests = -1
        """Our end of the pipe the worker reads invocations from."""
        self._answers = -1
        """Our end of the pipe the worker answers on."""
        self._serving: Job | None = None
        """The job sent to the worker and not yet answered (the thread's own)."""
        self._max_memory = 0
        job.invocation.set_interrupt(self.wake)
        self.thread = threading.Thread(
            target=self._run, name=f"redstep-function-{spec.config.name}-{serial}", daemon=True
        )

    @property
    def has_process(self) -> bool:
        """Whether the thread has started a worker (or is starting one): only such a thread has
        anything to end when the sandbox stops, the others are asking for the environment."""
        with self._lock:
            return self._has_process

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
                return  # the thread has not waited yet: it looks at the state before it does
            # A full pipe holds wake-ups not yet read: the thread is awake already.
            with contextlib.suppress(BlockingIOError):
                os.write(self._wake_writer, b"\0")

    def has_exited(self) -> bool:
        """Whether the worker is known to have ended. Never blocks; False where the system has
        no pidfds (the thread then learns of the end from the pipe alone)."""
        with self._lock:
            return self._pidfd >= 0 and _is_readable(self._pidfd)

    # -- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        answer: InvocationResult | None = None
        failure: str | None = None
        try:
            if self._spawn():
                answer = self._serve_jobs()
        except BaseException as error:  # a bug of redstep's: answer rather than hang the caller
            logger.exception("the sandbox of function %s failed", self.spec.config.name)
            failure = f"redstep failed: {error!r}"
        finally:
            # Discarded: given no more jobs, its process group killed and reaped, and only then
            # is the job it last served answered.
            self._owner.forget(self)
            self._end_process(grace=0)
            self._close_wake_pipe()
        with self._lock:
            pending, self._job = self._job, None
        served = self._serving
        if served is not None:
            if failure is not None:
                answer = self._unknown(served, failure)
            if answer is not None:
                served.invocation.set_result(answer)
        if pending is not None and pending is not served:
            if failure is not None:
                pending.invocation.set_result(self._unknown(pending, failure))
            else:  # never sent, the worker having died while idle: another sandbox runs it
                self._owner.dispatch(pending)

    def _spawn(self) -> bool:
        """Start the worker; False (the job answered) if it cannot be started, or the sandbox
        was stopped meanwhile."""
        config = self.spec.config
        stream = f"{datetime.now(UTC):%Y/%m/%d}/[{LATEST}]{uuid.uuid4().hex}"
        try:
            variables = self.spec.variables(stream)
        except Exception as error:
            return self._fail_start(f"the function's environment could not be prepared: {error}")
        with self._lock:
            if self._is_stopping:
                return False
            self._has_process = True
        fds: list[int] = []  # closed again if the worker cannot be started
        try:
            for _ in range(3):
                fds.extend(os.pipe())
            wake_reader, wake_writer, requests_reader, requests_writer = fds[:4]
            answers_reader, answers_writer = fds[4:]
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
            process = subprocess.Popen(
                command,
                pass_fds=(requests_reader, answers_writer),
                env=dict(variables),
                cwd=self.spec.root,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                start_new_session=True,
            )
        except Exception as error:  # OSError (no descriptors, no Python), variables not strings
            _close(*fds)
            return self._fail_start(f"the function's worker could not be started: {error}")
        with self._lock:  # from here, the discarding at the thread's end closes them
            self._wake_reader, self._wake_writer = wake_reader, wake_writer
            self._process, self._pidfd = process, _open_pidfd(process.pid)
            self._requests, self._answers = requests_writer, answers_reader
        _close(requests_reader, answers_writer)
        for fd in (wake_reader, wake_writer, requests_writer, answers_reader):
            os.set_blocking(fd, False)
        return True

    def _fail_start(self, reason: str) -> bool:
        logger.error("function %s: %s", self.spec.config.name, reason)
        with self._lock:
            job, self._job = self._job, None
        if job is not None:
            job.invocation.set_result(self._unknown(job, reason))
        return False

    def _serve_jobs(self) -> InvocationResult | None:
        """Serve jobs while the worker lives; the answer of the last one (`_serving`), given once
        the worker is gone, or None if there is none to give."""
        while (job := self._next_job()) is not None:
            self._serving = job
            result, is_reusable = self._serve(job)
            with self._lock:
                self._job = None
            if not (is_reusable and self._owner.release(self)):
                return result
            self._serving = None
            if result is not None:
                job.invocation.set_result(result)
        return None

    def _next_job(self) -> Job | None:
        """Wait, idle, for a job; None when the sandbox stops or its worker died (the job given
        to it meanwhile left, never sent, in `_job`)."""
        while True:
            with self._lock:
                if self._is_stopping:
                    return None
                job = self._job
            if job is not None:
                # A worker that died as the job came is not sent it.
                return None if self.has_exited() else job
            ready = self._wait(None, is_writing=False)
            if self._answers in ready or self._pidfd in ready:
                return None  # an idle worker says nothing: it ended (or closed its pipe)

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
        # Until `started`, the worker may be importing the module: Lambda's init time.
        deadline = since + max(INIT_TIMEOUT_SECONDS, timeout)
        answers = MessageBuffer()
        while True:
            with self._lock:
                is_stopping = self._is_stopping
            if invocation.is_cancelled or is_stopping:
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
                except OSError:  # the worker is gone: its end will say so
                    outgoing = outgoing[len(outgoing) :]
            has_ended = self._pidfd in ready
            if self._answers not in ready and not has_ended:
                continue
            # What the worker wrote before it ended is in the pipe still: read it all first.
            is_closed = self._read(answers)
            while (answer := answers.next_message()) is not None:
                header, body = answer
                self._max_memory = int(header.get("max_memory", self._max_memory))
                if header["type"] == "started":
                    since = time.monotonic()
                    deadline = since + timeout
                elif header["type"] == "result":
                    return self._result(header, body), not header["is_final"]
            if is_closed or has_ended:
                return self._exited(job, since), False

    def _read(self, answers: MessageBuffer) -> bool:
        """Feed `answers` what the worker has written; True once its pipe is closed."""
        while True:
            try:
                data = os.read(self._answers, _READ_SIZE)
            except BlockingIOError:
                return False
            if not data:
                return True
            answers.feed(data)

    def _result(self, header: dict[str, object], body: bytes) -> InvocationResult:
        if header.get("log_error"):
            logger.warning("function %s: %s", self.spec.config.name, header["log_error"])
        if len(body) > faults.MAX_RESPONSE_BYTES:
            return InvocationResult(_compact(faults.response_too_large_error()), UNHANDLED)
        return InvocationResult(body, UNHANDLED if header["is_error"] else None)

    def _wait(self, timeout: float | None, *, is_writing: bool) -> set[int]:
        """The descriptors ready within `timeout` seconds (forever if None), wake-ups drained."""
        poller = select.poll()
        poller.register(self._wake_reader, select.POLLIN)
        poller.register(self._answers, select.POLLIN)
        if self._pidfd >= 0:
            poller.register(self._pidfd, select.POLLIN)
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
        self._end_process(grace=0)  # before the timeout's lines, after all the worker wrote
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
            logs.append(str(job.log), text + logs.end_line(request_id) + report)
        except OSError as error:
            logger.warning("function %s: cannot write the log %s: %s", job.function, job.log, error)

    def _end_process(self, *, grace: float) -> int | None:
        """Reap the worker, killing its process group if it has not ended within `grace`
        seconds, and kill what it left running in its group; its exit status (None if it was
        never started, or already reaped: calling this again is harmless)."""
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
        with self._lock:  # `has_exited` polls the pidfd from other threads
            _close(self._requests, self._answers, self._pidfd)
            self._requests = self._answers = self._pidfd = -1
        return returncode

    def _close_wake_pipe(self) -> None:
        with self._lock:
            _close(self._wake_reader, self._wake_writer)
            self._wake_reader = self._wake_writer = -1

    def _unknown(self, job: Job, reason: str) -> InvocationResult:
        return InvocationResult(
            _compact(faults.unknown_error(job.invocation.request_id, reason)), UNHANDLED
        )


def _open_pidfd(pid: int) -> int:
    """A descriptor readable once the process has ended; -1 where the system has none (Linux
    before 5.3, other systems)."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return -1


def _is_readable(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


def _close(*fds: int) -> None:
    for fd in fds:
        if fd >= 0:
            os.close(fd)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _compact(error: Mapping[str, str]) -> bytes:
    """An error object Lambda's service writes (not the runtime): compact JSON."""
    return json.dumps(error, separators=(",", ":")).encode("utf-8")

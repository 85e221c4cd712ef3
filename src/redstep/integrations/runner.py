"""`Integrations`: the task runner that carries out Task states' resources, each on a thread.

The executor hands over a task and goes on; its answer comes back through `report`, from the
task's own thread: TaskStarted at once, then TaskSucceeded or TaskFailed. A callback task
(`.waitForTaskToken`) reports TaskSubmitted once its call went through and leaves the answer to
SendTaskSuccess and its kin; a `.sync` child reports TaskSubmitted when started, and its end.
A resource redstep does not run, or a defect in an integration, fails the task with
States.Runtime and says why.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from redstep.asl.errors import StatesError
from redstep.asl.resources import FunctionCall, Integration, Pattern, parse_resource
from redstep.buckets import Buckets
from redstep.dataapi.service import DataApiService
from redstep.engine.commands import ScheduleTask
from redstep.engine.signals import Signal, TaskFailed, TaskStarted, TaskSubmitted, TaskSucceeded
from redstep.functions import Functions
from redstep.integrations import lambda_invoke, states
from redstep.integrations.failure import TaskFailure
from redstep.integrations.job import Job
from redstep.integrations.redshiftdata import call_redshiftdata
from redstep.integrations.s3 import call_s3
from redstep.runtime.arns import execution_parts
from redstep.runtime.engine import Engine

logger = logging.getLogger(__name__)

LOGS_DIR = "logs"
"""Where, in the project's state folder, each execution's function output is kept."""


#: What redstep runs, by (service, action) — None for every action of the service — with the
#: patterns AWS supports for each.
SUPPORTED: dict[tuple[str, str | None], frozenset[Pattern]] = {
    ("lambda", "invoke"): frozenset({Pattern.REQUEST_RESPONSE, Pattern.CALLBACK}),
    ("states", "startExecution"): frozenset(Pattern),
    ("aws-sdk:redshiftdata", None): frozenset({Pattern.REQUEST_RESPONSE, Pattern.CALLBACK}),
    ("aws-sdk:s3", None): frozenset({Pattern.REQUEST_RESPONSE, Pattern.CALLBACK}),
}


def is_supported(integration: Integration) -> bool:
    patterns = SUPPORTED.get((integration.service, integration.action)) or SUPPORTED.get(
        (integration.service, None)
    )
    return patterns is not None and integration.pattern in patterns


class Integrations:
    """Runs Lambda functions, the Redshift Data API, S3 and nested executions for Task states.

    `attach` gives it the engine its nested executions start on (the engine takes the runner
    when it is made, so the two meet after); a task that starts one waits until then.
    """

    def __init__(
        self, *, functions: Functions, dataapi: DataApiService, buckets: Buckets, logs: Path
    ) -> None:
        self.functions = functions
        self.dataapi = dataapi
        self.buckets = buckets
        self.logs = logs
        self._engine: Engine | None = None
        self._attached = threading.Event()
        self._jobs: dict[tuple[str, int], Job] = {}
        self._lock = threading.Lock()
        self._closed = False

    def attach(self, engine: Engine) -> None:
        self._engine = engine
        self._attached.set()

    def log_path(self, execution_arn: str) -> Path:
        """The execution's log: what its functions wrote, invocation by invocation."""
        machine, name = execution_parts(execution_arn)
        return self.logs / machine / f"{name}.log"

    # -- TaskRunner --------------------------------------------------------------------------

    def start(
        self, execution_arn: str, command: ScheduleTask, report: Callable[[Signal], None]
    ) -> None:
        job = Job(execution_arn, command.task_id, command.task_token, self.log_path(execution_arn))
        with self._lock:
            if self._closed:
                return  # shutting down: the task stays in flight and is resumed next start
            self._jobs[(execution_arn, command.task_id)] = job
        report(TaskStarted(command.task_id))
        thread = threading.Thread(
            target=self._run,
            args=(job, command, report),
            name=f"redstep-task-{command.state_name}",
            daemon=True,
        )
        thread.start()

    def cancel(self, execution_arn: str, task_id: int) -> None:
        with self._lock:
            job = self._jobs.pop((execution_arn, task_id), None)
        if job is not None:  # stopping may wait (a child's stop): never on the executor's loop
            stop = job.cancel()
            threading.Thread(target=stop, name="redstep-task-cancel", daemon=True).start()

    def close(self) -> None:
        """Abandon every task in flight (closing the functions stops their work): their
        executions stay RUNNING, nested ones included, and resume at the next start."""
        with self._lock:
            self._closed = True
            jobs, self._jobs = list(self._jobs.values()), {}
        for job in jobs:
            job.abandon()

    # -- one task ----------------------------------------------------------------------------

    def _run(self, job: Job, command: ScheduleTask, report: Callable[[Signal], None]) -> None:
        def answer(signal: Signal) -> None:
            job.answer(report, signal)

        task_id = command.task_id
        try:
            output = self._carry_out(job, command, lambda out: answer(TaskSubmitted(task_id, out)))
        except TaskFailure as failure:
            answer(TaskFailed(task_id, failure.error, failure.cause))
        except Exception as error:  # a defect must fail the task, never leave it hanging
            if job.is_cancelled:
                return  # stopping the work made it fail (a function's worker killed): expected
            logger.exception("redstep: the task of state %r failed", command.state_name)
            cause = f"redstep could not run {command.resource}: {type(error).__name__}: {error}"
            answer(TaskFailed(task_id, StatesError.RUNTIME.value, cause))
        else:
            if output is not _WAITING:
                answer(TaskSucceeded(task_id, output))
        finally:
            with self._lock:
                if self._jobs.get((job.execution_arn, task_id)) is job:
                    del self._jobs[(job.execution_arn, task_id)]

    def _carry_out(self, job: Job, command: ScheduleTask, submitted: Callable[[Any], None]) -> Any:
        """The task's result; _WAITING when its answer is to come from outside."""
        resource = parse_resource(command.resource)
        if isinstance(resource, FunctionCall):
            return lambda_invoke.call_function(
                self.functions, resource.function_arn, command.parameters, job
            )
        if resource is None or not is_supported(resource):
            raise TaskFailure(
                StatesError.RUNTIME.value,
                f"redstep has no integration for the resource '{command.resource}' "
                f"(state '{command.state_name}')",
            )
        output = self._call(resource, command, job, submitted)
        if resource.pattern is Pattern.CALLBACK:
            submitted(output)
            return _WAITING
        return output

    def _call(
        self,
        resource: Integration,
        command: ScheduleTask,
        job: Job,
        submitted: Callable[[Any], None],
    ) -> Any:
        parameters = command.parameters
        match resource.service:
            case "states":
                self._attached.wait()
                assert self._engine is not None
                return states.start_execution(
                    self._engine,
                    parameters,
                    resource.pattern,
                    job,
                    submitted,
                    command.submission,
                )
            case "lambda":
                return lambda_invoke.invoke(self.functions, parameters, job)
            case "aws-sdk:redshiftdata":
                return call_redshiftdata(self.dataapi, resource.action, parameters)
            case "aws-sdk:s3":
                return call_s3(self.buckets, resource.action, parameters)
        raise AssertionError(f"no call for the supported {resource}")


_WAITING: Any = object()

"""`Services`: everything redstep runs for a project, opened together over one claim on its state.

The Step Functions engine, the Data API service, the buckets and the triggers share the
project's `.redstep/` folder, so one process owns it (`Project.own_state`) and opens them all;
`redstep serve` puts the HTTP endpoints in front of them. Opening also installs the state machines
redstep.toml declares: created when new, updated when their definition or role changed.
"""

from __future__ import annotations

import contextlib
from types import TracebackType

from redstep.buckets import Buckets
from redstep.dataapi.service import DataApiService
from redstep.project import Project, ProjectError, StateOwnership
from redstep.runtime.clock import Clock
from redstep.runtime.engine import Engine
from redstep.runtime.errors import StateMachineDoesNotExist, StepFunctionsError
from redstep.runtime.executor import TaskRunner
from redstep.runtime.sqlite_store import SqliteExecutionStore
from redstep.triggers import STATE_FILE, Triggers, starting_on

UPLOADS_DIR = "uploads"
"""Where, in the project's state folder, multipart uploads keep their parts until completed."""


class Services:
    """A project's services, open; `close` stops them and gives the state up."""

    def __init__(
        self,
        project: Project,
        *,
        engine: Engine,
        dataapi: DataApiService,
        buckets: Buckets,
        triggers: Triggers,
        ownership: StateOwnership,
    ) -> None:
        self.project = project
        self.engine = engine
        self.dataapi = dataapi
        self.buckets = buckets
        self.triggers = triggers
        self._ownership = ownership

    @classmethod
    def open(
        cls, project: Project, *, clock: Clock | None = None, tasks: TaskRunner | None = None
    ) -> Services:
        """Own the project's state (ProjectInUse when another process does) and start it all."""
        ownership = project.own_state()
        with contextlib.ExitStack() as undo:
            undo.callback(ownership.release)
            dataapi = DataApiService(project, ownership=ownership)
            undo.callback(dataapi.close)
            engine = Engine(SqliteExecutionStore(project.state_dir), clock=clock, tasks=tasks)
            undo.callback(engine.close)
            install_state_machines(engine, project)
            buckets = Buckets(project.buckets, staging=project.state_dir / UPLOADS_DIR)
            undo.callback(buckets.close)
            triggers = Triggers(
                project.triggers,
                starting_on(engine),
                clock=engine.clock,
                state_file=project.state_dir / STATE_FILE,
                buckets=buckets,
                region=engine.region,
                ignore=(project.state_dir,),
                hold_skips=engine.executor.hold_skips,
            )
            undo.callback(triggers.close)
            triggers.run_in_background()
            services = cls(
                project,
                engine=engine,
                dataapi=dataapi,
                buckets=buckets,
                triggers=triggers,
                ownership=ownership,
            )
            undo.pop_all()
        return services

    def close(self) -> None:
        """Stop everything: running executions stay RUNNING in the store and resume next time.

        Each service is closed even when one before it fails to; the state is given up last.
        """
        with contextlib.ExitStack() as closing:
            closing.callback(self._ownership.release)
            closing.callback(self.buckets.close)
            closing.callback(self.dataapi.close)
            closing.callback(self.engine.close)
            closing.callback(self.triggers.close)

    def __enter__(self) -> Services:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def install_state_machines(engine: Engine, project: Project) -> None:
    """Create each state machine redstep.toml declares, or update it to what the project says
    (its definition file and its role) when either changed since the last start."""
    for config in project.state_machines.values():
        arn = engine.region.state_machine_arn(config.name)
        wanted = {"definition": config.definition, "roleArn": config.role_arn}
        try:
            try:
                current = engine.describe_state_machine({"stateMachineArn": arn})
            except StateMachineDoesNotExist:
                engine.create_state_machine({"name": config.name, **wanted})
                continue
            if any(current[member] != value for member, value in wanted.items()):
                engine.update_state_machine({"stateMachineArn": arn, **wanted})
        except StepFunctionsError as error:  # a bad definition, name or role ARN
            raise ProjectError(
                f"{config.source}: state_machines.{config.name}: {error.code}: {error.message}"
            ) from None

"""`Services`: everything redstep runs for a project, opened together over one claim on its state.

The Step Functions engine, the Data API service, the buckets and the triggers share the
project's `.redstep/` folder, so one process owns it (`Project.own_state`) and opens them all;
`redstep serve` puts the HTTP endpoints in front of them. Opening also installs the state machines
redstep.toml declares: created when new, updated when their definition or role changed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from types import TracebackType
from typing import Protocol

from redstep.buckets import Buckets
from redstep.dataapi.service import DataApiService
from redstep.functions import Functions
from redstep.integrations.runner import LOGS_DIR, Integrations
from redstep.project import Project, ProjectError, StateOwnership
from redstep.runtime.arns import DEFAULT_REGION
from redstep.runtime.clock import Clock
from redstep.runtime.engine import Engine
from redstep.runtime.errors import StateMachineDoesNotExist, StepFunctionsError
from redstep.runtime.executor import TaskRunner
from redstep.runtime.sqlite_store import SqliteExecutionStore
from redstep.triggers import STATE_FILE, Triggers, starting_on

UPLOADS_DIR = "uploads"
"""Where, in the project's state folder, multipart uploads keep their parts until completed."""


class FunctionEndpoints(Protocol):
    """Where a project's local functions reach its services (an HTTP endpoint in front of them)."""

    def environment(self) -> Mapping[str, str]:
        """The variables that point a function's AWS SDK clients at the services."""
        ...

    def close(self) -> None:
        """Stop serving (the functions are stopped by then)."""
        ...


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
        functions: Functions,
        integrations: Integrations,
        endpoints: FunctionEndpoints | None,
        ownership: StateOwnership,
    ) -> None:
        self.project = project
        self.engine = engine
        self.dataapi = dataapi
        self.buckets = buckets
        self.triggers = triggers
        self.functions = functions
        self.integrations = integrations
        self._endpoints = endpoints
        self._ownership = ownership

    @classmethod
    def open(
        cls,
        project: Project,
        *,
        clock: Clock | None = None,
        tasks: TaskRunner | None = None,
        endpoints: FunctionEndpoints | None = None,
        is_one_off: bool = False,
    ) -> Services:
        """Own the project's state (ProjectInUse when another process does) and start it all.

        Task states run through the project's integrations unless `tasks` says otherwise (a
        test's runner); local functions reach the services through `endpoints` (without them,
        a handler's own AWS SDK clients are not pointed anywhere). A one-off process (`redstep
        run`) neither resumes the executions a stopped process left RUNNING nor fires triggers:
        it would cut them short when it ends, and a task interrupted twice fails.
        """
        ownership = project.own_state()
        with contextlib.ExitStack() as undo:
            undo.callback(ownership.release)
            dataapi = DataApiService(project, ownership=ownership)
            undo.callback(dataapi.close)
            buckets = Buckets(project.buckets, staging=project.state_dir / UPLOADS_DIR)
            undo.callback(buckets.close)
            if endpoints is not None:
                undo.callback(endpoints.close)
            functions = Functions(
                project.functions,
                root=project.root,
                region=DEFAULT_REGION,
                environment=endpoints.environment if endpoints is not None else dict,
            )
            undo.callback(functions.close)
            integrations = Integrations(
                functions=functions,
                dataapi=dataapi,
                buckets=buckets,
                logs=project.state_dir / LOGS_DIR,
            )
            undo.callback(integrations.close)
            engine = Engine(
                SqliteExecutionStore(project.state_dir),
                clock=clock,
                tasks=tasks or integrations,
                resume=not is_one_off,
                buckets=buckets,
            )
            integrations.attach(engine)
            undo.callback(engine.close)
            install_state_machines(engine, project)
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
            if not is_one_off:
                triggers.run_in_background()
            services = cls(
                project,
                engine=engine,
                dataapi=dataapi,
                buckets=buckets,
                triggers=triggers,
                functions=functions,
                integrations=integrations,
                endpoints=endpoints,
                ownership=ownership,
            )
            undo.pop_all()
        return services

    def close(self) -> None:
        """Stop everything: running executions stay RUNNING in the store and resume next time.

        Tasks in flight are abandoned (functions' workers killed, nested executions left
        running), then the services close, each even when one before it fails to; the state is
        given up last.
        """
        with contextlib.ExitStack() as closing:
            closing.callback(self._ownership.release)
            closing.callback(self.buckets.close)
            closing.callback(self.dataapi.close)
            closing.callback(self.engine.close)
            if self._endpoints is not None:
                closing.callback(self._endpoints.close)
            closing.callback(self.functions.close)
            closing.callback(self.integrations.close)
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
                engine.create_state_machine({"name": config.name, "type": config.type, **wanted})
                continue
            if current["type"] != config.type:  # CreateStateMachine's choice, fixed for good
                raise ProjectError(
                    f"{config.source}: state_machines.{config.name}: type is {config.type}, but "
                    f"the state machine exists as {current['type']} and AWS never changes a "
                    "state machine's type: give it another name"
                )
            if any(current[member] != value for member, value in wanted.items()):
                engine.update_state_machine({"stateMachineArn": arn, **wanted})
        except StepFunctionsError as error:  # a bad definition, name or role ARN
            raise ProjectError(
                f"{config.source}: state_machines.{config.name}: {error.code}: {error.message}"
            ) from None

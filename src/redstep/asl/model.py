"""The typed node tree of a state machine definition, shaped like the States Language spec.

Nodes are frozen values built once by `redstep.asl.parse`; every path, template, intrinsic and
Choice rule in them is already compiled. Field defaults are the spec's defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from redstep.asl.choice import ChoiceRule
from redstep.asl.outcome import NO_OUTCOME, Outcome
from redstep.asl.paths import Path, compile_path
from redstep.asl.queries import Query
from redstep.asl.templates import Expression, Template

#: A field that is a JSONPath path or, in a JSONata state, an expression.
Selector = Path | Query
#: A payload field: a JSONPath template or a JSONata one.
Payload = Template | Query

ROOT = compile_path("$")


class JitterStrategy(StrEnum):
    FULL = "FULL"
    NONE = "NONE"


class ProcessorMode(StrEnum):
    INLINE = "INLINE"
    DISTRIBUTED = "DISTRIBUTED"


@dataclass(frozen=True, slots=True)
class Retrier:
    error_equals: tuple[str, ...]
    interval_seconds: float = 1
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: float | None = None
    jitter_strategy: JitterStrategy = JitterStrategy.NONE


@dataclass(frozen=True, slots=True)
class Catcher:
    error_equals: tuple[str, ...]
    next: str
    result_path: Path | None = ROOT
    outcome: Outcome = NO_OUTCOME


@dataclass(frozen=True, slots=True)
class Transition:
    """Where a state goes: `next`, or the end of its state machine (`next is None`)."""

    next: str | None

    @property
    def is_end(self) -> bool:
        return self.next is None


@dataclass(frozen=True, slots=True, kw_only=True)
class Filters:
    """InputPath and OutputPath; `None` stands for a `null` path (the state sees `{}`)."""

    input_path: Path | None = ROOT
    output_path: Path | None = ROOT


@dataclass(frozen=True, slots=True, kw_only=True)
class ResultHandling:
    """How a state turns its raw result into its output."""

    result_selector: Template | None = None
    result_path: Path | None = ROOT


@dataclass(frozen=True, slots=True, kw_only=True)
class PassState:
    name: str
    transition: Transition
    filters: Filters = Filters()
    parameters: Payload | None = None
    result: Any = None
    has_result: bool = False
    result_path: Path | None = ROOT
    outcome: Outcome = NO_OUTCOME


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeouts:
    """TimeoutSeconds(Path) and HeartbeatSeconds(Path) of a Task."""

    timeout_seconds: int | None = None
    timeout_seconds_path: Selector | None = None
    heartbeat_seconds: int | None = None
    heartbeat_seconds_path: Selector | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskState:
    name: str
    transition: Transition
    resource: str
    filters: Filters = Filters()
    parameters: Payload | None = None
    results: ResultHandling = ResultHandling()
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()
    timeouts: Timeouts = Timeouts()
    credentials: Payload | None = None
    outcome: Outcome = NO_OUTCOME


@dataclass(frozen=True, slots=True, kw_only=True)
class ChoiceState:
    name: str
    choices: tuple[ChoiceRule, ...]
    default: str | None = None
    filters: Filters = Filters()
    outcome: Outcome = NO_OUTCOME


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitState:
    """Exactly one of the four ways to wait is set."""

    name: str
    transition: Transition
    filters: Filters = Filters()
    seconds: int | None = None
    seconds_path: Selector | None = None
    timestamp: str | None = None
    timestamp_path: Selector | None = None
    outcome: Outcome = NO_OUTCOME


@dataclass(frozen=True, slots=True, kw_only=True)
class SucceedState:
    name: str
    filters: Filters = Filters()
    outcome: Outcome = NO_OUTCOME


@dataclass(frozen=True, slots=True, kw_only=True)
class FailState:
    """Error and Cause are constants or computed (ErrorPath/CausePath: a path or intrinsic)."""

    name: str
    error: str | None = None
    error_path: Expression | Query | None = None
    cause: str | None = None
    cause_path: Expression | Query | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ParallelState:
    name: str
    transition: Transition
    branches: tuple[StateMachine, ...]
    filters: Filters = Filters()
    parameters: Payload | None = None
    results: ResultHandling = ResultHandling()
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()
    outcome: Outcome = NO_OUTCOME


@dataclass(frozen=True, slots=True, kw_only=True)
class ToleratedFailure:
    count: int | None = None
    count_path: Selector | None = None
    percentage: float | None = None
    percentage_path: Selector | None = None


class ExecutionType(StrEnum):
    """ProcessorConfig.ExecutionType: how a distributed Map runs its child workflows."""

    STANDARD = "STANDARD"
    EXPRESS = "EXPRESS"


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemReader:
    """Where a distributed Map reads its items: an S3 object (ReaderConfig.InputType says how
    to read it) or a listing; `arguments` is its Parameters (or JSONata Arguments)."""

    resource: str
    arguments: Payload | None = None
    reader_config: Mapping[str, Any] = field(default_factory=dict)
    max_items_path: Selector | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemBatcher:
    """How a distributed Map groups items into one child's input."""

    max_items_per_batch: int | None = None
    max_items_per_batch_path: Selector | None = None
    max_input_bytes_per_batch: int | None = None
    max_input_bytes_per_batch_path: Selector | None = None
    batch_input: Payload | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ResultWriter:
    """Where a distributed Map writes its children's results, instead of its output."""

    resource: str | None = None
    arguments: Payload | None = None
    writer_config: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class MapState:
    """A Map; `item_selector` is ItemSelector or its older name, Parameters. A DISTRIBUTED one
    runs each item (or batch) as a child execution and may read its items with `item_reader`."""

    name: str
    transition: Transition
    processor: StateMachine
    mode: ProcessorMode = ProcessorMode.INLINE
    execution_type: ExecutionType = ExecutionType.STANDARD
    filters: Filters = Filters()
    items_path: Path = ROOT
    items: Query | None = None
    item_reader: ItemReader | None = None
    item_batcher: ItemBatcher | None = None
    result_writer: ResultWriter | None = None
    item_selector: Payload | None = None
    max_concurrency: int = 0
    max_concurrency_path: Selector | None = None
    tolerated_failure: ToleratedFailure = ToleratedFailure()
    label: str | None = None
    results: ResultHandling = ResultHandling()
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()
    outcome: Outcome = NO_OUTCOME


State = (
    PassState
    | TaskState
    | ChoiceState
    | WaitState
    | SucceedState
    | FailState
    | ParallelState
    | MapState
)


@dataclass(frozen=True, slots=True, kw_only=True)
class StateMachine:
    """A top-level definition, a Parallel branch or a Map's ItemProcessor."""

    start_at: str
    states: Mapping[str, State] = field(default_factory=dict)
    timeout_seconds: int | None = None
    comment: str | None = None

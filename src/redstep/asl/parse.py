"""Definition JSON → the typed node tree, with every problem found reported at once.

`parse_definition` is what CreateStateMachine and ValidateStateMachineDefinition call. It never
stops at the first problem: each field is checked where it stands, and each problem becomes a
Diagnostic with the JSON pointer of the field, so a user fixes a definition in one round trip.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from redstep.asl.choice import ChoiceRule, compile_choice_rule
from redstep.asl.diagnostics import Code, Diagnostic, Report, pointer
from redstep.asl.distributed import (
    CSV_DELIMITERS,
    READER_RESOURCES,
    WRITER_RESOURCE,
    HeaderLocation,
    InputType,
    OutputType,
    Transformation,
)
from redstep.asl.errors import StatesError
from redstep.asl.fields import (
    BRANCH,
    FIELDS,
    ITEM_BATCHER,
    ITEM_READER,
    JSONATA_FIELDS,
    JSONATA_ONLY,
    JSONPATH_ONLY,
    MAX_STATE_NAME_LENGTH,
    MAX_VARIABLE_NAME_LENGTH,
    PROCESSOR,
    READER_CONFIG,
    RESULT_WRITER,
    RETRIER_FIELDS,
    TOP_LEVEL,
)
from redstep.asl.json_text import JSON_TOO_DEEP, is_nested_too_deeply
from redstep.asl.jsonata import JsonataSyntaxError, is_expression, states_members
from redstep.asl.model import (
    ROOT,
    Catcher,
    ChoiceState,
    ExecutionType,
    FailState,
    Filters,
    ItemBatcher,
    ItemReader,
    JitterStrategy,
    MapState,
    ParallelState,
    PassState,
    Payload,
    ProcessorMode,
    ResultHandling,
    ResultWriter,
    Retrier,
    State,
    StateMachine,
    SucceedState,
    TaskState,
    Timeouts,
    ToleratedFailure,
    Transition,
    WaitState,
)
from redstep.asl.outcome import Outcome
from redstep.asl.paths import Path, PathSyntaxError, compile_path, compile_reference_path
from redstep.asl.queries import Query, QueryLanguage, compile_query
from redstep.asl.resources import is_recognized, unrecognized
from redstep.asl.templates import Expression, Template, compile_expression, compile_template
from redstep.asl.timestamps import parse_timestamp

#: What `$states` holds in every JSONata field.
_ALWAYS_IN_STATES = frozenset({"input", "context"})
#: A JSONata Map's Items when it gives none: the state's input.
_STATE_INPUT = compile_query("{% $states.input %}", "Items")
#: The largest MaxInputBytesPerBatch AWS accepts (256 KiB).
MAX_BATCH_BYTES = 256 * 1024


class DefinitionError(ValueError):
    """A definition AWS would reject; `diagnostics` lists every problem found."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__(invalid_definition_message(diagnostics))


def invalid_definition_message(diagnostics: list[Diagnostic]) -> str:
    """CreateStateMachine's InvalidDefinition message: every error, with its location."""
    problems = ", ".join(
        f"{d.code}: {d.message} at {d.location or 'null'}"
        for d in diagnostics
        if d.severity == "ERROR"
    )
    return f"Invalid State Machine Definition: '{problems}'"


@dataclass(frozen=True, slots=True)
class Validation:
    """The outcome of validating a definition: its tree when it has no errors."""

    machine: StateMachine | None
    diagnostics: list[Diagnostic]

    @property
    def is_ok(self) -> bool:
        return self.machine is not None


def parse_definition(definition: str | Mapping[str, Any]) -> StateMachine:
    """The node tree of a definition; raise DefinitionError listing every problem."""
    validation = validate_definition(definition)
    if validation.machine is None:
        raise DefinitionError(validation.diagnostics)
    return validation.machine


def validate_definition(definition: str | Mapping[str, Any]) -> Validation:
    """Parse and check a definition (JSON text or an already-decoded object)."""
    report = Report()
    text: str | None = None
    if isinstance(definition, str):
        if not definition.strip():
            report.schema("Definition must be a valid JSON object", None)
            return Validation(None, report.diagnostics)
        text = definition
        try:
            definition = json.loads(text)
        except json.JSONDecodeError as error:
            report.error(
                Code.INVALID_JSON_DESCRIPTION,
                f"{error.msg}: line {error.lineno}, column {error.colno}",
                f"[Source: (String); line: {error.lineno}, column: {error.colno}]",
            )
            return Validation(None, report.diagnostics)
        except RecursionError:  # nested far past the limit: the reader itself ran out of stack
            report.error(Code.INVALID_JSON_DESCRIPTION, JSON_TOO_DEEP, None)
            return Validation(None, report.diagnostics)
    if is_nested_too_deeply(definition, text):  # before the parser's recursive walks see it
        report.error(Code.INVALID_JSON_DESCRIPTION, JSON_TOO_DEEP, None)
        return Validation(None, report.diagnostics)
    machine = _Parser(report).machine(definition, (), TOP_LEVEL)
    if report.has_errors or machine is None:
        return Validation(None, report.diagnostics)
    return Validation(machine, report.diagnostics)


class _Parser:
    def __init__(self, report: Report) -> None:
        self.report = report
        self.names: set[str] = set()  # state names are unique across the whole definition
        self.language = QueryLanguage.JSONPATH  # the default of the machine being read
        self.jsonata = False  # whether the state being read is a JSONata state
        self.kind = ""  # the type of the state being read
        self.outer_names: list[set[str]] = []  # the variables each enclosing scope assigns

    # -- state machines (top level, branches, item processors) ---------------------------------

    def machine(
        self, raw: Any, at: tuple[str | int, ...], allowed: frozenset[str]
    ) -> StateMachine | None:
        if not isinstance(raw, Mapping):
            self.report.schema(
                "Definition must be a valid JSON object"
                if not at
                else "Expected value of type [OBJECT]",
                pointer(*at) if at else None,
            )
            return None
        self.unknown_fields(raw, allowed, at)
        self.required(raw, ("States", "StartAt"), at)
        outer = (self.language, self.jsonata, self.kind)
        self.language = self.query_language(raw, at) or self.language
        start_at = self.string(raw, "StartAt", at)
        states_raw = raw.get("States")
        states: dict[str, State] = {}
        if "States" in raw and not isinstance(states_raw, Mapping):
            self.report.schema("Expected value of type [OBJECT]", pointer(*at, "States"))
        elif isinstance(states_raw, Mapping):
            self.outer_names.append(_assigned_names(states_raw))
            for name, state_raw in states_raw.items():
                state = self.state(name, state_raw, (*at, "States", name))
                if state is not None:
                    states[name] = state
            self.outer_names.pop()
            self.check_graph(states_raw, start_at, at)
        self.language, self.jsonata, self.kind = outer
        timeout = self.integer(raw, "TimeoutSeconds", at, minimum=0)
        comment = raw.get("Comment")
        if start_at is None:
            return None
        return StateMachine(
            start_at=start_at,
            states=states,
            timeout_seconds=timeout,
            comment=comment if isinstance(comment, str) else None,
        )

    def check_graph(
        self, states: Mapping[str, Any], start_at: str | None, at: tuple[Any, ...]
    ) -> None:
        """Transition targets exist, some state ends the machine, and every state is reachable.

        As AWS does, a machine without a terminal state is not also walked for reachability.
        """
        edges: dict[str, list[str]] = {}
        has_end = False
        if start_at is not None and start_at not in states:
            self.report.error(
                Code.MISSING_TRANSITION_TARGET,
                f"Missing 'Next' target: {start_at}",
                pointer(*at, "StartAt"),
            )
        for name, raw in states.items():
            if not isinstance(raw, Mapping):
                continue
            edges[name] = []
            for target, location in _targets(raw, (*at, "States", name)):
                if target in states:
                    edges[name].append(target)
                else:
                    self.report.error(
                        Code.MISSING_TRANSITION_TARGET, f"Missing 'Next' target: {target}", location
                    )
            if raw.get("End") is True or raw.get("Type") in ("Succeed", "Fail"):
                has_end = True
        if states and not has_end:
            self.report.error(
                Code.MISSING_END_STATE,
                "Workflow has no terminal state",
                pointer(*at) if at else None,
            )
            return
        reached: set[str] = {start_at} if start_at is not None and start_at in states else set()
        pending = list(reached)
        while pending:
            for target in edges.get(pending.pop(), ()):
                if target not in reached:
                    reached.add(target)
                    pending.append(target)
        for name in states:
            if name not in reached:
                self.report.error(
                    Code.MISSING_TRANSITION_TARGET,
                    f'State "{name}" is not reachable.',
                    pointer(*at, "States", name),
                )

    # -- states --------------------------------------------------------------------------------

    def state(self, name: str, raw: Any, at: tuple[str | int, ...]) -> State | None:
        if len(name) > MAX_STATE_NAME_LENGTH:
            self.report.error(
                Code.INVALID_STATE_NAME,
                f"State name '{name}' exceeds the {MAX_STATE_NAME_LENGTH}-character limit "
                "allowed by the service",
                pointer(*at),
            )
        if name in self.names:
            self.report.error(
                Code.DUPLICATE_STATE_NAME, f"Duplicate State name: {name}", pointer(*at)
            )
        self.names.add(name)
        if not isinstance(raw, Mapping):
            self.report.schema("Expected value of type [OBJECT]", pointer(*at))
            return None
        kind = raw.get("Type")
        if "Type" not in raw:
            self.report.schema("These fields are required: [Type]", pointer(*at))
            return None
        if not isinstance(kind, str) or kind not in FIELDS:
            self.report.schema(
                f"Value should be one of the following: [{', '.join(FIELDS)}]",
                pointer(*at, "Type"),
            )
            return None
        language = self.query_language(raw, at) or self.language
        if self.language is QueryLanguage.JSONATA and language is QueryLanguage.JSONPATH:
            self.report.schema(
                "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
                pointer(*at),
            )
        self.jsonata = language is QueryLanguage.JSONATA
        self.kind = kind
        self.state_fields(raw, kind, at)
        build: Callable[[str, Mapping[str, Any], tuple[str | int, ...]], State | None] = getattr(
            self, f"state_{kind.lower()}"
        )
        return build(name, raw, at)

    def state_pass(self, name: str, raw: Mapping[str, Any], at: tuple[Any, ...]) -> State | None:
        return PassState(
            name=name,
            transition=self.transition(raw, at),
            filters=self.filters(raw, at),
            parameters=self.template(raw, "Parameters", at),
            result=raw.get("Result"),
            has_result="Result" in raw,
            result_path=self.result_path(raw, "ResultPath", at),
            outcome=self.outcome(raw, at),
        )

    def state_task(self, name: str, raw: Mapping[str, Any], at: tuple[Any, ...]) -> State | None:
        self.required(raw, ("Resource",), at)
        resource = self.string(raw, "Resource", at)
        timeout_query = self.scalar_query(raw, "TimeoutSeconds", at)
        heartbeat_query = self.scalar_query(raw, "HeartbeatSeconds", at)
        timeouts = Timeouts(
            timeout_seconds=None
            if timeout_query
            else self.integer(raw, "TimeoutSeconds", at, minimum=1),
            timeout_seconds_path=timeout_query
            or self.reference_path(raw, "TimeoutSecondsPath", at),
            heartbeat_seconds=None
            if heartbeat_query
            else self.integer(raw, "HeartbeatSeconds", at, minimum=1),
            heartbeat_seconds_path=heartbeat_query
            or self.reference_path(raw, "HeartbeatSecondsPath", at),
        )
        if resource is not None and not is_recognized(resource):
            self.report.schema(unrecognized(resource), pointer(*at, "Resource"))
        self.exclusive(raw, ("TimeoutSeconds", "TimeoutSecondsPath"), at, required=False)
        self.exclusive(raw, ("HeartbeatSeconds", "HeartbeatSecondsPath"), at, required=False)
        if (
            timeouts.timeout_seconds is not None
            and timeouts.heartbeat_seconds is not None
            and timeouts.heartbeat_seconds >= timeouts.timeout_seconds
        ):
            self.report.schema(
                "HeartbeatSeconds must be smaller than TimeoutSeconds",
                pointer(*at, "HeartbeatSeconds"),
            )
        return TaskState(
            name=name,
            transition=self.transition(raw, at),
            resource=resource or "",
            filters=self.filters(raw, at),
            parameters=self.template(raw, self.arguments_key, at),
            results=self.results(raw, at),
            retry=self.retriers(raw, at),
            catch=self.catchers(raw, at),
            timeouts=timeouts,
            credentials=self.template(raw, "Credentials", at),
            outcome=self.outcome(raw, at),
        )

    def state_choice(self, name: str, raw: Mapping[str, Any], at: tuple[Any, ...]) -> State | None:
        self.required(raw, ("Choices",), at)
        choices: list[ChoiceRule] = []
        rules = raw.get("Choices")
        if "Choices" in raw and not isinstance(rules, list):
            self.report.schema("Expected value of type [ARRAY]", pointer(*at, "Choices"))
        elif "Choices" in raw and not rules:
            self.report.schema("Value cannot be empty", pointer(*at, "Choices"))
        elif isinstance(rules, list):
            for index, rule_raw in enumerate(rules):
                rule = self.choice_rule(rule_raw, (*at, "Choices", index))
                if rule is not None:
                    choices.append(rule)
        return ChoiceState(
            name=name,
            choices=tuple(choices),
            default=self.string(raw, "Default", at),
            filters=self.filters(raw, at),
            outcome=self.outcome(raw, at),
        )

    def choice_rule(self, raw: Any, at: tuple[Any, ...]) -> ChoiceRule | None:
        if not self.jsonata:
            rule = compile_choice_rule(raw, pointer(*at), self.report)
            return None if rule is None else replace(rule, outcome=self.outcome(raw, at))
        if not isinstance(raw, Mapping):
            self.report.schema("A Choice Rule must be a JSON object", pointer(*at))
            return None
        self.unknown_fields(
            raw, frozenset({"Condition", "Next", "Assign", "Output", "Comment"}), at
        )
        self.required(raw, ("Condition", "Next"), at)
        condition = self.query(raw, "Condition", at)
        next_state = self.string(raw, "Next", at)
        if condition is None or next_state is None:
            return None
        return ChoiceRule(next_state, condition, self.outcome(raw, at))

    def state_wait(self, name: str, raw: Mapping[str, Any], at: tuple[Any, ...]) -> State | None:
        self.exclusive(raw, ("Seconds", "SecondsPath", "Timestamp", "TimestampPath"), at)
        timestamp_query = self.scalar_query(raw, "Timestamp", at)
        timestamp = None if timestamp_query else self.string(raw, "Timestamp", at)
        if timestamp is not None and parse_timestamp(timestamp) is None:
            self.report.schema(
                "Value must be a valid ISO-8601 extended offset date-time format string",
                pointer(*at, "Timestamp"),
            )
        seconds_query = self.scalar_query(raw, "Seconds", at)
        return WaitState(
            name=name,
            transition=self.transition(raw, at),
            filters=self.filters(raw, at),
            seconds=None if seconds_query else self.integer(raw, "Seconds", at, minimum=0),
            seconds_path=seconds_query or self.reference_path(raw, "SecondsPath", at),
            timestamp=timestamp,
            timestamp_path=timestamp_query or self.reference_path(raw, "TimestampPath", at),
            outcome=self.outcome(raw, at),
        )

    def state_succeed(self, name: str, raw: Mapping[str, Any], at: tuple[Any, ...]) -> State | None:
        return SucceedState(name=name, filters=self.filters(raw, at), outcome=self.outcome(raw, at))

    def state_fail(self, name: str, raw: Mapping[str, Any], at: tuple[Any, ...]) -> State | None:
        self.exclusive(raw, ("Error", "ErrorPath"), at, required=False)
        self.exclusive(raw, ("Cause", "CausePath"), at, required=False)
        error_query = self.scalar_query(raw, "Error", at)
        cause_query = self.scalar_query(raw, "Cause", at)
        return FailState(
            name=name,
            error=None if error_query else self.string(raw, "Error", at),
            error_path=error_query or self.expression(raw, "ErrorPath", at),
            cause=None if cause_query else self.string(raw, "Cause", at),
            cause_path=cause_query or self.expression(raw, "CausePath", at),
        )

    def state_parallel(
        self, name: str, raw: Mapping[str, Any], at: tuple[Any, ...]
    ) -> State | None:
        self.required(raw, ("Branches",), at)
        branches: list[StateMachine] = []
        branches_raw = raw.get("Branches")
        if "Branches" in raw and not isinstance(branches_raw, list):
            self.report.schema("Expected value of type [ARRAY]", pointer(*at, "Branches"))
        elif "Branches" in raw and not branches_raw:
            self.report.schema("Value cannot be empty", pointer(*at, "Branches"))
        elif isinstance(branches_raw, list):
            for index, branch_raw in enumerate(branches_raw):
                branch = self.machine(branch_raw, (*at, "Branches", index), BRANCH)
                if branch is not None:
                    branches.append(branch)
        return ParallelState(
            name=name,
            transition=self.transition(raw, at),
            branches=tuple(branches),
            filters=self.filters(raw, at),
            parameters=self.template(raw, self.arguments_key, at),
            results=self.results(raw, at),
            retry=self.retriers(raw, at),
            catch=self.catchers(raw, at),
            outcome=self.outcome(raw, at),
        )

    def state_map(self, name: str, raw: Mapping[str, Any], at: tuple[Any, ...]) -> State | None:
        self.exclusive(raw, ("ItemProcessor", "Iterator"), at)
        self.exclusive(raw, ("ItemSelector", "Parameters"), at, required=False)
        self.exclusive(raw, ("MaxConcurrency", "MaxConcurrencyPath"), at, required=False)
        key = "ItemProcessor" if "ItemProcessor" in raw else "Iterator"
        processor = self.machine(raw.get(key), (*at, key), PROCESSOR)
        mode, execution_type = self.processor_config(raw.get(key), (*at, key))
        for distributed_only in ("ItemReader", "ItemBatcher", "ResultWriter"):
            if distributed_only in raw and mode is not ProcessorMode.DISTRIBUTED:
                self.report.schema(
                    f"The field '{distributed_only}' is only supported in a DISTRIBUTED Map",
                    pointer(*at, distributed_only),
                )
        selector_key = "ItemSelector" if "ItemSelector" in raw else "Parameters"
        label = self.string(raw, "Label", at)
        concurrency_query = self.scalar_query(raw, "MaxConcurrency", at)
        count_query = self.scalar_query(raw, "ToleratedFailureCount", at)
        percentage_query = self.scalar_query(raw, "ToleratedFailurePercentage", at)
        if processor is None:
            return None
        return MapState(
            name=name,
            transition=self.transition(raw, at),
            processor=processor,
            mode=mode,
            execution_type=execution_type,
            filters=self.filters(raw, at),
            items_path=self.reference_path(raw, "ItemsPath", at) or ROOT,
            items=(self.query(raw, "Items", at) or _STATE_INPUT) if self.jsonata else None,
            item_reader=self.item_reader(raw, at),
            item_batcher=self.item_batcher(raw, at),
            result_writer=self.result_writer(raw, at),
            item_selector=self.template(raw, selector_key, at),
            max_concurrency=0
            if concurrency_query
            else self.integer(raw, "MaxConcurrency", at, minimum=0) or 0,
            max_concurrency_path=concurrency_query
            or self.reference_path(raw, "MaxConcurrencyPath", at),
            tolerated_failure=ToleratedFailure(
                count=None
                if count_query
                else self.integer(raw, "ToleratedFailureCount", at, minimum=0),
                count_path=count_query or self.reference_path(raw, "ToleratedFailureCountPath", at),
                percentage=None
                if percentage_query
                else self.number(raw, "ToleratedFailurePercentage", at, 0, 100),
                percentage_path=percentage_query
                or self.reference_path(raw, "ToleratedFailurePercentagePath", at),
            ),
            label=label,
            results=self.results(raw, at),
            retry=self.retriers(raw, at),
            catch=self.catchers(raw, at),
            outcome=self.outcome(raw, at),
        )

    def processor_config(
        self, raw: Any, at: tuple[Any, ...]
    ) -> tuple[ProcessorMode, ExecutionType]:
        config = raw.get("ProcessorConfig") if isinstance(raw, Mapping) else None
        if config is None:
            return ProcessorMode.INLINE, ExecutionType.STANDARD
        if not isinstance(config, Mapping):
            self.report.schema("Expected value of type [OBJECT]", pointer(*at, "ProcessorConfig"))
            return ProcessorMode.INLINE, ExecutionType.STANDARD
        self.unknown_fields(config, frozenset({"Mode", "ExecutionType"}), (*at, "ProcessorConfig"))
        mode = config.get("Mode", ProcessorMode.INLINE)
        if mode not in tuple(ProcessorMode):
            self.report.schema(
                "Value should be one of the following: [INLINE, DISTRIBUTED]",
                pointer(*at, "ProcessorConfig", "Mode"),
            )
            mode = ProcessorMode.INLINE
        execution_type = config.get("ExecutionType", ExecutionType.STANDARD)
        if execution_type not in tuple(ExecutionType):
            self.report.schema(
                "Value should be one of the following: [STANDARD, EXPRESS]",
                pointer(*at, "ProcessorConfig", "ExecutionType"),
            )
            execution_type = ExecutionType.STANDARD
        return ProcessorMode(mode), ExecutionType(execution_type)

    def item_reader(self, raw: Mapping[str, Any], at: tuple[Any, ...]) -> ItemReader | None:
        reader = self.section(raw, "ItemReader", self.in_language(ITEM_READER), at)
        if reader is None:
            return None
        where = (*at, "ItemReader")
        self.required(reader, ("Resource",), where)
        config = reader.get("ReaderConfig", {})
        if not isinstance(config, Mapping):
            self.report.schema("Expected value of type [OBJECT]", pointer(*where, "ReaderConfig"))
            config = {}
        at_config = (*where, "ReaderConfig")
        self.unknown_fields(config, self.in_language(READER_CONFIG), at_config)
        self.exclusive(config, ("MaxItems", "MaxItemsPath"), at_config, False)
        self.one_of(reader, "Resource", READER_RESOURCES, where)
        self.one_of(config, "InputType", tuple(InputType), at_config)
        self.one_of(config, "CSVHeaderLocation", tuple(HeaderLocation), at_config)
        self.one_of(config, "CSVDelimiter", tuple(CSV_DELIMITERS), at_config)
        headers = config.get("CSVHeaders")
        if "CSVHeaders" in config and not (
            isinstance(headers, list) and all(isinstance(name, str) for name in headers)
        ):
            self.report.schema(
                "Expected value of type [ARRAY] of [STRING]", pointer(*at_config, "CSVHeaders")
            )
        if config.get("CSVHeaderLocation") == HeaderLocation.GIVEN and "CSVHeaders" not in config:
            self.report.schema("These fields are required: [CSVHeaders]", pointer(*at_config))
        max_items = self.scalar_query(config, "MaxItems", at_config)
        return ItemReader(
            resource=self.string(reader, "Resource", where) or "",
            arguments=self.template(reader, self.arguments_key, where),
            reader_config={
                key: value
                for key, value in config.items()
                if key != "MaxItemsPath" and not (key == "MaxItems" and max_items)
            },
            max_items_path=max_items or self.reference_path(config, "MaxItemsPath", at_config),
        )

    def item_batcher(self, raw: Mapping[str, Any], at: tuple[Any, ...]) -> ItemBatcher | None:
        batcher = self.section(raw, "ItemBatcher", self.in_language(ITEM_BATCHER), at)
        if batcher is None:
            return None
        where = (*at, "ItemBatcher")
        self.exclusive(batcher, ("MaxItemsPerBatch", "MaxItemsPerBatchPath"), where, False)
        self.exclusive(
            batcher, ("MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath"), where, False
        )
        items_query = self.scalar_query(batcher, "MaxItemsPerBatch", where)
        bytes_query = self.scalar_query(batcher, "MaxInputBytesPerBatch", where)
        return ItemBatcher(
            max_items_per_batch=None
            if items_query
            else self.integer(batcher, "MaxItemsPerBatch", where, minimum=1),
            max_items_per_batch_path=items_query
            or self.reference_path(batcher, "MaxItemsPerBatchPath", where),
            max_input_bytes_per_batch=None
            if bytes_query
            else self.integer(
                batcher, "MaxInputBytesPerBatch", where, minimum=1, maximum=MAX_BATCH_BYTES
            ),
            max_input_bytes_per_batch_path=bytes_query
            or self.reference_path(batcher, "MaxInputBytesPerBatchPath", where),
            batch_input=self.template(batcher, "BatchInput", where),
        )

    def result_writer(self, raw: Mapping[str, Any], at: tuple[Any, ...]) -> ResultWriter | None:
        writer = self.section(raw, "ResultWriter", self.in_language(RESULT_WRITER), at)
        if writer is None:
            return None
        where = (*at, "ResultWriter")
        config = writer.get("WriterConfig", {})
        if not isinstance(config, Mapping):
            self.report.schema("Expected value of type [OBJECT]", pointer(*where, "WriterConfig"))
            config = {}
        at_config = (*where, "WriterConfig")
        self.unknown_fields(config, frozenset({"Transformation", "OutputType"}), at_config)
        self.one_of(writer, "Resource", (WRITER_RESOURCE,), where)
        self.one_of(config, "Transformation", tuple(Transformation), at_config)
        self.one_of(config, "OutputType", tuple(OutputType), at_config)
        return ResultWriter(
            resource=self.string(writer, "Resource", where),
            arguments=self.template(writer, self.arguments_key, where),
            writer_config=dict(config),
        )

    def one_of(
        self, raw: Mapping[str, Any], key: str, allowed: tuple[str, ...], at: tuple[Any, ...]
    ) -> None:
        """A field whose value, when given (and not a JSONata expression), is one of `allowed`."""
        if key not in raw or (self.jsonata and is_expression(raw[key])):
            return
        if raw[key] not in allowed:
            self.report.schema(
                f"Value should be one of the following: [{', '.join(allowed)}]",
                pointer(*at, key),
            )

    def in_language(self, fields: frozenset[str]) -> frozenset[str]:
        """The fields of a Map's sections the state's query language has: JSONPath's
        `Parameters` and `…Path` fields, or JSONata's `Arguments`."""
        if self.jsonata:
            return frozenset(
                key for key in fields if key != "Parameters" and not key.endswith("Path")
            )
        return fields - {"Arguments"}

    def section(
        self, raw: Mapping[str, Any], key: str, allowed: frozenset[str], at: tuple[Any, ...]
    ) -> Mapping[str, Any] | None:
        """An object-valued field of a state, its members checked; None when absent or bad."""
        if key not in raw:
            return None
        value = raw[key]
        if not isinstance(value, Mapping):
            self.report.schema("Expected value of type [OBJECT]", pointer(*at, key))
            return None
        self.unknown_fields(value, allowed, (*at, key))
        return value

    # -- shared fields -------------------------------------------------------------------------

    def transition(self, raw: Mapping[str, Any], at: tuple[Any, ...]) -> Transition:
        has_next, end = "Next" in raw, raw.get("End")
        if "End" in raw and not isinstance(end, bool):
            self.report.schema("Expected value of type [BOOLEAN]", pointer(*at, "End"))
        if has_next and end is True:
            self.report.schema(
                "There should only be one of the following fields: [Next, End]", pointer(*at)
            )
        elif not has_next and end is not True:
            self.report.schema(
                "This object should have only one of the following fields: [Next, End]",
                pointer(*at),
            )
        return Transition(self.string(raw, "Next", at) if has_next else None)

    def filters(self, raw: Mapping[str, Any], at: tuple[Any, ...]) -> Filters:
        return Filters(
            input_path=self.nullable_path(raw, "InputPath", at),
            output_path=self.nullable_path(raw, "OutputPath", at),
        )

    def results(self, raw: Mapping[str, Any], at: tuple[Any, ...]) -> ResultHandling:
        if self.jsonata:  # JSONata's Output does both (state_fields refuses these two)
            return ResultHandling()
        selector = raw.get("ResultSelector")
        return ResultHandling(
            result_selector=None
            if selector is None
            else compile_template(selector, pointer(*at, "ResultSelector"), self.report),
            result_path=self.result_path(raw, "ResultPath", at),
        )

    def retriers(self, raw: Mapping[str, Any], at: tuple[Any, ...]) -> tuple[Retrier, ...]:
        retriers = []
        for index, item in self.handlers(raw, "Retry", at):
            where = (*at, "Retry", index)
            self.unknown_fields(item, RETRIER_FIELDS, where)
            error_equals = self.error_equals(item, where)
            interval = self.number(item, "IntervalSeconds", where, 1, 99999999)
            attempts = self.integer(item, "MaxAttempts", where, minimum=0, maximum=99999999)
            backoff = self.number(item, "BackoffRate", where, 1, 99999999)
            max_delay = self.number(item, "MaxDelaySeconds", where, 1, 31622401)
            jitter = item.get("JitterStrategy", JitterStrategy.NONE)
            if jitter not in tuple(JitterStrategy):
                self.report.schema(
                    "Value should be one of the following: [NONE, FULL]",
                    pointer(*where, "JitterStrategy"),
                )
                jitter = JitterStrategy.NONE
            retriers.append(
                Retrier(
                    error_equals=error_equals,
                    interval_seconds=1 if interval is None else interval,
                    max_attempts=3 if attempts is None else attempts,
                    backoff_rate=2.0 if backoff is None else backoff,
                    max_delay_seconds=max_delay,
                    jitter_strategy=JitterStrategy(jitter),
                )
            )
        return tuple(retriers)

    def catchers(self, raw: Mapping[str, Any], at: tuple[Any, ...]) -> tuple[Catcher, ...]:
        catchers = []
        for index, item in self.handlers(raw, "Catch", at):
            where = (*at, "Catch", index)
            allowed = {"ErrorEquals", "Next", "Comment", "Assign"}
            allowed |= {"Output"} if self.jsonata else {"ResultPath"}
            self.unknown_fields(item, frozenset(allowed), where)
            self.required(item, ("Next",), where)
            catchers.append(
                Catcher(
                    error_equals=self.error_equals(item, where),
                    next=self.string(item, "Next", where) or "",
                    result_path=self.result_path(item, "ResultPath", where),
                    outcome=self.outcome(item, where),
                )
            )
        return tuple(catchers)

    def handlers(
        self, raw: Mapping[str, Any], key: str, at: tuple[Any, ...]
    ) -> list[tuple[int, Mapping[str, Any]]]:
        items = raw.get(key)
        if key not in raw:
            return []
        if not isinstance(items, list):
            self.report.schema("Expected value of type [ARRAY]", pointer(*at, key))
            return []
        found = []
        for index, item in enumerate(items):
            if not isinstance(item, Mapping):
                self.report.schema("Expected value of type [OBJECT]", pointer(*at, key, index))
                continue
            found.append((index, item))
            names = item.get("ErrorEquals")
            if isinstance(names, list) and StatesError.ALL in names and index != len(items) - 1:
                self.report.schema(
                    "States.ALL must appear alone and at end of list",
                    pointer(*at, key, index, "ErrorEquals"),
                )
        return found

    def error_equals(self, item: Mapping[str, Any], at: tuple[Any, ...]) -> tuple[str, ...]:
        self.required(item, ("ErrorEquals",), at)
        names = item.get("ErrorEquals")
        if "ErrorEquals" not in item:
            return ()
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            self.report.schema(
                "Expected value of type [ARRAY] of [STRING]", pointer(*at, "ErrorEquals")
            )
            return ()
        if not names:
            self.report.schema("Value cannot be empty", pointer(*at, "ErrorEquals"))
        if StatesError.ALL in names and len(names) > 1:
            self.report.schema(
                "States.ALL must appear alone and at end of list", pointer(*at, "ErrorEquals")
            )
        return tuple(names)

    def template(self, raw: Mapping[str, Any], key: str, at: tuple[Any, ...]) -> Payload | None:
        """A payload field: a JSONPath template, or in a JSONata state a Query."""
        if key not in raw:
            return None
        if self.jsonata:
            return self.query(raw, key, at)
        return compile_template(raw[key], pointer(*at, key), self.report)

    @property
    def arguments_key(self) -> str:
        """What a state's payload is called: Parameters (JSONPath) or Arguments (JSONata)."""
        return "Arguments" if self.jsonata else "Parameters"

    def query(self, raw: Mapping[str, Any], key: str, at: tuple[Any, ...]) -> Query | None:
        """A JSONata state's field, every `{% … %}` in it compiled."""
        if key not in raw:
            return None
        try:
            query = compile_query(raw[key], key)
        except JsonataSyntaxError as error:
            where = pointer(*at) + "/" + (error.location or key)
            self.report.error(Code.INVALID_JSONATA_EXPRESSION, str(error), where)
            return None
        for member in sorted(states_members(raw[key]) - self.states_available(key, at)):
            self.report.error(
                Code.UNSUPPORTED_JSONATA_EXPRESSION,
                f"Field '$states.{member}' does not exist.",
                pointer(*at, key),
            )
        return query

    def states_available(self, key: str, at: tuple[Any, ...]) -> frozenset[str]:
        """What `$states` holds for a field: the input and context object everywhere, the
        result in a Task's, Map's or Parallel's own Output and Assign, the error output in a
        Catcher's."""
        if key not in ("Output", "Assign"):
            return _ALWAYS_IN_STATES
        block = at[-2] if len(at) > 1 and isinstance(at[-1], int) else None  # Catch[i], Choices[i]
        if block == "Catch":
            return _ALWAYS_IN_STATES | {"errorOutput"}
        if block is None and self.kind in ("Task", "Map", "Parallel"):
            return _ALWAYS_IN_STATES | {"result"}
        return _ALWAYS_IN_STATES

    def scalar_query(self, raw: Mapping[str, Any], key: str, at: tuple[Any, ...]) -> Query | None:
        """A number or string field of a JSONata state given as an expression; None when the
        field holds a literal (read as in JSONPath) or the state is a JSONPath state."""
        if not self.jsonata or not is_expression(raw.get(key)):
            return None
        return self.query(raw, key, at)

    def outcome(self, raw: Mapping[str, Any], at: tuple[Any, ...]) -> Outcome:
        """A state's (or a Choice rule's, or a Catcher's) Assign and JSONata Output."""
        assign: Template | Query | None = None
        if "Assign" in raw:
            if not isinstance(raw["Assign"], Mapping):
                self.report.schema("Expected value of type [OBJECT]", pointer(*at, "Assign"))
            else:
                self.variable_names(raw["Assign"], (*at, "Assign"))
                assign = self.template(raw, "Assign", at)
        output = self.query(raw, "Output", at) if self.jsonata else None
        return Outcome(assign, output)

    def variable_names(self, assign: Mapping[str, Any], at: tuple[Any, ...]) -> None:
        """Names a variable may have, and none an enclosing scope assigns (the spec: outer and
        inner scopes' names are unique; an inner scope only reads the outer ones)."""
        outer = set().union(*self.outer_names[:-1])
        for key in assign:
            name = key if self.jsonata else _variable_name(key)
            if name in outer:
                self.report.schema(
                    f"The variable '{name}' is assigned in an outer scope: a Parallel branch or "
                    "a Map iteration can read it but not assign it",
                    pointer(*at, key),
                )
            if not name.isidentifier() or len(name) > MAX_VARIABLE_NAME_LENGTH or name == "states":
                self.report.schema(
                    f"The variable name '{name}' is not valid: a variable name is an identifier "
                    "(a letter or '_', then letters, digits and '_'; Unicode letters included) "
                    f"of at most {MAX_VARIABLE_NAME_LENGTH} characters, and not 'states'",
                    pointer(*at, key),
                )

    def expression(
        self, raw: Mapping[str, Any], key: str, at: tuple[Any, ...]
    ) -> Expression | None:
        if key not in raw:
            return None
        return compile_expression(raw[key], key, pointer(*at, key), self.report)

    def nullable_path(self, raw: Mapping[str, Any], key: str, at: tuple[Any, ...]) -> Path | None:
        if key not in raw:
            return ROOT
        if raw[key] is None:
            return None
        return self.path(raw[key], pointer(*at, key), compile_path)

    def result_path(self, raw: Mapping[str, Any], key: str, at: tuple[Any, ...]) -> Path | None:
        if key not in raw:
            return ROOT
        if raw[key] is None:
            return None
        path = self.path(raw[key], pointer(*at, key), compile_reference_path)
        if path is not None and path.variable is not None:
            self.report.schema(
                "Value is not a Reference Path: ResultPath cannot refer to a variable",
                pointer(*at, key),
            )
        elif path is not None and path.is_context:
            self.report.schema(
                "Value is not a Reference Path: ResultPath cannot refer to the context object",
                pointer(*at, key),
            )
        return path

    def reference_path(self, raw: Mapping[str, Any], key: str, at: tuple[Any, ...]) -> Path | None:
        if key not in raw:
            return None
        return self.path(raw[key], pointer(*at, key), compile_reference_path)

    def path(self, value: Any, location: str, compile: Callable[[str], Path]) -> Path | None:
        if not isinstance(value, str):
            self.report.schema("Expected value of type [STRING]", location)
            return None
        try:
            return compile(value)
        except PathSyntaxError as error:
            message = (
                f"Value is not a Reference Path: {error}"
                if compile is compile_reference_path
                else "Value must be a valid JSONPath."
            )
            self.report.schema(message, location)
            return None

    # -- primitive fields ----------------------------------------------------------------------

    def unknown_fields(
        self, raw: Mapping[str, Any], allowed: frozenset[str], at: tuple[Any, ...]
    ) -> None:
        for key in raw:
            if key not in allowed:
                self.report.schema(f"Field '{key}' is not supported", pointer(*at))

    def required(self, raw: Mapping[str, Any], keys: tuple[str, ...], at: tuple[Any, ...]) -> None:
        missing = [key for key in keys if key not in raw]
        if missing:
            self.report.schema(f"These fields are required: [{', '.join(missing)}]", pointer(*at))

    def exclusive(
        self,
        raw: Mapping[str, Any],
        keys: tuple[str, ...],
        at: tuple[Any, ...],
        required: bool = True,
    ) -> None:
        present = [key for key in keys if key in raw]
        if len(present) > 1:
            self.report.schema(
                f"There should only be one of the following fields: [{', '.join(keys)}]",
                pointer(*at),
            )
        elif required and not present:
            self.report.schema(
                f"This object should have only one of the following fields: [{', '.join(keys)}]",
                pointer(*at),
            )

    def query_language(self, raw: Mapping[str, Any], at: tuple[Any, ...]) -> QueryLanguage | None:
        """The QueryLanguage a machine or state sets; None when it sets none (or a bad one)."""
        if "QueryLanguage" not in raw:
            return None
        language = raw["QueryLanguage"]
        if not isinstance(language, str):
            self.report.schema("Expected value of type [STRING]", pointer(*at, "QueryLanguage"))
        elif language not in tuple(QueryLanguage):
            self.report.schema(
                "Value should be one of the following: [JSONPath, JSONata]",
                pointer(*at, "QueryLanguage"),
            )
        else:
            return QueryLanguage(language)
        return None

    def state_fields(self, raw: Mapping[str, Any], kind: str, at: tuple[Any, ...]) -> None:
        """Every field of a state is one its type has in its query language."""
        if not self.jsonata:
            self.unknown_fields(raw, FIELDS[kind], at)
            return
        for key in raw:
            if key in JSONATA_FIELDS[kind]:
                continue
            if key in JSONPATH_ONLY or (key in FIELDS[kind] and key not in JSONATA_ONLY):
                self.report.schema(
                    f"The QueryLanguage is set to 'JSONata', but field '{key}' is only "
                    "supported for the 'JSONPath' QueryLanguage",
                    pointer(*at),
                )
            else:
                self.report.schema(f"Field '{key}' is not supported", pointer(*at))

    def string(self, raw: Mapping[str, Any], key: str, at: tuple[Any, ...]) -> str | None:
        value = raw.get(key)
        if key in raw and not isinstance(value, str):
            self.report.schema("Expected value of type [STRING]", pointer(*at, key))
            return None
        return value

    def integer(
        self,
        raw: Mapping[str, Any],
        key: str,
        at: tuple[Any, ...],
        minimum: int = 0,
        maximum: int = 99999999,
    ) -> int | None:
        value = raw.get(key)
        if key not in raw:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            self.report.schema("Expected value of type [INTEGER]", pointer(*at, key))
            return None
        return value if self.in_range(value, minimum, maximum, pointer(*at, key)) else None

    def number(
        self, raw: Mapping[str, Any], key: str, at: tuple[Any, ...], minimum: float, maximum: float
    ) -> float | None:
        value = raw.get(key)
        if key not in raw:
            return None
        if not isinstance(value, int | float) or isinstance(value, bool):
            self.report.schema("Expected value of type [NUMBER]", pointer(*at, key))
            return None
        return value if self.in_range(value, minimum, maximum, pointer(*at, key)) else None

    def in_range(self, value: float, minimum: float, maximum: float, location: str) -> bool:
        if value < minimum:
            self.report.schema(f"Minimum value is {minimum:g}", location)
        elif value > maximum:
            self.report.schema(f"Maximum value is {maximum:g}", location)
        else:
            return True
        return False


def _variable_name(key: str) -> str:
    """An Assign key's variable: JSONPath's `name.$` assigns `name`."""
    return key[:-2] if key.endswith(".$") else key


def _assigned_names(states: Mapping[str, Any]) -> set[str]:
    """The variables the states of one scope assign (state, Choice rules, Catchers)."""
    names: set[str] = set()
    for raw in states.values():
        if not isinstance(raw, Mapping):
            continue
        blocks = [raw]
        for key in ("Choices", "Catch"):
            if isinstance(raw.get(key), list):
                blocks.extend(raw[key])
        for block in blocks:
            assign = block.get("Assign") if isinstance(block, Mapping) else None
            if isinstance(assign, Mapping):
                names.update(_variable_name(key) for key in assign)
    return names


def _targets(raw: Mapping[str, Any], at: tuple[Any, ...]) -> list[tuple[str, str]]:
    """Every state name a state may transition to, with the pointer of the field naming it."""
    found: list[tuple[str, str]] = []
    if isinstance(raw.get("Next"), str):
        found.append((raw["Next"], pointer(*at, "Next")))
    if isinstance(raw.get("Default"), str):
        found.append((raw["Default"], pointer(*at, "Default")))
    for key in ("Choices", "Catch"):
        items = raw.get(key)
        if isinstance(items, list):
            for index, item in enumerate(items):
                if isinstance(item, Mapping) and isinstance(item.get("Next"), str):
                    found.append((item["Next"], pointer(*at, key, index, "Next")))
    return found

"""Which workflow variables each state reads: the `variableReferences` of DescribeStateMachine
and DescribeStateMachineForExecution.

Owns `variable_references`, which reads a definition's JSON (not the node tree: the answer names
what the definition says, field by field, and the compiled tree folds some of that away) and maps
each state, at any depth (Parallel branches, Map item processors), to the variables it reads.
AWS's model says of the member: "States that do not use variable references will not be shown
in the response"; executions recorded on AWS (LocalStack's `test_sfn_api_variable_references`)
show the member itself left out when no state reads a variable, so an empty map means "leave
it out".

What counts as a read, by query language:

- JSONPath: a Path that starts at a variable (`$total`, `$order.items[0]`), wherever a path is
  read: the `…Path` fields (ResultPath excepted: it cannot name a variable), a Choice rule's
  Variable and `…Path` operands (through And, Or and Not), a Map's ItemReader, ItemBatcher and
  ResultWriter, and the `.$` fields of a payload template (Parameters, ResultSelector,
  ItemSelector, Assign, Credentials, BatchInput; in a Choice rule's or a Catcher's Assign too),
  an intrinsic function's path arguments included. A string without `.$` is a literal, as AWS
  reads it (the recordings show `"bucketName": "$bucket"` listed nowhere).
- JSONata: each `$name` a `{% %}` expression reads from outside itself, found in the expression's
  syntax tree: `$states` is Step Functions' own, not a variable; a called name (`$count(…)`,
  `… ~> $uppercase`) is a function; a name the expression binds (`$v := …`, a lambda's
  parameters, a path's `@$focus` and `#$index`) is local where it is in scope.

Order: AWS documents none, and the recordings only show lists sorted by the recorder. A state's
list is in order of first appearance: its fields as the definition orders them, each
expression's names as the text orders them, each name once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from functools import lru_cache
from typing import Any, Final

from redstep.asl.intrinsics import IntrinsicSyntaxError, compile_intrinsic
from redstep.asl.jsonata import JsonataSyntaxError, is_expression, syntax_tree
from redstep.asl.paths import Path, PathSyntaxError, compile_path
from redstep.asl.queries import QueryLanguage

#: The fields that hold state machines of their own, whose states are listed by their own names.
_NESTED: Final = frozenset({"Branches", "ItemProcessor", "Iterator"})
#: JSONPath payload templates: objects whose `.$` fields are paths or intrinsic functions.
_TEMPLATES: Final = frozenset(
    {"Parameters", "ResultSelector", "ItemSelector", "Assign", "Credentials", "BatchInput"}
)
#: JSONPath fields holding a list of objects read as fields again: Choice rules, Catchers.
_BLOCK_LISTS: Final = frozenset({"Choices", "And", "Or", "Catch"})
#: JSONPath fields holding one object read as fields again.
_BLOCKS: Final = frozenset(
    {"Not", "ItemReader", "ReaderConfig", "ItemBatcher", "ResultWriter", "WriterConfig"}
)
#: JSONata fields that hold names, flags and literals, never an expression.
_JSONATA_LITERALS: Final = frozenset(
    {"Type", "Comment", "QueryLanguage", "Next", "End", "Default", "Retry", "ErrorEquals"}
)
#: JSONata names that are not workflow variables: `$` (the context), `$$` (the input), `$states`.
_NOT_VARIABLES: Final = frozenset({"", "$", "states"})
#: The attributes of jsonata-python's syntax nodes that hold other nodes (or lists of them),
#: roughly in evaluation order. The parent operator's bookkeeping (`ancestor`, `slot`,
#: `seeking_parent`) is left out: it points back up the tree.
_CHILDREN: Final = (
    "condition",
    "then",
    "_else",
    "lhs",
    "rhs",
    "expression",
    "expressions",
    "lhs_object",
    "rhs_object",
    "pattern",
    "update",
    "delete",
    "expr",
    "terms",
    "rhs_terms",
    "steps",
    "stages",
    "predicate",
    "group",
    "procedure",
    "arguments",
    "body",
)
#: The attributes any node may carry as a path's step, whatever its type: its filters, its index
#: bindings, and a group-by (`$a{$b: $c}`).
_STEP_PARTS: Final = ("stages", "predicate", "group")


def variable_references(definition: str | Mapping[str, Any]) -> dict[str, list[str]]:
    """Each state that reads a workflow variable, at any depth, with the variables it reads in
    order of first appearance; states that read none are left out. `definition` is the JSON
    text or its decoded object; text that is not a JSON object reads as a machine without
    states (a stored definition was validated when it was created)."""
    if isinstance(definition, str):
        try:
            definition = json.loads(definition)
        except ValueError:
            return {}
    found: dict[str, list[str]] = {}
    if isinstance(definition, Mapping):
        _collect(definition, _language(definition, QueryLanguage.JSONPATH), found)
    return found


def _collect(
    machine: Mapping[str, Any], default: QueryLanguage, found: dict[str, list[str]]
) -> None:
    """Add the states of `machine` and of the machines inside them; `default` is the language
    of a state that names none: the top level's, in branches and item processors too, as the
    parser reads them."""
    states = machine.get("States")
    if not isinstance(states, Mapping):
        return
    for name, state in states.items():
        if not isinstance(state, Mapping):
            continue
        if _language(state, default) is QueryLanguage.JSONATA:
            names = _jsonata_fields(state)
        else:
            names = _jsonpath_fields(state)
        listed = found.get(name, [])  # a name is unique in a valid definition; merged if not
        listed.extend(n for n in dict.fromkeys(names) if n not in listed)
        if listed:
            found[name] = listed
        for nested in _nested_machines(state):
            _collect(nested, default, found)


def _language(raw: Mapping[str, Any], default: QueryLanguage) -> QueryLanguage:
    language = raw.get("QueryLanguage")
    return QueryLanguage(language) if language in tuple(QueryLanguage) else default


def _nested_machines(state: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    branches = state.get("Branches")
    for branch in branches if isinstance(branches, list) else ():
        if isinstance(branch, Mapping):
            yield branch
    for key in ("ItemProcessor", "Iterator"):
        processor = state.get(key)
        if isinstance(processor, Mapping):
            yield processor


# -- JSONPath --------------------------------------------------------------------------------


def _jsonpath_fields(block: Mapping[str, Any]) -> Iterator[str]:
    """The variables a JSONPath state, Choice rule, Catcher or Map section reads, field by
    field in the definition's order."""
    for key, value in block.items():
        if key in _NESTED:
            continue
        if key in _TEMPLATES:
            yield from _template_variables(value)
        elif key in _BLOCK_LISTS and isinstance(value, list):
            for item in value:
                if isinstance(item, Mapping):
                    yield from _jsonpath_fields(item)
        elif key in _BLOCKS and isinstance(value, Mapping):
            yield from _jsonpath_fields(value)
        elif key == "Variable" or (key.endswith("Path") and key != "ResultPath"):
            yield from _dynamic_variables(value)


def _template_variables(value: Any) -> Iterator[str]:
    """The variables the `.$` fields of a payload template read, at any depth."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and key.endswith(".$"):
                yield from _dynamic_variables(item)
            else:
                yield from _template_variables(item)
    elif isinstance(value, list):
        for item in value:
            yield from _template_variables(item)


def _dynamic_variables(value: Any) -> Iterator[str]:
    """The variables a path or an intrinsic function call reads; none for anything else."""
    if not isinstance(value, str):
        return
    if value.startswith("States."):
        try:
            intrinsic = compile_intrinsic(value)
        except IntrinsicSyntaxError:
            return
        yield from _argument_variables(intrinsic.call)
        return
    try:
        path = compile_path(value)
    except PathSyntaxError:
        return
    if path.variable is not None:
        yield path.variable


def _argument_variables(node: object) -> Iterator[str]:
    """The variables of every Path in a compiled intrinsic call, nested calls included, in the
    order the arguments are written. The call's nodes are walked as the dataclasses they are,
    so that this module leans on nothing of the intrinsics' but `Path`."""
    if isinstance(node, Path):
        if node.variable is not None:
            yield node.variable
        return
    if not is_dataclass(node) or isinstance(node, type):
        return
    for member in fields(node):
        value = getattr(node, member.name)
        for part in value if isinstance(value, tuple) else (value,):
            yield from _argument_variables(part)


# -- JSONata ---------------------------------------------------------------------------------


def _jsonata_fields(block: Mapping[str, Any]) -> Iterator[str]:
    """The variables the expressions of a JSONata state, Choice rule or Catcher read, field by
    field in the definition's order."""
    for key, value in block.items():
        if key in _NESTED or key in _JSONATA_LITERALS:
            continue
        if key in ("Choices", "Catch") and isinstance(value, list):
            for item in value:
                if isinstance(item, Mapping):
                    yield from _jsonata_fields(item)
        else:
            yield from _value_variables(value)


def _value_variables(value: Any) -> Iterator[str]:
    """The variables of every `{% %}` string in a JSON value (object keys are never one)."""
    if isinstance(value, str):
        if is_expression(value):
            yield from _expression_variables(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _value_variables(item)
    elif isinstance(value, list):
        for item in value:
            yield from _value_variables(item)


@lru_cache(maxsize=4096)
def _expression_variables(text: str) -> tuple[str, ...]:
    """The workflow variables one `{% … %}` expression reads, in the order its text names them.
    One that does not parse reads none (a stored definition's expressions all parse)."""
    try:
        tree = syntax_tree(text[2:-2].strip())
        reads = _Reads()
        reads.walk(tree, _Frame(None), None)
    except (JsonataSyntaxError, RecursionError):
        return ()
    return reads.names()


@dataclass(slots=True)
class _Frame:
    """The names an expression binds in one scope (a block, a lambda's parameters, a path's
    focus and index variables), and the scope it is inside."""

    parent: _Frame | None
    names: set[str] = field(default_factory=set)

    def binds(self, name: str) -> bool:
        frame: _Frame | None = self
        while frame is not None:
            if name in frame.names:
                return True
            frame = frame.parent
        return False


class _Reads:
    """The names an expression reads from outside itself, collected by walking its tree in
    evaluation order, so that `($x := $x + 1)` reads the outer `$x` before binding its own.

    A lambda's body runs when it is called, after the names bound around it so far: a name it
    reads that is bound nowhere yet is settled at the end, against the scopes around the lambda
    as they end up (the call is taken to come last)."""

    def __init__(self) -> None:
        self.found: list[tuple[int, str]] = []
        self.pending: list[tuple[int, str, _Frame]] = []
        self.seen: set[int] = set()

    def names(self) -> tuple[str, ...]:
        settled = [(at, name) for at, name, frame in self.pending if not frame.binds(name)]
        return tuple(dict.fromkeys(name for _, name in sorted(self.found + settled)))

    def walk(self, node: Any, frame: _Frame, closure: _Frame | None) -> None:
        """Walk `node` in `frame`; `closure` is the scope the innermost lambda around it was
        defined in (None outside any lambda)."""
        if id(node) in self.seen:  # each node once, whatever points to it twice
            return
        self.seen.add(id(node))
        match node.type:
            case "variable":
                self.read(node, frame, closure)
            case "bind":
                self.walk(node.rhs, frame, closure)
                frame.names.add(str(node.lhs.value))
            case "block":
                inner = _Frame(frame)
                for expression in node.expressions or ():
                    self.walk(expression, inner, closure)
            case "lambda":
                parameters = {str(argument.value) for argument in node.arguments or ()}
                self.walk(node.body, _Frame(frame, parameters), frame)
            case "function" | "partial":
                if getattr(node.procedure, "type", None) != "variable":  # a called name is none
                    self.walk(node.procedure, frame, closure)
                for argument in node.arguments or ():
                    self.walk(argument, frame, closure)
            case "apply":
                self.walk(node.lhs, frame, closure)
                if getattr(node.rhs, "type", None) != "variable":  # `~> $f` names a function
                    self.walk(node.rhs, frame, closure)
            case "path":
                inner = _Frame(frame)
                for step in node.steps or ():
                    inner.names.update(
                        str(name) for name in (step.focus, step.index) if isinstance(name, str)
                    )
                    self.walk(step, inner, closure)
                if node.group is not None:
                    self.walk(node.group, inner, closure)
                return
            case "index":  # `#$i` among a step's stages: bound for the stages after it
                frame.names.add(str(node.value))
            case _:
                for child in _children(node, _CHILDREN):
                    self.walk(child, frame, closure)
                return
        # Any node can be a path's step, with its predicates and stages on it (`$x[0]`).
        for child in _children(node, _STEP_PARTS):
            self.walk(child, frame, closure)

    def read(self, node: Any, frame: _Frame, closure: _Frame | None) -> None:
        name = str(node.value)
        if name in _NOT_VARIABLES or frame.binds(name):
            return
        if closure is None:
            self.found.append((node.position, name))
        else:
            self.pending.append((node.position, name, closure))


def _children(node: Any, names: tuple[str, ...]) -> Iterator[Any]:
    """The syntax nodes in the attributes `names` of `node` (lists, and the pairs of an object
    constructor, flattened)."""
    for name in names:
        pending = [getattr(node, name, None)]
        while pending:
            item = pending.pop(0)
            if isinstance(item, list):
                pending[:0] = item
            elif item is not None and hasattr(item, "type") and hasattr(item, "__dict__"):
                yield item

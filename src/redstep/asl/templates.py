"""Payload templates (Parameters, ResultSelector, ItemSelector) and dynamic expressions.

A payload template is JSON in which a field whose name ends in `.$` takes its value from a Path
(`$…`), a context path (`$$…`) or an intrinsic function call; the output field drops the `.$`.
Every other value is copied as it is, and objects nested anywhere inside it, arrays included,
are templates too (States Language spec, "Payload Template").

A template is compiled once, when the definition is parsed, into a flat plan: constant parts are
folded into ready values, and each object keeps its leading constant fields as one dict to copy
and the rest as a tuple of (key, constant, evaluator) to fill in. Evaluation, which runs on every
transition, is then a copy and a short loop. The values the plan shares between evaluations
(constants, and whatever a path selects from the input) are never modified: the engine treats
JSON values as immutable, so sharing them is safe and saves copying.

An *expression* is the single-value form used by a Fail state's ErrorPath and CausePath: a path
or an intrinsic function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

from redstep.asl.diagnostics import Report, pointer
from redstep.asl.errors import StatesError, StatesFailure
from redstep.asl.intrinsics import (
    STRING_FUNCTIONS,
    Intrinsic,
    IntrinsicSyntaxError,
    compile_intrinsic,
)
from redstep.asl.paths import (
    Path,
    PathNotFound,
    PathSyntaxError,
    compile_path,
    compile_reference_path,
    to_json,
)
from redstep.asl.scope import Scope

Evaluator = Callable[[Any, Scope], Any]

#: Fields that must produce a string, where AWS allows only a Reference Path or one of the
#: intrinsics that can return a string (AWS developer guide, "Fail workflow state").
STRING_FIELDS: Final = frozenset({"ErrorPath", "CausePath"})


@dataclass(frozen=True, slots=True)
class PathExpression:
    """A path in a dynamic field; `field` is the field's name as AWS's messages quote it."""

    path: Path
    field: str

    def evaluate(self, data: Any, scope: Scope) -> Any:
        """The selected value; raises StatesFailure(States.Runtime) when a path selects nothing."""
        try:
            return self.path.select(data, scope)
        except PathNotFound:
            searched = scope.context if self.path.is_context else data
            raise StatesFailure(
                StatesError.RUNTIME,
                f"The JSONPath '{self.path.text}' specified for the field '{self.field}' "
                f"could not be found in the input '{to_json(searched)}'",
            ) from None


Expression: TypeAlias = PathExpression | Intrinsic


@dataclass(frozen=True, slots=True)
class Template:
    """A compiled payload template; `raw` is the definition's JSON it was compiled from."""

    raw: Any
    build: Evaluator = field(compare=False, repr=False)
    is_constant: bool = False

    def evaluate(self, data: Any, scope: Scope) -> Any:
        """A new value built from `data` and `scope`; `data` is never modified.

        Raises StatesFailure(States.Runtime) when a path selects nothing or an intrinsic fails.
        """
        return self.build(data, scope)


@dataclass(frozen=True, slots=True)
class _Constant:
    value: Any


def compile_template(raw: Any, location: str, report: Report) -> Template:
    """Compile a payload template; each problem goes to `report`, located by JSON pointer.

    All problems are reported, not only the first; a field with a problem is left out of the
    compiled template.
    """
    compiled = _compile(raw, location, report)
    if isinstance(compiled, _Constant):
        return Template(raw, _constant(compiled.value), is_constant=True)
    return Template(raw, compiled)


def compile_expression(text: Any, field: str, location: str, report: Report) -> Expression | None:
    """Compile a dynamic field such as ErrorPath or CausePath: a path or an intrinsic call.

    Returns None, after reporting why, when `text` is neither.
    """
    return _compile_dynamic(text, field, location, report)


def _compile(raw: Any, location: str, report: Report) -> _Constant | Evaluator:
    if isinstance(raw, dict):
        return _compile_object(raw, location, report)
    if isinstance(raw, list):
        return _compile_array(raw, location, report)
    return _Constant(raw)


def _compile_object(raw: dict[str, Any], location: str, report: Report) -> _Constant | Evaluator:
    entries: list[tuple[str, Any, Evaluator | None]] = []
    sources: dict[str, str] = {}
    for key, value in raw.items():
        where = location + pointer(key)
        if key.endswith(".$"):
            name = key[:-2]
            expression = _compile_dynamic(value, key, where, report)
            if expression is None:
                continue
            entry: tuple[str, Any, Evaluator | None] = (name, None, expression.evaluate)
        else:
            name = key
            compiled = _compile(value, where, report)
            if isinstance(compiled, _Constant):
                entry = (name, compiled.value, None)
            else:
                entry = (name, None, compiled)
        if name in sources:
            report.schema(
                f"The field '{name}' is given twice, as '{sources[name]}' and as '{key}'", where
            )
            continue
        sources[name] = key
        entries.append(entry)

    if all(evaluate is None for _, _, evaluate in entries):
        return _Constant({name: value for name, value, _ in entries})
    leading = 0
    while entries[leading][2] is None:
        leading += 1
    head = {name: value for name, value, _ in entries[:leading]}
    return _object(head, tuple(entries[leading:]))


def _compile_array(raw: list[Any], location: str, report: Report) -> _Constant | Evaluator:
    items = [_compile(item, location + pointer(index), report) for index, item in enumerate(raw)]
    if all(isinstance(item, _Constant) for item in items):
        return _Constant([item.value for item in items if isinstance(item, _Constant)])
    return _array(
        tuple((item.value, None) if isinstance(item, _Constant) else (None, item) for item in items)
    )


def _compile_dynamic(value: Any, field: str, location: str, report: Report) -> Expression | None:
    """A path or an intrinsic for the field `field` (`name.$`, ErrorPath, CausePath)."""
    message = (
        f"The value for the field '{field}' must be a valid JSONPath or a valid intrinsic "
        "function call"
    )
    wants_string = field in STRING_FIELDS
    if not isinstance(value, str):
        report.schema(message, location)
        return None
    if value.startswith("$"):
        try:
            path = compile_reference_path(value) if wants_string else compile_path(value)
        except PathSyntaxError as error:
            report.schema(f"{message}: {error}", location)
            return None
        return PathExpression(path, field)
    if value.startswith("States."):
        try:
            intrinsic = compile_intrinsic(value)
        except IntrinsicSyntaxError as error:
            report.schema(f"{message}: {error}", location)
            return None
        if wants_string and intrinsic.name not in STRING_FUNCTIONS:
            allowed = ", ".join(sorted(STRING_FUNCTIONS))
            report.schema(
                f"{message}: {intrinsic.name} cannot be used here; use one of {allowed}", location
            )
            return None
        return intrinsic
    report.schema(message, location)
    return None


# -- evaluators -------------------------------------------------------------------------------


def _constant(value: Any) -> Evaluator:
    def build(data: Any, scope: Scope) -> Any:
        return value

    return build


def _object(head: dict[str, Any], tail: tuple[tuple[str, Any, Evaluator | None], ...]) -> Evaluator:
    """Copy the leading constant fields, then fill in the rest in the template's field order."""

    def build(data: Any, scope: Scope) -> Any:
        out = head.copy()
        for name, value, evaluate in tail:
            out[name] = value if evaluate is None else evaluate(data, scope)
        return out

    return build


def _array(items: tuple[tuple[Any, Evaluator | None], ...]) -> Evaluator:
    def build(data: Any, scope: Scope) -> Any:
        return [value if evaluate is None else evaluate(data, scope) for value, evaluate in items]

    return build

"""The fields of JSONata states, behind the interface the engine evaluates every field through.

A JSONPath field is evaluated as `evaluate(data, scope)`: the state's input and a Scope (context
object, variables, randomness). A JSONata field is a `Query` with the same method, so the
interpreter runs both query languages through one code path: `data` becomes `$states.input`, the
scope's context `$states.context`, its `states` (`result`, `errorOutput`) the rest of `$states`,
and its variables JSONata's `$name` bindings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from redstep.asl.jsonata import Bindings, JsonataTemplate, compile_template, is_expression
from redstep.asl.paths import to_json
from redstep.asl.scope import Scope

#: The clock JSONata's $now() reads when a scope carries none (validation, one-off evaluations).
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class QueryLanguage(StrEnum):
    JSONPATH = "JSONPath"
    JSONATA = "JSONata"


@dataclass(frozen=True, slots=True)
class Query:
    """A JSONata state's field: JSON holding `{% … %}` expressions at any depth."""

    raw: Any
    template: JsonataTemplate = field(compare=False, repr=False)

    @property
    def text(self) -> str:
        """The field as its messages quote it."""
        return self.raw if isinstance(self.raw, str) else to_json(self.raw)

    @property
    def field(self) -> str:
        """The state's field this is, as AWS's messages name it (`Seconds`, `Items`, …)."""
        return self.template.field

    @property
    def is_expression(self) -> bool:
        return is_expression(self.raw)

    @property
    def expression_text(self) -> str:
        """A lone expression as AWS's messages quote it: between its delimiters, trimmed."""
        text = self.text
        if is_expression(text):
            return text.strip()[2:-2].strip()
        return text

    def evaluate(self, data: Any, scope: Scope) -> Any:
        """The field's value for a state whose input is `data`; raises StatesFailure
        (States.QueryEvaluationError) when an expression fails."""
        states = {"input": data, "context": scope.context, **scope.states}
        return self.template.evaluate(
            Bindings(
                states=states,
                variables=scope.variables,
                random=scope.random,
                now=scope.now or _EPOCH,
            )
        )


def compile_query(raw: Any, field_name: str) -> Query:
    """Compile a JSONata state's field; raises JsonataSyntaxError for a bad expression."""
    return Query(raw, compile_template(raw, field_name))


def json_type(value: Any) -> str:
    """A JSON value's type as AWS's messages name it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"

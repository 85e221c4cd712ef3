"""Choice Rules (JSONPath): compiled once into a tree of conditions, evaluated on every transition.

A Choice state's rules become frozen nodes when the definition is created. Every Variable and
`…Path` operand is compiled as a Reference Path; every literal is converted to the form its
comparison needs (a timestamp to an instant, a string to be ordered to UTF-16 code units, a
StringMatches pattern to a regex); and every node carries the functions that read and compare its
operands. Evaluating a rule therefore walks the tree with `match` and never dispatches on an
operator's name.

Semantics are the States Language spec's and AWS's:

- a comparison whose operands are not both of the operator's type is false, not an error;
  booleans are not numbers, and a string that is not a timestamp never compares as one;
- numbers compare by value (1 equals 1.0); strings order as Java's `String.compareTo`, by UTF-16
  code unit, which AWS's documentation names; timestamps (RFC 3339) compare as instants;
- a Variable or `…Path` operand that selects nothing fails the execution with States.Runtime,
  except under IsPresent, whose purpose is to ask exactly that.

Compiling reports every problem of a rule, each as SCHEMA_VALIDATION_FAILED with the JSON pointer
of its place, in the words AWS's validator uses where they are known.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, assert_never

from redstep.asl.diagnostics import Report, pointer
from redstep.asl.errors import StatesError, StatesFailure
from redstep.asl.outcome import NO_OUTCOME, Outcome
from redstep.asl.paths import Path, PathNotFound, PathSyntaxError, compile_reference_path, to_json
from redstep.asl.queries import Query, json_type
from redstep.asl.scope import Scope

#: Reads a JSON value as the form a comparison works on; None when the value has the wrong type
#: (no form is ever None, since JSON null belongs to no comparison's type).
Normalise = Callable[[Any], Any]
#: Compares two normalised operands: the Variable's first.
Relation = Callable[[Any, Any], bool]


class Operator(StrEnum):
    """The data-test operators of a Choice Rule, spelled as in a definition."""

    STRING_EQUALS = "StringEquals"
    STRING_EQUALS_PATH = "StringEqualsPath"
    STRING_LESS_THAN = "StringLessThan"
    STRING_LESS_THAN_PATH = "StringLessThanPath"
    STRING_GREATER_THAN = "StringGreaterThan"
    STRING_GREATER_THAN_PATH = "StringGreaterThanPath"
    STRING_LESS_THAN_EQUALS = "StringLessThanEquals"
    STRING_LESS_THAN_EQUALS_PATH = "StringLessThanEqualsPath"
    STRING_GREATER_THAN_EQUALS = "StringGreaterThanEquals"
    STRING_GREATER_THAN_EQUALS_PATH = "StringGreaterThanEqualsPath"
    STRING_MATCHES = "StringMatches"
    NUMERIC_EQUALS = "NumericEquals"
    NUMERIC_EQUALS_PATH = "NumericEqualsPath"
    NUMERIC_LESS_THAN = "NumericLessThan"
    NUMERIC_LESS_THAN_PATH = "NumericLessThanPath"
    NUMERIC_GREATER_THAN = "NumericGreaterThan"
    NUMERIC_GREATER_THAN_PATH = "NumericGreaterThanPath"
    NUMERIC_LESS_THAN_EQUALS = "NumericLessThanEquals"
    NUMERIC_LESS_THAN_EQUALS_PATH = "NumericLessThanEqualsPath"
    NUMERIC_GREATER_THAN_EQUALS = "NumericGreaterThanEquals"
    NUMERIC_GREATER_THAN_EQUALS_PATH = "NumericGreaterThanEqualsPath"
    BOOLEAN_EQUALS = "BooleanEquals"
    BOOLEAN_EQUALS_PATH = "BooleanEqualsPath"
    TIMESTAMP_EQUALS = "TimestampEquals"
    TIMESTAMP_EQUALS_PATH = "TimestampEqualsPath"
    TIMESTAMP_LESS_THAN = "TimestampLessThan"
    TIMESTAMP_LESS_THAN_PATH = "TimestampLessThanPath"
    TIMESTAMP_GREATER_THAN = "TimestampGreaterThan"
    TIMESTAMP_GREATER_THAN_PATH = "TimestampGreaterThanPath"
    TIMESTAMP_LESS_THAN_EQUALS = "TimestampLessThanEquals"
    TIMESTAMP_LESS_THAN_EQUALS_PATH = "TimestampLessThanEqualsPath"
    TIMESTAMP_GREATER_THAN_EQUALS = "TimestampGreaterThanEquals"
    TIMESTAMP_GREATER_THAN_EQUALS_PATH = "TimestampGreaterThanEqualsPath"
    IS_NULL = "IsNull"
    IS_PRESENT = "IsPresent"
    IS_NUMERIC = "IsNumeric"
    IS_STRING = "IsString"
    IS_BOOLEAN = "IsBoolean"
    IS_TIMESTAMP = "IsTimestamp"


# --- The tree ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Comparison:
    """Variable compared with a literal fixed in the definition, e.g. NumericEquals."""

    operator: Operator
    variable: Path
    #: The literal in the form `relation` takes: an instant, UTF-16 bytes, a compiled pattern.
    operand: Any
    normalise: Normalise = field(compare=False, repr=False)
    relation: Relation = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class PathComparison:
    """Variable compared with another value of the input or context, e.g. NumericEqualsPath."""

    operator: Operator
    variable: Path
    operand: Path
    normalise: Normalise = field(compare=False, repr=False)
    relation: Relation = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class TypeTest:
    """IsNull, IsNumeric, IsString, IsBoolean or IsTimestamp: whether the value is of a type."""

    operator: Operator
    variable: Path
    expected: bool
    test: Callable[[Any], bool] = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class PresenceTest:
    """IsPresent: whether Variable selects anything (the one test a missing value cannot fail)."""

    variable: Path
    expected: bool


@dataclass(frozen=True, slots=True)
class And:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Or:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    condition: Condition


Condition = Comparison | PathComparison | TypeTest | PresenceTest | And | Or | Not


@dataclass(frozen=True, slots=True)
class ChoiceRule:
    """A top-level rule of a Choice state: a condition and the state it leads to, and what the
    state assigns (and, in JSONata, outputs) when the rule is the one taken.

    In a JSONata state the condition is a Query (the rule's `Condition`), which must give a
    boolean.
    """

    next: str
    condition: Condition | Query
    outcome: Outcome = NO_OUTCOME

    def matches(self, data: Any, scope: Scope) -> bool:
        """Whether the rule holds for a state's effective input; raises StatesFailure."""
        if isinstance(self.condition, Query):
            value = self.condition.evaluate(data, scope)
            if not isinstance(value, bool):
                raise StatesFailure(
                    StatesError.QUERY_EVALUATION_ERROR,
                    f"The JSONata expression '{self.condition.expression_text}' specified for the "
                    f"field 'Condition' returned an unexpected result type. Expected 'boolean', "
                    f"but was '{json_type(value)}' for value: {to_json(value)}",
                )
            return value
        return evaluate(self.condition, data, scope)


# --- Evaluation ----------------------------------------------------------------------------------


def evaluate(condition: Condition, data: Any, scope: Scope) -> bool:
    """Whether `condition` holds for `data`.

    Raises StatesFailure(States.Runtime) when a Variable or `…Path` operand selects nothing
    (except under IsPresent). And and Or stop at the first operand that decides them, as the spec
    requires, so a later operand's missing path does not fail a rule already decided.
    """
    match condition:
        case Comparison():
            left = condition.normalise(_read(condition.variable, data, scope))
            return left is not None and condition.relation(left, condition.operand)
        case PathComparison():
            left = condition.normalise(_read(condition.variable, data, scope))
            right = condition.normalise(_read(condition.operand, data, scope))
            return left is not None and right is not None and condition.relation(left, right)
        case TypeTest():
            return condition.test(_read(condition.variable, data, scope)) == condition.expected
        case PresenceTest():
            try:
                condition.variable.select(data, scope)
            except PathNotFound:
                return not condition.expected
            return condition.expected
        case And():
            # Loops, not all()/any(): a generator costs a quarter of a typical rule's time.
            for each in condition.conditions:  # noqa: SIM110
                if not evaluate(each, data, scope):
                    return False
            return True
        case Or():
            for each in condition.conditions:  # noqa: SIM110
                if evaluate(each, data, scope):
                    return True
            return False
        case Not():
            return not evaluate(condition.condition, data, scope)
        case _:
            assert_never(condition)


def _read(path: Path, data: Any, scope: Scope) -> Any:
    try:
        return path.select(data, scope)
    except PathNotFound:
        raise StatesFailure(
            StatesError.RUNTIME,
            f"Invalid path '{path.text}': The choice state's condition path references an "
            "invalid value.",
        ) from None


# --- Operand types -------------------------------------------------------------------------------


def _as_string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _as_utf16(value: Any) -> bytes | None:
    """A string as UTF-16 code units, big-endian: bytes that order as Java orders strings.

    Python orders strings by code point, which differs from Java's String.compareTo (that AWS
    documents for its string comparisons) when a character outside the BMP meets one in
    U+E000 to U+FFFF.
    """
    return value.encode("utf-16-be", "surrogatepass") if isinstance(value, str) else None


def _as_number(value: Any) -> int | float | None:
    if isinstance(value, bool):  # JSON true is not 1
        return None
    return value if isinstance(value, int | float) else None


def _as_boolean(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)
_EPOCH_ORDINAL = datetime(1970, 1, 1).toordinal()


@lru_cache(maxsize=4096)
def _parse_instant(text: str) -> int | None:
    """Nanoseconds since the epoch of an RFC 3339 timestamp, or None if `text` is not one.

    The spec's profile: an uppercase T between date and time, an uppercase Z or a numeric offset,
    seconds present; fractions to the nanosecond, as Java's Instant keeps them. Cached because a
    Choice state tends to read the same few timestamps over and over.
    """
    found = _TIMESTAMP.fullmatch(text)
    if found is None:
        return None
    year, month, day, hour, minute, second, fraction, sign, offset_h, offset_m = found.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:  # month 13, February 30, hour 24, a leap second
        return None
    seconds = (moment.toordinal() - _EPOCH_ORDINAL) * 86_400 + (
        moment.hour * 3600 + moment.minute * 60 + moment.second
    )
    if sign is not None:
        if int(offset_h) > 23 or int(offset_m) > 59:
            return None
        offset = int(offset_h) * 3600 + int(offset_m) * 60
        seconds -= offset if sign == "+" else -offset
    return seconds * 1_000_000_000 + int((fraction or "").ljust(9, "0"))


def _as_instant(value: Any) -> int | None:
    return _parse_instant(value) if isinstance(value, str) else None


def _is_number(value: Any) -> bool:
    return _as_number(value) is not None


def _is_timestamp(value: Any) -> bool:
    return _as_instant(value) is not None


@dataclass(frozen=True, slots=True)
class _Comparator:
    """How one comparison operator reads and compares its operands."""

    normalise: Normalise
    relation: Relation
    expected: str  # what a literal operand must be, for diagnostics
    is_path: bool


_RELATIONS: dict[str, Relation] = {
    "Equals": operator.eq,
    "LessThan": operator.lt,
    "GreaterThan": operator.gt,
    "LessThanEquals": operator.le,
    "GreaterThanEquals": operator.ge,
}
_FAMILIES: dict[str, tuple[Normalise, str]] = {
    "String": (_as_utf16, "a string"),
    "Numeric": (_as_number, "a number"),
    "Boolean": (_as_boolean, "a boolean"),
    "Timestamp": (_as_instant, "a timestamp, such as '2016-03-14T01:59:00Z'"),
}


def _comparators() -> dict[Operator, _Comparator]:
    """Every comparing operator, read off its name once, at import."""
    table: dict[Operator, _Comparator] = {}
    for each in Operator:
        name = each.value
        is_path = name.endswith("Path")
        stem = name.removesuffix("Path")
        for family, (normalise, expected) in _FAMILIES.items():
            relation = (
                _RELATIONS.get(stem.removeprefix(family)) if stem.startswith(family) else None
            )
            if relation is None:
                continue
            if family == "String" and relation is operator.eq:
                normalise = _as_string  # equality needs no re-encoding
            table[each] = _Comparator(normalise, relation, expected, is_path)
    table[Operator.STRING_MATCHES] = _Comparator(_as_string, _glob_matches, "a string", False)
    return table


def _glob_matches(value: str, pattern: re.Pattern[str]) -> bool:
    return pattern.fullmatch(value) is not None


def _compile_glob(text: str) -> tuple[Any, Relation]:
    """A StringMatches pattern as an anchored regex: `*` matches any run of characters.

    A backslash makes the next character literal (`\\*` a star, `\\\\` a backslash). A pattern
    that ends in an open escape cannot match anything; the spec makes that a runtime error, so it
    compiles to a relation that raises one when a string is tested against it.
    """
    parts: list[str] = []
    literal: list[str] = []
    characters = iter(text)
    for character in characters:
        if character == "\\":
            escaped = next(characters, None)
            if escaped is None:
                return text, _open_escape
            literal.append(escaped)
        elif character == "*":
            parts.append(re.escape("".join(literal)))
            parts.append(".*")
            literal.clear()
        else:
            literal.append(character)
    parts.append(re.escape("".join(literal)))
    return re.compile("".join(parts), re.DOTALL), _glob_matches


def _open_escape(value: str, pattern: str) -> bool:
    raise StatesFailure(
        StatesError.RUNTIME,
        f"The StringMatches pattern '{pattern}' ends with an open escape backslash",
    )


_COMPARATORS = _comparators()
_TYPE_TESTS: dict[Operator, Callable[[Any], bool]] = {
    Operator.IS_NULL: lambda value: value is None,
    Operator.IS_NUMERIC: _is_number,
    Operator.IS_STRING: lambda value: isinstance(value, str),
    Operator.IS_BOOLEAN: lambda value: isinstance(value, bool),
    Operator.IS_TIMESTAMP: _is_timestamp,
}
_BOOLEAN_OPERATORS = frozenset({"And", "Or", "Not"})
_OPERATORS = frozenset(Operator) | _BOOLEAN_OPERATORS
_NESTED_FIELDS = frozenset({"Variable", "Comment"})
_TOP_LEVEL_FIELDS = _NESTED_FIELDS | {"Next", "Assign"}
_JSONATA_FIELDS = frozenset({"Condition", "Output"})


# --- Compilation ---------------------------------------------------------------------------------


def compile_choice_rule(raw: Any, location: str, report: Report) -> ChoiceRule | None:
    """Compile one element of a Choice state's Choices; None when it has problems.

    `location` is the rule's JSON pointer (`/States/Check/Choices[0]`). Every problem found is
    added to `report`, each at the pointer of the field at fault (for a field that is not
    allowed, or one that is missing, the rule's own pointer, as AWS reports them).
    """
    if not isinstance(raw, dict):
        report.schema("A Choice Rule must be a JSON object", location)
        return None
    condition = _compile_condition(raw, location, report, top_level=True)
    next_state = _compile_next(raw, location, report)
    if "Assign" in raw and not isinstance(raw["Assign"], dict):
        report.schema(
            "The value for the field 'Assign' must be an object", location + pointer("Assign")
        )
        return None
    if condition is None or next_state is None:
        return None
    return ChoiceRule(next_state, condition)


def _compile_next(raw: dict[str, Any], location: str, report: Report) -> str | None:
    if "Next" not in raw:
        report.schema("The field 'Next' is required but was missing", location)
        return None
    value = raw["Next"]
    if not isinstance(value, str):
        report.schema("The value for the field 'Next' must be a string", location + pointer("Next"))
        return None
    return value


def _compile_condition(
    raw: dict[str, Any], location: str, report: Report, *, top_level: bool
) -> Condition | None:
    """A rule's condition: exactly one operator, and its fields checked for every problem."""
    allowed = _TOP_LEVEL_FIELDS if top_level else _NESTED_FIELDS
    is_valid = True
    names: list[str] = []
    for name in raw:
        if name in _OPERATORS:
            names.append(name)
        elif name in _JSONATA_FIELDS:
            report.schema(
                f"The QueryLanguage is set to 'JSONPath', but field '{name}' is only supported "
                "for the 'JSONata' QueryLanguage",
                location,
            )
            is_valid = False
        elif name not in allowed:
            report.schema(f"Field '{name}' is not supported", location)
            is_valid = False
    if "Comment" in raw and not isinstance(raw["Comment"], str):
        report.schema(
            "The value for the field 'Comment' must be a string", location + pointer("Comment")
        )
        is_valid = False

    is_boolean = len(names) == 1 and names[0] in _BOOLEAN_OPERATORS
    variable: Path | None = None
    if "Variable" in raw:
        if is_boolean:
            report.schema("Field 'Variable' is not supported", location)
            is_valid = False
        else:
            variable = _compile_reference(raw["Variable"], "Variable", location, report)
    elif any(name not in _BOOLEAN_OPERATORS for name in names):
        report.schema("The field 'Variable' is required but was missing", location)

    candidates = [
        _compile_boolean(name, raw[name], location, report)
        if name in _BOOLEAN_OPERATORS
        else _compile_data_test(Operator(name), raw[name], variable, location, report)
        for name in names
    ]
    if not names:
        report.schema("Choice rules with no comparison operator are not supported", location)
        return None
    if len(names) > 1:
        listed = ", ".join(f"'{name}'" for name in names)
        report.schema(
            f"Choice rules with more than one comparison operator are not supported: {listed}",
            location,
        )
        return None
    return candidates[0] if is_valid else None


def _compile_reference(value: Any, name: str, location: str, report: Report) -> Path | None:
    where = location + pointer(name)
    if not isinstance(value, str):
        report.schema(f"The value for the field '{name}' must be a string", where)
        return None
    try:
        return compile_reference_path(value)
    except PathSyntaxError as error:
        reason = "Reference path didn't start with '$'" if not value.startswith("$") else error
        report.schema(f"Value is not a Reference Path: {reason}", where)
        return None


def _compile_data_test(
    op: Operator, value: Any, variable: Path | None, location: str, report: Report
) -> Condition | None:
    where = location + pointer(op.value)
    if op is Operator.IS_PRESENT or op in _TYPE_TESTS:
        if not isinstance(value, bool):
            report.schema(f"The value for the field '{op}' must be a boolean", where)
            return None
        if variable is None:
            return None
        if op is Operator.IS_PRESENT:
            return PresenceTest(variable, value)
        return TypeTest(op, variable, value, _TYPE_TESTS[op])

    comparator = _COMPARATORS[op]
    if comparator.is_path:
        operand = _compile_reference(value, op.value, location, report)
        if operand is None or variable is None:
            return None
        return PathComparison(op, variable, operand, comparator.normalise, comparator.relation)

    relation = comparator.relation
    if op is Operator.STRING_MATCHES:
        literal: Any = value if isinstance(value, str) else None
        if literal is not None:
            literal, relation = _compile_glob(literal)
    else:
        literal = comparator.normalise(value)
    if literal is None:
        report.schema(f"The value for the field '{op}' must be {comparator.expected}", where)
        return None
    if variable is None:
        return None
    return Comparison(op, variable, literal, comparator.normalise, relation)


def _compile_boolean(name: str, value: Any, location: str, report: Report) -> Condition | None:
    where = location + pointer(name)
    if name == "Not":
        if not isinstance(value, dict):
            report.schema("The value for the field 'Not' must be an object", where)
            return None
        inner = _compile_condition(value, where, report, top_level=False)
        return None if inner is None else Not(inner)

    if not isinstance(value, list):
        report.schema(f"The value for the field '{name}' must be an array", where)
        return None
    if not value:
        report.schema("Value cannot be empty", where)
        return None
    compiled: list[Condition] = []
    for index, item in enumerate(value):
        item_location = where + pointer(index)
        if not isinstance(item, dict):
            report.schema("A Choice Rule must be a JSON object", item_location)
            continue
        condition = _compile_condition(item, item_location, report, top_level=False)
        if condition is not None:
            compiled.append(condition)
    if len(compiled) != len(value):
        return None
    return And(tuple(compiled)) if name == "And" else Or(tuple(compiled))

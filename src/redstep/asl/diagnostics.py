"""Problems found in a definition, each with a code, a message and a location.

The codes and severities are those of AWS's ValidateStateMachineDefinition
(`SCHEMA_VALIDATION_FAILED`, `MISSING_TRANSITION_TARGET`, …), and so is the form of a location:
a path of field names with array indexes in brackets, `/States/C/Choices[0]/Next`. A parser
collects every problem it finds instead of stopping at the first, so one call reports them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "ERROR"
    WARNING = "WARNING"


class Code(StrEnum):
    """Diagnostic codes, as ValidateStateMachineDefinition names them."""

    INVALID_JSON_DESCRIPTION = "INVALID_JSON_DESCRIPTION"
    MISSING_DESCRIPTION = "MISSING_DESCRIPTION"
    SCHEMA_VALIDATION_FAILED = "SCHEMA_VALIDATION_FAILED"
    INVALID_RESOURCE = "INVALID_RESOURCE"
    MISSING_END_STATE = "MISSING_END_STATE"
    DUPLICATE_STATE_NAME = "DUPLICATE_STATE_NAME"
    INVALID_STATE_NAME = "INVALID_STATE_NAME"
    MISSING_TRANSITION_TARGET = "MISSING_TRANSITION_TARGET"
    UNREACHABLE_STATE = "UNREACHABLE_STATE"
    NO_DOLLAR = "NO_DOLLAR"
    NO_PATH = "NO_PATH"
    PASS_RESULT_IS_STATIC = "PASS_RESULT_IS_STATIC"
    INVALID_JSONATA_EXPRESSION = "INVALID_JSONATA_EXPRESSION"
    UNSUPPORTED_JSONATA_EXPRESSION = "UNSUPPORTED_JSONATA_EXPRESSION"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem; `location` is None for a problem of the whole definition."""

    code: Code
    message: str
    location: str | None
    severity: Severity = Severity.ERROR

    def to_wire(self) -> dict[str, str]:
        """The ValidateStateMachineDefinitionDiagnostic shape (no `location` when there is none)."""
        wire = {"severity": self.severity.value, "code": self.code.value, "message": self.message}
        if self.location is not None:
            wire["location"] = self.location
        return wire


def pointer(*parts: str | int) -> str:
    """The location of a field as AWS writes it: pointer("States", "C", "Choices", 0) is
    `/States/C/Choices[0]`; no parts is the definition itself, `/`."""
    location = "".join(f"[{part}]" if isinstance(part, int) else f"/{part}" for part in parts)
    return location or "/"


@dataclass(slots=True)
class Report:
    """Collects the diagnostics of one definition."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def error(self, code: Code, message: str, location: str | None) -> None:
        self.diagnostics.append(Diagnostic(code, message, location))

    def schema(self, message: str, location: str | None) -> None:
        """The common case: a field that the schema does not accept."""
        self.error(Code.SCHEMA_VALIDATION_FAILED, message, location)

    def warning(self, code: Code, message: str, location: str) -> None:
        self.diagnostics.append(Diagnostic(code, message, location, Severity.WARNING))

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

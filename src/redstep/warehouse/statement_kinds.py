"""What a translated statement asks of a session, the same for every backend.

Redshift's transaction statements inside SQL (BEGIN, COMMIT/END, ROLLBACK/ABORT), TRUNCATE's
implicit commit, the statements with no local meaning and the binding of Data API parameters are
decided here once; a backend only says how to begin, commit, roll back and run.
"""

from __future__ import annotations

from typing import Protocol

from redstep.warehouse.base import Parameters, Result, WarehouseError
from redstep.warehouse.dialect import StatementKind, Translation


class Session(Protocol):
    """The part of a backend's connection that `perform` drives."""

    @property
    def in_transaction(self) -> bool: ...

    def begin(self) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def run(self, translation: Translation, parameters: Parameters | None) -> Result:
        """Run the translation's statements (or its transfer) and return the last result."""
        ...


def perform(session: Session, translation: Translation, parameters: Parameters | None) -> Result:
    """Carry out one translated Redshift statement on `session`, as its kind says."""
    match translation.kind:
        case StatementKind.BEGIN:
            session.begin()  # inside a transaction Redshift only warns
            return Result()
        case StatementKind.COMMIT:
            session.commit()
            return Result()
        case StatementKind.ROLLBACK:
            session.rollback()
            return Result()
        case StatementKind.IGNORED:
            return Result()
        case StatementKind.TRUNCATE:
            # TRUNCATE commits the transaction it runs in; later statements get a new one.
            was_in_transaction = session.in_transaction
            session.commit()
            result = session.run(translation, parameters)
            if was_in_transaction:
                session.begin()
            return result
        case StatementKind.QUERY | StatementKind.TRANSFER:
            return session.run(translation, parameters)


def bind_parameters(translation: Translation, parameters: Parameters | None) -> dict[str, object]:
    """The values of the Data API parameters a translation uses; a missing one is an error."""
    given: Parameters = parameters or {}
    missing = [name for name in translation.parameter_names if name not in given]
    if missing:
        raise WarehouseError(f"no value given for parameter :{missing[0]}", sqlstate="42P02")
    return {name: given[name] for name in translation.parameter_names}

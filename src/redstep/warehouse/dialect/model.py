"""The values the dialect layer hands to a backend: what to run, and what kind of statement."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redstep.warehouse.transfer import Transfer


class Target(StrEnum):
    """A local engine that Redshift SQL is rewritten for."""

    DUCKDB = "duckdb"
    POSTGRES = "postgres"


class StatementKind(StrEnum):
    """How a backend must treat a statement, beyond running its SQL."""

    QUERY = "QUERY"
    """Any statement run as is (SELECT, DML, DDL): run `Translation.statements` in order."""
    BEGIN = "BEGIN"
    """BEGIN / START TRANSACTION: open a transaction unless one is open (Redshift only warns)."""
    COMMIT = "COMMIT"
    """COMMIT / END [TRANSACTION]: commit the open transaction, if any."""
    ROLLBACK = "ROLLBACK"
    """ROLLBACK / ABORT: roll back the open transaction, if any."""
    TRUNCATE = "TRUNCATE"
    """TRUNCATE: commit the open transaction first, then run the statements (not undoable)."""
    IGNORED = "IGNORED"
    """ANALYZE, VACUUM...: accepted, nothing to run."""
    TRANSFER = "TRANSFER"
    """COPY or UNLOAD: run through `Translation.transfer` when there is one (PostgreSQL), else
    run `Translation.statements`; made from the bucket's files as they are when translated."""


@dataclass(frozen=True, slots=True)
class Translation:
    """One Redshift statement, rewritten for a target engine.

    `statements` are the target's SQL, run in order on one connection; the last one's result is
    the statement's result. Data API parameters (`:name`) appear in the target's named style:
    DuckDB `$name`, PostgreSQL `%(name)s` (with every other `%` doubled, so the backend always
    passes a mapping). `parameter_names` lists the names used, in order of first use.
    """

    kind: StatementKind
    statements: tuple[str, ...] = ()
    parameter_names: tuple[str, ...] = ()
    transfer: Transfer | None = None

"""The statement record: what the Data API knows about a submitted statement and its parts.

A statement is either one ExecuteStatement (its SQL may hold several statements, run together as
Redshift's simple query protocol runs them) or one BatchExecuteStatement, whose Sqls become
sub-statements `<id>:1`, `<id>:2`, ... Records are immutable values; a status change is a new
record (`dataclasses.replace`) written to the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class StatusString(StrEnum):
    """A statement's status, as DescribeStatement reports it."""

    SUBMITTED = "SUBMITTED"
    PICKED = "PICKED"
    STARTED = "STARTED"
    FINISHED = "FINISHED"
    ABORTED = "ABORTED"
    FAILED = "FAILED"

    @property
    def is_terminal(self) -> bool:
        """True once the statement can change no more."""
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({StatusString.FINISHED, StatusString.ABORTED, StatusString.FAILED})
"""The statuses a statement ends in."""
ACTIVE_STATUSES = frozenset(StatusString) - TERMINAL_STATUSES
"""The statuses of a statement not yet ended: SUBMITTED, PICKED, STARTED."""


class ExecutionMode(StrEnum):
    """How a batch's Sqls are committed."""

    TRANSACTION = "TRANSACTION"
    AUTO_COMMIT = "AUTO_COMMIT"


class ResultFormat(StrEnum):
    """The format a statement's result is kept in: JSON for GetStatementResult, CSV for V2."""

    JSON = "JSON"
    CSV = "CSV"


class SessionStatus(StrEnum):
    """A session's status, as ListSessions reports it."""

    AVAILABLE = "AVAILABLE"
    BUSY = "BUSY"
    CLOSED = "CLOSED"


UUID_PATTERN = re.compile(r"[a-z0-9]{8}(-[a-z0-9]{4}){3}-[a-z0-9]{12}")
SUB_STATEMENT_ID = re.compile(rf"(?P<parent>{UUID_PATTERN.pattern}):(?P<ordinal>\d+)")


def split_statement_id(statement_id: str) -> tuple[str, int | None]:
    """`uuid` -> (uuid, None); `uuid:N` -> (uuid, N)."""
    match = SUB_STATEMENT_ID.fullmatch(statement_id)
    if match:
        return match["parent"], int(match["ordinal"])
    return statement_id, None


def sub_statement_id(parent_id: str, ordinal: int) -> str:
    """The id of a batch's `ordinal`-th sub-statement (1-based)."""
    return f"{parent_id}:{ordinal}"


@dataclass(frozen=True, slots=True)
class Target:
    """Where a statement runs, as the request named it."""

    warehouse: str
    """The name of the project warehouse the request routed to."""
    database: str
    cluster_identifier: str | None = None
    workgroup_name: str | None = None
    db_user: str | None = None
    secret_arn: str | None = None


@dataclass(frozen=True, slots=True)
class SubStatementRecord:
    """One SQL of a batch (or the single part of an ExecuteStatement)."""

    statement_id: str
    """The parent statement's id."""
    ordinal: int
    query_string: str
    status: StatusString
    created_at: datetime
    updated_at: datetime
    duration_ns: int = 0
    error: str | None = None
    has_result_set: bool = False
    result_rows: int = -1
    result_size: int = -1
    redshift_query_id: int = 0

    @property
    def id(self) -> str:
        """`<parent id>:<ordinal>`."""
        return sub_statement_id(self.statement_id, self.ordinal)


@dataclass(frozen=True, slots=True)
class StatementRecord:
    """A submitted ExecuteStatement or BatchExecuteStatement."""

    id: str
    target: Target
    is_batch: bool
    query_strings: tuple[str, ...]
    """Execute: the one Sql; batch: the Sqls in order."""
    status: StatusString
    created_at: datetime
    updated_at: datetime
    parameters: tuple[tuple[str, str], ...] = ()
    statement_name: str | None = None
    result_format: ResultFormat = ResultFormat.JSON
    execution_mode: ExecutionMode | None = None
    session_id: str | None = None
    client_token: str | None = None
    request_digest: str | None = None
    """A digest of the request, to tell a ClientToken retry from a reuse with other input."""
    error: str | None = None
    duration_ns: int = 0
    redshift_pid: int = 0
    redshift_query_id: int = 0
    has_result_set: bool = False
    result_rows: int = -1
    result_size: int = -1
    sub_statements: tuple[SubStatementRecord, ...] = field(default=())

    @property
    def query_string(self) -> str | None:
        """The SQL of an ExecuteStatement; None for a batch."""
        return None if self.is_batch else self.query_strings[0]

    @property
    def parameter_map(self) -> dict[str, str]:
        """Parameters as the warehouse takes them: name -> value."""
        return dict(self.parameters)

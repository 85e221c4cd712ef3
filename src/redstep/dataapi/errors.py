"""The errors the Data API answers with, named and shaped as AWS's `redshift-data` models them.

Every error a caller can see is a `DataApiError` whose `code` is the AWS error name (the `__type`
the HTTP layer puts in the body) and whose `members()` are the modelled members (`Message` plus,
for some, `StatementId` or `ResourceId`):

    DataApiError
    ├── ValidationException                    bad input (400)
    ├── ResourceNotFoundException              unknown statement or session (400)
    ├── ActiveStatementsExceededException      too many SUBMITTED/PICKED/STARTED statements (400)
    ├── ActiveSessionsExceededException        too many open sessions (400)
    ├── ActiveWaitingRequestsExceededException too many WaitTimeSeconds waits on one statement (400)
    ├── QueryTimeoutException                  a catalog call timed out (400)
    ├── ExecuteStatementException              ExecuteStatement could not be submitted (500)
    ├── BatchExecuteStatementException         BatchExecuteStatement could not be submitted (500)
    ├── DatabaseConnectionException            the warehouse could not be reached (500)
    └── InternalServerException                anything else that went wrong inside redstep (500)

A SQL error is never one of these: it is recorded on the statement (Status FAILED, Error).
Every error of the model has its class, so a caller can catch any of them; redstep itself never
raises ActiveSessionsExceededException, ActiveWaitingRequestsExceededException or
QueryTimeoutException (it sets no quota on sessions or waiters, and catalog calls have no timeout).
"""

from __future__ import annotations

from typing import ClassVar


class DataApiError(Exception):
    """An error answered to the caller of a Data API operation."""

    code: ClassVar[str] = "InternalServerException"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def members(self) -> dict[str, str]:
        """The error's modelled members, with AWS's names."""
        return {"Message": self.message}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ValidationException(DataApiError):
    """The request is malformed or asks for something the statement's state does not allow."""

    code = "ValidationException"
    http_status = 400


class ResourceNotFoundException(DataApiError):
    """The statement or session named by the request does not exist."""

    code = "ResourceNotFoundException"
    http_status = 400

    def __init__(self, message: str, *, resource_id: str) -> None:
        super().__init__(message)
        self.resource_id = resource_id

    def members(self) -> dict[str, str]:
        return {"Message": self.message, "ResourceId": self.resource_id}


class ActiveStatementsExceededException(DataApiError):
    """More statements are SUBMITTED, PICKED or STARTED than the quota allows."""

    code = "ActiveStatementsExceededException"
    http_status = 400


class ActiveSessionsExceededException(DataApiError):
    """More sessions are open than the quota allows."""

    code = "ActiveSessionsExceededException"
    http_status = 400


class ActiveWaitingRequestsExceededException(DataApiError):
    """Too many requests are waiting (WaitTimeSeconds) on the same statement."""

    code = "ActiveWaitingRequestsExceededException"
    http_status = 400


class QueryTimeoutException(DataApiError):
    """A catalog query did not finish in time."""

    code = "QueryTimeoutException"
    http_status = 400


class _SubmissionError(DataApiError):
    """A submitting call could not hand its statement over; names the statement's id."""

    http_status = 500

    def __init__(self, message: str, *, statement_id: str) -> None:
        super().__init__(message)
        self.statement_id = statement_id

    def members(self) -> dict[str, str]:
        return {"Message": self.message, "StatementId": self.statement_id}


class ExecuteStatementException(_SubmissionError):
    """ExecuteStatement could not submit its statement."""

    code = "ExecuteStatementException"


class BatchExecuteStatementException(_SubmissionError):
    """BatchExecuteStatement could not submit its statements."""

    code = "BatchExecuteStatementException"


class DatabaseConnectionException(DataApiError):
    """The warehouse could not be opened or reached."""

    code = "DatabaseConnectionException"
    http_status = 500


class InternalServerException(DataApiError):
    """Something went wrong inside redstep itself."""

    code = "InternalServerException"
    http_status = 500


ERRORS: dict[str, type[DataApiError]] = {
    error.code: error
    for error in (
        ValidationException,
        ResourceNotFoundException,
        ActiveStatementsExceededException,
        ActiveSessionsExceededException,
        ActiveWaitingRequestsExceededException,
        QueryTimeoutException,
        ExecuteStatementException,
        BatchExecuteStatementException,
        DatabaseConnectionException,
        InternalServerException,
    )
}
"""Every error this layer raises, by AWS name; a test checks it against the botocore model."""


def query_does_not_exist(statement_id: str) -> ResourceNotFoundException:
    """What AWS answers for a well-formed id that names no statement."""
    return ResourceNotFoundException("Query does not exist.", resource_id=statement_id)

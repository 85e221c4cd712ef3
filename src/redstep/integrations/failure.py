"""How an integration says that a task failed: the error and cause a Step Functions user sees."""

from __future__ import annotations


class TaskFailure(Exception):
    """The task ends in failure with `error` (matched by Retry and Catch) and `cause`."""

    def __init__(self, error: str, cause: str | None = None) -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause

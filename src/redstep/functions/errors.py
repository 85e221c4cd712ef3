"""What `Functions` raises to its caller (a failing handler is an answer, never an exception):

KeyError
└── UnknownFunction                   invoke() of a name no [functions.<name>] table gives
                                      (Lambda's ResourceNotFoundException)
ValueError
└── InvalidRequestContentException    a payload that is not JSON, refused before any
                                      handler runs, as Lambda's Invoke refuses it
Exception
└── InvocationCancelled               result() of an invocation that was cancelled, or that
                                      Functions.close() ended
"""

from __future__ import annotations


class UnknownFunction(KeyError):
    """No function of that name is configured."""

    def __init__(self, name: str, arn: str) -> None:
        super().__init__(name)
        self.name = name
        self.message = f"Function not found: {arn}"

    def __str__(self) -> str:
        return self.message


class InvalidRequestContentException(ValueError):
    """The payload is not JSON text."""


class InvocationCancelled(Exception):
    """The invocation was cancelled before it was answered."""

    def __init__(self, request_id: str) -> None:
        super().__init__(f"the invocation {request_id} was cancelled")
        self.request_id = request_id

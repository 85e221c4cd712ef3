"""The errors the Step Functions operations answer with, named and shaped as AWS's model.

StepFunctionsError
├── ValidationException           a request member AWS's model or rules reject (400)
├── SerializationException        a request member of the wrong JSON type (400)
├── MissingRequiredParameter      UpdateStateMachine with nothing to update (400)
├── InvalidArn                    an ARN that is not one (400)
├── InvalidName                   a state machine or execution name AWS would refuse (400)
├── InvalidDefinition             a definition with errors; the message lists them all (400)
├── InvalidExecutionInput         input that is not JSON, or too large (400)
├── InvalidOutput                 SendTaskSuccess output that is not JSON (400)
├── InvalidToken                  a pagination or task token this service did not issue (400)
├── TaskDoesNotExist              a task token naming a task that never was (400)
├── TaskTimedOut                  a task token whose task is no longer open (400)
├── StateMachineAlreadyExists     the name is taken by a different definition (400)
├── StateMachineDoesNotExist      (400)
├── StateMachineTypeNotSupported  an operation the state machine's type does not offer (400)
├── ExecutionAlreadyExists        the name is taken by a different or closed execution (400)
├── ExecutionDoesNotExist         (400)
├── ExecutionNotRedrivable        RedriveExecution on what cannot be redriven (400)
├── ResourceNotFound              a tagged resource that does not exist; names it (400)
└── TooManyTags                   more tags than a resource may carry; names it (400)
"""

from __future__ import annotations

from typing import ClassVar


class StepFunctionsError(Exception):
    """An error answered to the caller of a Step Functions operation."""

    code: ClassVar[str] = "InternalServerError"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def members(self) -> dict[str, str]:
        """The error's modelled members, with AWS's names (Step Functions spells `message`)."""
        return {"message": self.message}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class _ClientError(StepFunctionsError):
    http_status = 400


class ValidationException(_ClientError):
    code = "ValidationException"


class InvalidArn(_ClientError):
    code = "InvalidArn"


class InvalidName(_ClientError):
    code = "InvalidName"


class InvalidDefinition(_ClientError):
    code = "InvalidDefinition"


class InvalidExecutionInput(_ClientError):
    code = "InvalidExecutionInput"


class InvalidToken(_ClientError):
    code = "InvalidToken"


class StateMachineAlreadyExists(_ClientError):
    code = "StateMachineAlreadyExists"


class StateMachineDoesNotExist(_ClientError):
    code = "StateMachineDoesNotExist"


class ExecutionAlreadyExists(_ClientError):
    code = "ExecutionAlreadyExists"


class ExecutionDoesNotExist(_ClientError):
    code = "ExecutionDoesNotExist"


class MissingRequiredParameter(_ClientError):
    code = "MissingRequiredParameter"


class SerializationException(_ClientError):
    code = "SerializationException"


class InvalidOutput(_ClientError):
    code = "InvalidOutput"


class TaskDoesNotExist(_ClientError):
    code = "TaskDoesNotExist"


class TaskTimedOut(_ClientError):
    code = "TaskTimedOut"


class StateMachineTypeNotSupported(_ClientError):
    code = "StateMachineTypeNotSupported"


class ExecutionNotRedrivable(_ClientError):
    code = "ExecutionNotRedrivable"


class _ResourceError(_ClientError):
    """An error about one resource, which it names in its modelled `resourceName` member."""

    def __init__(self, message: str, resource_name: str) -> None:
        super().__init__(message)
        self.resource_name = resource_name

    def members(self) -> dict[str, str]:
        return {"message": self.message, "resourceName": self.resource_name}


class ResourceNotFound(_ResourceError):
    code = "ResourceNotFound"


class TooManyTags(_ResourceError):
    code = "TooManyTags"

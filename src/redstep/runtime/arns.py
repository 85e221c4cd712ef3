"""Step Functions ARNs, names and task tokens, in AWS's forms (tokens in redstep's).

arn:aws:states:us-east-1:123456789012:stateMachine:NAME
arn:aws:states:us-east-1:123456789012:execution:NAME:EXECUTION
arn:aws:states:us-east-1:123456789012:execution:NAME:EXECUTION#3    (the token of its task 3)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from redstep.runtime.errors import InvalidArn, InvalidName, ValidationException

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"
MAX_NAME_LENGTH = 80

#: Whitespace, brackets, wildcards, the listed punctuation and control characters are refused
#: in state machine and execution names (CreateStateMachine / StartExecution "name").
_BAD_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")
_STATE_MACHINE_ARN = re.compile(
    r"arn:aws[a-z-]*:states:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"stateMachine:(?P<name>[^:]+)\Z"
)
_STATES_ARN = re.compile(r"arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:[a-zA-Z]+:[^:]+")
_EXECUTION_ARN = re.compile(
    r"arn:aws[a-z-]*:states:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):execution:"
    r"(?P<machine>[^:]+):(?P<name>[^:]+)\Z"
)


@dataclass(frozen=True, slots=True)
class Region:
    """Where this redstep pretends to be: the region and account its ARNs carry."""

    name: str = DEFAULT_REGION
    account: str = DEFAULT_ACCOUNT

    def state_machine_arn(self, name: str) -> str:
        return f"arn:aws:states:{self.name}:{self.account}:stateMachine:{name}"

    def execution_arn(self, state_machine_name: str, execution_name: str) -> str:
        prefix = f"arn:aws:states:{self.name}:{self.account}:execution"
        return f"{prefix}:{state_machine_name}:{execution_name}"


def check_name(name: str) -> str:
    """Raise InvalidName unless `name` is a valid state machine or execution name."""
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationException(
            f"1 validation error detected: Value '{name}' at 'name' failed to satisfy "
            f"constraint: Member must have length less than or equal to {MAX_NAME_LENGTH}"
        )
    if not name or _BAD_NAME.search(name):
        raise InvalidName(f"Invalid Name: '{name}'")
    return name


def state_machine_name(arn: str) -> str:
    """The name in a state machine ARN; InvalidArn when it is not one."""
    match = _STATE_MACHINE_ARN.match(arn) if isinstance(arn, str) else None
    if match is None:
        raise InvalidArn(f"Invalid Arn: 'Invalid ARN prefix: {arn}'")
    return match["name"]


def execution_parts(arn: str) -> tuple[str, str]:
    """(state machine name, execution name) of an execution ARN; InvalidArn otherwise."""
    match = _EXECUTION_ARN.match(arn) if isinstance(arn, str) else None
    if match is None:
        raise InvalidArn(f"Invalid Arn: 'Invalid ARN prefix: {arn}'")
    return match["machine"], match["name"]


def task_token_parts(token: str) -> tuple[str, int] | None:
    """(execution ARN, task id) of a task token this engine issued (`$$.Task.Token`, built by the
    interpreter as `<execution ARN>#<task id>`); None for any other text."""
    arn, hash_sign, number = token.rpartition("#")
    if not hash_sign or not number.isascii() or not number.isdigit() or number.startswith("0"):
        return None
    if _EXECUTION_ARN.match(arn) is None:
        return None
    return arn, int(number)


def is_states_arn(text: str) -> bool:
    """Whether `text` is shaped as a Step Functions ARN of any resource type."""
    return _STATES_ARN.match(text) is not None

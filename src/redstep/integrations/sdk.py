"""What every AWS SDK integration (`arn:aws:states:::aws-sdk:<service>:<action>`) shares: how
Step Functions names an action, a member and an error, and how it turns a Task's Parameters into
a request and a response into the task's result.

Step Functions runs these integrations through the AWS SDK for Java v2, and what a workflow sees
is that SDK's view of the API, written as JSON by Jackson:

- The action is the operation's name with its first letter lowered (`ExecuteStatement` is
  `executeStatement`); any other spelling is not recognized.
- Every member is named as the SDK's Java property, capitalized (`sfn_name`): the model's name
  with its leading capitals lowered as the SDK's code generator lowers them, then the first letter
  raised. So `isNull` is `IsNull`, `ETag` stays `ETag`, S3's `Owner.ID` is `Id`.
- A result holds only the members the model knows, none that are absent, each structure's
  members in alphabetical order (Jackson sorts them), timestamps as ISO 8601 instants in UTC
  written as Java's `Instant.toString` writes them (`2026-09-24T02:36:45Z`, milliseconds only
  when there are some).
- Parameters are read as Jackson reads them into the SDK's builders: strings must be strings,
  integers integers, booleans are read leniently (`"true"`, `" TRUE "`, `0`, `1`), an unknown
  member or a missing required one fails the task (worded as Step Functions words it when it
  refuses such a definition); a null member is left out of the request.
- A service's error is `<Service>.<Code>` with `Exception` added when the code lacks it, and its
  cause is the SDK's message: `<message> (Service: <Service>, Status Code: <n>, Request ID:
  <id>) (SDK Attempt Count: 1)`, S3 adding its Extended Request ID after the Request ID.

A failure that is the integration's and not the service's (an action it does not have, a
Parameters object the SDK could not take) is `States.Runtime`, which no Retry or Catch handles.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

from redstep.asl.errors import StatesError
from redstep.asl.resources import unrecognized
from redstep.integrations.failure import TaskFailure
from redstep.wire import service_model

_JAVA_BOOLEAN = "Cannot deserialize value of type `java.lang.Boolean`"


# -- names --------------------------------------------------------------------------------------


@cache
def operation_for(service: str, action: str) -> str | None:
    """The operation of botocore's `service` model that the action names, if it has one."""
    for operation in service_model(service).operation_names:
        if action == operation[:1].lower() + operation[1:]:
            name: str = operation
            return name
    return None


def unrecognized_action(service: str, action: str) -> TaskFailure:
    """The failure for an action the service's API does not have."""
    return runtime_failure(unrecognized(f"arn:aws:states:::aws-sdk:{service}:{action}"))


def sfn_name(member: str) -> str:
    """The name Step Functions gives a model member: the SDK for Java's property, capitalized.

    The SDK lowers a member's leading capitals except the last of them when a lower-case letter
    follows it (`ETag` → `eTag`, `SSEKMSKeyId` → `ssekmsKeyId`, `ID` → `id`); Jackson then
    writes the property with its first letter raised.
    """
    if not member:
        return member
    end = 1
    while (
        end < len(member)
        and member[end].isupper()
        and not (end + 1 < len(member) and member[end + 1].islower())
    ):
        end += 1
    java = member[:end].lower() + member[end:]
    return java[0].upper() + java[1:]


def error_name(service: str, code: str) -> str:
    """`<Service>.<Code>`, with `Exception` added when the code does not end with it."""
    return f"{service}.{code}" if code.endswith("Exception") else f"{service}.{code}Exception"


def service_failure(
    service: str,
    code: str,
    message: str | None,
    status: int,
    request_id: str,
    *,
    extended_request_id: str | None = None,
) -> TaskFailure:
    """A service's error as the SDK reports it; a message the service did not send reads `null`.

    `code` is the exception the SDK raises (the service's code when its model has that error,
    else the service's catch-all, such as `S3Exception`).
    """
    details = [f"Service: {service}", f"Status Code: {status}", f"Request ID: {request_id}"]
    if extended_request_id is not None:
        details.append(f"Extended Request ID: {extended_request_id}")
    text = "null" if message is None else message
    cause = f"{text} ({', '.join(details)}) (SDK Attempt Count: 1)"
    return TaskFailure(error_name(service, code), cause)


def runtime_failure(cause: str) -> TaskFailure:
    """A failure of the integration itself, which ends the execution."""
    return TaskFailure(StatesError.RUNTIME.value, cause)


# -- requests -----------------------------------------------------------------------------------


def to_request(
    shape: Any, parameters: Any, *, also_required: Collection[str] = ()
) -> dict[str, Any]:
    """The wire request that a Task's Parameters make for the operation whose input is `shape`.

    Members are renamed from Step Functions's names to the model's, booleans and timestamps read
    as the SDK reads them, and nulls left out. `also_required` names members Step Functions
    requires beyond the model (S3 PutObject's Body). Fails with States.Runtime as described in
    the module's docstring.
    """
    if not isinstance(parameters, Mapping):
        raise runtime_failure("The Parameters of an AWS SDK task must be a JSON object")
    names = {sfn_name(member): member for member in shape.members}
    for member in (*shape.required_members, *also_required):
        if sfn_name(member) not in parameters:
            raise runtime_failure(f"The field '{sfn_name(member)}' is required but was missing")
    return _structure(shape, parameters, names)


def _structure(shape: Any, value: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    request: dict[str, Any] = {}
    for key, item in value.items():
        member = names.get(key)
        if member is None:
            raise runtime_failure(f'The field "{key}" is not supported by Step Functions')
        converted = _value(shape.members[member], item, key)
        if converted is not None:
            request[member] = converted
    return request


def _value(shape: Any, value: Any, name: str) -> Any:
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, Mapping):
            raise _wrong_type(name, "an OBJECT")
        return _structure(shape, value, {sfn_name(member): member for member in shape.members})
    if kind == "list":
        if not isinstance(value, list):
            raise _wrong_type(name, "an ARRAY")
        items = (_value(shape.member, item, name) for item in value)
        return [item for item in items if item is not None]
    if kind == "map":
        if not isinstance(value, Mapping):
            raise _wrong_type(name, "an OBJECT")
        entries = ((key, _value(shape.value, item, name)) for key, item in value.items())
        return {key: item for key, item in entries if item is not None}
    if kind == "boolean":
        return _boolean(value)
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong_type(name, "an INTEGER" if kind == "integer" else "a LONG")
        return value
    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _wrong_type(name, "a NUMBER")
        return value
    if kind == "timestamp":
        return _timestamp(value, name)
    if kind == "blob":
        return value  # each integration decides what a blob it takes is made of
    if not isinstance(value, str):
        raise _wrong_type(name, "a STRING")
    return value


def _wrong_type(name: str, kind: str) -> TaskFailure:
    return runtime_failure(f"The value for the field '{name}' must be {kind}")


def _boolean(value: Any) -> bool | None:
    """A boolean as Jackson reads one: leniently from integers and a few strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, float):
        raise runtime_failure(
            f"{_JAVA_BOOLEAN} from Floating-point value (token `JsonToken.VALUE_NUMBER_FLOAT`)"
        )
    if isinstance(value, str):
        text = value.strip()
        if text in ("true", "True", "TRUE"):
            return True
        if text in ("false", "False", "FALSE"):
            return False
        if text in ("", "null"):
            return None
        raise runtime_failure(
            f'{_JAVA_BOOLEAN} from String "{value}": only "true" or "false" recognized'
        )
    raise runtime_failure(f"{_JAVA_BOOLEAN} from {type(value).__name__} value")


_ISO_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)")


def _timestamp(value: Any, name: str) -> datetime:
    """An instant from an ISO 8601 text with its zone, or from seconds since the epoch."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and _ISO_INSTANT.fullmatch(value):
        return datetime.fromisoformat(value).astimezone(UTC)
    raise _wrong_type(name, "a TIMESTAMP")


# -- results ------------------------------------------------------------------------------------


def to_result(shape: Any, response: Mapping[str, Any]) -> dict[str, Any]:
    """The task's result for a wire `response` of the operation whose output is `shape`."""
    result = _out(shape, response)
    assert isinstance(result, dict)
    return result


def _out(shape: Any, value: Any) -> Any:
    kind = shape.type_name
    if kind == "structure":
        members = {
            sfn_name(name): _out(shape.members[name], item)
            for name, item in value.items()
            if name in shape.members and item is not None
        }
        return dict(sorted(members.items()))
    if kind == "list":
        return [_out(shape.member, item) for item in value]
    if kind == "map":
        return {key: _out(shape.value, item) for key, item in value.items()}
    if kind == "timestamp" and isinstance(value, datetime):
        return instant_text(value)
    if kind == "blob" and isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")  # as Jackson writes a byte array
    return value


def instant_text(moment: datetime) -> str:
    """`moment` as Step Functions writes a timestamp of a result: Java's `Instant.toString` of
    the instant the service sent, which is to the millisecond (`…T02:36:45.120Z`, `…T02:36:45Z`)."""
    moment = moment.astimezone(UTC)
    whole = moment.strftime("%Y-%m-%dT%H:%M:%S")
    millis = moment.microsecond // 1000
    return f"{whole}.{millis:03d}Z" if millis else f"{whole}Z"

"""What the optimized integrations (`lambda:invoke`, `states:startExecution`) share: Step
Functions runs them through the AWS SDK for Java v1, and a workflow sees that SDK's view of the
call — the HTTP response beside the answer, and its wording of a service's error."""

from __future__ import annotations

import json
import uuid
from email.utils import formatdate
from typing import Any

from redstep.integrations.failure import TaskFailure


def http_metadata(headers: dict[str, str], status: int) -> dict[str, Any]:
    """`SdkHttpMetadata`: the headers in the order the service sent them (each a list), again
    sorted by name, and the status."""
    return {
        "AllHttpHeaders": {name: [value] for name, value in headers.items()},
        "HttpHeaders": dict(sorted(headers.items(), key=lambda item: item[0].lower())),
        "HttpStatusCode": status,
    }


def http_date() -> str:
    """The `Date` header's value, now."""
    return formatdate(usegmt=True)


def service_error(
    error: str, sdk_service: str, code: str, message: str, status: int = 400
) -> TaskFailure:
    """A service's error: named `error` (`Lambda.ResourceNotFoundException`), worded as the SDK
    words it (`<message> (Service: AWSLambda; Status Code: 404; Error Code: <code>; …)`)."""
    return TaskFailure(
        error,
        f"{message} (Service: {sdk_service}; Status Code: {status}; Error Code: {code}; "
        f"Request ID: {uuid.uuid4()}; Proxy: null)",
    )


def compact_json(value: Any) -> str:
    """JSON text as Step Functions writes it: no spaces, characters as they are."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

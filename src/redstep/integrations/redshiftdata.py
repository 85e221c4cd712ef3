"""The AWS SDK integration for the Redshift Data API: `arn:aws:states:::aws-sdk:redshiftdata:*`,
answered by the project's own `DataApiService`.

Every operation the service answers is an action (`executeStatement`, `describeStatement`,
`getStatementResult`, ...). The Task's Parameters become the service's request as the SDK would
send it (`sdk.to_request`), and the service's answer becomes the task's result as Step Functions
writes it (`sdk.to_result`): members it does not model dropped, names capitalized (`Records`
hold `{"StringValue": "a"}`, `{"IsNull": true}`), timestamps as ISO instants. The service's
errors are the task's: `RedshiftData.ValidationException` and the like, their cause worded as the
SDK words it. `WaitTimeSeconds` blocks the calling (worker) thread as long as the service waits.
"""

from __future__ import annotations

import uuid
from typing import Any

from redstep.dataapi.errors import DataApiError
from redstep.dataapi.service import DataApiService
from redstep.integrations.sdk import (
    operation_for,
    service_failure,
    to_request,
    to_result,
    unrecognized_action,
)
from redstep.wire import input_shape, service_model

MODEL = "redshift-data"
"""botocore's name for the service."""
SERVICE = "RedshiftData"
"""The service's name in error names and causes (the SDK for Java's, as Step Functions uses)."""
RESOURCE_SERVICE = "redshiftdata"
"""The service as a Task's Resource names it."""


def call_redshiftdata(service: DataApiService, action: str, parameters: Any) -> Any:
    """Run `action` (`executeStatement`, ...) with the Task's `parameters`; the task's result.

    Raises TaskFailure: the service's errors as `RedshiftData.<Error>`, an action the API lacks
    or Parameters the SDK could not take as `States.Runtime`.
    """
    operation = operation_for(MODEL, action)
    if operation is None or operation not in service.operations:
        raise unrecognized_action(RESOURCE_SERVICE, action)
    request = to_request(input_shape(MODEL, operation), parameters)
    try:
        response = service.handle(operation, request)
    except DataApiError as error:
        raise service_failure(
            SERVICE, error.code, error.message, error.http_status, str(uuid.uuid4())
        ) from error
    return to_result(service_model(MODEL).operation_model(operation).output_shape, response)

"""The ASGI app behind `redstep serve`: Step Functions, Redshift Data and S3 on one port.

A request carrying `X-Amz-Target` is a call of the JSON protocols (`awsjson`); any other is S3,
path-style (`s3`). When the server holds credentials, every request's SigV4 signature is checked
first (`sigv4`) and a bad one is refused in its protocol's words. `GET /_redstep/health` answers
how the server is, and can never be a bucket (bucket names start with a letter or a digit).
Each call writes one log line: who, what, status, time — never a header or a body, which may
hold a signature or data.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from redstep import __version__
from redstep.api.awsjson import JsonService, answer
from redstep.api.s3 import s3_endpoint, s3_error
from redstep.api.sigv4 import AuthFailure, Credentials, Protocol, verify
from redstep.services import Services

log = logging.getLogger("redstep.api")

HEALTH_PATH = "/_redstep/health"
THREADS = 256
"""JSON calls served at once: the Data API's WaitTimeSeconds and StopExecution block a thread
each, and a Redshift cluster takes 200 active statements."""
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]


def json_services(services: Services) -> dict[str, JsonService]:
    """The JSON services by their X-Amz-Target prefix."""
    return {
        "AWSStepFunctions": JsonService(
            "AWSStepFunctions", "1.0", "message", "InternalServerError", services.engine
        ),
        "RedshiftData": JsonService(
            "RedshiftData", "1.1", "Message", "InternalServerException", services.dataapi
        ),
    }


def build_app(
    services: Services,
    *,
    credentials: Credentials | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Starlette:
    """The app over open `services`; with `credentials`, every request must be signed with them."""
    by_prefix = json_services(services)
    threads = anyio.CapacityLimiter(THREADS)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    async def dispatch(request: Request) -> Response:
        started = time.perf_counter()
        target = request.headers.get("x-amz-target")
        protocol = Protocol.JSON if target is not None else Protocol.S3
        request_id = str(uuid.uuid4())
        body = await request.body()
        operation = target or f"S3 {request.method}"
        try:
            if credentials is not None:
                verify(
                    credentials,
                    method=request.method,
                    path=request.scope["raw_path"].decode("latin-1"),
                    query=request.scope["query_string"].decode("latin-1"),
                    headers=request.headers,
                    body=body,
                    now=now(),
                    protocol=protocol,
                )
        except AuthFailure as failure:
            service = by_prefix.get((target or "").partition(".")[0])
            content_type = service.content_type if service else "application/x-amz-json-1.0"
            response = _refusal(failure, protocol, request, request_id, content_type)
        else:
            if target is not None:
                content_type = request.headers.get("content-type", "")
                result = await anyio.to_thread.run_sync(
                    answer, by_prefix, target, content_type, body, limiter=threads
                )
                operation = result.operation
                response = Response(
                    result.body,
                    status_code=result.status,
                    media_type=result.content_type,
                    headers={"x-amzn-RequestId": request_id},
                )
            else:
                response = await s3_endpoint(request, services.buckets)
        client = request.client.host if request.client else "-"
        elapsed = (time.perf_counter() - started) * 1000
        log.info(
            "%s %s %s %d %.1f ms",
            client,
            operation,
            request.url.path,
            response.status_code,
            elapsed,
        )
        return response

    return Starlette(
        routes=[
            Route(HEALTH_PATH, health, methods=["GET"]),
            Route("/{path:path}", dispatch, methods=ALL_METHODS),
        ]
    )


def _refusal(
    failure: AuthFailure,
    protocol: Protocol,
    request: Request,
    request_id: str,
    content_type: str,
) -> Response:
    if protocol is Protocol.S3:
        return s3_error(
            failure.code,
            failure.message,
            failure.http_status,
            resource=request.url.path,
            request_id=request_id,
            details=failure.details,
            include_body=request.method != "HEAD",
        )
    return JSONResponse(
        {"__type": failure.code, "message": failure.message},
        status_code=failure.http_status,
        media_type=content_type,
        headers={"x-amzn-RequestId": request_id},
    )

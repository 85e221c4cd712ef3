"""The ASGI app behind `redstep serve`: Step Functions, Redshift Data and S3 on one port.

A request carrying `X-Amz-Target` (or a POST to `/` with a JSON protocol's content type) is a
call of the JSON protocols (`awsjson`); any other is S3, path-style (`s3`). Every request
reaches this one handler, whatever its path or method, so that each gets its protocol's answer
(a router would answer paths it cannot match, such as keys holding a newline, with its own
plain-text 404). `GET /_redstep/health` answers how the server is, and the console's pages live
under `/_redstep/` (`redstep.web`): neither can be a bucket's path (bucket names start with a
letter or a digit). A browser's unsigned GET of `/` (it asks for HTML) is sent to the console;
any other is S3's ListBuckets.

Guards, in order: without credentials the server answers only requests addressed to a loopback
name (`Host: 127.0.0.1`, `localhost`, `[::1]`), so that a web page cannot reach it through a
DNS name rebound to 127.0.0.1; with credentials every request's SigV4 signature is checked
before its body is read (S3 signs the body's declared hash, which the S3 endpoint checks as the
body streams in; a JSON body, read up to `MAX_BODY_BYTES`, is checked off the event loop).
Each call writes one log line: who, what, status, time — never a header or a body, which may
hold a signature or data.
"""

from __future__ import annotations

import ipaddress
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Message, Receive, Scope, Send

from redstep import __version__
from redstep.api.awsjson import MAX_BODY_BYTES, JsonService, answer, error_answer
from redstep.api.s3 import s3_endpoint, s3_error
from redstep.api.sigv4 import AuthFailure, Credentials, Protocol, check_headers, verify
from redstep.request_body import read_body_at_most
from redstep.services import Services
from redstep.web import ROOT as CONSOLE_ROOT

if TYPE_CHECKING:
    from redstep.web.console import Console

log = logging.getLogger("redstep.api")

HEALTH_PATH = "/_redstep/health"
THREADS = 256
"""JSON calls served at once: the Data API's WaitTimeSeconds and StopExecution block a thread
each, and a Redshift cluster takes 200 active statements."""
JSON_CONTENT_TYPE = "application/x-amz-json-"


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address, IPv6 with or without brackets) is this machine."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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


class App:
    """The ASGI app over open `services`; with `credentials`, requests must be signed with them."""

    def __init__(
        self,
        services: Services,
        *,
        credentials: Credentials | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        is_stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        """`is_stopping` says when the server is shutting down: the console's event streams,
        which would otherwise hold the shutdown until they end, end then."""
        self.services = services
        self.credentials = credentials
        self.now = now
        self.json_services = json_services(services)
        self._is_stopping = is_stopping
        self._console: Console | None = None
        self._threads = anyio.CapacityLimiter(THREADS)

    def close(self) -> None:
        """Stop what the app runs beside the services: the console's layout worker."""
        if self._console is not None:
            self._console.close()

    @property
    def console(self) -> Console:
        """The console, made at its first request: its stack (Jinja2, Graphviz) would cost
        every `redstep run` whose functions call the local endpoint a start it never uses."""
        if self._console is None:
            from redstep.web.console import Console

            self._console = Console(self.services, self.credentials, self._is_stopping)
        return self._console

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # uvicorn runs with lifespan off; websockets are not ours
            return
        request = Request(scope, receive)
        started = time.perf_counter()
        if is_console_request(request):
            status = await self._serve_console(request, send)
            operation = "console"
        else:
            response, operation = await self._respond(request)
            await response(scope, receive, send)
            status = response.status_code
        client = request.client.host if request.client else "-"
        elapsed = (time.perf_counter() - started) * 1000
        log.info("%s %s %s %d %.1f ms", client, operation, request.url.path, status, elapsed)

    async def _serve_console(self, request: Request, send: Send) -> int:
        """The console answers (a server without credentials answers loopback names only, as
        for the AWS endpoints); return the status it answered with."""
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        scope, receive = request.scope, request.receive
        if self.credentials is None and not is_loopback(request.url.hostname or ""):
            refusal = PlainTextResponse(
                "redstep answers only requests addressed to 127.0.0.1, localhost or [::1] "
                "unless it holds credentials",
                403,
            )
            await refusal(scope, receive, sending)
        else:
            await self.console.app(scope, receive, sending)
        return status

    async def _respond(self, request: Request) -> tuple[Response, str]:
        target = request.headers.get("x-amz-target")
        content_type = request.headers.get("content-type", "")
        # An S3 object may well be stored with a JSON content type: without a target, only a
        # POST to / (no bucket) is a call of the JSON protocols.
        is_json = target is not None or (
            request.method == "POST"
            and request.url.path == "/"
            and content_type.startswith(JSON_CONTENT_TYPE)
        )
        protocol = Protocol.JSON if is_json else Protocol.S3
        request_id = str(uuid.uuid4())
        operation = target or f"S3 {request.method}"
        service = self.json_services.get((target or "").partition(".")[0])
        json_type = service.content_type if service else "application/x-amz-json-1.0"
        if self.credentials is None and not is_loopback(request.url.hostname or "127.0.0.1"):
            failure = (
                "redstep answers only requests addressed to 127.0.0.1, localhost or [::1] "
                "unless it holds credentials"
            )
            if is_json:
                return _json_error(403, "AccessDeniedException", failure, json_type), operation
            return s3_error(
                "AccessDenied",
                failure,
                403,
                resource=request.url.path,
                request_id=request_id,
                include_body=request.method != "HEAD",
            ), operation
        if request.url.path == HEALTH_PATH and request.method == "GET" and not is_json:
            return JSONResponse({"status": "ok", "version": __version__}), "health"
        now = self.now()  # one moment for both checks, however long the body takes to arrive
        try:
            if self.credentials is not None:
                check_headers(
                    self.credentials,
                    query=request.scope["query_string"],
                    headers=request.headers,
                    now=now,
                    protocol=protocol,
                )
            if not is_json:
                if self.credentials is not None:
                    # S3 signs the body's declared hash: the endpoint checks the body against it
                    # as it streams in, so nothing is read for a request that is refused here.
                    await self._verify(request, None, protocol, now)
                return await s3_endpoint(request, self.services.buckets), operation
            body = await read_body_at_most(request, MAX_BODY_BYTES)
            if body is None:
                message = f"Request body exceeds {MAX_BODY_BYTES} bytes"
                return _json_error(
                    413, "RequestEntityTooLargeException", message, json_type
                ), operation
            if self.credentials is not None:
                await self._verify(request, body, protocol, now)
        except AuthFailure as failure:
            return _refusal(failure, protocol, request, request_id, json_type), operation
        if request.method != "POST":
            result = error_answer(400, "UnknownOperationException", {}, json_type, operation)
        else:
            result = await anyio.to_thread.run_sync(
                answer, self.json_services, target, content_type, body, limiter=self._threads
            )
        headers = {"x-amzn-RequestId": request_id}
        response = Response(result.body, result.status, headers, media_type=result.content_type)
        return response, result.operation

    async def _verify(
        self, request: Request, body: bytes | None, protocol: Protocol, now: datetime
    ) -> None:
        """The whole signature check, body included, off the event loop (hashing is slow)."""
        credentials = self.credentials
        assert credentials is not None
        await anyio.to_thread.run_sync(
            lambda: verify(
                credentials,
                method=request.method,
                # ASGI servers may leave raw_path out; the path as received is then all there is.
                path=request.scope.get("raw_path") or request.scope["path"].encode(),
                query=request.scope["query_string"],
                headers=request.headers,
                body=body,
                now=now,
                protocol=protocol,
            ),
            limiter=self._threads,
        )


def is_console_request(request: Request) -> bool:
    """A page or call of the console, or a browser's GET of `/` (sent on to the console)."""
    if "x-amz-target" in request.headers:
        return False
    path = request.url.path
    if path == HEALTH_PATH:
        return False
    if path == CONSOLE_ROOT or path.startswith(CONSOLE_ROOT + "/"):
        return True
    return (
        path == "/"
        and request.method == "GET"
        and "text/html" in request.headers.get("accept", "")
        and "authorization" not in request.headers
        and "x-amz-date" not in request.headers
        and not request.url.query
    )


def _json_error(status: int, code: str, message: str, content_type: str) -> Response:
    result = error_answer(status, code, {"message": message}, content_type, code)
    return Response(result.body, result.status, media_type=result.content_type)


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
    response = _json_error(failure.http_status, failure.code, failure.message, content_type)
    response.headers["x-amzn-RequestId"] = request_id
    return response

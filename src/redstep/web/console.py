"""The console: pages under `/_redstep/` for the state machines, executions and statements of the
project a `redstep serve` runs, beside its AWS endpoints.

Pages are rendered here with Jinja2, which escapes every value it writes; the live parts (an
execution's statuses and history, a state's details, starting and stopping) are JSON fetched by
`static/console.js`, which writes text nodes only. An execution's events stream as server-sent
events: each message holds the events appended since the last, each with the states whose
status it changed (`progress`). The handlers call the services as the AWS endpoints do, with
the wire's requests and responses; their errors come back as `{"error", "message"}` with the
code AWS gives them.
"""

from __future__ import annotations

import heapq
import itertools
import json
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import anyio
import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from redstep.dataapi.errors import DataApiError
from redstep.request_body import read_body_at_most
from redstep.runtime.errors import StepFunctionsError
from redstep.services import Services
from redstep.web import ROOT
from redstep.web.guard import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    SESSION_SECONDS,
    Guard,
    KeyPair,
    is_cross_site,
)
from redstep.web.layout import Layout
from redstep.web.layout_worker import LayoutWorker
from redstep.web.progress import ExecutionProgress, event_details
from redstep.web.statements import statement_view, statements_of
from redstep.wire import paginate

CALL_BODY_BYTES = 2 * 1024 * 1024
"""A call's JSON body at most: an execution's input (256 KiB of UTF-8 text) escaped as JSON."""
SIGN_IN_BODY_BYTES = 16 * 1024
HISTORY_PAGE = 1000
STREAM_POLL_SECONDS = 0.2
EXECUTIONS_SHOWN = 500
STATEMENTS_SHOWN = 100
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")

Handler = Callable[[Request], Awaitable[Response]]
T = TypeVar("T")


class Console:
    """The console over open `services`: `app` is its ASGI app, `close` stops its layout worker.

    With `credentials`, its pages ask for them once (`Guard`). Its event streams end once
    `is_stopping` says the server shuts down, which would otherwise wait for them.
    """

    def __init__(
        self,
        services: Services,
        credentials: KeyPair | None = None,
        is_stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.engine = services.engine
        self.dataapi = services.dataapi
        self.guard = Guard(credentials)
        self.is_stopping = is_stopping
        self.layouts = LayoutWorker()
        self.templates = jinja2.Environment(
            loader=jinja2.PackageLoader("redstep.web"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.templates.filters.update(
            when=_when, when_iso=_json_default, took=_took, nanoseconds=_nanoseconds
        )
        page, call = self._page, self._call
        self.app = Starlette(
            routes=[
                Route("/", lambda request: RedirectResponse(f"{ROOT}/", 303)),
                Route(ROOT, lambda request: RedirectResponse(f"{ROOT}/", 303)),
                Route(f"{ROOT}/", page(self.state_machines)),
                Route(f"{ROOT}/state-machine", page(self.state_machine)),
                Route(f"{ROOT}/executions", page(self.executions)),
                Route(f"{ROOT}/execution", page(self.execution)),
                Route(f"{ROOT}/statements", page(self.statements)),
                Route(f"{ROOT}/statement", page(self.statement)),
                Route(f"{ROOT}/execution/events", call(self.events)),
                Route(f"{ROOT}/execution/state", call(self.state)),
                Route(f"{ROOT}/start", call(self.start), methods=["POST"]),
                Route(f"{ROOT}/stop", call(self.stop), methods=["POST"]),
                Route(f"{ROOT}/redrive", call(self.redrive), methods=["POST"]),
                Route(f"{ROOT}/sign-in", self.sign_in, methods=["GET", "POST"]),
                Route(f"{ROOT}/sign-out", self.sign_out, methods=["POST"]),
                Mount(
                    f"{ROOT}/static",
                    StaticFiles(directory=Path(__file__).parent / "static"),
                ),
            ]
        )

    # -- pages -----------------------------------------------------------------------------

    async def state_machines(self, request: Request) -> Response:
        machines = await _thread(
            lambda: list(
                paginate(self.engine.handle, "ListStateMachines", {}, "stateMachines", "nextToken")
            )
        )
        return self._render(request, "state_machines.html", state_machines=machines)

    async def state_machine(self, request: Request) -> Response:
        arn = request.query_params.get("arn", "")

        def described() -> tuple[dict[str, Any], Layout]:
            machine = self.engine.describe_state_machine({"stateMachineArn": arn})
            return machine, self.layouts.layout(machine["definition"])

        machine, layout = await _thread(described)
        return self._render(request, "state_machine.html", state_machine=machine, layout=layout)

    async def executions(self, request: Request) -> Response:
        status = request.query_params.get("status", "")
        machine = request.query_params.get("stateMachineArn", "")

        def listed() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            machines = list(
                paginate(self.engine.handle, "ListStateMachines", {}, "stateMachines", "nextToken")
            )
            standard = {m["stateMachineArn"] for m in machines if m["type"] != "EXPRESS"}
            # Each machine's executions come newest first (as ListExecutions gives them, page
            # by page): merged, the newest EXECUTIONS_SHOWN are read and no more.
            newest_first = [
                paginate(
                    self.engine.handle,
                    "ListExecutions",
                    {"stateMachineArn": arn, **({"statusFilter": status} if status else {})},
                    "executions",
                    "nextToken",
                )
                for arn in ([machine] if machine else [m["stateMachineArn"] for m in machines])
                if arn in standard  # AWS lists no EXPRESS machine's executions
            ]
            merged = heapq.merge(*newest_first, key=lambda item: item["startDate"], reverse=True)
            return machines, list(itertools.islice(merged, EXECUTIONS_SHOWN))

        machines, found = await _thread(listed)
        return self._render(
            request,
            "executions.html",
            executions=found,
            state_machines=machines,
            statuses=STATUSES,
            status=status,
            state_machine_arn=machine,
        )

    async def execution(self, request: Request) -> Response:
        arn = request.query_params.get("arn", "")

        def described() -> tuple[dict[str, Any], dict[str, Any], Layout]:
            execution = self.engine.describe_execution({"executionArn": arn})
            machine = self.engine.describe_state_machine_for_execution({"executionArn": arn})
            return execution, machine, self.layouts.layout(machine["definition"])

        execution, machine, layout = await _thread(described)
        return self._render(
            request, "execution.html", execution=execution, state_machine=machine, layout=layout
        )

    async def statements(self, request: Request) -> Response:
        status = request.query_params.get("status", "ALL")

        def described() -> list[dict[str, Any]]:
            listed = self.dataapi.list_statements(
                {"Status": status, "MaxResults": STATEMENTS_SHOWN}
            )["Statements"]
            return [
                {**item, **self.dataapi.describe_statement({"Id": item["Id"]})} for item in listed
            ]

        return self._render(
            request,
            "statements.html",
            statements=await _thread(described),
            status=status,
            statuses=("ALL", "SUBMITTED", "PICKED", "STARTED", "FINISHED", "FAILED", "ABORTED"),
        )

    async def statement(self, request: Request) -> Response:
        statement_id = request.query_params.get("id", "")
        view = await _thread(lambda: statement_view(self.dataapi, statement_id))
        return self._render(request, "statement.html", statement=view)

    # -- calls from the pages ----------------------------------------------------------------

    async def events(self, request: Request) -> Response:
        """The execution's history as server-sent events, from the event after `after` (or the
        `Last-Event-ID` a reconnecting EventSource sends) until the execution has ended."""
        arn = request.query_params.get("arn", "")
        after = request.headers.get("last-event-id") or request.query_params.get("after", "0")
        # An unknown or malformed ARN is answered as JSON here, before the stream starts.
        await _thread(lambda: self.engine.describe_execution({"executionArn": arn}))
        first = int(after) if after.isascii() and after.isdigit() and len(after) < 16 else 0
        return StreamingResponse(
            self._stream(arn, ExecutionProgress(keeps_data=False), first),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", **SECURITY_HEADERS},
        )

    async def _stream(
        self, arn: str, progress: ExecutionProgress, first: int
    ) -> AsyncIterator[str]:
        """Every event folded, from the first; those after `first` sent, in batches as they are
        appended, until the execution's end is among them (or the server stops)."""
        last = 0
        while True:
            events = await anyio.to_thread.run_sync(
                self.engine.events_after, arn, last, HISTORY_PAGE
            )
            shown = []
            for event in events:
                changes = progress.apply(event)
                last = event["id"]
                if last > first:
                    shown.append(_event_row(event, progress.step(event), changes))
            if shown:
                message = {"events": shown, "status": progress.execution_status}
                yield f"id: {last}\ndata: {json.dumps(message, default=_json_default)}\n\n"
            if len(events) < HISTORY_PAGE:
                if progress.execution_status != "RUNNING":
                    yield "event: end\ndata: {}\n\n"
                    return
                if self.is_stopping():
                    return
                await anyio.sleep(STREAM_POLL_SECONDS)

    async def state(self, request: Request) -> Response:
        """A state's visits in an execution: input, output, failures, retries, statements."""
        arn = request.query_params.get("arn", "")
        name = request.query_params.get("name", "")

        def visits() -> dict[str, Any]:
            self.engine.describe_execution({"executionArn": arn})  # AWS's error when unknown
            progress = ExecutionProgress()
            last = 0
            while events := self.engine.events_after(arn, last, HISTORY_PAGE):
                for event in events:
                    progress.apply(event)
                last = events[-1]["id"]
            return {
                "name": name,
                "status": progress.status(name),
                "visits": [
                    {
                        "entered": visit.entered,
                        "exited": visit.exited,
                        "status": visit.status,
                        "input": visit.input,
                        "output": visit.output,
                        "retries": visit.retries,
                        "failures": [
                            {
                                "type": failure.event_type,
                                "timestamp": failure.timestamp,
                                "error": failure.error,
                                "cause": failure.cause,
                            }
                            for failure in visit.failures
                        ],
                        "statements": statements_of(self.dataapi, visit.results),
                    }
                    for visit in progress.visits.get(name, [])
                ],
            }

        return _json(await _thread(visits))

    async def start(self, request: Request) -> Response:
        body = await _json_body(request)
        wire = {"stateMachineArn": body.get("stateMachineArn"), "input": body.get("input", "{}")}
        if body.get("name"):
            wire["name"] = body["name"]
        started = await _thread(lambda: self.engine.start_execution(wire))
        return _json({**started, "url": f"{ROOT}/execution?arn={_quote(started['executionArn'])}"})

    async def stop(self, request: Request) -> Response:
        body = await _json_body(request)
        wire = {"executionArn": body.get("executionArn"), "cause": "Stopped from the console"}
        return _json(await _thread(lambda: self.engine.stop_execution(wire)))

    async def redrive(self, request: Request) -> Response:
        body = await _json_body(request)
        wire = {"executionArn": body.get("executionArn")}
        return _json(await _thread(lambda: self.engine.redrive_execution(wire)))

    # -- signing in ----------------------------------------------------------------------------

    async def sign_in(self, request: Request) -> Response:
        target = request.query_params.get("next", "")
        if not target.startswith(f"{ROOT}/") or target.startswith("//"):
            target = f"{ROOT}/"
        if not self.guard.requires_sign_in:
            return RedirectResponse(target, 303)
        failure = ""
        if request.method == "POST":
            if is_cross_site(request):
                return _json_error(403, "Forbidden", "The sign-in form came from another site")
            body = await read_body_at_most(request, SIGN_IN_BODY_BYTES)
            if body is None:
                return _json_error(413, "RequestEntityTooLarge", "The sign-in form is too large")
            form = urllib.parse.parse_qs(body.decode(errors="replace"))
            fields = {key: values[0] for key, values in form.items()}
            if not self.guard.is_same_site_post(request, fields.get(CSRF_FIELD)):
                return _json_error(403, "Forbidden", "The sign-in form came from another site")
            if self.guard.is_valid_key_pair(
                fields.get("access_key", ""), fields.get("secret_key", "")
            ):
                response = RedirectResponse(target, 303)
                response.set_cookie(
                    SESSION_COOKIE,
                    self.guard.new_session(),
                    max_age=SESSION_SECONDS,
                    path=f"{ROOT}/",
                    httponly=True,
                    samesite="strict",
                )
                return response
            failure = "The access key or the secret key is not the server's."
        page = self._render(request, "sign_in.html", target=target, failure=failure)
        page.status_code = 401 if failure else 200
        return page

    async def sign_out(self, request: Request) -> Response:
        if not self.guard.is_same_site_post(request, request.headers.get(CSRF_HEADER)):
            return _json_error(403, "Forbidden", "The request came from another site")
        self.guard.revoke(request)
        response = RedirectResponse(f"{ROOT}/sign-in", 303)
        response.delete_cookie(SESSION_COOKIE, path=f"{ROOT}/")
        return response

    def close(self) -> None:
        self.layouts.close()

    # -- plumbing ----------------------------------------------------------------------------

    def _page(self, handler: Handler) -> Handler:
        """A page: sign-in first when needed; a service's error becomes an error page."""

        async def page(request: Request) -> Response:
            if not self.guard.is_signed_in(request):
                target = _quote(request.url.path + "?" + request.url.query)
                return RedirectResponse(f"{ROOT}/sign-in?next={target}", 303)
            try:
                return await handler(request)
            except (StepFunctionsError, DataApiError) as error:
                response = self._render(
                    request, "error.html", code=error.code, message=error.message
                )
                response.status_code = error.http_status
                return response

        return page

    def _call(self, handler: Handler) -> Handler:
        """A call from a page: signed in, a POST with the page's CSRF token; a service's error
        becomes `{"error", "message"}` with its HTTP status."""

        async def call(request: Request) -> Response:
            if not self.guard.is_signed_in(request):
                return _json_error(401, "NotSignedIn", "Sign in to the console again")
            if request.method == "POST" and not self.guard.is_same_site_post(
                request, request.headers.get(CSRF_HEADER)
            ):
                return _json_error(403, "Forbidden", "The request came from another site")
            try:
                return await handler(request)
            except (StepFunctionsError, DataApiError) as error:
                return _json_error(error.http_status, error.code, error.message)
            except _BadRequest as error:
                return _json_error(error.status, error.code, str(error))

        return call

    def _render(self, request: Request, template: str, **values: Any) -> HTMLResponse:
        html = self.templates.get_template(template).render(
            root=ROOT,
            csrf=self.guard.csrf_token(request),
            signs_in=self.guard.requires_sign_in,
            quote=_quote,
            **values,
        )
        return HTMLResponse(html, headers=SECURITY_HEADERS)


class _BadRequest(ValueError):
    """A call's body is not the JSON object it must be, or is too large."""

    def __init__(self, message: str, status: int = 400, code: str = "ValidationException") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


async def _json_body(request: Request) -> Mapping[str, Any]:
    text = await read_body_at_most(request, CALL_BODY_BYTES)
    if text is None:
        raise _BadRequest(
            f"The request body exceeds {CALL_BODY_BYTES} bytes", 413, "RequestEntityTooLarge"
        )
    try:
        body = json.loads(text)
    except ValueError:
        raise _BadRequest("The request body is not JSON") from None
    if not isinstance(body, dict):
        raise _BadRequest("The request body is not a JSON object")
    return body


async def _thread(work: Callable[[], T]) -> T:
    return await anyio.to_thread.run_sync(work)


def _event_row(
    event: Mapping[str, Any], step: str | None, changes: Mapping[str, str]
) -> dict[str, Any]:
    """A history event as the page shows it: the table's columns, and the status changes."""
    return {
        "id": event["id"],
        "type": event["type"],
        "step": step,
        "timestamp": event["timestamp"],
        "details": event_details(event) or None,
        "changes": changes,
    }


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _took(execution: Mapping[str, Any]) -> str:
    """How long an execution ran (so far, when it still runs)."""
    stop = execution.get("stopDate")
    if stop is None:
        return "running"
    return _seconds((stop - execution["startDate"]).total_seconds())


def _nanoseconds(value: int | None) -> str:
    return _seconds((value or 0) / 1e9)


def _seconds(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _quote(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    raise TypeError(f"{type(value).__name__} is not JSON")


def _json(value: object, status: int = 200) -> Response:
    text = json.dumps(value, default=_json_default)
    return Response(text, status, media_type="application/json", headers=SECURITY_HEADERS)


def _json_error(status: int, code: str, message: str) -> Response:
    return _json({"error": code, "message": message}, status)

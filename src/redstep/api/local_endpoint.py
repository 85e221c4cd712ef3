"""The endpoint a project's local functions call: its services on a loopback port of their own.

A handler runs unchanged here when its own `boto3.client("redshift-data")` reaches redstep, so
every function worker starts with AWS_ENDPOINT_URL_* pointing at this endpoint. It is started
the first time a worker needs it, on a port the system picks, and requires credentials made
for this process alone (handed to the workers), so that nothing else on the machine can use it
— whichever address or credentials `redstep serve` itself was given.
"""

from __future__ import annotations

import logging
import secrets
import threading

from redstep.api.app import App
from redstep.api.background import START_SECONDS, BackgroundServer
from redstep.api.sigv4 import Credentials
from redstep.project import Project
from redstep.runtime.clock import Clock
from redstep.services import Services


class LocalEndpoint:
    """Serves `attach`ed services to local functions; started by the first `environment()`."""

    def __init__(self) -> None:
        self.credentials = Credentials(
            f"ASIA{secrets.token_hex(8).upper()}", secrets.token_urlsafe(30)
        )
        self._services: Services | None = None
        self._attached = threading.Event()
        self._lock = threading.Lock()
        self._server: BackgroundServer | None = None
        self._app: App | None = None
        self._url: str | None = None
        self._closed = False

    def attach(self, services: Services) -> None:
        self._services = services
        self._attached.set()

    def environment(self) -> dict[str, str]:
        """What points a function's AWS SDK clients at this endpoint (boto3 reads
        AWS_ENDPOINT_URL_<SERVICE ID>; the SFN one is Step Functions')."""
        url = self._start()
        return {
            "AWS_ENDPOINT_URL_REDSHIFT_DATA": url,
            "AWS_ENDPOINT_URL_S3": url,
            "AWS_ENDPOINT_URL_SFN": url,
            "AWS_ENDPOINT_URL_STEPFUNCTIONS": url,
            "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
            "AWS_ACCESS_KEY_ID": self.credentials.access_key,
            "AWS_SECRET_ACCESS_KEY": self.credentials.secret_key,
        }

    def _start(self) -> str:
        if not self._attached.wait(START_SECONDS):
            raise RuntimeError("the local endpoint was never given the project's services")
        with self._lock:
            if self._closed:
                raise RuntimeError("the local endpoint is closed")
            if self._url is None:
                assert self._services is not None
                app = App(
                    self._services,
                    credentials=self.credentials,
                    is_stopping=lambda: server.is_stopping,
                )
                server = BackgroundServer(app, name="redstep-local-endpoint")
                self._url = server.start()
                self._server, self._app = server, app
            return self._url

    def close(self) -> None:
        with self._lock:
            self._closed = True
            server, app = self._server, self._app
        self._attached.set()  # a worker still waiting gives up at once
        if server is not None:
            try:
                server.stop()
            except RuntimeError:  # closing goes on: a thread left serving dies with the process
                logging.getLogger(__name__).warning("the local endpoint did not stop in time")
        if app is not None:
            app.close()


def open_services(
    project: Project, *, clock: Clock | None = None, is_one_off: bool = False
) -> Services:
    """A project's services, with the endpoint its local functions call (see `LocalEndpoint`);
    `is_one_off` as `Services.open` says."""
    endpoint = LocalEndpoint()
    services = Services.open(project, clock=clock, endpoints=endpoint, is_one_off=is_one_off)
    endpoint.attach(services)
    return services

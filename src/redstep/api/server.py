"""Running the app: uvicorn on the address asked for, over a project's open services.

The server binds 127.0.0.1 unless told otherwise; any other address is reachable by others, so it
requires credentials and then checks every request's signature. SIGTERM and SIGINT stop it
cleanly: uvicorn finishes the calls in flight, then the services close, leaving running
executions RUNNING in the store to resume at the next start.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import uvicorn

from redstep.api import DEFAULT_HOST, DEFAULT_PORT
from redstep.api.app import App, is_loopback
from redstep.api.endpoint_file import forget_endpoint, record_endpoint
from redstep.api.sigv4 import Credentials
from redstep.project import Project
from redstep.services import Services
from redstep.web import ROOT as CONSOLE_ROOT

RECORD_POLL_SECONDS = 0.01


class ServeError(ValueError):
    """The server cannot start as asked."""


class _Stopped(Exception):
    """SIGTERM or SIGINT arrived: stop serving and return."""


def check_binding(host: str, credentials: Credentials | None) -> None:
    """Refuse to serve an address others can reach without credentials to check requests."""
    if credentials is None and not is_loopback(host):
        raise ServeError(
            f"binding {host} makes redstep reachable from other machines: give credentials "
            "(--access-key and --secret-key, or REDSTEP_ACCESS_KEY_ID and "
            "REDSTEP_SECRET_ACCESS_KEY) so that every request's signature is checked"
        )


def serve(
    services: Services,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    credentials: Credentials | None = None,
    log_level: str = "info",
) -> None:
    """Serve until SIGTERM or SIGINT; the caller closes `services` afterwards."""
    check_binding(host, credentials)
    app = App(services, credentials=credentials, is_stopping=lambda: server.should_exit)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level.lower(),
        access_log=False,  # the app writes its own line per call
        lifespan="off",
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    recorder = threading.Thread(
        target=_record_when_started, args=(server, host, services.project), daemon=True
    )
    recorder.start()
    try:
        with _returning_on_signals():
            server.run()
    finally:
        server.should_exit = True
        recorder.join()
        app.close()
        forget_endpoint(services.project.state_dir)


def _record_when_started(server: uvicorn.Server, host: str, project: Project) -> None:
    """Record and log the server's URL once it listens (its port is known then, even when 0
    was asked)."""
    while not server.started:
        if server.should_exit:
            return
        time.sleep(RECORD_POLL_SECONDS)
    port = server.servers[0].sockets[0].getsockname()[1]
    reachable = host.strip("[]")
    if reachable in ("0.0.0.0", "::", ""):  # every address: this machine's is one of them
        reachable = DEFAULT_HOST
    if ":" in reachable:  # IPv6
        reachable = f"[{reachable}]"
    url = f"http://{reachable}:{port}"
    record_endpoint(project.state_dir, url)
    logging.getLogger("redstep.api").info(
        "redstep serving %s on %s (console: %s%s/)", project.root, url, url, CONSOLE_ROOT
    )


@contextmanager
def _returning_on_signals() -> Iterator[None]:
    """Make SIGTERM and SIGINT end the block normally.

    uvicorn shuts down gracefully on either, then raises the signal again for the handler it
    found; with the default one the process would die there, before the services close.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        raise _Stopped

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    except _Stopped:
        logging.getLogger("redstep.api").info("redstep stopped")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

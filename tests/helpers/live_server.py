"""An ASGI app served by uvicorn on 127.0.0.1, on a port the system picks, for one test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from starlette.types import ASGIApp

from redstep.api.background import BackgroundServer


@contextmanager
def live_server(app: ASGIApp) -> Iterator[str]:
    """Serve `app` in a thread; yield its base URL; stop it on exit."""
    server = BackgroundServer(app, name="live-server")
    url = server.start()
    try:
        yield url
    finally:
        server.stop()

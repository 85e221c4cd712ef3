"""An ASGI app served by uvicorn on a loopback port the system picks, on a thread of its own:
the endpoint local functions call, and the tests' servers."""

from __future__ import annotations

import threading
import time

import uvicorn
from starlette.types import ASGIApp

START_SECONDS = 10.0
"""How long the server may take to listen, and to stop."""


class BackgroundServer:
    """`start` serves `app` on 127.0.0.1 and answers its base URL; `stop` ends it."""

    def __init__(self, app: ASGIApp, *, name: str) -> None:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=name, daemon=True)

    def start(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + START_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._server.should_exit = True
                raise RuntimeError(f"{self._thread.name} did not start")
            time.sleep(0.005)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    @property
    def is_stopping(self) -> bool:
        return bool(self._server.should_exit)

    def stop(self) -> None:
        """Stop serving; RuntimeError when the server does not stop in time."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(START_SECONDS)
        if self._thread.is_alive():
            raise RuntimeError(f"{self._thread.name} did not stop")

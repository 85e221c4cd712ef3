"""Laying definitions out away from the server's threads: a worker process, and the layouts kept.

Graphviz holds Python's GIL while it lays a graph out (about 0.2 s for 100 states, over a second
for 300). In the server's process every thread would stop meanwhile: the executor stepping
executions, the Data API's statements, the other pages. One worker process (`WORKER`, started
when the first layout is asked for) does the work; the asking thread waits on a pipe with the
GIL free. It is a plain subprocess rather than a multiprocessing pool, which would run the
server's `__main__` again in the worker.

The pipe carries frames (a 4-byte length, then the bytes): a definition's JSON text one way, the
pickled `Layout` back (both ends are this module, in processes of one user). Should the worker
die or answer nonsense, the layout is made here instead, and the next one starts a new worker.
It runs in a session of its own, so a Ctrl-C reaches the server alone, which then stops it.
The last layouts are kept by definition, so a page shown again costs nothing.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import struct
import subprocess
import sys
import threading
from collections import OrderedDict
from typing import IO

from redstep.asl.parse import parse_definition
from redstep.web.graph import state_graph
from redstep.web.layout import Layout, lay_out

KEPT = 64
"""How many definitions' layouts are kept."""
FRAME_HEADER = struct.Struct(">I")
WORKER = """
import os, sys
answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
from redstep.web.layout_worker import serve
serve(sys.stdin.buffer, answers)
"""
"""The worker's program. Its answers get standard output's pipe to themselves before anything
is imported: whatever else writes to standard output (a library's print) goes to standard
error instead of into a frame."""

log = logging.getLogger(__name__)


class LayoutWorker:
    """Layouts of definitions, made in a worker process and kept; `close` stops the process."""

    def __init__(self) -> None:
        self._kept_lock = threading.Lock()
        self._kept: OrderedDict[str, Layout] = OrderedDict()
        self._pipe_lock = threading.Lock()
        """One question at a time on the pipe (waiting on it frees the GIL)."""
        self._process: subprocess.Popen[bytes] | None = None

    def layout(self, definition: str) -> Layout:
        """The layout of a state machine's definition (JSON text, validated already)."""
        with self._kept_lock:  # a kept layout never waits for another being made
            if definition in self._kept:
                self._kept.move_to_end(definition)
                return self._kept[definition]
        with self._pipe_lock:
            layout = self._ask(definition)
        with self._kept_lock:
            self._kept[definition] = layout
            while len(self._kept) > KEPT:
                self._kept.popitem(last=False)
        return layout

    def close(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()  # a layout being made ends now: its asker makes it itself
        with self._pipe_lock:
            self._stop()

    def _ask(self, definition: str) -> Layout:
        try:
            if self._process is None:
                self._process = subprocess.Popen(
                    # -P: not the current folder first on sys.path, where a project's own
                    # struct.py or random.py would shadow the standard library's.
                    [sys.executable, "-P", "-c", WORKER],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    start_new_session=True,  # Ctrl-C stops the server, which stops the worker
                )
            assert self._process.stdin is not None
            assert self._process.stdout is not None
            write_frame(self._process.stdin, definition.encode())
            answer = read_frame(self._process.stdout)
            layout = pickle.loads(answer) if answer is not None else None
        except Exception as error:  # a dead worker, a broken frame: it is replaced
            log.warning("the layout worker failed (%s): laying the graph out here", error)
            layout = None
        if not isinstance(layout, Layout):
            self._stop()
            return definition_layout(definition)
        return layout

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(OSError):  # a dead worker's pipe is broken
                process.stdin.close()  # the worker ends at the end of its input
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def definition_layout(definition: str) -> Layout:
    """The layout of a definition, made where it is called."""
    return lay_out(state_graph(parse_definition(definition)))


def write_frame(stream: IO[bytes], payload: bytes) -> None:
    stream.write(FRAME_HEADER.pack(len(payload)) + payload)
    stream.flush()


def read_frame(stream: IO[bytes]) -> bytes | None:
    """The next frame's bytes; None at the end of the stream."""
    header = stream.read(FRAME_HEADER.size)
    if len(header) < FRAME_HEADER.size:
        return None
    (size,) = FRAME_HEADER.unpack(header)
    payload = stream.read(size)
    if len(payload) < size:
        return None
    return payload


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """The worker: each definition read, its layout written back, until the input ends."""
    while (request := read_frame(requests)) is not None:
        write_frame(answers, pickle.dumps(definition_layout(request.decode())))

"""Laying definitions out away from the server's threads: a worker process, and the layouts kept.

Graphviz holds Python's GIL while it lays a graph out (about 0.2 s for 100 states, over a second
for 300). In the server's process every thread would stop meanwhile: the executor stepping
executions, the Data API's statements, the other pages. One worker process, started when the
first layout is asked for, does the work; the asking thread waits for it with the GIL free. The
process is spawned, not forked: a fork of a process running threads may inherit a held lock.
The last layouts are kept by definition, so a page shown again costs nothing.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor

from redstep.web.graph import definition_graph
from redstep.web.layout import Layout, lay_out

KEPT = 64
"""How many definitions' layouts are kept."""


class LayoutWorker:
    """Layouts of definitions, made in a worker process and kept; `close` stops the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._kept: OrderedDict[str, Layout] = OrderedDict()

    def layout(self, definition: str) -> Layout:
        """The layout of a state machine's definition (JSON text, validated already)."""
        with self._lock:
            if definition in self._kept:
                self._kept.move_to_end(definition)
                return self._kept[definition]
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn")
                )
            pool = self._pool
        layout = pool.submit(definition_layout, definition).result()
        with self._lock:
            self._kept[definition] = layout
            while len(self._kept) > KEPT:
                self._kept.popitem(last=False)
        return layout

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def definition_layout(definition: str) -> Layout:
    """The layout of a definition, made where it is called (in the worker)."""
    return lay_out(definition_graph(definition))

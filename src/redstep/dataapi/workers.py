"""The threads that run SQL: a shared pool, and one dedicated thread per session.

Warehouses open lazily, once per name, and are shared by every thread. Each pool thread keeps one
`Connection` per warehouse it has served, so statements reuse sessions with the engine but never
share one concurrently. On Redshift, though, each call without a session is a session of its own:
after each job a pool thread ends what the call left on its connection, as the end of a session
would (an open transaction rolls back, then `Connection.reset_session` drops temporary objects,
settings and prepared statements), so no call sees another's temporary tables or runs under its
search_path. A session (SessionKeepAliveSeconds) gets its own thread holding one connection for
its life, untouched between jobs, so what one statement creates or sets is there for the next.
A job that raises, or a connection that cannot be reset, leaves the connection in doubt: the
worker closes it and opens a new one for the next job (a session's state goes with it).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from redstep.warehouse.base import Connection, Warehouse, WarehouseError, WarehouseUnavailable
from redstep.warehouse.registry import WarehouseOptions, open_warehouse

logger = logging.getLogger(__name__)

DEFAULT_POOL_SIZE = 8


@dataclass(frozen=True, slots=True)
class Job:
    """Work for a worker: run on a connection to `warehouse`, or be told it could not."""

    warehouse: str
    run: Callable[[Connection], None]
    fail: Callable[[WarehouseError], None]


class Warehouses:
    """The project's warehouses, opened on first use and shared by all threads."""

    def __init__(
        self,
        urls: Mapping[str, str],
        options: WarehouseOptions,
        opener: Callable[[str, WarehouseOptions], Warehouse] = open_warehouse,
    ) -> None:
        self._urls = urls
        self._options = options
        self._opener = opener
        self._open: dict[str, Warehouse] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Warehouse:
        """The warehouse called `name`, opening it if needed."""
        with self._lock:
            warehouse = self._open.get(name)
            if warehouse is None:
                warehouse = self._opener(self._urls[name], self._options)
                self._open[name] = warehouse
            return warehouse

    def close(self) -> None:
        """Close every opened warehouse."""
        with self._lock:
            opened, self._open = list(self._open.values()), {}
        for warehouse in opened:
            try:
                warehouse.close()
            except WarehouseError:
                logger.exception("closing a warehouse failed")


class _Worker:
    """One thread taking jobs from a queue, holding a connection per warehouse.

    A pooled worker (`is_pooled`) serves unrelated calls, each a session of its own on Redshift:
    it hands every job a connection in a new session's state.
    """

    def __init__(
        self, warehouses: Warehouses, jobs: queue.Queue[Job | None], name: str, *, is_pooled: bool
    ) -> None:
        self._warehouses = warehouses
        self._jobs = jobs
        self._is_pooled = is_pooled
        self._connections: dict[str, Connection] = {}
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.thread.start()

    def _connection(self, warehouse: str) -> Connection:
        connection = self._connections.get(warehouse)
        if connection is None:
            connection = self._warehouses.get(warehouse).connect()
            self._connections[warehouse] = connection
        return connection

    def _loop(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                connection = self._connection(job.warehouse)
            except WarehouseError as error:
                job.fail(error)
                continue
            except Exception as error:  # a backend bug must not kill the worker
                logger.exception("opening a connection failed")
                job.fail(WarehouseUnavailable(str(error)))
                continue
            try:
                job.run(connection)
            except WarehouseUnavailable as error:
                logger.warning("lost a connection to %s: %s", job.warehouse, error.message)
                self._drop(job.warehouse)
                continue
            except Exception:  # the job recorded it; the connection's state is unknown
                logger.exception("a job failed; replacing its connection")
                self._drop(job.warehouse)
                continue
            if self._is_pooled:
                self._end_session(job.warehouse, connection)
        for warehouse in list(self._connections):
            self._drop(warehouse)

    def _end_session(self, warehouse: str, connection: Connection) -> None:
        """Leave the connection as a new session would find it, as Redshift ends the session of
        a call: roll back a transaction the call left open (a lone BEGIN), then reset the session
        (which must run outside a transaction, and whose objects a rollback could bring back).
        The job has ended and recorded its statement; if this fails, only the connection is
        lost."""
        try:
            if connection.in_transaction:
                connection.rollback()
            connection.reset_session()
        except WarehouseUnavailable as error:
            logger.warning("lost a connection to %s: %s", warehouse, error.message)
            self._drop(warehouse)
        except Exception:
            logger.exception("ending a call's session failed; replacing its connection")
            self._drop(warehouse)

    def _drop(self, warehouse: str) -> None:
        connection = self._connections.pop(warehouse, None)
        if connection is not None:
            try:
                connection.close()
            except Exception:
                logger.exception("closing a connection failed")


class WorkerPool:
    """A fixed set of threads running statements that belong to no session."""

    def __init__(self, warehouses: Warehouses, size: int = DEFAULT_POOL_SIZE) -> None:
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._workers = [
            _Worker(warehouses, self._jobs, f"redstep-dataapi-{index}", is_pooled=True)
            for index in range(size)
        ]

    def submit(self, job: Job) -> None:
        """Queue `job`; the first free thread runs it."""
        self._jobs.put(job)

    def close(self, timeout: float = 10.0) -> None:
        """Stop the threads once they finish what they run; close their connections."""
        for _ in self._workers:
            self._jobs.put(None)
        for worker in self._workers:
            worker.thread.join(timeout)


class SessionWorker:
    """The one thread, and one connection, that serve a Data API session."""

    def __init__(self, warehouses: Warehouses, session_id: str) -> None:
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._worker = _Worker(
            warehouses, self._jobs, f"redstep-session-{session_id[:8]}", is_pooled=False
        )

    def submit(self, job: Job) -> None:
        """Queue `job` behind the session's earlier statements."""
        self._jobs.put(job)

    def close(self, timeout: float = 10.0) -> None:
        """End the session: its connection closes and its temporary tables go."""
        self._jobs.put(None)
        self._worker.thread.join(timeout)

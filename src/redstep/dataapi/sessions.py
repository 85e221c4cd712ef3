"""Data API sessions: SessionKeepAliveSeconds opens one, SessionId reuses it.

A session holds one warehouse connection on its own thread, so what one statement leaves in the
session (a temporary table, a `SET`) is there for the next. It runs one statement at a time, and
closes when it has been idle for its keep-alive time, or 24 hours after it opened. Sessions live
in memory: a restart closes them, as a reclaimed session closes on AWS.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from redstep.dataapi.errors import ResourceNotFoundException, ValidationException
from redstep.dataapi.statements import SessionStatus, Target
from redstep.dataapi.workers import SessionWorker, Warehouses

MAX_SESSION_LIFE = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Session:
    """What ListSessions reports of a session."""

    id: str
    target: Target
    keep_alive_seconds: int
    status: SessionStatus
    created_at: datetime
    updated_at: datetime
    ttl: datetime
    current_statement_id: str | None = None


class Sessions:
    """The open (and recently closed) sessions of this service."""

    def __init__(self, warehouses: Warehouses) -> None:
        self._warehouses = warehouses
        self._sessions: dict[str, Session] = {}
        self._workers: dict[str, SessionWorker] = {}
        self._lock = threading.Lock()

    def open(
        self,
        session_id: str,
        statement_id: str,
        target: Target,
        keep_alive_seconds: int,
        now: datetime,
    ) -> tuple[Session, SessionWorker]:
        """Open a session for statement `statement_id`, about to run in it (so it starts BUSY)."""
        session = Session(
            id=session_id,
            target=target,
            keep_alive_seconds=keep_alive_seconds,
            status=SessionStatus.BUSY,
            created_at=now,
            updated_at=now,
            ttl=min(now + timedelta(seconds=keep_alive_seconds), now + MAX_SESSION_LIFE),
            current_statement_id=statement_id,
        )
        worker = SessionWorker(self._warehouses, session_id)
        with self._lock:
            self._sessions[session_id] = session
            self._workers[session_id] = worker
        return session, worker

    def claim(
        self, session_id: str, statement_id: str, now: datetime
    ) -> tuple[Session, SessionWorker]:
        """Mark an AVAILABLE session BUSY with `statement_id`, or say why it cannot run it."""
        self.expire(now)
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                raise ValidationException(f"Session with Id: {session_id} is invalid")
            if session.status is SessionStatus.CLOSED:
                raise ValidationException("Session is not available")
            if session.status is SessionStatus.BUSY:
                raise ValidationException(
                    f"Session with Id: {session_id} is busy running statement "
                    f"{session.current_statement_id}"
                )
            claimed = replace(
                session, status=SessionStatus.BUSY, current_statement_id=statement_id,
                updated_at=now,
            )  # fmt: skip
            self._sessions[session_id] = claimed
            return claimed, self._workers[session_id]

    def release(self, session_id: str, statement_id: str, now: datetime) -> None:
        """Statement `statement_id` ended: when it is the one the session runs, the session is
        AVAILABLE until its keep-alive runs out.

        A queued statement cancelled before it ran releases the session at once, and another may
        claim it then; when the withdrawn statement's job comes up later it must not release the
        session under the statement that runs now.
        """
        with self._lock:
            session = self._sessions.get(session_id)
            if (
                session is None
                or session.status is SessionStatus.CLOSED
                or session.current_statement_id != statement_id
            ):
                return
            ttl = min(
                now + timedelta(seconds=session.keep_alive_seconds),
                session.created_at + MAX_SESSION_LIFE,
            )
            self._sessions[session_id] = replace(
                session,
                status=SessionStatus.AVAILABLE,
                current_statement_id=None,
                updated_at=now,
                ttl=ttl,
            )

    def expire(self, now: datetime) -> None:
        """Close every AVAILABLE session whose keep-alive has run out."""
        with self._lock:
            expired = [
                session
                for session in self._sessions.values()
                if session.status is SessionStatus.AVAILABLE and session.ttl <= now
            ]
            workers = [self._workers.pop(session.id) for session in expired]
            for session in expired:
                self._sessions[session.id] = replace(
                    session, status=SessionStatus.CLOSED, updated_at=now
                )
        for worker in workers:
            worker.close()

    def get(self, session_id: str) -> Session:
        """The session, or ResourceNotFoundException."""
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None:
            raise ResourceNotFoundException(
                f"Session with Id: {session_id} does not exist", resource_id=session_id
            )
        return session

    def all(self) -> list[Session]:
        """Every session known, newest first."""
        with self._lock:
            return sorted(self._sessions.values(), key=lambda s: s.created_at, reverse=True)

    def close(self, now: datetime) -> None:
        """Close every session (at shutdown)."""
        with self._lock:
            workers, self._workers = list(self._workers.values()), {}
            for session_id, session in self._sessions.items():
                self._sessions[session_id] = replace(
                    session, status=SessionStatus.CLOSED, updated_at=now
                )
        for worker in workers:
            worker.close()

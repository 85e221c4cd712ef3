"""Who may use the console, and which of its requests may change anything.

A server without credentials answers only loopback names (the app checks the Host), and the
console needs no sign-in there. A server with credentials signs AWS calls with SigV4, which a
browser cannot do: the console asks for the same key pair once, then keeps a session cookie
(HttpOnly, SameSite=Strict, limited to the console's path) that carries when it was issued, a
nonce, and an HMAC of both under a key drawn at start, so a restart signs everybody out; signing out
revokes the session on the server too, so a copy of its cookie is no use either.

Every state-changing request is a POST that must carry the page's CSRF token (an HMAC of the
session under the same key) in the `X-Redstep-Csrf` header or, for the sign-in form, a form
field; a browser sends neither cross-site. A POST whose `Origin` or `Sec-Fetch-Site` says it
came from another site is refused as well.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import urllib.parse
from collections.abc import Callable
from typing import Protocol

from starlette.requests import Request

SESSION_COOKIE = "redstep_console"
SESSION_SECONDS = 12 * 3600
CSRF_HEADER = "x-redstep-csrf"
CSRF_FIELD = "csrf"


class KeyPair(Protocol):
    """The server's credentials (`redstep.api.sigv4.Credentials`)."""

    @property
    def access_key(self) -> str: ...

    @property
    def secret_key(self) -> str: ...


class Guard:
    """Sessions and CSRF tokens for the console of a server holding `credentials` (or none)."""

    def __init__(
        self, credentials: KeyPair | None, *, now: Callable[[], float] = time.time
    ) -> None:
        self.credentials = credentials
        self._now = now
        self._key = secrets.token_bytes(32)
        self._revoked: dict[str, float] = {}
        """Sessions signed out of -> when they would have expired."""

    @property
    def requires_sign_in(self) -> bool:
        return self.credentials is not None

    def is_valid_key_pair(self, access_key: str, secret_key: str) -> bool:
        """Whether a sign-in gave the server's own credentials (compared in constant time)."""
        if self.credentials is None:
            return True
        return _same(access_key, self.credentials.access_key) & _same(
            secret_key, self.credentials.secret_key
        )

    def new_session(self) -> str:
        """A session cookie's value: when it was issued, a nonce (two sessions of one second
        are two), and the HMAC that proves this server issued both."""
        issued = f"{int(self._now())}.{secrets.token_hex(8)}"
        return f"{issued}.{self._mac('session:' + issued)}"

    def is_signed_in(self, request: Request) -> bool:
        if self.credentials is None:
            return True
        session = request.cookies.get(SESSION_COOKIE, "")
        if session in self._revoked:
            return False
        issued, _, mac = session.rpartition(".")
        if not _same(mac, self._mac("session:" + issued)):
            return False
        when = issued.partition(".")[0]  # signed by this server: digits
        return 0 <= self._now() - int(when) < SESSION_SECONDS

    def revoke(self, request: Request) -> None:
        """Sign the request's session out, here as in its browser."""
        now = self._now()
        self._revoked = {session: ends for session, ends in self._revoked.items() if ends > now}
        self._revoked[request.cookies.get(SESSION_COOKIE, "")] = now + SESSION_SECONDS

    def csrf_token(self, request: Request) -> str:
        """The token a page of this session sends back with its POSTs."""
        return self._mac("csrf:" + request.cookies.get(SESSION_COOKIE, ""))

    def is_same_site_post(self, request: Request, token: str | None) -> bool:
        """Whether a POST came from the console's own pages: the token matches, and the browser
        does not say it came from another site (`is_cross_site`)."""
        if token is None or not _same(token, self.csrf_token(request)):
            return False
        return not is_cross_site(request)

    def _mac(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    """Whether two texts are equal, in a time that does not tell where they differ (bytes: the
    comparison refuses text beyond ASCII, which a cookie or a form may hold)."""
    return hmac.compare_digest(given.encode(errors="replace"), expected.encode())


def is_cross_site(request: Request) -> bool:
    """Whether the browser says the request came from another site: `Sec-Fetch-Site` where it
    sends one, else an `Origin` naming another host than the request's (scheme aside: behind an
    HTTPS proxy the server sees http). Such a POST is refused before its body is read."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return False
    parts = urllib.parse.urlsplit(origin)
    return _without_default_port(parts.netloc) != _without_default_port(
        request.headers.get("host", "")
    )


def _without_default_port(host: str) -> str:
    return host.lower().removesuffix(":80").removesuffix(":443")

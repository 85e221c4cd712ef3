"""Who may use the console: sessions (issued, tampered, future-dated, expired), the key pair,
the CSRF token tied to the session, and which POSTs come from the console's own pages."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from redstep.api.sigv4 import Credentials
from redstep.web.guard import SESSION_COOKIE, SESSION_SECONDS, Guard

CREDENTIALS = Credentials("AKID", "SECRET")
ISSUED = 1_700_000_000.0
HOST = "127.0.0.1:8000"


class Clock:
    """A clock the test moves: the guard's `now`."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def request(cookie: str | None = None, *, host: str = HOST, **headers: str) -> Request:
    """A POST to the console, with the session cookie and headers given (`origin=`, …)."""
    raw = [(b"host", host.encode())]
    if cookie is not None:
        raw.append((b"cookie", f"{SESSION_COOKIE}={cookie}".encode("latin-1")))
    for name, value in headers.items():
        raw.append((name.replace("_", "-").encode(), value.encode("latin-1")))
    return Request(
        {
            "type": "http",
            "method": "POST",
            "scheme": "http",
            "server": ("127.0.0.1", 8000),
            "path": "/_redstep/start",
            "query_string": b"",
            "headers": raw,
        }
    )


@pytest.fixture
def clock() -> Clock:
    return Clock(ISSUED)


@pytest.fixture
def guard(clock: Clock) -> Guard:
    return Guard(CREDENTIALS, now=clock)


def test_without_credentials_nobody_signs_in() -> None:
    guard = Guard(None)
    assert guard.requires_sign_in is False
    assert guard.is_signed_in(request()) is True
    assert guard.is_signed_in(request("garbage")) is True
    assert guard.is_valid_key_pair("anything", "at all") is True


def test_a_new_session_is_valid_until_it_expires(guard: Guard, clock: Clock) -> None:
    assert guard.requires_sign_in is True
    session = guard.new_session()
    assert session.startswith(f"{int(ISSUED)}.")
    assert guard.is_signed_in(request(session)) is True
    clock.now = ISSUED + SESSION_SECONDS - 1
    assert guard.is_signed_in(request(session)) is True
    clock.now = ISSUED + SESSION_SECONDS
    assert guard.is_signed_in(request(session)) is False


def test_a_session_dated_in_the_future_is_invalid(guard: Guard, clock: Clock) -> None:
    session = guard.new_session()
    clock.now = ISSUED - 1
    assert guard.is_signed_in(request(session)) is False


def test_a_tampered_session_is_invalid(guard: Guard) -> None:
    session = guard.new_session()
    issued, nonce, mac = session.split(".")
    flipped = mac[:-1] + ("0" if mac[-1] != "0" else "1")
    assert guard.is_signed_in(request(f"{issued}.{nonce}.{flipped}")) is False
    later = str(int(issued) + 3600)  # a later issue date, to stay signed in longer
    assert guard.is_signed_in(request(f"{later}.{nonce}.{mac}")) is False
    assert guard.is_signed_in(request(f"{issued}.{mac}")) is False  # the nonce left out
    assert guard.is_signed_in(request(f"{issued}.{nonce}.")) is False
    assert guard.is_signed_in(request(mac)) is False
    assert guard.is_signed_in(request("")) is False
    assert guard.is_signed_in(request()) is False


def test_a_session_of_another_server_is_invalid(guard: Guard, clock: Clock) -> None:
    other = Guard(CREDENTIALS, now=clock)  # another start: another key
    assert guard.is_signed_in(request(other.new_session())) is False


def test_a_session_cookie_with_characters_outside_ascii_is_invalid(guard: Guard) -> None:
    issued = guard.new_session().split(".")[0]
    assert guard.is_signed_in(request(f"{issued}.\xe9t\xe9")) is False
    assert guard.is_signed_in(request("\xb2.abc")) is False


def test_only_the_servers_own_key_pair_signs_in(guard: Guard) -> None:
    assert guard.is_valid_key_pair("AKID", "SECRET") is True
    assert guard.is_valid_key_pair("AKID", "secret") is False
    assert guard.is_valid_key_pair("akid", "SECRET") is False
    assert guard.is_valid_key_pair("", "") is False
    assert guard.is_valid_key_pair("AKID\xe9", "SECRET") is False


def test_the_csrf_token_is_tied_to_the_session(guard: Guard, clock: Clock) -> None:
    first = guard.new_session()
    clock.now += 1
    second = guard.new_session()
    token = guard.csrf_token(request(first))
    assert len(token) == 64
    assert token == guard.csrf_token(request(first))
    assert guard.csrf_token(request(second)) != token
    assert Guard(CREDENTIALS, now=clock).csrf_token(request(first)) != token
    assert guard.is_same_site_post(request(first), token) is True
    assert guard.is_same_site_post(request(second), token) is False  # another session's


def test_a_post_without_the_right_token_is_refused(guard: Guard) -> None:
    session = guard.new_session()
    token = guard.csrf_token(request(session))
    assert guard.is_same_site_post(request(session), None) is False
    assert guard.is_same_site_post(request(session), "") is False
    assert guard.is_same_site_post(request(session), token.upper()) is False
    assert guard.is_same_site_post(request(session), token[:-1]) is False


def test_a_token_with_characters_outside_ascii_is_refused(guard: Guard) -> None:
    session = guard.new_session()
    assert guard.is_same_site_post(request(session), "\xe9" * 64) is False


def test_a_post_whose_origin_is_another_site_is_refused(guard: Guard) -> None:
    session = guard.new_session()
    token = guard.csrf_token(request(session))
    assert guard.is_same_site_post(request(session, origin=f"http://{HOST}"), token) is True
    assert guard.is_same_site_post(request(session, origin="http://evil.example"), token) is False
    assert guard.is_same_site_post(request(session, origin="null"), token) is False
    # The scheme aside: behind an HTTPS proxy the server sees http, and the token is needed still.
    assert guard.is_same_site_post(request(session, origin=f"https://{HOST}"), token) is True
    assert guard.is_same_site_post(request(session, origin="http://127.0.0.1:9"), token) is False


@pytest.mark.parametrize(
    ("fetch_site", "allowed"),
    [("same-origin", True), ("none", True), ("same-site", False), ("cross-site", False)],
)
def test_a_post_is_refused_unless_sec_fetch_site_says_it_is_same_origin(
    guard: Guard, fetch_site: str, allowed: bool
) -> None:
    session = guard.new_session()
    token = guard.csrf_token(request(session))
    assert guard.is_same_site_post(request(session, sec_fetch_site=fetch_site), token) is allowed


def test_without_credentials_the_token_still_guards_posts() -> None:
    guard = Guard(None)
    token = guard.csrf_token(request())
    assert guard.is_same_site_post(request(), token) is True
    assert guard.is_same_site_post(request(), None) is False
    assert guard.is_same_site_post(request(), "0" * 64) is False
    assert guard.is_same_site_post(request(origin="http://evil.example"), token) is False
    assert Guard(None).csrf_token(request()) != token  # drawn per server start


def test_behind_a_proxy_the_origins_host_is_compared_without_its_default_port(
    guard: Guard,
) -> None:
    session = guard.new_session()
    token = guard.csrf_token(request(session))
    proxied = {"host": "redstep.example:443", "origin": "https://redstep.example"}
    assert guard.is_same_site_post(request(session, **proxied), token) is True
    other = {"host": "redstep.example:443", "origin": "https://evil.example"}
    assert guard.is_same_site_post(request(session, **other), token) is False


def test_sec_fetch_site_decides_where_the_browser_sends_it(guard: Guard) -> None:
    session = guard.new_session()
    token = guard.csrf_token(request(session))
    # A same-origin fetch through a proxy whose Origin the server cannot match by itself.
    fetched = {"host": "10.0.0.5:8642", "origin": "https://redstep.example"}
    assert guard.is_same_site_post(request(session, sec_fetch_site="same-origin", **fetched), token)
    assert not guard.is_same_site_post(request(session, sec_fetch_site="cross-site"), token)

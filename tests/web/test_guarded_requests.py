"""What the console refuses before it does any work: bodies beyond their size, a sign-in form
posted from another site, and a session signed out of (even with a copy of its cookie)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from redstep.web.console import CALL_BODY_BYTES, SIGN_IN_BODY_BYTES

if TYPE_CHECKING:
    from conftest import Console

ROOT = "/_redstep"
SIGN_IN = {"access_key": "AKID", "secret_key": "SECRET"}


def sign_in(console: Console) -> str:
    """Sign in with the server's key pair; the session's CSRF token."""
    document = console.page(f"{ROOT}/sign-in")
    token = document.one("input", name="csrf").attrs["value"]
    response = console.http.post(f"{ROOT}/sign-in", data={"csrf": token, **SIGN_IN})
    assert response.status_code == 303, response.text
    return console.csrf()


def test_a_start_larger_than_any_input_is_refused_unread(console: Console) -> None:
    body = {"stateMachineArn": console.machine_arn("hello"), "input": "x" * CALL_BODY_BYTES}
    response = console.post(f"{ROOT}/start", body, token=console.csrf())
    assert response.status_code == 413
    assert response.json()["error"] == "RequestEntityTooLarge"
    assert console.executions("hello") == []


def test_a_sign_in_form_beyond_its_size_is_refused(signed_console: Console) -> None:
    document = signed_console.page(f"{ROOT}/sign-in")
    token = document.one("input", name="csrf").attrs["value"]
    padding = "x" * SIGN_IN_BODY_BYTES
    response = signed_console.http.post(
        f"{ROOT}/sign-in", data={"csrf": token, "padding": padding, **SIGN_IN}
    )
    assert response.status_code == 413
    assert "set-cookie" not in response.headers


def test_a_sign_in_from_another_site_is_refused_before_its_form_is_read(
    signed_console: Console,
) -> None:
    document = signed_console.page(f"{ROOT}/sign-in")
    token = document.one("input", name="csrf").attrs["value"]
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        # Far beyond the form's size: a refusal that read the body would answer 413.
        response = signed_console.http.post(
            f"{ROOT}/sign-in",
            data={"csrf": token, "padding": "x" * (4 * SIGN_IN_BODY_BYTES), **SIGN_IN},
            headers=headers,
        )
        assert response.status_code == 403, headers
        assert "set-cookie" not in response.headers


def test_a_copy_of_a_signed_out_sessions_cookie_is_refused(signed_console: Console) -> None:
    token = sign_in(signed_console)
    copied = dict(signed_console.http.cookies)
    assert signed_console.get(f"{ROOT}/").status_code == 200
    out = signed_console.http.post(f"{ROOT}/sign-out", headers={"X-Redstep-Csrf": token})
    assert out.status_code == 303
    signed_console.http.cookies.update(copied)  # the cookie as it was before signing out
    refused = signed_console.get(f"{ROOT}/")
    assert refused.status_code == 303
    assert refused.headers["location"].startswith(f"{ROOT}/sign-in")
    signed_console.http.cookies.clear()
    sign_in(signed_console)  # a new session works
    assert signed_console.get(f"{ROOT}/").status_code == 200


def test_an_event_id_too_long_for_a_number_streams_from_the_start(console: Console) -> None:
    arn = console.run("hello")["executionArn"]
    whole = console.events(arn)
    assert whole.status_code == 200
    for after in ("9" * 5000, "1" * 16):
        response = console.events(arn, after=after)
        assert response.status_code == 200, after
        assert response.text == whole.text

"""Reading an HTTP request's body up to a size, for the AWS endpoints and the console alike:
a client that sends more is answered without the server holding all it sent."""

from __future__ import annotations

from starlette.requests import Request


async def read_body_at_most(request: Request, limit: int) -> bytes | None:
    """The request's body, or None as soon as it grows past `limit` bytes."""
    length = request.headers.get("content-length", "")
    # More digits than any size has: int() refuses over 4,300 of them, so compare lengths first.
    if length.isascii() and length.isdigit() and (len(length) > 19 or int(length) > limit):
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)

"""Messages between redstep and a worker: framed however the bytes arrive."""

from __future__ import annotations

import os

from redstep.functions.messages import MessageBuffer, encode_message, read_message, write_message


def test_messages_are_framed_however_the_bytes_arrive() -> None:
    data = encode_message({"type": "started", "max_memory": 12}, b"") + encode_message(
        {
            "type": "result",
            "is_error": False,
            "is_final": False,
            "max_memory": 3,
            "log_error": None,
        },
        b'{"big": "' + b"x" * 100_000 + b'"}',
    )
    buffer = MessageBuffer()
    messages = []
    for start in range(0, len(data), 7):
        buffer.feed(data[start : start + 7])
        while (message := buffer.next_message()) is not None:
            messages.append(message)
    assert [header["type"] for header, _ in messages] == ["started", "result"]
    assert messages[1][1].endswith(b'x"}')
    assert len(messages[1][1]) == 100_011


def test_messages_cross_a_pipe_and_its_end_is_none() -> None:
    reader, writer = os.pipe()
    try:
        write_message(writer, {"type": "started", "max_memory": 1}, b"body")
        os.close(writer)
        assert read_message(reader) == ({"type": "started", "max_memory": 1}, b"body")
        assert read_message(reader) is None
    finally:
        os.close(reader)

"""How deeply the JSON redstep reads may nest: a definition, an execution's input, a task's output.

redstep's own limit (AWS documents none). The parser and the template and Choice compilers walk
documents recursively, a few Python frames a level, so a deeper document is refused where it
comes in rather than halfway through a walk that runs out of stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: How deeply arrays and objects may nest in JSON redstep reads: a definition, an execution's
#: input, a task's output. redstep's own limit (AWS documents none): compiling a template or a
#: Choice rule takes three Python frames a level, so this keeps the walks well inside Python's
#: recursion limit (1,000), and a deeper document is refused where it comes in, not halfway.
MAX_JSON_DEPTH = 256
#: Why such a document is refused (worded as Jackson, AWS's JSON reader, words its own limit).
JSON_TOO_DEEP = f"Document nesting depth exceeds the maximum allowed ({MAX_JSON_DEPTH})"


def is_nested_too_deeply(value: Any, text: str | None = None) -> bool:
    """Whether arrays and objects nest more than MAX_JSON_DEPTH levels deep in `value`.

    The walk keeps its own stack, so it answers for any depth. `text`, the JSON `value` was read
    from, spares the walk when it holds too few brackets to nest that deep (nearly always).
    """
    if text is not None and text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return False
    pending: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, Mapping | list) else []
    while pending:
        item, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            return True
        for child in item.values() if isinstance(item, Mapping) else item:
            if isinstance(child, Mapping | list):
                pending.append((child, depth + 1))
    return False

"""What an expression can read besides the state's input: the context object and randomness.

The engine makes one Scope per state it runs. The context object (`$$`) is built only when an
expression reads it; randomness (States.UUID, States.MathRandom) comes from a generator the
engine seeds, so that a replayed execution draws the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from random import Random
from typing import Any


class Scope:
    __slots__ = ("_context", "_make_context", "random")

    def __init__(self, make_context: Callable[[], Any], random: Random) -> None:
        self._make_context = make_context
        self._context: Any = None
        self.random = random

    @property
    def context(self) -> Any:
        """The context object, built on first use."""
        if self._context is None:
            self._context = self._make_context()
        return self._context


def fixed_scope(context: Any = None, seed: int = 0) -> Scope:
    """A scope over a given context object, for tests and one-off evaluations."""
    return Scope(lambda: context if context is not None else {}, Random(seed))

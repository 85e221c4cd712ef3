"""What an expression can read besides the state's input: the context object, the workflow
variables in scope, and randomness.

The engine makes one Scope per state it runs. The context object (`$$`) is built only when an
expression reads it; randomness (States.UUID, States.MathRandom) comes from a generator the
engine seeds, so that a replayed execution draws the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from random import Random
from typing import Any


class Scope:
    __slots__ = ("_context", "_make_context", "now", "random", "states", "variables")

    def __init__(
        self,
        make_context: Callable[[], Any],
        random: Random,
        variables: Mapping[str, Any] | None = None,
        states: Mapping[str, Any] | None = None,
        now: datetime | None = None,
    ) -> None:
        """`variables`: every workflow variable the state can read; `states`: what JSONata's
        `$states` holds besides `input` and `context` (`result`, `errorOutput`); `now`: the
        execution's clock, for JSONata's $now()."""
        self._make_context = make_context
        self._context: Any = None
        self.random = random
        self.variables: Mapping[str, Any] = variables if variables is not None else {}
        self.states: Mapping[str, Any] = states if states is not None else {}
        self.now = now

    @property
    def context(self) -> Any:
        """The context object, built on first use."""
        if self._context is None:
            self._context = self._make_context()
        return self._context


def fixed_scope(context: Any = None, seed: int = 0) -> Scope:
    """A scope over a given context object, for tests and one-off evaluations."""
    return Scope(lambda: context if context is not None else {}, Random(seed))

"""What a state does as it leaves: the variables it assigns and, in JSONata, its Output.

A state, a Choice rule and a Catcher each carry one. AWS evaluates both against the variables as
they were when the state was entered: a value assigned here is first seen by the next state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redstep.asl.queries import Query
    from redstep.asl.templates import Template


@dataclass(frozen=True, slots=True)
class Outcome:
    """`assign`: the Assign block, compiled (JSONPath: a template whose `.$` fields read the
    state's result; JSONata: a Query); `output`: a JSONata state's Output."""

    assign: Template | Query | None = None
    output: Query | None = None

    @property
    def is_empty(self) -> bool:
        return self.assign is None and self.output is None


#: What a state without Assign (and without a JSONata Output) does as it leaves: nothing more.
NO_OUTCOME = Outcome()

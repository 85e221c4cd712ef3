"""Where a map run finds its Map state in its parent's state machine: the parsed state, for its
ItemSelector (`find_map_state`), and its ItemProcessor as a definition of its own, which the
children run (`processor_definition`)."""

from __future__ import annotations

import json
from typing import Any

from redstep.asl.model import MapState, ParallelState, StateMachine


class MapStateNotFound(LookupError):
    """The definition has no Map state of that name."""


def find_map_state(machine: StateMachine, name: str) -> MapState | None:
    """The Map state `name`, wherever it is nested."""
    for state in machine.states.values():
        if isinstance(state, MapState):
            if state.name == name:
                return state
            found = find_map_state(state.processor, name)
        elif isinstance(state, ParallelState):
            found = next(
                (hit for b in state.branches if (hit := find_map_state(b, name)) is not None),
                None,
            )
        else:
            continue
        if found is not None:
            return found
    return None


def processor_definition(definition: str, state_name: str) -> dict[str, Any]:
    """The ItemProcessor (or Iterator) of the Map state `state_name` in a definition's text,
    as a definition of its own: without its ProcessorConfig, and with the QueryLanguage of the
    definition when it names none. MapStateNotFound when there is no such state."""
    document = json.loads(definition)
    processor = _raw_processor(document, state_name)
    if processor is None:
        raise MapStateNotFound(f"No Map state {state_name!r} in the definition")
    own = {key: value for key, value in processor.items() if key != "ProcessorConfig"}
    if "QueryLanguage" in document and "QueryLanguage" not in own:
        own["QueryLanguage"] = document["QueryLanguage"]
    return own


def _raw_processor(machine: Any, name: str) -> dict[str, Any] | None:
    states = machine.get("States") if isinstance(machine, dict) else None
    if not isinstance(states, dict):
        return None
    for state_name, state in states.items():
        if not isinstance(state, dict):
            continue
        nested: list[Any] = []
        if state.get("Type") == "Map":
            processor = state.get("ItemProcessor", state.get("Iterator"))
            if state_name == name and isinstance(processor, dict):
                return processor
            nested.append(processor)
        elif state.get("Type") == "Parallel":
            nested.extend(state.get("Branches") or [])
        for branch in nested:
            found = _raw_processor(branch, name)
            if found is not None:
                return found
    return None

"""What schedule triggers remember across restarts: `.redstep/triggers.json`.

For each schedule trigger: the expression the memory belongs to, when redstep first ran the
trigger with it (`since`: a rate counts from there, as EventBridge counts a rate from the rule's
creation), and the last fire time it started (`last_fire`: catch-up resumes after it). A trigger
whose expression changed starts afresh, as a rule does when PutRule replaces its schedule.

The file is replaced atomically (a temporary file beside it, synced, then renamed over it), so a
crash leaves the old memory or the new one. A file that cannot be read is reported and treated as
empty: schedules then fire from now on, which is safer than refusing to start.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

STATE_FILE = "triggers.json"
"""The file's name in a project's `.redstep/` folder."""

_FORMAT_VERSION = 1

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ScheduleState:
    """One schedule trigger's memory."""

    expression: str
    since: datetime
    """When redstep first ran the trigger with this expression (aware, UTC)."""
    last_fire: datetime | None = None
    """The latest fire time started, if any."""


def load_states(path: Path) -> dict[str, ScheduleState]:
    """The memory kept in `path`; empty when there is none (or none that can be read)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        logger.warning("cannot read %s (%s); schedules fire from now on", path, error)
        return {}
    try:
        document = json.loads(text)
        return {name: _state(entry) for name, entry in document["schedules"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        logger.warning(
            "%s is not a trigger state file (%s); schedules fire from now on", path, error
        )
        return {}


def save_states(path: Path, states: Mapping[str, ScheduleState]) -> None:
    """Replace the memory in `path` with `states`, atomically."""
    document = {
        "version": _FORMAT_VERSION,
        "schedules": {name: _entry(state) for name, state in sorted(states.items())},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _entry(state: ScheduleState) -> dict[str, Any]:
    return {
        "expression": state.expression,
        "since": state.since.isoformat(),
        "last_fire": None if state.last_fire is None else state.last_fire.isoformat(),
    }


def _state(entry: Mapping[str, Any]) -> ScheduleState:
    last_fire = entry.get("last_fire")
    state = ScheduleState(
        expression=str(entry["expression"]),
        since=datetime.fromisoformat(entry["since"]),
        last_fire=None if last_fire is None else datetime.fromisoformat(last_fire),
    )
    if state.since.tzinfo is None or (state.last_fire and state.last_fire.tzinfo is None):
        raise ValueError("a time without a timezone")
    return state

"""Triggers: the ways a workflow starts besides StartExecution (schedules, objects in buckets).

`Triggers` (`service`) runs the `[triggers.*]` tables of redstep.toml: EventBridge schedules on
the clock (`timetable`, remembered across restarts in `state`) and objects written to buckets,
through the store or straight into their folders (`watcher`); it passes EventBridge's events as
input (`events`).
"""

from __future__ import annotations

from redstep.triggers.service import (
    Firing,
    NextFire,
    StartExecution,
    TriggerKind,
    Triggers,
    list_triggers,
    starting_on,
)
from redstep.triggers.state import STATE_FILE, ScheduleState, load_states, save_states
from redstep.triggers.timetable import Fire, Timetable

__all__ = [
    "STATE_FILE",
    "Fire",
    "Firing",
    "NextFire",
    "ScheduleState",
    "StartExecution",
    "Timetable",
    "TriggerKind",
    "Triggers",
    "list_triggers",
    "load_states",
    "save_states",
    "starting_on",
]

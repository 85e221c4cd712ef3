"""Which schedule fire times are due: a deterministic core, fed the time, doing no I/O.

For each schedule trigger the timetable keeps a mark: every fire time at or before it has been
handed out (to be started), or skipped on purpose. `due(now)` hands out the fire times between the
mark and `now` and moves the mark, so each fire time is handed out once:

- with `catch_up = true`, every fire time after the mark, in order (in batches, so one call never
  runs away with years of a `rate(1 minute)`: the caller asks again while it gets a full batch);
- with `catch_up = false`, only the latest fire time at or before `now`: the ones before it were
  missed (redstep was down, or the machine asleep), and are skipped.

What is remembered (`states`) is the last fire time *started*, which the caller reports with
`started(fire)` as it goes: a caller that stops part way through what it was handed (the service
is closing) leaves the rest unremembered, so the next run hands it out again.

Where the mark starts: for a trigger seen for the first time, at the moment the timetable is made
(the service's start); otherwise at the last fire time started, or when redstep first ran the
trigger if it never fired — moved up to the start without catch-up, so the times missed while
redstep was down are skipped and the next one to come fires.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import islice

from redstep.project import TriggerConfig
from redstep.schedules import RateSchedule, Schedule, parse_schedule
from redstep.triggers.state import ScheduleState

CATCH_UP_BATCH = 100
"""The most fire times one trigger gets from one `due` call when catching up."""


@dataclass(frozen=True, slots=True)
class Fire:
    """A fire time of a schedule trigger, due to start an execution."""

    trigger: str
    at: datetime


@dataclass(slots=True)
class _Entry:
    config: TriggerConfig
    schedule: Schedule
    state: ScheduleState
    mark: datetime


class Timetable:
    """The schedule triggers of a project and how far each has got."""

    def __init__(
        self,
        triggers: Mapping[str, TriggerConfig],
        states: Mapping[str, ScheduleState],
        started: datetime,
    ) -> None:
        """`states` as remembered from the last run; `started`: now, as this run begins."""
        started = started.astimezone(UTC)
        self._entries: dict[str, _Entry] = {}
        self.has_new_states = False
        """Whether some trigger's memory was made afresh here (and wants saving)."""
        for name, config in sorted(triggers.items()):
            if config.schedule is None:
                continue
            state = states.get(name)
            if state is None or state.expression != config.schedule:
                state = ScheduleState(config.schedule, since=started)
                self.has_new_states = True
            mark = state.last_fire or state.since
            if not config.catch_up:
                mark = max(mark, started)
            schedule = anchor(parse_schedule(config.schedule), state.since)
            self._entries[name] = _Entry(config, schedule, state, mark)

    def states(self) -> dict[str, ScheduleState]:
        """What to remember of each schedule trigger."""
        return {name: entry.state for name, entry in self._entries.items()}

    def schedule(self, trigger: str) -> Schedule:
        """The schedule of `trigger`, anchored as this timetable runs it."""
        return self._entries[trigger].schedule

    def due(self, now: datetime) -> list[Fire]:
        """The fire times to start now, in order of time; each is handed out only once (and
        remembered once reported `started`)."""
        fires: list[Fire] = []
        for name, entry in self._entries.items():
            fires.extend(Fire(name, at) for at in self._due_times(entry, now))
        fires.sort(key=lambda fire: (fire.at, fire.trigger))
        return fires

    def started(self, fire: Fire) -> None:
        """Remember `fire`, handed out by `due`, as started (or tried: a failed start is not
        retried, as EventBridge does not retry a target that refused an event)."""
        entry = self._entries[fire.trigger]
        last = entry.state.last_fire
        if last is None or fire.at > last:
            entry.state = replace(entry.state, last_fire=fire.at)

    def next_due(self) -> datetime | None:
        """The earliest fire time not handed out yet (it may be past): when to call `due` next."""
        times = [
            at for entry in self._entries.values() if (at := entry.schedule.next_after(entry.mark))
        ]
        return min(times, default=None)

    def next_fire(self, trigger: str, now: datetime) -> datetime | None:
        """The next time `trigger` fires after `now`, or None if it never will again."""
        return self._entries[trigger].schedule.next_after(now)

    def _due_times(self, entry: _Entry, now: datetime) -> list[datetime]:
        now = now.astimezone(UTC)
        if entry.config.catch_up:
            times = list(islice(entry.schedule.fires_between(entry.mark, now), CATCH_UP_BATCH))
            entry.mark = times[-1] if len(times) == CATCH_UP_BATCH else max(entry.mark, now)
            return times
        latest = entry.schedule.last_at_or_before(now)
        due = [latest] if latest is not None and latest > entry.mark else []
        entry.mark = max(entry.mark, now)
        return due


def anchor(schedule: Schedule, since: datetime) -> Schedule:
    """`schedule` as a trigger first run at `since` fires it: a rate counts from `since`'s
    minute (EventBridge keeps no finer time in schedules); a cron is unchanged."""
    if isinstance(schedule, RateSchedule):
        return schedule.anchored_at(since.astimezone(UTC).replace(second=0, microsecond=0))
    return schedule

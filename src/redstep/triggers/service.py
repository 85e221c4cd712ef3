"""`Triggers`: the service that starts executions on schedules and on objects written to buckets.

Schedules: `tick(now)` starts each fire time that has come (see `timetable` for which), one
execution per fire time, named after the trigger and the time (`nightly-20241127T020000Z`), so a
fire time started twice — by a crash between the start and the saving of the state — meets
StartExecution's idempotency instead of running twice. The state is saved after every batch of
starts. Starting holds no lock that a bucket write or a listing waits for, and a tick stops
between two starts once `close()` is called, saving how far it got: a catch-up of thousands of
fire times neither holds up PutObject nor shutdown, and carries on at the next run.
`run_in_background()` adds a thread that sleeps until the next fire time (or a `wake()`) and
ticks.

Buckets: an object written through the bucket store arrives by its subscription (`object_written`,
on the writing thread, with the action that wrote it); a file written straight into a bucket
folder arrives from the folder watcher (`file_written`), once it has held still (see `watcher`).
The store's own write is seen by the watcher too, so each write is known by its file (device,
inode, size and mtime; every store write makes a new file and renames it into place) and an event
for a file already handled is dropped. Either way, each write under a trigger's prefix starts one
execution per matching trigger, named `<trigger>-<time>-<event id>`. Folders passed as `ignore`
(the project's state folder) are never watched for files.

A trigger without `input` passes the EventBridge event as the execution's input (`events`). A
start that fails — the state machine was deleted, the input is too large — is logged and the
service carries on, as EventBridge does with a failed target.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from redstep.buckets import BucketError, Buckets, ObjectInfo, WriteReason
from redstep.buckets.keys import is_storable_key, key_parts
from redstep.project import TriggerConfig
from redstep.runtime.arns import Region
from redstep.runtime.clock import Clock
from redstep.triggers.events import (
    object_created_event,
    object_execution_name,
    schedule_execution_name,
    scheduled_event,
)
from redstep.triggers.state import load_states, save_states
from redstep.triggers.timetable import Fire, Timetable
from redstep.triggers.watcher import QUIET_SECONDS, FolderWatcher, WriteIdentity, file_identity

if TYPE_CHECKING:
    from redstep.runtime.engine import Engine

StartExecution = Callable[[str, str, str], object]
"""`start(state_machine_name, execution_name, input_json)`: how a trigger starts an execution."""
HoldSkips = Callable[[Callable[[], datetime | None], Callable[[], None]], Callable[[], None]]
"""`hold(horizon, on_skip) -> release`: keep a virtual clock that skips idle time from skipping
past `horizon()`, and be told when it skipped (`Executor.hold_skips`)."""
_HOLD_HERE = datetime.min.replace(tzinfo=UTC)
"""A horizon that holds a skipping clock where it is: a tick is starting executions."""

MAX_SLEEP_SECONDS = 60.0
"""The longest the schedule thread sleeps without looking at the clock (which may have jumped)."""
REMEMBERED_WRITES = 10_000
"""How many recent writes are remembered to recognise the watcher's echo of a put."""

logger = logging.getLogger(__name__)


class TriggerKind(StrEnum):
    """What starts a trigger's executions."""

    SCHEDULE = "schedule"
    BUCKET = "bucket"


class _Source(StrEnum):
    STORE = "store"
    FOLDER = "folder"


@dataclass(frozen=True, slots=True)
class Firing:
    """One start a trigger made, and why it failed if it did."""

    trigger: str
    state_machine: str
    execution_name: str
    input: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class NextFire:
    """A trigger as `triggers list` shows it."""

    trigger: str
    state_machine: str
    kind: TriggerKind
    source: str
    """The schedule expression, or `s3://bucket/prefix`."""
    next_fire: datetime | None
    """When it next fires (UTC); None for a bucket trigger or a schedule with no future fire."""


class Triggers:
    """Starts executions when schedules come due and when objects are written to buckets."""

    def __init__(
        self,
        triggers: Mapping[str, TriggerConfig],
        start: StartExecution,
        *,
        clock: Clock,
        state_file: Path,
        buckets: Buckets | None = None,
        region: Region | None = None,
        new_id: Callable[[], uuid.UUID] = uuid.uuid4,
        watch_folders: bool = True,
        ignore: Sequence[Path] = (),
        quiet_seconds: float = QUIET_SECONDS,
        hold_skips: HoldSkips | None = None,
    ) -> None:
        """`state_file` is `.redstep/triggers.json` in the project (see `state`); `new_id`
        draws the ids of object events; `watch_folders=False` hears only writes through
        `buckets`; files in the folders `ignore` names are never seen by the watcher, even inside
        a bucket folder (pass the project's state folder); `quiet_seconds` is how long a file in
        a bucket folder must stay unchanged to count as written; `hold_skips` keeps a virtual
        clock that skips idle time (the engine's) from skipping past a fire time, so that a
        schedule fires at its time even while another execution waits."""
        self._triggers = dict(triggers)
        self._start = start
        self._clock = clock
        self._state_file = state_file
        self._buckets = buckets
        self._region = region or Region()
        self._new_id = new_id
        self._watch_folders = watch_folders
        self._ignore = tuple(ignore)
        self._quiet_seconds = quiet_seconds
        self._hold_skips = hold_skips
        self._release_hold: Callable[[], None] | None = None
        # Three locks, so that no start is made holding one that another thread waits for:
        # the timetable and its file (held briefly), one tick at a time (held through a tick's
        # starts, taken by nothing else), and the memory of bucket writes.
        self._schedule_lock = threading.Lock()
        self._ticking = threading.Lock()
        self._writes_lock = threading.Lock()
        self._timetable = Timetable(self._triggers, load_states(state_file), clock.now())
        self._is_dirty = self._timetable.has_new_states
        self._bucket_triggers = tuple(
            config for _, config in sorted(self._triggers.items()) if config.bucket is not None
        )
        self._writes: OrderedDict[tuple[str, str], tuple[WriteIdentity | None, _Source]] = (
            OrderedDict()
        )
        self._sequence = 0
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._watcher: FolderWatcher | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def run_in_background(self) -> None:
        """Listen to the buckets, watch their folders and run the schedules, until `close`."""
        if self._thread is not None or self._unsubscribe is not None:
            raise RuntimeError("the triggers are running already")
        with self._schedule_lock:
            if self._is_dirty:
                self._save()
        if self._bucket_triggers and self._buckets is not None:
            self._unsubscribe = self._buckets.subscribe(self.object_written)
            if self._watch_folders:
                names = {config.bucket for config in self._bucket_triggers if config.bucket}
                folders = {name: self._buckets.folder(name) for name in sorted(names)}
                self._watcher = FolderWatcher(
                    folders, self.file_written, ignore=self._ignore, quiet=self._quiet_seconds
                )
                self._watcher.start()
        if any(config.schedule is not None for config in self._triggers.values()):
            if self._hold_skips is not None:
                self._release_hold = self._hold_skips(self._skip_horizon, self.wake)
            self._thread = threading.Thread(
                target=self._run_schedules, name="redstep-schedules", daemon=True
            )
            self._thread.start()

    def wake(self) -> None:
        """Have the schedule thread look at the clock now (after a virtual clock skipped)."""
        self._wake.set()

    def close(self) -> None:
        """Stop listening, watching and scheduling; return once the threads have ended (a tick
        under way stops after the start it is making)."""
        self._closing.set()
        self._wake.set()
        if self._release_hold is not None:
            self._release_hold()
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._watcher is not None:
            self._watcher.close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Triggers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- schedules ---------------------------------------------------------------------------

    def tick(self, now: datetime) -> list[Firing]:
        """Start every fire time due at `now` (each only once), saving how far each got after
        every batch; once `close` is called, stop between two starts (and save how far it got:
        the fire times not started stay due for the next run)."""
        firings: list[Firing] = []
        with self._ticking:
            while not self._closing.is_set():
                with self._schedule_lock:
                    fires = self._timetable.due(now)
                if not fires:
                    break
                for fire in fires:
                    if self._closing.is_set():
                        break
                    firings.append(self._fire_schedule(fire))
                    with self._schedule_lock:
                        self._timetable.started(fire)
                with self._schedule_lock:
                    self._save()
            with self._schedule_lock:
                if self._is_dirty:
                    self._save()
        return firings

    def next_fires(self, now: datetime) -> list[NextFire]:
        """Every trigger, and when each schedule next fires after `now`."""
        with self._schedule_lock:
            return _next_fires(self._triggers, self._timetable, now)

    def _skip_horizon(self) -> datetime | None:
        """How far a skipping clock may go: to the next fire time, and nowhere while one is
        being started (a fire time handed out is no longer the next one, but its execution is
        not started yet)."""
        if self._ticking.locked():
            return _HOLD_HERE
        with self._schedule_lock:
            return self._timetable.next_due()

    def _fire_schedule(self, fire: Fire) -> Firing:
        config = self._triggers[fire.trigger]
        if config.input is not None:
            text = config.input
        else:
            text = json.dumps(scheduled_event(self._region, fire.trigger, fire.at))
        return self._call_start(config, schedule_execution_name(fire.trigger, fire.at), text)

    def _run_schedules(self) -> None:
        while not self._closing.is_set():
            self._wake.clear()
            try:
                self.tick(self._clock.now())
            except Exception:
                logger.exception("running the schedule triggers failed")
            with self._schedule_lock:
                upcoming = self._timetable.next_due()
            delay = MAX_SLEEP_SECONDS
            if upcoming is not None:
                delay = min(delay, (upcoming - self._clock.now()).total_seconds())
            self._wake.wait(max(0.0, delay))

    def _save(self) -> None:
        try:
            save_states(self._state_file, self._timetable.states())
            self._is_dirty = False
        except OSError:
            # Kept in memory and saved with the next fire; only a crash before then loses it.
            self._is_dirty = True
            logger.exception("cannot save the trigger state to %s", self._state_file)

    # -- buckets -----------------------------------------------------------------------------

    def object_written(self, bucket: str, info: ObjectInfo, reason: WriteReason) -> None:
        """The bucket store's subscription: `info.key` was just written in `bucket` by `reason`
        (a put, a copy or a completed multipart upload)."""
        if self._closing.is_set() or not self._matching(bucket, info.key):
            return
        identity = self._identity(bucket, info.key)
        if self._is_new_write(bucket, info.key, identity, _Source.STORE):
            self._object_created(bucket, info.key, info.size, info.etag, reason)

    def file_written(self, bucket: str, path: Path) -> None:
        """The folder watcher's report: `path`, in `bucket`'s folder, was written and has held
        still since; it counts as a PutObject."""
        if self._closing.is_set() or self._buckets is None:
            return
        key = path.relative_to(self._buckets.folder(bucket)).as_posix()
        if not is_storable_key(key) or not self._matching(bucket, key):
            return
        identity = file_identity(path)
        if identity is None or not self._is_new_write(bucket, key, identity, _Source.FOLDER):
            return  # gone again, not a file, or the store's own put
        try:
            info = self._buckets.head(bucket, key)
        except BucketError:
            return  # deleted since, or a symlink out of the folder: not an object
        self._object_created(bucket, key, info.size, info.etag, WriteReason.PUT_OBJECT)

    def _object_created(
        self, bucket: str, key: str, size: int, etag: str, reason: WriteReason
    ) -> list[Firing]:
        now = self._clock.now()
        event_id = self._new_id()
        with self._writes_lock:
            self._sequence = max(self._sequence + 1, int(now.timestamp() * 1_000_000))
            sequencer = f"{self._sequence:016X}"
        event = object_created_event(
            self._region,
            event_id=event_id,
            bucket=bucket,
            key=key,
            size=size,
            etag=etag,
            sequencer=sequencer,
            time=now,
            reason=reason,
        )
        text = json.dumps(event)
        return [
            self._call_start(
                config,
                object_execution_name(config.name, now, event_id),
                config.input if config.input is not None else text,
            )
            for config in self._matching(bucket, key)
        ]

    def _matching(self, bucket: str, key: str) -> list[TriggerConfig]:
        return [
            config
            for config in self._bucket_triggers
            if config.bucket == bucket and key.startswith(config.prefix)
        ]

    def _identity(self, bucket: str, key: str) -> WriteIdentity | None:
        if self._buckets is None:
            return None
        try:
            path = self._buckets.folder(bucket).joinpath(*key_parts(key))
        except BucketError:
            return None
        return file_identity(path)

    def _is_new_write(
        self, bucket: str, key: str, identity: WriteIdentity | None, source: _Source
    ) -> bool:
        """Whether this write is not handled yet, remembering it as handled.

        A put through the store is always new, unless the watcher reported its file first; a
        file the watcher reports is new unless that very file was handled already.
        """
        with self._writes_lock:
            previous = self._writes.get((bucket, key))
            if source is _Source.STORE:
                is_new = identity is None or previous != (identity, _Source.FOLDER)
            else:
                is_new = previous is None or previous[0] != identity
            if identity is not None:
                self._writes[(bucket, key)] = (identity, source)
                self._writes.move_to_end((bucket, key))
                while len(self._writes) > REMEMBERED_WRITES:
                    self._writes.popitem(last=False)
            return is_new

    # -- starting ----------------------------------------------------------------------------

    def _call_start(self, config: TriggerConfig, name: str, text: str) -> Firing:
        try:
            self._start(config.state_machine, name, text)
        except Exception as error:
            # EventBridge logs a failed target and carries on; so does a trigger.
            logger.exception(
                "trigger %s could not start %s of state machine %s",
                config.name,
                name,
                config.state_machine,
            )
            return Firing(config.name, config.state_machine, name, text, str(error) or repr(error))
        return Firing(config.name, config.state_machine, name, text)


def starting_on(engine: Engine) -> StartExecution:
    """The `start` that runs a trigger's execution on `engine`: StartExecution by name."""

    def start(state_machine: str, name: str, text: str) -> object:
        arn = engine.region.state_machine_arn(state_machine)
        return engine.start_execution({"stateMachineArn": arn, "name": name, "input": text})

    return start


def list_triggers(
    triggers: Mapping[str, TriggerConfig], state_file: Path, now: datetime
) -> list[NextFire]:
    """Every trigger and its next fire after `now`, as a service started now would run them
    (rate schedules counted from the remembered first run, if any); writes nothing."""
    return _next_fires(triggers, Timetable(triggers, load_states(state_file), now), now)


def _next_fires(
    triggers: Mapping[str, TriggerConfig], timetable: Timetable, now: datetime
) -> list[NextFire]:
    return [_next_fire(config, timetable, now) for _, config in sorted(triggers.items())]


def _next_fire(config: TriggerConfig, timetable: Timetable, now: datetime) -> NextFire:
    if config.schedule is not None:
        return NextFire(
            trigger=config.name,
            state_machine=config.state_machine,
            kind=TriggerKind.SCHEDULE,
            source=config.schedule,
            next_fire=timetable.next_fire(config.name, now.astimezone(UTC)),
        )
    return NextFire(
        trigger=config.name,
        state_machine=config.state_machine,
        kind=TriggerKind.BUCKET,
        source=f"s3://{config.bucket}/{config.prefix}",
        next_fire=None,
    )

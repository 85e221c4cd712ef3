"""Schedule triggers on the virtual clock: when they fire, catch-up across restarts, names."""

from __future__ import annotations

import json
import logging
import re
import shutil
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from redstep.buckets import Buckets
from redstep.project import TriggerConfig
from redstep.runtime.arns import Region, check_name
from redstep.runtime.clock import VirtualClock
from redstep.triggers import STATE_FILE, TriggerKind, Triggers, load_states
from redstep.triggers.events import schedule_execution_name, scheduled_event

if TYPE_CHECKING:
    from conftest import Recorder  # the fixture's class, in this folder's conftest.py

WAIT_SECONDS = 10.0
NOW = datetime(2024, 11, 27, 1, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def schedule(
    name: str = "nightly",
    expression: str = "cron(0 2 * * ? *)",
    *,
    catch_up: bool = False,
    input: str | None = None,
) -> dict[str, TriggerConfig]:
    return {
        name: TriggerConfig(
            name=name,
            state_machine="sales_data_pipeline",
            input=input,
            schedule=expression,
            catch_up=catch_up,
        )
    }


def service(
    triggers: dict[str, TriggerConfig], recorder: Recorder, clock: VirtualClock, folder: Path
) -> Triggers:
    return Triggers(triggers, recorder, clock=clock, state_file=folder / STATE_FILE)


def test_a_schedule_fires_exactly_at_the_times_its_expression_names(
    tmp_path: Path, recorder: Recorder
) -> None:
    clock = VirtualClock(at("2024-11-29T08:00"))
    triggers = service(
        schedule(expression="cron(0/30 9-10 ? * MON-FRI *)"), recorder, clock, tmp_path
    )
    # Friday 29 November: 09:00, 09:30, 10:00, 10:30; then Monday 2 December.
    expected = [
        "2024-11-29T09:00",
        "2024-11-29T09:30",
        "2024-11-29T10:00",
        "2024-11-29T10:30",
        "2024-12-02T09:00",
    ]
    for moment in expected:
        clock.skip_to(at(moment) - timedelta(seconds=1))
        assert triggers.tick(clock.now()) == []
        clock.skip_to(at(moment))
        fired = triggers.tick(at(moment))
        assert [firing.execution_name for firing in fired] == [
            f"nightly-{at(moment):%Y%m%dT%H%M%SZ}"
        ]
        assert triggers.tick(at(moment)) == []  # a fire time starts once
    assert recorder.names == [f"nightly-{at(m):%Y%m%dT%H%M%SZ}" for m in expected]
    assert {start.state_machine for start in recorder.starts} == {"sales_data_pipeline"}


def test_without_input_a_schedule_passes_eventbridges_scheduled_event(
    tmp_path: Path, recorder: Recorder
) -> None:
    clock = VirtualClock(at("2024-11-27T01:00"))
    triggers = service(schedule(), recorder, clock, tmp_path)
    triggers.tick(at("2024-11-27T02:00:03"))
    (start,) = recorder.starts
    event = start.event
    assert list(event) == [
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    ]
    assert event == {
        "version": "0",
        "id": event["id"],
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2024-11-27T02:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/nightly"],
        "detail": {},
    }
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", event["id"]
    )


def test_a_constant_input_is_passed_as_written(tmp_path: Path, recorder: Recorder) -> None:
    clock = VirtualClock(at("2024-11-27T01:00"))
    constant = json.dumps({"run_date": "2024-01-01"})
    triggers = service(schedule(input=constant), recorder, clock, tmp_path)
    triggers.tick(at("2024-11-27T02:00"))
    assert [start.input for start in recorder.starts] == [constant]


def test_without_catch_up_the_times_missed_while_down_are_skipped(
    tmp_path: Path, recorder: Recorder
) -> None:
    clock = VirtualClock(at("2024-11-27T01:00"))
    with service(schedule(), recorder, clock, tmp_path) as first:
        first.tick(at("2024-11-27T02:00"))
    assert recorder.names == ["nightly-20241127T020000Z"]

    # Down from the 27th to midday on the 30th: the 28th, 29th and 30th at 02:00 are missed.
    clock.skip_to(at("2024-11-30T12:00"))
    with service(schedule(), recorder, clock, tmp_path) as second:
        assert second.tick(clock.now()) == []
        assert second.next_fires(clock.now())[0].next_fire == at("2024-12-01T02:00")
        clock.skip_to(at("2024-12-01T02:00"))
        second.tick(clock.now())
    assert recorder.names == ["nightly-20241127T020000Z", "nightly-20241201T020000Z"]


def test_with_catch_up_each_time_missed_while_down_fires_once(
    tmp_path: Path, recorder: Recorder
) -> None:
    triggers = schedule(catch_up=True)
    clock = VirtualClock(at("2024-11-27T01:00"))
    with service(triggers, recorder, clock, tmp_path) as first:
        first.tick(at("2024-11-27T02:00"))

    clock.skip_to(at("2024-11-30T12:00"))
    with service(triggers, recorder, clock, tmp_path) as second:
        fired = second.tick(clock.now())
        assert second.tick(clock.now()) == []
    assert [firing.execution_name for firing in fired] == [
        "nightly-20241128T020000Z",
        "nightly-20241129T020000Z",
        "nightly-20241130T020000Z",
    ]
    with service(triggers, recorder, clock, tmp_path) as third:  # and not again after a restart
        assert third.tick(clock.now()) == []
    assert len(recorder.starts) == 4


def test_catching_up_on_a_long_outage_starts_every_time_in_batches(
    tmp_path: Path, recorder: Recorder
) -> None:
    triggers = schedule("often", "rate(1 minute)", catch_up=True)
    clock = VirtualClock(at("2024-11-27T10:00:30"))
    with service(triggers, recorder, clock, tmp_path) as first:
        first.tick(at("2024-11-27T10:01"))
    clock.skip_to(at("2024-11-27T14:11"))
    with service(triggers, recorder, clock, tmp_path) as second:
        fired = second.tick(clock.now())
    assert len(fired) == 250  # 10:02 through 14:11, one a minute
    assert len(set(recorder.names)) == 251
    assert load_states(tmp_path / STATE_FILE)["often"].last_fire == at("2024-11-27T14:11")


def test_when_the_service_falls_behind_without_catch_up_only_the_latest_time_fires(
    tmp_path: Path, recorder: Recorder
) -> None:
    clock = VirtualClock(at("2024-11-27T01:00"))
    triggers = service(schedule(), recorder, clock, tmp_path)
    triggers.tick(at("2024-11-30T03:00"))  # the machine slept through three nights
    assert recorder.names == ["nightly-20241130T020000Z"]


def test_a_fire_time_started_again_after_a_crash_is_the_same_start(
    tmp_path: Path, recorder: Recorder
) -> None:
    """The state is saved after the start: a crash between the two repeats the start, with the
    same name and input, which StartExecution treats as the same execution."""
    triggers = schedule(catch_up=True)
    clock = VirtualClock(at("2024-11-27T01:00"))
    with service(triggers, recorder, clock, tmp_path) as first:
        first.tick(clock.now())
    saved = tmp_path / "before-the-fire.json"
    shutil.copy(tmp_path / STATE_FILE, saved)
    with service(triggers, recorder, clock, tmp_path) as second:
        second.tick(at("2024-11-27T02:00"))
    shutil.copy(saved, tmp_path / STATE_FILE)  # as if the crash came before the save
    with service(triggers, recorder, clock, tmp_path) as third:
        third.tick(at("2024-11-27T02:00"))
    first_start, repeated = recorder.starts
    assert first_start == repeated


def test_a_rate_counts_from_the_first_start_and_remembers_it(
    tmp_path: Path, recorder: Recorder
) -> None:
    triggers = schedule("hourly", "rate(1 hour)")
    clock = VirtualClock(at("2024-11-27T10:03:27"))
    with service(triggers, recorder, clock, tmp_path) as first:
        first.tick(clock.now())
        assert first.next_fires(clock.now())[0].next_fire == at("2024-11-27T11:03")
    clock.skip_to(at("2024-11-27T10:40"))
    with service(triggers, recorder, clock, tmp_path) as second:
        assert second.next_fires(clock.now())[0].next_fire == at("2024-11-27T11:03")
        clock.skip_to(at("2024-11-27T11:03"))
        second.tick(clock.now())
    assert recorder.names == ["hourly-20241127T110300Z"]
    assert load_states(tmp_path / STATE_FILE)["hourly"].since < at("2024-11-27T10:04")


def test_a_changed_expression_starts_afresh(tmp_path: Path, recorder: Recorder) -> None:
    clock = VirtualClock(at("2024-11-27T10:03"))
    with service(schedule("job", "rate(1 hour)"), recorder, clock, tmp_path) as first:
        first.tick(clock.now())
    clock.skip_to(at("2024-11-27T12:30"))
    with service(
        schedule("job", "rate(2 hours)", catch_up=True), recorder, clock, tmp_path
    ) as second:
        assert second.tick(clock.now()) == []  # nothing to catch up on for a new schedule
        assert second.next_fires(clock.now())[0].next_fire == at("2024-11-27T14:30")
    assert load_states(tmp_path / STATE_FILE)["job"].expression == "rate(2 hours)"


def test_the_state_file_is_written_atomically_and_only_when_the_service_runs(
    tmp_path: Path, recorder: Recorder
) -> None:
    clock = VirtualClock(at("2024-11-27T01:00"))
    triggers = service(schedule(), recorder, clock, tmp_path / ".redstep")
    assert not (tmp_path / ".redstep").exists()
    triggers.tick(at("2024-11-27T02:00"))
    assert [path.name for path in (tmp_path / ".redstep").iterdir()] == [STATE_FILE]
    state = load_states(tmp_path / ".redstep" / STATE_FILE)["nightly"]
    assert state.last_fire == at("2024-11-27T02:00")


def test_an_unreadable_state_file_is_reported_and_schedules_fire_from_now(
    tmp_path: Path, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / STATE_FILE).write_text("{not json", encoding="utf-8")
    clock = VirtualClock(at("2024-11-27T01:00"))
    with caplog.at_level(logging.WARNING):
        triggers = service(schedule(catch_up=True), recorder, clock, tmp_path)
    assert "is not a trigger state file" in caplog.text
    triggers.tick(at("2024-11-27T02:00"))
    assert recorder.names == ["nightly-20241127T020000Z"]


def test_a_failing_start_is_logged_and_the_service_carries_on(
    tmp_path: Path, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    clock = VirtualClock(at("2024-11-27T01:00"))
    triggers = service(schedule(), recorder, clock, tmp_path)
    recorder.fail_with = LookupError("State Machine Does Not Exist")
    with caplog.at_level(logging.ERROR):
        (failed,) = triggers.tick(at("2024-11-27T02:00"))
    assert failed.error == "State Machine Does Not Exist"
    assert "trigger nightly could not start nightly-20241127T020000Z" in caplog.text
    recorder.fail_with = None
    (fired,) = triggers.tick(at("2024-11-28T02:00"))
    assert fired.error is None
    assert recorder.names == ["nightly-20241128T020000Z"]


def test_a_cron_limited_to_past_years_never_fires(tmp_path: Path, recorder: Recorder) -> None:
    clock = VirtualClock(at("2024-11-27T01:00"))
    triggers = service(
        schedule("old", "cron(0 0 1 1 ? 2000-2010)", catch_up=True), recorder, clock, tmp_path
    )
    assert triggers.tick(at("2030-01-01T00:00")) == []
    (listed,) = triggers.next_fires(clock.now())
    assert listed.kind is TriggerKind.SCHEDULE
    assert listed.next_fire is None


@pytest.mark.parametrize(
    "trigger",
    ["nightly", "night run/π", "x" * 100, "a.b", "a_b"],
)
def test_execution_names_are_names_step_functions_accepts(trigger: str) -> None:
    name = schedule_execution_name(trigger, at("2024-11-27T02:00"))
    assert check_name(name) == name
    assert len(name) <= 80
    assert re.fullmatch(r"[A-Za-z0-9_-]+-20241127T020000Z", name)


def test_names_reduced_the_same_way_stay_distinct() -> None:
    moment = at("2024-11-27T02:00")
    assert schedule_execution_name("a.b", moment) != schedule_execution_name("a_b", moment)
    event = scheduled_event(Region(), "night run", moment)
    assert re.fullmatch(
        r"arn:aws:events:us-east-1:123456789012:rule/night_run_[0-9a-f]{8}", event["resources"][0]
    )


def test_the_background_thread_fires_when_woken_and_closes_promptly(
    tmp_path: Path, recorder: Recorder
) -> None:
    clock = VirtualClock(at("2024-11-27T01:00"))
    triggers = service(schedule(), recorder, clock, tmp_path)
    triggers.run_in_background()
    try:
        clock.skip_to(at("2024-11-27T02:00"))
        triggers.wake()
        recorder.wait_for(lambda starts: len(starts) == 1)
    finally:
        began = time.monotonic()
        triggers.close()
    assert time.monotonic() - began < 2.0  # it was asleep until tomorrow's 02:00
    assert recorder.names == ["nightly-20241127T020000Z"]
    assert not [t for t in threading.enumerate() if t.name == "redstep-schedules"]


# -- catching up without holding up the rest -----------------------------------------------------


def stamp(name: str) -> datetime:
    """The fire time an execution name carries."""
    return datetime.strptime(name.rsplit("-", 1)[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def two_days_down(
    tmp_path: Path, recorder: Recorder
) -> tuple[dict[str, TriggerConfig], VirtualClock]:
    """A `rate(1 minute)` with catch-up that last fired two days ago: 2,880 fire times are due."""
    triggers = schedule("often", "rate(1 minute)", catch_up=True)
    clock = VirtualClock(at("2024-11-25T10:00:30"))
    with service(triggers, recorder, clock, tmp_path) as first:
        first.tick(at("2024-11-25T10:01"))
    clock.skip_to(at("2024-11-27T10:01"))
    return triggers, clock


def test_closing_stops_a_catch_up_between_two_starts_and_the_next_run_resumes_after_them(
    tmp_path: Path, recorder: Recorder
) -> None:
    triggers, clock = two_days_down(tmp_path, recorder)

    def start(state_machine: str, name: str, text: str) -> object:
        answer = recorder(state_machine, name, text)
        if len(recorder.starts) == 1 + 150:  # half way through the second batch
            second.close()
        return answer

    second = Triggers(triggers, start, clock=clock, state_file=tmp_path / STATE_FILE)
    fired = second.tick(clock.now())
    assert len(fired) == 150
    last = stamp(fired[-1].execution_name)
    assert last == at("2024-11-25T12:31")
    assert load_states(tmp_path / STATE_FILE)["often"].last_fire == last

    with service(triggers, recorder, clock, tmp_path) as third:
        resumed = third.tick(clock.now())
    assert stamp(resumed[0].execution_name) == last + timedelta(minutes=1)
    assert len(recorder.names) == len(set(recorder.names)) == 1 + 2 * 24 * 60


def test_closing_during_a_catch_up_in_the_background_returns_promptly(
    tmp_path: Path, recorder: Recorder
) -> None:
    triggers, clock = two_days_down(tmp_path, recorder)

    def start(state_machine: str, name: str, text: str) -> object:
        answer = recorder(state_machine, name, text)
        if len(recorder.starts) == 1 + 150:
            closer.start()  # as SIGTERM would, from another thread
            close_asked.set()
        return answer

    background = Triggers(triggers, start, clock=clock, state_file=tmp_path / STATE_FILE)
    closer, close_asked = threading.Thread(target=background.close), threading.Event()
    background.run_in_background()
    assert close_asked.wait(WAIT_SECONDS)
    closer.join(WAIT_SECONDS)
    assert not closer.is_alive()
    started = recorder.names
    assert len(started) < 1 + 2 * 24 * 60
    assert load_states(tmp_path / STATE_FILE)["often"].last_fire == stamp(started[-1])


def test_a_put_and_a_listing_are_not_held_up_by_a_schedule_start(
    tmp_path: Path, recorder: Recorder
) -> None:
    buckets = Buckets({"landing": tmp_path / "landing"})
    triggers = {
        **schedule(),
        "on-upload": TriggerConfig(
            name="on-upload", state_machine="loader", input=None, bucket="landing", prefix=""
        ),
    }
    scheduled_start_begun, release = threading.Event(), threading.Event()

    def start(state_machine: str, name: str, text: str) -> object:
        if name.startswith("nightly-"):
            scheduled_start_begun.set()
            release.wait(WAIT_SECONDS)  # a slow start, e.g. one of thousands being caught up
        return recorder(state_machine, name, text)

    clock = VirtualClock(at("2024-11-27T01:00"))
    with Triggers(
        triggers,
        start,
        clock=clock,
        state_file=tmp_path / STATE_FILE,
        buckets=buckets,
        watch_folders=False,
    ) as background:
        background.run_in_background()
        clock.skip_to(at("2024-11-27T02:00"))
        background.wake()
        try:
            assert scheduled_start_begun.wait(WAIT_SECONDS)
            other = threading.Thread(
                target=lambda: (buckets.put("landing", "a.csv", b"x"), background.next_fires(NOW))
            )
            other.start()
            other.join(WAIT_SECONDS)
            assert not other.is_alive()
            assert [start.state_machine for start in recorder.starts] == ["loader"]
        finally:
            release.set()
        recorder.wait_for(lambda starts: len(starts) == 2)

"""Bucket triggers: one execution per object written under the prefix, by PutObject or by hand."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from redstep.buckets import Buckets, CompletedPart
from redstep.project import TriggerConfig
from redstep.runtime.arns import check_name
from redstep.runtime.clock import VirtualClock
from redstep.triggers import STATE_FILE, TriggerKind, Triggers
from redstep.triggers.events import object_execution_name

if TYPE_CHECKING:
    from conftest import Recorder, Start  # the fixture's classes, in this folder's conftest.py

BUCKET = "sales-data"
NOW = datetime(2024, 11, 27, 9, 30, tzinfo=UTC)
QUIET_SECONDS = 0.2
"""How long a dropped file must hold still here: short, so that the tests wait little."""


def upload_trigger(
    name: str = "on-upload", prefix: str = "incoming/", input: str | None = None
) -> TriggerConfig:
    return TriggerConfig(
        name=name, state_machine="sales_data_pipeline", input=input, bucket=BUCKET, prefix=prefix
    )


@pytest.fixture
def buckets(tmp_path: Path) -> Buckets:
    return Buckets({BUCKET: tmp_path / "data" / "sales"})


@pytest.fixture
def folder(buckets: Buckets) -> Path:
    return buckets.folder(BUCKET)


def make_service(
    tmp_path: Path,
    recorder: Recorder,
    buckets: Buckets,
    *triggers: TriggerConfig,
    watch_folders: bool = True,
    ignore: tuple[Path, ...] = (),
) -> Triggers:
    # Ids whose first eight hex digits (the part execution names carry) count up: 00000001, ...
    ids = (uuid.UUID(int=number << 96) for number in itertools.count(1))
    service = Triggers(
        {config.name: config for config in triggers or (upload_trigger(),)},
        recorder,
        clock=VirtualClock(NOW),
        state_file=tmp_path / ".redstep" / STATE_FILE,
        buckets=buckets,
        new_id=lambda: next(ids),
        watch_folders=watch_folders,
        ignore=ignore,
        quiet_seconds=QUIET_SECONDS,
    )
    service.run_in_background()
    return service


@pytest.fixture
def put_only(tmp_path: Path, recorder: Recorder, buckets: Buckets) -> Iterator[Triggers]:
    """The upload trigger, hearing puts through the store only."""
    with make_service(tmp_path, recorder, buckets, watch_folders=False) as service:
        yield service


@pytest.fixture
def watching(tmp_path: Path, recorder: Recorder, buckets: Buckets) -> Iterator[Triggers]:
    """The upload trigger, hearing puts through the store and watching the bucket's folder."""
    with make_service(tmp_path, recorder, buckets) as service:
        yield service


def drop(folder: Path, key: str, content: bytes) -> None:
    """Write a file into the bucket's folder as another program would, not through the store."""
    path = folder / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def keys_started(starts: list[Start]) -> list[str]:
    return [start.event["detail"]["object"]["key"] for start in starts]


def drop_sentinel_and_wait(
    folder: Path, recorder: Recorder, sentinel: str = "incoming/~sentinel"
) -> list[Start]:
    """Every start so far, once the watcher has handled every change made before this call.

    Files are reported in the order they last changed (by path among those changed together),
    so once the start for a file dropped now has come, the watcher has reported everything
    written before it.
    """
    drop(folder, sentinel, b"done")
    starts = recorder.wait_for(lambda starts: sentinel in keys_started(starts))
    return [start for start in starts if start.event["detail"]["object"]["key"] != sentinel]


def reasons_started(starts: list[Start]) -> list[tuple[str, str]]:
    return [
        (start.event["detail"]["object"]["key"], start.event["detail"]["reason"])
        for start in starts
    ]


@pytest.mark.usefixtures("put_only")
def test_each_put_under_the_prefix_starts_one_execution(
    recorder: Recorder, buckets: Buckets
) -> None:
    buckets.put(BUCKET, "incoming/2024-11-27.csv", b"id,amount\n1,10\n")
    buckets.put(BUCKET, "archive/2024-11-26.csv", b"id,amount\n")
    buckets.put(BUCKET, "incoming.csv", b"not under incoming/")
    buckets.put(BUCKET, "incoming/2024-11-27.csv", b"id,amount\n1,10\n2,20\n")
    assert keys_started(recorder.starts) == ["incoming/2024-11-27.csv"] * 2
    first, second = recorder.names
    assert re.fullmatch(r"on-upload-20241127T0930\d\dZ-00000001", first)
    assert re.fullmatch(r"on-upload-20241127T0930\d\dZ-00000002", second)


@pytest.mark.usefixtures("put_only")
def test_the_input_is_s3s_object_created_event(recorder: Recorder, buckets: Buckets) -> None:
    body = b"id,amount\n1,10\n"
    buckets.put(BUCKET, "incoming/2024-11-27.csv", body)
    (start,) = recorder.starts
    event = start.event
    assert start.state_machine == "sales_data_pipeline"
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
    assert re.fullmatch(r"2024-11-27T09:30:\d\dZ", event["time"])
    assert event == {
        "version": "0",
        "id": "00000001-0000-0000-0000-000000000000",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": event["time"],
        "region": "us-east-1",
        "resources": ["arn:aws:s3:::sales-data"],
        "detail": {
            "version": "0",
            "event-version": "1.0",
            "bucket": {"name": "sales-data"},
            "object": {
                "key": "incoming/2024-11-27.csv",
                "size": len(body),
                "etag": hashlib.md5(body).hexdigest(),
                "sequencer": event["detail"]["object"]["sequencer"],
            },
            "request-id": "0000000100000000",
            "requester": "123456789012",
            "source-ip-address": "127.0.0.1",
            "reason": "PutObject",
        },
    }
    assert re.fullmatch(r"[0-9A-F]{16}", event["detail"]["object"]["sequencer"])
    assert start.name.startswith("on-upload-20241127T0930")
    assert start.name.endswith("-00000001")


def test_sequencers_grow_with_each_write(
    tmp_path: Path, recorder: Recorder, buckets: Buckets
) -> None:
    with make_service(tmp_path, recorder, buckets, watch_folders=False):
        for number in range(3):
            buckets.put(BUCKET, "incoming/a.csv", str(number).encode())
    sequencers = [start.event["detail"]["object"]["sequencer"] for start in recorder.starts]
    assert sequencers == sorted(sequencers)
    assert len(set(sequencers)) == 3


def test_a_constant_input_and_every_matching_trigger(
    tmp_path: Path, recorder: Recorder, buckets: Buckets
) -> None:
    constant = json.dumps({"run_date": "2024-01-01"})
    with make_service(
        tmp_path,
        recorder,
        buckets,
        upload_trigger("any-upload", prefix=""),
        upload_trigger("csv-upload", prefix="incoming/", input=constant),
        watch_folders=False,
    ):
        buckets.put(BUCKET, "incoming/a.csv", b"x")
        buckets.put(BUCKET, "notes.txt", b"y")
    started = [(start.name.split("-2024")[0], start.input == constant) for start in recorder.starts]
    assert started == [("any-upload", False), ("csv-upload", True), ("any-upload", False)]


def test_a_put_through_the_store_is_not_started_again_by_the_watcher(
    watching: Triggers, recorder: Recorder, buckets: Buckets, folder: Path
) -> None:
    buckets.put(BUCKET, "incoming/a.csv", b"one")
    buckets.put(BUCKET, "incoming/b.csv", b"two")
    buckets.put(BUCKET, "incoming/a.csv", b"one again")
    starts = drop_sentinel_and_wait(folder, recorder)
    assert keys_started(starts) == ["incoming/a.csv", "incoming/b.csv", "incoming/a.csv"]


def test_a_file_dropped_into_the_folder_starts_one_execution(
    watching: Triggers, recorder: Recorder, folder: Path
) -> None:
    content = b"id,amount\n1,10\n"
    drop(folder, "incoming/dropped.csv", content)
    (start,) = recorder.wait_for(lambda starts: len(starts) == 1)
    detail = start.event["detail"]
    assert detail["object"]["key"] == "incoming/dropped.csv"
    assert detail["object"]["size"] == len(content)
    assert detail["object"]["etag"] == hashlib.md5(content).hexdigest()
    assert detail["reason"] == "PutObject"
    assert keys_started(drop_sentinel_and_wait(folder, recorder)) == ["incoming/dropped.csv"]


@pytest.mark.usefixtures("put_only")
def test_the_reason_names_the_action_that_wrote_the_object(
    recorder: Recorder, buckets: Buckets
) -> None:
    buckets.put(BUCKET, "incoming/put.csv", b"put")
    buckets.copy_object(BUCKET, "incoming/put.csv", BUCKET, "incoming/copied.csv")
    upload = buckets.create_multipart_upload(BUCKET, "incoming/uploaded.csv")
    part = buckets.upload_part(BUCKET, "incoming/uploaded.csv", upload.upload_id, 1, b"parts")
    buckets.complete_multipart_upload(
        BUCKET, "incoming/uploaded.csv", upload.upload_id, [CompletedPart(1, part.etag)]
    )
    assert reasons_started(recorder.starts) == [
        ("incoming/put.csv", "PutObject"),
        ("incoming/copied.csv", "CopyObject"),
        ("incoming/uploaded.csv", "CompleteMultipartUpload"),
    ]
    uploaded = recorder.starts[-1].event["detail"]["object"]
    assert uploaded["etag"].endswith("-1")  # the multipart ETag, unquoted
    assert uploaded["size"] == len(b"parts")


def test_a_copy_and_an_upload_are_not_started_again_by_the_watcher(
    watching: Triggers, recorder: Recorder, buckets: Buckets, folder: Path
) -> None:
    buckets.put(BUCKET, "archive/a.csv", b"not under the prefix")
    buckets.copy_object(BUCKET, "archive/a.csv", BUCKET, "incoming/copied.csv")
    upload = buckets.create_multipart_upload(BUCKET, "incoming/uploaded.csv")
    part = buckets.upload_part(BUCKET, "incoming/uploaded.csv", upload.upload_id, 1, b"parts")
    buckets.complete_multipart_upload(
        BUCKET, "incoming/uploaded.csv", upload.upload_id, [CompletedPart(1, part.etag)]
    )
    assert reasons_started(drop_sentinel_and_wait(folder, recorder)) == [
        ("incoming/copied.csv", "CopyObject"),
        ("incoming/uploaded.csv", "CompleteMultipartUpload"),
    ]


def test_a_file_written_in_chunks_starts_one_execution_for_the_whole_file(
    watching: Triggers, recorder: Recorder, folder: Path
) -> None:
    """The file is reported once it has held still (`test_watcher` paces the chunks slower than
    the watcher looks, on a time it moves by hand)."""
    (folder / "incoming").mkdir(parents=True)
    with (folder / "incoming" / "big.csv").open("wb") as handle:
        for _ in range(3):
            handle.write(b"x" * 100_000)
            handle.flush()
    (start,) = recorder.wait_for(lambda starts: len(starts) == 1)
    assert start.event["detail"]["object"]["size"] == 300_000
    assert start.event["detail"]["reason"] == "PutObject"
    assert keys_started(drop_sentinel_and_wait(folder, recorder)) == ["incoming/big.csv"]


def test_a_change_of_mode_starts_nothing(
    watching: Triggers, recorder: Recorder, buckets: Buckets, folder: Path
) -> None:
    buckets.put(BUCKET, "incoming/put.csv", b"through the store")
    drop(folder, "incoming/dropped.csv", b"by hand")
    assert keys_started(drop_sentinel_and_wait(folder, recorder, "incoming/~first")) == [
        "incoming/put.csv",
        "incoming/dropped.csv",
    ]
    os.chmod(folder / "incoming" / "put.csv", 0o600)
    os.chmod(folder / "incoming" / "dropped.csv", 0o600)
    assert keys_started(drop_sentinel_and_wait(folder, recorder)) == [
        "incoming/put.csv",
        "incoming/dropped.csv",
        "incoming/~first",
    ]


def test_the_state_folder_inside_a_bucket_folder_starts_nothing(
    tmp_path: Path, recorder: Recorder
) -> None:
    """A bucket over the whole project (`path = "."`) holds `.redstep/`, whose database every
    execution writes: watched, each write would start another execution, forever."""
    project = Path(os.path.realpath(tmp_path)) / "project"
    state = project / ".redstep"
    buckets = Buckets({BUCKET: project})
    with make_service(tmp_path, recorder, buckets, upload_trigger(prefix=""), ignore=(state,)):
        state.mkdir(parents=True)
        (state / "store.sqlite").write_bytes(b"a database")
        (state / "store.sqlite-wal").write_bytes(b"its log")
        (state / "uploads" / "1").mkdir(parents=True)
        (state / "uploads" / "1" / "00001.part").write_bytes(b"a part")
        assert drop_sentinel_and_wait(project, recorder) == []


def test_files_dropped_elsewhere_start_nothing(
    watching: Triggers, recorder: Recorder, folder: Path
) -> None:
    drop(folder, "archive/old.csv", b"x")
    drop(folder, "incoming-not-really.csv", b"x")
    (folder / "incoming" / "sub").mkdir(parents=True)  # a folder is not an object
    temporary = folder / "incoming" / ".redstep-upload-0123456789abcdef"
    temporary.write_bytes(b"an upload the store has not finished")
    temporary.unlink()
    assert drop_sentinel_and_wait(folder, recorder) == []


def test_a_file_renamed_into_place_starts_one_execution(
    watching: Triggers, recorder: Recorder, folder: Path, tmp_path: Path
) -> None:
    staged = tmp_path / "staged.csv"
    staged.write_bytes(b"written elsewhere, then moved in")
    (folder / "incoming").mkdir(parents=True, exist_ok=True)
    os.replace(staged, folder / "incoming" / "moved.csv")
    assert keys_started(drop_sentinel_and_wait(folder, recorder)) == ["incoming/moved.csv"]


def test_nothing_starts_after_close(tmp_path: Path, recorder: Recorder, buckets: Buckets) -> None:
    service = make_service(tmp_path, recorder, buckets)
    service.close()
    buckets.put(BUCKET, "incoming/late.csv", b"x")
    assert recorder.starts == []


def test_bucket_triggers_are_listed_with_their_bucket_and_prefix(put_only: Triggers) -> None:
    (listed,) = put_only.next_fires(NOW)
    assert listed.kind is TriggerKind.BUCKET
    assert listed.source == "s3://sales-data/incoming/"
    assert listed.next_fire is None


@pytest.mark.parametrize("trigger", ["on-upload", "on upload/π", "u" * 100])
def test_object_execution_names_are_names_step_functions_accepts(trigger: str) -> None:
    name = object_execution_name(trigger, NOW, uuid.UUID(int=0xABCDEF12 << 96))
    assert check_name(name) == name
    assert len(name) <= 80
    assert re.fullmatch(r"[A-Za-z0-9_-]+-20241127T093000Z-abcdef12", name)

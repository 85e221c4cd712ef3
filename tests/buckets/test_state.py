"""What the store remembers between runs: ETags (LRU-bounded), multipart ETags, bucket dates."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import pytest

import redstep.buckets.store as store_module
from redstep.buckets import Buckets, CompletedPart
from redstep.buckets.state import STATE_FILE, StoreState

MIB = 1024 * 1024


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "project" / "data"


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    return tmp_path / "project" / ".redstep" / "uploads"


def open_store(folder: Path, staging: Path) -> Buckets:
    """The store a project opens, as after each restart."""
    return Buckets({"data": folder, "later": folder.parent / "later"}, staging=staging)


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every file the store reads whole to compute an ETag, in order."""
    sizes: list[int] = []
    real = store_module.read_range

    def counting(source: BinaryIO, start: int, length: int) -> Iterator[bytes]:
        sizes.append(length)
        return real(source, start, length)

    monkeypatch.setattr(store_module, "read_range", counting)
    return sizes


def test_etags_outlive_the_store_so_a_listing_hashes_nothing_again(
    folder: Path, staging: Path, hashed: list[int]
) -> None:
    first = open_store(folder, staging)
    for number in range(5):
        first.put("data", f"put/{number}.csv", f"{number}\n".encode())
    assert hashed == []  # a put hashes as it writes
    (folder / "dropped").mkdir()
    (folder / "dropped" / "by-hand.csv").write_bytes(b"x" * MIB)
    assert len(first.list_objects("data").contents) == 6
    assert hashed == [MIB]  # the file dropped in by hand, once

    reopened = open_store(folder, staging)
    listing = reopened.list_objects("data")
    assert hashed == [MIB]  # a restart reads none of them again
    dropped = [info for info in listing.contents if info.key == "dropped/by-hand.csv"]
    assert dropped[0].etag == f'"{hashlib.md5(b"x" * MIB).hexdigest()}"'
    assert (staging.parent / STATE_FILE).is_file()
    assert not staging.exists() or list(staging.iterdir()) == []


def test_a_rewrite_outside_the_store_is_hashed_again(
    folder: Path, staging: Path, hashed: list[int]
) -> None:
    open_store(folder, staging).put("data", "k", b"before")
    (folder / "k").write_bytes(b"after!")
    assert open_store(folder, staging).head("data", "k").etag == (
        f'"{hashlib.md5(b"after!").hexdigest()}"'
    )
    assert hashed == [6]


def test_the_multipart_etag_outlives_the_store(folder: Path, staging: Path) -> None:
    store = open_store(folder, staging)
    upload = store.create_multipart_upload("data", "big")
    part = store.upload_part("data", "big", upload.upload_id, 1, b"only part")
    info = store.complete_multipart_upload(
        "data", "big", upload.upload_id, [CompletedPart(1, part.etag)]
    )
    assert info.etag.endswith('-1"')
    # A download that spans a restart matches its If-Match on the same ETag.
    reopened = open_store(folder, staging)
    assert reopened.head("data", "big").etag == info.etag
    assert reopened.list_objects("data").contents[0].etag == info.etag


def test_bucket_dates_do_not_move_when_objects_are_added(
    folder: Path, staging: Path, tmp_path: Path
) -> None:
    store = open_store(folder, staging)
    store.put("data", "first", b"1")
    os.utime(folder, (1_600_000_000, 1_600_000_000))  # a folder made long ago
    dates = {info.name: info.creation_date for info in store.list_buckets()}
    if not hasattr(os.stat(folder), "st_birthtime"):  # else the folder's real birth time
        assert dates["data"] == datetime(2020, 9, 13, 12, 26, 40, tzinfo=UTC)
    assert dates["later"].tzinfo is UTC  # no folder yet: first seen now

    store.put("data", "second", b"2")  # changes the folder's mtime
    store.put("later", "made", b"3")  # makes the folder
    assert {info.name: info.creation_date for info in store.list_buckets()} == dates
    assert {
        info.name: info.creation_date for info in open_store(folder, staging).list_buckets()
    } == (dates)


def test_the_state_forgets_the_least_recently_used_etags(tmp_path: Path) -> None:
    state = StoreState(lambda: tmp_path / STATE_FILE, etag_limit=4)

    def identity(inode: int) -> tuple[int, int, int, int, int]:
        return (1, inode, 10, 100, 200)

    for inode in range(1, 5):
        state.remember_etag(identity(inode), f'"{inode}"')
    assert state.etag(identity(1)) == '"1"'  # used: the oldest is now 2
    state.remember_etag(identity(5), '"5"')
    assert state.etag(identity(2)) is None
    assert [state.etag(identity(inode)) for inode in (1, 3, 4, 5)] == ['"1"', '"3"', '"4"', '"5"']
    # The same inode with other times is another file: not answered, then replaced.
    assert state.etag((1, 3, 10, 100, 201)) is None
    state.remember_etag((1, 3, 11, 101, 201), '"3 again"')
    assert state.etag(identity(3)) is None
    assert state.etag((1, 3, 11, 101, 201)) == '"3 again"'

    reopened = StoreState(lambda: tmp_path / STATE_FILE, etag_limit=4)
    assert reopened.etag(identity(5)) == '"5"'


def test_an_unreadable_state_is_started_afresh(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / STATE_FILE).write_bytes(b"not a database at all" * 100)
    state = StoreState(lambda: tmp_path / STATE_FILE)
    with caplog.at_level(logging.WARNING, logger="redstep.buckets.state"):
        state.remember_etag((1, 2, 3, 4, 5), '"x"')
    assert "starting it afresh" in caplog.text
    assert state.etag((1, 2, 3, 4, 5)) == '"x"'


def test_a_state_that_cannot_be_kept_only_costs_hashing(
    folder: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_bytes(b"a file where the state's folder would be")
    store = Buckets({"data": folder}, staging=blocked / "uploads")
    folder.mkdir(parents=True)
    (folder / "k").write_bytes(b"content")
    with caplog.at_level(logging.WARNING, logger="redstep.buckets.state"):
        info = store.head("data", "k")
    assert info.etag == f'"{hashlib.md5(b"content").hexdigest()}"'
    assert "not kept" in caplog.text
    assert store.list_buckets()[0].name == "data"

"""What the store remembers between runs: digests (LRU-bounded), multipart ETags, bucket dates;
and how it keeps them right when files change under it and the database fails."""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import pytest

import redstep.buckets.store as store_module
import redstep.buckets.streams as streams_module
from redstep.buckets import Buckets, CompletedPart
from redstep.buckets.files import EtagIdentity, etag_identity
from redstep.buckets.state import RETRY_SECONDS, STATE_FILE, Digests, StoreState

MIB = 1024 * 1024


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

    def etag(identity: EtagIdentity) -> str | None:
        remembered = state.digests(identity)
        return None if remembered is None else remembered.etag

    for inode in range(1, 5):
        state.remember(identity(inode), Digests(f'"{inode}"'))
    assert etag(identity(1)) == '"1"'  # used: the oldest is now 2
    state.remember(identity(5), Digests('"5"', crc32=5))
    assert etag(identity(2)) is None
    assert [etag(identity(inode)) for inode in (1, 3, 4, 5)] == ['"1"', '"3"', '"4"', '"5"']
    # The same inode with other times is another file: not answered, then replaced.
    assert etag((1, 3, 10, 100, 201)) is None
    state.remember((1, 3, 11, 101, 201), Digests('"3 again"'))
    assert etag(identity(3)) is None
    assert etag((1, 3, 11, 101, 201)) == '"3 again"'
    state.close()

    reopened = StoreState(lambda: tmp_path / STATE_FILE, etag_limit=4)
    assert reopened.digests(identity(5)) == Digests('"5"', crc32=5)
    reopened.close()


def test_a_reader_never_replaces_what_is_remembered_for_the_same_file(tmp_path: Path) -> None:
    state = StoreState(lambda: tmp_path / STATE_FILE)
    file, rewritten = (1, 2, 10, 100, 200), (1, 2, 12, 300, 400)
    state.remember(file, Digests('"multipart-2"', crc32=7))
    state.remember(file, Digests('"plain md5"', crc32=7), replace=False)
    assert state.digests(file) == Digests('"multipart-2"', crc32=7)
    # The inode rewritten since: a reader's digests of the new content do replace the row.
    state.remember(rewritten, Digests('"new md5"', crc32=8), replace=False)
    assert state.digests(rewritten) == Digests('"new md5"', crc32=8)
    assert state.digests(file) is None
    # A writer's always replace (it knows what it wrote).
    state.remember(rewritten, Digests('"new multipart-3"', crc32=8))
    assert state.digests(rewritten) == Digests('"new multipart-3"', crc32=8)
    state.close()


def test_an_unreadable_state_is_started_afresh(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / STATE_FILE).write_bytes(b"not a database at all" * 100)
    state = StoreState(lambda: tmp_path / STATE_FILE)
    with caplog.at_level(logging.WARNING, logger="redstep.buckets.state"):
        state.remember((1, 2, 3, 4, 5), Digests('"x"'))
    assert "starting it afresh" in caplog.text
    assert state.digests((1, 2, 3, 4, 5)) == Digests('"x"')
    state.close()


def test_a_corrupt_state_is_started_afresh(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / STATE_FILE
    state = StoreState(lambda: path)
    for inode in range(200):
        state.remember((1, inode, 3, 4, 5), Digests(f'"{inode}"'))
    state.close()
    with path.open("r+b") as database:  # the header stays a database's; the pages after do not
        database.seek(4096)
        database.write(os.urandom(path.stat().st_size - 4096))
    reopened = StoreState(lambda: path)
    with caplog.at_level(logging.WARNING, logger="redstep.buckets.state"):
        assert reopened.digests((1, 1, 3, 4, 5)) is None
        reopened.remember((1, 2, 3, 4, 5), Digests('"y"'))
    assert "starting it afresh" in caplog.text
    assert reopened.digests((1, 2, 3, 4, 5)) == Digests('"y"')
    reopened.close()


class FakeClock:
    """Monotonic seconds that move only when a test moves them."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def rollback_journal_database(path: Path, identity: EtagIdentity) -> None:
    """A state remembering `identity`, switched out of WAL so that a lock keeps readers out."""
    state = StoreState(lambda: path)
    state.remember(identity, Digests('"kept"'))
    state.close()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode = DELETE")
    connection.close()


def test_a_state_locked_when_first_opened_is_kept_and_opened_later(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, identity = tmp_path / STATE_FILE, (1, 2, 3, 4, 5)
    rollback_journal_database(path, identity)
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # another process writing: SQLITE_BUSY, not corruption
    clock, located = FakeClock(), []

    def locate() -> Path:
        located.append(path)
        return path

    state = StoreState(locate, busy_timeout=0, clock=clock)
    with caplog.at_level(logging.INFO, logger="redstep.buckets.state"):
        assert state.digests(identity) is None
        assert state.digests(identity) is None  # not tried again yet: no wait on every call
        clock.now += RETRY_SECONDS / 2
        state.remember((9, 9, 9, 9, 9), Digests('"lost"'))
        assert len(located) == 1
        locker.execute("ROLLBACK")
        locker.close()
        clock.now += RETRY_SECONDS
        assert state.digests(identity) == Digests('"kept"')  # nothing was deleted
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1  # logged once
    assert "afresh" not in caplog.text
    assert "kept again" in caplog.text
    state.close()


def test_a_failed_statement_does_not_turn_the_state_off(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / STATE_FILE
    state = StoreState(lambda: path, busy_timeout=0)
    state.remember((1, 1, 1, 1, 1), Digests('"first"'))
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
    with caplog.at_level(logging.WARNING, logger="redstep.buckets.state"):
        state.remember((2, 2, 2, 2, 2), Digests('"busy"'))
        state.remember((3, 3, 3, 3, 3), Digests('"busy"'))
    assert len(caplog.records) == 1
    assert state.digests((2, 2, 2, 2, 2)) is None
    locker.execute("ROLLBACK")
    locker.close()
    state.remember((2, 2, 2, 2, 2), Digests('"later"'))
    assert state.digests((2, 2, 2, 2, 2)) == Digests('"later"')
    assert state.digests((1, 1, 1, 1, 1)) == Digests('"first"')
    state.close()


def test_a_state_made_before_crc32s_were_kept_is_read_and_filled_in(tmp_path: Path) -> None:
    path = tmp_path / STATE_FILE
    with sqlite3.connect(path) as connection:
        connection.executescript(
            """
            CREATE TABLE etags (
                device INTEGER NOT NULL, inode INTEGER NOT NULL, size INTEGER NOT NULL,
                mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, etag TEXT NOT NULL,
                used INTEGER NOT NULL, PRIMARY KEY (device, inode)
            );
            INSERT INTO etags VALUES (1, 2, 3, 4, 5, '"old-2"', 7);
            """
        )
    connection.close()
    state = StoreState(lambda: path)
    assert state.digests((1, 2, 3, 4, 5)) == Digests('"old-2"')
    state.remember_crc32((1, 2, 3, 4, 5), 1234)
    state.remember_crc32((1, 2, 3, 4, 6), 99)  # another version of the file: nothing to fill in
    assert state.digests((1, 2, 3, 4, 5)) == Digests('"old-2"', crc32=1234)
    state.close()


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


# -- digests and files that change -----------------------------------------------------------


def test_a_read_racing_a_multipart_completion_keeps_the_multipart_etag(
    folder: Path, staging: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader opens the completed object before the completion has saved its ETag, and hashes
    it: whichever saves first, the multipart ETag is what is kept, for good."""
    store = open_store(folder, staging)
    content = b"made of one part"
    plain = f'"{hashlib.md5(content).hexdigest()}"'
    real_remember, real_read_range = StoreState.remember, store_module.read_range
    answered: list[str] = []

    def saved_while_a_reader_hashes(
        state: StoreState, identity: EtagIdentity, digests: Digests, *, replace: bool = True
    ) -> None:
        if not replace:  # the reader's
            real_remember(state, identity, digests, replace=replace)
            return

        def hashing(source: BinaryIO, start: int, length: int) -> Iterator[bytes]:
            yield from real_read_range(source, start, length)
            real_remember(state, identity, digests)  # the completion saves, mid-hash

        monkeypatch.setattr(store_module, "read_range", hashing)
        answered.append(store.head("data", "raced").etag)
        monkeypatch.setattr(store_module, "read_range", real_read_range)

    def completed() -> str:
        upload = store.create_multipart_upload("data", "raced")
        part = store.upload_part("data", "raced", upload.upload_id, 1, content)
        parts = [CompletedPart(1, part.etag)]
        return store.complete_multipart_upload("data", "raced", upload.upload_id, parts).etag

    with monkeypatch.context() as patched:
        patched.setattr(StoreState, "remember", saved_while_a_reader_hashes)
        etag = completed()
    assert answered == [etag] != [plain]  # the row that came meanwhile is the answer
    assert open_store(folder, staging).head("data", "raced").etag == etag

    def saved_after_a_reader(
        state: StoreState, identity: EtagIdentity, digests: Digests, *, replace: bool = True
    ) -> None:
        if replace and not answered:
            answered.append(store.head("data", "raced").etag)  # the reader saves first
        real_remember(state, identity, digests, replace=replace)

    answered.clear()
    with monkeypatch.context() as patched:
        patched.setattr(StoreState, "remember", saved_after_a_reader)
        etag = completed()
    assert answered == [plain]  # answered once, before the completion had said otherwise
    assert open_store(folder, staging).head("data", "raced").etag == etag


@pytest.mark.parametrize("change", ["appended", "rewritten in place"])
def test_digests_of_content_written_through_the_new_name_are_not_kept(
    folder: Path, staging: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """Another process writes into the object between the rename and the store's look at it:
    the same inode, other content. What was staged is not what the file holds."""
    store = open_store(folder, staging)
    real_replace = os.replace

    def replace_then_write(source: str | Path, target: str | Path) -> None:
        real_replace(source, target)
        if Path(target).name != "k":
            return
        if change == "appended":
            with open(target, "ab") as handle:
                handle.write(b" and more")
        else:
            mtime = os.stat(target).st_mtime_ns
            with open(target, "r+b") as handle:
                handle.write(b"CONTENT")
            os.utime(target, ns=(mtime, mtime + 1_000_000_000))

    monkeypatch.setattr(os, "replace", replace_then_write)
    store.put("data", "k", b"content")
    monkeypatch.undo()
    actual = (folder / "k").read_bytes()
    assert actual != b"content"
    assert store.head("data", "k").etag == f'"{hashlib.md5(actual).hexdigest()}"'


def test_digests_hashed_while_the_file_changed_are_not_kept(
    folder: Path, staging: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder.mkdir(parents=True)
    (folder / "growing.log").write_bytes(b"first line\n")
    before = etag_identity(os.stat(folder / "growing.log"))
    real = store_module.read_range

    def written_meanwhile(source: BinaryIO, start: int, length: int) -> Iterator[bytes]:
        yield from real(source, start, length)
        with open(folder / "growing.log", "ab") as handle:
            handle.write(b"second line\n")

    monkeypatch.setattr(store_module, "read_range", written_meanwhile)
    open_store(folder, staging).head("data", "growing.log")
    monkeypatch.undo()
    state = StoreState(lambda: staging.parent / STATE_FILE)
    assert state.digests(before) is None
    state.close()
    grown = (folder / "growing.log").read_bytes()
    assert open_store(folder, staging).head("data", "growing.log").etag == (
        f'"{hashlib.md5(grown).hexdigest()}"'
    )


# -- CRC32s ------------------------------------------------------------------------------------


@pytest.fixture
def crc_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every read an `ObjectReader` makes (a CRC32 computed from the file)."""
    sizes: list[int] = []
    real = streams_module.read_range

    def counting(source: BinaryIO, start: int, length: int) -> Iterator[bytes]:
        sizes.append(length)
        return real(source, start, length)

    monkeypatch.setattr(streams_module, "read_range", counting)
    return sizes


def test_the_crc32_is_kept_with_the_etag_so_checksum_mode_reads_nothing(
    folder: Path, staging: Path, hashed: list[int], crc_reads: list[int]
) -> None:
    store = open_store(folder, staging)
    store.put("data", "put.bin", b"put content")
    upload = store.create_multipart_upload("data", "parts.bin")
    first = store.upload_part("data", "parts.bin", upload.upload_id, 1, b"a" * (5 * MIB))
    last = store.upload_part("data", "parts.bin", upload.upload_id, 2, b"the end")
    store.complete_multipart_upload(
        "data",
        "parts.bin",
        upload.upload_id,
        [CompletedPart(1, first.etag), CompletedPart(2, last.etag)],
    )
    for reopened in (store, open_store(folder, staging)):
        with reopened.open_read("data", "put.bin") as reader:
            assert reader.known_crc32 == zlib.crc32(b"put content")
        with reopened.open_read("data", "parts.bin") as reader:
            assert reader.known_crc32 == zlib.crc32(b"a" * (5 * MIB) + b"the end")
            assert reader.crc32() == reader.known_crc32
    assert (hashed, crc_reads) == ([], [])


def test_a_file_put_by_hand_is_read_once_for_both_digests(
    folder: Path, staging: Path, hashed: list[int], crc_reads: list[int]
) -> None:
    folder.mkdir(parents=True)
    (folder / "by-hand.csv").write_bytes(b"x" * MIB)
    with open_store(folder, staging).open_read("data", "by-hand.csv") as reader:
        assert reader.known_crc32 == zlib.crc32(b"x" * MIB)
    with open_store(folder, staging).open_read("data", "by-hand.csv") as reader:
        assert reader.crc32() == zlib.crc32(b"x" * MIB)
    assert (hashed, crc_reads) == ([MIB], [])


def test_a_crc32_not_remembered_is_read_once_then_remembered(
    folder: Path, staging: Path, crc_reads: list[int]
) -> None:
    store = open_store(folder, staging)
    store.put("data", "k", b"remembered without its crc32")
    with sqlite3.connect(staging.parent / STATE_FILE) as connection:
        connection.execute("UPDATE etags SET crc32 = NULL")  # as a state from before CRC32s
    connection.close()
    with open_store(folder, staging).open_read("data", "k") as reader:
        assert reader.known_crc32 is None
        assert reader.crc32() == zlib.crc32(b"remembered without its crc32")
    with open_store(folder, staging).open_read("data", "k") as reader:
        assert reader.known_crc32 == zlib.crc32(b"remembered without its crc32")
    assert crc_reads == [len(b"remembered without its crc32")]

"""The folder watcher: a file is reported once it has held still, whole, and never from an
ignored folder. `Settling` runs on given times; the watcher on a time the test moves by hand."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from redstep.triggers.watcher import (
    QUIET_SECONDS,
    FolderWatcher,
    Settling,
    WriteIdentity,
    file_identity,
)

WAIT_SECONDS = 10.0
BUCKET = "landing"
CHUNK = 100_000


# -- settling, on given times --------------------------------------------------------------------


class Files:
    """What the files are, as `Settling` is told and looks them up."""

    def __init__(self) -> None:
        self.identities: dict[Path, WriteIdentity] = {}

    def write(self, path: Path, size: int, mtime: int) -> WriteIdentity:
        self.identities[path] = (1, hash(path) & 0xFFFF, size, mtime)
        return self.identities[path]

    def identity_of(self, path: Path) -> WriteIdentity | None:
        return self.identities.get(path)


def test_a_file_written_in_chunks_settles_once_whole() -> None:
    """Six chunks of 100 kB, a quarter of a second apart, as `cp` of a large file writes them."""
    settling, files, path = Settling(QUIET_SECONDS), Files(), Path("/b/big.csv")
    for chunk in range(1, 7):
        now = 0.25 * chunk
        settling.seen(path, files.write(path, CHUNK * chunk, mtime=chunk), now)
        assert settling.settled(now + 0.125, files.identity_of) == []
    assert settling.settled(1.5 + QUIET_SECONDS - 0.125, files.identity_of) == []
    assert settling.settled(1.5 + QUIET_SECONDS, files.identity_of) == [path]
    assert files.identities[path][2] == 6 * CHUNK
    assert settling.settled(100.0, files.identity_of) == []  # handed out once


def test_a_change_of_metadata_alone_is_not_a_new_write() -> None:
    settling, files, path = Settling(1.0), Files(), Path("/b/a.csv")
    settling.seen(path, files.write(path, 10, mtime=1), 0.0)
    settling.seen(path, files.identity_of(path), 0.9)  # chmod: the same identity, seen again
    assert settling.settled(1.0, files.identity_of) == [path]


def test_a_change_not_told_yet_is_found_when_the_file_is_looked_at_again() -> None:
    settling, files, path = Settling(1.0), Files(), Path("/b/a.csv")
    settling.seen(path, files.write(path, 10, mtime=1), 0.0)
    files.write(path, 20, mtime=2)  # written again; the watcher has not said so yet
    assert settling.settled(1.0, files.identity_of) == []
    assert settling.settled(1.9, files.identity_of) == []
    assert settling.settled(2.0, files.identity_of) == [path]


def test_a_file_gone_before_it_settles_is_never_handed_out() -> None:
    settling, files = Settling(1.0), Files()
    deleted, replaced = Path("/b/deleted.csv"), Path("/b/.tmp")
    settling.seen(deleted, files.write(deleted, 10, mtime=1), 0.0)
    settling.seen(deleted, None, 0.5)
    settling.seen(replaced, files.write(replaced, 10, mtime=1), 0.0)
    del files.identities[replaced]  # renamed away without a word
    assert settling.settled(5.0, files.identity_of) == []


def test_settled_files_come_in_the_order_they_were_last_changed() -> None:
    settling, files = Settling(1.0), Files()
    first, second, third = Path("/b/z"), Path("/b/a"), Path("/b/m")
    settling.seen(first, files.write(first, 1, mtime=1), 0.0)
    settling.seen(second, files.write(second, 1, mtime=1), 0.5)
    settling.seen(third, files.write(third, 1, mtime=1), 0.5)
    assert settling.settled(2.0, files.identity_of) == [first, second, third]


def test_the_identity_leaves_out_the_ctime(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"x")
    before = file_identity(path)
    os.chmod(path, 0o600)
    assert file_identity(path) == before
    assert file_identity(tmp_path) is None  # a folder is not a file
    assert file_identity(tmp_path / "missing") is None


# -- the watcher, on a time the test moves -------------------------------------------------------


class HandTime:
    """A monotonic time that moves only when the test says; it counts how often the watcher has
    looked at it (once per round of changes, or per idle poll), for the test to wait on."""

    def __init__(self) -> None:
        self._now = 0.0
        self._looks = 0
        self._changed = threading.Condition()

    def __call__(self) -> float:
        with self._changed:
            self._looks += 1
            self._changed.notify_all()
            return self._now

    def advance(self, seconds: float) -> None:
        with self._changed:
            self._now += seconds

    def wait_for_rounds(self, count: int = 3) -> None:
        """Return once the watcher has begun `count` more rounds: whatever was written before
        the call has then been seen (the first may have begun before the write, and the second
        may still be handling it)."""
        with self._changed:
            target = self._looks + count
            if not self._changed.wait_for(lambda: self._looks >= target, WAIT_SECONDS):
                pytest.fail("the watcher stopped looking")


class Reports:
    """The files reported, with their size when reported."""

    def __init__(self) -> None:
        self.files: list[tuple[str, str, int]] = []
        self._changed = threading.Condition()

    def __call__(self, bucket: str, path: Path) -> None:
        with self._changed:
            self.files.append((bucket, path.name, path.stat().st_size))
            self._changed.notify_all()

    def wait_for(self, count: int) -> list[tuple[str, str, int]]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.files) >= count, WAIT_SECONDS):
                pytest.fail(f"timed out; reported so far: {self.files}")
            return list(self.files)


@pytest.fixture
def hand_time() -> HandTime:
    return HandTime()


@pytest.fixture
def reports() -> Reports:
    return Reports()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return Path(os.path.realpath(tmp_path)) / "bucket"


@pytest.fixture
def watching(folder: Path, hand_time: HandTime, reports: Reports) -> Iterator[FolderWatcher]:
    """A watcher on the time the test moves, with a quiet of one second."""
    with running(FolderWatcher({BUCKET: folder}, reports, quiet=1.0, monotonic=hand_time)) as w:
        yield w


@pytest.fixture
def watching_briefly(folder: Path, reports: Reports) -> Iterator[FolderWatcher]:
    """A watcher on the real time, quiet after a moment, ignoring the folder `.redstep`."""
    ignored = [folder / ".redstep"]
    with running(FolderWatcher({BUCKET: folder}, reports, ignore=ignored, quiet=0.05)) as w:
        yield w


@contextlib.contextmanager
def running(watcher: FolderWatcher) -> Iterator[FolderWatcher]:
    watcher.start()
    try:
        yield watcher
    finally:
        watcher.close()


@pytest.mark.usefixtures("watching")
def test_a_file_written_slowly_is_reported_once_it_has_held_still(
    folder: Path, hand_time: HandTime, reports: Reports
) -> None:
    with (folder / "big.csv").open("wb") as handle:
        for _ in range(3):
            handle.write(b"x" * CHUNK)
            handle.flush()
            hand_time.wait_for_rounds()
            hand_time.advance(0.6)  # less than the quiet since this chunk; more since the first
    assert reports.files == []  # never a part of the file
    hand_time.advance(1.0)
    assert reports.wait_for(1) == [(BUCKET, "big.csv", 3 * CHUNK)]
    hand_time.wait_for_rounds()
    assert len(reports.files) == 1


@pytest.mark.usefixtures("watching_briefly")
def test_files_in_an_ignored_folder_are_never_reported(folder: Path, reports: Reports) -> None:
    """Files are reported in the order they last changed: once the sentinel written last has
    been, any file written before it would have been too."""
    state = folder / ".redstep"
    state.mkdir()
    (state / "store.sqlite").write_bytes(b"a database")
    (state / "store.sqlite-wal").write_bytes(b"its log")
    (state / "uploads" / "1").mkdir(parents=True)
    (state / "uploads" / "1" / "00001.part").write_bytes(b"a part")
    (folder / "sentinel").write_bytes(b"done")
    assert reports.wait_for(1) == [(BUCKET, "sentinel", 4)]


@pytest.mark.usefixtures("watching_briefly")
def test_files_in_a_folder_that_appears_whole_are_reported(
    folder: Path, tmp_path: Path, reports: Reports
) -> None:
    staged = tmp_path / "staged"
    (staged / "2024").mkdir(parents=True)
    (staged / "2024" / "a.csv").write_bytes(b"a")
    (staged / "b.csv").write_bytes(b"bb")
    os.replace(staged, folder / "moved")
    assert sorted(reports.wait_for(2)) == [(BUCKET, "a.csv", 1), (BUCKET, "b.csv", 2)]

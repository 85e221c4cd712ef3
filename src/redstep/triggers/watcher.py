"""Files written straight into bucket folders, reported from a thread of their own.

Another program may drop a file into a bucket's folder without going through the S3 endpoint;
on AWS that object would still raise an event. The folders are watched with watchfiles, which
uses the operating system's notifications (inotify, FSEvents, ReadDirectoryChangesW) rather than
rescanning: a poll would cost a walk of every folder per interval, however many objects they hold,
and could not tell two writes within one interval apart. (watchfiles falls back to polling by
itself where notifications are unavailable; WATCHFILES_FORCE_POLLING forces it, e.g. on a network
file system.)

A file counts as written once it has held still: `Settling` reports a file only when its identity
(device, inode, size, mtime) has stayed the same for `QUIET_SECONDS`, so a file copied in chunks
(`cp` of a large file writes for as long as it takes) is reported once, whole, and not once per
chunk. The ctime is left out of the identity, so a `chmod` (or any change of metadata alone) is
not a write. A program that writes with pauses longer than that should write elsewhere and rename
into place, as the bucket store does.

Folders named in `ignore` are never reported, even inside a bucket folder: a project passes its
state folder, whose database changes with every execution. redstep.toml refuses a bucket that
holds it; this also covers what that check cannot see, such as a symbolic link to the state
folder inside a bucket, which would otherwise start executions that write it again, forever.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from watchfiles import Change, watch

QUIET_SECONDS = 1.0
"""How long a file must stay unchanged before it counts as written."""
STEP_MS = 100
"""How long watchfiles waits for more changes before handing over the ones it has."""
POLL_MS = 250
"""How often the watching thread looks up when nothing changes: to report files that have
settled, and to notice it is closing. Also the longest it gathers a stream of changes."""
READY_TIMEOUT = 10.0

logger = logging.getLogger(__name__)

WriteIdentity = tuple[int, int, int, int]
"""Device, inode, size and mtime: what tells one write of a file from another."""

FileWritten = Callable[[str, Path], None]
"""Told `(bucket, path)` for each file written in a bucket's folder, once it has settled."""


def file_identity(path: Path) -> WriteIdentity | None:
    """The identity of the file at `path`; None for no file (or not a regular one)."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(status.st_mode):
        return None
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)


@dataclass(slots=True)
class _Pending:
    identity: WriteIdentity
    since: float
    """When the file was first seen with this identity."""


class Settling:
    """Files seen changing, each handed out once it has held still for `quiet` seconds.

    A deterministic core: it is told the time and what the files are, and does no I/O itself.
    """

    def __init__(self, quiet: float = QUIET_SECONDS) -> None:
        self._quiet = quiet
        self._pending: dict[Path, _Pending] = {}

    def seen(self, path: Path, identity: WriteIdentity | None, now: float) -> None:
        """`path` changed and is now `identity` (None: gone, or not a file) at `now`."""
        if identity is None:
            self._pending.pop(path, None)
            return
        pending = self._pending.get(path)
        if pending is None or pending.identity != identity:
            self._pending[path] = _Pending(identity, now)

    def settled(
        self, now: float, identity_of: Callable[[Path], WriteIdentity | None]
    ) -> list[Path]:
        """The files unchanged for `quiet` by `now`, in the order they were last changed; each is
        handed out once. `identity_of` looks at a file again before it is handed out, in case a
        change to it has not been told yet: one found changed waits again."""
        quiet = [
            (pending.since, path)
            for path, pending in self._pending.items()
            if now - pending.since >= self._quiet
        ]
        settled: list[Path] = []
        for _, path in sorted(quiet):
            identity = identity_of(path)
            if identity == self._pending[path].identity:
                settled.append(path)
                del self._pending[path]
            else:
                self.seen(path, identity, now)
        return settled


class FolderWatcher:
    """Watches bucket folders and reports each file written in them, once it has settled."""

    def __init__(
        self,
        folders: Mapping[str, Path],
        on_file: FileWritten,
        *,
        ignore: Iterable[Path] = (),
        quiet: float = QUIET_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`ignore`: folders whose files are never reported; `quiet`: how long a file must hold
        still; `monotonic`: the time the quiet is measured on (the real one, not the engine's:
        it is the writing program's pace that matters)."""
        # Longest first, so a bucket folder inside another's is matched before its parent.
        self._folders = sorted(folders.items(), key=lambda item: len(item[1].parts), reverse=True)
        # Real paths, as the bucket folders are, so that containment compares like with like.
        self._ignored = tuple(Path(os.path.realpath(folder)) for folder in ignore)
        self._on_file = on_file
        self._settling = Settling(quiet)
        self._monotonic = monotonic
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="redstep-bucket-watcher", daemon=True
        )

    def start(self) -> None:
        """Start watching; return once changes from now on will be seen."""
        for _, folder in self._folders:
            # watchfiles needs the folder to exist; an absent folder is an empty bucket anyway.
            folder.mkdir(parents=True, exist_ok=True)
        self._thread.start()
        if not self._ready.wait(READY_TIMEOUT):
            logger.warning("the bucket folders are not being watched yet")

    def close(self) -> None:
        """Stop watching (within about `POLL_MS`); files not settled yet are not reported."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        paths = [folder for _, folder in self._folders]
        try:
            # No watch_filter: a batch it emptied would not be yielded, and a stream of changes
            # to ignored files would then keep settled files from being reported.
            for changes in watch(
                *paths,
                watch_filter=None,
                debounce=POLL_MS,
                step=STEP_MS,
                stop_event=self._stop,
                rust_timeout=POLL_MS,
                yield_on_timeout=True,  # the first yield says the watch is set up
                raise_interrupt=False,
            ):
                self._ready.set()
                now = self._monotonic()
                for change, name in sorted(changes, key=lambda item: item[1]):
                    self._seen(change, Path(name), now)
                for path in self._settling.settled(now, file_identity):
                    self._report(path)
        except Exception:
            logger.exception("watching the bucket folders failed; files dropped in them are missed")
        finally:
            self._ready.set()

    def _seen(self, change: Change, path: Path, now: float) -> None:
        if self._is_ignored(path):
            return
        if change is Change.deleted:
            self._settling.seen(path, None, now)
        elif change is Change.added and path.is_dir() and not path.is_symlink():
            for file in _files_under(path):
                if not self._is_ignored(file):
                    self._settling.seen(file, file_identity(file), now)
        else:
            self._settling.seen(path, file_identity(path), now)

    def _is_ignored(self, path: Path) -> bool:
        return any(path.is_relative_to(folder) for folder in self._ignored)

    def _report(self, path: Path) -> None:
        """Tell `on_file` of `path` (a file, or what is left of one: it decides)."""
        for bucket, folder in self._folders:
            if path.is_relative_to(folder):
                try:
                    self._on_file(bucket, path)
                except Exception:
                    # One file's trouble must not stop the watching of every other.
                    logger.exception("handling %s failed", path)
                return


def _files_under(folder: Path) -> list[Path]:
    """The files in a folder that has just appeared.

    The watch on a new folder is set up only once its creation has been noticed, so files
    written into it before then (`mkdir -p a/b && cp x a/b/`, or a folder moved in whole) raise
    no event of their own: they are found by listing it. One that does raise an event too is
    seen twice, which changes nothing while it settles.
    """
    found: list[Path] = []
    for root, _, names in os.walk(folder):
        found.extend(Path(root, name) for name in sorted(names))
    return found

"""Files written straight into bucket folders, reported from a thread of their own.

Another program may drop a file into a bucket's folder without going through the S3 endpoint;
on AWS that object would still raise an event. The folders are watched with watchfiles, which
uses the operating system's notifications (inotify, FSEvents, ReadDirectoryChangesW) rather than
rescanning: a poll would cost a walk of every folder per interval, however many objects they hold,
arrive an interval late, and could not tell two writes within one interval apart. (watchfiles falls
back to polling by itself where notifications are unavailable; WATCHFILES_FORCE_POLLING forces
it, e.g. on a network file system.)

A file counts as written once no change to it has been seen for `STEP_MS`: watchfiles gathers the
changes of a burst into one batch, so a file written in several chunks in quick succession is
reported once. A program that writes slowly should write elsewhere and rename into place, as the
bucket store does.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from watchfiles import Change, watch

STEP_MS = 100
"""How long a folder must be quiet before the changes seen are reported."""
POLL_MS = 250
"""How often the watching thread looks up when nothing changes (to notice it is closing)."""
READY_TIMEOUT = 10.0

logger = logging.getLogger(__name__)

FileWritten = Callable[[str, Path], None]
"""Told `(bucket, path)` for each file added or changed in a bucket's folder."""


class FolderWatcher:
    """Watches bucket folders and reports each file written in them."""

    def __init__(self, folders: Mapping[str, Path], on_file: FileWritten) -> None:
        # Longest first, so a bucket folder inside another's is matched before its parent.
        self._folders = sorted(folders.items(), key=lambda item: len(item[1].parts), reverse=True)
        self._on_file = on_file
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
        """Stop watching (within about `POLL_MS`)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        paths = [folder for _, folder in self._folders]
        try:
            for changes in watch(
                *paths,
                watch_filter=None,
                step=STEP_MS,
                stop_event=self._stop,
                rust_timeout=POLL_MS,
                yield_on_timeout=True,  # the first yield says the watch is set up
                raise_interrupt=False,
            ):
                self._ready.set()
                for change, name in sorted(changes, key=lambda item: item[1]):
                    path = Path(name)
                    if change is Change.added and path.is_dir() and not path.is_symlink():
                        for file in _files_under(path):
                            self._report(file)
                    elif change is not Change.deleted:
                        self._report(path)
        except Exception:
            logger.exception("watching the bucket folders failed; files dropped in them are missed")
        finally:
            self._ready.set()

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
    reported twice, and `on_file` knows the file already.
    """
    found: list[Path] = []
    for root, _, names in os.walk(folder):
        found.extend(Path(root, name) for name in sorted(names))
    return found

"""Objects as files: how the store opens, writes, copies and finds them on the disk.

The store (`redstep.buckets.store`) decides what an operation means; this module holds the file
mechanics every operation shares:

- `StagedFile` is the one atomic writer: a temporary file in the folder its content is bound
  for (named with a prefix no key may use and no listing shows), synced and renamed over the
  target, so a reader sees the old file or the new one, never part of one. Objects, staged
  parts and the upload records all go through it. `check_beside` says, before anything is made,
  whether an object can be written at a path; `stage_beside` then makes its staged file, and the
  folders on the way, which a discard removes again;
- `sweep_abandoned` removes the staged files a crash left in a bucket folder, once they are
  older than `ABANDONED_SECONDS`;
- `open_object` opens a regular file without hanging on a FIFO, `read_error` says which S3 error
  a failed read is, and `is_inside` is the containment check behind every symlink refusal;
- `keys_under` walks a bucket folder for the keys under a prefix, following no symlinked folder;
- `read_range` streams a range out of an open file (reads, copies, ETags), `concatenate` staged
  parts into a completed object (answering its CRC32 as it goes);
- `etag_identity` is what a remembered ETag is kept against (`redstep.buckets.state`).
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import secrets
import stat
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from redstep.buckets.errors import AccessDenied, BucketError, NoSuchKey
from redstep.buckets.keys import TEMPORARY_PREFIX, is_storable_key, key_parts
from redstep.buckets.objects import ObjectInfo, guess_content_type

logger = logging.getLogger(__name__)

READ_CHUNK = 1 << 20
"""How much of a file one read takes when streaming it."""

ABANDONED_SECONDS = 3600.0
"""How long a staged file in a bucket folder must have gone unwritten for `sweep_abandoned` to
remove it. A write in progress touches its file as each batch of content comes, and the HTTP
layer gives up on a body that stops coming within seconds (RequestTimeout), so a staged file
untouched for an hour is one no process is writing any more."""

EtagIdentity = tuple[int, int, int, int, int]
"""Device, inode, size, mtime and ctime: what any rewrite of a file changes."""


@dataclass(frozen=True, slots=True)
class Placed:
    """Where `StagedFile.commit` left its file: its status, and whether it is still the target."""

    status: os.stat_result
    is_current: bool
    """Whether `status` is the target's after the rename (no other write replaced it since)."""


class StagedFile:
    """A temporary file in `folder`, renamed over its target by `commit`, or removed by `discard`.

    The name is `prefix` and random hex, made with O_EXCL, so two writers never share one. Used as
    a context manager, it is discarded on leaving unless committed. Its methods block on the
    disk and raise `OSError` as it comes: each caller knows which S3 error that is.

    `made` is the topmost folder made for this file (by `stage_beside`), if any: a discard
    removes the folders from `folder` up to it again while they are empty, since S3 has no
    empty folders and a refused put must leave nothing behind.
    """

    def __init__(self, folder: Path, prefix: str, *, made: Path | None = None) -> None:
        self._made = made
        while True:
            self.path = folder / f"{prefix}{secrets.token_hex(8)}"
            try:
                descriptor = os.open(
                    self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666
                )
                break
            except FileExistsError:
                continue
        self.handle: BinaryIO = os.fdopen(descriptor, "wb")
        self._synced: os.stat_result | None = None
        self._is_done = False

    def write(self, data: bytes | memoryview) -> None:
        """Append `data`."""
        self.handle.write(data)

    def sync(self) -> os.stat_result:
        """Flush the file to the disk and close it; its status. Doing so again does nothing."""
        if self._synced is None:
            try:
                self.handle.flush()
                os.fsync(self.handle.fileno())
                self._synced = os.fstat(self.handle.fileno())
                self.handle.close()
            except BaseException:
                self.discard()
                raise
        return self._synced

    def commit(self, target: Path) -> Placed:
        """Sync the file and rename it over `target`; the file as it is there now."""
        written = self.sync()
        try:
            os.replace(self.path, target)
        except BaseException:
            self.discard()
            raise
        self._is_done = True
        # The rename may change the ctime: answer the file as it is now, unless another write has
        # already replaced it, or written into it through its new name (same inode, other
        # content): then the digests of what was staged are no longer the target's.
        try:
            current = os.stat(target, follow_symlinks=False)
        except OSError:
            return Placed(written, is_current=False)
        if _content_identity(current) != _content_identity(written):
            return Placed(written, is_current=False)
        return Placed(current, is_current=True)

    def discard(self) -> None:
        """Close and remove the file, unless it was committed; never raises `OSError`."""
        if self._is_done:
            return
        self._is_done = True
        with contextlib.suppress(OSError):
            self.handle.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        if self._made is not None:
            remove_empty_folders(self._made.parent, self.path.parent)

    def __enter__(self) -> StagedFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.discard()


def write_atomically(path: Path, content: bytes, *, prefix: str) -> Placed:
    """Write `content` to `path` through a `StagedFile` named with `prefix`."""
    with StagedFile(path.parent, prefix) as staged:
        staged.write(content)
        return staged.commit(path)


def check_beside(root: Path, path: Path) -> None:
    """Raise what writing the object at `path` would, as far as the disk says now; make nothing.

    AccessDenied if a symlink on the way leads out of `root`; NotADirectoryError if a file is
    where a folder on the way would be, IsADirectoryError if a folder is where the object would
    be: said before the content is read rather than once it has all come.
    """
    if not is_inside(root, path.parent) or not is_inside(root, path):
        raise AccessDenied()
    with contextlib.suppress(FileNotFoundError):  # a folder to be made is no conflict
        if not stat.S_ISDIR(os.stat(path.parent).st_mode):  # NotADirectoryError further up
            raise NotADirectoryError(errno.ENOTDIR, "an object is where a folder would be")
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        if stat.S_ISDIR(os.stat(path, follow_symlinks=False).st_mode):
            raise IsADirectoryError(errno.EISDIR, "a folder is where the object would be")


def stage_beside(root: Path, path: Path) -> StagedFile:
    """A staged file for the object at `path`, made in its folder (and the folders it needs,
    which its discard removes again); raises as `check_beside` does."""
    # Check before creating anything, so a symlinked folder cannot get folders made outside.
    check_beside(root, path)
    made: Path | None = None
    folder = path.parent
    while folder != root and folder.is_relative_to(root) and not os.path.lexists(folder):
        made, folder = folder, folder.parent
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if not is_inside(root, path.parent):
            raise AccessDenied()  # swapped for a symlink while we made it
        return StagedFile(path.parent, TEMPORARY_PREFIX, made=made)
    except BaseException:
        if made is not None:
            remove_empty_folders(made.parent, path.parent)
        raise


def sweep_abandoned(root: Path, *, older_than: float = ABANDONED_SECONDS) -> int:
    """Remove the staged files under `root` last written over `older_than` seconds ago, and the
    folders that leaves empty; how many files went. Symlinked folders are not followed.

    A process that stops mid-write (a crash, a kill) leaves its staged file where the object
    would have been; nothing else would ever remove it, and no listing shows it.
    """
    cutoff = time.time() - older_than
    removed = 0
    emptied: list[Path] = []
    for folder, _, names in os.walk(root):  # follows no symlinked folder
        for name in names:
            if not name.startswith(TEMPORARY_PREFIX):
                continue
            path = Path(folder, name)
            try:
                status = os.stat(path, follow_symlinks=False)
                if not stat.S_ISREG(status.st_mode) or status.st_mtime >= cutoff:
                    continue
                os.unlink(path)
            except OSError:
                continue  # gone meanwhile, or not ours to remove
            removed += 1
            emptied.append(path.parent)
    for folder_path in sorted(set(emptied), reverse=True):
        remove_empty_folders(root, folder_path)
    if removed:
        logger.info("removed %d abandoned staged file(s) under %s", removed, root)
    return removed


def read_range(source: BinaryIO, start: int, length: int) -> Iterator[bytes]:
    """The `length` bytes of `source` from `start`, in chunks of at most `READ_CHUNK`.

    Reads with `pread`, so the position of `source` is neither used nor moved; a file that
    shrinks meanwhile raises `OSError` (EIO) rather than end the content early.
    """
    descriptor = source.fileno()
    offset = start
    end = start + length
    while offset < end:
        chunk = os.pread(descriptor, min(READ_CHUNK, end - offset), offset)
        if not chunk:
            raise OSError(errno.EIO, "the file shrank while it was read")
        offset += len(chunk)
        yield chunk


def concatenate(paths: Sequence[Path], target: BinaryIO) -> int:
    """Write the files at `paths`, one after the other, into `target`; the CRC32 of it all."""
    crc32 = 0
    for path in paths:
        with open(path, "rb") as part:
            while chunk := part.read(READ_CHUNK):
                crc32 = zlib.crc32(chunk, crc32)
                target.write(chunk)
    return crc32


def open_object(path: Path) -> io.BufferedReader:
    """The regular file at `path`, open for reading; FileNotFoundError if it is anything else."""
    # O_NONBLOCK: opening a FIFO someone left in the folder must not hang the reader.
    handle = os.fdopen(os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK), "rb")
    try:
        is_file = stat.S_ISREG(os.fstat(handle.fileno()).st_mode)
    except BaseException:
        handle.close()
        raise
    if not is_file:
        handle.close()
        raise FileNotFoundError(f"{path} is not a file")
    return handle


def read_error(error: OSError, bucket: str, key: str) -> BucketError:
    """The S3 error a failed read of `key` is."""
    # Whatever keeps a read from finding a file means, to S3's caller, that there is no object.
    if isinstance(error, FileNotFoundError | NotADirectoryError | IsADirectoryError):
        return NoSuchKey(key)
    if error.errno == errno.ENAMETOOLONG:
        return NoSuchKey(key)  # a name no file can have: no object has it either
    return BucketError.from_os_error(error, bucket=bucket, key=key)


def keys_under(root: Path, prefix: str) -> list[str]:
    """Every storable key starting with `prefix`, sorted, from the folders it can be in."""
    folder_part, _, _ = prefix.rpartition("/")
    start, start_key = root, ""
    if folder_part:
        try:
            start = root.joinpath(*key_parts(folder_part))
        except BucketError:
            return []  # no key can start with a prefix whose folders no key can have
        if os.path.realpath(start) != str(start):
            return []  # a symlinked folder on the way: listings follow none (see the docstring)
        start_key = folder_part + "/"
    keys: list[str] = []
    pending = [(start, start_key)]
    while pending:
        folder, key_prefix = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as error:
            logger.warning("listing skips %s: %s", folder, error.strerror or error)
            continue
        for entry in entries:
            if entry.name.startswith(TEMPORARY_PREFIX):
                continue
            key = key_prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                child = key + "/"
                if child.startswith(prefix) or prefix.startswith(child):
                    pending.append((Path(entry.path), child))
            elif key.startswith(prefix) and is_storable_key(key) and _is_object_entry(root, entry):
                keys.append(key)
    keys.sort()
    return keys


def _is_object_entry(root: Path, entry: os.DirEntry[str]) -> bool:
    try:
        if not entry.is_file():  # follows a symlink
            return False
    except OSError:
        return False
    return not entry.is_symlink() or is_inside(root, Path(entry.path))


def is_inside(root: Path, path: Path) -> bool:
    """Whether `path`, with every symlink in it resolved, is `root` or under it."""
    real = os.path.realpath(path)
    return real == str(root) or real.startswith(str(root) + os.sep)


def remove_empty_folders(root: Path, folder: Path) -> None:
    """Remove `folder` and its parents while they are empty, up to (not including) `root`."""
    while folder != root and folder.is_relative_to(root):
        try:
            folder.rmdir()
        except OSError:
            return  # not empty (or already gone, or not ours to remove): stop climbing
        folder = folder.parent


def etag_identity(status: os.stat_result) -> EtagIdentity:
    """What identifies a file's content, as far as a remembered ETag is concerned."""
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)


def _content_identity(status: os.stat_result) -> tuple[int, int, int, int]:
    # Without the ctime, which a rename may change while the content stays.
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)


def object_info(key: str, size: int, etag: str, status: os.stat_result) -> ObjectInfo:
    """The info reads answer for an object file (its type guessed from the key)."""
    return ObjectInfo(
        key=key,
        size=size,
        etag=etag,
        last_modified=utc_seconds(status.st_mtime_ns),
        content_type=guess_content_type(key),
    )


def utc_seconds(nanoseconds: int) -> datetime:
    """A file time as S3 answers it: UTC, to the second."""
    return datetime.fromtimestamp(nanoseconds // 1_000_000_000, UTC)

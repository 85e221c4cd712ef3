"""Objects as files: how the store opens, writes, copies and finds them on the disk.

The store (`redstep.buckets.store`) decides what an operation means; this module holds the file
mechanics every operation shares:

- `write_atomically` writes a temporary file beside the target (named `keys.TEMPORARY_PREFIX` +
  random, which no key may use and no listing shows), syncs it and renames it over the target,
  so a reader sees the old object or the new one, never part of one;
- `open_object` opens a regular file without hanging on a FIFO, `read_error` says which S3 error
  a failed read is, and `is_inside` is the containment check behind every symlink refusal;
- `keys_under` walks a bucket folder for the keys under a prefix, following no symlinked folder;
- `copy_range` and `concatenate` stream content between files for copies and completions.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import logging
import os
import secrets
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from redstep.buckets.errors import BucketError, NoSuchKey
from redstep.buckets.keys import TEMPORARY_PREFIX, is_storable_key, key_parts
from redstep.buckets.objects import ObjectInfo, guess_content_type

logger = logging.getLogger(__name__)

READ_CHUNK = 1 << 20
"""How much of a file one read takes when streaming it."""

FileIdentity = tuple[int, int, int, int, int]
"""Device, inode, size, mtime and ctime: what any rewrite of a file changes."""

Fill = Callable[[BinaryIO], str]
"""Writes an object's content to the open file and answers its ETag."""


@dataclass(frozen=True, slots=True)
class Written:
    """What `write_atomically` wrote: the file's status, its ETag, and whether it is still there."""

    status: os.stat_result
    etag: str
    is_current: bool
    """Whether `status` is the target's after the rename (no other write replaced it since)."""


def write_atomically(path: Path, fill: Fill) -> Written:
    """Write what `fill` writes to a temporary file beside `path`, sync it, rename it over it."""
    while True:
        temporary = path.parent / f"{TEMPORARY_PREFIX}{secrets.token_hex(8)}"
        try:
            descriptor = os.open(
                temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666
            )
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(descriptor, "wb") as handle:
            etag = fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
            written = os.fstat(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    # The rename may change the ctime: answer the file as it is now, unless another write has
    # already replaced it.
    try:
        current = os.stat(path, follow_symlinks=False)
    except OSError:
        return Written(written, etag, is_current=False)
    if (current.st_dev, current.st_ino) != (written.st_dev, written.st_ino):
        return Written(written, etag, is_current=False)
    return Written(current, etag, is_current=True)


def copy_range(source: BinaryIO, target: BinaryIO, start: int, length: int) -> str:
    """Copy `length` bytes of `source` from `start` into `target`; their MD5, hex."""
    digest = hashlib.md5(usedforsecurity=False)
    source.seek(start)
    while length > 0:
        chunk = source.read(min(READ_CHUNK, length))
        if not chunk:
            raise OSError(errno.EIO, "the source file shrank while it was copied")
        target.write(chunk)
        digest.update(chunk)
        length -= len(chunk)
    return digest.hexdigest()


def concatenate(paths: Sequence[Path]) -> Callable[[BinaryIO], None]:
    """A writer of the files at `paths`, one after the other, into its target."""

    def write(target: BinaryIO) -> None:
        for path in paths:
            with open(path, "rb") as part:
                while chunk := part.read(READ_CHUNK):
                    target.write(chunk)

    return write


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


def file_identity(status: os.stat_result) -> FileIdentity:
    """What identifies a file's content, as far as the ETag cache is concerned."""
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)


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

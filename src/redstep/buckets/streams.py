"""Content streamed into and out of the store, a chunk at a time, never whole in memory.

`ContentWriter` is a write in progress: a put, a copy or a staged part. Its content goes to a
`files.StagedFile` in the folder it is bound for and is hashed (MD5, the ETag) as it comes;
`commit` puts it in place and answers what the store answers for it, `discard` leaves nothing
behind. A caller that checks the content as it streams (the HTTP layer verifies the digests a
request states) calls `commit` only once every check has passed, so a refused write leaves no
object and no temporary file.

`ObjectReader` is an object opened for reading: its metadata and its content come from one open
file, so a rename over the object meanwhile changes neither. Ranges are read with `pread`, in
chunks of `files.READ_CHUNK`, and the CRC32 that GetObject's checksum mode answers is computed
in one streaming pass.

Every method blocks on the disk: call them from a worker thread when on an event loop. Both are
context managers that release their file on leaving.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from redstep.buckets.errors import BucketError
from redstep.buckets.files import StagedFile, read_range
from redstep.buckets.objects import ObjectInfo

T = TypeVar("T")

Finish = Callable[[StagedFile, str], T]
"""Puts a complete staged file in place, given its MD5 (hex); answers what the write made."""
ErrorMap = Callable[[OSError], BucketError]
"""The S3 error a file-system failure of this write or read is."""


class ContentWriter(Generic[T]):
    """Content being written to a staged file, MD5-hashed as it comes, until committed."""

    def __init__(self, staged: StagedFile, finish: Finish[T], error: ErrorMap) -> None:
        self._staged = staged
        self._finish = finish
        self._error = error
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._size = 0
        self._is_open = True

    @property
    def size(self) -> int:
        """How many bytes have been written."""
        return self._size

    def md5_digest(self) -> bytes:
        """The MD5 of what has been written so far."""
        return self._md5.digest()

    def write(self, data: bytes | memoryview) -> None:
        """Append `data`; the write is discarded if that fails."""
        if not self._is_open:
            raise ValueError("the write is committed or discarded")
        self._md5.update(data)
        self._size += len(data)
        try:
            self._staged.write(data)
        except OSError as error:
            self.discard()
            raise self._error(error) from error

    def commit(self) -> T:
        """Put the content in place; what the store answers for it. Discarded if that fails."""
        if not self._is_open:
            raise ValueError("the write is committed or discarded")
        self._is_open = False
        try:
            return self._finish(self._staged, self._md5.hexdigest())
        except OSError as error:
            raise self._error(error) from error
        finally:
            self._staged.discard()  # nothing to do once the file is in place

    def discard(self) -> None:
        """Give the write up: its staged file is removed. Doing so again does nothing."""
        self._is_open = False
        self._staged.discard()

    def __enter__(self) -> ContentWriter[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.discard()


class ObjectReader:
    """An open object: `info` describes the very file its content is read from."""

    def __init__(self, handle: io.BufferedReader, info: ObjectInfo, error: ErrorMap) -> None:
        self._handle = handle
        self.info = info
        self._error = error

    def chunks(self, first: int, last: int) -> Iterator[bytes]:
        """The content from byte `first` to byte `last`, inclusive (or to its end), in chunks."""
        last = min(last, self.info.size - 1)
        try:
            yield from read_range(self._handle, first, max(0, last - first + 1))
        except OSError as error:
            raise self._error(error) from error

    def read(self, first: int, last: int) -> bytes:
        """The content from byte `first` to byte `last`, inclusive, at once (for small ranges)."""
        return b"".join(self.chunks(first, last))

    def crc32(self) -> int:
        """The CRC32 of the whole object, read in one streaming pass."""
        checksum = 0
        for chunk in self.chunks(0, self.info.size - 1):
            checksum = zlib.crc32(chunk, checksum)
        return checksum

    def close(self) -> None:
        """Release the file."""
        self._handle.close()

    def __enter__(self) -> ObjectReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

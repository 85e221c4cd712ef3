"""Content streamed into and out of the store, a chunk at a time, never whole in memory.

`ContentWriter` is a write in progress: a put, a copy or a staged part. Its content goes to a
`files.StagedFile` in the folder it is bound for, made when the first bytes come (so a write
refused or abandoned before any content makes nothing on the disk), and is hashed as it comes:
MD5 (the ETag) and CRC32 (what GetObject's checksum mode answers, remembered with the ETag).
`commit` puts it in place and answers what the store answers for it, `discard` leaves nothing
behind. A caller that checks the content as it streams (the HTTP layer verifies the digests a
request states) calls `commit` only once every check has passed, so a refused write leaves no
object and no temporary file.

`ObjectReader` is an object opened for reading: its metadata and its content come from one open
file, so a rename over the object meanwhile changes neither. Ranges are read with `pread`, in
chunks of `files.READ_CHUNK`. Its CRC32 is the one the store remembered for the file when there
is one; otherwise it is computed in one streaming pass, and handed back to be remembered.

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

Stage = Callable[[], StagedFile]
"""Makes the staged file a write's content goes to (raising a `BucketError` or an `OSError`)."""
Finish = Callable[[StagedFile, str, int], T]
"""Puts a complete staged file in place, given its MD5 (hex) and CRC32; answers what it made."""
ErrorMap = Callable[[OSError], BucketError]
"""The S3 error a file-system failure of this write or read is."""


class ContentWriter(Generic[T]):
    """Content being written to a staged file, hashed as it comes, until committed.

    The staged file is made by `stage` when the first bytes are written (or at the commit of an
    empty write), not before: what a write refuses before its content comes leaves nothing.
    """

    def __init__(self, stage: Stage, finish: Finish[T], error: ErrorMap) -> None:
        self._stage = stage
        self._staged: StagedFile | None = None
        self._finish = finish
        self._error = error
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._crc32 = 0
        self._size = 0
        self._is_open = True

    @property
    def size(self) -> int:
        """How many bytes have been written."""
        return self._size

    @property
    def is_staged(self) -> bool:
        """Whether the staged file has been made (the first bytes have come)."""
        return self._staged is not None

    def md5_digest(self) -> bytes:
        """The MD5 of what has been written so far."""
        return self._md5.digest()

    def crc32(self) -> int:
        """The CRC32 of what has been written so far."""
        return self._crc32

    def write(self, data: bytes | memoryview) -> None:
        """Append `data`; the write is discarded if that fails."""
        if not self._is_open:
            raise ValueError("the write is committed or discarded")
        staged = self._staged_file()
        self._md5.update(data)
        self._crc32 = zlib.crc32(data, self._crc32)
        self._size += len(data)
        try:
            staged.write(data)
        except OSError as error:
            self.discard()
            raise self._error(error) from error

    def commit(self) -> T:
        """Put the content in place; what the store answers for it. Discarded if that fails."""
        if not self._is_open:
            raise ValueError("the write is committed or discarded")
        staged = self._staged_file()
        self._is_open = False
        try:
            return self._finish(staged, self._md5.hexdigest(), self._crc32)
        except OSError as error:
            raise self._error(error) from error
        finally:
            staged.discard()  # nothing to do once the file is in place

    def discard(self) -> None:
        """Give the write up: its staged file is removed. Doing so again does nothing."""
        self._is_open = False
        if self._staged is not None:
            self._staged.discard()

    def _staged_file(self) -> StagedFile:
        if self._staged is None:
            try:
                self._staged = self._stage()
            except BaseException as error:
                self._is_open = False  # nothing was made: nothing to discard
                if isinstance(error, OSError):
                    raise self._error(error) from error
                raise
        return self._staged

    def __enter__(self) -> ContentWriter[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.discard()


class ObjectReader:
    """An open object: `info` describes the very file its content is read from.

    `crc32` is the file's CRC32 when the store knows it already; a CRC32 computed here is handed
    to `remember_crc32`, if given, so that the next reader of the same file knows it.
    """

    def __init__(
        self,
        handle: io.BufferedReader,
        info: ObjectInfo,
        error: ErrorMap,
        *,
        crc32: int | None = None,
        remember_crc32: Callable[[int], None] | None = None,
    ) -> None:
        self._handle = handle
        self.info = info
        self._error = error
        self._crc32 = crc32
        self._remember_crc32 = remember_crc32

    @property
    def known_crc32(self) -> int | None:
        """The CRC32 of the whole object if it is known without reading the file; else None."""
        return self._crc32

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
        """The CRC32 of the whole object: the one known, or else read in one streaming pass."""
        if self._crc32 is None:
            checksum = 0
            for chunk in self.chunks(0, self.info.size - 1):
                checksum = zlib.crc32(chunk, checksum)
            self._crc32 = checksum
            if self._remember_crc32 is not None:
                self._remember_crc32(checksum)
        return self._crc32

    def close(self) -> None:
        """Release the file."""
        self._handle.close()

    def __enter__(self) -> ObjectReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

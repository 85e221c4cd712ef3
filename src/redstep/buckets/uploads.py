"""Multipart uploads: their parts, staged outside every bucket folder until the upload completes.

`Staging` owns one folder, apart from the bucket folders, so a part is never listed as an object:

    <staging>/<upload id>/upload.json         the upload: bucket, key, when it began, content type
    <staging>/<upload id>/<nnnnn>.<md5 hex>   part nnnnn, named after its MD5 (its ETag)
    <staging>/<upload id>/.part-<random>      a part being written
    <staging>/.removed-<random>/              an upload being removed (completed or aborted)

A part file is written under a temporary name, synced, and renamed to its number and MD5, so its
content and its ETag appear together, and a crash leaves either the old part or the new one.
The rename, completion and removal of one upload take that upload's lock, so a part re-uploaded
during a completion waits for it (and then finds the upload gone: NoSuchUpload, as on S3). A lock
is taken only for an id of the right form, and is forgotten once no thread holds or waits for it,
so ids a client makes up cannot grow the table of locks.
Removing an upload renames its folder out of the way first, so a part written meanwhile cannot
land in it; the staging folder is read back after a restart, so uploads outlive the server.

Upload ids are 48 hex digits: the start time in nanoseconds, then random ones. They sort as the
uploads began, which is ListMultipartUploads's order within a key, and an id that is not of that
form is NoSuchUpload before it comes near a path or a lock.

Part numbers are checked once, where a request enters the store (`Buckets`'s public methods, with
`check_part_number`); `Staging` takes the number it is given.

The pure rules are here too: `select_parts` checks a CompleteMultipartUpload's part list as S3
does, `multipart_etag` is S3's ETag for the object it makes, `select_uploads` pages a listing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from redstep.buckets.errors import (
    BucketError,
    EntityTooSmall,
    InternalError,
    InvalidArgument,
    InvalidPart,
    InvalidPartOrder,
    NoSuchUpload,
)
from redstep.buckets.files import StagedFile, utc_seconds, write_atomically
from redstep.buckets.objects import ObjectInfo
from redstep.buckets.streams import ContentWriter

logger = logging.getLogger(__name__)

MIN_PART_SIZE = 5 * 1024**2
"""The smallest a part other than the last may be (S3's limit)."""
MAX_PART_NUMBER = 10_000
"""Part numbers run from 1 to this (S3's limit)."""
MAX_LISTED = 1000
"""The most parts a ListParts page, or uploads a ListMultipartUploads page, holds."""

_UPLOAD_FILE = "upload.json"
_UPLOADS_FOLDER = "uploads"
_PART_TEMPORARY = ".part-"
_REMOVED = ".removed-"
_UPLOAD_ID = re.compile(r"[0-9a-f]{48}")
_PART_NAME = re.compile(r"(\d{5})\.([0-9a-f]{32})")
_COMPLETIONS_REMEMBERED = 1000


@dataclass(frozen=True, slots=True)
class MultipartUpload:
    """An upload begun by CreateMultipartUpload and neither completed nor aborted yet."""

    upload_id: str
    bucket: str
    key: str
    initiated: datetime
    content_type: str | None
    """The type CreateMultipartUpload named, reported by the completion that makes the object."""


@dataclass(frozen=True, slots=True)
class Part:
    """A staged part, as UploadPart answers it and ListParts lists it."""

    part_number: int
    etag: str
    """The MD5 of the part's content, hex, in double quotes."""
    size: int
    last_modified: datetime


@dataclass(frozen=True, slots=True)
class CompletedPart:
    """A part as CompleteMultipartUpload names it: its number and the ETag UploadPart answered."""

    part_number: int
    etag: str


@dataclass(frozen=True, slots=True)
class PartListing:
    """One page of ListParts."""

    upload: MultipartUpload
    parts: tuple[Part, ...]
    part_number_marker: int
    next_part_number_marker: int | None
    max_parts: int
    is_truncated: bool


@dataclass(frozen=True, slots=True)
class UploadListing:
    """One page of ListMultipartUploads: uploads sorted by key, then by when they began."""

    bucket: str
    prefix: str
    key_marker: str
    upload_id_marker: str
    uploads: tuple[MultipartUpload, ...]
    max_uploads: int
    is_truncated: bool
    next_key_marker: str | None
    next_upload_id_marker: str | None


# -- the rules ---------------------------------------------------------------------------------


def check_part_number(part_number: int) -> None:
    """Raise S3's InvalidArgument unless `part_number` is between 1 and 10,000."""
    if not 1 <= part_number <= MAX_PART_NUMBER:
        raise InvalidArgument(
            f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive",
            argument_name="partNumber",
            argument_value=str(part_number),
        )


def select_parts(
    upload_id: str, requested: Sequence[CompletedPart], staged: Mapping[int, Part]
) -> tuple[Part, ...]:
    """The staged parts a completion names, in order, once S3's rules hold for them.

    Parts must be named in strictly ascending order (InvalidPartOrder), each with the ETag its
    upload answered, quoted or not (InvalidPart), and every one but the last must be at least
    5 MiB (EntityTooSmall). Staged parts the list leaves out are not part of the object.
    """
    chosen: list[Part] = []
    for wanted in requested:
        if chosen and wanted.part_number <= chosen[-1].part_number:
            raise InvalidPartOrder(upload_id)
        part = staged.get(wanted.part_number)
        if part is None or _bare_etag(wanted.etag) != _bare_etag(part.etag):
            raise InvalidPart(upload_id, wanted.part_number, wanted.etag)
        chosen.append(part)
    for part in chosen[:-1]:
        if part.size < MIN_PART_SIZE:
            raise EntityTooSmall(
                size=part.size, minimum=MIN_PART_SIZE, part_number=part.part_number, etag=part.etag
            )
    return tuple(chosen)


def multipart_etag(parts: Sequence[Part]) -> str:
    """S3's ETag for an object completed from `parts`: the MD5 of their MD5s, then `-<count>`."""
    digests = b"".join(bytes.fromhex(_bare_etag(part.etag)) for part in parts)
    return f'"{hashlib.md5(digests, usedforsecurity=False).hexdigest()}-{len(parts)}"'


def select_uploads(
    uploads: Sequence[MultipartUpload],
    *,
    prefix: str,
    key_marker: str,
    upload_id_marker: str,
    max_uploads: int,
) -> tuple[tuple[MultipartUpload, ...], bool]:
    """The page of `uploads` (sorted by key, then id) after the markers; and whether more follow.

    As on S3, the upload-id marker counts only with a key marker: it lets the page resume inside
    that key's uploads, where without it the page starts after all of them.
    """
    limit = min(max_uploads, MAX_LISTED)
    page: list[MultipartUpload] = []
    for upload in uploads:
        if not upload.key.startswith(prefix):
            continue
        if key_marker and (upload.key, upload.upload_id) <= (
            key_marker,
            upload_id_marker if upload_id_marker else "\uffff",
        ):
            continue
        if len(page) >= limit:
            return tuple(page), limit > 0
        page.append(upload)
    return tuple(page), False


def _bare_etag(etag: str) -> str:
    return etag.strip().strip('"').lower()


# -- the staging folder ------------------------------------------------------------------------


class _UploadLock:
    """One upload's lock, in a form a `WeakValueDictionary` can hold (a bare lock cannot be)."""

    __slots__ = ("__weakref__", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()


class Staging:
    """The folder multipart uploads are staged in.

    Without one, a private temporary folder is made when first needed, `uploads/` inside a folder
    of its own (so what the store keeps beside its staging folder is private too), and removed
    with the store. Every method blocks on the disk; call them from a worker thread when on an
    event loop.
    """

    def __init__(self, folder: Path | None) -> None:
        self._folder = folder
        self._is_swept = False
        self._guard = threading.Lock()
        self._locks: weakref.WeakValueDictionary[str, _UploadLock] = weakref.WeakValueDictionary()
        self._completed: OrderedDict[str, tuple[str, str, ObjectInfo]] = OrderedDict()

    def folder(self) -> Path:
        """The staging folder, made when first needed (and swept of what a crash left)."""
        with self._guard:
            if self._folder is None:
                # Removed when the store is collected, or at exit: the parts are the store's own.
                private = Path(tempfile.mkdtemp(prefix="redstep-buckets-"))
                weakref.finalize(self, shutil.rmtree, private, ignore_errors=True)
                self._folder = private / _UPLOADS_FOLDER
            folder = self._folder
            is_swept, self._is_swept = self._is_swept, True
        folder.mkdir(parents=True, exist_ok=True)
        if not is_swept:
            for name in os.listdir(folder):
                if name.startswith(_REMOVED):
                    shutil.rmtree(folder / name, ignore_errors=True)
        return folder

    @contextlib.contextmanager
    def locked(self, upload_id: str) -> Iterator[None]:
        """Hold the upload's lock: its parts do not change, and it is not removed, meanwhile.

        NoSuchUpload for an id that is not of the form this module makes, before any lock.
        """
        if not _UPLOAD_ID.fullmatch(upload_id):
            raise NoSuchUpload(upload_id)
        with self._guard:
            held = self._locks.get(upload_id)
            if held is None:
                held = self._locks[upload_id] = _UploadLock()
        # `held` keeps the entry alive until this thread is done with it.
        with held.lock:
            yield

    # -- uploads -------------------------------------------------------------------------------

    def begin(self, bucket: str, key: str, content_type: str | None) -> MultipartUpload:
        """Stage a new upload of `key` into `bucket`."""
        root = self.folder()
        while True:
            started = time.time_ns()
            upload_id = f"{started:016x}{secrets.token_hex(16)}"
            try:
                (root / upload_id).mkdir()
                break
            except FileExistsError:
                continue
            except OSError as error:
                raise _staging_error(error) from error
        upload = MultipartUpload(
            upload_id=upload_id,
            bucket=bucket,
            key=key,
            initiated=datetime.fromtimestamp(started // 1_000_000 / 1000, UTC),
            content_type=content_type,
        )
        record = {
            "bucket": bucket,
            "key": key,
            "initiated": upload.initiated.isoformat(),
            "content_type": content_type,
        }
        try:
            write_atomically(
                root / upload_id / _UPLOAD_FILE,
                json.dumps(record).encode("utf-8"),
                prefix=_PART_TEMPORARY,
            )
        except BaseException as error:
            shutil.rmtree(root / upload_id, ignore_errors=True)
            if isinstance(error, OSError):
                raise _staging_error(error) from error
            raise
        return upload

    def find(self, bucket: str, key: str, upload_id: str) -> MultipartUpload:
        """The upload `upload_id` of `key` in `bucket`; NoSuchUpload if there is none."""
        upload = self._read(upload_id) if _UPLOAD_ID.fullmatch(upload_id) else None
        if upload is None or (upload.bucket, upload.key) != (bucket, key):
            raise NoSuchUpload(upload_id)
        return upload

    def uploads(self, bucket: str) -> list[MultipartUpload]:
        """Every upload into `bucket`, sorted by key, then by when it began."""
        try:
            names = os.listdir(self.folder())
        except OSError as error:
            raise _staging_error(error) from error
        found = (self._read(name) for name in names if _UPLOAD_ID.fullmatch(name))
        return sorted(
            (upload for upload in found if upload is not None and upload.bucket == bucket),
            key=lambda upload: (upload.key, upload.upload_id),
        )

    def remove(self, upload: MultipartUpload) -> None:
        """Remove the upload and its parts; call it holding the upload's lock."""
        root = self.folder()
        removed = root / f"{_REMOVED}{secrets.token_hex(8)}"
        try:
            os.rename(root / upload.upload_id, removed)
        except FileNotFoundError:
            raise NoSuchUpload(upload.upload_id) from None
        except OSError as error:
            raise _staging_error(error) from error
        shutil.rmtree(removed, ignore_errors=True)

    def finish(self, upload: MultipartUpload, info: ObjectInfo) -> None:
        """Remember what a completed upload made, for a client that asks again; remove it.

        Call it holding the upload's lock, once the object is written. The completion has
        succeeded by then, so a failure to remove the parts is logged, not raised.
        """
        with self._guard:
            self._completed[upload.upload_id] = (upload.bucket, upload.key, info)
            while len(self._completed) > _COMPLETIONS_REMEMBERED:
                self._completed.popitem(last=False)
        try:
            self.remove(upload)
        except BucketError:
            logger.exception("the parts of completed upload %s stay staged", upload.upload_id)

    def completion(self, bucket: str, key: str, upload_id: str) -> ObjectInfo | None:
        """What a completion of this upload made, if this store completed it not long ago."""
        with self._guard:
            remembered = self._completed.get(upload_id)
        if remembered is None or remembered[:2] != (bucket, key):
            return None
        return remembered[2]

    # -- parts ---------------------------------------------------------------------------------

    def open_part(self, upload: MultipartUpload, part_number: int) -> ContentWriter[Part]:
        """A writer of part `part_number`; its commit replaces any part of that number.

        Its temporary file is made when the first bytes come: NoSuchUpload then if the upload
        has been completed or aborted since it was found.
        """
        folder = self.folder() / upload.upload_id

        def stage() -> StagedFile:
            try:
                return StagedFile(folder, _PART_TEMPORARY)
            except FileNotFoundError:
                raise NoSuchUpload(upload.upload_id) from None  # completed or aborted meanwhile

        def finish(staged: StagedFile, md5: str, crc32: int) -> Part:
            staged.sync()  # outside the lock: a sync may take long, and needs no lock
            with self.locked(upload.upload_id):
                try:
                    status = staged.commit(folder / f"{part_number:05d}.{md5}").status
                except FileNotFoundError:
                    # The upload's folder went while the part was written: completed or aborted.
                    raise NoSuchUpload(upload.upload_id) from None
                for stale in self._part_files(folder, part_number):
                    if stale.name != f"{part_number:05d}.{md5}":
                        stale.unlink(missing_ok=True)
            return Part(part_number, f'"{md5}"', status.st_size, utc_seconds(status.st_mtime_ns))

        return ContentWriter(stage, finish, _staging_error)

    def parts(self, upload: MultipartUpload) -> dict[int, Part]:
        """The upload's staged parts by number."""
        found: dict[int, tuple[int, Part]] = {}
        try:
            entries = list(os.scandir(self.folder() / upload.upload_id))
        except FileNotFoundError:
            raise NoSuchUpload(upload.upload_id) from None
        except OSError as error:
            raise _staging_error(error) from error
        for entry in entries:
            match = _PART_NAME.fullmatch(entry.name)
            if match is None:
                continue
            try:
                status = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # replaced by a re-upload since the scan
            number = int(match[1])
            part = Part(number, f'"{match[2]}"', status.st_size, utc_seconds(status.st_mtime_ns))
            # Two files for one number only after a crash between a rename and the clean-up.
            if number not in found or status.st_mtime_ns > found[number][0]:
                found[number] = (status.st_mtime_ns, part)
        return {number: part for number, (_, part) in sorted(found.items())}

    def part_path(self, upload: MultipartUpload, part: Part) -> Path:
        """The file holding a staged part."""
        return self.folder() / upload.upload_id / f"{part.part_number:05d}.{_bare_etag(part.etag)}"

    # -- files ---------------------------------------------------------------------------------

    def _read(self, upload_id: str) -> MultipartUpload | None:
        try:
            record = json.loads((self.folder() / upload_id / _UPLOAD_FILE).read_bytes())
            return MultipartUpload(
                upload_id=upload_id,
                bucket=str(record["bucket"]),
                key=str(record["key"]),
                initiated=datetime.fromisoformat(record["initiated"]),
                content_type=record["content_type"],
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None  # gone, or begun by a process that stopped before it wrote the record

    @staticmethod
    def _part_files(folder: Path, part_number: int) -> list[Path]:
        prefix = f"{part_number:05d}."
        return [folder / name for name in os.listdir(folder) if name.startswith(prefix)]


def _staging_error(error: OSError) -> BucketError:
    # The staging folder is the server's, not the caller's: its failures are never the key's.
    return InternalError(f"the multipart staging folder: {error.strerror or error}")

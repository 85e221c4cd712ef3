"""The bucket store: S3 objects as files in the local folders redstep.toml names.

`Buckets` owns the mapping from (bucket, key) to a file and every disk access behind it:

- A key is a path relative to its bucket's folder (`redstep.buckets.keys` says which keys are
  refused). A key whose real path leaves the folder, through a symlink to a file or a folder
  outside, is refused with AccessDenied by every operation, and listings leave it out.
- A folder that does not exist yet is an empty bucket; the first put creates it, and the folders
  under it that the key needs. A delete removes the folders it leaves empty (never the bucket's
  own folder): S3 has no empty folders, and an empty folder is never listed anyway.
- A put streams its content into a temporary file beside the target, hashing it as it comes,
  then syncs it and renames it over the target, so a reader sees the old object or the new one,
  never part of one (`open_put` gives the writer, `redstep.buckets.streams`; `put` is the same
  for content already in memory). The temporary file, and the folders it needs, are made when
  the first bytes come, and a put given up removes them again. A read streams the object from
  one open file (`open_read`).
- A process stopped mid-put leaves its temporary file behind; the store removes those older
  than `files.ABANDONED_SECONDS` from every bucket folder when it starts.
- ETags are the MD5 of the content (S3's ETag for an object put in one part). The bucket folders
  hold nothing but the objects' files, so an ETag is computed as a put writes the file, or when
  a file put there by other means is first read, and remembered against the file's identity and
  times (device, inode, size, mtime, ctime), which any rewrite changes, in a database beside the
  staging folder that outlives the process (`redstep.buckets.state`). The CRC32 that
  GetObject's checksum mode answers is computed and remembered alongside, so that mode reads
  the file only for an object the store has never hashed. A reader's digests are remembered
  only if the file did not change while it was hashed, and never over a writer's for the same
  file (a multipart completion racing the read).
- Content types follow `redstep.buckets.objects`: guessed from the key's name.
- Multipart uploads are staged outside the bucket folders (`redstep.buckets.uploads`). Completing
  one concatenates its parts into a temporary file beside the target and renames it, as a put
  does. Its ETag is S3's multipart ETag (`"<md5 of the parts' md5s>-<count>"`), remembered like
  any other, across restarts; only once evicted from the state (or the file is rewritten) do
  reads answer the content's MD5 instead.
- ListBuckets's CreationDate is when the store first saw the bucket (its folder's birth or
  modification time then, or the time it was first listed if there was no folder), kept in the
  same state, so adding objects does not move it.
- A copy streams the source file into the target the same way; its ETag is its content's MD5.
- Subscribers are told of every object written (each put, completed upload and copy) exactly
  once, on the thread that wrote it, after the rename; one that raises is logged and does not
  fail the write. A completion a client repeats is answered again but not told again. Each is
  told which action wrote the object, as S3's events say it (`WriteReason`: PutObject,
  CopyObject, CompleteMultipartUpload).

Listings walk the folder under the prefix, sort the keys and page them (`redstep.buckets.listing`);
they do not follow symlinked folders, and leave out files whose names cannot be keys. Every method
blocks on the disk: call them from a worker thread when on an event loop.

Arguments are checked where they enter: part numbers (1 to 10,000) by the public methods that
take one, and `max_keys`, `max_parts` and `max_uploads` (InvalidArgument below zero) by the
listings, since the store is a public API of its own and not only the HTTP layer's backend.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import stat
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from redstep.buckets.errors import (
    AccessDenied,
    BucketError,
    InvalidArgument,
    NoSuchBucket,
    NoSuchKey,
)
from redstep.buckets.files import (
    EtagIdentity,
    StagedFile,
    check_beside,
    concatenate,
    etag_identity,
    is_inside,
    keys_under,
    object_info,
    open_object,
    read_error,
    read_range,
    remove_empty_folders,
    stage_beside,
    sweep_abandoned,
    utc_seconds,
)
from redstep.buckets.keys import key_parts
from redstep.buckets.listing import MAX_KEYS, decode_token, encode_token, select_page
from redstep.buckets.objects import (
    BucketInfo,
    ObjectInfo,
    ObjectListing,
    guess_content_type,
)
from redstep.buckets.state import STATE_FILE, Digests, StoreState
from redstep.buckets.streams import ContentWriter, ObjectReader
from redstep.buckets.uploads import (
    MAX_LISTED,
    CompletedPart,
    MultipartUpload,
    Part,
    PartListing,
    Staging,
    UploadListing,
    check_part_number,
    multipart_etag,
    select_parts,
    select_uploads,
)

logger = logging.getLogger(__name__)


class WriteReason(StrEnum):
    """The S3 action that wrote an object, spelt as the `reason` of S3's Object Created event."""

    PUT_OBJECT = "PutObject"
    COPY_OBJECT = "CopyObject"
    COMPLETE_MULTIPART_UPLOAD = "CompleteMultipartUpload"


WriteSubscriber = Callable[[str, ObjectInfo, WriteReason], None]
"""Told `(bucket, info, reason)` after each object written, with the action that wrote it."""
SourceCondition = Callable[[ObjectInfo], None]
"""Raises if a copy's source, as it is when the copy opens it, must not be copied."""
RangeChoice = Callable[[ObjectInfo], tuple[int, int] | None]
"""Picks the inclusive byte range a read answers, once it knows the object; None for none."""


_PUT_ATTEMPTS = 3


class Buckets:
    """The project's buckets: each a name and a local folder.

    `staging` is where multipart uploads keep their parts until completed: a folder outside every
    bucket folder (a project passes its `.redstep/uploads/`). What the store remembers between
    runs is kept beside it, in `buckets.sqlite` (`redstep.buckets.state`). Without one, the store
    keeps both in a private temporary folder, removed with the store.

    Opening a store sweeps the bucket folders of the temporary files a stopped process left
    (`files.sweep_abandoned`).
    """

    def __init__(self, folders: Mapping[str, Path], *, staging: Path | None = None) -> None:
        # Real paths, so that containment checks compare like with like.
        self._folders = {name: Path(os.path.realpath(folder)) for name, folder in folders.items()}
        self._staging = Staging(staging)
        staged = self._staging  # not `self`: the state must not keep the store alive
        self._state = StoreState(lambda: staged.folder().parent / STATE_FILE)
        self._subscribers: list[WriteSubscriber] = []
        self._lock = threading.Lock()
        for folder in self._folders.values():
            sweep_abandoned(folder)

    def close(self) -> None:
        """Close what the store keeps open between calls (its state database)."""
        self._state.close()

    # -- buckets -------------------------------------------------------------------------------

    def names(self) -> tuple[str, ...]:
        """The buckets' names, sorted."""
        return tuple(sorted(self._folders))

    def folder(self, bucket: str) -> Path:
        """The folder holding `bucket`'s objects; NoSuchBucket if there is no such bucket."""
        try:
            return self._folders[bucket]
        except KeyError:
            raise NoSuchBucket(bucket) from None

    def check(self, bucket: str, key: str) -> None:
        """Raise what a put of `key` into `bucket` would, for reasons the disk has no part in."""
        self.folder(bucket)
        key_parts(key)

    def list_buckets(self) -> tuple[BucketInfo, ...]:
        """Every bucket, sorted by name, with the date ListBuckets reports for it."""
        return tuple(
            BucketInfo(name=name, creation_date=self._state.first_seen(name, self._seen(name)))
            for name in self.names()
        )

    def _seen(self, bucket: str) -> datetime:
        """The best guess at when `bucket` was made, recorded the first time it is listed."""
        now = datetime.now(UTC).replace(microsecond=0)
        try:
            status = os.stat(self._folders[bucket])
        except OSError:
            return now  # no folder yet: the bucket is as old as this listing
        # Birth time where the platform has it; else the mtime, which is at least no later.
        birth: float | None = getattr(status, "st_birthtime", None)
        born = utc_seconds(int(birth * 1e9)) if birth else utc_seconds(status.st_mtime_ns)
        return min(born, now)

    # -- subscribers ---------------------------------------------------------------------------

    def subscribe(self, callback: WriteSubscriber) -> Callable[[], None]:
        """Call `callback(bucket, info, reason)` after every object written; returns an
        unsubscribe."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def _notify(self, bucket: str, info: ObjectInfo, reason: WriteReason) -> None:
        with self._lock:
            subscribers = tuple(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(bucket, info, reason)
            except Exception:
                # The object is stored whatever a subscriber does; its failure is its own.
                logger.exception("a put subscriber failed on s3://%s/%s", bucket, info.key)

    # -- objects -------------------------------------------------------------------------------

    def open_put(
        self, bucket: str, key: str, *, content_type: str | None = None
    ) -> ContentWriter[ObjectInfo]:
        """Begin a put of `key`: a writer whose commit stores what was written, atomically, over
        any object there, and then tells subscribers. Nothing is stored unless it commits.

        Every refusal that does not depend on the content (no bucket, a bad key, a symlink out,
        a folder where the object would be) is raised here, before any content is written; the
        temporary file (and any folder the key needs) is made only when the first bytes are. The
        info `commit` answers carries `content_type` as given (what S3 would answer for this
        put); later reads answer the type guessed from the key, since nothing beside the file
        keeps it.
        """
        return self._open_write(bucket, key, WriteReason.PUT_OBJECT, content_type)

    def put(
        self, bucket: str, key: str, body: bytes, *, content_type: str | None = None
    ) -> ObjectInfo:
        """Store `body` under `key` at once: `open_put`, write, commit."""
        with self.open_put(bucket, key, content_type=content_type) as writer:
            writer.write(body)
            return writer.commit()

    def copy_object(
        self,
        source_bucket: str,
        source_key: str,
        bucket: str,
        key: str,
        *,
        content_type: str | None = None,
        source_condition: SourceCondition | None = None,
    ) -> ObjectInfo:
        """Copy an object, within a bucket or between two, atomically; then tell subscribers.

        `source_condition` sees the source as the copy reads it (CopyObject's conditions).
        """
        self.check(bucket, key)
        with (
            self._open_source(source_bucket, source_key, source_condition) as source,
            self._open_write(bucket, key, WriteReason.COPY_OBJECT, content_type) as writer,
        ):
            for chunk in source.chunks(0, source.info.size - 1):
                writer.write(chunk)
            return writer.commit()

    def open_read(self, bucket: str, key: str) -> ObjectReader:
        """The object, open: its metadata, and its content read from that same file on demand.

        Close it when done (it is a context manager). The ETag (and the CRC32 with it) is
        computed here, in one streaming pass, when the state does not remember it for this
        version of the file.
        """
        path = self._object_path(bucket, key)
        try:
            handle = open_object(path)
        except OSError as error:
            raise read_error(error, bucket, key) from error
        try:
            status = os.fstat(handle.fileno())
            digests = self._digests_of_open(handle, status)
        except BaseException as error:
            handle.close()
            if isinstance(error, OSError):
                raise read_error(error, bucket, key) from error
            raise
        identity = etag_identity(status)

        def remember_crc32(crc32: int) -> None:
            if self._is_unchanged(handle, identity):
                self._state.remember_crc32(identity, crc32)

        return ObjectReader(
            handle,
            object_info(key, status.st_size, digests.etag, status),
            lambda error: read_error(error, bucket, key),
            crc32=digests.crc32,
            remember_crc32=remember_crc32,
        )

    def read(self, bucket: str, key: str, choose: RangeChoice) -> tuple[ObjectInfo, bytes]:
        """The object's metadata and the bytes `choose` picks once it has seen that metadata.

        `choose` answers an inclusive `(first, last)` range, or None to read nothing; what it
        raises, the read raises. Only that range is read, into memory, from the same version of
        the file the metadata describes: for small objects and tests; stream with `open_read`.
        """
        with self.open_read(bucket, key) as reader:
            chosen = choose(reader.info)
            return reader.info, b"" if chosen is None else reader.read(*chosen)

    def head(self, bucket: str, key: str) -> ObjectInfo:
        """The object's metadata (its content is read only when its ETag is not known yet)."""
        with self.open_read(bucket, key) as reader:
            return reader.info

    def delete(self, bucket: str, key: str) -> None:
        """Remove the object; a key with no object succeeds too, as S3's DeleteObject does."""
        root = self.folder(bucket)
        path = self._object_path(bucket, key)
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                return  # a folder is not an object
            os.unlink(path)
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as error:
            raise BucketError.from_os_error(error, bucket=bucket, key=key) from error
        remove_empty_folders(root, path.parent)

    def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        continuation_token: str | None = None,
        max_keys: int = MAX_KEYS,
    ) -> ObjectListing:
        """One page of the bucket's keys, with ListObjectsV2's semantics (see `listing`).

        A continuation token, when given, takes the place of `start_after` (which is echoed).
        """
        root = self.folder(bucket)
        if max_keys < 0:
            raise InvalidArgument(
                "Provided max-keys not an integer or within integer range",
                argument_name="max-keys",
                argument_value=str(max_keys),
            )
        after = decode_token(continuation_token) if continuation_token is not None else start_after
        keys = keys_under(root, prefix)
        page = select_page(keys, prefix=prefix, delimiter=delimiter, after=after, max_keys=max_keys)
        contents = []
        for key in page.keys:
            try:
                contents.append(self.head(bucket, key))
            except (NoSuchKey, AccessDenied):
                continue  # deleted, or replaced by a symlink, since the walk saw it
        has_next = page.is_truncated and page.last_entry is not None
        return ObjectListing(
            bucket=bucket,
            prefix=prefix,
            delimiter=delimiter,
            max_keys=max_keys,
            start_after=start_after,
            continuation_token=continuation_token,
            contents=tuple(contents),
            common_prefixes=page.common_prefixes,
            is_truncated=page.is_truncated,
            next_continuation_token=encode_token(page.last_entry or "") if has_next else None,
            last_entry=page.last_entry,
        )

    # -- multipart uploads ---------------------------------------------------------------------

    def create_multipart_upload(
        self, bucket: str, key: str, *, content_type: str | None = None
    ) -> MultipartUpload:
        """Begin an upload of `key` in parts; the object is written when it completes."""
        self.check(bucket, key)
        return self._staging.begin(bucket, key, content_type)

    def open_part(
        self, bucket: str, key: str, upload_id: str, part_number: int
    ) -> ContentWriter[Part]:
        """Begin staging part `part_number` (1 to 10,000) of the upload: a writer whose commit
        replaces any part of that number. Refusals (the number, no such upload) come first."""
        check_part_number(part_number)
        upload = self.multipart_upload(bucket, key, upload_id)
        return self._staging.open_part(upload, part_number)

    def upload_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, body: bytes
    ) -> Part:
        """Stage `body` as part `part_number` at once: `open_part`, write, commit."""
        with self.open_part(bucket, key, upload_id, part_number) as writer:
            writer.write(body)
            return writer.commit()

    def upload_part_copy(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        *,
        source_bucket: str,
        source_key: str,
        byte_range: tuple[int, int] | None = None,
        source_condition: SourceCondition | None = None,
    ) -> Part:
        """Stage a part copied from an object: all of it, or the inclusive `byte_range`."""
        check_part_number(part_number)
        upload = self.multipart_upload(bucket, key, upload_id)
        with self._open_source(source_bucket, source_key, source_condition) as source:
            size = source.info.size
            first, last = (0, size - 1) if byte_range is None else byte_range
            if byte_range is not None and (first > last or last >= size):
                raise InvalidArgument(
                    f"Range specified is not valid for source object of size: {size}",
                    argument_name="x-amz-copy-source-range",
                    argument_value=f"bytes={first}-{last}",
                )
            with self._staging.open_part(upload, part_number) as writer:
                for chunk in source.chunks(first, last):
                    writer.write(chunk)
                return writer.commit()

    def complete_multipart_upload(
        self, bucket: str, key: str, upload_id: str, parts: Sequence[CompletedPart]
    ) -> ObjectInfo:
        """Write the object the named parts make, atomically; remove the upload; tell subscribers.

        The parts are checked as S3 checks them (`uploads.select_parts`); when they are refused
        the upload stays, to be completed again or aborted. Completing an upload this store has
        just completed answers the same object again, and tells no one.
        """
        self.check(bucket, key)
        with self._staging.locked(upload_id):
            done = self._staging.completion(bucket, key, upload_id)
            if done is not None:
                return done
            upload = self._staging.find(bucket, key, upload_id)
            chosen = select_parts(upload_id, parts, self._staging.parts(upload))
            paths = [self._staging.part_path(upload, part) for part in chosen]
            root, path = self._checked_path(bucket, key)
            with self._stage(root, path, bucket, key) as staged:
                try:
                    crc32 = concatenate(paths, staged.handle)
                    digests = Digests(multipart_etag(chosen), crc32)
                    info = self._place(root, path, key, staged, digests, upload.content_type)
                except OSError as error:
                    raise BucketError.from_os_error(error, bucket=bucket, key=key) from error
            self._staging.finish(upload, info)
        self._notify(bucket, info, WriteReason.COMPLETE_MULTIPART_UPLOAD)
        return info

    def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """Remove the upload and its parts; NoSuchUpload if there is none (any more)."""
        self.check(bucket, key)
        with self._staging.locked(upload_id):
            self._staging.remove(self._staging.find(bucket, key, upload_id))

    def list_parts(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        *,
        part_number_marker: int = 0,
        max_parts: int = MAX_LISTED,
    ) -> PartListing:
        """One page of the upload's staged parts, by part number, after `part_number_marker`."""
        upload = self.multipart_upload(bucket, key, upload_id)
        if max_parts < 0:
            raise InvalidArgument(
                "Provided max-parts not an integer or within integer range",
                argument_name="max-parts",
                argument_value=str(max_parts),
            )
        limit = min(max_parts, MAX_LISTED)
        after = [
            part
            for number, part in self._staging.parts(upload).items()
            if number > part_number_marker
        ]
        page = tuple(after[:limit])
        is_truncated = limit > 0 and len(after) > limit
        return PartListing(
            upload=upload,
            parts=page,
            part_number_marker=part_number_marker,
            next_part_number_marker=page[-1].part_number if page else None,
            max_parts=max_parts,
            is_truncated=is_truncated,
        )

    def list_multipart_uploads(
        self,
        bucket: str,
        *,
        prefix: str = "",
        key_marker: str = "",
        upload_id_marker: str = "",
        max_uploads: int = MAX_LISTED,
    ) -> UploadListing:
        """One page of the bucket's uploads in progress, sorted by key, then by when they began."""
        self.folder(bucket)
        if max_uploads < 0:
            raise InvalidArgument(
                "Provided max-uploads not an integer or within integer range",
                argument_name="max-uploads",
                argument_value=str(max_uploads),
            )
        page, is_truncated = select_uploads(
            self._staging.uploads(bucket),
            prefix=prefix,
            key_marker=key_marker,
            upload_id_marker=upload_id_marker,
            max_uploads=max_uploads,
        )
        last = page[-1] if page and is_truncated else None
        return UploadListing(
            bucket=bucket,
            prefix=prefix,
            key_marker=key_marker,
            upload_id_marker=upload_id_marker,
            uploads=page,
            max_uploads=max_uploads,
            is_truncated=is_truncated,
            next_key_marker=last.key if last else None,
            next_upload_id_marker=last.upload_id if last else None,
        )

    def multipart_upload(self, bucket: str, key: str, upload_id: str) -> MultipartUpload:
        """The upload `upload_id` of `key` in `bucket`; NoSuchUpload if there is none (any more)."""
        self.check(bucket, key)
        return self._staging.find(bucket, key, upload_id)

    # -- paths and files -----------------------------------------------------------------------

    def _object_path(self, bucket: str, key: str) -> Path:
        root = self.folder(bucket)
        path = root.joinpath(*key_parts(key))
        if not is_inside(root, path):
            raise AccessDenied()
        return path

    def _open_write(
        self, bucket: str, key: str, reason: WriteReason, content_type: str | None
    ) -> ContentWriter[ObjectInfo]:
        root, path = self._checked_path(bucket, key)

        def finish(staged: StagedFile, md5: str, crc32: int) -> ObjectInfo:
            info = self._place(root, path, key, staged, Digests(f'"{md5}"', crc32), content_type)
            self._notify(bucket, info, reason)
            return info

        return ContentWriter(
            lambda: self._stage(root, path, bucket, key),
            finish,
            lambda error: BucketError.from_os_error(error, bucket=bucket, key=key),
        )

    def _checked_path(self, bucket: str, key: str) -> tuple[Path, Path]:
        """The bucket's folder and the object's path, once nothing on the disk forbids a write
        there (`files.check_beside`); nothing is made."""
        root = self.folder(bucket)
        path = root.joinpath(*key_parts(key))
        try:
            check_beside(root, path)
        except OSError as error:
            raise BucketError.from_os_error(error, bucket=bucket, key=key) from error
        return root, path

    def _stage(self, root: Path, path: Path, bucket: str, key: str) -> StagedFile:
        """A staged file beside the object at `path`, for its content."""
        for attempt in range(1, _PUT_ATTEMPTS + 1):
            try:
                return stage_beside(root, path)
            except FileNotFoundError:
                # A delete emptied and removed the parent folder between mkdir and open.
                if attempt == _PUT_ATTEMPTS:
                    raise BucketError.from_os_error(
                        FileNotFoundError(f"{path.parent} kept vanishing"), bucket=bucket, key=key
                    ) from None
            except OSError as error:
                raise BucketError.from_os_error(error, bucket=bucket, key=key) from error
        raise AssertionError("unreachable: the last attempt raises")

    def _place(
        self,
        root: Path,
        path: Path,
        key: str,
        staged: StagedFile,
        digests: Digests,
        content_type: str | None,
    ) -> ObjectInfo:
        """Rename the staged content over the object at `path`; remember its digests; tell no
        one."""
        # Again: the content may have taken long to come, and a folder on the way become a link.
        if not is_inside(root, path.parent) or not is_inside(root, path):
            raise AccessDenied()
        placed = staged.commit(path)
        if placed.is_current:
            # The writer knows what it wrote: this replaces a reader's MD5 of the same file.
            self._state.remember(etag_identity(placed.status), digests)
        return ObjectInfo(
            key=key,
            size=placed.status.st_size,
            etag=digests.etag,
            last_modified=utc_seconds(placed.status.st_mtime_ns),
            content_type=content_type or guess_content_type(key),
        )

    @contextlib.contextmanager
    def _open_source(
        self, bucket: str, key: str, condition: SourceCondition | None
    ) -> Iterator[ObjectReader]:
        """The open source of a copy, once `condition` holds for it."""
        with self.open_read(bucket, key) as source:
            if condition is not None:
                condition(source.info)
            yield source

    def _digests_of_open(self, handle: BinaryIO, status: os.stat_result) -> Digests:
        """The digests of the open file whose status is `status`: remembered, or hashed now."""
        identity = etag_identity(status)
        remembered = self._state.digests(identity)
        if remembered is not None:
            return remembered
        md5, crc32 = hashlib.md5(usedforsecurity=False), 0
        for chunk in read_range(handle, 0, status.st_size):
            md5.update(chunk)
            crc32 = zlib.crc32(chunk, crc32)
        hashed = Digests(f'"{md5.hexdigest()}"', crc32)
        if not self._is_unchanged(handle, identity):
            return hashed  # written while hashed: what was read may be no version of the file
        # Never over a row for this very file: a multipart completion may have saved its ETag
        # while this read hashed. Then that row, however it came, is the answer.
        self._state.remember(identity, hashed, replace=False)
        return self._state.digests(identity) or hashed

    @staticmethod
    def _is_unchanged(handle: BinaryIO, identity: EtagIdentity) -> bool:
        """Whether the open file still has `identity` (nothing wrote to it since)."""
        try:
            return etag_identity(os.fstat(handle.fileno())) == identity
        except OSError:
            return False

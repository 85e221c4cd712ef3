"""The bucket store: S3 objects as files in the local folders redstep.toml names.

`Buckets` owns the mapping from (bucket, key) to a file and every disk access behind it:

- A key is a path relative to its bucket's folder (`redstep.buckets.keys` says which keys are
  refused). A key whose real path leaves the folder, through a symlink to a file or a folder
  outside, is refused with AccessDenied by every operation, and listings leave it out.
- A folder that does not exist yet is an empty bucket; the first put creates it, and the folders
  under it that the key needs. A delete removes the folders it leaves empty (never the bucket's
  own folder): S3 has no empty folders, and an empty folder is never listed anyway.
- A put writes a temporary file beside the target, syncs it and renames it over the target, so a
  reader sees the old object or the new one, never part of one (`redstep.buckets.files` holds
  these file mechanics).
- ETags are the MD5 of the content (S3's ETag for an object put in one part). Nothing is stored
  beside the files, so an ETag is computed when a file is first read and remembered against the
  file's identity and times (device, inode, size, mtime, ctime), which any rewrite changes.
- Content types follow `redstep.buckets.objects`: guessed from the key's name.
- Multipart uploads are staged outside the bucket folders (`redstep.buckets.uploads`). Completing
  one concatenates its parts into a temporary file beside the target and renames it, as a put
  does. Its ETag is S3's multipart ETag (`"<md5 of the parts' md5s>-<count>"`), remembered like
  any other; once forgotten (a restart, or a full cache), reads answer the content's MD5 instead.
- A copy streams the source file into the target the same way; its ETag is its content's MD5.
- Subscribers are told of every object written (each put, completed upload and copy) exactly
  once, on the thread that wrote it, after the rename; one that raises is logged and does not
  fail the write. A completion a client repeats is answered again but not told again. Each is
  told which action wrote the object, as S3's events say it (`WriteReason`: PutObject,
  CopyObject, CompleteMultipartUpload).

Listings walk the folder under the prefix, sort the keys and page them (`redstep.buckets.listing`);
they do not follow symlinked folders, and leave out files whose names cannot be keys. Every method
blocks on the disk: call them from a worker thread when on an event loop.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import stat
import threading
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
    READ_CHUNK,
    FileIdentity,
    Fill,
    concatenate,
    copy_range,
    file_identity,
    is_inside,
    keys_under,
    object_info,
    open_object,
    read_error,
    remove_empty_folders,
    utc_seconds,
    write_atomically,
)
from redstep.buckets.keys import key_parts
from redstep.buckets.listing import MAX_KEYS, decode_token, encode_token, select_page
from redstep.buckets.objects import (
    BucketInfo,
    ObjectInfo,
    ObjectListing,
    etag_of,
    guess_content_type,
)
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


_ETAG_CACHE_LIMIT = 65_536
_PUT_ATTEMPTS = 3


class Buckets:
    """The project's buckets: each a name and a local folder.

    `staging` is where multipart uploads keep their parts until completed: a folder outside every
    bucket folder (a project passes its `.redstep/uploads/`). Without one, the store stages them
    in a private temporary folder, removed with the store.
    """

    def __init__(self, folders: Mapping[str, Path], *, staging: Path | None = None) -> None:
        # Real paths, so that containment checks compare like with like.
        self._folders = {name: Path(os.path.realpath(folder)) for name, folder in folders.items()}
        self._staging = Staging(staging)
        self._opened = datetime.now(UTC).replace(microsecond=0)
        self._subscribers: list[WriteSubscriber] = []
        self._etags: dict[FileIdentity, str] = {}
        self._lock = threading.Lock()

    # -- buckets -------------------------------------------------------------------------------

    def names(self) -> tuple[str, ...]:
        """The buckets' names, sorted."""
        return tuple(sorted(self._folders))

    def has(self, bucket: str) -> bool:
        """Whether `bucket` is one of the project's buckets (no disk access)."""
        return bucket in self._folders

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
        infos = []
        for name in self.names():
            try:
                created = utc_seconds(os.stat(self._folders[name]).st_mtime_ns)
            except OSError:
                created = self._opened
            infos.append(BucketInfo(name=name, creation_date=created))
        return tuple(infos)

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

    def put(
        self, bucket: str, key: str, body: bytes, *, content_type: str | None = None
    ) -> ObjectInfo:
        """Store `body` under `key`, replacing any object there, atomically; then tell subscribers.

        The returned info carries `content_type` as given (what S3 would answer for this put);
        later reads answer the type guessed from the key, since nothing beside the file keeps it.
        """
        etag = etag_of(body)

        def fill(handle: BinaryIO) -> str:
            handle.write(body)
            return etag

        info = self._store(bucket, key, fill, content_type=content_type)
        self._notify(bucket, info, WriteReason.PUT_OBJECT)
        return info

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
        with self._open_source(source_bucket, source_key, source_condition) as (source, size):

            def fill(handle: BinaryIO) -> str:
                return f'"{copy_range(source, handle, 0, size)}"'

            info = self._store(bucket, key, fill, content_type=content_type)
        self._notify(bucket, info, WriteReason.COPY_OBJECT)
        return info

    def get(self, bucket: str, key: str) -> tuple[ObjectInfo, bytes]:
        """The object's metadata and content, read from one version of the file."""
        path = self._object_path(bucket, key)
        try:
            with open_object(path) as handle:
                status = os.fstat(handle.fileno())
                content = handle.read()
        except OSError as error:
            raise read_error(error, bucket, key) from error
        identity = file_identity(status)
        etag = self._cached_etag(identity) or self._remember_etag(identity, etag_of(content))
        return object_info(key, len(content), etag, status), content

    def read(self, bucket: str, key: str, choose: RangeChoice) -> tuple[ObjectInfo, bytes]:
        """The object's metadata and the bytes `choose` picks once it has seen that metadata.

        `choose` answers an inclusive `(first, last)` range, or None to read nothing; what it
        raises, the read raises. Only that range is read, from the same version of the file the
        metadata describes, so a client reading a large object in ranges reads each byte once.
        """
        path = self._object_path(bucket, key)
        try:
            with open_object(path) as handle:
                status = os.fstat(handle.fileno())
                etag = self._etag_of_open(handle, status)
                info = object_info(key, status.st_size, etag, status)
                chosen = choose(info)
                if chosen is None:
                    return info, b""
                first, last = chosen
                handle.seek(first)
                content = handle.read(max(0, last - first + 1))
        except OSError as error:
            raise read_error(error, bucket, key) from error
        return info, content

    def head(self, bucket: str, key: str) -> ObjectInfo:
        """The object's metadata (its content is read only when its ETag is not known yet)."""
        path = self._object_path(bucket, key)
        try:
            with open_object(path) as handle:
                status = os.fstat(handle.fileno())
                etag = self._etag_of_open(handle, status)
        except OSError as error:
            raise read_error(error, bucket, key) from error
        return object_info(key, status.st_size, etag, status)

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

    def upload_part(
        self, bucket: str, key: str, upload_id: str, part_number: int, body: bytes
    ) -> Part:
        """Stage part `part_number` (1 to 10,000) of the upload, replacing one of that number."""
        check_part_number(part_number)
        upload = self.multipart_upload(bucket, key, upload_id)

        def fill(handle: BinaryIO) -> str:
            handle.write(body)
            return hashlib.md5(body, usedforsecurity=False).hexdigest()

        return self._staging.put_part(upload, part_number, fill)

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
        with self._open_source(source_bucket, source_key, source_condition) as (source, size):
            start, length = 0, size
            if byte_range is not None:
                first, last = byte_range
                if first > last or last >= size:
                    raise InvalidArgument(
                        f"Range specified is not valid for source object of size: {size}",
                        argument_name="x-amz-copy-source-range",
                        argument_value=f"bytes={first}-{last}",
                    )
                start, length = first, last - first + 1
            return self._staging.put_part(
                upload, part_number, lambda target: copy_range(source, target, start, length)
            )

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
            etag = multipart_etag(chosen)
            write = concatenate(paths)

            def fill(handle: BinaryIO) -> str:
                write(handle)
                return etag

            info = self._store(bucket, key, fill, content_type=upload.content_type)
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

    def _make_parent(self, root: Path, path: Path, key: str) -> None:
        # Check before creating anything, so a symlinked folder cannot get folders made outside.
        if not is_inside(root, path.parent) or not is_inside(root, path):
            raise AccessDenied()
        path.parent.mkdir(parents=True, exist_ok=True)
        if not is_inside(root, path.parent):
            raise AccessDenied()  # swapped for a symlink while we made it

    def _store(self, bucket: str, key: str, fill: Fill, *, content_type: str | None) -> ObjectInfo:
        """Write what `fill` writes (it answers the ETag) under `key`, atomically; tell no one."""
        root = self.folder(bucket)
        path = root.joinpath(*key_parts(key))
        for attempt in range(1, _PUT_ATTEMPTS + 1):
            try:
                self._make_parent(root, path, key)
                status, etag = self._write(path, fill)
                break
            except FileNotFoundError:
                # A delete emptied and removed the parent folder between mkdir and write.
                if attempt == _PUT_ATTEMPTS:
                    raise BucketError.from_os_error(
                        FileNotFoundError(f"{path.parent} kept vanishing"), bucket=bucket, key=key
                    ) from None
            except OSError as error:
                raise BucketError.from_os_error(error, bucket=bucket, key=key) from error
        return ObjectInfo(
            key=key,
            size=status.st_size,
            etag=etag,
            last_modified=utc_seconds(status.st_mtime_ns),
            content_type=content_type or guess_content_type(key),
        )

    def _write(self, path: Path, fill: Fill) -> tuple[os.stat_result, str]:
        written = write_atomically(path, fill)
        if written.is_current:
            self._remember_etag(file_identity(written.status), written.etag)
        return written.status, written.etag

    @contextlib.contextmanager
    def _open_source(
        self, bucket: str, key: str, condition: SourceCondition | None
    ) -> Iterator[tuple[BinaryIO, int]]:
        """The open source of a copy and its size, once `condition` holds for it."""
        path = self._object_path(bucket, key)
        try:
            handle = open_object(path)
        except OSError as error:
            raise read_error(error, bucket, key) from error
        with handle:
            try:
                status = os.fstat(handle.fileno())
                if condition is not None:
                    etag = self._etag_of_open(handle, status)
                    condition(object_info(key, status.st_size, etag, status))
            except OSError as error:
                raise read_error(error, bucket, key) from error
            yield handle, status.st_size

    def _etag_of_open(self, handle: BinaryIO, status: os.stat_result) -> str:
        identity = file_identity(status)
        etag = self._cached_etag(identity)
        if etag is None:
            digest = hashlib.md5(usedforsecurity=False)
            handle.seek(0)
            while chunk := handle.read(READ_CHUNK):
                digest.update(chunk)
            etag = self._remember_etag(identity, f'"{digest.hexdigest()}"')
        return etag

    def _cached_etag(self, identity: FileIdentity) -> str | None:
        with self._lock:
            return self._etags.get(identity)

    def _remember_etag(self, identity: FileIdentity, etag: str) -> str:
        with self._lock:
            if len(self._etags) >= _ETAG_CACHE_LIMIT:
                self._etags.clear()  # crude, but a rewrite costs only one more read per object
            self._etags[identity] = etag
        return etag

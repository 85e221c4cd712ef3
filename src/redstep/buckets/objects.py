"""What the store says about an object and about a listing: the values S3's answers are made of.

An object's content type is what S3 would answer when the PUT named none: the store keeps no
sidecar files in the bucket folder, so a type a PUT did name is reported back by that put only,
and every later read answers `guess_content_type(key)`.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

DEFAULT_CONTENT_TYPE = "binary/octet-stream"
"""What S3 answers for an object stored without a Content-Type."""
OWNER_ID = hashlib.sha256(b"redstep").hexdigest()
"""The canonical user id every bucket and object is owned by (S3's is 64 hex digits too)."""

# Built-in table only (no /etc/mime.types), so a bucket answers the same types on every machine.
_MIME_TYPES = mimetypes.MimeTypes()


@dataclass(frozen=True, slots=True)
class BucketInfo:
    """A bucket as ListBuckets reports it."""

    name: str
    creation_date: datetime
    """When the store first saw it (see `Buckets.list_buckets`); it does not move afterwards."""


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """An object's metadata, as HeadObject and a listing's Contents report it."""

    key: str
    size: int
    etag: str
    """S3's ETag for a single-part upload: the MD5 of the content, hex, in double quotes."""
    last_modified: datetime
    """The file's modification time, in UTC, to the second (S3 keeps no finer time)."""
    content_type: str


@dataclass(frozen=True, slots=True)
class ObjectListing:
    """One page of a ListObjectsV2 answer (ListObjects v1 reads the same page)."""

    bucket: str
    prefix: str
    delimiter: str
    max_keys: int
    start_after: str
    continuation_token: str | None
    contents: tuple[ObjectInfo, ...]
    common_prefixes: tuple[str, ...]
    is_truncated: bool
    next_continuation_token: str | None
    last_entry: str | None
    """The last key or common prefix on the page: ListObjects v1's NextMarker."""

    @property
    def key_count(self) -> int:
        """How many keys and common prefixes the page holds (S3's KeyCount)."""
        return len(self.contents) + len(self.common_prefixes)


def etag_of(content: bytes) -> str:
    """S3's ETag for content put in one part: its MD5, hex, quoted."""
    return f'"{hashlib.md5(content, usedforsecurity=False).hexdigest()}"'


def guess_content_type(key: str) -> str:
    """The type the key's file name suggests, or S3's default when it suggests none.

    A compressed name (`x.csv.gz`) gets the default: its bytes are not of the inner type.
    """
    # A leading "./" keeps a name such as "data:x" from being read as a URL scheme.
    guessed, encoding = _MIME_TYPES.guess_type("./" + PurePosixPath(key).name)
    if guessed is None or encoding is not None:
        return DEFAULT_CONTENT_TYPE
    return guessed


def crc32_checksum(crc32: int) -> str:
    """A CRC32 as S3 states it (`x-amz-checksum-crc32`, `ChecksumCRC32`): base64 of 4 big-endian
    bytes."""
    return base64.b64encode(crc32.to_bytes(4, "big")).decode("ascii")

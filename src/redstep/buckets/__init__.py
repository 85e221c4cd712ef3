"""Buckets: `s3://bucket/key` over local folders named in redstep.toml.

`Buckets` is the store (`store.py`); `ObjectInfo`, `ObjectListing` and `BucketInfo` are what it
answers (`objects.py`); multipart uploads are staged apart from the buckets and answered as
`MultipartUpload`, `Part`, `PartListing` and `UploadListing` (`uploads.py`); content streams in
through a `ContentWriter` and out through an `ObjectReader` (`streams.py`); what it remembers
between runs is `state.py`'s; its errors are S3's (`errors.py`, where the tree is drawn).
"""

from __future__ import annotations

from redstep.buckets.errors import (
    AccessDenied,
    BucketError,
    EntityTooSmall,
    InternalError,
    InvalidArgument,
    InvalidKey,
    InvalidPart,
    InvalidPartOrder,
    KeyConflict,
    KeyTooLongError,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
)
from redstep.buckets.objects import (
    DEFAULT_CONTENT_TYPE,
    OWNER_ID,
    BucketInfo,
    ObjectInfo,
    ObjectListing,
    crc32_checksum,
    etag_of,
    guess_content_type,
)
from redstep.buckets.store import (
    Buckets,
    RangeChoice,
    SourceCondition,
    WriteReason,
    WriteSubscriber,
)
from redstep.buckets.streams import ContentWriter, ObjectReader
from redstep.buckets.uploads import (
    MAX_PART_NUMBER,
    MIN_PART_SIZE,
    CompletedPart,
    MultipartUpload,
    Part,
    PartListing,
    UploadListing,
    multipart_etag,
)

__all__ = [
    "DEFAULT_CONTENT_TYPE",
    "MAX_PART_NUMBER",
    "MIN_PART_SIZE",
    "OWNER_ID",
    "AccessDenied",
    "BucketError",
    "BucketInfo",
    "Buckets",
    "CompletedPart",
    "ContentWriter",
    "EntityTooSmall",
    "InternalError",
    "InvalidArgument",
    "InvalidKey",
    "InvalidPart",
    "InvalidPartOrder",
    "KeyConflict",
    "KeyTooLongError",
    "MultipartUpload",
    "NoSuchBucket",
    "NoSuchKey",
    "NoSuchUpload",
    "ObjectInfo",
    "ObjectListing",
    "ObjectReader",
    "Part",
    "PartListing",
    "RangeChoice",
    "SourceCondition",
    "UploadListing",
    "WriteReason",
    "WriteSubscriber",
    "crc32_checksum",
    "etag_of",
    "guess_content_type",
    "multipart_etag",
]

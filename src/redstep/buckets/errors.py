"""The errors the bucket store answers with, named and shaped as S3 names them.

Every failure a caller can see is a `BucketError` whose `code` is S3's error code (what the HTTP
layer puts in `<Error><Code>`), whose `http_status` is the status S3 answers with, and whose
`details()` are the extra elements S3 adds to that error's body:

    BucketError
    ├── NoSuchBucket          the bucket is not named in redstep.toml (404)
    ├── NoSuchKey             no object under that key (404)
    ├── NoSuchUpload          no multipart upload with that id for that bucket and key (404)
    ├── InvalidArgument       a request value S3 would refuse (400)
    │   ├── InvalidKey        a key that cannot name a file inside the bucket folder (400)
    │   └── KeyConflict       a key whose file would need a folder where an object is, or the
    │                         other way round: S3 allows both `a` and `a/b`, a folder cannot (400)
    ├── InvalidPart           a part a completion names is not staged, or has another ETag (400)
    ├── InvalidPartOrder      a completion's parts are not in ascending order (400)
    ├── EntityTooSmall        a completion's part, other than the last, is under 5 MiB (400)
    ├── KeyTooLongError       over 1,024 bytes, or a path segment over the file system's limit (400)
    ├── AccessDenied          a key whose path leaves the bucket folder through a symlink, or a
    │                         file the process may not read or write (403)
    └── InternalError         any other failure of the file system (500)

`InvalidKey` and `KeyConflict` keep S3's code `InvalidArgument`: a client sees the same error S3
would send for a value it refuses, and the message says what the local folder could not do.
`os` errors become these in exactly one place, `BucketError.from_os_error`.
"""

from __future__ import annotations

import errno
from typing import ClassVar


class BucketError(Exception):
    """An error answered to the caller of a bucket operation."""

    code: ClassVar[str] = "InternalError"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def details(self) -> dict[str, str]:
        """Elements S3 adds to this error's body beyond Code, Message, Resource and RequestId."""
        return {}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    @staticmethod
    def from_os_error(error: OSError, *, bucket: str, key: str) -> BucketError:
        """The error S3 would answer for a file-system failure on `key` in `bucket`."""
        if isinstance(error, FileNotFoundError):
            return NoSuchKey(key)
        if isinstance(error, PermissionError):
            return AccessDenied()
        if error.errno == errno.ENAMETOOLONG:
            return KeyTooLongError(
                "Your key is too long: a path segment is over the file system's name limit"
            )
        if error.errno in (errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENOTEMPTY):
            return KeyConflict(key)
        return InternalError(f"{bucket}/{key}: {error.strerror or error}")


class NoSuchBucket(BucketError):
    """The bucket is not one of the project's buckets."""

    code = "NoSuchBucket"
    http_status = 404

    def __init__(self, bucket: str) -> None:
        super().__init__("The specified bucket does not exist")
        self.bucket = bucket

    def details(self) -> dict[str, str]:
        return {"BucketName": self.bucket}


class NoSuchKey(BucketError):
    """No object is stored under the key."""

    code = "NoSuchKey"
    http_status = 404

    def __init__(self, key: str) -> None:
        super().__init__("The specified key does not exist.")
        self.key = key

    def details(self) -> dict[str, str]:
        return {"Key": self.key}


class NoSuchUpload(BucketError):
    """No multipart upload has that id for that bucket and key (aborted, completed, or never)."""

    code = "NoSuchUpload"
    http_status = 404

    def __init__(self, upload_id: str) -> None:
        super().__init__(
            "The specified upload does not exist. The upload ID may be invalid, or the upload "
            "may have been aborted or completed."
        )
        self.upload_id = upload_id

    def details(self) -> dict[str, str]:
        return {"UploadId": self.upload_id}


class InvalidArgument(BucketError):
    """A request value S3 refuses; `argument_name` names it, as S3's ArgumentName does."""

    code = "InvalidArgument"
    http_status = 400

    def __init__(self, message: str, *, argument_name: str = "", argument_value: str = "") -> None:
        super().__init__(message)
        self.argument_name = argument_name
        self.argument_value = argument_value

    def details(self) -> dict[str, str]:
        if not self.argument_name:
            return {}
        return {"ArgumentName": self.argument_name, "ArgumentValue": self.argument_value}


class InvalidKey(InvalidArgument):
    """A key that cannot be stored as a file inside the bucket folder."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"Object key {key!r} {reason}", argument_name="key", argument_value=key)


class KeyConflict(InvalidArgument):
    """A key whose file collides with a folder that other keys need, or the other way round."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"Object key {key!r} collides with another object: a local bucket folder cannot hold "
            "both an object `a` and objects under `a/`",
            argument_name="key",
            argument_value=key,
        )


class InvalidPart(BucketError):
    """A part CompleteMultipartUpload names was never uploaded, or its ETag is another."""

    code = "InvalidPart"
    http_status = 400

    def __init__(self, upload_id: str, part_number: int, etag: str) -> None:
        # Two spaces after "found.", as S3 writes it.
        super().__init__(
            "One or more of the specified parts could not be found.  The part may not have been "
            "uploaded, or the specified entity tag may not have matched the part's entity tag."
        )
        self.upload_id = upload_id
        self.part_number = part_number
        self.etag = etag

    def details(self) -> dict[str, str]:
        return {"UploadId": self.upload_id, "PartNumber": str(self.part_number), "ETag": self.etag}


class InvalidPartOrder(BucketError):
    """CompleteMultipartUpload's parts are not in strictly ascending part-number order."""

    code = "InvalidPartOrder"
    http_status = 400

    def __init__(self, upload_id: str) -> None:
        super().__init__(
            "The list of parts was not in ascending order. Parts must be ordered by part number."
        )
        self.upload_id = upload_id

    def details(self) -> dict[str, str]:
        return {"UploadId": self.upload_id}


class EntityTooSmall(BucketError):
    """A part other than the last of a completed upload is smaller than S3's 5 MiB minimum."""

    code = "EntityTooSmall"
    http_status = 400

    def __init__(self, *, size: int, minimum: int, part_number: int, etag: str) -> None:
        super().__init__("Your proposed upload is smaller than the minimum allowed object size.")
        self.size = size
        self.minimum = minimum
        self.part_number = part_number
        self.etag = etag

    def details(self) -> dict[str, str]:
        return {
            "ProposedSize": str(self.size),
            "MinSizeAllowed": str(self.minimum),
            "PartNumber": str(self.part_number),
            "ETag": self.etag,
        }


class KeyTooLongError(BucketError):
    """The key is longer than S3 allows, or than the file system can name."""

    code = "KeyTooLongError"
    http_status = 400

    def __init__(self, message: str = "Your key is too long") -> None:
        super().__init__(message)


class AccessDenied(BucketError):
    """The key leads outside the bucket folder, or the file system refused the access."""

    code = "AccessDenied"
    http_status = 403

    def __init__(self, message: str = "Access Denied") -> None:
        super().__init__(message)


class InternalError(BucketError):
    """The file system failed in a way no other error describes."""

    code = "InternalError"
    http_status = 500

"""Which object keys a local bucket folder can hold, and the relative path each one names.

A key maps one-to-one to a path relative to the bucket folder: its `/`-separated segments are the
path's parts. S3 accepts any UTF-8 string of up to 1,024 bytes; a folder cannot hold all of them,
and some would name a file outside the folder, so `key_parts` refuses a key with

- an empty segment (a leading `/`, `a//b`, or a trailing `/`, S3's "folder" marker objects): a
  file path would fold them away, and listing could not give the key back as it was put;
- a `.` or `..` segment, a backslash, a NUL or another control character (they would climb out
  of the folder, mean another path on Windows, or could not be written in a listing's XML);
- a segment starting with `TEMPORARY_PREFIX`, the names the store's atomic writes use for the
  files they write before renaming them.

Keys arrive already percent-decoded (the HTTP layer decodes the path), so `%2e%2e/x` is checked
as `../x`. A symlink that leads outside the folder is the store's to catch: it needs the disk.
"""

from __future__ import annotations

from redstep.buckets.errors import InvalidKey, KeyTooLongError

MAX_KEY_BYTES = 1024
"""S3's limit on a key's length, in bytes of UTF-8."""

TEMPORARY_PREFIX = ".redstep-upload-"
"""How the files an unfinished put writes are named; listings skip them, keys may not use it."""


def key_parts(key: str) -> tuple[str, ...]:
    """The path segments `key` names inside a bucket folder; raise InvalidKey if it names none."""
    if not key:
        raise InvalidKey(key, "is empty")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        # Only a file name the file system could not decode gets here (as surrogate escapes).
        raise InvalidKey(key, "is not valid UTF-8") from None
    if size > MAX_KEY_BYTES:
        raise KeyTooLongError()
    if "\\" in key:
        raise InvalidKey(key, "contains a backslash, which a local folder cannot hold portably")
    if any(ord(character) < 0x20 or ord(character) == 0x7F for character in key):
        raise InvalidKey(key, "contains a control character")
    parts = tuple(key.split("/"))
    for part in parts:
        if not part:
            raise InvalidKey(key, "has an empty path segment (a leading, trailing or double `/`)")
        if part in (".", ".."):
            raise InvalidKey(key, f"has a {part!r} path segment")
        if part.startswith(TEMPORARY_PREFIX):
            raise InvalidKey(key, f"has a segment starting {TEMPORARY_PREFIX!r}, kept for uploads")
    return parts


def is_storable_key(key: str) -> bool:
    """Whether `key` is one a bucket folder holds (what listings show of the files they find)."""
    try:
        key_parts(key)
    except (InvalidKey, KeyTooLongError):
        return False
    return True

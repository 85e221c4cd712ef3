"""Content streamed into the store through writers, and out of it through readers."""

from __future__ import annotations

import errno
import hashlib
import os
import zlib
from pathlib import Path

import pytest

from redstep.buckets import (
    AccessDenied,
    Buckets,
    InternalError,
    InvalidArgument,
    InvalidKey,
    KeyConflict,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    ObjectInfo,
)
from redstep.buckets.files import READ_CHUNK, StagedFile
from redstep.buckets.keys import TEMPORARY_PREFIX

MIB = 1024 * 1024


def files_under(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def content_of(store: Buckets, key: str) -> bytes:
    return store.read("data", key, lambda info: (0, info.size - 1))[1]


# -- writers -------------------------------------------------------------------------------------


def test_a_put_streams_to_a_temporary_file_and_appears_on_commit(
    store: Buckets, folder: Path
) -> None:
    heard: list[ObjectInfo] = []
    store.subscribe(lambda bucket, info, reason: heard.append(info))
    pieces = [os.urandom(300_000) for _ in range(5)]
    with store.open_put("data", "in/big.bin", content_type="text/plain") as writer:
        for piece in pieces:
            writer.write(piece)
        assert writer.size == 1_500_000
        assert writer.md5_digest() == hashlib.md5(b"".join(pieces)).digest()
        # Written so far, but not an object: only a temporary file no listing shows.
        [temporary] = files_under(folder)
        assert temporary.startswith(f"in/{TEMPORARY_PREFIX}")
        with pytest.raises(NoSuchKey):
            store.head("data", "in/big.bin")
        assert store.list_objects("data").contents == ()
        assert heard == []
        info = writer.commit()
    assert info.etag == f'"{hashlib.md5(b"".join(pieces)).hexdigest()}"'
    assert (info.size, info.content_type) == (1_500_000, "text/plain")
    assert content_of(store, "in/big.bin") == b"".join(pieces)
    assert files_under(folder) == ["in/big.bin"]
    assert heard == [info]


def test_a_discarded_put_leaves_the_old_object_and_nothing_else(
    store: Buckets, folder: Path
) -> None:
    old = store.put("data", "k.csv", b"old")
    with store.open_put("data", "k.csv") as writer:
        writer.write(b"new, but given up")
    assert files_under(folder) == ["k.csv"]
    assert store.head("data", "k.csv") == old
    writer.discard()  # again: nothing to do
    with pytest.raises(ValueError, match="committed or discarded"):
        writer.write(b"late")
    with pytest.raises(ValueError, match="committed or discarded"):
        writer.commit()


def test_a_put_is_refused_before_any_content_is_written(
    store: Buckets, folder: Path, tmp_path: Path
) -> None:
    store.put("data", "folder/inside", b"x")
    (tmp_path / "outside").mkdir()
    (folder / "door").symlink_to(tmp_path / "outside", target_is_directory=True)
    refusals: list[tuple[str, str, type[Exception]]] = [
        ("nope", "k", NoSuchBucket),
        ("data", "../k", InvalidKey),
        ("data", "folder", KeyConflict),  # a folder is where the object would be
        ("data", "folder/inside/k", KeyConflict),  # an object is where a folder would be
        ("data", "door/k", AccessDenied),
    ]
    for bucket, key, error in refusals:
        with pytest.raises(error):
            store.open_put(bucket, key)
    assert files_under(folder) == ["folder/inside"]
    assert list((tmp_path / "outside").iterdir()) == []


def test_a_put_makes_nothing_on_the_disk_until_its_first_bytes(
    store: Buckets, folder: Path
) -> None:
    writer = store.open_put("data", "new/deep/k.csv")
    assert not folder.exists()  # not even the bucket's folder
    writer.discard()
    assert not folder.exists()
    with store.open_put("data", "empty") as writer:
        assert not writer.is_staged
        info = writer.commit()  # an empty object is staged at its commit
    assert (info.size, content_of(store, "empty")) == (0, b"")


def test_a_put_given_up_removes_the_folders_it_made_and_only_those(
    store: Buckets, folder: Path
) -> None:
    store.put("data", "kept/object", b"x")
    (folder / "made-by-hand").mkdir()
    for key in ["new/deeper/k", "kept/new/k", "made-by-hand/k", "top"]:
        with store.open_put("data", key) as writer:
            writer.write(b"given up")
            assert writer.is_staged
    assert sorted(str(path.relative_to(folder)) for path in folder.rglob("*")) == [
        "kept",
        "kept/object",
        "made-by-hand",  # there before the put: not the put's to remove
    ]


def test_a_failed_write_discards_itself(
    store: Buckets, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = store.open_put("data", "k")
    writer.write(b"first")

    def full_disk(staged: StagedFile, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(StagedFile, "write", full_disk)
    with pytest.raises(InternalError):
        writer.write(b"x" * 10)
    assert files_under(folder) == []


def test_a_part_streams_to_the_staging_folder(store: Buckets, staging: Path) -> None:
    upload = store.create_multipart_upload("data", "k")
    with store.open_part("data", "k", upload.upload_id, 1) as writer:
        writer.write(b"given ")
        writer.write(b"up")
    assert store.list_parts("data", "k", upload.upload_id).parts == ()
    assert sorted(path.name for path in (staging / upload.upload_id).iterdir()) == ["upload.json"]
    with store.open_part("data", "k", upload.upload_id, 1) as writer:
        writer.write(b"kept ")
        writer.write(b"part")
        part = writer.commit()
    assert (part.etag, part.size) == (f'"{hashlib.md5(b"kept part").hexdigest()}"', 9)
    assert store.list_parts("data", "k", upload.upload_id).parts == (part,)


def test_a_part_is_refused_before_any_content_is_written(store: Buckets, staging: Path) -> None:
    upload = store.create_multipart_upload("data", "k")
    with pytest.raises(InvalidArgument):
        store.open_part("data", "k", upload.upload_id, 0)
    with pytest.raises(NoSuchUpload):
        store.open_part("data", "other", upload.upload_id, 1)
    assert sorted(path.name for path in (staging / upload.upload_id).iterdir()) == ["upload.json"]


def test_a_part_whose_upload_went_meanwhile_is_no_such_upload(store: Buckets) -> None:
    upload = store.create_multipart_upload("data", "k")
    writer = store.open_part("data", "k", upload.upload_id, 1)
    writer.write(b"late")
    store.abort_multipart_upload("data", "k", upload.upload_id)
    with pytest.raises(NoSuchUpload):
        writer.commit()


# -- readers -------------------------------------------------------------------------------------


def test_a_reader_streams_ranges_in_chunks_from_the_file_it_opened(
    store: Buckets, folder: Path
) -> None:
    content = os.urandom(3 * MIB + 5)
    store.put("data", "big.bin", content)
    with store.open_read("data", "big.bin") as reader:
        # Replaced after opening: the reader still reads the version it described.
        store.put("data", "big.bin", b"replaced")
        assert reader.info.size == len(content)
        assert reader.info.etag == f'"{hashlib.md5(content).hexdigest()}"'
        chunks = list(reader.chunks(0, reader.info.size - 1))
        assert all(len(chunk) <= READ_CHUNK for chunk in chunks)
        assert len(chunks) == 4
        assert b"".join(chunks) == content
        assert reader.read(10, 19) == content[10:20]
        assert reader.crc32() == zlib.crc32(content)
    assert content_of(store, "big.bin") == b"replaced"


def test_an_empty_object_reads_as_nothing(store: Buckets) -> None:
    store.put("data", "empty", b"")
    with store.open_read("data", "empty") as reader:
        assert list(reader.chunks(0, -1)) == []
        assert reader.crc32() == 0


def test_a_file_that_shrinks_while_read_is_an_error_not_a_short_object(
    store: Buckets, folder: Path
) -> None:
    store.put("data", "shrinking", b"x" * 100)
    with store.open_read("data", "shrinking") as reader:
        os.truncate(folder / "shrinking", 10)  # edited in place, outside the store
        with pytest.raises(InternalError):
            reader.read(0, 99)

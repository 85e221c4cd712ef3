"""The bucket store on disk: objects, listings, escapes, atomic writes, subscribers."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import pytest

from redstep.buckets import (
    DEFAULT_CONTENT_TYPE,
    AccessDenied,
    BucketError,
    Buckets,
    CompletedPart,
    InternalError,
    InvalidArgument,
    InvalidKey,
    KeyConflict,
    KeyTooLongError,
    NoSuchBucket,
    NoSuchKey,
    ObjectInfo,
    WriteReason,
)
from redstep.buckets.files import ABANDONED_SECONDS
from redstep.buckets.keys import TEMPORARY_PREFIX


@pytest.fixture
def store(folder: Path, tmp_path: Path) -> Buckets:
    return Buckets({"data": folder, "later": tmp_path / "project" / "not-made-yet"})


def whole_range(info: ObjectInfo) -> tuple[int, int]:
    """The range a read of the whole object chooses."""
    return 0, info.size - 1


def content_of(store: Buckets, bucket: str, key: str) -> bytes:
    return store.read(bucket, key, whole_range)[1]


def files_under(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


# -- objects -------------------------------------------------------------------------------------


def test_put_then_get_and_head_answer_the_object(store: Buckets, folder: Path) -> None:
    body = b"id,name\n1,alice\n"
    put = store.put("data", "in/2024/customers.csv", body)
    assert (folder / "in" / "2024" / "customers.csv").read_bytes() == body
    assert put.etag == f'"{hashlib.md5(body).hexdigest()}"'
    assert put.size == len(body)
    assert put.content_type == "text/csv"
    assert put.last_modified.tzinfo is UTC
    assert put.last_modified.microsecond == 0
    info, content = store.read("data", "in/2024/customers.csv", whole_range)
    assert content == body
    assert info == put
    assert store.head("data", "in/2024/customers.csv") == put


def test_last_modified_is_the_files_mtime(store: Buckets, folder: Path) -> None:
    store.put("data", "a.txt", b"x")
    os.utime(folder / "a.txt", (1_700_000_000.75, 1_700_000_000.75))
    assert store.head("data", "a.txt").last_modified == datetime(
        2023, 11, 14, 22, 13, 20, tzinfo=UTC
    )


def test_a_put_replaces_the_object(store: Buckets) -> None:
    store.put("data", "k", b"old")
    store.put("data", "k", b"new content")
    info, content = store.read("data", "k", whole_range)
    assert content == b"new content"
    assert info.size == 11


def test_an_etag_follows_a_change_made_outside_the_store(store: Buckets, folder: Path) -> None:
    first = store.put("data", "edited.sql", b"select 1;")
    (folder / "edited.sql").write_bytes(b"select 2;")
    changed = store.head("data", "edited.sql")
    assert changed.etag == f'"{hashlib.md5(b"select 2;").hexdigest()}"'
    assert changed.etag != first.etag


def test_content_type_is_what_the_put_said_then_the_guess(store: Buckets) -> None:
    put = store.put("data", "report.csv", b"a", content_type="text/plain")
    assert put.content_type == "text/plain"
    # Nothing beside the file keeps the put's type: reads answer the type the name suggests.
    assert store.head("data", "report.csv").content_type == "text/csv"
    assert store.put("data", "blob.unknownext", b"a").content_type == DEFAULT_CONTENT_TYPE
    assert store.put("data", "noext", b"a").content_type == DEFAULT_CONTENT_TYPE
    assert store.put("data", "rows.csv.gz", b"a").content_type == DEFAULT_CONTENT_TYPE
    assert store.put("data", "data:x.json", b"{}").content_type == "application/json"


def test_an_empty_object_is_an_object(store: Buckets) -> None:
    store.put("data", "empty", b"")
    info, content = store.read("data", "empty", whole_range)
    assert (info.size, content) == (0, b"")
    assert info.etag == '"d41d8cd98f00b204e9800998ecf8427e"'


def test_a_folder_not_made_yet_is_an_empty_bucket(store: Buckets, tmp_path: Path) -> None:
    later = tmp_path / "project" / "not-made-yet"
    assert store.list_objects("later").contents == ()
    with pytest.raises(NoSuchKey):
        store.head("later", "x")
    store.delete("later", "x")
    assert not later.exists()
    store.put("later", "x/y.txt", b"made")
    assert (later / "x" / "y.txt").read_bytes() == b"made"


def test_missing_objects_are_no_such_key(store: Buckets) -> None:
    store.put("data", "a/b", b"x")
    for key in ["nothing", "a", "a/b/c", "a/missing"]:
        with pytest.raises(NoSuchKey) as raised:
            store.head("data", key)
        assert (raised.value.code, raised.value.http_status) == ("NoSuchKey", 404)
        assert raised.value.message == "The specified key does not exist."
        assert raised.value.details() == {"Key": key}
        with pytest.raises(NoSuchKey):
            store.head("data", key)


@pytest.mark.parametrize(
    "operation",
    [
        lambda store: store.read("nope", "k", whole_range),
        lambda store: store.head("nope", "k"),
        lambda store: store.put("nope", "k", b""),
        lambda store: store.delete("nope", "k"),
        lambda store: store.list_objects("nope"),
        lambda store: store.folder("nope"),
    ],
)
def test_an_unknown_bucket_is_no_such_bucket(operation: Callable[[Buckets], object]) -> None:
    store = Buckets({})
    with pytest.raises(NoSuchBucket) as raised:
        operation(store)
    assert (raised.value.code, raised.value.http_status) == ("NoSuchBucket", 404)
    assert raised.value.message == "The specified bucket does not exist"
    assert raised.value.details() == {"BucketName": "nope"}


def test_delete_removes_the_object_and_the_folders_it_empties(store: Buckets, folder: Path) -> None:
    store.put("data", "a/b/c/one", b"1")
    store.put("data", "a/two", b"2")
    store.delete("data", "a/b/c/one")
    assert not (folder / "a" / "b").exists()
    assert (folder / "a" / "two").exists()
    store.delete("data", "a/two")
    assert folder.is_dir()
    assert list(folder.iterdir()) == []


def test_deleting_what_is_not_there_succeeds(store: Buckets, folder: Path) -> None:
    store.put("data", "a/b", b"x")
    store.delete("data", "missing")
    store.delete("data", "a/b/under-a-file")
    store.delete("data", "a")  # a folder is not an object
    assert files_under(folder) == ["a/b"]


def test_a_key_cannot_be_both_an_object_and_a_folder(store: Buckets) -> None:
    store.put("data", "a", b"object")
    with pytest.raises(KeyConflict) as raised:
        store.put("data", "a/b", b"under it")
    assert (raised.value.code, raised.value.http_status) == ("InvalidArgument", 400)
    store.put("data", "x/y", b"object")
    with pytest.raises(KeyConflict):
        store.put("data", "x", b"where the folder is")


def test_keys_longer_than_s3_allows_are_refused(store: Buckets) -> None:
    with pytest.raises(KeyTooLongError) as raised:
        store.put("data", "k" * 1025, b"")
    assert (raised.value.code, raised.value.http_status) == ("KeyTooLongError", 400)
    longest = "/".join(["é" * 120] * 4) + "/" + "x" * 60
    assert len(longest.encode()) == 1024
    store.put("data", longest, b"1,024 bytes of UTF-8 is allowed")
    assert content_of(store, "data", longest) == b"1,024 bytes of UTF-8 is allowed"


def test_a_segment_longer_than_the_file_system_allows_is_too_long(store: Buckets) -> None:
    with pytest.raises(KeyTooLongError):
        store.put("data", "s" * 300, b"")
    with pytest.raises(NoSuchKey):
        store.head("data", "s" * 300)


# -- escapes -------------------------------------------------------------------------------------

ESCAPES = [
    "../x",
    "a/../../x",
    "a/..",
    "/etc/passwd",
    "//etc/passwd",
    "./x",
    "a/./b",
    "a//b",
    "a/",
    unquote("%2e%2e/x"),
    unquote("a/%2E%2E/%2e%2e/x"),
    unquote("%2e%2e%2fx"),
    "..\\x",
    "a\\..\\..\\x",
    "x\x00y",
    "../\x00",
    "tab\there",
    f"a/{TEMPORARY_PREFIX}1234",
    "",
]


@pytest.mark.parametrize("key", ESCAPES)
def test_a_key_that_could_leave_the_folder_is_refused_by_every_operation(
    store: Buckets, tmp_path: Path, key: str
) -> None:
    before = sorted(tmp_path.rglob("*"))
    operations: list[Callable[[], object]] = [
        lambda: store.put("data", key, b"escaped"),
        lambda: store.read("data", key, whole_range),
        lambda: store.head("data", key),
        lambda: store.delete("data", key),
    ]
    for operation in operations:
        with pytest.raises(InvalidKey) as raised:
            operation()
        assert isinstance(raised.value, InvalidArgument)
        assert (raised.value.code, raised.value.http_status) == ("InvalidArgument", 400)
    assert sorted(tmp_path.rglob("*")) == before
    assert not Path("/x").exists() or Path("/x").read_bytes() != b"escaped"


@pytest.fixture
def outside(tmp_path: Path, folder: Path) -> Path:
    place = tmp_path / "outside"
    place.mkdir()
    (place / "secret.txt").write_bytes(b"secret")
    folder.mkdir(parents=True)
    (folder / "leak.txt").symlink_to(place / "secret.txt")
    (folder / "door").symlink_to(place, target_is_directory=True)
    return place


def test_a_symlink_to_a_file_outside_is_refused(store: Buckets, outside: Path) -> None:
    operations: list[Callable[[], object]] = [
        lambda: store.read("data", "leak.txt", whole_range),
        lambda: store.head("data", "leak.txt"),
        lambda: store.put("data", "leak.txt", b"overwritten"),
        lambda: store.delete("data", "leak.txt"),
    ]
    for operation in operations:
        with pytest.raises(AccessDenied) as raised:
            operation()
        assert (raised.value.code, raised.value.http_status) == ("AccessDenied", 403)
    assert (outside / "secret.txt").read_bytes() == b"secret"


def test_a_symlinked_folder_leading_outside_is_refused(store: Buckets, outside: Path) -> None:
    for key in ["door/secret.txt", "door/new.txt", "door/sub/new.txt"]:
        with pytest.raises(AccessDenied):
            store.put("data", key, b"planted")
        with pytest.raises(AccessDenied):
            store.head("data", key)
        with pytest.raises(AccessDenied):
            store.delete("data", key)
    assert sorted(path.name for path in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_bytes() == b"secret"


def test_listings_leave_out_links_that_lead_outside(store: Buckets, outside: Path) -> None:
    store.put("data", "real.txt", b"real")
    assert [info.key for info in store.list_objects("data").contents] == ["real.txt"]
    assert store.list_objects("data", prefix="door/").contents == ()


def test_a_symlink_inside_the_folder_is_followed(store: Buckets, folder: Path) -> None:
    store.put("data", "2024/sales.csv", b"a,b\n")
    (folder / "latest.csv").symlink_to(folder / "2024" / "sales.csv")
    (folder / "current").symlink_to(folder / "2024", target_is_directory=True)
    assert content_of(store, "data", "latest.csv") == b"a,b\n"
    assert content_of(store, "data", "current/sales.csv") == b"a,b\n"
    # Linked files are listed; linked folders are not walked, whatever the prefix.
    assert [info.key for info in store.list_objects("data").contents] == [
        "2024/sales.csv",
        "latest.csv",
    ]
    assert store.list_objects("data", prefix="current/").contents == ()


# -- listings ------------------------------------------------------------------------------------


@pytest.fixture
def listed_store(store: Buckets, folder: Path) -> Buckets:
    for key in ["a-c", "a/b/c.csv", "a/b/d.csv", "a/e", "b", "photos/2024/1.jpg", "z", "ü"]:
        store.put("data", key, key.encode())
    (folder / "empty" / "folders").mkdir(parents=True)
    (folder / f"{TEMPORARY_PREFIX}abandoned").write_bytes(b"half")
    (folder / "a" / f"{TEMPORARY_PREFIX}abandoned").write_bytes(b"half")
    return store


def test_a_listing_is_in_byte_order_and_hides_temporary_files(listed_store: Buckets) -> None:
    listing = listed_store.list_objects("data")
    keys = [info.key for info in listing.contents]
    assert keys == ["a-c", "a/b/c.csv", "a/b/d.csv", "a/e", "b", "photos/2024/1.jpg", "z", "ü"]
    assert listing.key_count == 8
    assert not listing.is_truncated
    assert listing.next_continuation_token is None
    info = listing.contents[1]
    assert info == listed_store.head("data", "a/b/c.csv")


def test_a_listing_with_a_delimiter_has_common_prefixes(listed_store: Buckets) -> None:
    listing = listed_store.list_objects("data", delimiter="/")
    assert [info.key for info in listing.contents] == ["a-c", "b", "z", "ü"]
    # The empty folders hold no object, so they are no prefix.
    assert listing.common_prefixes == ("a/", "photos/")
    assert listing.key_count == 6
    under_a = listed_store.list_objects("data", prefix="a/", delimiter="/")
    assert [info.key for info in under_a.contents] == ["a/e"]
    assert under_a.common_prefixes == ("a/b/",)
    assert listed_store.list_objects("data", prefix="a/b/c").contents[0].key == "a/b/c.csv"
    assert listed_store.list_objects("data", prefix="nothing/").contents == ()
    assert listed_store.list_objects("data", prefix="../").contents == ()


def test_a_listing_pages_with_opaque_tokens(listed_store: Buckets) -> None:
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        listing = listed_store.list_objects(
            "data", delimiter="/", max_keys=2, continuation_token=token
        )
        pages += 1
        assert listing.key_count <= 2
        seen += [info.key for info in listing.contents] + list(listing.common_prefixes)
        if not listing.is_truncated:
            assert listing.next_continuation_token is None
            break
        token = listing.next_continuation_token
        assert token is not None
    assert pages == 3
    assert seen == ["a-c", "a/", "b", "photos/", "z", "ü"]


def test_start_after_and_a_token_together_resume_from_the_token(listed_store: Buckets) -> None:
    first = listed_store.list_objects("data", start_after="a/e", max_keys=1)
    assert [info.key for info in first.contents] == ["b"]
    assert first.start_after == "a/e"
    second = listed_store.list_objects(
        "data", start_after="a/e", continuation_token=first.next_continuation_token
    )
    assert [info.key for info in second.contents] == ["photos/2024/1.jpg", "z", "ü"]
    assert second.start_after == "a/e"


def test_listing_arguments_s3_refuses(listed_store: Buckets) -> None:
    with pytest.raises(InvalidArgument):
        listed_store.list_objects("data", continuation_token="forged")
    with pytest.raises(InvalidArgument):
        listed_store.list_objects("data", max_keys=-1)
    zero = listed_store.list_objects("data", max_keys=0)
    assert (zero.key_count, zero.is_truncated) == (0, False)


def test_buckets_are_listed_by_name(store: Buckets, folder: Path) -> None:
    store.put("data", "x", b"")
    assert store.names() == ("data", "later")
    listed = store.list_buckets()
    assert [bucket.name for bucket in listed] == ["data", "later"]
    assert all(bucket.creation_date.tzinfo is UTC for bucket in listed)


# -- atomic writes -------------------------------------------------------------------------------


def test_a_put_leaves_no_temporary_file(store: Buckets, folder: Path) -> None:
    store.put("data", "a/b.csv", b"x" * 100_000)
    store.put("data", "a/b.csv", b"y")
    assert files_under(folder) == ["a/b.csv"]


def test_a_failed_write_keeps_the_old_object_and_cleans_up(
    store: Buckets, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put("data", "k.csv", b"old")

    def full_disk(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(InternalError) as raised:
        store.put("data", "k.csv", b"new")
    assert (raised.value.code, raised.value.http_status) == ("InternalError", 500)
    monkeypatch.undo()
    assert content_of(store, "data", "k.csv") == b"old"
    assert files_under(folder) == ["k.csv"]


def test_temporary_files_a_stopped_process_left_are_swept_when_the_store_opens(
    folder: Path, tmp_path: Path
) -> None:
    (folder / "a" / "b").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (folder / "door").symlink_to(tmp_path / "outside", target_is_directory=True)
    long_ago = time.time() - ABANDONED_SECONDS - 60
    abandoned = [
        folder / f"{TEMPORARY_PREFIX}0001",
        folder / "a" / "b" / f"{TEMPORARY_PREFIX}0002",
        tmp_path / "outside" / f"{TEMPORARY_PREFIX}0003",  # behind a symlink: not followed
    ]
    recent = folder / "a" / f"{TEMPORARY_PREFIX}0004"  # a write in progress, perhaps elsewhere
    old_object = folder / "a" / "old.csv"
    for path in [*abandoned, recent, old_object]:
        path.write_bytes(b"x")
    for path in [*abandoned, old_object]:
        os.utime(path, (long_ago, long_ago))
    Buckets({"data": folder, "later": tmp_path / "not-made-yet"})
    assert files_under(folder) == ["a/.redstep-upload-0004", "a/old.csv"]
    assert not (folder / "a" / "b").exists()  # it held only what was swept
    assert [path.name for path in (tmp_path / "outside").iterdir()] == [abandoned[2].name]


def test_readers_never_see_a_partial_object(store: Buckets) -> None:
    versions = {b"A" * 200_000, b"B" * 300_000}
    store.put("data", "hot.csv", b"A" * 200_000)
    done = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for round_ in range(60):
                store.put("data", "hot.csv", b"B" * 300_000 if round_ % 2 else b"A" * 200_000)
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            done.set()

    writer = threading.Thread(target=write)
    writer.start()
    reads = 0
    while not done.is_set() or reads == 0:
        info, content = store.read("data", "hot.csv", whole_range)
        assert content in versions
        assert info.size == len(content)
        assert info.etag == f'"{hashlib.md5(content).hexdigest()}"'
        listing = store.list_objects("data")
        assert [entry.key for entry in listing.contents] == ["hot.csv"]
        reads += 1
    writer.join()
    assert errors == []


# -- copies and ranged reads ---------------------------------------------------------------------


def test_copy_within_and_between_buckets(store: Buckets, tmp_path: Path) -> None:
    heard: list[tuple[str, str]] = []
    store.subscribe(lambda bucket, info, reason: heard.append((bucket, info.key)))
    source = store.put("data", "in/a.csv", b"1,2\n")
    copied = store.copy_object("data", "in/a.csv", "data", "archive/a.csv")
    assert (copied.etag, copied.size) == (source.etag, 4)
    moved = store.copy_object("data", "in/a.csv", "later", "a.csv", content_type="text/plain")
    assert moved.content_type == "text/plain"
    assert (tmp_path / "project" / "not-made-yet" / "a.csv").read_bytes() == b"1,2\n"
    assert content_of(store, "data", "in/a.csv") == b"1,2\n"
    assert heard == [("data", "in/a.csv"), ("data", "archive/a.csv"), ("later", "a.csv")]


def test_a_copy_onto_itself_rewrites_the_object(store: Buckets, folder: Path) -> None:
    store.put("data", "k", b"same")
    store.copy_object("data", "k", "data", "k")
    assert content_of(store, "data", "k") == b"same"
    assert files_under(folder) == ["k"]


def test_what_a_copy_refuses(store: Buckets, outside: Path) -> None:
    store.put("data", "k", b"x")
    with pytest.raises(NoSuchKey):
        store.copy_object("data", "missing", "data", "k2")
    with pytest.raises(NoSuchBucket):
        store.copy_object("nope", "k", "data", "k2")
    with pytest.raises(NoSuchBucket):
        store.copy_object("data", "k", "nope", "k2")
    with pytest.raises(AccessDenied):
        store.copy_object("data", "leak.txt", "data", "k2")
    with pytest.raises(InvalidKey):
        store.copy_object("data", "k", "data", "../k2")

    def refuse(info: ObjectInfo) -> None:
        assert info.etag == f'"{hashlib.md5(b"x").hexdigest()}"'
        raise InternalError("the condition said no")

    with pytest.raises(InternalError):
        store.copy_object("data", "k", "data", "k2", source_condition=refuse)
    with pytest.raises(NoSuchKey):
        store.head("data", "k2")


def test_upload_part_copy_takes_a_range_of_the_source(store: Buckets) -> None:
    store.put("data", "digits", b"0123456789")
    created = store.create_multipart_upload("data", "copy")
    part = store.upload_part_copy(
        "data",
        "copy",
        created.upload_id,
        1,
        source_bucket="data",
        source_key="digits",
        byte_range=(2, 5),
    )
    assert (part.size, part.etag) == (4, f'"{hashlib.md5(b"2345").hexdigest()}"')
    whole = store.upload_part_copy(
        "data", "copy", created.upload_id, 2, source_bucket="data", source_key="digits"
    )
    assert whole.size == 10
    for bad in [(5, 2), (0, 10)]:
        with pytest.raises(InvalidArgument) as raised:
            store.upload_part_copy(
                "data",
                "copy",
                created.upload_id,
                3,
                source_bucket="data",
                source_key="digits",
                byte_range=bad,
            )
        assert raised.value.message == "Range specified is not valid for source object of size: 10"


def test_read_answers_only_the_range_it_chooses(store: Buckets) -> None:
    put = store.put("data", "digits", b"0123456789")
    seen: list[ObjectInfo] = []

    def middle(info: ObjectInfo) -> tuple[int, int]:
        seen.append(info)
        return 3, 5

    assert store.read("data", "digits", middle) == (put, b"345")
    assert seen == [put]
    assert store.read("data", "digits", lambda info: None) == (put, b"")
    assert store.read("data", "digits", lambda info: (0, info.size - 1))[1] == b"0123456789"
    with pytest.raises(NoSuchKey):
        store.read("data", "missing", middle)


# -- subscribers ---------------------------------------------------------------------------------


def test_subscribers_hear_of_every_successful_put(store: Buckets) -> None:
    heard: list[tuple[str, ObjectInfo]] = []
    unsubscribe = store.subscribe(lambda bucket, info, reason: heard.append((bucket, info)))
    first = store.put("data", "one.csv", b"1")
    second = store.put("data", "one.csv", b"22")
    with pytest.raises(BucketError):
        store.put("data", "../escape", b"")
    store.delete("data", "one.csv")
    assert heard == [("data", first), ("data", second)]
    unsubscribe()
    store.put("data", "two.csv", b"2")
    assert len(heard) == 2


def test_write_subscribers_hear_which_action_wrote_each_object(store: Buckets) -> None:
    heard: list[tuple[str, str, WriteReason]] = []
    unsubscribe = store.subscribe(
        lambda bucket, info, reason: heard.append((bucket, info.key, reason))
    )
    store.put("data", "in/a.csv", b"1")
    store.copy_object("data", "in/a.csv", "later", "a.csv")
    upload = store.create_multipart_upload("data", "big.csv")
    part = store.upload_part("data", "big.csv", upload.upload_id, 1, b"parts")
    store.complete_multipart_upload(
        "data", "big.csv", upload.upload_id, [CompletedPart(1, part.etag)]
    )
    store.complete_multipart_upload(
        "data", "big.csv", upload.upload_id, [CompletedPart(1, part.etag)]
    )
    assert heard == [
        ("data", "in/a.csv", WriteReason.PUT_OBJECT),
        ("later", "a.csv", WriteReason.COPY_OBJECT),
        ("data", "big.csv", WriteReason.COMPLETE_MULTIPART_UPLOAD),
    ]
    assert [reason.value for _, _, reason in heard] == [
        "PutObject",
        "CopyObject",
        "CompleteMultipartUpload",
    ]
    unsubscribe()
    store.put("data", "in/b.csv", b"2")
    assert len(heard) == 3


def test_a_failing_subscriber_does_not_fail_the_put(
    store: Buckets, caplog: pytest.LogCaptureFixture
) -> None:
    heard: list[str] = []

    def broken(bucket: str, info: ObjectInfo, reason: WriteReason) -> None:
        raise RuntimeError("trigger service is down")

    store.subscribe(broken)
    store.subscribe(lambda bucket, info, reason: heard.append(info.key))
    with caplog.at_level(logging.ERROR, logger="redstep.buckets.store"):
        info = store.put("data", "file.csv", b"x")
    assert content_of(store, "data", "file.csv") == b"x"
    assert heard == ["file.csv"]
    assert info.key == "file.csv"
    assert "s3://data/file.csv" in caplog.text
    assert "trigger service is down" in caplog.text


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (FileNotFoundError(errno.ENOENT, "gone"), NoSuchKey),
        (PermissionError(errno.EACCES, "denied"), AccessDenied),
        (OSError(errno.ENAMETOOLONG, "long"), KeyTooLongError),
        (NotADirectoryError(errno.ENOTDIR, "file"), KeyConflict),
        (IsADirectoryError(errno.EISDIR, "folder"), KeyConflict),
        (FileExistsError(errno.EEXIST, "exists"), KeyConflict),
        (OSError(errno.ENOSPC, "full"), InternalError),
        (OSError(errno.EIO, "broken disk"), InternalError),
    ],
)
def test_os_errors_map_to_s3_errors(error: OSError, expected: type[BucketError]) -> None:
    mapped = BucketError.from_os_error(error, bucket="data", key="k")
    assert type(mapped) is expected
    assert str(mapped).startswith(f"{mapped.code}: ")


def test_closing_the_store_closes_its_state_and_a_later_call_opens_it_again(
    store: Buckets,
) -> None:
    info = store.put("data", "kept.csv", b"a,b\n")
    store.close()
    store.close()
    assert store.head("data", "kept.csv").etag == info.etag

"""Multipart uploads in the store: staging, S3's completion rules, the multipart ETag, listings."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from redstep.buckets import (
    MIN_PART_SIZE,
    Buckets,
    CompletedPart,
    EntityTooSmall,
    InvalidArgument,
    InvalidKey,
    InvalidPart,
    InvalidPartOrder,
    MultipartUpload,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    ObjectInfo,
    Part,
    multipart_etag,
)
from redstep.buckets.uploads import select_parts, select_uploads

BIG = MIN_PART_SIZE


@pytest.fixture
def heard(store: Buckets) -> list[tuple[str, ObjectInfo]]:
    told: list[tuple[str, ObjectInfo]] = []
    store.subscribe(lambda bucket, info, reason: told.append((bucket, info)))
    return told


def md5(content: bytes) -> str:
    return hashlib.md5(content).hexdigest()


def s3_multipart_etag(*parts: bytes) -> str:
    """S3's rule, spelled out independently of the code under test."""
    joined = b"".join(hashlib.md5(part).digest() for part in parts)
    return f'"{hashlib.md5(joined).hexdigest()}-{len(parts)}"'


def whole_range(info: ObjectInfo) -> tuple[int, int]:
    """The range a read of the whole object chooses."""
    return 0, info.size - 1


def content_of(store: Buckets, bucket: str, key: str) -> bytes:
    return store.read(bucket, key, whole_range)[1]


def files_under(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def named(*parts: Part) -> list[CompletedPart]:
    return [CompletedPart(part.part_number, part.etag) for part in parts]


# -- the pure rules ------------------------------------------------------------------------------


def part(number: int, size: int = BIG, etag: str = "") -> Part:
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    return Part(number, etag or f'"{md5(str(number).encode())}"', size, moment)


def test_multipart_etag_is_the_md5_of_the_part_md5s_and_the_count() -> None:
    first, second = b"a" * 10, b"b" * 3
    parts = [part(1, etag=f'"{md5(first)}"'), part(2, etag=f'"{md5(second)}"')]
    assert multipart_etag(parts) == s3_multipart_etag(first, second)
    assert multipart_etag(parts[:1]).endswith('-1"')


def test_select_parts_takes_etags_quoted_or_not_and_leaves_unnamed_parts_out() -> None:
    staged = {number: part(number) for number in (1, 2, 3, 5)}
    requested = [
        CompletedPart(2, staged[2].etag.strip('"')),
        CompletedPart(5, staged[5].etag.upper()),
    ]
    assert select_parts("u", requested, staged) == (staged[2], staged[5])


@pytest.mark.parametrize(
    ("numbers", "error"),
    [([2, 1], InvalidPartOrder), ([1, 1], InvalidPartOrder), ([1, 4], InvalidPart)],
)
def test_select_parts_refuses_order_and_missing_parts(
    numbers: list[int], error: type[Exception]
) -> None:
    staged = {number: part(number) for number in (1, 2, 3)}
    requested = [CompletedPart(number, f'"{md5(str(number).encode())}"') for number in numbers]
    with pytest.raises(error):
        select_parts("u", requested, staged)


def test_select_parts_refuses_a_wrong_etag_naming_it() -> None:
    staged = {1: part(1)}
    with pytest.raises(InvalidPart) as raised:
        select_parts("the-id", [CompletedPart(1, '"0000"')], staged)
    assert raised.value.details() == {"UploadId": "the-id", "PartNumber": "1", "ETag": '"0000"'}
    assert (raised.value.code, raised.value.http_status) == ("InvalidPart", 400)


def test_every_part_but_the_last_must_be_five_mib() -> None:
    staged = {1: part(1, BIG), 2: part(2, BIG - 1), 3: part(3, 1)}
    assert select_parts("u", named(staged[1], staged[3]), staged) == (staged[1], staged[3])
    with pytest.raises(EntityTooSmall) as raised:
        select_parts("u", named(staged[1], staged[2], staged[3]), staged)
    assert raised.value.details() == {
        "ProposedSize": str(BIG - 1),
        "MinSizeAllowed": "5242880",
        "PartNumber": "2",
        "ETag": staged[2].etag,
    }


def upload(key: str, upload_id: str) -> MultipartUpload:
    return MultipartUpload(upload_id, "data", key, datetime(2024, 1, 1, tzinfo=UTC), None)


def test_select_uploads_pages_by_key_then_id() -> None:
    uploads = [upload("a", "1"), upload("a", "2"), upload("b", "3"), upload("c/d", "4")]

    def ids(
        prefix: str = "", key_marker: str = "", upload_id_marker: str = "", max_uploads: int = 1000
    ) -> tuple[list[str], bool]:
        page, truncated = select_uploads(
            uploads,
            prefix=prefix,
            key_marker=key_marker,
            upload_id_marker=upload_id_marker,
            max_uploads=max_uploads,
        )
        return [item.upload_id for item in page], truncated

    assert ids() == (["1", "2", "3", "4"], False)
    assert ids(max_uploads=2) == (["1", "2"], True)
    assert ids(key_marker="a") == (["3", "4"], False)
    assert ids(key_marker="a", upload_id_marker="1") == (["2", "3", "4"], False)
    assert ids(upload_id_marker="2") == (["1", "2", "3", "4"], False)  # ignored without a key
    assert ids(prefix="c/") == (["4"], False)
    assert ids(max_uploads=0) == ([], False)  # as ListObjects answers max-keys=0


# -- uploads on disk -----------------------------------------------------------------------------


def test_parts_are_staged_outside_the_bucket_until_completed(
    store: Buckets, folder: Path, staging: Path, heard: list[tuple[str, ObjectInfo]]
) -> None:
    created = store.create_multipart_upload("data", "big/file.csv", content_type="text/csv")
    assert len(created.upload_id) == 48
    first, second = os.urandom(BIG), b"tail"
    staged_first = store.upload_part("data", "big/file.csv", created.upload_id, 1, first)
    staged_second = store.upload_part("data", "big/file.csv", created.upload_id, 2, second)
    assert staged_first.etag == f'"{md5(first)}"'
    assert (staged_second.size, staged_second.part_number) == (4, 2)
    assert not folder.exists()  # nothing is in the bucket, not even a folder
    assert store.list_objects("data").contents == ()
    assert heard == []
    assert any(staging.rglob("00001.*"))

    info = store.complete_multipart_upload(
        "data", "big/file.csv", created.upload_id, named(staged_first, staged_second)
    )
    assert info.etag == s3_multipart_etag(first, second)
    assert (info.size, info.content_type) == (BIG + 4, "text/csv")
    assert content_of(store, "data", "big/file.csv") == first + second
    assert store.head("data", "big/file.csv").etag == info.etag
    assert heard == [("data", info)]
    assert files_under(folder) == ["big/file.csv"]
    assert list(staging.iterdir()) == []
    with pytest.raises(NoSuchUpload):
        store.list_parts("data", "big/file.csv", created.upload_id)


def test_a_part_can_be_uploaded_again(store: Buckets, staging: Path) -> None:
    created = store.create_multipart_upload("data", "k")
    store.upload_part("data", "k", created.upload_id, 1, b"old")
    replaced = store.upload_part("data", "k", created.upload_id, 1, b"new!")
    listing = store.list_parts("data", "k", created.upload_id)
    assert listing.parts == (replaced,)
    assert len(list(staging.rglob("00001.*"))) == 1
    info = store.complete_multipart_upload("data", "k", created.upload_id, named(replaced))
    assert content_of(store, "data", "k") == b"new!"
    assert info.etag == s3_multipart_etag(b"new!")


def test_a_refused_completion_keeps_the_upload(
    store: Buckets, heard: list[tuple[str, ObjectInfo]]
) -> None:
    created = store.create_multipart_upload("data", "k")
    small = store.upload_part("data", "k", created.upload_id, 1, b"small")
    last = store.upload_part("data", "k", created.upload_id, 2, b"last")
    with pytest.raises(EntityTooSmall):
        store.complete_multipart_upload("data", "k", created.upload_id, named(small, last))
    with pytest.raises(InvalidPartOrder):
        store.complete_multipart_upload("data", "k", created.upload_id, named(last, small))
    with pytest.raises(InvalidPart):
        store.complete_multipart_upload(
            "data", "k", created.upload_id, [CompletedPart(1, last.etag)]
        )
    assert heard == []
    info = store.complete_multipart_upload("data", "k", created.upload_id, named(last))
    assert content_of(store, "data", "k") == b"last"
    assert heard == [("data", info)]


def test_a_repeated_completion_answers_again_and_tells_no_one_again(
    store: Buckets, heard: list[tuple[str, ObjectInfo]]
) -> None:
    created = store.create_multipart_upload("data", "k")
    only = store.upload_part("data", "k", created.upload_id, 1, b"x")
    first = store.complete_multipart_upload("data", "k", created.upload_id, named(only))
    again = store.complete_multipart_upload("data", "k", created.upload_id, named(only))
    assert again == first
    assert len(heard) == 1
    with pytest.raises(NoSuchUpload):
        store.complete_multipart_upload("data", "other", created.upload_id, named(only))


def test_abort_removes_the_upload_and_its_parts(store: Buckets, staging: Path) -> None:
    created = store.create_multipart_upload("data", "k")
    store.upload_part("data", "k", created.upload_id, 1, b"x")
    store.abort_multipart_upload("data", "k", created.upload_id)
    assert list(staging.iterdir()) == []
    operations: list[Callable[[], object]] = [
        lambda: store.abort_multipart_upload("data", "k", created.upload_id),
        lambda: store.upload_part("data", "k", created.upload_id, 1, b"x"),
        lambda: store.list_parts("data", "k", created.upload_id),
        lambda: store.complete_multipart_upload("data", "k", created.upload_id, []),
    ]
    for operation in operations:
        with pytest.raises(NoSuchUpload) as raised:
            operation()
        assert (raised.value.code, raised.value.http_status) == ("NoSuchUpload", 404)
        assert raised.value.details() == {"UploadId": created.upload_id}
    with pytest.raises(NoSuchKey):
        store.head("data", "k")


@pytest.mark.parametrize("upload_id", ["", "nope", "../../data", "0" * 48, "A" * 48])
def test_an_unknown_upload_id_is_no_such_upload(store: Buckets, upload_id: str) -> None:
    with pytest.raises(NoSuchUpload):
        store.upload_part("data", "k", upload_id, 1, b"x")


def test_an_upload_answers_only_for_its_own_bucket_and_key(
    folder: Path, staging: Path, tmp_path: Path
) -> None:
    store = Buckets({"data": folder, "other": tmp_path / "other"}, staging=staging)
    created = store.create_multipart_upload("data", "k")
    for bucket, key in [("data", "k2"), ("other", "k")]:
        with pytest.raises(NoSuchUpload):
            store.list_parts(bucket, key, created.upload_id)
    with pytest.raises(NoSuchBucket):
        store.list_parts("nope", "k", created.upload_id)


def test_what_create_refuses(store: Buckets) -> None:
    with pytest.raises(NoSuchBucket):
        store.create_multipart_upload("nope", "k")
    with pytest.raises(InvalidKey):
        store.create_multipart_upload("data", "../escape")


@pytest.mark.parametrize("number", [0, -1, 10_001])
def test_part_numbers_run_from_one_to_ten_thousand(store: Buckets, number: int) -> None:
    created = store.create_multipart_upload("data", "k")
    with pytest.raises(InvalidArgument) as raised:
        store.upload_part("data", "k", created.upload_id, number, b"x")
    assert raised.value.message == "Part number must be an integer between 1 and 10000, inclusive"
    assert raised.value.details() == {"ArgumentName": "partNumber", "ArgumentValue": str(number)}
    assert store.upload_part("data", "k", created.upload_id, 10_000, b"x").part_number == 10_000


def test_uploads_outlive_the_store(folder: Path, staging: Path) -> None:
    created = Buckets({"data": folder}, staging=staging).create_multipart_upload("data", "k")
    Buckets({"data": folder}, staging=staging).upload_part("data", "k", created.upload_id, 1, b"x")
    reopened = Buckets({"data": folder}, staging=staging)
    listing = reopened.list_multipart_uploads("data")
    assert [item.upload_id for item in listing.uploads] == [created.upload_id]
    assert listing.uploads[0].initiated == created.initiated
    parts = reopened.list_parts("data", "k", created.upload_id).parts
    reopened.complete_multipart_upload("data", "k", created.upload_id, named(*parts))
    assert content_of(reopened, "data", "k") == b"x"


def test_without_a_staging_folder_parts_go_to_a_private_temporary_one(folder: Path) -> None:
    store = Buckets({"data": folder})
    created = store.create_multipart_upload("data", "k")
    only = store.upload_part("data", "k", created.upload_id, 1, b"x")
    assert not folder.exists()
    store.complete_multipart_upload("data", "k", created.upload_id, named(only))
    assert files_under(folder) == ["k"]


def test_list_parts_pages(store: Buckets) -> None:
    created = store.create_multipart_upload("data", "k")
    for number in (3, 1, 2):
        store.upload_part("data", "k", created.upload_id, number, bytes([number]))
    first = store.list_parts("data", "k", created.upload_id, max_parts=2)
    assert [item.part_number for item in first.parts] == [1, 2]
    assert (first.is_truncated, first.next_part_number_marker) == (True, 2)
    rest = store.list_parts("data", "k", created.upload_id, part_number_marker=2)
    assert [item.part_number for item in rest.parts] == [3]
    assert rest.is_truncated is False
    assert rest.upload == created
    with pytest.raises(InvalidArgument):
        store.list_parts("data", "k", created.upload_id, max_parts=-1)


def test_list_multipart_uploads_by_key_then_start(store: Buckets, tmp_path: Path) -> None:
    later = store.create_multipart_upload("data", "b")
    first = store.create_multipart_upload("data", "a")
    second = store.create_multipart_upload("data", "a")
    listing = store.list_multipart_uploads("data")
    assert [item.upload_id for item in listing.uploads] == [
        first.upload_id,
        second.upload_id,
        later.upload_id,
    ]
    page = store.list_multipart_uploads("data", max_uploads=1)
    assert page.is_truncated
    assert (page.next_key_marker, page.next_upload_id_marker) == ("a", first.upload_id)
    rest = store.list_multipart_uploads("data", key_marker="a", upload_id_marker=first.upload_id)
    assert [item.upload_id for item in rest.uploads] == [second.upload_id, later.upload_id]
    assert store.list_multipart_uploads("data", prefix="b").uploads == (later,)


def test_concurrent_parts_and_a_racing_abort(store: Buckets) -> None:
    created = store.create_multipart_upload("data", "k")
    errors: list[BaseException] = []

    def send(number: int) -> None:
        try:
            store.upload_part("data", "k", created.upload_id, number, bytes([number]) * 1000)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=send, args=(number,)) for number in range(1, 21)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    parts = store.list_parts("data", "k", created.upload_id).parts
    assert [item.part_number for item in parts] == list(range(1, 21))
    store.abort_multipart_upload("data", "k", created.upload_id)
    with pytest.raises(NoSuchUpload):
        store.upload_part("data", "k", created.upload_id, 1, b"late")


def test_a_completion_whose_clean_up_fails_still_succeeds_once(
    store: Buckets,
    heard: list[tuple[str, ObjectInfo]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    created = store.create_multipart_upload("data", "k")
    only = store.upload_part("data", "k", created.upload_id, 1, b"x")

    def broken_rename(source: object, target: object) -> None:
        raise OSError(errno.EIO, "broken disk")

    monkeypatch.setattr(os, "rename", broken_rename)
    with caplog.at_level(logging.ERROR, logger="redstep.buckets.uploads"):
        info = store.complete_multipart_upload("data", "k", created.upload_id, named(only))
    assert created.upload_id in caplog.text
    monkeypatch.undo()
    assert content_of(store, "data", "k") == b"x"
    assert heard == [("data", info)]
    # The upload still on disk is not completed a second time.
    assert store.complete_multipart_upload("data", "k", created.upload_id, named(only)) == info
    assert len(heard) == 1


def test_what_a_crash_left_being_removed_is_swept(folder: Path, staging: Path) -> None:
    leftover = staging / ".removed-0123456789abcdef"
    (leftover / "upload").mkdir(parents=True)
    (leftover / "upload" / "00001.part").write_bytes(b"x")
    Buckets({"data": folder}, staging=staging).list_multipart_uploads("data")
    assert list(staging.iterdir()) == []


def test_made_up_upload_ids_leave_no_locks_behind(store: Buckets) -> None:
    made_up = [f"{number:048x}" for number in range(500)] + ["nope", "../x", "A" * 48]
    for upload_id in made_up:
        with pytest.raises(NoSuchUpload):
            store.abort_multipart_upload("data", "k", upload_id)
        with pytest.raises(NoSuchUpload):
            store.complete_multipart_upload("data", "k", upload_id, [CompletedPart(1, '"x"')])
    # What the store holds for ids a client makes up (white-box: the table of upload locks).
    assert len(store._staging._locks) == 0
    created = store.create_multipart_upload("data", "k")
    only = store.upload_part("data", "k", created.upload_id, 1, b"x")
    store.complete_multipart_upload("data", "k", created.upload_id, named(only))
    assert len(store._staging._locks) == 0


def test_listing_limits_below_zero_are_refused_by_the_store_itself(store: Buckets) -> None:
    # The HTTP layer cannot send these (it refuses a minus sign first); the store's public
    # API refuses them too, as S3 words it.
    created = store.create_multipart_upload("data", "k")
    with pytest.raises(InvalidArgument) as raised:
        store.list_multipart_uploads("data", max_uploads=-1)
    assert raised.value.details() == {"ArgumentName": "max-uploads", "ArgumentValue": "-1"}
    with pytest.raises(InvalidArgument) as raised:
        store.list_parts("data", "k", created.upload_id, max_parts=-1)
    assert raised.value.details() == {"ArgumentName": "max-parts", "ArgumentValue": "-1"}
    with pytest.raises(InvalidArgument) as raised:
        store.list_objects("data", max_keys=-1)
    assert raised.value.details() == {"ArgumentName": "max-keys", "ArgumentValue": "-1"}

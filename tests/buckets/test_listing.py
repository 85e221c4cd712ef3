"""ListObjectsV2 paging over sorted keys: prefixes, delimiters, markers, tokens."""

from __future__ import annotations

import random

import pytest

from redstep.buckets import InvalidArgument
from redstep.buckets.listing import MAX_KEYS, Page, decode_token, encode_token, select_page

KEYS = sorted(
    [
        "a-c",
        "a/b/c.csv",
        "a/b/d.csv",
        "a/e",
        "b",
        "photos/2024/jan/1.jpg",
        "photos/2024/jan/2.jpg",
        "photos/2024/feb/1.jpg",
        "photos/2025/mar/1.jpg",
        "photos/readme.txt",
        "z",
    ]
)


def page(
    *, prefix: str = "", delimiter: str = "", after: str = "", max_keys: int = MAX_KEYS
) -> Page:
    return select_page(KEYS, prefix=prefix, delimiter=delimiter, after=after, max_keys=max_keys)


def test_without_a_delimiter_every_key_is_listed_in_byte_order() -> None:
    listed = page()
    assert listed.keys == tuple(KEYS)
    assert listed.common_prefixes == ()
    assert not listed.is_truncated
    # "-" (0x2D) sorts before "/" (0x2F): a-c comes before everything under a/.
    assert listed.keys[:2] == ("a-c", "a/b/c.csv")


def test_a_delimiter_rolls_keys_up_into_common_prefixes() -> None:
    listed = page(delimiter="/")
    assert listed.keys == ("a-c", "b", "z")
    assert listed.common_prefixes == ("a/", "photos/")


def test_a_prefix_with_a_delimiter_lists_one_level() -> None:
    listed = page(prefix="photos/", delimiter="/")
    assert listed.keys == ("photos/readme.txt",)
    assert listed.common_prefixes == ("photos/2024/", "photos/2025/")


def test_a_prefix_need_not_end_at_a_delimiter() -> None:
    listed = page(prefix="photos/2024/j", delimiter="/")
    assert listed.keys == ()
    assert listed.common_prefixes == ("photos/2024/jan/",)


def test_a_delimiter_may_be_any_string() -> None:
    listed = page(prefix="photos/", delimiter="/j")
    assert listed.common_prefixes == ("photos/2024/j",)
    assert "photos/2024/feb/1.jpg" in listed.keys


def test_common_prefixes_count_toward_max_keys() -> None:
    listed = page(delimiter="/", max_keys=2)
    assert listed.keys == ("a-c",)
    assert listed.common_prefixes == ("a/",)
    assert listed.is_truncated
    assert listed.last_entry == "a/"


def test_the_page_after_a_common_prefix_skips_its_keys() -> None:
    following = page(delimiter="/", after="a/")
    assert following.keys == ("b", "z")
    assert following.common_prefixes == ("photos/",)


def test_start_after_lists_only_later_keys() -> None:
    assert page(after="photos/2025/mar/1.jpg").keys == ("photos/readme.txt", "z")
    assert page(after="zz").keys == ()


def test_start_after_before_a_common_prefix_keeps_it() -> None:
    # As S3 does: start-after "photos" still lists the common prefix "photos/".
    assert page(delimiter="/", after="photos").common_prefixes == ("photos/",)


def test_zero_max_keys_answers_an_empty_untruncated_page() -> None:
    listed = page(max_keys=0)
    assert listed == Page(keys=(), common_prefixes=(), is_truncated=False, last_entry=None)


def test_max_keys_is_capped_at_a_thousand() -> None:
    keys = sorted(f"k{number:05d}" for number in range(1500))
    listed = select_page(keys, prefix="", delimiter="", after="", max_keys=5000)
    assert len(listed.keys) == MAX_KEYS
    assert listed.is_truncated


def test_a_page_that_ends_exactly_at_the_last_entry_is_not_truncated() -> None:
    listed = page(max_keys=len(KEYS))
    assert not listed.is_truncated


@pytest.mark.parametrize("delimiter", ["", "/", "/2", "a"])
@pytest.mark.parametrize("max_keys", [1, 2, 3, 7])
def test_paging_through_reaches_exactly_the_unpaged_listing(delimiter: str, max_keys: int) -> None:
    generator = random.Random(f"{delimiter}-{max_keys}")
    alphabet = ["a", "b", "/", "2", "é", "-"]
    keys = sorted(
        {"".join(generator.choices(alphabet, k=generator.randint(1, 6))) for _ in range(80)}
    )
    for prefix in ["", "a", "a/", "b/2"]:
        whole = select_page(keys, prefix=prefix, delimiter=delimiter, after="", max_keys=10**6)
        got_keys: list[str] = []
        got_prefixes: list[str] = []
        after = ""
        while True:
            listed = select_page(
                keys, prefix=prefix, delimiter=delimiter, after=after, max_keys=max_keys
            )
            got_keys += listed.keys
            got_prefixes += listed.common_prefixes
            assert len(listed.keys) + len(listed.common_prefixes) <= max_keys
            if not listed.is_truncated:
                break
            assert listed.last_entry is not None
            after = listed.last_entry
        assert got_keys == list(whole.keys)
        assert got_prefixes == list(whole.common_prefixes)
        assert whole.keys == tuple(
            key
            for key in keys
            if key.startswith(prefix) and (not delimiter or delimiter not in key[len(prefix) :])
        )


def test_tokens_are_opaque_and_round_trip() -> None:
    for marker in ["", "a/", "photos/2024/jan/1.jpg", "ünïcode key+with spaces"]:
        token = encode_token(marker)
        assert decode_token(token) == marker


@pytest.mark.parametrize("token", ["", "not base64!", "aGVsbG8=", "\u00e9"])
def test_a_token_this_store_did_not_make_is_refused(token: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        decode_token(token)
    assert raised.value.code == "InvalidArgument"
    assert raised.value.http_status == 400
    assert raised.value.details()["ArgumentName"] == "continuation-token"

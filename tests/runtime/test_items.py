"""Reading a distributed Map's items from bytes and grouping them into children's inputs, as
AWS's developer guide describes ("How Step Functions parses input CSV files", "ItemReader",
"ItemBatcher")."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from redstep.asl.paths import to_json
from redstep.buckets.objects import ObjectInfo
from redstep.runtime.items import (
    DUPLICATE_HEADERS,
    MAX_CHILD_INPUT_BYTES,
    NOT_AN_ARRAY,
    Batching,
    HeaderLocation,
    InputType,
    ItemReadError,
    ItemTooLarge,
    ReaderConfig,
    batched,
    capped,
    is_gzip,
    listed_item,
    one_by_one,
    read_csv,
    read_inventory,
    read_json_items,
    read_jsonl,
    read_manifest,
)

CSV = ReaderConfig(input_type=InputType.CSV)


def chunked(data: bytes, size: int = 7) -> Iterator[bytes]:
    """`data` in small chunks, so a record, a quote or a UTF-8 character spans two."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def csv_items(text: str, config: ReaderConfig = CSV) -> list[dict[str, str]]:
    return list(read_csv(chunked(text.encode()), config))


# -- CSV -----------------------------------------------------------------------------------------


def test_csv_rows_become_objects_of_strings_keyed_by_the_first_row() -> None:
    assert csv_items("id,name\n1,ann\n2,bob\n") == [
        {"id": "1", "name": "ann"},
        {"id": "2", "name": "bob"},
    ]


def test_csv_follows_the_guides_example_of_quotes_commas_and_newlines() -> None:
    # The row of "How Step Functions parses input CSV files", with headers given.
    text = (
        'abc,123,"This string contains commas, a double quotation marks (""), and a newline (\n'
        ')",{""MyKey"":""MyValue""},"[1,2,3]"\n'
    )
    config = ReaderConfig(
        input_type=InputType.CSV,
        header_location=HeaderLocation.GIVEN,
        headers=("MyLetters", "MyNumbers", "MyString", "MyObject", "MyArray"),
    )
    assert csv_items(text, config) == [
        {
            "MyLetters": "abc",
            "MyNumbers": "123",
            "MyString": (
                'This string contains commas, a double quotation marks ("), and a newline (\n)'
            ),
            "MyObject": '{"MyKey":"MyValue"}',
            "MyArray": "[1,2,3]",
        }
    ]


def test_csv_backslashes_escape_and_vanish_before_other_characters() -> None:
    text = "path,size\nC:\\\\Program Files\\\\MyApp.exe,6534512\na\\,b,\\x\n"
    assert csv_items(text) == [
        {"path": "C:\\Program Files\\MyApp.exe", "size": "6534512"},
        {"path": "a,b", "size": "x"},
    ]


def test_the_guides_backslash_example_reads_as_the_guide_says() -> None:
    # "You can preserve backslashes by repeating them": the guide's own two lines.
    text = "path,size\nC:\\\\Program Files\\\\MyApp.exe,6534512\n"
    assert csv_items(text) == [{"path": "C:\\Program Files\\MyApp.exe", "size": "6534512"}]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ('"x""""y"', 'x""y'),  # quoted: each repeated pair is one quote, once
        ('x""""y', 'x""y'),  # unquoted: the same
        ('""""', '"'),  # a quoted field holding one quote
        ('""', ""),  # an empty quoted field
        ('a"b', 'a"b'),  # a lone quote inside an unquoted field is text
        ('"say \\"hi\\""', 'say "hi"'),  # backslashes escape quotes, in pairs as AWS advises
        ('"a\\,b\\\\c\\d"', "a,b\\cd"),  # delimiter and backslash kept, before others dropped
        ("a\\\\", "a\\"),
        ('"a,\r\nb"', "a,\r\nb"),  # a quoted newline is kept as it is
    ],
)
def test_quotes_and_backslashes_are_read_once(field: str, value: str) -> None:
    assert csv_items(f"f,g\n{field},end\n") == [{"f": value, "g": "end"}]


def test_a_repeated_quote_is_read_the_same_in_a_record_spanning_lines() -> None:
    text = 'id,note\r\n1,"first ""line""\r\nsecond, ""line"""\r\n2,{""k"":""v""}\r\n'
    assert csv_items(text) == [
        {"id": "1", "note": 'first "line"\r\nsecond, "line"'},
        {"id": "2", "note": '{"k":"v"}'},
    ]


def test_the_space_delimiter_splits_on_spaces_outside_quotes() -> None:
    config = ReaderConfig.from_wire({"InputType": "CSV", "CSVDelimiter": "SPACE"})
    assert csv_items('a b\n"1 2" 3\n', config) == [{"a": "1 2", "b": "3"}]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('a,b\n"never closed,2\n3,4\n', "malformed at line 2: a quoted field it opens is never"),
        ('a,b\n"1"\\,x,2\n', "malformed at line 2: ',' expected after the quote"),
    ],
)
def test_broken_quoting_fails_naming_the_line(text: str, message: str) -> None:
    with pytest.raises(ItemReadError, match=message):
        csv_items(text)


def test_short_rows_get_empty_strings_and_long_rows_lose_their_extra_fields() -> None:
    assert csv_items("a,b,c\n1\n1,2,3,4,5\n") == [
        {"a": "1", "b": "", "c": ""},
        {"a": "1", "b": "2", "c": "3"},
    ]


@pytest.mark.parametrize(("name", "character"), [("PIPE", "|"), ("SEMICOLON", ";"), ("TAB", "\t")])
def test_csv_delimiters(name: str, character: str) -> None:
    config = ReaderConfig.from_wire({"InputType": "CSV", "CSVDelimiter": name})
    text = f"a{character}b\n1,5{character}2\n"
    assert csv_items(text, config) == [{"a": "1,5", "b": "2"}]


def test_csv_with_given_headers_reads_the_first_row_as_an_item() -> None:
    config = ReaderConfig.from_wire(
        {"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["x", "y"]}
    )
    assert csv_items("1,2\n3,4\n", config) == [{"x": "1", "y": "2"}, {"x": "3", "y": "4"}]


def test_max_items_counts_rows_not_the_header() -> None:
    config = ReaderConfig.from_wire({"InputType": "CSV", "MaxItems": 2})
    assert csv_items("n\n1\n2\n3\n", config) == [{"n": "1"}, {"n": "2"}]


def test_csv_skips_blank_lines_reads_crlf_and_a_bom() -> None:
    text = "\ufeffa,b\r\n1,2\r\n\r\n3,4"
    assert csv_items(text) == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]


def test_csv_of_only_a_header_or_nothing_has_no_items() -> None:
    assert csv_items("a,b\n") == []
    assert csv_items("") == []


def test_duplicate_headers_fail_with_aws_cause() -> None:
    with pytest.raises(ItemReadError, match=DUPLICATE_HEADERS):
        csv_items("a,b,a\n1,2,3\n")


def test_a_broken_quote_fails_naming_the_line() -> None:
    with pytest.raises(ItemReadError, match="malformed at line 2"):
        csv_items('a,b\n"1"x,2\n')


def test_bytes_that_are_not_utf8_fail_clearly() -> None:
    with pytest.raises(ItemReadError, match="not UTF-8 text"):
        list(read_csv(iter([b"a,b\n\xff\xfe,1\n"]), CSV))


def test_a_large_csv_streams_row_by_row() -> None:
    rows = (f"{n},{n * 2}\n".encode() for n in range(100_000))
    items = read_csv(iter([b"n,double\n", *rows]), CSV)
    assert next(items) == {"n": "0", "double": "0"}
    assert sum(1 for _ in items) == 99_999


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"InputType": "XML"}, "InputType must be one of CSV, JSON, JSONL, MANIFEST"),
        ({"CSVDelimiter": "COLON"}, "CSVDelimiter must be one of"),
        ({"CSVHeaderLocation": "GIVEN"}, "CSVHeaders is required"),
        ({"CSVHeaders": "a,b"}, "CSVHeaders must be an array of strings"),
        ({"MaxItems": -1}, "MaxItems must be a non-negative integer"),
    ],
)
def test_a_bad_reader_config_is_refused(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ItemReadError, match=message):
        ReaderConfig.from_wire(config)


def test_max_items_zero_means_no_cap() -> None:
    assert ReaderConfig.from_wire({"MaxItems": 0}).max_items is None
    assert list(capped(iter([1, 2, 3]), None)) == [1, 2, 3]


# -- JSON, JSONL ---------------------------------------------------------------------------------


def test_json_object_is_one_array() -> None:
    assert read_json_items(b'[{"a":1},2,"x"]', ReaderConfig()) == [{"a": 1}, 2, "x"]
    assert read_json_items(b"[1,2,3]", ReaderConfig(max_items=2)) == [1, 2]


def test_json_items_pointer_finds_the_array_inside() -> None:
    config = ReaderConfig(items_pointer="/data/rows")
    assert read_json_items(b'{"data":{"rows":[1,2]}}', config) == [1, 2]
    with pytest.raises(ItemReadError, match="points at nothing"):
        read_json_items(b'{"data":{}}', config)


def test_json_that_is_not_an_array_fails_with_aws_cause() -> None:
    with pytest.raises(ItemReadError, match=NOT_AN_ARRAY):
        read_json_items(b'{"a":1}', ReaderConfig())
    with pytest.raises(ItemReadError, match="not valid JSON"):
        read_json_items(b"[1,", ReaderConfig())


def test_jsonl_reads_one_value_a_line() -> None:
    data = b'{"a":1}\n\n[2]\n"three"\n'
    assert list(read_jsonl(chunked(data, 3), ReaderConfig())) == [{"a": 1}, [2], "three"]
    assert list(read_jsonl(chunked(data), ReaderConfig(max_items=1))) == [{"a": 1}]


def test_a_bad_jsonl_line_fails_naming_its_number() -> None:
    with pytest.raises(ItemReadError, match="Line 2 of the JSONL object"):
        list(read_jsonl(iter([b"1\n{nope\n"]), ReaderConfig()))


# -- S3 Inventory, listings ----------------------------------------------------------------------


def test_inventory_manifest_names_its_files_and_columns() -> None:
    manifest = {
        "sourceBucket": "photos",
        "destinationBucket": "arn:aws:s3:::inventory",
        "fileFormat": "CSV",
        "fileSchema": "Bucket, Key, Size, LastModifiedDate",
        "files": [{"key": "photos/data/a.csv.gz", "size": 10, "MD5checksum": "x"}],
    }
    read = read_manifest(json.dumps(manifest).encode())
    assert read.bucket == "inventory"
    assert read.keys == ("photos/data/a.csv.gz",)
    assert read.columns == ("Bucket", "Key", "Size", "LastModifiedDate")


def test_inventory_rows_are_objects_keyed_by_the_schema() -> None:
    body = gzip.compress(b'"photos","a.jpg","12","2024-01-01T00:00:00.000Z"\n')
    assert is_gzip("x.csv.gz", body[:2])
    rows = list(read_inventory(chunked(body), ("Bucket", "Key", "Size", "Date"), compressed=True))
    assert rows == [
        {"Bucket": "photos", "Key": "a.jpg", "Size": "12", "Date": "2024-01-01T00:00:00.000Z"}
    ]


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (b"[]", "not a JSON object"),
        (b'{"fileFormat": "ORC"}', "fileFormat is 'ORC'"),
        (b'{"fileFormat": "CSV", "files": []}', "no destinationBucket or fileSchema"),
    ],
)
def test_a_manifest_redstep_cannot_read_fails(manifest: bytes, message: str) -> None:
    with pytest.raises(ItemReadError, match=message):
        read_manifest(manifest)


def test_a_listed_object_is_shaped_as_aws_shows_it() -> None:
    info = ObjectInfo(
        key="images/a.jpg",
        size=34910,
        etag='"05704fbdccb224cb01c59005bebbad28"',
        last_modified=datetime(2022, 11, 17, 15, 44, 41, tzinfo=UTC),
        content_type="image/jpeg",
    )
    assert listed_item(info) == {
        "Etag": '"05704fbdccb224cb01c59005bebbad28"',
        "Key": "images/a.jpg",
        "LastModified": 1668699881,
        "Size": 34910,
        "StorageClass": "STANDARD",
    }


# -- batches -------------------------------------------------------------------------------------


def test_batches_hold_at_most_max_items_per_batch_with_the_batch_input() -> None:
    batching = Batching.from_wire({"MaxItemsPerBatch": 2, "BatchInput": {"run": 7}})
    children = list(batched(range(5), batching))
    assert [child.value for child in children] == [
        {"Items": [0, 1], "BatchInput": {"run": 7}},
        {"Items": [2, 3], "BatchInput": {"run": 7}},
        {"Items": [4], "BatchInput": {"run": 7}},
    ]
    assert [child.items for child in children] == [2, 2, 1]


def test_batches_without_batch_input_hold_items_alone() -> None:
    children = list(batched(["a"], Batching.from_wire({"MaxItemsPerBatch": 5})))
    assert children[0].value == {"Items": ["a"]}


def test_max_input_bytes_bounds_the_whole_child_input() -> None:
    items = [{"n": "x" * 10}] * 20
    limit = 100
    batching = Batching.from_wire({"MaxInputBytesPerBatch": limit, "BatchInput": {"b": 1}})
    children = list(batched(items, batching))
    assert sum(child.items for child in children) == 20
    for child in children:
        assert len(to_json(child.value).encode()) <= limit
    # Each batch is as full as it may be: one more item would pass the limit.
    first = children[0].value
    fuller = {"Items": [*first["Items"], items[0]], "BatchInput": {"b": 1}}
    assert len(to_json(fuller).encode()) > limit


def test_no_batch_passes_an_executions_input_quota() -> None:
    items = ["y" * 1000] * 600  # about 600 KB
    children = list(batched(items, Batching.from_wire({"MaxItemsPerBatch": 1000})))
    assert len(children) == 3
    assert all(len(to_json(c.value).encode()) <= MAX_CHILD_INPUT_BYTES for c in children)


def test_an_item_too_large_for_any_batch_is_refused() -> None:
    with pytest.raises(ItemTooLarge, match="Item 1 is 52 bytes"):
        list(batched(["a", "z" * 50], Batching.from_wire({"MaxInputBytesPerBatch": 40})))
    with pytest.raises(ItemTooLarge, match="Item 0 is"):
        list(one_by_one(["q" * (MAX_CHILD_INPUT_BYTES + 1)]))


def test_without_a_batcher_each_item_is_a_child_input() -> None:
    assert [(c.value, c.items) for c in one_by_one([{"a": 1}, 2])] == [({"a": 1}, 1), (2, 1)]

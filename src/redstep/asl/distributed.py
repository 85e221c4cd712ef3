"""The vocabularies of a distributed Map's ItemReader and ResultWriter.

The parser checks a definition against them (a bad value is refused when the state machine is
created, not when a map run reads); the runtime reads and writes by them.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class InputType(StrEnum):
    """ReaderConfig.InputType: how an object read with s3:getObject holds its items."""

    CSV = "CSV"
    JSON = "JSON"
    JSONL = "JSONL"
    MANIFEST = "MANIFEST"


class HeaderLocation(StrEnum):
    """ReaderConfig.CSVHeaderLocation."""

    FIRST_ROW = "FIRST_ROW"
    GIVEN = "GIVEN"


#: ReaderConfig.CSVDelimiter's names and the characters they stand for.
CSV_DELIMITERS: Mapping[str, str] = {
    "COMMA": ",",
    "PIPE": "|",
    "SEMICOLON": ";",
    "SPACE": " ",
    "TAB": "\t",
}


class Transformation(StrEnum):
    """WriterConfig.Transformation."""

    NONE = "NONE"
    COMPACT = "COMPACT"
    FLATTEN = "FLATTEN"


class OutputType(StrEnum):
    """WriterConfig.OutputType."""

    JSON = "JSON"
    JSONL = "JSONL"


#: The resources an ItemReader may name, and the one a ResultWriter may.
READER_RESOURCES = ("arn:aws:states:::s3:getObject", "arn:aws:states:::s3:listObjectsV2")
WRITER_RESOURCE = "arn:aws:states:::s3:putObject"

"""A distributed Map's ItemReader, ItemBatcher and ResultWriter, checked when the definition is
read: a bad value is refused at CreateStateMachine, not when a map run reads or writes."""

from __future__ import annotations

from typing import Any

import pytest

from redstep.asl.model import MapState
from redstep.asl.parse import parse_definition, validate_definition

READER = {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "CSV"}}


def distributed(**sections: Any) -> dict[str, Any]:
    return {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": "I",
                    "States": {"I": {"Type": "Pass", "End": True}},
                },
                "End": True,
                **sections,
            }
        },
    }


def problems(definition: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(d.location, d.message) for d in validate_definition(definition).diagnostics]


def test_the_sections_are_read_into_the_map_state() -> None:
    machine = parse_definition(
        distributed(
            ItemReader={
                **READER,
                "Parameters": {"Bucket": "b", "Key.$": "$.key"},
                "ReaderConfig": {"InputType": "CSV", "MaxItemsPath": "$.max"},
            },
            ItemBatcher={"MaxItemsPerBatch": 10, "BatchInput": {"at.$": "$.key"}},
            ResultWriter={
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": "out", "Prefix": "runs"},
                "WriterConfig": {"Transformation": "FLATTEN", "OutputType": "JSONL"},
            },
        )
    )
    state = machine.states["M"]
    assert isinstance(state, MapState)
    assert state.execution_type == "EXPRESS"
    assert state.item_reader is not None
    assert state.item_reader.reader_config == {"InputType": "CSV"}
    assert state.item_reader.max_items_path is not None
    assert state.item_batcher is not None
    assert state.item_batcher.max_items_per_batch == 10
    assert state.result_writer is not None
    assert state.result_writer.writer_config == {"Transformation": "FLATTEN", "OutputType": "JSONL"}


@pytest.mark.parametrize(
    ("sections", "location", "message"),
    [
        (
            {"ItemReader": {**READER, "Resource": "arn:aws:states:::s3:putObject"}},
            "/States/M/ItemReader/Resource",
            "Value should be one of the following: [arn:aws:states:::s3:getObject, "
            "arn:aws:states:::s3:listObjectsV2]",
        ),
        (
            {"ItemReader": {**READER, "ReaderConfig": {"InputType": "XML"}}},
            "/States/M/ItemReader/ReaderConfig/InputType",
            "Value should be one of the following: [CSV, JSON, JSONL, MANIFEST]",
        ),
        (
            {"ItemReader": {**READER, "ReaderConfig": {"InputType": "CSV", "CSVDelimiter": ":"}}},
            "/States/M/ItemReader/ReaderConfig/CSVDelimiter",
            "Value should be one of the following: [COMMA, PIPE, SEMICOLON, SPACE, TAB]",
        ),
        (
            {
                "ItemReader": {
                    **READER,
                    "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "GIVEN"},
                }
            },
            "/States/M/ItemReader/ReaderConfig",
            "These fields are required: [CSVHeaders]",
        ),
        (
            {"ResultWriter": {"WriterConfig": {"Transformation": "SQUASH"}}},
            "/States/M/ResultWriter/WriterConfig/Transformation",
            "Value should be one of the following: [NONE, COMPACT, FLATTEN]",
        ),
        (
            {"ResultWriter": {"Resource": "arn:aws:states:::s3:getObject"}},
            "/States/M/ResultWriter/Resource",
            "Value should be one of the following: [arn:aws:states:::s3:putObject]",
        ),
        (
            {"ItemBatcher": {"MaxItemsPerBatch": 0}},
            "/States/M/ItemBatcher/MaxItemsPerBatch",
            "Minimum value is 1",
        ),
        (
            {"ItemBatcher": {"MaxInputBytesPerBatch": 262145}},
            "/States/M/ItemBatcher/MaxInputBytesPerBatch",
            "Maximum value is 262144",
        ),
    ],
)
def test_a_bad_section_is_refused_where_it_stands(
    sections: dict[str, Any], location: str, message: str
) -> None:
    assert (location, message) in problems(distributed(**sections))


def test_the_sections_belong_to_a_distributed_map_only() -> None:
    definition = distributed(ItemBatcher={"MaxItemsPerBatch": 2})
    definition["States"]["M"]["ItemProcessor"]["ProcessorConfig"]["Mode"] = "INLINE"
    assert (
        "/States/M/ItemBatcher",
        "The field 'ItemBatcher' is only supported in a DISTRIBUTED Map",
    ) in problems(definition)

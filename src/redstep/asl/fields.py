"""The fields each state type has, in each query language, and the fields of the objects in
them (Retry, a Map's ItemReader, ItemBatcher, ResultWriter): what `redstep.asl.parse` accepts."""

from __future__ import annotations

from collections.abc import Mapping

MAX_STATE_NAME_LENGTH = 80
MAX_VARIABLE_NAME_LENGTH = 80

COMMON = frozenset({"Type", "Comment", "QueryLanguage"})
FILTERS = frozenset({"InputPath", "OutputPath"})
FLOW = frozenset({"Next", "End"})
RESULTS = frozenset({"ResultSelector", "ResultPath"})
ERRORS = frozenset({"Retry", "Catch"})

#: The fields each state type accepts (JSONPath query language).
FIELDS: Mapping[str, frozenset[str]] = {
    "Pass": COMMON | FILTERS | FLOW | {"Parameters", "Result", "ResultPath", "Assign"},
    "Task": COMMON
    | FILTERS
    | FLOW
    | RESULTS
    | ERRORS
    | {
        "Assign",
        "Resource",
        "Parameters",
        "TimeoutSeconds",
        "TimeoutSecondsPath",
        "HeartbeatSeconds",
        "HeartbeatSecondsPath",
        "Credentials",
    },
    "Choice": COMMON | FILTERS | {"Choices", "Default", "Assign"},
    "Wait": COMMON
    | FILTERS
    | FLOW
    | {"Seconds", "SecondsPath", "Timestamp", "TimestampPath", "Assign"},
    "Succeed": COMMON | FILTERS,
    "Fail": COMMON | {"Error", "ErrorPath", "Cause", "CausePath"},
    "Parallel": COMMON | FILTERS | FLOW | RESULTS | ERRORS | {"Branches", "Parameters", "Assign"},
    "Map": COMMON
    | FILTERS
    | FLOW
    | RESULTS
    | ERRORS
    | {
        "Assign",
        "Iterator",
        "ItemProcessor",
        "ItemsPath",
        "ItemSelector",
        "Parameters",
        "MaxConcurrency",
        "MaxConcurrencyPath",
        "ToleratedFailureCount",
        "ToleratedFailureCountPath",
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
        "Label",
        "ItemReader",
        "ItemBatcher",
        "ResultWriter",
    },
}

JSONATA_COMMON = frozenset({"Type", "Comment", "QueryLanguage", "Output", "Assign"})
JSONATA_ERRORS = frozenset({"Retry", "Catch"})

#: The fields each state type accepts in a JSONata state.
JSONATA_FIELDS: Mapping[str, frozenset[str]] = {
    "Pass": JSONATA_COMMON | FLOW,
    "Task": JSONATA_COMMON
    | FLOW
    | JSONATA_ERRORS
    | {"Resource", "Arguments", "TimeoutSeconds", "HeartbeatSeconds", "Credentials"},
    "Choice": JSONATA_COMMON | {"Choices", "Default"},
    "Wait": JSONATA_COMMON | FLOW | {"Seconds", "Timestamp"},
    "Succeed": frozenset({"Type", "Comment", "QueryLanguage", "Output"}),
    "Fail": frozenset({"Type", "Comment", "QueryLanguage", "Error", "Cause"}),
    "Parallel": JSONATA_COMMON | FLOW | JSONATA_ERRORS | {"Branches", "Arguments"},
    "Map": JSONATA_COMMON
    | FLOW
    | JSONATA_ERRORS
    | {
        "Iterator",
        "ItemProcessor",
        "Items",
        "ItemSelector",
        "MaxConcurrency",
        "ToleratedFailureCount",
        "ToleratedFailurePercentage",
        "Label",
        "ItemReader",
        "ItemBatcher",
        "ResultWriter",
    },
}

#: Fields of either language that the other does not have (named in the message refusing them).
JSONPATH_ONLY = frozenset(
    {
        "InputPath",
        "OutputPath",
        "Parameters",
        "ResultSelector",
        "ResultPath",
        "Result",
        "ItemsPath",
        "TimeoutSecondsPath",
        "HeartbeatSecondsPath",
        "SecondsPath",
        "TimestampPath",
        "MaxConcurrencyPath",
        "ToleratedFailureCountPath",
        "ToleratedFailurePercentagePath",
        "ErrorPath",
        "CausePath",
    }
)
JSONATA_ONLY = frozenset({"Arguments", "Output", "Items"})

TOP_LEVEL = frozenset(
    {"StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage"}
)
BRANCH = frozenset({"StartAt", "States", "Comment"})
PROCESSOR = BRANCH | {"ProcessorConfig"}
ITEM_READER = frozenset({"Resource", "Parameters", "Arguments", "ReaderConfig"})
READER_CONFIG = frozenset(
    {
        "ItemsPointer",
        "InputType",
        "CSVHeaderLocation",
        "CSVHeaders",
        "CSVDelimiter",
        "MaxItems",
        "MaxItemsPath",
        "ManifestType",
    }
)
ITEM_BATCHER = frozenset(
    {
        "MaxItemsPerBatch",
        "MaxItemsPerBatchPath",
        "MaxInputBytesPerBatch",
        "MaxInputBytesPerBatchPath",
        "BatchInput",
    }
)
RESULT_WRITER = frozenset({"Resource", "Parameters", "Arguments", "WriterConfig"})

RETRIER_FIELDS = frozenset(
    {
        "ErrorEquals",
        "IntervalSeconds",
        "MaxAttempts",
        "BackoffRate",
        "MaxDelaySeconds",
        "JitterStrategy",
        "Comment",
    }
)

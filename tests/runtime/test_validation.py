"""Requests checked against botocore's `stepfunctions` model, answered in AWS's Coral wording."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.model import StructureShape

from redstep.runtime.clock import VirtualClock
from redstep.runtime.engine import Engine
from redstep.runtime.errors import (
    SerializationException,
    StepFunctionsError,
    ValidationException,
)
from redstep.runtime.memory_store import MemoryExecutionStore
from redstep.runtime.validation import service_model, validate_request
from redstep.wire import Constraint, python_pattern, violations

ROLE = "arn:aws:iam::123456789012:role/test"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:Machine"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:Machine:run"


@pytest.fixture
def engine() -> Iterator[Engine]:
    with Engine(MemoryExecutionStore(), clock=VirtualClock()) as engine:
        yield engine


def refusal(engine: Engine, operation: str, request: dict[str, Any]) -> str:
    with pytest.raises(ValidationException) as raised:
        engine.handle(operation, request)
    assert raised.value.code == "ValidationException"
    assert raised.value.http_status == 400
    assert raised.value.members() == {"message": raised.value.message}
    return raised.value.message


@pytest.mark.parametrize(
    ("operation", "request_", "message"),
    [
        pytest.param(
            "DescribeStateMachine",
            {},
            "1 validation error detected: Value null at 'stateMachineArn' failed to satisfy "
            "constraint: Member must not be null",
            id="null",
        ),
        pytest.param(
            "ListExecutions",
            {"stateMachineArn": MACHINE, "maxResults": 1001},
            "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy "
            "constraint: Member must have value less than or equal to 1000",
            id="maximum",
        ),
        pytest.param(
            "ListExecutions",
            {"stateMachineArn": MACHINE, "statusFilter": "DONE"},
            "1 validation error detected: Value 'DONE' at 'statusFilter' failed to satisfy "
            "constraint: Member must satisfy enum value set: "
            "[SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]",
            id="enum-in-aws-order",
        ),
        pytest.param(
            "TestState",
            {"definition": "{}", "inspectionLevel": "LOUD"},
            "1 validation error detected: Value 'LOUD' at 'inspectionLevel' failed to satisfy "
            "constraint: Member must satisfy enum value set: [INFO, DEBUG, TRACE]",
            id="enum-in-model-order",
        ),
        pytest.param(
            "RedriveExecution",
            {"executionArn": EXECUTION, "clientToken": "has space"},
            "1 validation error detected: Value 'has space' at 'clientToken' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [!-~]+",
            id="pattern",
        ),
        pytest.param(
            "CreateStateMachine",
            {"name": "n" * 81, "definition": "{}", "roleArn": ROLE},
            "1 validation error detected: Value '" + "n" * 81 + "' at 'name' failed to "
            "satisfy constraint: Member must have length less than or equal to 80",
            id="length",
        ),
        pytest.param(
            "StartExecution",
            {"name": "run"},
            "1 validation error detected: Value null at 'stateMachineArn' failed to satisfy "
            "constraint: Member must not be null",
            id="null-among-others",
        ),
        pytest.param(
            "ListExecutions",
            {"stateMachineArn": "", "maxResults": 5000},
            "2 validation errors detected: Value '' at 'stateMachineArn' failed to satisfy "
            "constraint: Member must have length greater than or equal to 1; Value '5000' at "
            "'maxResults' failed to satisfy constraint: Member must have value less than or "
            "equal to 1000",
            id="two-at-once",
        ),
        pytest.param(
            "CreateStateMachine",
            {"name": "Machine", "roleArn": ROLE, "type": "BATCH"},
            "2 validation errors detected: Value at 'definition' failed to satisfy constraint: "
            "Member must not be null; Value 'BATCH' at 'type' failed to satisfy constraint: "
            "Member must satisfy enum value set: [STANDARD, EXPRESS]",
            id="sensitive-null-and-enum",
        ),
        pytest.param(
            "SendTaskSuccess",
            {"taskToken": "t"},
            "1 validation error detected: Value at 'output' failed to satisfy constraint: "
            "Member must not be null",
            id="sensitive-value-never-echoed",
        ),
        pytest.param(
            "StopExecution",
            {"executionArn": EXECUTION, "error": "e" * 257},
            "1 validation error detected: Value at 'error' failed to satisfy constraint: "
            "Member must have length less than or equal to 256",
            id="sensitive-length",
        ),
        pytest.param(
            "TagResource",
            {"resourceArn": MACHINE, "tags": [{"key": "ok", "value": "1"}, {"key": ""}]},
            "1 validation error detected: Value '' at 'tags.2.member.key' failed to satisfy "
            "constraint: Member must have length greater than or equal to 1",
            id="list-member",
        ),
        pytest.param(
            "ValidateStateMachineDefinition",
            {"definition": "{}", "maxResults": 101},
            "1 validation error detected: Value '101' at 'maxResults' failed to satisfy "
            "constraint: Member must have value less than or equal to 100",
            id="operation-specific-maximum",
        ),
    ],
)
def test_the_model_refuses_in_corals_words(
    engine: Engine, operation: str, request_: dict[str, Any], message: str
) -> None:
    assert refusal(engine, operation, request_) == message


def test_a_member_of_the_wrong_json_type_is_a_serialization_exception(engine: Engine) -> None:
    with pytest.raises(SerializationException) as raised:
        engine.list_state_machines({"maxResults": "ten"})
    assert raised.value.code == "SerializationException"
    assert raised.value.message == "STRING_VALUE can not be converted to an Integer"
    with pytest.raises(SerializationException, match="Start of structure or map"):
        engine.describe_state_machine({"stateMachineArn": {"nested": 1}})
    with pytest.raises(SerializationException, match="Start of list"):
        engine.start_execution({"stateMachineArn": [MACHINE]})
    with pytest.raises(SerializationException, match="TRUE_VALUE"):
        engine.start_execution({"stateMachineArn": True})


def test_unknown_members_are_ignored_as_aws_ignores_them(engine: Engine) -> None:
    assert engine.list_state_machines({"somethingElse": 1}) == {"stateMachines": []}


def test_every_operation_checks_its_request_first(engine: Engine) -> None:
    model = service_model()
    for operation in engine.operations:
        shape = model.operation_model(operation).input_shape
        assert isinstance(shape, StructureShape), operation
        if not shape.required_members:
            continue
        message = refusal(engine, operation, {})
        for member in shape.required_members:
            assert f"at '{member}' failed to satisfy constraint" in message, operation


def test_the_modelled_errors_have_their_modelled_members() -> None:
    model = service_model()
    modelled = {shape.name: shape for shape in model.error_shapes}
    for error_class in _error_classes(StepFunctionsError):
        if error_class.code == "SerializationException":
            continue  # Coral's own, answered before any operation's model applies
        assert error_class.code in modelled, error_class.code
        members = set(modelled[error_class.code].members)
        names_resource = "resourceName" in members
        instance = error_class("m", "arn") if names_resource else error_class("m")  # type: ignore[call-arg]
        assert set(instance.members()) <= members, error_class.code
        assert "message" in instance.members()


def _error_classes(root: type[StepFunctionsError]) -> list[type[StepFunctionsError]]:
    found = []
    for subclass in root.__subclasses__():
        if not subclass.__name__.startswith("_"):
            found.append(subclass)
        found.extend(_error_classes(subclass))
    return found


def test_validate_request_alone_lists_every_violation_in_model_order() -> None:
    with pytest.raises(ValidationException) as raised:
        validate_request(
            "SendTaskFailure", {"error": "e" * 300, "cause": "c" * 40_000, "taskToken": ""}
        )
    message = raised.value.message
    assert message.startswith("3 validation errors detected: ")
    assert message.count("; ") == 2
    assert message.index("'taskToken'") < message.index("'error'") < message.index("'cause'")


# -- the model walk itself (redstep.wire) ------------------------------------------------------


def test_violations_are_values_with_their_path_and_limit() -> None:
    shape = service_model().operation_model("TagResource").input_shape
    found = list(
        violations(shape, {"resourceArn": MACHINE, "tags": [{"key": "k" * 129, "value": 5}]})
    )
    assert [(v.path, v.constraint, v.limit, v.expected) for v in found] == [
        (("tags", 0, "key"), Constraint.MAX_LENGTH, 128, None),
        (("tags", 0, "value"), Constraint.TYPE, None, "string"),
    ]


def test_a_null_list_item_is_a_missing_member() -> None:
    shape = service_model().operation_model("UntagResource").input_shape
    [found] = violations(shape, {"resourceArn": MACHINE, "tagKeys": ["a", None]})
    assert (found.path, found.constraint) == (("tagKeys", 1), Constraint.REQUIRED)


@pytest.mark.parametrize(
    ("java", "python"),
    [
        (r"\p{ASCII}*", r"[\x00-\x7f]*"),
        (r"[\p{ASCII}\s]+", r"[\x00-\x7f\s]+"),
        (r"[!-~]+", r"[!-~]+"),
        (r"[\p{L}\p{Z}]+", None),
    ],
)
def test_java_patterns_are_read_as_python_ones(java: str, python: str | None) -> None:
    assert python_pattern(java) == python


def test_a_trace_header_must_be_ascii(engine: Engine) -> None:
    arn = engine.create_state_machine(
        {
            "name": "Machine",
            "definition": json.dumps(
                {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
            ),
            "roleArn": ROLE,
        }
    )["stateMachineArn"]
    message = refusal(engine, "StartExecution", {"stateMachineArn": arn, "traceHeader": "é"})
    assert message.endswith("Member must satisfy regular expression pattern: \\p{ASCII}*")
    assert engine.start_execution({"stateMachineArn": arn, "traceHeader": "Root=1-a"})

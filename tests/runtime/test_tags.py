"""TagResource, UntagResource and ListTagsForResource on state machines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from redstep.runtime.clock import VirtualClock
from redstep.runtime.engine import Engine
from redstep.runtime.errors import InvalidArn, ResourceNotFound, TooManyTags, ValidationException
from redstep.runtime.sqlite_store import SqliteExecutionStore
from redstep.runtime.tag_api import MAX_TAGS

ROLE = "arn:aws:iam::123456789012:role/test"
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
UNKNOWN = "arn:aws:states:us-east-1:123456789012:stateMachine:Unknown"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with Engine(SqliteExecutionStore(tmp_path), clock=VirtualClock()) as engine:
        yield engine


def create(engine: Engine, tags: list[dict[str, str]] | None = None) -> str:
    request = {"name": "Tagged", "definition": PASS, "roleArn": ROLE}
    if tags is not None:
        request["tags"] = tags  # type: ignore[assignment]
    return str(engine.create_state_machine(request)["stateMachineArn"])


def tags_of(engine: Engine, arn: str) -> dict[str, str]:
    listed = engine.list_tags_for_resource({"resourceArn": arn})["tags"]
    return {tag["key"]: tag["value"] for tag in listed}


def many(count: int, prefix: str = "k") -> list[dict[str, str]]:
    return [{"key": f"{prefix}{index}", "value": str(index)} for index in range(count)]


def test_tags_are_added_replaced_listed_and_removed(engine: Engine) -> None:
    arn = create(engine, [{"key": "team", "value": "data"}])
    assert engine.list_tags_for_resource({"resourceArn": arn}) == {
        "tags": [{"key": "team", "value": "data"}]
    }
    assert (
        engine.tag_resource(
            {"resourceArn": arn, "tags": [{"key": "team", "value": "etl"}, {"key": "env"}]}
        )
        == {}
    )
    assert tags_of(engine, arn) == {"team": "etl", "env": ""}
    assert engine.untag_resource({"resourceArn": arn, "tagKeys": ["env", "absent"]}) == {}
    assert tags_of(engine, arn) == {"team": "etl"}


def test_tagging_makes_no_new_revision(engine: Engine) -> None:
    arn = create(engine)
    before = engine.describe_state_machine({"stateMachineArn": arn})
    engine.tag_resource({"resourceArn": arn, "tags": [{"key": "a", "value": "1"}]})
    after = engine.describe_state_machine({"stateMachineArn": arn})
    assert after["revisionId"] == before["revisionId"]
    assert "updateDate" not in after or after["updateDate"] == before.get("updateDate")


def test_tags_survive_an_update_and_a_restart(tmp_path: Path) -> None:
    with Engine(SqliteExecutionStore(tmp_path), clock=VirtualClock()) as first:
        arn = create(first)
        first.tag_resource({"resourceArn": arn, "tags": [{"key": "a", "value": "1"}]})
        first.update_state_machine({"stateMachineArn": arn, "roleArn": ROLE + "2"})
    with Engine(SqliteExecutionStore(tmp_path), clock=VirtualClock()) as second:
        assert tags_of(second, arn) == {"a": "1"}


def test_an_unknown_resource_is_not_found(engine: Engine) -> None:
    activity = "arn:aws:states:us-east-1:123456789012:activity:Worker"
    for arn in (UNKNOWN, activity):
        for operation, request in (
            ("TagResource", {"resourceArn": arn, "tags": []}),
            ("UntagResource", {"resourceArn": arn, "tagKeys": []}),
            ("ListTagsForResource", {"resourceArn": arn}),
        ):
            with pytest.raises(ResourceNotFound) as raised:
                engine.handle(operation, request)
            assert raised.value.members() == {
                "message": f"Resource not found: '{arn}'",
                "resourceName": arn,
            }


def test_what_is_no_arn_is_invalid(engine: Engine) -> None:
    with pytest.raises(InvalidArn, match="Invalid Arn"):
        engine.list_tags_for_resource({"resourceArn": "not-an-arn"})


def test_fifty_tags_and_no_more(engine: Engine) -> None:
    arn = create(engine, many(MAX_TAGS - 1))
    engine.tag_resource({"resourceArn": arn, "tags": [{"key": "last", "value": "x"}]})
    engine.tag_resource({"resourceArn": arn, "tags": [{"key": "last", "value": "y"}]})  # replaced
    assert len(tags_of(engine, arn)) == MAX_TAGS
    with pytest.raises(TooManyTags) as raised:
        engine.tag_resource({"resourceArn": arn, "tags": [{"key": "one-more", "value": "z"}]})
    assert raised.value.code == "TooManyTags"
    assert raised.value.members()["resourceName"] == arn
    assert "one-more" not in tags_of(engine, arn)  # nothing written


def test_a_state_machine_is_not_created_with_too_many_tags(engine: Engine) -> None:
    with pytest.raises(TooManyTags) as raised:
        create(engine, many(MAX_TAGS + 1))
    assert raised.value.resource_name == engine.region.state_machine_arn("Tagged")
    assert engine.list_state_machines({})["stateMachines"] == []


def test_tag_keys_and_values_have_the_models_lengths(engine: Engine) -> None:
    arn = create(engine)
    with pytest.raises(ValidationException) as raised:
        engine.tag_resource({"resourceArn": arn, "tags": [{"key": "k" * 129, "value": "v"}]})
    assert raised.value.message == (
        "1 validation error detected: Value '" + "k" * 129 + "' at 'tags.1.member.key' failed "
        "to satisfy constraint: Member must have length less than or equal to 128"
    )
    with pytest.raises(ValidationException, match="Value null at 'tagKeys'"):
        engine.untag_resource({"resourceArn": arn})

"""A state machine's tags as the Step Functions API tells them: TagResource, UntagResource and
ListTagsForResource (the Engine registers them), and the quota CreateStateMachine checks too.

Tags are the state machine's current ones: changing them makes no new revision. Only a state
machine carries tags here: any other Step Functions ARN names nothing redstep has
(ResourceNotFound, worded as AWS's), anything else is no ARN (InvalidArn). TooManyTags' wording
is modelled (AWS's own was not seen).
"""

from __future__ import annotations

from typing import Any

from redstep.runtime.arns import is_states_arn, state_machine_name
from redstep.runtime.errors import InvalidArn, ResourceNotFound, TooManyTags
from redstep.runtime.messages import Request, Response
from redstep.runtime.store import ExecutionStore, StoreConflict
from redstep.runtime.validation import validate_request

#: The most tags a state machine may carry (AWS's quota).
MAX_TAGS = 50


def tag_resource(store: ExecutionStore, request: Request) -> Response:
    """Add or replace tags of a state machine; no new revision is made. TooManyTags'
    wording is modelled."""
    validate_request("TagResource", request)
    arn = _tagged(request["resourceArn"])
    try:
        store.update_tags(arn, tags_from_wire(request["tags"]), (), MAX_TAGS)
    except KeyError:
        raise _resource_not_found(arn) from None
    except StoreConflict:
        raise too_many_tags(arn) from None
    return {}


def untag_resource(store: ExecutionStore, request: Request) -> Response:
    """Drop tags of a state machine by key (keys it does not carry are no error)."""
    validate_request("UntagResource", request)
    arn = _tagged(request["resourceArn"])
    try:
        store.update_tags(arn, {}, set(request["tagKeys"]))
    except KeyError:
        raise _resource_not_found(arn) from None
    return {}


def list_tags_for_resource(store: ExecutionStore, request: Request) -> Response:
    """Every tag of a state machine, in one answer (AWS's quota keeps it short)."""
    validate_request("ListTagsForResource", request)
    arn = _tagged(request["resourceArn"])
    record = store.get_state_machine(arn)
    if record is None:
        raise _resource_not_found(arn)
    return {"tags": [{"key": key, "value": value} for key, value in record.tags.items()]}


def tags_from_wire(items: Any) -> dict[str, str]:
    """The wire's `[{"key": …, "value": …}]` as a mapping (a missing value reads "")."""
    return {tag["key"]: tag.get("value") or "" for tag in items}


def too_many_tags(arn: str) -> TooManyTags:
    """What a request answers that would give `arn` more than `MAX_TAGS` tags."""
    return TooManyTags(
        f"Too many tags: a state machine may carry at most {MAX_TAGS} tags ('{arn}')", arn
    )


def _tagged(arn: str) -> str:
    """A resource ARN that may carry tags here: a state machine's. Any other Step Functions
    ARN names nothing redstep has (ResourceNotFound); anything else is no ARN (InvalidArn)."""
    try:
        state_machine_name(arn)
    except InvalidArn:
        if is_states_arn(arn):
            raise _resource_not_found(arn) from None
        raise
    return arn


def _resource_not_found(arn: str) -> ResourceNotFound:
    return ResourceNotFound(f"Resource not found: '{arn}'", arn)

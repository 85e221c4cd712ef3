"""The events EventBridge passes a target, and the names of the executions they start.

A target without a constant input receives the event itself, so a workflow started by a trigger
reads the same JSON here as on AWS:

- a schedule's **Scheduled Event** (`source: aws.events`, the rule's ARN in `resources`, an empty
  `detail`), as the EventBridge and Lambda guides show it;
- an object's **Object Created** (`source: aws.s3`, the bucket's ARN in `resources`, the bucket,
  key, size, ETag and sequencer in `detail`), as "EventBridge event message structure" in the
  Amazon S3 User Guide shows it. Its `reason` names the action that wrote the object (PutObject,
  CopyObject or CompleteMultipartUpload); a file written straight into a bucket's folder counts as
  a PutObject. A local folder keeps no versions, so `version-id` is absent, as it is for an
  unversioned bucket; requester and source address are the account and the loopback.

A scheduled event's `id` is derived from the rule and the fire time, so starting the same fire
time twice passes the same input, and StartExecution's idempotency holds. Execution names carry
the trigger's name (reduced to the characters every AWS name accepts) and the time, within the
80 characters StartExecution allows.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime
from typing import Any, TypedDict

from redstep.buckets import WriteReason
from redstep.runtime.arns import MAX_NAME_LENGTH, Region

SCHEDULE_DETAIL_TYPE = "Scheduled Event"
SCHEDULE_SOURCE = "aws.events"
OBJECT_CREATED_DETAIL_TYPE = "Object Created"
OBJECT_SOURCE = "aws.s3"
LOOPBACK_ADDRESS = "127.0.0.1"
MAX_RULE_NAME_LENGTH = 64
"""EventBridge's limit on a rule name ([.-_A-Za-z0-9]+)."""

_EVENT_NAMESPACE = uuid.UUID("5b0e5f5e-7c1d-4f4e-9a57-2d1c3f6a9e10")
_UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9_-]")
_UNSAFE_RULE_CHARACTERS = re.compile(r"[^A-Za-z0-9_.-]")
_STAMP = "%Y%m%dT%H%M%SZ"
_STAMP_LENGTH = len("20241127T020000Z")
_ID_LENGTH = 8

ScheduledEvent = TypedDict(
    "ScheduledEvent",
    {
        "version": str,
        "id": str,
        "detail-type": str,
        "source": str,
        "account": str,
        "time": str,
        "region": str,
        "resources": list[str],
        "detail": dict[str, Any],
    },
)


class BucketDetail(TypedDict):
    """`detail.bucket` of an S3 event."""

    name: str


class ObjectDetail(TypedDict):
    """`detail.object` of an S3 event (no `version-id`: a local folder keeps no versions)."""

    key: str
    size: int
    etag: str
    sequencer: str


ObjectCreatedDetail = TypedDict(
    "ObjectCreatedDetail",
    {
        "version": str,
        "event-version": str,
        "bucket": BucketDetail,
        "object": ObjectDetail,
        "request-id": str,
        "requester": str,
        "source-ip-address": str,
        "reason": str,
    },
)

ObjectCreatedEvent = TypedDict(
    "ObjectCreatedEvent",
    {
        "version": str,
        "id": str,
        "detail-type": str,
        "source": str,
        "account": str,
        "time": str,
        "region": str,
        "resources": list[str],
        "detail": ObjectCreatedDetail,
    },
)


def event_time(moment: datetime) -> str:
    """An event's `time`: UTC, to the second, as EventBridge writes it (2024-11-27T02:00:00Z)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rule_arn(region: Region, trigger: str) -> str:
    """The ARN of the EventBridge rule a schedule trigger stands for."""
    name = _safe_name(trigger, _UNSAFE_RULE_CHARACTERS, MAX_RULE_NAME_LENGTH)
    return f"arn:aws:events:{region.name}:{region.account}:rule/{name}"


def scheduled_event(region: Region, trigger: str, fire_time: datetime) -> ScheduledEvent:
    """The event a schedule trigger passes for `fire_time` (the same every time it is asked)."""
    arn = rule_arn(region, trigger)
    time = event_time(fire_time)
    return {
        "version": "0",
        "id": str(uuid.uuid5(_EVENT_NAMESPACE, f"{arn}@{time}")),
        "detail-type": SCHEDULE_DETAIL_TYPE,
        "source": SCHEDULE_SOURCE,
        "account": region.account,
        "time": time,
        "region": region.name,
        "resources": [arn],
        "detail": {},
    }


def object_created_event(
    region: Region,
    *,
    event_id: uuid.UUID,
    bucket: str,
    key: str,
    size: int,
    etag: str,
    sequencer: str,
    time: datetime,
    reason: WriteReason,
) -> ObjectCreatedEvent:
    """The event S3 sends EventBridge when `key` is written to `bucket` by the action `reason`."""
    return {
        "version": "0",
        "id": str(event_id),
        "detail-type": OBJECT_CREATED_DETAIL_TYPE,
        "source": OBJECT_SOURCE,
        "account": region.account,
        "time": event_time(time),
        "region": region.name,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "event-version": "1.0",
            "bucket": {"name": bucket},
            # The ETag header is quoted; the event carries the bare digest.
            "object": {"key": key, "size": size, "etag": etag.strip('"'), "sequencer": sequencer},
            "request-id": event_id.hex[:16].upper(),
            "requester": region.account,
            "source-ip-address": LOOPBACK_ADDRESS,
            "reason": reason.value,
        },
    }


def schedule_execution_name(trigger: str, fire_time: datetime) -> str:
    """`<trigger>-20241127T020000Z`: one name per fire time, so a repeated start is idempotent."""
    room = MAX_NAME_LENGTH - 1 - _STAMP_LENGTH
    return f"{_safe_name(trigger, _UNSAFE_NAME_CHARACTERS, room)}-{_stamp(fire_time)}"


def object_execution_name(trigger: str, time: datetime, event_id: uuid.UUID) -> str:
    """`<trigger>-20241127T020000Z-1a2b3c4d`: the write's time and its event's id."""
    room = MAX_NAME_LENGTH - 2 - _STAMP_LENGTH - _ID_LENGTH
    base = _safe_name(trigger, _UNSAFE_NAME_CHARACTERS, room)
    return f"{base}-{_stamp(time)}-{event_id.hex[:_ID_LENGTH]}"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_STAMP)


def _safe_name(name: str, unsafe: re.Pattern[str], room: int) -> str:
    """`name` if it fits and holds only safe characters; otherwise a safe, shortened form that a
    digest of the original keeps distinct from other names reduced the same way."""
    safe = unsafe.sub("_", name)
    if safe == name and 0 < len(safe) <= room:
        return safe
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"{safe[: room - len(digest) - 1]}_{digest}"

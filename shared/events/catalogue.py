"""The lifecycle events' names and envelope (pure): types, `source`, `subject`, id and sequence.

CloudEvents 1.0 (https://github.com/cloudevents/spec/blob/v1.0/spec.md) as Event Grid takes them on
a custom topic whose input schema is CloudEvents (docs: "CloudEvents v1.0 schema with Azure Event
Grid"; the REST spec's `CloudEventEvent`, eventgrid data-plane 2018-01-01: `id`, `source`, `type`
and `specversion` required):

- `type`: `CallRecording.<Area>.<What>`, PascalCase and dot-separated like Event Grid's own
  (`Microsoft.Communication.RecordingFileStatusUpdated`), with our own prefix, never `Microsoft.`.
- `source`: this app, `https://<WEBSITE_HOSTNAME>/api` on Azure (the API the subject is relative to),
  `/api` where the platform sets no host name.
- `subject`: `recordings/<recordingId, percent-encoded>`: Event Grid subscriptions filter on subject
  prefixes, so a consumer can take one recording's events, or all of them.
- `id`: a UUID derived (version 5) from the recording, the type and the sequence: a redelivery or a
  retried publish carries the same id, so consumers drop duplicates by (`source`, `id`).
- `data.sequence`: 1, 2, 3 ... per recording, in the order the catalog recorded the changes (Event
  Grid does not keep order; a consumer sorts by it, and a gap means an event still on its way).

docs/lifecycle-events.schema.json describes every type's `data`; docs/operations.md ("Lifecycle events") shows
a sample of each, and the tests hold the samples and the emitted events to the schema.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final
from urllib.parse import quote

SPEC_VERSION: Final = "1.0"
DATA_CONTENT_TYPE: Final = "application/json"
# Fixed, so an id never changes between deployments or versions: uuid5(namespace, recording|type|seq).
ID_NAMESPACE: Final = uuid.UUID("6f1c3a52-8d0e-5b8e-9a4f-2c7d1e0b9a31")
# Event Grid refuses an event over 1 MB (quotas and limits: "Event size: 1 MB"); ours stay far below
# (an archive of 1000 chunks is about 0.6 MB), and the outbox refuses to write a bigger one.
MAX_EVENT_BYTES: Final = 1_000_000


class EventType(StrEnum):
    """Every lifecycle event a consumer can subscribe to."""

    RECORDING_STARTED = "CallRecording.Recording.Started"
    RECORDING_STOPPED = "CallRecording.Recording.Stopped"
    ARCHIVE_STARTED = "CallRecording.Archive.Started"
    ARCHIVE_COMPLETED = "CallRecording.Archive.Completed"
    ARCHIVE_RETRYING = "CallRecording.Archive.Retrying"
    ARCHIVE_OVERDUE = "CallRecording.Archive.Overdue"
    ARCHIVE_LOST = "CallRecording.Archive.Lost"
    ARCHIVE_SOURCE_DELETED = "CallRecording.Archive.SourceDeleted"
    ARCHIVE_EXPIRED = "CallRecording.Archive.Expired"


@dataclass(frozen=True)
class Announcement:
    """A change worth telling, before the catalog gives it its place (sequence) in the recording's life."""

    type: EventType
    time: str  # when it happened (RFC 3339, UTC)
    data: dict[str, Any] = field(default_factory=dict)


def event_source(host_name: str | None) -> str:
    """`source`: the app's API (`WEBSITE_HOSTNAME` on Azure), or `/api` when it has no host name."""
    return f"https://{host_name}/api" if host_name else "/api"


def recording_route(recording_id: str) -> str:
    """The recording's route under the API (what `subject` names, relative to `source`)."""
    return f"recordings/{quote(recording_id, safe='')}"


def event_id(recording_id: str, event_type: EventType, sequence: int) -> str:
    """Stable per (recording, type, sequence): the same event always has the same id."""
    return str(uuid.uuid5(ID_NAMESPACE, f"{recording_id}\n{event_type.value}\n{sequence}"))


def cloud_event(
    announcement: Announcement, *, recording_id: str, sequence: int, source: str
) -> dict[str, Any]:
    """The CloudEvent (JSON form) for the `sequence`-th event of a recording."""
    return {
        "specversion": SPEC_VERSION,
        "type": announcement.type.value,
        "source": source,
        "subject": recording_route(recording_id),
        "id": event_id(recording_id, announcement.type, sequence),
        "time": announcement.time,
        "datacontenttype": DATA_CONTENT_TYPE,
        "data": {"recordingId": recording_id, "sequence": sequence, **announcement.data},
    }


def encoded_size(event: dict[str, Any]) -> int:
    """The event's size as sent (compact JSON, UTF-8)."""
    return len(json.dumps(event, separators=(",", ":")).encode("utf-8"))

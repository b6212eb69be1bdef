"""`GET .../archive`: the orchestration's status in Durable's own words, plus the stored manifest."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from shared.archive.durable import DurableClient
from shared.archive.records import recording_manifest
from shared.archive.states import runtime_status
from shared.errors import not_found
from shared.recording_ids import archive_instance_id
from shared.settings import Settings


async def archive_status(settings: Settings, client: DurableClient, recording_id: str) -> dict[str, Any]:
    """Durable's status of the recording's archive plus its stored manifest; 404 when neither exists."""
    instance_id = archive_instance_id(recording_id)
    status = await client.get_status(instance_id)
    runtime = runtime_status(status.runtime_status)
    # off the event loop: the catalog and blob reads block
    manifest = await asyncio.to_thread(recording_manifest, settings, recording_id)
    if runtime is None and manifest is None:
        raise not_found("No archive exists for this recording.", "recordingId")
    return {
        "recordingId": recording_id,
        "instanceId": instance_id,
        "runtimeStatus": runtime,
        "customStatus": status.custom_status if runtime else None,
        "createdTime": _time(status.created_time) if runtime else None,
        "lastUpdatedTime": _time(status.last_updated_time) if runtime else None,
        "manifest": manifest.document() if manifest else None,
    }


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None

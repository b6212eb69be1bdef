"""`GET .../archive`: the orchestration's status in Durable's own words, plus the stored manifest."""

from __future__ import annotations

import asyncio
from typing import Any

from shared.archive.start import runtime_status_name
from shared.archive.store import recording_manifest_document
from shared.errors import not_found
from shared.recording_ids import archive_instance_id
from shared.settings import Settings


async def archive_status(settings: Settings, client: Any, recording_id: str) -> dict[str, Any]:
    """Durable's status of the recording's archive plus its stored manifest; 404 when neither exists."""
    instance_id = archive_instance_id(recording_id)
    status = await client.get_status(instance_id)
    runtime = runtime_status_name(status)
    # off the event loop: the catalog and blob reads block
    manifest = await asyncio.to_thread(recording_manifest_document, settings, recording_id)
    if runtime is None and manifest is None:
        raise not_found("No archive exists for this recording.", "recordingId")
    return {
        "recordingId": recording_id,
        "instanceId": instance_id,
        "runtimeStatus": runtime,
        "customStatus": getattr(status, "custom_status", None) if runtime else None,
        "createdTime": _time(getattr(status, "created_time", None)) if runtime else None,
        "lastUpdatedTime": _time(getattr(status, "last_updated_time", None)) if runtime else None,
        "manifest": manifest,
    }


def _time(value: Any) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else (str(value) if value else None)

"""The archive container and the JSON documents kept in it beside the chunks: the manifest, and the
job a re-run starts from (`event.json`). Blob I/O only; what the catalog says about them is
shared.archive.records'."""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

from shared.archive.model import ArchiveJob, Manifest
from shared.clients import container_client
from shared.settings import Settings

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient


def archive_container(settings: Settings) -> ContainerClient:
    """The archive container (shared.clients: cached, created on first use)."""
    return container_client(settings.storage, settings.archive_container)


def _upload_json(settings: Settings, name: str, document: dict[str, Any], *, overwrite: bool) -> None:
    from azure.storage.blob import ContentSettings

    archive_container(settings).upload_blob(
        name,
        json.dumps(document, indent=2, sort_keys=True).encode(),
        overwrite=overwrite,
        content_settings=ContentSettings(content_type="application/json"),
    )


def _download_json(settings: Settings, name: str) -> Any:
    try:
        return json.loads(archive_container(settings).download_blob(name).readall())
    except ResourceNotFoundError:
        return None


def write_manifest(settings: Settings, manifest: Manifest) -> None:
    _upload_json(settings, manifest.blob_name, manifest.document(), overwrite=True)


def read_manifest(settings: Settings, blob_name: str) -> Manifest | None:
    """The manifest; None when it was never written (or retention deleted it)."""
    document = _download_json(settings, blob_name)
    return None if document is None else Manifest.from_json(document)


def write_job(settings: Settings, job: ArchiveJob) -> None:
    """Keep the validated job beside its archive, written once: a redelivery rewrites nothing."""
    with contextlib.suppress(ResourceExistsError):
        _upload_json(settings, job.event_blob_name, job.to_json(), overwrite=False)


def read_job(settings: Settings, blob_name: str) -> ArchiveJob | None:
    """The job stored from the event that started the archive, for a re-run."""
    document = _download_json(settings, blob_name)
    return None if document is None else ArchiveJob.from_json(document)

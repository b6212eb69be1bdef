"""The archive container: one client per worker, and the JSON documents kept in it beside the
chunks (the manifest, the event a re-run starts from)."""

from __future__ import annotations

import contextlib
import json
from functools import cache
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

from shared.archive.blob_layout import event_blob_name, recording_prefix
from shared.archive.events import ArchiveJob
from shared.archive.manifest import Manifest
from shared.clients import blob_service_client
from shared.errors import STORAGE, upstream
from shared.recording.catalog_table import catalog
from shared.settings import Settings, StorageConnection

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient


@cache
def _container(storage: StorageConnection, name: str) -> ContainerClient:
    container = blob_service_client(storage).get_container_client(name)
    with contextlib.suppress(ResourceExistsError):
        container.create_container()
    return container


def archive_container(settings: Settings) -> ContainerClient:
    """The archive container, created on first use in this worker."""
    return _container(settings.storage, settings.archive_container)


def reset_containers() -> None:
    """Forget the cached container clients (tests change settings between cases)."""
    _container.cache_clear()


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
    _upload_json(settings, manifest.blob_name, manifest.to_json(), overwrite=True)


def read_manifest_document(settings: Settings, blob_name: str) -> dict[str, Any] | None:
    """The manifest as stored: what `GET .../archive` answers with."""
    document = _download_json(settings, blob_name)
    return document if isinstance(document, dict) else None


def recording_manifest_document(settings: Settings, recording_id: str) -> dict[str, Any] | None:
    """The stored manifest of a recording's archive, found through the catalog; None if it has none.
    Storage failures are answered as Azure Storage's (the catalog is the answer here)."""
    with upstream(STORAGE):
        archive = catalog(settings).archive_of(recording_id)
        return read_manifest_document(settings, str(archive["manifestBlobName"])) if archive else None


def read_manifest(settings: Settings, blob_name: str) -> Manifest | None:
    """The manifest, typed; None when it was never written (or retention deleted it)."""
    document = read_manifest_document(settings, blob_name)
    return None if document is None else Manifest.from_json(document)


def write_job(settings: Settings, job: ArchiveJob) -> str:
    """Keep the validated job beside its archive, written once: a redelivery rewrites nothing."""
    name = event_blob_name(recording_prefix(job.start_time, job.recording_key))
    with contextlib.suppress(ResourceExistsError):
        _upload_json(settings, name, job.to_json(), overwrite=False)
    return name


def read_job(settings: Settings, blob_name: str) -> ArchiveJob | None:
    """The job stored from the event that started the archive, for a re-run."""
    document = _download_json(settings, blob_name)
    return None if document is None else ArchiveJob.from_json(document)

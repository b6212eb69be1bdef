"""The only place SDK clients are built: one per worker, reused across invocations.

Azure Functions keeps a worker process alive between invocations, and SDK clients hold
connection pools, so building them once per process is the documented pattern. Each is a
`worker_cache` (shared.worker_cache): tests rebuild them all with `reset_worker_caches()`.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ResourceExistsError

from shared.errors import STORAGE, upstream
from shared.recording_hosts import AllowListPolicy
from shared.settings import AcsConnection, EventTopic, StorageConnection
from shared.worker_cache import worker_cache

if TYPE_CHECKING:
    from azure.communication.callautomation import CallAutomationClient
    from azure.core.credentials import TokenCredential
    from azure.data.tables import TableClient, TableServiceClient
    from azure.eventgrid import EventGridPublisherClient
    from azure.storage.blob import BlobServiceClient, ContainerClient

# azure-core retries with exponential backoff by default; bound it so an HTTP caller waits for
# at most a few seconds before we answer 503/504 ourselves. Streamed downloads are read 256 KiB
# at a time instead of azure-core's 4 KiB (measured: 2.3x the download rate, benchmarks/README.md).
_CONTROL_CLIENT_OPTIONS: dict[str, Any] = {
    "connection_data_block_size": 256 * 1024,
    "retry_total": 3,
    "retry_backoff_max": 4,
    "connection_timeout": 10,
    "read_timeout": 30,
}


@worker_cache
def _credential(client_id: str | None) -> TokenCredential:
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(managed_identity_client_id=client_id)


@worker_cache
def call_automation_client(acs: AcsConnection) -> CallAutomationClient:
    """ACS Call Automation client from an access key or from managed identity."""
    from azure.communication.callautomation import CallAutomationClient

    credential: AzureKeyCredential | TokenCredential
    if acs.access_key is not None:
        credential = AzureKeyCredential(acs.access_key)
    else:
        credential = _credential(acs.managed_identity_client_id)
    return CallAutomationClient(
        acs.endpoint,
        credential,
        per_retry_policies=[AllowListPolicy(acs.endpoint)],  # every hop, redirects included
        **_CONTROL_CLIENT_OPTIONS,
    )


@worker_cache
def event_grid_publisher(topic: EventTopic) -> EventGridPublisherClient:
    """The lifecycle events' topic, signed in to with the app's identity (its token's audience is
    `https://eventgrid.azure.net`; the topic's local auth is off, so there is no key to hold)."""
    from azure.eventgrid import EventGridPublisherClient

    # For a basic topic azure-eventgrid 4.22 drops constructor options, so the publisher passes its
    # retry and timeouts per send, where the SDK also hands them to its CloudEvent model, which logs
    # a warning for each ("... is not a known attribute ... and will be ignored") and ignores them:
    # that logger is quietened; the pipeline still applies them.
    logging.getLogger("azure.eventgrid._legacy._generated._serialization").setLevel(logging.ERROR)
    return EventGridPublisherClient(topic.endpoint, _credential(topic.managed_identity_client_id))


@worker_cache
def blob_service_client(storage: StorageConnection) -> BlobServiceClient:
    """The Blob service client for this connection (cached: one connection pool per worker)."""
    from azure.storage.blob import BlobServiceClient

    if storage.connection_string is not None:
        return BlobServiceClient.from_connection_string(storage.connection_string)
    assert storage.blob_account_url is not None
    return BlobServiceClient(
        storage.blob_account_url, credential=_credential(storage.managed_identity_client_id)
    )


@worker_cache
def table_service_client(storage: StorageConnection) -> TableServiceClient:
    """The Table service client for this connection (cached: one connection pool per worker)."""
    from azure.data.tables import TableServiceClient

    if storage.connection_string is not None:
        return TableServiceClient.from_connection_string(storage.connection_string)
    assert storage.table_account_url is not None
    return TableServiceClient(
        storage.table_account_url, credential=_credential(storage.managed_identity_client_id)
    )


@worker_cache
def container_client(storage: StorageConnection, name: str) -> ContainerClient:
    """A blob container, created on first use in this worker."""
    container = blob_service_client(storage).get_container_client(name)
    with contextlib.suppress(ResourceExistsError):
        container.create_container()
    return container


@worker_cache
def table_client(storage: StorageConnection, name: str) -> TableClient:
    """A table, created on first use in this worker (a failure to create it names Azure Storage)."""
    service = table_service_client(storage)
    with upstream(STORAGE):
        service.create_table_if_not_exists(name)
    return service.get_table_client(name)

"""The catalog table, one client per worker, and the reads and writes the routes make of it.

The outage policy (shared.errors): the catalog is an index, never the only record. Only the two
functions marked best-effort here swallow a storage failure; every other catalog call raises, and
inside `upstream(STORAGE)` that becomes a 502/503/504 naming Azure Storage.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from azure.core.exceptions import AzureError

from shared.clients import table_client
from shared.errors import STORAGE, ApiError, upstream
from shared.events.publisher import outbox_for
from shared.recording.call_records import call_entry
from shared.recording.catalog import Catalog, StartedRecording
from shared.recording.catalog_index import MAX_PAGE_SIZE, CatalogQuery, parse_query
from shared.settings import Settings

_LOG = logging.getLogger(__name__)


def catalog(settings: Settings) -> Catalog:
    """The catalog over the worker's cached table client (shared.clients), keeping lifecycle events for
    the topic when one is configured (shared.events)."""
    return Catalog(table_client(settings.storage, settings.catalog_table), outbox_for(settings))


def record_started(settings: Settings, started: StartedRecording) -> None:
    """Best-effort: ACS already started the recording, so a failure here is logged, not raised (a
    client told to retry would start a second recording). State callbacks fill the entry in later."""
    try:
        catalog(settings).record_started(started)
    except Exception as error:
        _LOG.error("Recording started but the catalog write failed: %s", type(error).__name__)


def catalog_entry(settings: Settings, recording_id: str) -> dict[str, Any] | None:
    """Best-effort: the catalog's view, or None; an outage degrades a status answer (`catalog: null`)
    rather than failing what ACS can still answer."""
    try:
        return catalog(settings).get(recording_id)
    except (AzureError, ApiError) as error:
        _LOG.warning("Catalog read failed: %s", type(error).__name__)
        return None


def list_catalog(
    settings: Settings, params: dict[str, str], now: datetime, *, archive_statuses: Sequence[str]
) -> dict[str, Any]:
    """`GET /api/recordings`: a page of the catalog, newest first, by call, state, archive status or time."""
    query = parse_query(
        params, now=now, archive_statuses=archive_statuses
    )  # a QueryError is a 400 naming the parameter (shared.errors)
    token = params.get("continuationToken") or None
    with upstream(STORAGE):
        entries, next_token = catalog(settings).query(query, token)
    body: dict[str, Any] = {
        "recordings": entries,
        "continuationToken": next_token,
        "query": {
            "by": query.kind,
            "value": query.value or None,
            "from": query.start.isoformat() if query.start else None,
            "to": query.end.isoformat() if query.end else None,
            "pageSize": query.page_size,
        },
    }
    if query.kind == "serverCallId":
        body["serverCallId"] = query.value
        with upstream(STORAGE):  # what the recording policy decided for the call, when it ended
            body["call"] = call_entry(settings, query.value)
    return body


def recording_ids_of_call(settings: Settings, server_call_id: str) -> list[str]:
    """Every recording the catalog knows on this call (its `c-` index, all pages)."""
    query = CatalogQuery("serverCallId", server_call_id, None, None, MAX_PAGE_SIZE)
    found: list[str] = []
    token: str | None = None
    while True:
        entries, token = catalog(settings).query(query, token)
        found += [str(entry["recordingId"]) for entry in entries]
        if token is None:
            return found

"""Dead letters replayed, a timer: events Event Grid could not deliver are archived after all.

Event Grid writes an event it gave up on (after its retries, or at once for a 400 or 413) into the
dead-letter container, EVENT_GRID_DEAD_LETTER_CONTAINER in the Functions host's own storage account
(AzureWebJobsStorage*, which may differ from the archive's; infra/modules/host-storage.bicep). Every
run reads the blobs Event Grid added since the last run (shared.archive.dead_letters reads them) and
hands each RecordingFileStatusUpdated event in them to the one intake a delivery goes through
(shared.archive.intake: validated, idempotent, one archive per recording). Then the blob is moved
aside in the same container, so the next run does not read it again and a run's listing grows with
the new blobs, not with the history:

- `replayed/<name>`: every event in it was handed to the intake;
- `not-replayed/<name>`: it could not be decoded, or it holds an event of another type or one that
  failed validation. Never deleted; an error log line names the blob and why, and the run counts it.

A blob whose events could not be handed over (storage or Durable unavailable) stays where it is and
is read again on the next run: the intake is idempotent, so reading a blob twice starts nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ResourceModifiedError, ResourceNotFoundError

from shared.archive.dead_letters import (
    MAX_BLOB_BYTES,
    NOT_REPLAYED,
    OURS,
    REPLAYED,
    DeadLetter,
    moved_name,
    read_dead_letter,
)
from shared.archive.durable import DurableClient
from shared.archive.intake import accept_file_event
from shared.clients import container_client
from shared.settings import Settings

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

_LOG = logging.getLogger(__name__)
BLOBS_PER_RUN: Final = 100  # more wait for the next run


@dataclass
class ReplayReport:
    """One run's result (also logged as one line)."""

    watched: bool = True  # False: no dead-letter container is set, nothing was read
    replayed: list[str] = field(default_factory=list)  # blob names moved to replayed/
    kept: list[str] = field(default_factory=list)  # blob names moved to not-replayed/: see the error log
    retried: list[str] = field(default_factory=list)  # left in place after a failure: read again next run
    events_replayed: int = 0


@dataclass(frozen=True)
class _Read:
    letter: DeadLetter
    etag: str
    content: bytes | None  # None: too large to read, moved unread


async def replay_dead_letters(settings: Settings, client: DurableClient) -> ReplayReport:
    """One run: replay up to BLOBS_PER_RUN new dead-letter blobs and move each aside."""
    name = settings.archive.dead_letter_container
    if name is None or settings.host_storage is None:  # settings require host storage with a name
        return ReplayReport(watched=False)
    container = await asyncio.to_thread(container_client, settings.host_storage, name)
    report = ReplayReport()
    for blob_name in await asyncio.to_thread(new_dead_letters, container, BLOBS_PER_RUN):
        await _replay(settings, client, container, blob_name, report)
    if report.replayed or report.kept or report.retried:
        _LOG.info(
            "Dead-letter replay: %d blobs replayed (%d events), %d kept as not replayed, %d left for the "
            "next run",
            len(report.replayed),
            report.events_replayed,
            len(report.kept),
            len(report.retried),
        )
    return report


def new_dead_letters(container: ContainerClient, limit: int) -> list[str]:
    """Up to `limit` blobs Event Grid wrote and the replay has not moved aside: the container's
    top level is listed by prefix (one per subscription, and ours), then only Event Grid's prefixes."""
    from azure.storage.blob import BlobPrefix  # here, not at import: the app's cold start skips it

    names: list[str] = []
    for item in container.walk_blobs(delimiter="/"):
        if isinstance(item, BlobPrefix):
            if item.name in OURS:
                continue
            found: Iterable[str] = (blob.name for blob in container.list_blobs(name_starts_with=item.name))
        else:
            found = (item.name,)
        for blob_name in found:
            names.append(blob_name)
            if len(names) == limit:
                return names
    return names


async def _replay(
    settings: Settings, client: DurableClient, container: ContainerClient, name: str, report: ReplayReport
) -> None:
    try:
        read = await asyncio.to_thread(_read, container, name)
    except ResourceNotFoundError:
        return  # moved or deleted since it was listed
    except AzureError as error:
        _retry_later(report, name, "reading it", error)
        return
    problems = list(read.letter.problems)
    replayed = 0
    for position, event in enumerate(read.letter.events):
        try:
            outcome = await accept_file_event(settings, client, event)
        except Exception as error:  # storage or Durable: the delivery path raises to be retried too
            _retry_later(report, name, "handing its events to the archive", error)
            return
        if outcome is None:
            problems.append(f"event {position} ({event.event_id[:64]}) failed validation (see the warning)")
        else:
            replayed += 1
    destination = NOT_REPLAYED if problems else REPLAYED
    try:
        await asyncio.to_thread(_move, container, name, read, moved_name(destination, name))
    except AzureError as error:
        _retry_later(report, name, "moving it aside", error)
        return
    report.events_replayed += replayed
    if problems:
        report.kept.append(name)
        _LOG.error(
            "Dead-letter blob %s is kept as %s, not replayed: %s (%d events replayed)",
            name,
            moved_name(destination, name),
            "; ".join(problems),
            replayed,
        )
    else:
        report.replayed.append(name)
        _LOG.info(
            "Dead-letter blob %s replayed (%d events); moved to %s",
            name,
            replayed,
            moved_name(destination, name),
        )


def _read(container: ContainerClient, name: str) -> _Read:
    downloader = container.get_blob_client(name).download_blob()
    etag = str(downloader.properties.etag)
    if downloader.size > MAX_BLOB_BYTES:
        too_large = DeadLetter((), (f"larger than {MAX_BLOB_BYTES // (1024 * 1024)} MiB: not read",))
        return _Read(too_large, etag, None)
    body = downloader.readall()
    return _Read(read_dead_letter(body), etag, body)


def _move(container: ContainerClient, name: str, read: _Read, destination: str) -> None:
    """Copy the blob as it was read to `destination`, then delete it if it is still what was read
    (a blob rewritten meanwhile stays, and the next run reads it again)."""
    source = container.get_blob_client(name)
    content: bytes | Iterable[bytes] = (
        read.content
        if read.content is not None
        else source.download_blob(etag=read.etag, match_condition=MatchConditions.IfNotModified).chunks()
    )
    container.get_blob_client(destination).upload_blob(content, overwrite=True)
    try:
        source.delete_blob(etag=read.etag, match_condition=MatchConditions.IfNotModified)
    except ResourceModifiedError:
        _LOG.warning("Dead-letter blob %s changed while it was replayed; it is read again next run", name)
    except ResourceNotFoundError:
        pass  # gone already: nothing left to move


def _retry_later(report: ReplayReport, name: str, doing: str, error: BaseException) -> None:
    report.retried.append(name)
    _LOG.warning(
        "Dead-letter blob %s is left in place: %s failed (%s); read again on the next run",
        name,
        doing,
        type(error).__name__,
    )

"""Short-lived, read-only links to one archived blob: a SAS signed by a user delegation key when the app
reaches storage with its identity (no account key exists anywhere), by the account key only when it was
given a connection string (local development against Azurite).

A link is a bearer credential for its lifetime: it is returned to the caller and never logged.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import urlsplit

from shared.errors import SettingsError
from shared.settings import StorageConnection
from shared.worker_cache import on_reset

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient, UserDelegationKey

SigningMode = Literal["userDelegation", "accountKey"]
# Azure Storage compares SAS start times with its own clock; a start a little in the past keeps a link
# usable at once when the clocks disagree by a few minutes (the expiry is not moved).
CLOCK_SKEW: Final = timedelta(minutes=5)
# User delegation keys may live up to 7 days; a key is reused by this worker while it outlives the link.
DELEGATION_KEY_LIFETIME: Final = timedelta(hours=2)
_UNSAFE_FILE_CHARACTERS: Final = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class BlobLink:
    """A read-only SAS URL to one blob: a bearer credential until `expires_on`, never logged."""

    url: str = field(repr=False)  # a bearer credential until it expires
    expires_on: datetime
    file_name: str


def signing_mode(storage: StorageConnection) -> SigningMode:
    """Identity when the app has it (on Azure shared keys are off), else the connection string's key."""
    if storage.connection_string is None:
        return "userDelegation"
    return "accountKey"


def file_name(recording_start: str, recording_key: str, index: int, blob_name: str) -> str:
    """`recording-2026-11-24-1f3a9c20b7-000.wav`: sortable by day, tells recordings apart (real ids are
    base64 of one JSON shape and share their first 30-odd characters, so a hash of the id, not a prefix),
    numbers the chunk and keeps the extension."""
    last = blob_name.rsplit(".", 1)[-1]
    extension = f".metadata.{last}" if ".metadata." in blob_name.rsplit("/", 1)[-1] else f".{last}"
    day = _UNSAFE_FILE_CHARACTERS.sub("", recording_start[:10]) or "undated"
    tag = hashlib.sha256(recording_key.encode()).hexdigest()[:10]
    return f"recording-{day}-{tag}-{index:03d}{_UNSAFE_FILE_CHARACTERS.sub('', extension)}"


def content_disposition(name: str) -> str:
    """An attachment header for a name `file_name` built (only [A-Za-z0-9._-]: nothing to quote or encode)."""
    return f'attachment; filename="{_UNSAFE_FILE_CHARACTERS.sub("_", name)}"'


def validity(now: datetime, lifetime_seconds: int) -> tuple[datetime, datetime]:
    """(start, expiry) of a link made at `now`."""
    return now - CLOCK_SKEW, now + timedelta(seconds=lifetime_seconds)


class DelegationKeys:
    """One user delegation key per storage account per worker, renewed when it would expire before a
    new link does. (A key signs only for the account that issued it.)"""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, tuple[UserDelegationKey, datetime]] = {}

    def key_for(self, service: BlobServiceClient, now: datetime, link_expiry: datetime) -> UserDelegationKey:
        account = str(service.url)
        with self._lock:
            held = self._keys.get(account)
            if held is None or held[1] < link_expiry:
                start = now - CLOCK_SKEW
                expiry = max(now + DELEGATION_KEY_LIFETIME, link_expiry)
                held = (service.get_user_delegation_key(start, expiry), expiry)
                self._keys[account] = held
            return held[0]

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()


DELEGATION_KEYS: Final = DelegationKeys()
on_reset(DELEGATION_KEYS.clear)


def blob_link(
    service: BlobServiceClient,
    mode: SigningMode,
    container: str,
    blob_name: str,
    *,
    now: datetime,
    lifetime_seconds: int,
    download_name: str,
    content_type: str | None,
    keys: DelegationKeys = DELEGATION_KEYS,
) -> BlobLink:
    """A read-only SAS URL for exactly one blob (signed resource `b`), valid for `lifetime_seconds`."""
    from azure.storage.blob import BlobSasPermissions, generate_blob_sas

    start, expiry = validity(now, lifetime_seconds)
    url = service.get_blob_client(container, blob_name).url
    signing: dict[str, Any] = {}
    if mode == "userDelegation":
        signing["user_delegation_key"] = keys.key_for(service, now, expiry)
    else:
        account_key = getattr(service.credential, "account_key", None)
        if not account_key:
            raise SettingsError(
                "ARCHIVE_STORAGE_CONNECTION_STRING", "has no AccountKey to sign download links with"
            )
        signing["account_key"] = account_key
    token = generate_blob_sas(
        account_name=str(service.account_name),
        container_name=container,
        blob_name=blob_name,
        permission=BlobSasPermissions(read=True),
        start=start,
        expiry=expiry,
        protocol="https" if urlsplit(url).scheme == "https" else None,
        content_disposition=content_disposition(download_name),
        content_type=content_type,
        **signing,
    )
    return BlobLink(url=f"{url}?{token}", expires_on=expiry, file_name=download_name)

"""Settings read once from the environment and validated together.

Every error names the setting and never echoes its value: connection strings and keys are
secrets, and a misconfigured deployment must not leak them into logs or HTTP responses.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from shared.errors import SettingsError
from shared.urls import is_loopback_host
from shared.worker_cache import worker_cache

DEFAULT_ARCHIVE_CONTAINER = "recordings"
DEFAULT_CATALOG_TABLE = "recordings"
DEFAULT_OPENID_CONFIGURATION_URL = (
    "https://acscallautomation.communication.azure.com/calling/.well-known/acsopenidconfiguration"
)

_CONTAINER_NAME = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,62}$")
_ACCOUNT_NAME = re.compile(r"^[a-z0-9]{3,24}$")
DEFAULT_LINK_LIFETIME_SECONDS = 15 * 60
MAX_LINK_LIFETIME_SECONDS = 24 * 60 * 60
MAX_RETENTION_DAYS = 36500
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class AcsConnection:
    """How to reach ACS: an access key (HMAC) or Microsoft Entra ID via managed identity."""

    endpoint: str
    access_key: str | None = field(default=None, repr=False)
    managed_identity_client_id: str | None = None

    @property
    def uses_managed_identity(self) -> bool:
        return self.access_key is None


@dataclass(frozen=True)
class StorageConnection:
    """Where archives and the catalog live: a connection string or an account URL + identity."""

    connection_string: str | None = field(default=None, repr=False)
    blob_account_url: str | None = None
    table_account_url: str | None = None
    managed_identity_client_id: str | None = None


@dataclass(frozen=True)
class EventTopic:
    """Where lifecycle events go: an Event Grid custom topic's endpoint, signed in to with the app's
    identity (DefaultAzureCredential; the topic takes no key: local auth is off)."""

    endpoint: str
    managed_identity_client_id: str | None = None


@dataclass(frozen=True)
class TelemetrySettings:
    """Where OpenTelemetry goes: Application Insights, by the app's identity (local auth is off, so the
    connection string only names the component; it is not shown anyway)."""

    connection_string: str = field(repr=False)
    managed_identity_client_id: str | None = None


@dataclass(frozen=True)
class ArchivePolicy:
    """How hard the archive tries, and when a missing archive is called out
    (docs/archive.md, Nothing lost)."""

    retry_first_seconds: int = 30  # first wait after a round that left chunks unverified
    retry_max_seconds: int = 600  # the wait doubles up to this
    deadline_minutes: int = 24 * 60  # after the file event; ACS documents 24 h as its shortest retention
    lost_after_seconds: int = 30 * 60  # a chunk ACS calls gone (404/410) this long is Lost
    overdue_after_minutes: int = 30  # a stopped recording with no file event this long is Overdue
    recover_missing_events: bool = False  # ask ACS's (preview) result API for an Overdue one
    dead_letter_container: str | None = None  # Event Grid's undeliverable events (host storage)


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from its environment, validated once."""

    acs: AcsConnection
    storage: StorageConnection
    archive_container: str = DEFAULT_ARCHIVE_CONTAINER
    catalog_table: str = DEFAULT_CATALOG_TABLE
    recording_state_callback_url: str | None = None
    callback_audience: str | None = None
    openid_configuration_url: str = DEFAULT_OPENID_CONFIGURATION_URL
    archive_delete_source: bool = False
    link_lifetime_seconds: int = DEFAULT_LINK_LIFETIME_SECONDS
    retention_days: int = 0  # 0: archives are kept forever
    retention_dry_run: bool = False
    archive: ArchivePolicy = field(default_factory=lambda: ArchivePolicy())
    # The Functions host's own account (AzureWebJobsStorage*), which may differ from the archive's:
    # read only when something of ours lives there (the dead-letter container), else None.
    host_storage: StorageConnection | None = None
    # Lifecycle events (shared.events): None publishes nothing; `event_host_name` (the platform's
    # WEBSITE_HOSTNAME) makes their `source`.
    event_topic: EventTopic | None = None
    event_host_name: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from an environment mapping (`os.environ` in the app, a dict in tests)."""
        client_id = _optional(env, "AZURE_CLIENT_ID")
        archive = _archive_policy(env)
        return cls(
            acs=_acs_connection(env, client_id),
            storage=_storage_connection(env, client_id),
            archive_container=_matching(
                env,
                "ARCHIVE_CONTAINER",
                DEFAULT_ARCHIVE_CONTAINER,
                _CONTAINER_NAME,
                "must be a valid blob container name (3-63 lowercase letters, digits, hyphens)",
            ),
            catalog_table=_matching(
                env,
                "CATALOG_TABLE",
                DEFAULT_CATALOG_TABLE,
                _TABLE_NAME,
                "must be a valid table name (3-63 letters and digits, starting with a letter)",
            ),
            recording_state_callback_url=_callback_url(env, "RECORDING_STATE_CALLBACK_URL"),
            callback_audience=_optional(env, "ACS_RESOURCE_ID"),
            openid_configuration_url=_https_url(
                env, "ACS_OPENID_CONFIGURATION_URL", DEFAULT_OPENID_CONFIGURATION_URL
            ),
            archive_delete_source=_boolean(env, "ARCHIVE_DELETE_SOURCE", default=False),
            link_lifetime_seconds=_integer(
                env,
                "ARCHIVE_LINK_LIFETIME_SECONDS",
                default=DEFAULT_LINK_LIFETIME_SECONDS,
                minimum=1,
                maximum=MAX_LINK_LIFETIME_SECONDS,
            ),
            retention_days=_integer(
                env, "ARCHIVE_RETENTION_DAYS", default=0, minimum=0, maximum=MAX_RETENTION_DAYS
            ),
            retention_dry_run=_boolean(env, "ARCHIVE_RETENTION_DRY_RUN", default=False),
            archive=archive,
            host_storage=_dead_letter_storage(env, client_id) if archive.dead_letter_container else None,
            event_topic=_event_topic(env, client_id),
            event_host_name=_optional(env, "WEBSITE_HOSTNAME"),
        )


def _event_topic(env: Mapping[str, str], client_id: str | None) -> EventTopic | None:
    endpoint = _optional(env, "EVENT_GRID_TOPIC_ENDPOINT")
    if endpoint is None:
        return None
    return EventTopic(
        _require_https("EVENT_GRID_TOPIC_ENDPOINT", endpoint), managed_identity_client_id=client_id
    )


def telemetry_settings(env: Mapping[str, str]) -> TelemetrySettings | None:
    """OpenTelemetry's destination, read on its own (telemetry must not wait on, or fail with, the rest
    of the settings); None: no telemetry, and nothing of OpenTelemetry is imported."""
    connection_string = _optional(env, "APPLICATIONINSIGHTS_CONNECTION_STRING")
    if connection_string is None:
        return None
    keys = {part.partition("=")[0].strip().lower() for part in connection_string.split(";") if "=" in part}
    if "instrumentationkey" not in keys:
        raise SettingsError("APPLICATIONINSIGHTS_CONNECTION_STRING", "has no InstrumentationKey")
    return TelemetrySettings(connection_string, managed_identity_client_id=_optional(env, "AZURE_CLIENT_ID"))


def _archive_policy(env: Mapping[str, str]) -> ArchivePolicy:
    defaults = ArchivePolicy()
    first = _integer(
        env, "ARCHIVE_RETRY_FIRST_SECONDS", default=defaults.retry_first_seconds, minimum=1, maximum=3600
    )
    return ArchivePolicy(
        retry_first_seconds=first,
        retry_max_seconds=_integer(
            env,
            "ARCHIVE_RETRY_MAX_SECONDS",
            default=max(defaults.retry_max_seconds, first),
            minimum=first,
            maximum=24 * 3600,
        ),
        deadline_minutes=_integer(
            env,
            "ARCHIVE_DEADLINE_MINUTES",
            default=defaults.deadline_minutes,
            minimum=1,
            maximum=30 * 24 * 60,
        ),
        lost_after_seconds=_integer(
            env,
            "ARCHIVE_LOST_AFTER_SECONDS",
            default=defaults.lost_after_seconds,
            minimum=1,
            maximum=7 * 86400,
        ),
        overdue_after_minutes=_integer(
            env,
            "ARCHIVE_OVERDUE_AFTER_MINUTES",
            default=defaults.overdue_after_minutes,
            minimum=0,
            maximum=7 * 24 * 60,
        ),
        recover_missing_events=_boolean(env, "ARCHIVE_RECOVER_MISSING_EVENTS", default=False),
        dead_letter_container=_optional_matching(
            env,
            "EVENT_GRID_DEAD_LETTER_CONTAINER",
            _CONTAINER_NAME,
            "must be a valid blob container name (3-63 lowercase letters, digits, hyphens)",
        ),
    )


def _optional(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _acs_connection(env: Mapping[str, str], client_id: str | None) -> AcsConnection:
    """Identity first, as on Azure: `ACS_ENDPOINT` signs in with Entra ID even when a connection
    string is set too (a leftover key must not quietly win over the identity a deployment set)."""
    endpoint = _optional(env, "ACS_ENDPOINT")
    if endpoint is not None:
        return AcsConnection(
            endpoint=_require_https("ACS_ENDPOINT", endpoint).rstrip("/"),
            managed_identity_client_id=client_id,
        )
    connection_string = _optional(env, "ACS_CONNECTION_STRING")
    if connection_string is None:
        raise SettingsError(
            "ACS_CONNECTION_STRING", "is missing (set it, or ACS_ENDPOINT to use managed identity)"
        )
    parsed_endpoint, key = _parse_acs_connection_string(connection_string)
    return AcsConnection(endpoint=parsed_endpoint, access_key=key)


def _parse_acs_connection_string(value: str) -> tuple[str, str]:
    parts: dict[str, str] = {}
    for element in value.split(";"):
        key, sep, item = element.partition("=")
        if sep:
            parts[key.strip().lower()] = item.strip()
    endpoint, key = parts.get("endpoint", ""), parts.get("accesskey", "")
    if not endpoint or not key:
        raise SettingsError(
            "ACS_CONNECTION_STRING", "is malformed (expected endpoint=https://...;accesskey=...)"
        )
    try:
        base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise SettingsError("ACS_CONNECTION_STRING", "has an accesskey that is not base64") from None
    return _require_https("ACS_CONNECTION_STRING", endpoint).rstrip("/"), key


def _require_https(name: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise SettingsError(name, "must be an https:// URL")
    return url


def _storage_connection(env: Mapping[str, str], client_id: str | None) -> StorageConnection:
    """Archive-specific settings beat the host's `AzureWebJobsStorage*` (they may name another
    account); within each, identity beats a connection string, as on Azure."""
    account_url = _optional(env, "ARCHIVE_STORAGE_ACCOUNT_URL")
    if account_url is not None:
        blob_url = _require_https("ARCHIVE_STORAGE_ACCOUNT_URL", account_url).rstrip("/")
        return StorageConnection(
            blob_account_url=blob_url,
            table_account_url=_table_url_for("ARCHIVE_STORAGE_ACCOUNT_URL", blob_url),
            managed_identity_client_id=client_id,
        )
    connection_string = _optional(env, "ARCHIVE_STORAGE_CONNECTION_STRING")
    if connection_string is not None:
        return StorageConnection(
            connection_string=_storage_string("ARCHIVE_STORAGE_CONNECTION_STRING", connection_string)
        )
    host = _host_storage(env, client_id)
    if host is not None:
        return host
    raise SettingsError(
        "ARCHIVE_STORAGE_CONNECTION_STRING",
        "is missing (set it, ARCHIVE_STORAGE_ACCOUNT_URL for managed identity, or AzureWebJobsStorage)",
    )


def _host_storage(env: Mapping[str, str], client_id: str | None) -> StorageConnection | None:
    """The Functions host's storage as the host reads it: identity settings first, else the
    `AzureWebJobsStorage` connection string; None when neither is set."""
    host_identity = _host_storage_identity(env, client_id)
    if host_identity is not None:
        return host_identity
    jobs_storage = _optional(env, "AzureWebJobsStorage")
    if jobs_storage is not None:
        return StorageConnection(connection_string=_storage_string("AzureWebJobsStorage", jobs_storage))
    return None


def _dead_letter_storage(env: Mapping[str, str], client_id: str | None) -> StorageConnection:
    """Event Grid dead-letters into the host's account (infra/modules/host-storage.bicep)."""
    host = _host_storage(env, client_id)
    if host is None:
        raise SettingsError(
            "AzureWebJobsStorage",
            "is missing (EVENT_GRID_DEAD_LETTER_CONTAINER is a container in the host's storage)",
        )
    return host


_HOST_STORAGE = "AzureWebJobsStorage__"


def _host_storage_identity(env: Mapping[str, str], client_id: str | None) -> StorageConnection | None:
    """The host's identity-based storage settings, so a deployment need not repeat them: service
    URIs, else the account name on the public cloud; the host's `__clientId` picks the identity."""
    blob_uri = _optional(env, f"{_HOST_STORAGE}blobServiceUri")
    table_uri = _optional(env, f"{_HOST_STORAGE}tableServiceUri")
    account = _optional(env, f"{_HOST_STORAGE}accountName")
    identity = client_id or _optional(env, f"{_HOST_STORAGE}clientId")
    if blob_uri is not None:
        blob_url = _require_https(f"{_HOST_STORAGE}blobServiceUri", blob_uri).rstrip("/")
        table_url = (
            _require_https(f"{_HOST_STORAGE}tableServiceUri", table_uri).rstrip("/")
            if table_uri is not None
            else _table_url_for(f"{_HOST_STORAGE}blobServiceUri", blob_url)
        )
        return StorageConnection(
            blob_account_url=blob_url, table_account_url=table_url, managed_identity_client_id=identity
        )
    if account is not None:
        if not _ACCOUNT_NAME.fullmatch(account):
            raise SettingsError(
                f"{_HOST_STORAGE}accountName", "must be a storage account name (3-24 a-z, 0-9)"
            )
        return StorageConnection(
            blob_account_url=f"https://{account}.blob.core.windows.net",
            table_account_url=table_uri.rstrip("/")
            if table_uri
            else f"https://{account}.table.core.windows.net",
            managed_identity_client_id=identity,
        )
    return None


def _storage_string(name: str, value: str) -> str:
    if value.replace(" ", "").lower() == "usedevelopmentstorage=true":
        return value
    keys = {element.partition("=")[0].strip().lower() for element in value.split(";") if "=" in element}
    if "accountname" not in keys and "blobendpoint" not in keys:
        raise SettingsError(name, "is not a storage connection string (AccountName=...;AccountKey=...)")
    return value


def _table_url_for(setting: str, blob_url: str) -> str:
    """The catalog lives in the same account: swap the service label in the standard host name."""
    parts = urlsplit(blob_url)
    host = parts.hostname or ""
    if ".blob." not in host:
        raise SettingsError(setting, "must be a blob endpoint (https://<account>.blob.<suffix>)")
    return f"https://{host.replace('.blob.', '.table.', 1)}"


def _matching(env: Mapping[str, str], name: str, default: str, pattern: re.Pattern[str], problem: str) -> str:
    value = _optional(env, name) or default
    if not pattern.fullmatch(value):
        raise SettingsError(name, problem)
    return value


def _optional_matching(
    env: Mapping[str, str], name: str, pattern: re.Pattern[str], problem: str
) -> str | None:
    value = _optional(env, name)
    if value is not None and not pattern.fullmatch(value):
        raise SettingsError(name, problem)
    return value


def _https_url(env: Mapping[str, str], name: str, default: str) -> str:
    value = _optional(env, name)
    return default if value is None else _require_https(name, value)


def _callback_url(env: Mapping[str, str], name: str) -> str | None:
    """https anywhere; plain http only to this machine, for local runs behind no TLS."""
    value = _optional(env, name)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.hostname:
        return value
    if parts.scheme == "http" and parts.hostname and is_loopback_host(parts.hostname):
        return value
    raise SettingsError(name, "must be an https:// URL (http:// only for localhost)")


def _boolean(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(name, "must be true or false")


def _integer(env: Mapping[str, str], name: str, *, default: int, minimum: int, maximum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    # ASCII and short: `isdigit()` also accepts '²' and 5,000 digits, both of which int() refuses
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18) or not minimum <= int(raw) <= maximum:
        raise SettingsError(name, f"must be a whole number from {minimum} to {maximum}")
    return int(raw)


@worker_cache
def current_telemetry_settings() -> TelemetrySettings | None:
    """The worker's telemetry destination, from `os.environ` on first use."""
    return telemetry_settings(os.environ)


@worker_cache
def current_settings() -> Settings:
    """The worker's settings, read from `os.environ` on first use (not at import: indexing must
    succeed even when a setting is wrong, so the error can be reported per request)."""
    return Settings.from_env(os.environ)

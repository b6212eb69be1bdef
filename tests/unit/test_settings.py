"""Settings come from the environment once; errors name the setting and never show its value."""

from __future__ import annotations

import pytest

from shared.errors import SettingsError
from shared.settings import Settings

ACS = "endpoint=https://myacs.communication.azure.com/;accesskey=c2VjcmV0LWtleS12YWx1ZQ=="
STORAGE = (
    "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net"
)


def settings(**env: str) -> Settings:
    return Settings.from_env({"ACS_CONNECTION_STRING": ACS, "AzureWebJobsStorage": STORAGE, **env})


def failure(**env: str) -> SettingsError:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    return caught.value


def test_connection_string_gives_endpoint_and_access_key() -> None:
    acs = settings().acs
    assert (acs.endpoint, acs.uses_managed_identity) == ("https://myacs.communication.azure.com", False)


def test_acs_endpoint_alone_selects_managed_identity_with_the_client_id() -> None:
    acs = Settings.from_env(
        {
            "ACS_ENDPOINT": "https://myacs.communication.azure.com",
            "AZURE_CLIENT_ID": "1111",
            "AzureWebJobsStorage": STORAGE,
        }
    ).acs
    assert acs.uses_managed_identity
    assert acs.managed_identity_client_id == "1111"


def test_missing_acs_settings_names_the_connection_string() -> None:
    assert failure(AzureWebJobsStorage=STORAGE).setting == "ACS_CONNECTION_STRING"


def test_malformed_connection_string_error_does_not_echo_the_secret() -> None:
    error = failure(
        ACS_CONNECTION_STRING="endpoint=https://x.example;accesskey=not base64!!", AzureWebJobsStorage=STORAGE
    )
    assert error.setting == "ACS_CONNECTION_STRING"
    assert "not base64!!" not in str(error)


def test_http_acs_endpoint_is_refused() -> None:
    error = failure(
        ACS_CONNECTION_STRING="endpoint=http://x.example/;accesskey=c2VjcmV0", AzureWebJobsStorage=STORAGE
    )
    assert "https" in str(error)


def test_archive_storage_defaults_to_azure_web_jobs_storage() -> None:
    assert settings().storage.connection_string == STORAGE


def test_archive_connection_string_wins_over_azure_web_jobs_storage() -> None:
    own = STORAGE.replace("acct", "archive")
    assert settings(ARCHIVE_STORAGE_CONNECTION_STRING=own).storage.connection_string == own


def test_account_url_selects_identity_and_derives_the_table_endpoint() -> None:
    storage = settings(ARCHIVE_STORAGE_ACCOUNT_URL="https://acct.blob.core.windows.net/").storage
    assert storage.connection_string is None
    assert storage.blob_account_url == "https://acct.blob.core.windows.net"
    assert storage.table_account_url == "https://acct.table.core.windows.net"


def test_no_storage_at_all_names_the_archive_setting() -> None:
    assert failure(ACS_CONNECTION_STRING=ACS).setting == "ARCHIVE_STORAGE_CONNECTION_STRING"


def test_storage_value_that_is_not_a_connection_string_is_refused_without_echo() -> None:
    error = failure(ACS_CONNECTION_STRING=ACS, AzureWebJobsStorage="hunter2")
    assert error.setting == "AzureWebJobsStorage"
    assert "hunter2" not in str(error)


def test_defaults_for_container_table_and_deletion() -> None:
    value = settings()
    assert (value.archive_container, value.catalog_table, value.archive_delete_source) == (
        "recordings",
        "recordings",
        False,
    )


@pytest.mark.parametrize("name", ["Recordings", "ab", "a--b", "-abc", "with_underscore"])
def test_invalid_container_name_is_refused(name: str) -> None:
    with pytest.raises(SettingsError) as caught:
        settings(ARCHIVE_CONTAINER=name)
    assert caught.value.setting == "ARCHIVE_CONTAINER"


def test_callback_url_may_be_http_only_on_loopback() -> None:
    assert settings(RECORDING_STATE_CALLBACK_URL="http://127.0.0.1:7071/api/cb").recording_state_callback_url
    with pytest.raises(SettingsError):
        settings(RECORDING_STATE_CALLBACK_URL="http://contoso.example/api/cb")


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("FALSE", False), ("1", True), ("", False)])
def test_delete_source_is_a_boolean(raw: str, expected: bool) -> None:
    assert settings(ARCHIVE_DELETE_SOURCE=raw).archive_delete_source is expected


def test_delete_source_rejects_other_words() -> None:
    with pytest.raises(SettingsError):
        settings(ARCHIVE_DELETE_SOURCE="sometimes")


def test_repr_of_settings_shows_no_secret() -> None:
    assert "c2VjcmV0" not in repr(settings())
    assert "AccountKey" not in repr(settings())


class RecordingEnv(dict[str, str]):
    """An environment that remembers which names were asked for."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.asked: set[str] = set()

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        self.asked.add(key)
        return super().get(key, default)


def test_every_setting_read_is_documented_in_the_example_file() -> None:
    import json
    from pathlib import Path

    with_keys = RecordingEnv({"ACS_CONNECTION_STRING": ACS, "AzureWebJobsStorage": STORAGE})
    with_identity = RecordingEnv(
        {
            "ACS_ENDPOINT": "https://x.example",
            "ARCHIVE_STORAGE_ACCOUNT_URL": "https://a.blob.core.windows.net",
        }
    )
    Settings.from_env(with_keys)
    Settings.from_env(with_identity)
    example = Path(__file__).resolve().parents[2] / "local.settings.json.example"
    documented = set(json.loads(example.read_text())["Values"])
    assert (with_keys.asked | with_identity.asked) - documented == set()


IDENTITY_STORAGE = {
    "AzureWebJobsStorage__accountName": "archiveacct",
    "AzureWebJobsStorage__credential": "managedidentity",
}


def test_acs_endpoint_wins_over_a_connection_string_set_too() -> None:
    acs = settings(ACS_ENDPOINT="https://myacs.communication.azure.com/").acs
    assert acs.uses_managed_identity
    assert acs.access_key is None
    assert acs.endpoint == "https://myacs.communication.azure.com"


def test_host_identity_storage_wins_over_the_host_connection_string() -> None:
    storage = settings(**IDENTITY_STORAGE).storage
    assert storage.connection_string is None
    assert storage.blob_account_url == "https://archiveacct.blob.core.windows.net"
    assert storage.table_account_url == "https://archiveacct.table.core.windows.net"


def test_host_service_uris_are_used_as_given() -> None:
    storage = settings(
        AzureWebJobsStorage__blobServiceUri="https://acct.blob.core.usgovcloudapi.net/",
        AzureWebJobsStorage__tableServiceUri="https://acct.table.core.usgovcloudapi.net",
    ).storage
    assert (storage.blob_account_url, storage.table_account_url) == (
        "https://acct.blob.core.usgovcloudapi.net",
        "https://acct.table.core.usgovcloudapi.net",
    )


def test_host_blob_uri_alone_derives_the_table_endpoint() -> None:
    storage = settings(AzureWebJobsStorage__blobServiceUri="https://acct.blob.core.windows.net").storage
    assert storage.table_account_url == "https://acct.table.core.windows.net"


def test_the_hosts_client_id_picks_the_identity_when_azure_client_id_is_unset() -> None:
    storage = settings(**IDENTITY_STORAGE, AzureWebJobsStorage__clientId="2222").storage
    assert storage.managed_identity_client_id == "2222"


def test_archive_account_url_wins_over_its_connection_string() -> None:
    storage = settings(
        ARCHIVE_STORAGE_ACCOUNT_URL="https://archive.blob.core.windows.net",
        ARCHIVE_STORAGE_CONNECTION_STRING=STORAGE,
    ).storage
    assert (storage.connection_string, storage.blob_account_url) == (
        None,
        "https://archive.blob.core.windows.net",
    )


def test_an_archive_connection_string_names_another_account_and_beats_host_identity() -> None:
    storage = settings(**IDENTITY_STORAGE, ARCHIVE_STORAGE_CONNECTION_STRING=STORAGE).storage
    assert storage.connection_string == STORAGE


def test_a_malformed_host_account_name_is_refused_by_name() -> None:
    error = failure(ACS_CONNECTION_STRING=ACS, AzureWebJobsStorage__accountName="Not_An_Account!")
    assert error.setting == "AzureWebJobsStorage__accountName"
    assert "Not_An_Account!" not in str(error)


def test_links_live_15_minutes_and_retention_is_off_unless_set() -> None:
    value = settings()
    assert (value.link_lifetime_seconds, value.retention_days, value.retention_dry_run) == (900, 0, False)


@pytest.mark.parametrize("raw", ["0", "-5", "86401", "15m", "1.5", "²", "①", "9" * 5000])
def test_a_link_lifetime_outside_one_second_to_one_day_is_refused_by_name(raw: str) -> None:
    with pytest.raises(SettingsError) as caught:
        settings(ARCHIVE_LINK_LIFETIME_SECONDS=raw)
    assert caught.value.setting == "ARCHIVE_LINK_LIFETIME_SECONDS"


def test_retention_days_and_dry_run_are_read() -> None:
    value = settings(ARCHIVE_RETENTION_DAYS="90", ARCHIVE_RETENTION_DRY_RUN="true")
    assert (value.retention_days, value.retention_dry_run) == (90, True)


def test_the_dead_letter_container_is_read_in_the_hosts_storage_not_the_archives() -> None:
    archive_account = "https://archive.blob.core.windows.net"
    value = settings(
        **IDENTITY_STORAGE,
        ARCHIVE_STORAGE_ACCOUNT_URL=archive_account,
        EVENT_GRID_DEAD_LETTER_CONTAINER="eventgrid-deadletter",
    )
    assert value.archive.dead_letter_container == "eventgrid-deadletter"
    assert value.storage.blob_account_url == archive_account
    assert value.host_storage is not None
    assert value.host_storage.blob_account_url == "https://archiveacct.blob.core.windows.net"


def test_the_hosts_storage_is_not_read_without_a_dead_letter_container() -> None:
    assert settings().host_storage is None


def test_a_dead_letter_container_without_host_storage_names_azure_web_jobs_storage() -> None:
    error = failure(
        ACS_CONNECTION_STRING=ACS,
        ARCHIVE_STORAGE_CONNECTION_STRING=STORAGE,
        EVENT_GRID_DEAD_LETTER_CONTAINER="eventgrid-deadletter",
    )
    assert error.setting == "AzureWebJobsStorage"

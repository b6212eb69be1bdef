"""Which signature a download link gets, its name, and its lifetime: pure decisions, no storage."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.archive.blob_links import (
    CLOCK_SKEW,
    DELEGATION_KEYS,
    DelegationKeys,
    content_disposition,
    file_name,
    signing_mode,
    validity,
)
from shared.archive.chunk_links import checked_index, verified_chunk, wants_redirect
from shared.errors import ApiError
from shared.settings import Settings
from shared.worker_cache import reset_worker_caches
from tests.unit.archive.test_model import archived, build, two_chunk_job

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
ACS = "endpoint=https://myacs.communication.azure.com/;accesskey=c2VjcmV0LWtleS12YWx1ZQ=="


def storage_for(**env: str) -> Any:
    return Settings.from_env({"ACS_CONNECTION_STRING": ACS, **env}).storage


def test_an_app_with_a_storage_identity_signs_with_a_user_delegation_key() -> None:
    assert signing_mode(storage_for(ARCHIVE_STORAGE_ACCOUNT_URL="https://acct.blob.core.windows.net")) == (
        "userDelegation"
    )


def test_the_hosts_identity_settings_also_mean_a_user_delegation_key() -> None:
    storage = storage_for(
        AzureWebJobsStorage__accountName="acct", AzureWebJobsStorage="UseDevelopmentStorage=true"
    )
    assert signing_mode(storage) == "userDelegation"


def test_only_a_connection_string_means_the_account_key() -> None:
    storage = storage_for(ARCHIVE_STORAGE_CONNECTION_STRING="UseDevelopmentStorage=true")
    assert signing_mode(storage) == "accountKey"


def test_a_link_starts_a_little_early_for_clock_skew_and_ends_after_its_lifetime() -> None:
    assert validity(NOW, 900) == (NOW - CLOCK_SKEW, NOW + timedelta(minutes=15))


def test_the_file_name_has_the_day_a_tag_of_the_recording_the_chunk_and_the_extension() -> None:
    name = file_name("2026-11-24T09:59:00+00:00", "eyJQbGF0", 3, "2026/11/24/eyJQbGF0/003-doc.wav")
    assert name.startswith("recording-2026-11-24-")
    assert name.endswith("-003.wav")


def test_two_recordings_that_share_an_id_prefix_get_different_names() -> None:
    first = file_name("2026-11-24", "eyJQbGF0Zm9ybUVuZHBvaW50SWQiOiIwMTAw" + "a", 0, "x/000-d.mp3")
    second = file_name("2026-11-24", "eyJQbGF0Zm9ybUVuZHBvaW50SWQiOiIwMTAw" + "b", 0, "x/000-d.mp3")
    assert first != second


def test_the_metadata_file_keeps_its_double_extension() -> None:
    assert file_name("2026-11-24", "k", 0, "p/000-doc.metadata.json").endswith("-000.metadata.json")


def test_content_disposition_cannot_be_broken_out_of_by_a_name() -> None:
    assert content_disposition('a"; filename=evil.exe') == 'attachment; filename="a___filename_evil.exe"'


@pytest.mark.parametrize("raw", ["-1", "1000", "x", "", "1e3", " 1"])
def test_a_chunk_index_outside_0_to_999_is_400(raw: str) -> None:
    with pytest.raises(ApiError) as caught:
        checked_index(raw)
    assert (caught.value.status, caught.value.target) == (400, "index")


@pytest.mark.parametrize(
    ("raw", "redirect"), [(None, True), ("true", True), ("false", False), ("FALSE", False)]
)
def test_redirect_is_true_unless_asked_false(raw: str | None, redirect: bool) -> None:
    assert wants_redirect(raw) is redirect


@pytest.mark.parametrize("raw", ["no", "0", "false,true", " false"])
def test_any_other_redirect_value_is_400(raw: str) -> None:
    with pytest.raises(ApiError) as caught:
        wants_redirect(raw)
    assert (caught.value.status, caught.value.target) == (400, "redirect")


def test_only_a_chunk_with_a_sha256_is_verified() -> None:
    job = two_chunk_job()
    chunks = archived(job)
    manifest = build(job, [chunks[0], replace(chunks[1], sha256="")])  # chunks come highest first
    assert verified_chunk(manifest, 1).blob_name == "p/1.wav"
    with pytest.raises(ApiError) as caught:
        verified_chunk(manifest, 0)
    assert caught.value.status == 404


class CountingService:
    """Stands in for BlobServiceClient.get_user_delegation_key only (the Azurite tests use the real one)."""

    def __init__(self, url: str = "https://one.blob.core.windows.net/") -> None:
        self.url = url
        self.requests: list[tuple[datetime, datetime]] = []

    def get_user_delegation_key(self, start: datetime, expiry: datetime) -> object:
        self.requests.append((start, expiry))
        return object()


def test_a_delegation_key_is_reused_while_it_outlives_the_link_and_renewed_after() -> None:
    keys, service = DelegationKeys(), CountingService()
    first = keys.key_for(service, NOW, NOW + timedelta(minutes=15))
    again = keys.key_for(service, NOW + timedelta(minutes=30), NOW + timedelta(minutes=45))
    assert first is again
    assert len(service.requests) == 1
    keys.key_for(service, NOW + timedelta(hours=2), NOW + timedelta(hours=2, minutes=15))
    assert len(service.requests) == 2


def test_a_delegation_key_signs_only_for_the_account_that_issued_it() -> None:
    keys = DelegationKeys()
    one, other = CountingService(), CountingService("https://other.blob.core.windows.net/")
    key_of_one = keys.key_for(one, NOW, NOW + timedelta(minutes=15))  # type: ignore[arg-type]
    key_of_other = keys.key_for(other, NOW, NOW + timedelta(minutes=15))  # type: ignore[arg-type]
    assert key_of_one is not key_of_other
    assert (len(one.requests), len(other.requests)) == (1, 1)


def test_a_reset_forgets_the_workers_delegation_keys() -> None:
    service = CountingService()
    DELEGATION_KEYS.key_for(service, NOW, NOW + timedelta(minutes=15))  # type: ignore[arg-type]
    reset_worker_caches()
    DELEGATION_KEYS.key_for(service, NOW, NOW + timedelta(minutes=15))  # type: ignore[arg-type]
    assert len(service.requests) == 2

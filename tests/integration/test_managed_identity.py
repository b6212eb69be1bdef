"""The app signs in to ACS with a managed identity: tokens from the App Service identity endpoint,
sent as bearer tokens, refused by the emulator when they are not Entra's (here: its issuer's).

These run in every `make test`; the second, `TEST_ACS_AUTH=identity` run of the control and
archive suites repeats those suites on this path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devtools.acs_emulator import AcsEmulator
from devtools.acs_emulator.entra import EntraIssuer, IdentityEndpoint
from shared.archive.store import archive_container
from shared.archive.transfer import TransferOptions, archive_chunk
from shared.clients import call_automation_client
from shared.settings import Settings, current_settings
from shared.worker_cache import reset_worker_caches
from tests.support.api import start
from tests.support.chunks import chunk_job, chunk_task
from tests.support.functions import json_body

CLIENT_ID = "5b1a0c3e-0000-4000-8000-00000000c11e"


def use_identity(monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]) -> Settings:
    monkeypatch.delenv("ACS_CONNECTION_STRING", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    reset_worker_caches()
    return current_settings()


@pytest.fixture
def identity(app_settings: Settings, emulator: AcsEmulator, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The app's settings with `ACS_ENDPOINT` and a user-assigned identity, and no access key."""
    monkeypatch.setenv("AZURE_CLIENT_ID", CLIENT_ID)
    settings = use_identity(monkeypatch, emulator.managed_identity_environment)
    emulator.identity.requests.clear()
    emulator.clear_requests()
    return settings


@pytest.fixture
def foreign_identity(emulator: AcsEmulator) -> Iterator[IdentityEndpoint]:
    """An identity endpoint whose tokens another tenant's key signed."""
    endpoint = IdentityEndpoint(EntraIssuer()).start()
    yield endpoint
    endpoint.stop()


def test_the_identity_path_sends_no_access_key(identity: Settings) -> None:
    assert identity.acs.access_key is None
    assert identity.acs.managed_identity_client_id == CLIENT_ID


def test_a_start_is_signed_with_a_bearer_token_for_acs(identity: Settings, emulator: AcsEmulator) -> None:
    call = emulator.create_call(participants=["8:acs:identity"])
    assert start({"serverCallId": call.server_call_id}).status_code == 201
    (sent,) = [r for r in emulator.requests if r.method == "POST"]
    assert sent.headers["authorization"] == "Bearer <redacted>"
    (asked,) = emulator.identity.requests
    assert (asked.resource, asked.client_id, asked.status) == (
        "https://communication.azure.com/",
        CLIENT_ID,
        200,
    )


def test_a_download_with_identity_sends_the_token_to_acs_and_none_to_the_regional_host(
    identity: Settings, emulator: AcsEmulator
) -> None:
    call = emulator.create_call(participants=["8:acs:identity"])
    recording = call_automation_client(identity.acs).start_recording(server_call_id=call.server_call_id)
    (source,) = emulator.stop_recording(recording.recording_id, duration_s=5).chunks
    job = chunk_job(source)
    with emulator.loopback_dns():
        result = archive_chunk(
            chunk_task(job, "identity"),
            acs=call_automation_client(identity.acs),
            container=archive_container(identity),
            options=TransferOptions(range_bytes=64 * 1024, in_flight=2),
        )
    assert result.archived.sha256 == source.content_sha256()
    downloads: list[Any] = [r for r in emulator.requests if "/v1/objects/" in r.target]
    front = [r for r in downloads if r.headers["host"] == emulator.content_host]
    regional = [r for r in downloads if r.headers["host"] == emulator.regional_content_host]
    assert front
    assert {r.headers["authorization"] for r in front} == {"Bearer <redacted>"}
    assert regional
    assert all("authorization" not in r.headers for r in regional)


def test_a_token_acs_does_not_trust_is_502_upstream_authentication(
    app_settings: Settings,
    emulator: AcsEmulator,
    foreign_identity: IdentityEndpoint,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_identity(monkeypatch, {"ACS_ENDPOINT": emulator.endpoint, **foreign_identity.environment})
    call = emulator.create_call(participants=["8:acs:identity"])
    emulator.clear_requests()
    response = start({"serverCallId": call.server_call_id})
    assert (response.status_code, json_body(response)["error"]["code"]) == (
        502,
        "UpstreamAuthenticationFailed",
    )
    assert [r.status for r in emulator.requests] == [401]
    assert foreign_identity.requests  # the token was fetched, then refused by the service

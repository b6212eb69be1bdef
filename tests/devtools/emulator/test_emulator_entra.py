"""Bearer tokens (Microsoft Entra ID) at the emulator, and the identity endpoint that issues them."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from azure.communication.callautomation import CallAutomationClient
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError

from devtools.acs_emulator import AcsEmulator, Call
from devtools.acs_emulator.entra import EVENT_GRID_AUDIENCES, EntraIssuer


class StaticToken:
    """A TokenCredential handing out one given token: how a test presents a forged one."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + 600)


def start_with(emulator: AcsEmulator, call: Call, token: str) -> str:
    client = CallAutomationClient(
        emulator.endpoint, StaticToken(token), connection_verify=emulator.ca_pem_path
    )
    return client.start_recording(server_call_id=call.server_call_id).recording_id


def test_a_token_from_the_emulators_issuer_is_accepted(emulator: AcsEmulator, call: Call) -> None:
    assert start_with(emulator, call, emulator.entra.token())


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda issuer: EntraIssuer(issuer.tenant_id).token(), id="another-key"),
        pytest.param(
            lambda issuer: issuer.token(audience="https://management.azure.com/"), id="wrong-audience"
        ),
        pytest.param(lambda issuer: issuer.token(issuer="https://sts.windows.net/other/"), id="wrong-issuer"),
        pytest.param(lambda issuer: issuer.token(now=time.time() - 7200, lifetime_s=3600), id="expired"),
        pytest.param(lambda issuer: issuer.token(now=time.time() + 3600), id="not-yet-valid"),
        pytest.param(lambda issuer: "not-a-jwt", id="garbage"),
    ],
)
def test_a_token_the_service_would_not_trust_is_401(emulator: AcsEmulator, call: Call, forge: Any) -> None:
    with pytest.raises(ClientAuthenticationError):
        start_with(emulator, call, forge(emulator.entra))
    assert emulator.requests[-1].status == 401


def test_the_identity_endpoint_wants_its_secret_header(emulator: AcsEmulator) -> None:
    query = {"api-version": "2019-08-01", "resource": "https://communication.azure.com/"}
    assert requests.get(emulator.identity.url, params=query, timeout=5).status_code == 401
    answer = requests.get(
        emulator.identity.url,
        params=query,
        headers={"X-IDENTITY-HEADER": emulator.identity.secret},
        timeout=5,
    )
    assert answer.status_code == 200
    assert answer.json()["token_type"] == "Bearer"
    assert emulator.entra.verify(answer.json()["access_token"])["aud"] == "https://communication.azure.com/"


def test_the_identity_endpoint_issues_for_event_grid_too_and_acs_refuses_those_tokens(
    emulator: AcsEmulator, call: Call
) -> None:
    answer = requests.get(
        emulator.identity.url,
        params={"api-version": "2019-08-01", "resource": "https://eventgrid.azure.net"},
        headers={"X-IDENTITY-HEADER": emulator.identity.secret},
        timeout=5,
    )
    token = answer.json()["access_token"]
    assert emulator.entra.verify(token, EVENT_GRID_AUDIENCES)["aud"] == "https://eventgrid.azure.net"
    with pytest.raises(ClientAuthenticationError):
        start_with(emulator, call, token)


def test_the_identity_endpoint_issues_only_for_acs_and_event_grid(emulator: AcsEmulator) -> None:
    answer = requests.get(
        emulator.identity.url,
        params={"api-version": "2019-08-01", "resource": "https://storage.azure.com/"},
        headers={"X-IDENTITY-HEADER": emulator.identity.secret},
        timeout=5,
    )
    assert answer.status_code == 400

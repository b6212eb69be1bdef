"""`make run USE_FUNC=1` writes a local.settings.json that Core Tools can run the app with."""

from __future__ import annotations

import json
from pathlib import Path

from devtools.stack.__main__ import STACK_SETTINGS, core_tools_settings
from shared.settings import Settings

EXAMPLE = json.loads((Path(__file__).resolve().parents[2] / "local.settings.json.example").read_text())
STACK = {
    "AzureWebJobsStorage": "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
    "ACS_CONNECTION_STRING": "endpoint=https://127.0.0.1:8443/;accesskey=a2V5",
    "ACS_RESOURCE_ID": "00000000-0000-0000-0000-000000000001",
    "ACS_OPENID_CONFIGURATION_URL": "https://127.0.0.1:8443/calling/.well-known/acsopenidconfiguration",
    "REQUESTS_CA_BUNDLE": "/tmp/ca.pem",
    "SSL_CERT_FILE": "/tmp/ca.pem",
}


def test_generated_settings_are_valid_for_the_app() -> None:
    values = core_tools_settings(EXAMPLE, STACK, 7071)["Values"]
    settings = Settings.from_env(values)
    assert settings.acs.endpoint == "https://127.0.0.1:8443"
    assert settings.recording_state_callback_url == "http://127.0.0.1:7071/api/callbacks/recording-state"


def test_generated_settings_carry_every_stack_setting_and_no_comments() -> None:
    values = core_tools_settings(EXAMPLE, STACK, 7071)["Values"]
    assert all(values[name] == STACK[name] for name in STACK_SETTINGS)
    assert not [name for name in values if name.startswith("_")]
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"

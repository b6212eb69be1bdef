"""The managed-identity path of download links against real Azurite over HTTPS with OAuth: the app signs in
with an Entra-style bearer token, asks storage for a user delegation key and signs a read-only SAS for one
blob with it; no account key is used. (Azurite checks the token's issuer, audience and lifetime, not its
signature or the principal's roles: that the identity holds a role allowing
`generateUserDelegationKey` is only checked by Azure.)"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import trustme
from azure.core.credentials import AccessToken
from azure.storage.blob import BlobServiceClient, ContainerClient

from devtools.acs_emulator.entra import SYSTEM_ASSIGNED_CLIENT_ID, EntraIssuer
from devtools.azurite import Azurite, running_azurite
from shared.archive.blob_links import DelegationKeys, blob_link
from shared.errors import SettingsError

STORAGE_AUDIENCE = "https://storage.azure.com"


class EntraStorageCredential:
    """A TokenCredential handing out Entra-style v1 tokens for Azure Storage, as the managed identity
    endpoint would (issued by the same stand-in issuer the ACS emulator uses)."""

    def __init__(self, issuer: EntraIssuer) -> None:
        self.issuer = issuer
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken(self.issuer.token(audience=STORAGE_AUDIENCE), int(time.time()) + 3600)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    folder = tmp_path_factory.mktemp("azurite-tls")
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    cert, key, ca_pem = folder / "cert.pem", folder / "key.pem", folder / "ca.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_pem))
    return cert, key, ca_pem


@pytest.fixture(scope="module")
def oauth_azurite(tls_files: tuple[Path, Path, Path]) -> Iterator[Azurite]:
    with running_azurite(tls=(tls_files[0], tls_files[1])) as server:
        yield server


@pytest.fixture
def credential() -> EntraStorageCredential:
    return EntraStorageCredential(EntraIssuer())


@pytest.fixture
def service(
    oauth_azurite: Azurite, tls_files: tuple[Path, Path, Path], credential: EntraStorageCredential
) -> BlobServiceClient:
    return BlobServiceClient(
        oauth_azurite.blob_url, credential=credential, connection_verify=str(tls_files[2])
    )


@pytest.fixture
def container(service: BlobServiceClient) -> ContainerClient:
    container = service.get_container_client(f"links-{uuid.uuid4().hex[:12]}")
    container.create_container()
    container.upload_blob("2026/11/24/rec/000-doc.wav", b"RIFF chunk zero")
    container.upload_blob("2026/11/24/rec/001-doc.wav", b"RIFF chunk one")
    return container


def sign(service: BlobServiceClient, container: ContainerClient, blob: str, lifetime: int = 900) -> str:
    return blob_link(
        service,
        "userDelegation",
        str(container.container_name),
        blob,
        now=datetime.now(UTC),
        lifetime_seconds=lifetime,
        download_name="recording-2026-11-24-abc-000.wav",
        content_type="audio/wav",
        keys=DelegationKeys(),
    ).url


def test_a_user_delegation_link_serves_the_blob_without_any_account_key(
    service: BlobServiceClient,
    container: ContainerClient,
    credential: EntraStorageCredential,
    tls_files: tuple[Path, Path, Path],
) -> None:
    url = sign(service, container, "2026/11/24/rec/000-doc.wav")
    query = parse_qs(urlsplit(url).query)
    assert {"skoid", "sktid", "skt", "ske", "sig"} <= set(query)  # signed by a delegation key
    assert query["skoid"] == [
        str(uuid.uuid5(uuid.NAMESPACE_URL, SYSTEM_ASSIGNED_CLIENT_ID))
    ]  # the token's oid
    assert set(credential.scopes) == {"https://storage.azure.com/.default"}
    download = requests.get(url, verify=str(tls_files[2]), timeout=30)
    assert (download.status_code, download.content) == (200, b"RIFF chunk zero")
    assert (
        download.headers["Content-Disposition"] == 'attachment; filename="recording-2026-11-24-abc-000.wav"'
    )


def test_a_user_delegation_link_for_another_blob_is_refused(
    service: BlobServiceClient, container: ContainerClient, tls_files: tuple[Path, Path, Path]
) -> None:
    url = sign(service, container, "2026/11/24/rec/000-doc.wav")
    other = url.replace("000-doc.wav", "001-doc.wav")
    assert requests.get(other, verify=str(tls_files[2]), timeout=30).status_code == 403


def test_an_expired_user_delegation_link_is_refused(
    service: BlobServiceClient, container: ContainerClient, tls_files: tuple[Path, Path, Path]
) -> None:
    url = sign(service, container, "2026/11/24/rec/000-doc.wav", lifetime=2)
    assert requests.get(url, verify=str(tls_files[2]), timeout=30).status_code == 200
    time.sleep(3)
    assert requests.get(url, verify=str(tls_files[2]), timeout=30).status_code == 403


def test_a_link_signed_with_a_tampered_signature_is_refused(
    service: BlobServiceClient, container: ContainerClient, tls_files: tuple[Path, Path, Path]
) -> None:
    url = sign(service, container, "2026/11/24/rec/000-doc.wav")
    tampered = url.replace("sp=r", "sp=rw")
    assert tampered != url
    assert requests.get(tampered, verify=str(tls_files[2]), timeout=30).status_code == 403


def test_an_identity_client_cannot_sign_with_an_account_key(
    service: BlobServiceClient, container: ContainerClient
) -> None:
    with pytest.raises(SettingsError):
        blob_link(
            service,
            "accountKey",
            str(container.container_name),
            "2026/11/24/rec/000-doc.wav",
            now=datetime.now(UTC),
            lifetime_seconds=60,
            download_name="x.wav",
            content_type=None,
        )

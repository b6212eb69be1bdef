"""Throwaway test CA and server certificate for the emulator's HTTPS endpoint.

The SDK only speaks https (``from_connection_string`` forces it), so the emulator needs a
certificate clients can verify without disabling verification: they trust ``ca_pem_path``.
The server certificate also names ``*.asm.skype.com`` because recording content is served under
such a name (resolved to loopback in-process by tests/tools), like the real storage host.
"""

from __future__ import annotations

import shutil
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import trustme

SERVER_NAMES: tuple[str, ...] = ("127.0.0.1", "::1", "localhost", "*.asm.skype.com")


@dataclass
class TlsMaterial:
    """The CA (kept to issue more leaf certificates) and the files clients need."""

    ca: trustme.CA
    server_cert: trustme.LeafCert
    directory: Path
    ca_pem_path: Path

    def issue_cert(self, *hostnames: str) -> trustme.LeafCert:
        """A leaf certificate from the same CA, e.g. for a test's HTTPS callback receiver."""
        return self.ca.issue_cert(*hostnames)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.server_cert.configure_cert(context)
        return context

    def client_context(self, extra_ca_files: Sequence[str] = ()) -> ssl.SSLContext:
        """Verifying client context trusting this CA (plus any extra CA files given)."""
        context = ssl.create_default_context(cafile=str(self.ca_pem_path))
        for path in extra_ca_files:
            context.load_verify_locations(cafile=path)
        return context

    def cleanup(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def create_tls_material(server_names: Sequence[str] = SERVER_NAMES) -> TlsMaterial:
    """New CA + server certificate; the CA PEM is written to a private temporary directory."""
    ca = trustme.CA(organization_name="ACS emulator test CA")
    server_cert = ca.issue_cert(*server_names)
    directory = Path(tempfile.mkdtemp(prefix="acs-emulator-"))
    ca_pem_path = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem_path))
    return TlsMaterial(ca=ca, server_cert=server_cert, directory=directory, ca_pem_path=ca_pem_path)

"""Make this test process trust the emulator's test CA, as a real deployment trusts public CAs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import certifi


@contextmanager
def trusting(ca_pem: Path, workdir: Path) -> Iterator[Path]:
    """Point requests (azure-core) and ssl's default context at public CAs + the test CA."""
    bundle = workdir / "ca-bundle.pem"
    bundle.write_text(Path(certifi.where()).read_text() + "\n" + ca_pem.read_text())
    saved = {name: os.environ.get(name) for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")}
    os.environ["REQUESTS_CA_BUNDLE"] = os.environ["SSL_CERT_FILE"] = str(bundle)
    try:
        yield bundle
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

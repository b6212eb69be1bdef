"""`make run`: Azurite + ACS emulator + the app on the local host, wired together; Ctrl-C stops all.

Everything runs on loopback. Azurite is a child process in its own process group (killed on
exit); the emulator and the local host run in this process, so nothing is left behind.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import sys
import tempfile
from pathlib import Path

from tools.acs_emulator import AcsEmulator
from tools.azurite import running_azurite
from tools.devhost.host import DevHost, IndexingError, index_app

REPO = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "7071")))
    parser.add_argument("--emulator-port", type=int, default=int(os.environ.get("ACS_EMULATOR_PORT", "0")))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(name)s: %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("azure").setLevel(logging.WARNING)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    key = os.environ.get("DEVHOST_FUNCTION_KEY") or secrets.token_urlsafe(24)
    with (
        running_azurite() as azurite,
        AcsEmulator(port=args.emulator_port) as emulator,
        tempfile.TemporaryDirectory(prefix="localstack-") as workdir,
    ):
        bundle = Path(workdir) / "ca-bundle.pem"
        bundle.write_text(_public_cas() + Path(emulator.ca_pem_path).read_text())
        callback = f"http://127.0.0.1:{args.port}/api/callbacks/recording-state?code={key}"
        os.environ.update(
            {
                "REQUESTS_CA_BUNDLE": str(bundle),
                "SSL_CERT_FILE": str(bundle),
                "AzureWebJobsStorage": azurite.connection_string,
                "ACS_CONNECTION_STRING": emulator.connection_string,
                "ACS_RESOURCE_ID": emulator.resource_id,
                "ACS_OPENID_CONFIGURATION_URL": emulator.openid_configuration_url,
                "RECORDING_STATE_CALLBACK_URL": callback,
            }
        )
        sys.path.insert(0, str(REPO))
        try:
            functions = index_app()
        except IndexingError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        host = DevHost(functions, port=args.port, function_key=key)
        _print_banner(host, emulator, azurite.blob_port, azurite.table_port)
        try:
            host.serve_forever()
        except KeyboardInterrupt:
            print("\nStopping...", flush=True)
        finally:
            host.stop()
    return 0


def _public_cas() -> str:
    import certifi

    return Path(certifi.where()).read_text() + "\n"


def _print_banner(host: DevHost, emulator: AcsEmulator, blob_port: int, table_port: int) -> None:
    api = f"{host.base_url}/api"
    print(
        "\n".join(
            [
                "",
                "Running (all on loopback):",
                f"  function app  {api}   function key: {host.function_key}",
                f"  ACS emulator  {emulator.endpoint}   CA: {emulator.ca_pem_path}",
                f"  Azurite       blob :{blob_port}  table :{table_port}",
                "",
                *host.describe(),
                "",
                "Try it:",
                f"  CALL=$(curl -s --cacert {emulator.ca_pem_path} -X POST \\",
                f"         {emulator.endpoint}/admin/calls \\",
                '         -d \'{"participants": ["8:acs:demo_1", "8:acs:demo_2"]}\' | python3 -c '
                "'import json,sys; print(json.load(sys.stdin)[\"serverCallId\"])')",
                f"  curl -s -X POST '{api}/recordings' -H 'x-functions-key: {host.function_key}' \\",
                '       -d "{\\"serverCallId\\": \\"$CALL\\", \\"channel\\": \\"unmixed\\"}"',
                "",
                "Ctrl-C stops everything.",
            ]
        ),
        flush=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())

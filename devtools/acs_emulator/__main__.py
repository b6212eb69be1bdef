"""Run the emulator standalone: ``python -m devtools.acs_emulator [--host H] [--port P] [--access-key K]``.

Prints ``KEY=value`` lines (easy for scripts to parse) and then one human-readable line; serves
until SIGINT or SIGTERM. The access key is the emulator's own throwaway key, so printing it is
fine; request Authorization headers are never logged.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .server import AcsEmulator


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devtools.acs_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0 = any free port)")
    parser.add_argument("--access-key", default=None, help="base64 access key (default: random)")
    parser.add_argument(
        "--resource-id", default=None, help="ACS immutable resource id (default: random GUID)"
    )
    parser.add_argument(
        "--activation-delay", type=float, default=0.05, help="seconds until a recording is active"
    )
    parser.add_argument("--log-level", default="WARNING", help="logging level (default WARNING)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        if not ipaddress.ip_address(args.host).is_loopback:
            logging.warning(
                "binding to non-loopback address %s; the admin API still only serves loopback", args.host
            )
    except ValueError:
        pass
    emulator = AcsEmulator(
        host=args.host,
        port=args.port,
        access_key=args.access_key,
        activation_delay=args.activation_delay,
        resource_id=args.resource_id,
    )
    stop = threading.Event()

    def _request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    emulator.start()
    try:
        lines = {
            "ACS_CONNECTION_STRING": emulator.connection_string,
            "ACS_ENDPOINT": emulator.endpoint,
            "ACS_CA_PEM": emulator.ca_pem_path,
            "ACS_RESOURCE_ID": emulator.resource_id,
            "ACS_OPENID_CONFIGURATION_URL": emulator.openid_configuration_url,
            "ACS_ADMIN_URL": emulator.admin_url,
        }
        for key, value in lines.items():
            print(f"{key}={value}")
        print(f"ACS emulator listening on {emulator.endpoint}; press Ctrl+C to stop.", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
    print("ACS emulator stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

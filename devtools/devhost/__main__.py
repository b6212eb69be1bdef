"""`python -m devtools.devhost [--port N]`: serve function_app.py like `func start`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from devtools.devhost.durable import durable_engine, has_durable_functions
from devtools.devhost.host import DevHost, IndexingError, load_local_settings, start_worker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.devhost", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7071)
    parser.add_argument("--settings", type=Path, default=Path("local.settings.json"))
    parser.add_argument(
        "--emulator-dns",
        type=int,
        metavar="PORT",
        help="resolve ACS recording hosts (*.asm.skype.com) to 127.0.0.1 and their port 443 to PORT,"
        " where the local ACS emulator listens (in the worker, where the app runs)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("azure").setLevel(logging.WARNING)
    load_local_settings(args.settings)
    try:
        worker = start_worker(Path.cwd(), emulator_dns_port=args.emulator_dns)
    except IndexingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    function_key = os.environ.get("DEVHOST_FUNCTION_KEY")
    master_key = os.environ.get("DEVHOST_MASTER_KEY")
    engine = None
    if has_durable_functions(worker):
        engine = durable_engine(
            worker,
            storage=os.environ.get("AzureWebJobsStorage"),  # noqa: SIM112 - the Functions setting's name
            host_json=Path.cwd() / "host.json",
        ).start()
    try:
        host = DevHost(
            worker,
            host=args.host,
            port=args.port,
            function_key=function_key,
            master_key=master_key,
            durable_client=engine.client_binding_json if engine else None,
        )
    except IndexingError as error:
        print(f"error: {error}", file=sys.stderr)
        if engine is not None:
            engine.stop()
        worker.stop()
        return 1
    print("\n".join(host.describe()))
    if engine is not None:
        print(f"\nDurable HTTP API: {engine.base_url}/runtime/webhooks/durabletask")
    print(
        f"\nFunction key: {'(from DEVHOST_FUNCTION_KEY)' if function_key else host.function_key}"
        "  (send as x-functions-key or ?code=)"
    )
    print(
        f"Master key:   {'(from DEVHOST_MASTER_KEY)' if master_key else host.master_key}"
        "  (POST /admin/functions/<name> runs any non-HTTP function)"
    )
    print(f"Listening on {host.base_url}  (Ctrl-C to stop)", flush=True)
    try:
        host.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        host.stop()
        if engine is not None:
            engine.stop()
        worker.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

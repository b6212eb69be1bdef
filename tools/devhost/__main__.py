"""`python -m tools.devhost [--port N]`: serve function_app.py like `func start`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from tools.devhost.host import DevHost, IndexingError, index_app, load_local_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.devhost", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7071)
    parser.add_argument("--settings", type=Path, default=Path("local.settings.json"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("azure").setLevel(logging.WARNING)
    load_local_settings(args.settings)
    sys.path.insert(0, str(Path.cwd()))
    try:
        functions = index_app()
    except IndexingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    key = os.environ.get("DEVHOST_FUNCTION_KEY")
    host = DevHost(functions, host=args.host, port=args.port, function_key=key)
    print("\n".join(host.describe()))
    print(
        f"\nFunction key: {'(from DEVHOST_FUNCTION_KEY)' if key else host.function_key}"
        "  (send as x-functions-key or ?code=)"
    )
    print(f"Listening on {host.base_url}  (Ctrl-C to stop)", flush=True)
    try:
        host.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        host.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

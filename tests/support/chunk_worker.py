"""Run one chunk transfer in its own process, so a test can kill it mid-transfer (a crash).

Usage: python -m tests.support.chunk_worker '<json>' with chunk, prefix, rangeBytes, inFlight,
emulatorPort and optionally singlePutBytes.
Settings come from the environment, like the function app's.
"""

from __future__ import annotations

import json
import sys

from devtools.loopback_dns import loopback_dns
from shared.archive.model import ChunkJob, ChunkTask
from shared.archive.store import archive_container
from shared.archive.transfer import TransferOptions, archive_chunk
from shared.clients import call_automation_client
from shared.settings import current_settings


def main() -> None:
    args = json.loads(sys.argv[1])
    settings = current_settings()
    options = TransferOptions(
        range_bytes=int(args["rangeBytes"]),
        in_flight=int(args["inFlight"]),
        single_put_bytes=int(args.get("singlePutBytes", TransferOptions().single_put_bytes)),
    )
    with loopback_dns("127.0.0.1", https_port=int(args["emulatorPort"])):
        archive_chunk(
            ChunkTask(ChunkJob.from_json(args["chunk"]), args["prefix"], None),
            acs=call_automation_client(settings.acs),
            container=archive_container(settings),
            options=options,
        )


if __name__ == "__main__":
    main()

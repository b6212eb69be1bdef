"""A whole local stack per test: Azurite-backed Durable engine + local host + emulator webhook."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from devtools.acs_emulator import AcsEmulator
from devtools.azurite import Azurite
from shared.settings import Settings
from tests.support.local_stack import LocalStack


@pytest.fixture
def local_stack(app_settings: Settings, azurite: Azurite, emulator: AcsEmulator) -> Iterator[LocalStack]:
    with ExitStack() as cleanup:
        cleanup.enter_context(emulator.loopback_dns())
        stack = LocalStack(azurite, emulator, app_settings).start()
        cleanup.callback(stack.stop)
        yield stack

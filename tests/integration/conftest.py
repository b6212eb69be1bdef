"""Integration tests use the session's Azurite and emulator (fixtures in tests/conftest.py)."""

import pytest

pytestmark = pytest.mark.integration

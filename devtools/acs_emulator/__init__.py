"""Local emulator of the Azure Communication Services Call Recording control plane.

Implements the recording operations of the stable 2026-03-12 REST spec over HTTPS with HMAC
authentication, the recording state machine, repeatability and signed RecordingStateChanged
callbacks, so the app and its tests can run against the real SDK without Azure.
"""

from devtools.loopback_dns import loopback_dns

from .events import EventDelivery, WebhookValidationError
from .recording_files import RecordingChunk, RecordingFiles
from .server import AcsEmulator
from .state import Call, RecordingSnapshot, StateChange

__all__ = [
    "AcsEmulator",
    "Call",
    "EventDelivery",
    "RecordingChunk",
    "RecordingFiles",
    "RecordingSnapshot",
    "StateChange",
    "WebhookValidationError",
    "loopback_dns",
]

"""ACS recording state callbacks: verify the token, parse the CloudEvents, write them into the catalog.

A token is accepted once; if anything after its verification fails, it is released again, so the
retry ACS makes with the same token is accepted (errors.py: the catalog is the answer here, so an
outage fails the callback and ACS retries it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from shared.errors import STORAGE, upstream
from shared.recording.callback_auth import forget_callback_token, verify_callback_token
from shared.recording.callback_events import parse_callback_body
from shared.recording.catalog_table import catalog
from shared.settings import Settings

_LOG = logging.getLogger(__name__)


def record_state_callback(
    settings: Settings, authorization: str | None, read_body: Callable[[], Any]
) -> None:
    """Record one callback delivery; `read_body` parses the request only after the token is checked."""
    verified = verify_callback_token(
        authorization,
        audience=settings.callback_audience,
        openid_configuration_url=settings.openid_configuration_url,
    )
    try:
        events, ignored = parse_callback_body(read_body())
        for event_type in ignored:
            _LOG.info("Ignored a callback event of type %s", event_type)
        with upstream(STORAGE):
            for event in events:
                catalog(settings).apply(event)
    except Exception:
        forget_callback_token(verified)
        raise

"""Hypothesis strategies for Event Grid deliveries to the local host's webhook.

Every delivery starts from the captured RecordingFileStatusUpdated payloads in
tests/fixtures/reference/ (the docs' Event Grid example and the SDK's CloudEvents one), or from the
docs' CallStarted and CallEnded examples, and is then mutated: fields replaced by other JSON,
dropped, retyped, nested deep or grown large; URLs swapped for forged ones that point at the
connection trap; batches mixed with validation events; and bodies that are not deliveries at all.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tests.reference import calling_events, load

EVENT_TYPE = "Microsoft.Communication.RecordingFileStatusUpdated"
VALIDATION_TYPE = "Microsoft.EventGrid.SubscriptionValidationEvent"
ACS_PROVIDER = "Microsoft.Communication"
# A few recordings only: a well-formed event starts (at most) one archive per recording, and the
# suite must not flood the 2-core machine with orchestrations. (Forged events get their own.)
RECORDING_IDS = ("aG9zdGlsZS0x", "aG9zdGlsZS0y", "aG9zdGlsZS0z")
# Calls the emulator does not know: a start the policy asks for on one is answered 404 and settles.
SERVER_CALL_IDS = ("aG9zdGlsZS1jYWxsLTE=", "aG9zdGlsZS1jYWxsLTI=", "aG9zdGlsZS1jYWxsLTM=")
URL_FIELDS = ("contentLocation", "metadataLocation", "deleteLocation")
# Left as captured: Event Grid refuses to publish an event whose time is no date, and the Python
# worker parses it (azure.functions' converter) before the app runs, failing the invocation with a
# 500 for a forged one, on Azure as on the local host. Everything else is fair game.
ENVELOPE_TIMES = (("eventTime",), ("time",))


@dataclass(frozen=True)
class Delivery:
    """One POST to the webhook: its body, its `aeg-event-type` header, and the URLs it names."""

    body: bytes
    event_type_header: str | None
    forged: bool  # True when any URL in it is off the allow-list

    @property
    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.event_type_header is not None:
            headers["aeg-event-type"] = self.event_type_header
        return headers


def captured_events() -> list[dict[str, Any]]:
    """The two captured events, with the docs' placeholders filled in so they can be archived."""
    grid = load("recording-file-status-updated.eventgrid.docs.json")["events"][0]
    cloud = load("recording-file-status-updated.cloudevent.sdk-test.json")["events"][0]
    return [grid, cloud]


json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def nested(value: object, depth: int, *, as_list: bool) -> object:
    for _ in range(depth):
        value = [value] if as_list else {"a": value}
    return value


@st.composite
def hostile_value(draw: st.DrawFn, original: object, forged_urls: list[str]) -> object:
    """Something to put where `original` was: another JSON value, a retyped or deeply nested
    copy, a huge string, or a forged URL."""
    choice = draw(st.integers(0, 6))
    if choice == 0:
        return draw(json_values)
    if choice == 1:
        return json.dumps(original)  # the right data, the wrong type
    if choice == 2:
        return [original]
    if choice == 3:
        return nested(original, draw(st.integers(2, 400)), as_list=draw(st.booleans()))
    if choice == 4:
        return "x" * draw(st.sampled_from([256, 4096, 70_000]))
    if choice == 5:
        return draw(st.sampled_from(forged_urls))
    return draw(st.sampled_from(["", "0", "-1", "1e309", "null", "\u0000", "../../etc", "\u202egnp.exe"]))


def _paths(value: object, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every path inside a JSON value, as keys and indexes."""
    found: list[tuple[str | int, ...]] = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(_paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(_paths(child, (*prefix, index)))
    return found


def _parent(root: Any, path: tuple[str | int, ...]) -> Any:
    for step in path[:-1]:
        root = root[step]
    return root


def _mutate(draw: st.DrawFn, event: dict[str, Any], forged_urls: list[str], times: int) -> list[object]:
    """Mutate `event` in place `times` times (a field dropped or replaced; the envelope's time kept);
    the values put in."""
    replacements: list[object] = []
    for _ in range(times):
        paths = [path for path in _paths(event) if path not in ENVELOPE_TIMES]
        path = draw(st.sampled_from(paths))
        parent = _parent(event, path)
        if draw(st.integers(0, 4)) == 0 and isinstance(parent, dict):
            parent.pop(path[-1], None)
            continue
        replacement = draw(hostile_value(parent[path[-1]], forged_urls))
        parent[path[-1]] = replacement
        replacements.append(replacement)
    return replacements


@st.composite
def mutated_event(draw: st.DrawFn, forged_urls: list[str]) -> tuple[dict[str, Any], bool]:
    """A captured event made well formed, then mutated a few times; and whether it names a forged URL."""
    event = copy.deepcopy(draw(st.sampled_from(captured_events())))
    subject = f"/recording/call/c-1/serverCallId/s-1/recordingId/{draw(st.sampled_from(RECORDING_IDS))}"
    event["subject"] = subject
    forged = False
    chunks = event["data"]["recordingStorageInfo"]["recordingChunks"]
    if draw(st.booleans()):  # more chunks, up to past the 1000-chunk limit
        count = draw(st.sampled_from([2, 8, 1001]))
        chunks[:] = [
            {**chunks[0], "index": i, "documentId": f"{chunks[0]['documentId'][:-4]}{i:04x}"}
            for i in range(count)
        ]
    replacements = _mutate(draw, event, forged_urls, draw(st.integers(0, 4)))
    forged = forged or any(replacement in forged_urls for replacement in replacements)
    if draw(st.booleans()):  # a forged URL in a chunk that is otherwise valid
        chunk = draw(st.sampled_from(chunks)) if chunks and isinstance(chunks, list) else None
        if isinstance(chunk, dict):
            chunk[draw(st.sampled_from(URL_FIELDS))] = draw(st.sampled_from(forged_urls))
            forged = True
    if forged and event.get("subject") == subject:
        # A recording of its own: were the URL let through, its archive would start (not find one
        # of the few shared recordings already running) and the audit would see it.
        event["subject"] = f"/recording/call/c-1/serverCallId/s-1/recordingId/forged{draw(st.uuids()).hex}"
    return event, forged


def validation_event(code: object) -> dict[str, Any]:
    return {
        "id": "2d1781af-3a4c-4d7c-bd0c-e34b19da4e66",
        "topic": f"/subscriptions/s/resourceGroups/g/providers/{ACS_PROVIDER}/communicationServices/a",
        "subject": "",
        "data": {"validationCode": code, "validationUrl": "https://rp-eastus2.eventgrid.azure.net/x"},
        "eventType": VALIDATION_TYPE,
        "eventTime": "2026-01-01T00:00:00Z",
        "metadataVersion": "1",
        "dataVersion": "1",
    }


@st.composite
def mutated_call_event(draw: st.DrawFn) -> dict[str, Any]:
    """The docs' CallStarted or CallEnded, on one of a few unknown calls, then mutated a few times."""
    event = copy.deepcopy(draw(st.sampled_from(list(calling_events().values()))))
    server_call_id = draw(st.sampled_from(SERVER_CALL_IDS))
    event["data"]["serverCallId"] = server_call_id
    event["subject"] = f"call/{server_call_id}"
    _mutate(draw, event, ["https://example.invalid/x"], draw(st.integers(0, 3)))
    return event


@st.composite
def call_event_deliveries(draw: st.DrawFn) -> Delivery:
    """A Notification delivery of one to three mutated calling events."""
    events = draw(st.lists(mutated_call_event(), min_size=1, max_size=3))
    return Delivery(json.dumps(events).encode(), "Notification", False)


@st.composite
def event_deliveries(draw: st.DrawFn, forged_urls: list[str]) -> Delivery:
    """A Notification delivery of one to four mutated events (sometimes a lone object)."""
    events = draw(st.lists(mutated_event(forged_urls), min_size=1, max_size=4))
    forged = any(is_forged for _, is_forged in events)
    payload: object = [event for event, _ in events]
    if len(events) == 1 and draw(st.booleans()):
        payload = events[0][0]
    return Delivery(json.dumps(payload).encode(), "Notification", forged)


@st.composite
def validation_deliveries(draw: st.DrawFn) -> Delivery:
    """Subscription validation handshakes, well formed or not, with and without the header."""
    code = draw(st.uuids().map(str) | json_values)
    header = draw(st.sampled_from(["SubscriptionValidation", "Notification", None, "Unsubscribe", "x" * 300]))
    events: list[Any] = [validation_event(code)]
    if draw(st.booleans()):
        events.append(draw(json_values))
    return Delivery(json.dumps(events).encode(), header, False)


@st.composite
def raw_bodies(draw: st.DrawFn) -> bytes:
    """Bodies no route should accept: bytes, scalars, deep nesting, over 64 KiB, odd encodings."""
    choice = draw(st.integers(0, 5))
    if choice == 0:
        return draw(st.binary(max_size=2048))
    if choice == 1:
        return json.dumps(draw(json_values)).encode()
    if choice == 2:
        depth = draw(st.integers(60, 5000))
        return b"[" * depth + b"]" * depth
    if choice == 3:
        depth = draw(st.integers(60, 5000))
        return b'{"a":' * depth + b"1" + b"}" * depth
    if choice == 4:
        return json.dumps({"serverCallId": "x" * draw(st.integers(60_000, 70_000))}).encode()
    return draw(
        st.sampled_from(
            [
                b"",
                b"[]",
                b"{}",
                b"[null]",
                b"[[]]",
                b"[{}]",
                b'[{"eventType": 1}]',
                b"\xef\xbb\xbf{}",
                "{}".encode("utf-16"),
            ]
        )
    )


@st.composite
def garbage_deliveries(draw: st.DrawFn) -> Delivery:
    """Bodies that are no delivery at all."""
    header = draw(st.sampled_from(["Notification", "SubscriptionValidation", None]))
    return Delivery(draw(raw_bodies()), header, False)

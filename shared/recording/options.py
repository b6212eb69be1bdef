"""Start-recording request JSON -> validated options -> `start_recording` keyword arguments.

Parse and decide here, with no I/O, so that every rule the service enforces is checked before
ACS is called and each rejection names the offending field in `target`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from shared.errors import bad_request
from shared.urls import https_url_problem, public_host_problem

CONTENTS: Final = ("audio", "audioVideo")
CHANNELS: Final = ("mixed", "unmixed")
FORMATS: Final = ("wav", "mp3", "mp4")
MAX_CHANNEL: Final = 4
LOCATOR_FIELDS: Final = ("serverCallId", "groupCallId", "callConnectionId")
MAX_ID_LENGTH: Final = 2048
MAX_PARTICIPANTS: Final = 64

# (content, channel, format) the service accepts. Without content/channel/format the service
# records audio/mixed/mp3 (seen in a real capture: contentLocation ends in `audiomp3`).
VALID_COMBINATIONS: Final = (
    ("audio", "mixed", "wav"),
    ("audio", "mixed", "mp3"),
    ("audio", "unmixed", "wav"),
    ("audioVideo", "mixed", "mp4"),
)
_COMBINATION_TEXT: Final = ", ".join("/".join(c) for c in VALID_COMBINATIONS)

START_FIELDS: Final = frozenset(
    {
        *LOCATOR_FIELDS,
        "content",
        "channel",
        "format",
        "pauseOnStart",
        "audioChannelParticipantOrdering",
        "channelAffinity",
        "externalStorage",
        "stateCallbackUrl",
    }
)
RECORD_FIELDS: Final = START_FIELDS - frozenset(LOCATOR_FIELDS)  # a start's options without its call


@dataclass(frozen=True)
class CallLocator:
    """Which call to record: exactly one of the three ways ACS can locate it."""

    kind: str  # one of LOCATOR_FIELDS
    id: str


@dataclass(frozen=True)
class StartRecordingOptions:
    """A validated start request; content/channel/format completed where only one choice fits."""

    call: CallLocator
    content: str | None = None
    channel: str | None = None
    format: str | None = None
    pause_on_start: bool | None = None
    participant_ordering: tuple[str, ...] = ()
    channel_affinity: tuple[tuple[int, str], ...] = ()
    external_container_url: str | None = None
    state_callback_url: str | None = None

    def to_sdk_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `CallAutomationClient.start_recording`."""
        # Imported here, not at module level: the SDK costs ~20 ms of every cold start.
        from azure.communication.callautomation import AzureBlobContainerRecordingStorage, ChannelAffinity

        # The SDK's own raw-id parser; 1.6.0 does not re-export it from the package root. Pinned
        # in requirements.txt and covered by tests/unit/recording/test_options.py.
        from azure.communication.callautomation._shared.models import identifier_from_raw_id

        locator_keyword = {
            "serverCallId": "server_call_id",
            "groupCallId": "group_call_id",
            "callConnectionId": "call_connection_id",
        }[self.call.kind]
        kwargs: dict[str, Any] = {locator_keyword: self.call.id}
        optional: dict[str, Any] = {
            "recording_state_callback_url": self.state_callback_url,
            "recording_content_type": self.content,
            "recording_channel_type": self.channel,
            "recording_format_type": self.format,
            "pause_on_start": self.pause_on_start,
        }
        kwargs.update({key: value for key, value in optional.items() if value is not None})
        if self.participant_ordering:
            kwargs["audio_channel_participant_ordering"] = [
                identifier_from_raw_id(raw) for raw in self.participant_ordering
            ]
        if self.channel_affinity:
            kwargs["channel_affinity"] = [
                ChannelAffinity(target_participant=identifier_from_raw_id(raw), channel=channel)
                for channel, raw in self.channel_affinity
            ]
        if self.external_container_url:
            kwargs["recording_storage"] = AzureBlobContainerRecordingStorage(self.external_container_url)
        return kwargs

    def to_json(self) -> dict[str, Any]:
        """The options as our API names them (stored in the catalog, echoed to callers).

        The callback URL is shown without its query: ours carries the function key (`?code=`),
        and a caller's may carry a secret of its own.
        """
        body: dict[str, Any] = {self.call.kind: self.call.id}
        for key, value in (
            ("content", self.content),
            ("channel", self.channel),
            ("format", self.format),
            ("pauseOnStart", self.pause_on_start),
            ("stateCallbackUrl", without_query(self.state_callback_url)),
        ):
            if value is not None:
                body[key] = value
        if self.participant_ordering:
            body["audioChannelParticipantOrdering"] = list(self.participant_ordering)
        if self.channel_affinity:
            body["channelAffinity"] = [
                {"channel": channel, "participant": raw} for channel, raw in self.channel_affinity
            ]
        if self.external_container_url:
            body["externalStorage"] = {"containerUrl": self.external_container_url}
        return body


def without_query(url: str | None) -> str | None:
    """`https://h/p?code=secret` -> `https://h/p` (query and fragment may hold secrets)."""
    if url is None:
        return None
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def parse_start_request(body: object, *, default_callback_url: str | None = None) -> StartRecordingOptions:
    """Validate a start request body; raise `ApiError` (400) naming the first offending field."""
    if not isinstance(body, Mapping):
        raise bad_request("The request body must be a JSON object.")
    _reject_unknown(body, START_FIELDS)
    return _recording_options(body, _call_locator(body), default_callback_url)


def parse_record_options(
    body: Mapping[str, Any], call: CallLocator, *, default_callback_url: str | None = None
) -> StartRecordingOptions:
    """The options of a start that names no call (a recording policy rule's `record`), for `call`:
    every check of `parse_start_request` but the locator's, which the caller answers for. A field
    naming a call is refused: the call is the one whose event is being handled."""
    named = [name for name in LOCATOR_FIELDS if name in body]
    if named:
        raise bad_request(
            f"'{named[0]}' is not taken here: the call recorded is the one that started.",
            named[0],
            code="UnknownField",
        )
    _reject_unknown(body, RECORD_FIELDS)
    return _recording_options(body, call, default_callback_url)


def _reject_unknown(body: Mapping[str, Any], known: frozenset[str]) -> None:
    unknown = sorted(str(name) for name in set(body) - known)
    if unknown:
        raise bad_request(f"Unknown field '{unknown[0]}'.", unknown[0], code="UnknownField")


def _recording_options(
    body: Mapping[str, Any], call: CallLocator, default_callback_url: str | None
) -> StartRecordingOptions:
    content = _enum(body, "content", CONTENTS)
    channel = _enum(body, "channel", CHANNELS)
    fmt = _enum(body, "format", FORMATS)
    pause_on_start = _optional_bool(body, "pauseOnStart")
    ordering = _participant_ordering(body)
    affinity = _channel_affinity(body)
    needs_unmixed = (
        "audioChannelParticipantOrdering" if ordering else ("channelAffinity" if affinity else None)
    )
    content, channel, fmt = _complete_combination(content, channel, fmt, needs_unmixed)
    return StartRecordingOptions(
        call=call,
        content=content,
        channel=channel,
        format=fmt,
        pause_on_start=pause_on_start,
        participant_ordering=ordering,
        channel_affinity=affinity,
        external_container_url=_external_container(body),
        state_callback_url=_callback_url(body, default_callback_url),
    )


def _call_locator(body: Mapping[str, Any]) -> CallLocator:
    given = [name for name in LOCATOR_FIELDS if body.get(name) is not None]
    if len(given) != 1:
        target = given[1] if len(given) > 1 else "serverCallId"
        raise bad_request(
            "Give exactly one of serverCallId, groupCallId or callConnectionId.",
            target,
            code="InvalidCallLocator",
        )
    name = given[0]
    return CallLocator(kind=name, id=checked_identifier(body[name], name))


def checked_identifier(value: object, target: str) -> str:
    """A call or participant id as the API takes it (non-empty, bounded, no whitespace), else 400 `target`."""
    if not isinstance(value, str) or not value.strip():
        raise bad_request(f"'{target}' must be a non-empty string.", target)
    if len(value) > MAX_ID_LENGTH or any(ord(ch) < 0x20 or ch.isspace() for ch in value):
        raise bad_request(
            f"'{target}' must be at most {MAX_ID_LENGTH} characters with no whitespace.", target
        )
    return value


def _enum(body: Mapping[str, Any], name: str, allowed: Sequence[str]) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or value not in allowed:
        raise bad_request(f"'{name}' must be one of: {', '.join(allowed)}.", name)
    return value


def _optional_bool(body: Mapping[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is None or isinstance(value, bool):
        return value
    raise bad_request(f"'{name}' must be true or false.", name)


def _complete_combination(
    content: str | None, channel: str | None, fmt: str | None, needs_unmixed: str | None
) -> tuple[str | None, str | None, str | None]:
    """Reject combinations the service refuses; fill a field when only one value can work."""
    constraints: list[tuple[str, str, int]] = []
    for index, (name, value) in enumerate((("content", content), ("channel", channel), ("format", fmt))):
        if value is not None:
            constraints.append((name, value, index))
    if needs_unmixed is not None:
        if channel not in (None, "unmixed"):
            raise bad_request(f"'{needs_unmixed}' needs channel 'unmixed'.", needs_unmixed)
        constraints.append((needs_unmixed, "unmixed", 1))
    candidates = list(VALID_COMBINATIONS)
    accepted: list[str] = []
    for name, value, index in constraints:
        remaining = [c for c in candidates if c[index] == value]
        if not remaining:
            earlier = " and ".join(accepted) if accepted else "the other options"
            raise bad_request(
                f"'{name}' {value!r} cannot be combined with {earlier}; the service accepts "
                f"content/channel/format {_COMBINATION_TEXT}.",
                name,
                code="UnsupportedCombination",
            )
        candidates = remaining
        accepted.append(f"{name} {value!r}")
    if not constraints:
        return content, channel, fmt
    return _only_value(candidates, 0), _only_value(candidates, 1), _only_value(candidates, 2)


def _only_value(candidates: Sequence[tuple[str, str, str]], index: int) -> str | None:
    values = {candidate[index] for candidate in candidates}
    return values.pop() if len(values) == 1 else None


def _participants(value: object, target: str) -> list[str]:
    if not isinstance(value, list):
        raise bad_request(f"'{target}' must be an array of participant raw ids.", target)
    if len(value) > MAX_PARTICIPANTS:
        raise bad_request(f"'{target}' may list at most {MAX_PARTICIPANTS} participants.", target)
    return [_raw_id(item, f"{target}[{index}]") for index, item in enumerate(value)]


def _raw_id(value: object, target: str) -> str:
    return checked_identifier(value, target)


def _participant_ordering(body: Mapping[str, Any]) -> tuple[str, ...]:
    name = "audioChannelParticipantOrdering"
    if body.get(name) is None:
        return ()
    ordering = _participants(body[name], name)
    _reject_duplicates(ordering, name)
    return tuple(ordering)


def _channel_affinity(body: Mapping[str, Any]) -> tuple[tuple[int, str], ...]:
    name = "channelAffinity"
    value = body.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_CHANNEL + 1:
        raise bad_request(f"'{name}' must be an array of at most {MAX_CHANNEL + 1} entries.", name)
    entries: list[tuple[int, str]] = []
    for index, item in enumerate(value):
        target = f"{name}[{index}]"
        if not isinstance(item, Mapping):
            raise bad_request(f"'{target}' must be an object with channel and participant.", target)
        extra = sorted(set(item) - {"channel", "participant"})
        if extra:
            raise bad_request(
                f"Unknown field '{target}.{extra[0]}'.", f"{target}.{extra[0]}", code="UnknownField"
            )
        channel = item.get("channel")
        if isinstance(channel, bool) or not isinstance(channel, int) or not 0 <= channel <= MAX_CHANNEL:
            raise bad_request(
                f"'{target}.channel' must be an integer from 0 to {MAX_CHANNEL}.", f"{target}.channel"
            )
        entries.append((channel, _raw_id(item.get("participant"), f"{target}.participant")))
    _reject_duplicates([str(channel) for channel, _ in entries], name, what="channel")
    _reject_duplicates([raw for _, raw in entries], name, what="participant")
    return tuple(entries)


def _reject_duplicates(values: Sequence[str], target: str, *, what: str = "participant") -> None:
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            raise bad_request(f"'{target}' lists the same {what} twice.", f"{target}[{index}]")
        seen.add(value)


def _external_container(body: Mapping[str, Any]) -> str | None:
    name = "externalStorage"
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise bad_request(f"'{name}' must be an object with containerUrl.", name)
    extra = sorted(set(value) - {"containerUrl"})
    if extra:
        raise bad_request(f"Unknown field '{name}.{extra[0]}'.", f"{name}.{extra[0]}", code="UnknownField")
    target = f"{name}.containerUrl"
    url = _url(value.get("containerUrl"), target)
    if "?" in url or "#" in url:
        # ACS writes with its own managed identity; a SAS token here would be a secret in the catalog.
        raise bad_request(f"'{target}' must be a plain container URL without a query (no SAS).", target)
    return url


def _callback_url(body: Mapping[str, Any], default: str | None) -> str | None:
    """A caller's callback URL goes to ACS, which posts to it: it must be a public host. (The
    default comes from the app's own settings, which may point at a local host in development.)"""
    if body.get("stateCallbackUrl") is None:
        return default
    url = _url(body["stateCallbackUrl"], "stateCallbackUrl")
    problem = public_host_problem(urlsplit(url).hostname or "")
    if problem is not None:
        raise bad_request(f"'stateCallbackUrl' host {problem}.", "stateCallbackUrl")
    return url


def _url(value: object, target: str) -> str:
    if not isinstance(value, str):
        raise bad_request(f"'{target}' must be an https URL.", target)
    problem = https_url_problem(value)
    if problem is not None:
        raise bad_request(f"'{target}' {problem}.", target)
    return value

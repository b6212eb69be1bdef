"""Validation of StartCallRecordingRequest bodies against the stable 2026-03-12 REST spec.

``DEFINITIONS`` is a transcription of the spec's schema closure of ``StartCallRecordingRequest``
(descriptions and x-ms-* annotations dropped, the Common ``$ref`` paths shortened). A unit test
compares it with excerpts of the swagger files in ``tests/fixtures/reference`` so drift is caught;
the emulator reads no spec file at run time. On top of the structural check,
:func:`validate_start_request` applies the cross-field rules the service enforces (documented
channel/content/format combinations, exactly one call locator, ...).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

JsonSchema = dict[str, Any]

DEFINITIONS: dict[str, JsonSchema] = {
    "StartCallRecordingRequest": {
        "type": "object",
        "properties": {
            "callLocator": {"$ref": "#/definitions/CallLocator"},
            "callConnectionId": {"type": "string"},
            "recordingStateCallbackUri": {"type": "string"},
            "recordingContentType": {"$ref": "#/definitions/RecordingContentType"},
            "recordingChannelType": {"$ref": "#/definitions/RecordingChannelType"},
            "recordingFormatType": {"$ref": "#/definitions/RecordingFormatType"},
            "audioChannelParticipantOrdering": {
                "type": "array",
                "items": {"$ref": "#/definitions/CommunicationIdentifierModel"},
            },
            "channelAffinity": {"type": "array", "items": {"$ref": "#/definitions/ChannelAffinity"}},
            "pauseOnStart": {"type": "boolean"},
            "externalStorage": {"$ref": "#/definitions/ExternalStorage"},
        },
        "additionalProperties": False,
    },
    "CallLocator": {
        "type": "object",
        "properties": {
            "groupCallId": {"type": "string"},
            "serverCallId": {"type": "string"},
            "roomId": {"type": "string"},
            "kind": {"$ref": "#/definitions/CallLocatorKind"},
        },
        "additionalProperties": False,
    },
    "CallLocatorKind": {
        "enum": ["groupCallLocator", "serverCallLocator", "roomCallLocator"],
        "type": "string",
    },
    "RecordingContentType": {"enum": ["audio", "audioVideo"], "type": "string"},
    "RecordingChannelType": {"enum": ["mixed", "unmixed"], "type": "string"},
    "RecordingFormatType": {"enum": ["wav", "mp3", "mp4"], "type": "string"},
    "ChannelAffinity": {
        "required": ["participant"],
        "type": "object",
        "properties": {
            "channel": {"format": "int32", "maximum": 4, "minimum": 0, "type": "integer"},
            "participant": {"$ref": "#/definitions/CommunicationIdentifierModel"},
        },
        "additionalProperties": False,
    },
    "ExternalStorage": {
        "required": ["recordingStorageKind"],
        "type": "object",
        "properties": {
            "recordingStorageKind": {"$ref": "#/definitions/RecordingStorageKind"},
            "recordingDestinationContainerUrl": {"format": "uri", "type": "string"},
        },
        "additionalProperties": False,
    },
    "RecordingStorageKind": {"enum": ["azureCommunicationServices", "azureBlobStorage"], "type": "string"},
    # From communication-common-stable-2025-06-30 (no additionalProperties: extra keys allowed).
    "CommunicationIdentifierModel": {
        "type": "object",
        "properties": {
            "kind": {"$ref": "#/definitions/CommunicationIdentifierModelKind"},
            "rawId": {"type": "string"},
            "communicationUser": {"$ref": "#/definitions/CommunicationUserIdentifierModel"},
            "phoneNumber": {"$ref": "#/definitions/PhoneNumberIdentifierModel"},
            "microsoftTeamsUser": {"$ref": "#/definitions/MicrosoftTeamsUserIdentifierModel"},
            "microsoftTeamsApp": {"$ref": "#/definitions/MicrosoftTeamsAppIdentifierModel"},
            "teamsExtensionUser": {"$ref": "#/definitions/TeamsExtensionUserIdentifierModel"},
        },
    },
    "CommunicationIdentifierModelKind": {
        "type": "string",
        "enum": [
            "unknown",
            "communicationUser",
            "phoneNumber",
            "microsoftTeamsUser",
            "microsoftTeamsApp",
            "teamsExtensionUser",
        ],
    },
    "CommunicationUserIdentifierModel": {
        "type": "object",
        "required": ["id"],
        "properties": {"id": {"type": "string"}},
    },
    "PhoneNumberIdentifierModel": {
        "type": "object",
        "required": ["value"],
        "properties": {
            "value": {"type": "string"},
            "isAnonymous": {"type": "boolean"},
            "assertedId": {"type": "string"},
        },
    },
    "MicrosoftTeamsUserIdentifierModel": {
        "type": "object",
        "required": ["userId"],
        "properties": {
            "userId": {"type": "string"},
            "isAnonymous": {"type": "boolean"},
            "cloud": {"$ref": "#/definitions/CommunicationCloudEnvironmentModel"},
        },
    },
    "MicrosoftTeamsAppIdentifierModel": {
        "type": "object",
        "required": ["appId"],
        "properties": {
            "appId": {"type": "string"},
            "cloud": {"$ref": "#/definitions/CommunicationCloudEnvironmentModel"},
        },
    },
    "TeamsExtensionUserIdentifierModel": {
        "type": "object",
        "required": ["userId", "tenantId", "resourceId"],
        "properties": {
            "userId": {"type": "string"},
            "tenantId": {"type": "string"},
            "resourceId": {"type": "string"},
            "cloud": {"$ref": "#/definitions/CommunicationCloudEnvironmentModel"},
        },
    },
    "CommunicationCloudEnvironmentModel": {"type": "string", "enum": ["public", "dod", "gcch"]},
}

_IDENTIFIER_SUBMODELS = (
    "communicationUser",
    "phoneNumber",
    "microsoftTeamsUser",
    "microsoftTeamsApp",
    "teamsExtensionUser",
)
_CLOUD_PREFIX = {"public": "orgid", "dod": "dod", "gcch": "gcch"}


@dataclass(frozen=True)
class ValidationIssue:
    """One problem with a request body; ``target`` is a JSON-path-like location."""

    target: str
    message: str


class RequestValidationError(Exception):
    """Raised with every issue found, so the error response can list them all."""

    def __init__(self, issues: Sequence[ValidationIssue]) -> None:
        super().__init__("; ".join(f"{i.target}: {i.message}" for i in issues))
        self.issues = list(issues)


@dataclass(frozen=True)
class ChannelAssignment:
    """A channelAffinity entry reduced to the participant's raw id."""

    channel: int | None
    participant: str


@dataclass(frozen=True)
class StartRecordingOptions:
    """A validated start request, normalised; ``raw`` keeps the body exactly as received."""

    raw: dict[str, Any]
    locator_kind: str | None  # serverCallLocator / groupCallLocator / roomCallLocator, None for connection id
    locator_id: str | None
    call_connection_id: str | None
    callback_uri: str | None
    content_type: str
    channel_type: str
    format_type: str
    participant_ordering: tuple[str, ...] = ()
    channel_affinity: tuple[ChannelAssignment, ...] = ()
    pause_on_start: bool = False
    external_storage: dict[str, Any] | None = None
    explicit: frozenset[str] = field(default_factory=frozenset)


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _resolve(schema: JsonSchema) -> JsonSchema:
    while "$ref" in schema:
        schema = DEFINITIONS[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def validate_schema(value: Any, schema: JsonSchema, path: str = "") -> list[ValidationIssue]:
    """Check ``value`` against a Swagger 2.0 schema (the subset the recording API uses).

    Optional properties whose value is JSON null are treated as absent: the .NET SDK sends
    ``"recordingContentType": null`` and the real service accepted it (recording-lifecycle capture).
    """
    schema = _resolve(schema)
    where = path or "body"
    kind = schema.get("type")
    issues: list[ValidationIssue] = []
    if kind == "object":
        if not isinstance(value, dict):
            return [ValidationIssue(where, "must be a JSON object")]
        properties: dict[str, JsonSchema] = schema.get("properties", {})
        for name in schema.get("required", []):
            if value.get(name) is None:
                issues.append(ValidationIssue(_join(path, name), "is required"))
        for name, item in value.items():
            if name not in properties:
                if schema.get("additionalProperties") is False:
                    issues.append(ValidationIssue(_join(path, name), "is not a known property"))
                continue
            if item is not None:
                issues.extend(validate_schema(item, properties[name], _join(path, name)))
        return issues
    if kind == "array":
        if not isinstance(value, list):
            return [ValidationIssue(where, "must be a JSON array")]
        for index, item in enumerate(value):
            issues.extend(validate_schema(item, schema["items"], _join(path, index)))
        return issues
    if kind == "string":
        if not isinstance(value, str):
            return [ValidationIssue(where, "must be a string")]
        if "enum" in schema and value not in schema["enum"]:
            allowed = ", ".join(schema["enum"])
            return [ValidationIssue(where, f"'{value}' is not one of: {allowed}")]
        if schema.get("format") == "uri" and not _is_absolute_url(value, ("http", "https")):
            return [ValidationIssue(where, "must be an absolute URI")]
        return []
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return [ValidationIssue(where, "must be an integer")]
        if "minimum" in schema and value < schema["minimum"]:
            issues.append(ValidationIssue(where, f"must be >= {schema['minimum']}"))
        if "maximum" in schema and value > schema["maximum"]:
            issues.append(ValidationIssue(where, f"must be <= {schema['maximum']}"))
        return issues
    if kind == "boolean":
        return [] if isinstance(value, bool) else [ValidationIssue(where, "must be a boolean")]
    raise ValueError(f"schema construct not supported: {schema!r}")  # a bug in DEFINITIONS


def _is_absolute_url(value: str, schemes: Iterable[str]) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in schemes and bool(parts.hostname)


def identifier_raw_id(model: dict[str, Any]) -> str | None:
    """Raw id of a CommunicationIdentifierModel: ``rawId`` or derived from the typed sub-model."""
    raw = model.get("rawId")
    if isinstance(raw, str) and raw:
        return raw
    if isinstance(user := model.get("communicationUser"), dict):
        return str(user["id"])
    if isinstance(phone := model.get("phoneNumber"), dict):
        return f"4:{phone['value']}"
    if isinstance(teams := model.get("microsoftTeamsUser"), dict):
        prefix = (
            "8:teamsvisitor:"
            if teams.get("isAnonymous")
            else f"8:{_CLOUD_PREFIX[teams.get('cloud') or 'public']}:"
        )
        return prefix + str(teams["userId"])
    if isinstance(app := model.get("microsoftTeamsApp"), dict):
        return f"28:{_CLOUD_PREFIX[app.get('cloud') or 'public']}:{app['appId']}"
    if isinstance(ext := model.get("teamsExtensionUser"), dict):
        return f"8:acs:{ext['resourceId']}_{ext['tenantId']}_{ext['userId']}"
    return None


def _identifier_issues(model: dict[str, Any], path: str) -> list[ValidationIssue]:
    """Polymorphism rule of the common spec: at most one typed sub-model, matching ``kind``."""
    present = [name for name in _IDENTIFIER_SUBMODELS if model.get(name) is not None]
    if len(present) > 1:
        return [ValidationIssue(path, f"sets more than one identifier model: {', '.join(present)}")]
    kind = model.get("kind")
    if kind is not None and kind != "unknown" and present and present[0] != kind:
        return [ValidationIssue(path, f"kind '{kind}' does not match the '{present[0]}' property")]
    if identifier_raw_id(model) is None:
        return [ValidationIssue(path, "identifies no participant (needs rawId or a typed identifier)")]
    return []


def _locator_issues(locator: dict[str, Any]) -> tuple[list[ValidationIssue], str | None, str | None]:
    ids = {
        "serverCallLocator": locator.get("serverCallId"),
        "groupCallLocator": locator.get("groupCallId"),
        "roomCallLocator": locator.get("roomId"),
    }
    given = {kind: value for kind, value in ids.items() if value is not None}
    if len(given) != 1:
        return (
            [ValidationIssue("callLocator", "must set exactly one of serverCallId, groupCallId, roomId")],
            None,
            None,
        )
    kind, value = next(iter(given.items()))
    declared = locator.get("kind")
    if declared is not None and declared != kind:
        return (
            [ValidationIssue("callLocator.kind", f"'{declared}' does not match the id given ({kind})")],
            None,
            None,
        )
    if not value:
        return [ValidationIssue("callLocator", "the call id must not be empty")], None, None
    if kind == "roomCallLocator":
        # The spec documents roomId as "(Not supported for Start Recording)"; exact error unverified.
        return (
            [ValidationIssue("callLocator.roomId", "room calls are not supported for start recording")],
            None,
            None,
        )
    return [], kind, value


def validate_start_request(body: Any) -> StartRecordingOptions:
    """Validate a parsed start-recording body; raise :class:`RequestValidationError` if invalid.

    Omitted content/channel/format default to audio/mixed/mp3 (a recording started with nothing set
    produced ``content/audiomp3``), except that an omitted format follows the other two
    (audioVideo -> mp4, unmixed -> wav). UNVERIFIED: how the real service infers a missing format
    when only content or channel type is given.
    """
    issues = validate_schema(body, {"$ref": "#/definitions/StartCallRecordingRequest"})
    if issues:
        raise RequestValidationError(issues)
    assert isinstance(body, dict)

    locator = body.get("callLocator")
    connection_id = body.get("callConnectionId")
    locator_kind: str | None = None
    locator_id: str | None = None
    if (locator is None) == (connection_id is None):
        issues.append(ValidationIssue("body", "exactly one of callLocator or callConnectionId must be set"))
    elif locator is not None:
        found, locator_kind, locator_id = _locator_issues(locator)
        issues.extend(found)
    elif not connection_id:
        issues.append(ValidationIssue("callConnectionId", "must not be empty"))

    callback = body.get("recordingStateCallbackUri")
    if callback is not None and not _is_absolute_url(callback, ("http", "https")):
        # UNVERIFIED: the spec types this as a plain string; the service needs a reachable URL.
        issues.append(ValidationIssue("recordingStateCallbackUri", "must be an absolute http(s) URI"))

    explicit = frozenset(
        name
        for name in ("recordingContentType", "recordingChannelType", "recordingFormatType")
        if body.get(name)
    )
    content = body.get("recordingContentType") or "audio"
    channel = body.get("recordingChannelType") or "mixed"
    default_format = "mp4" if content == "audioVideo" else "wav" if channel == "unmixed" else "mp3"
    file_format = body.get("recordingFormatType") or default_format
    if content == "audioVideo" and (channel != "mixed" or file_format != "mp4"):
        issues.append(
            ValidationIssue("recordingContentType", "audioVideo recordings must be mixed and in mp4 format")
        )
    elif channel == "unmixed" and (content != "audio" or file_format != "wav"):
        issues.append(
            ValidationIssue("recordingChannelType", "unmixed recordings must be audio in wav format")
        )
    elif content == "audio" and file_format == "mp4":
        issues.append(
            ValidationIssue("recordingFormatType", "mp4 is only available for audioVideo recordings")
        )

    ordering_models: list[dict[str, Any]] = body.get("audioChannelParticipantOrdering") or []
    affinity_models: list[dict[str, Any]] = body.get("channelAffinity") or []
    # The SDK always sends "channelAffinity": [] -- an empty list means "not given".
    # A captured real request sent channelAffinity with no recordingChannelType and got 200, so the
    # unmixed-only rule is applied only when the channel type is explicitly something else.
    if channel != "unmixed" and "recordingChannelType" in explicit:
        if ordering_models:
            issues.append(
                ValidationIssue("audioChannelParticipantOrdering", "is only allowed for unmixed recordings")
            )
        if affinity_models:
            issues.append(ValidationIssue("channelAffinity", "is only allowed for unmixed recordings"))

    ordering: list[str] = []
    for index, model in enumerate(ordering_models):
        path = _join("audioChannelParticipantOrdering", index)
        found = _identifier_issues(model, path)
        issues.extend(found)
        raw = identifier_raw_id(model)
        if not found and raw is not None:
            if raw in ordering:
                issues.append(ValidationIssue(path, f"participant '{raw}' is listed twice"))
            ordering.append(raw)

    affinity: list[ChannelAssignment] = []
    for index, entry in enumerate(affinity_models):
        path = _join("channelAffinity", index)
        found = _identifier_issues(entry["participant"], _join(path, "participant"))
        issues.extend(found)
        raw = identifier_raw_id(entry["participant"])
        if found or raw is None:
            continue
        channel_no = entry.get("channel")
        if channel_no is not None and any(a.channel == channel_no for a in affinity):
            issues.append(ValidationIssue(_join(path, "channel"), f"channel {channel_no} is assigned twice"))
        if any(a.participant == raw for a in affinity):
            issues.append(ValidationIssue(_join(path, "participant"), f"participant '{raw}' is listed twice"))
        affinity.append(ChannelAssignment(channel=channel_no, participant=raw))

    storage: dict[str, Any] | None = body.get("externalStorage")
    if (
        storage is not None
        and storage["recordingStorageKind"] == "azureBlobStorage"
        and not storage.get("recordingDestinationContainerUrl")
    ):
        # UNVERIFIED error text; BYOS cannot work without a destination container.
        issues.append(
            ValidationIssue(
                "externalStorage.recordingDestinationContainerUrl", "is required for azureBlobStorage"
            )
        )

    if issues:
        raise RequestValidationError(issues)
    return StartRecordingOptions(
        raw=body,
        locator_kind=locator_kind,
        locator_id=locator_id,
        call_connection_id=connection_id,
        callback_uri=callback,
        content_type=content,
        channel_type=channel,
        format_type=file_format,
        participant_ordering=tuple(ordering),
        channel_affinity=tuple(affinity),
        pause_on_start=bool(body.get("pauseOnStart")),
        external_storage=storage,
        explicit=explicit,
    )


def participant_issues(
    options: StartRecordingOptions, call_participants: Iterable[str]
) -> list[ValidationIssue]:
    """Participants named in ordering/affinity must be in the call (needs the call, hence separate).

    UNVERIFIED: exact real error; the service cannot assign a channel to someone not in the call.
    """
    members = set(call_participants)
    issues = [
        ValidationIssue(
            _join("audioChannelParticipantOrdering", i), f"participant '{raw}' is not in the call"
        )
        for i, raw in enumerate(options.participant_ordering)
        if raw not in members
    ]
    issues.extend(
        ValidationIssue(
            _join(_join("channelAffinity", i), "participant"),
            f"participant '{a.participant}' is not in the call",
        )
        for i, a in enumerate(options.channel_affinity)
        if a.participant not in members
    )
    return issues

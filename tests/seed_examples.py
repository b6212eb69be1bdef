"""Every start example of the seed quickstart, expressed as a request to our HTTP API.

The seed (the JavaScript call-recording quickstart) shows these in JavaScript; each must work here in Python.
`wire` is what the ACS REST API must receive for it (camelCase, stable 2026-03-12 spec).
"""

from __future__ import annotations

from typing import Any

SERVER_CALL_ID = "aHR0cHM6Ly9hcGkuZmxpZ2h0cHJveHkuc2t5cGUuY29tL2FwaS92Mi9jcC9jb252LXVzd2UtMDQ"
USER = "8:acs:5a6810b6-df11-4ab2-ac85-ce9464dd0e17_00000029-aaaa-bbbb-cccc-000000000001"
CALLBACK = "https://contoso.example/api/callbacks/recording-state?code=k"
CONTAINER = "https://contosorecordings.blob.core.windows.net/byos"

SEED_EXAMPLES: list[dict[str, Any]] = [
    {
        "name": "start unmixed wav (seed 2)",
        "request": {
            "serverCallId": SERVER_CALL_ID,
            "content": "audio",
            "channel": "unmixed",
            "format": "wav",
            "stateCallbackUrl": CALLBACK,
        },
        "wire": {
            "recordingContentType": "audio",
            "recordingChannelType": "unmixed",
            "recordingFormatType": "wav",
            "recordingStateCallbackUri": CALLBACK,
        },
    },
    {
        "name": "bring your own blob store (seed 2.1)",
        "request": {
            "serverCallId": SERVER_CALL_ID,
            "content": "audio",
            "channel": "unmixed",
            "format": "wav",
            "stateCallbackUrl": CALLBACK,
            "externalStorage": {"containerUrl": CONTAINER},
        },
        "wire": {
            "externalStorage": {
                "recordingStorageKind": "azureBlobStorage",
                "recordingDestinationContainerUrl": CONTAINER,
            }
        },
    },
    {
        "name": "pause on start with participant ordering (seed 2.2)",
        "request": {
            "serverCallId": SERVER_CALL_ID,
            "content": "audio",
            "channel": "unmixed",
            "format": "wav",
            "pauseOnStart": True,
            "stateCallbackUrl": CALLBACK,
            "audioChannelParticipantOrdering": [USER],
        },
        "wire": {
            "pauseOnStart": True,
            "audioChannelParticipantOrdering": [{"rawId": USER, "communicationUser": {"id": USER}}],
        },
    },
    {
        "name": "participant on channel 0 (seed 2.3)",
        "request": {
            "serverCallId": SERVER_CALL_ID,
            "content": "audio",
            "channel": "unmixed",
            "format": "wav",
            "stateCallbackUrl": CALLBACK,
            "audioChannelParticipantOrdering": [USER],
        },
        "wire": {"audioChannelParticipantOrdering": [{"rawId": USER, "communicationUser": {"id": USER}}]},
    },
    {
        "name": "channel affinity (seed 2.4)",
        "request": {
            "serverCallId": SERVER_CALL_ID,
            "content": "audio",
            "channel": "unmixed",
            "format": "wav",
            "stateCallbackUrl": CALLBACK,
            "channelAffinity": [{"channel": 0, "participant": USER}],
        },
        "wire": {
            "channelAffinity": [
                {"channel": 0, "participant": {"rawId": USER, "communicationUser": {"id": USER}}}
            ]
        },
    },
]

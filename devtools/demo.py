"""`make demo`: two recordings through the running local stack (`make run`), archived and shown.

1. Through the API: creates a call with four participants in the emulator, starts an unmixed WAV
   recording with participant ordering, pauses, resumes, stops, ends the call; then follows the
   Event Grid-triggered archive with a progress bar and prints the catalog entry and the archived
   blobs with their sizes and SHA-256 (recomputed from the blobs, compared with the manifest);
   downloads chunk 0 through its download link and checks its SHA-256; last, prints the lifecycle
   events the app published for the recording to the stack's Event Grid topic, in their sequence.
2. By policy, with no `POST /api/recordings`: sets a recording policy (group calls, unmixed WAV),
   creates a group call in the emulator (its CallStarted starts the recording), ends it (its
   CallEnded makes the recording await its files), and shows the archived recording and what the
   catalog kept of the decision. The policy found is put back afterwards.

`PORT=7072 make demo` talks to the stack on that port; without PORT, to the only one running. Whatever
goes wrong ends in one line, never a traceback: no stack, a stale state file, a stack that stops answering.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import sys
import time
from typing import Any
from urllib.parse import quote

import requests

from devtools.stack.state import NoStackError, choose_stack

PARTICIPANTS = [f"8:acs:demo-resource_0000002a-0000-0000-0000-00000000000{i}" for i in range(1, 5)]
SECONDS = 30.0


class Stack:
    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        self.api = state["api"]
        self.key = {"x-functions-key": state["functionKey"]}

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**self.key, **kwargs.pop("headers", {})}
        response = requests.request(method, f"{self.api}/{path}", headers=headers, timeout=30, **kwargs)
        if response.status_code >= 400:
            raise SystemExit(f"{method} /api/{path} -> {response.status_code} {response.text}")
        return response

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(
            method,
            f"{self.state['emulator']}/admin/{path}",
            timeout=30,
            verify=self.state["emulatorCa"],
            **kwargs,
        )
        response.raise_for_status()
        return response.json() if response.content else None


def step(text: str) -> None:
    print(f"==> {text}", flush=True)


def progress_bar(done: int, total: int, bytes_done: int, width: int = 30) -> str:
    filled = width * done // total if total else 0
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} chunks, {bytes_done / 1e6:.1f} MB"


def run(stack: Stack, *, timeout: float = 120.0) -> dict[str, Any]:
    step(f"Creating a call with {len(PARTICIPANTS)} participants in the ACS emulator")
    call = stack.admin("POST", "calls", json={"participants": PARTICIPANTS})
    server_call_id = call["serverCallId"]
    step("Starting an unmixed WAV recording, participant 3 on channel 0")
    started = stack.call(
        "POST",
        "recordings",
        json={
            "serverCallId": server_call_id,
            "content": "audio",
            "channel": "unmixed",
            "format": "wav",
            "audioChannelParticipantOrdering": [PARTICIPANTS[2]],
        },
    ).json()
    recording_id = started["recordingId"]
    print(f"    recordingId {recording_id[:40]}...  state {started['state']} (as ACS answers a start)")
    _wait(lambda: stack.call("GET", f"recordings/{recording_id}").json()["state"] == "active", timeout)
    print("    state active (ACS's state callback)")
    for action in ("pause", "resume"):
        step(f"{action.capitalize()} the recording")
        stack.call("POST", f"recordings/{recording_id}/{action}")
        print(f"    state {stack.call('GET', f'recordings/{recording_id}').json()['state']}")
    step(f"Stopping the recording ({SECONDS:.0f} s of media) and ending the call")
    stack.admin("PUT", f"recordings/{recording_id}/timeline", json={"durationS": SECONDS})
    stack.call("DELETE", f"recordings/{recording_id}")
    stack.admin("DELETE", f"calls/{quote(server_call_id, safe='')}")
    step("Following the archive (Event Grid -> Durable orchestration -> chunk activities)")
    archive = _follow_archive(stack, recording_id, timeout)
    step("Catalog entry")
    entry = stack.call("GET", f"recordings/{recording_id}").json()["catalog"]
    print(json.dumps({k: entry[k] for k in ("state", "options", "stateChanges", "archive")}, indent=2))
    step("Archived blobs")
    _print_blobs(stack, archive["manifest"])
    step("Downloading chunk 0 through its short-lived link (302 to a read-only SAS)")
    _download_through_link(stack, recording_id, archive["manifest"])
    if stack.state.get("eventTopicAdmin"):
        step("Lifecycle events of the recording, as the topic's subscribers get them (CloudEvents)")
        archive["events"] = _print_events(stack, recording_id, timeout)
    return archive


POLICY = {
    "rules": [
        {
            "name": "demo-group-calls",
            "match": {"callKind": "group"},
            "record": {"content": "audio", "channel": "unmixed", "format": "wav"},
        }
    ]
}
POLICY_SECONDS = 10.0


def run_policy(stack: Stack, *, timeout: float = 120.0) -> dict[str, Any]:
    """The policy run: a call recorded and archived without any `POST /api/recordings`."""
    before = stack.call("GET", "recording-policy")
    step("Setting the recording policy: record every group call, unmixed WAV")
    condition = {"If-Match": before.headers["ETag"]} if before.headers.get("ETag") else {"If-None-Match": "*"}
    written = stack.call("PUT", "recording-policy", json=POLICY, headers=condition)
    try:
        return _recorded_by_policy(stack, timeout)
    finally:
        step("Putting the policy found before back")
        stack.call(
            "PUT", "recording-policy", json=before.json(), headers={"If-Match": written.headers["ETag"]}
        )


def _recorded_by_policy(stack: Stack, timeout: float) -> dict[str, Any]:
    step("Creating a group call in the ACS emulator (it publishes CallStarted)")
    call = stack.admin("POST", "calls", json={"participants": PARTICIPANTS, "kind": "group"})
    server_call_id = call["serverCallId"]
    found: dict[str, Any] = {}

    def started() -> bool:
        listing = stack.call("GET", "recordings", params={"serverCallId": server_call_id}).json()
        found.update((listing.get("call") or {}).get("autoRecording") or {})
        if found.get("outcome") in ("failed", "callEnded", "noRuleMatched"):
            raise SystemExit(f"the policy did not record the call: {found}")
        return found.get("outcome") in ("started", "alreadyRecording") and bool(found.get("recordingId"))

    _wait(started, timeout)
    recording_id = str(found["recordingId"])
    print(f"    rule '{found['rule']}' started recording {recording_id[:40]}...")
    _wait(lambda: stack.call("GET", f"recordings/{recording_id}").json()["state"] == "active", timeout)
    step(
        f"Ending the call ({POLICY_SECONDS:.0f} s of media); no stop call: the call's end stops the recording"
    )
    stack.admin("PUT", f"recordings/{recording_id}/timeline", json={"durationS": POLICY_SECONDS})
    stack.admin("DELETE", f"calls/{quote(server_call_id, safe='')}")
    step("Following the archive (CallEnded -> AwaitingFiles; RecordingFileStatusUpdated -> archive)")
    archive = _follow_archive(stack, recording_id, timeout)
    step("What the catalog kept of the call and of its recording")
    listing = stack.call("GET", "recordings", params={"serverCallId": server_call_id}).json()
    entry = listing["recordings"][0]
    shown = {
        "call": {k: listing["call"][k] for k in ("callKind", "endedAt", "durationSeconds", "autoRecording")},
        "recording": {k: entry[k] for k in ("policyRule", "options", "archive")},
    }
    print(json.dumps(shown, indent=2))
    step("Archived blobs")
    _print_blobs(stack, archive["manifest"])
    return archive


def _wait(check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(0.2)


def _follow_archive(stack: Stack, recording_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = requests.get(
            f"{stack.api}/recordings/{recording_id}/archive", headers=stack.key, timeout=30
        )
        if response.status_code == 200:
            archive: dict[str, Any] = response.json()
            status = archive.get("customStatus") or {}
            bar = progress_bar(
                status.get("chunksDone", 0), status.get("chunksTotal", 0), status.get("bytesDone", 0)
            )
            shown = archive.get("status") or "waiting"
            print(f"\r    {shown:<13} {bar}", end="", flush=True)
            if archive["runtimeStatus"] in ("Completed", "Failed", "Terminated"):
                print()
                if archive.get("status") != "Completed":
                    raise SystemExit(f"archive {shown}: {archive.get('lastError')}")
                return archive
        time.sleep(0.3)
    raise SystemExit("the archive did not finish in time")


def _print_blobs(stack: Stack, manifest: dict[str, Any]) -> None:
    from azure.storage.blob import ContainerClient

    container = ContainerClient.from_connection_string(stack.state["storage"], stack.state["container"])
    names = [manifest["manifestBlobName"]]
    for chunk in manifest["chunks"]:
        names += [chunk["blobName"], chunk["metadataBlobName"]]
    expected = {chunk["blobName"]: chunk["sha256"] for chunk in manifest["chunks"]}
    for name in names:
        data = container.download_blob(name).readall()
        digest = hashlib.sha256(data).hexdigest()
        verdict = "" if name not in expected else ("  verified" if digest == expected[name] else "  MISMATCH")
        print(f"    {len(data):>10,} B  {digest}  {name}{verdict}")
        if verdict == "  MISMATCH":
            raise SystemExit(f"{name}: archived bytes differ from the manifest's SHA-256")


def _download_through_link(stack: Stack, recording_id: str, manifest: dict[str, Any]) -> None:
    chunk = next(c for c in manifest["chunks"] if c["index"] == 0)
    redirect = stack.call("GET", f"recordings/{recording_id}/archive/chunks/0", allow_redirects=False)
    if redirect.status_code != 302:
        raise SystemExit(f"expected a 302 to the download link, got {redirect.status_code}")
    download = requests.get(redirect.headers["Location"], timeout=60)  # the link itself is not printed
    download.raise_for_status()
    digest = hashlib.sha256(download.content).hexdigest()
    name = download.headers.get("Content-Disposition", "")
    print(f"    {len(download.content):>10,} B  {digest}  {name}")
    if digest != chunk["sha256"]:
        raise SystemExit("the downloaded chunk differs from the manifest's SHA-256")
    print("    verified: the download's SHA-256 equals the manifest's")


LAST_EVENT = "CallRecording.Archive.Completed"


def _print_events(stack: Stack, recording_id: str, timeout: float) -> list[dict[str, Any]]:
    """The recording's events from the topic, once the archive's completion is among them, in sequence."""
    subject = f"recordings/{quote(recording_id, safe='')}"
    deadline = time.monotonic() + timeout
    while True:
        response = requests.get(
            f"{stack.state['eventTopicAdmin']}/events",
            params={"subject": subject},
            verify=stack.state["emulatorCa"],
            timeout=30,
        )
        response.raise_for_status()
        events = {event["id"]: event for event in response.json()}  # at least once: each id once
        if any(event["type"] == LAST_EVENT for event in events.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    ordered = sorted(events.values(), key=lambda event: int(event["data"]["sequence"]))
    for event in ordered:
        data = event["data"]
        detail = f"{len(data['files'])} files, {data['bytes']:,} B" if "files" in data else ""
        print(f"    #{data['sequence']:<3} {event['time'][:23]}  {event['type']:<34} {detail}")
    if not any(event["type"] == LAST_EVENT for event in ordered):
        raise SystemExit(f"the topic got no {LAST_EVENT} event for the recording")
    print(f"    source {ordered[0]['source']}  subject {subject[:50]}...")
    return ordered


def shell_exports(state: dict[str, Any]) -> str:
    """`make -s env`: the running stack's addresses and key as shell variables, for README's "Try it"."""
    values = {
        "API": state["api"],
        "KEY": state["functionKey"],
        "ACS": state["emulator"],
        "ACS_CA": state["emulatorCa"],
        "TOPIC": state.get("eventTopicAdmin") or "",
    }
    return "\n".join(f"export {name}={shlex.quote(str(value))}" for name, value in values.items())


def main(argv: list[str] | None = None) -> int:
    env_only = (argv if argv is not None else sys.argv[1:]) == ["--env"]
    raw = os.environ.get("PORT", "").strip()
    if raw and not re.fullmatch(r"[0-9]{1,5}", raw):
        print(f"error: PORT={raw} is not a port number", file=sys.stderr)
        return 2
    try:
        chosen = choose_stack(int(raw) if raw else None)
    except NoStackError as missing:
        print(missing, file=sys.stderr)
        return 1
    if env_only:
        print(shell_exports(chosen.state))
        return 0
    try:
        stack = Stack(chosen.state)
        run(stack)
        run_policy(stack)
    except requests.ConnectionError:
        port = chosen.port
        print(
            f"error: the local stack on port {port} stopped answering: "
            f"start it again (`PORT={port} make run`)",
            file=sys.stderr,
        )
        return 1
    except OSError as error:  # requests' errors included, and a CA file removed under a running demo
        print(
            f"error: talking to the local stack on port {chosen.port} failed "
            f"({type(error).__name__}: {error})",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

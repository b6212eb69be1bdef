"""Calls, recordings and the recording state machine, safe to use from many request threads.

The store knows nothing about HTTP: it raises typed errors that the server maps to responses and
reports every state transition to listeners (callback delivery, and later recording generation).

Recording states as the REST API shows them are ``inactive`` and ``active``. The emulator adds the
internal state ``stopped``: the API answers 404 (8522) for stopped recordings, while snapshots keep
them so tests can inspect what happened.

Transitions and the callbacks they produce (each arrow is one RecordingStateChanged callback):

* start -> ``inactive`` (no callback; the start response itself says inactive)
* after ``activation_delay`` the recording bot has joined -> ``active``, or ``inactive`` when
  pauseOnStart is set (CHOSEN: one callback reporting the state at join time; unverified)
* pause while active -> ``inactive``; resume while inactive and joined -> ``active``
* pause/resume that change nothing -> 202 and no callback
* stop (DELETE, or the call ending) while active -> ``inactive`` callback, then ``stopped``;
  stopping an inactive recording sends no callback (CHOSEN: only real state changes are reported)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from . import ids
from .schema import RequestValidationError, StartRecordingOptions, participant_issues

RecordingState = Literal["inactive", "active", "stopped"]
StopReason = Literal["stopRequested", "callEnded"]
CallKind = Literal["group", "twoParty", "room"]
CALL_KINDS: tuple[CallKind, ...] = ("group", "twoParty", "room")


def utc_now() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(UTC)


class CallNotFoundError(Exception):
    """The start request names a call the emulator does not know or that has ended."""


class RecordingNotFoundError(Exception):
    """Unknown or stopped recording (the service answers 404 with code 8522)."""


class RecordingConflictError(Exception):
    """The call already has a recording that is not stopped."""


@dataclass(frozen=True)
class Call:
    """A call the emulator pretends exists; tests create them before starting recordings."""

    server_call_id: str
    group_call_id: str
    call_connection_id: str
    correlation_id: str
    participants: tuple[str, ...]
    created_at: datetime
    ended_at: datetime | None = None
    # What the calling events say of the call: a group call (joined by its group id), a 1:1 call, or
    # a Rooms call; who started it (its first participant unless told), who ended it.
    kind: CallKind = "group"
    room_id: str | None = None
    started_by: str | None = None
    ended_by: str | None = None

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "serverCallId": self.server_call_id,
            "groupCallId": self.group_call_id,
            "callConnectionId": self.call_connection_id,
            "correlationId": self.correlation_id,
            "participants": list(self.participants),
            "createdAt": self.created_at.isoformat(),
            "endedAt": self.ended_at.isoformat() if self.ended_at else None,
            "kind": self.kind,
            "roomId": self.room_id,
            "startedBy": self.started_by,
            "endedBy": self.ended_by,
        }


@dataclass(frozen=True)
class StateChange:
    """One entry of a recording's history."""

    state: RecordingState
    at: datetime
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "at": self.at.isoformat(), "reason": self.reason}


@dataclass(frozen=True)
class RecordingSnapshot:
    """Immutable view of a recording at one moment."""

    recording_id: str
    server_call_id: str
    bot_connection_id: str  # PlatformEndpointId; real callbacks carry it as callConnectionId
    correlation_id: str
    options: dict[str, Any]  # the start request body as received
    content_type: str
    channel_type: str
    format_type: str
    callback_uri: str | None
    api_version: str
    state: RecordingState
    paused: bool
    history: tuple[StateChange, ...]
    started_at: datetime
    activated_at: datetime | None
    stopped_at: datetime | None
    stop_reason: StopReason | None

    @property
    def rest_state(self) -> str:
        """State as the REST API reports it (stopped recordings are not reported at all)."""
        return "active" if self.state == "active" else "inactive"

    @property
    def pause_intervals(self) -> list[tuple[datetime, datetime | None]]:
        """(start, end) of every period after activation in which the recording was not active."""
        intervals: list[tuple[datetime, datetime | None]] = []
        opened: datetime | None = None
        for change in self.history:
            if change.reason in ("paused", "joinedPaused") and opened is None:
                opened = change.at
            elif change.state in ("active", "stopped") and opened is not None:
                intervals.append((opened, change.at))
                opened = None
        if opened is not None:
            intervals.append((opened, None))
        return intervals

    def to_dict(self) -> dict[str, Any]:
        return {
            "recordingId": self.recording_id,
            "serverCallId": self.server_call_id,
            "botConnectionId": self.bot_connection_id,
            "correlationId": self.correlation_id,
            "options": self.options,
            "recordingContentType": self.content_type,
            "recordingChannelType": self.channel_type,
            "recordingFormatType": self.format_type,
            "recordingStateCallbackUri": self.callback_uri,
            "apiVersion": self.api_version,
            "state": self.state,
            "paused": self.paused,
            "history": [c.to_dict() for c in self.history],
            "startedAt": self.started_at.isoformat(),
            "activatedAt": self.activated_at.isoformat() if self.activated_at else None,
            "stoppedAt": self.stopped_at.isoformat() if self.stopped_at else None,
            "stopReason": self.stop_reason,
        }


TransitionListener = Callable[[RecordingSnapshot, StateChange], None]
CallListener = Callable[[Call], None]  # a call created, or one that just ended (``ended_at`` set)


@dataclass
class _Recording:
    recording_id: str
    server_call_id: str
    bot_connection_id: str
    correlation_id: str
    options: StartRecordingOptions
    api_version: str
    started_at: datetime
    state: RecordingState = "inactive"
    paused: bool = False
    joined: bool = False
    activated_at: datetime | None = None
    stopped_at: datetime | None = None
    stop_reason: StopReason | None = None
    history: list[StateChange] = field(default_factory=list)
    timer: threading.Timer | None = None

    def snapshot(self) -> RecordingSnapshot:
        return RecordingSnapshot(
            recording_id=self.recording_id,
            server_call_id=self.server_call_id,
            bot_connection_id=self.bot_connection_id,
            correlation_id=self.correlation_id,
            options=self.options.raw,
            content_type=self.options.content_type,
            channel_type=self.options.channel_type,
            format_type=self.options.format_type,
            callback_uri=self.options.callback_uri,
            api_version=self.api_version,
            state=self.state,
            paused=self.paused,
            history=tuple(self.history),
            started_at=self.started_at,
            activated_at=self.activated_at,
            stopped_at=self.stopped_at,
            stop_reason=self.stop_reason,
        )


class EmulatorState:
    """All mutable emulator state behind one re-entrant lock.

    Listeners run while the lock is held so that transitions of one recording reach them in order;
    they must be quick (queue work, do not block on I/O).
    """

    def __init__(self, activation_delay: float = 0.05) -> None:
        self.activation_delay = activation_delay
        self._lock = threading.RLock()
        self._calls: dict[str, Call] = {}
        self._recordings: dict[str, _Recording] = {}
        self._repeatability: dict[str, str] = {}
        self._listeners: list[TransitionListener] = []
        self._call_listeners: list[CallListener] = []
        self._closed = False

    # -- listeners -----------------------------------------------------------------------------
    def add_listener(self, listener: TransitionListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def add_call_listener(self, listener: CallListener) -> None:
        """Called (under the lock, keep it quick) when a call is created and when it ends."""
        with self._lock:
            self._call_listeners.append(listener)

    def _notify_call(self, call: Call) -> None:
        for listener in list(self._call_listeners):
            listener(call)

    def _notify(self, rec: _Recording, change: StateChange) -> None:
        snapshot = rec.snapshot()
        for listener in list(self._listeners):
            listener(snapshot, change)

    def _transition(self, rec: _Recording, state: RecordingState, reason: str, *, notify: bool) -> None:
        change = StateChange(state=state, at=utc_now(), reason=reason)
        rec.state = state
        rec.history.append(change)
        if notify:
            self._notify(rec, change)

    # -- calls ---------------------------------------------------------------------------------
    def create_call(
        self,
        participants: list[str] | tuple[str, ...],
        *,
        server_call_id: str | None = None,
        group_call_id: str | None = None,
        call_connection_id: str | None = None,
        kind: CallKind = "group",
        room_id: str | None = None,
        started_by: str | None = None,
    ) -> Call:
        if not all(isinstance(p, str) and p for p in participants):
            raise ValueError("participants must be non-empty raw id strings")
        if kind not in CALL_KINDS:
            raise ValueError(f"kind must be one of {', '.join(CALL_KINDS)}")
        if room_id is not None and kind != "room":
            raise ValueError("roomId is for a room call (kind room)")
        call = Call(
            server_call_id=server_call_id or ids.new_server_call_id(),
            group_call_id=group_call_id or ids.new_guid(),
            call_connection_id=call_connection_id or ids.new_guid(),
            correlation_id=ids.new_guid(),
            participants=tuple(participants),
            created_at=utc_now(),
            kind=kind,
            room_id=room_id or (ids.new_guid() if kind == "room" else None),
            started_by=started_by or (participants[0] if participants else None),
        )
        with self._lock:
            if call.server_call_id in self._calls:
                raise ValueError("a call with this serverCallId already exists")
            self._calls[call.server_call_id] = call
            self._notify_call(call)
        return call

    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls.values())

    def get_call(self, server_call_id: str) -> Call:
        with self._lock:
            try:
                return self._calls[server_call_id]
            except KeyError:
                raise CallNotFoundError(server_call_id) from None

    def end_call(self, server_call_id: str, *, ended_by: str | None = None) -> Call:
        """Mark the call ended; its recordings stop as if stopped (reason ``callEnded``), then the
        call listeners hear of it (CallEnded follows the recordings' stops)."""
        with self._lock:
            call = self.get_call(server_call_id)
            if call.ended_at is None:
                call = replace(call, ended_at=utc_now(), ended_by=ended_by)
                self._calls[server_call_id] = call
                for rec in self._recordings.values():
                    if rec.server_call_id == server_call_id and rec.state != "stopped":
                        self._stop(rec, "callEnded")
                self._notify_call(call)
            return call

    def _find_live_call(self, options: StartRecordingOptions) -> Call:
        for call in self._calls.values():
            matches = (
                (options.locator_kind == "serverCallLocator" and call.server_call_id == options.locator_id)
                or (options.locator_kind == "groupCallLocator" and call.group_call_id == options.locator_id)
                or (
                    options.call_connection_id is not None
                    and call.call_connection_id == options.call_connection_id
                )
            )
            if matches and not call.ended:
                return call
        raise CallNotFoundError(options.locator_id or options.call_connection_id or "")

    # -- recordings ----------------------------------------------------------------------------
    def start_recording(
        self, options: StartRecordingOptions, *, api_version: str, repeatability_id: str | None = None
    ) -> tuple[RecordingSnapshot, bool]:
        """Start a recording; returns ``(snapshot, replayed)``.

        A repeated request id returns the original recording (``replayed`` True) without starting
        another, as the Repeatability-Request-ID contract requires.
        """
        with self._lock:
            if repeatability_id is not None and repeatability_id in self._repeatability:
                return self._recordings[self._repeatability[repeatability_id]].snapshot(), True
            call = self._find_live_call(options)
            issues = participant_issues(options, call.participants)
            if issues:
                raise RequestValidationError(issues)
            if any(
                r.server_call_id == call.server_call_id and r.state != "stopped"
                for r in self._recordings.values()
            ):
                raise RecordingConflictError(call.server_call_id)
            recording_id, bot_id = ids.new_recording_id()
            rec = _Recording(
                recording_id=recording_id,
                server_call_id=call.server_call_id,
                bot_connection_id=bot_id,
                correlation_id=call.correlation_id,
                options=options,
                api_version=api_version,
                started_at=utc_now(),
                paused=options.pause_on_start,
            )
            self._recordings[recording_id] = rec
            if repeatability_id is not None:
                self._repeatability[repeatability_id] = recording_id
            self._transition(rec, "inactive", "started", notify=False)
            if not self._closed:
                rec.timer = threading.Timer(self.activation_delay, self._join, args=(recording_id,))
                rec.timer.daemon = True
                rec.timer.start()
            return rec.snapshot(), False

    def _join(self, recording_id: str) -> None:
        """The recording bot joined the call: the recording really starts (or stays paused)."""
        with self._lock:
            rec = self._recordings.get(recording_id)
            if rec is None or rec.state == "stopped" or rec.joined:
                return
            rec.joined = True
            rec.timer = None
            rec.activated_at = utc_now()
            if rec.paused:
                self._transition(rec, "inactive", "joinedPaused", notify=True)
            else:
                self._transition(rec, "active", "joined", notify=True)

    def _live(self, recording_id: str) -> _Recording:
        rec = self._recordings.get(recording_id)
        if rec is None or rec.state == "stopped":
            raise RecordingNotFoundError(recording_id)
        return rec

    def get_recording(self, recording_id: str) -> RecordingSnapshot:
        """Snapshot of a live recording; raises RecordingNotFoundError for unknown/stopped ones."""
        with self._lock:
            return self._live(recording_id).snapshot()

    def pause_recording(self, recording_id: str) -> None:
        with self._lock:
            rec = self._live(recording_id)
            rec.paused = True
            if rec.state == "active":
                self._transition(rec, "inactive", "paused", notify=True)

    def resume_recording(self, recording_id: str) -> None:
        with self._lock:
            rec = self._live(recording_id)
            rec.paused = False
            if rec.joined and rec.state == "inactive":
                self._transition(rec, "active", "resumed", notify=True)

    def stop_recording(self, recording_id: str) -> None:
        with self._lock:
            self._stop(self._live(recording_id), "stopRequested")

    def _stop(self, rec: _Recording, reason: StopReason) -> None:
        if rec.timer is not None:
            rec.timer.cancel()
            rec.timer = None
        if rec.state == "active":
            self._transition(rec, "inactive", reason, notify=True)
        rec.stopped_at = utc_now()
        rec.stop_reason = reason
        self._transition(rec, "stopped", reason, notify=False)
        # Listeners that produce recordings (a later piece) need to hear about the stop as well.
        self._notify(rec, rec.history[-1])

    def recordings(self) -> list[RecordingSnapshot]:
        with self._lock:
            return [r.snapshot() for r in self._recordings.values()]

    def recording(self, recording_id: str) -> RecordingSnapshot:
        """Snapshot of any recording, including stopped ones (admin/test view)."""
        with self._lock:
            rec = self._recordings.get(recording_id)
            if rec is None:
                raise RecordingNotFoundError(recording_id)
            return rec.snapshot()

    def close(self) -> None:
        """Cancel pending activations; no further transitions are scheduled."""
        with self._lock:
            self._closed = True
            for rec in self._recordings.values():
                if rec.timer is not None:
                    rec.timer.cancel()
                    rec.timer = None

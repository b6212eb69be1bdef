"""The archive orchestrator, branch by branch: driven by hand as the Durable runtime would drive it
(tests/support/orchestrations.py), each chunk's activity answered with a result, a failure or a 404,
each round's end followed into the next execution (continue_as_new)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.archive.model import (
    ArchivedChunk,
    ArchiveJob,
    ArchiveRun,
    BatchOutcome,
    ChunkAttempt,
    ChunkBatch,
    ChunkTask,
    Manifest,
    RetryPolicy,
)
from shared.archive.orchestration import (
    ARCHIVE_BATCH,
    ARCHIVE_CHUNK,
    BATCH_CHUNKS,
    DELETE_SOURCE_CHUNK,
    FAN_OUT_WAVE,
    PASSES,
    RECORD_ARCHIVE,
    WAKE_EVENT,
    archive_batch_orchestration,
    archive_orchestration,
    waves,
)
from shared.archive.states import ArchiveStatus
from tests.support.orchestrations import PENDING, Context, Task, drive
from tests.unit.archive.test_events import event_grid, parse, with_chunk

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
DEADLINE = T0 + timedelta(hours=24)
Behaviour = Callable[[ChunkTask, int], Any]  # (task, how many times this chunk was asked) -> outcome


def test_waves_cover_every_chunk_once_in_order() -> None:
    assert [list(w) for w in waves(10, 4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_the_wait_between_rounds_doubles_and_is_capped() -> None:
    policy = RetryPolicy(DEADLINE.isoformat(), first_wait_s=30, max_wait_s=600)
    assert [policy.wait_s(attempt) for attempt in range(1, 8)] == [30, 60, 120, 240, 480, 600, 600]


def job_of(chunks: int) -> ArchiveJob:
    data = with_chunk()
    (only,) = data["recordingStorageInfo"]["recordingChunks"]
    data["recordingStorageInfo"]["recordingChunks"] = [
        {**only, "index": i, "documentId": f"doc{i}"} for i in range(chunks)
    ]
    return parse(event_grid(data))


def archived(task: ChunkTask) -> ArchivedChunk:
    chunk = task.chunk
    return ArchivedChunk(
        index=chunk.index,
        document_id=chunk.document_id,
        blob_name=f"{task.prefix}/{chunk.index:03d}.wav",
        metadata_blob_name=f"{task.prefix}/{chunk.index:03d}.metadata.json",
        size=100,
        sha256=f"sha{chunk.index}",
        content_type="audio/wav",
        end_reason=chunk.end_reason,
        delete_location=chunk.delete_location,
    )


def succeed(task: ChunkTask, asked: int) -> Any:
    return ChunkAttempt(task.chunk.index, archived=archived(task))


def failing(*indexes: int, times: int = 10**6, gone: bool = False) -> Behaviour:
    """The chunks `indexes` fail (or are gone) the first `times` times they are asked, then succeed."""

    def behaviour(task: ChunkTask, asked: int) -> Any:
        if task.chunk.index in indexes and asked <= times:
            answer = "the recording host answered 404" if gone else "the recording host answered 503"
            return ChunkAttempt(task.chunk.index, error=answer, gone=gone)
        return succeed(task, asked)

    return behaviour


class Runtime:
    """Answers every task: chunks by `behaviour`, records and timers at once, deletions as `deleted`,
    the wake event never (unless `wake`), sub-orchestrations by driving the batch orchestrator."""

    def __init__(
        self,
        behaviour: Behaviour = succeed,
        *,
        wake: bool = False,
        record_fails: bool = False,
        deletion: str = "deleted",
    ) -> None:
        self.behaviour, self.wake, self.record_fails, self.deletion = behaviour, wake, record_fails, deletion
        self.asked: dict[int, int] = {}

    def __call__(self, task: Task) -> Any:
        if task.name == ARCHIVE_CHUNK:
            chunk_task = ChunkTask.from_json(task.input)
            self.asked[chunk_task.chunk.index] = self.asked.get(chunk_task.chunk.index, 0) + 1
            return self.behaviour(chunk_task, self.asked[chunk_task.chunk.index]).to_json()
        if task.name == ARCHIVE_BATCH:
            return drive(archive_batch_orchestration(Context(task.input)), self)
        if task.name == RECORD_ARCHIVE:
            return RuntimeError("Azure Storage could not be reached") if self.record_fails else None
        if task.name == DELETE_SOURCE_CHUNK:
            return self.deletion
        if task.kind == "event":
            return None if self.wake else PENDING
        if task.kind == "timer":
            return (
                PENDING if self.wake and task.input > T0 + timedelta(seconds=PASSES * 5) else None
            )  # the round wait
        raise AssertionError(task)


def start(chunks: int, *, delete_source: bool = False, **policy: Any) -> ArchiveRun:
    return ArchiveRun(
        job=job_of(chunks),
        delete_source=delete_source,
        policy=RetryPolicy(DEADLINE.isoformat(), **policy),
    )


def one_round(run: ArchiveRun, runtime: Runtime, at: datetime = T0) -> tuple[Context, Any]:
    context = Context(run.to_json(), current_utc_datetime=at)
    return context, drive(archive_orchestration(context), runtime, context)


def recorded(context: Context) -> list[Manifest]:
    return [Manifest.from_json(task.input) for task in context.activities(RECORD_ARCHIVE)]


def chunks_asked(context: Context) -> list[int]:
    return sorted(ChunkTask.from_json(t.input).chunk.index for t in context.activities(ARCHIVE_CHUNK))


def test_every_chunk_archived_records_a_completed_manifest_and_returns_its_name() -> None:
    context, result = one_round(start(3), Runtime())
    (manifest,) = recorded(context)
    assert (manifest.status, [c.index for c in manifest.chunks]) == (ArchiveStatus.COMPLETED, [0, 1, 2])
    assert result == {"manifest": manifest.blob_name, "chunks": 3, "bytes": 300}
    assert context.continued_with is None
    assert context.custom_status[-1]["phase"] == "done"


def test_a_hiccup_is_retried_within_the_round_five_seconds_later_without_retrying_status() -> None:
    context, _ = one_round(start(3), Runtime(failing(1, times=2)))
    (manifest,) = recorded(context)
    assert manifest.status == ArchiveStatus.COMPLETED
    assert chunks_asked(context) == [0, 1, 1, 1, 2]  # only the failed chunk is asked again
    timers = [t.input - T0 for t in context.scheduled if t.kind == "timer"]
    assert timers == [timedelta(seconds=5), timedelta(seconds=10)]


def test_chunks_still_failing_after_the_passes_make_the_archive_retrying_not_failed() -> None:
    context, result = one_round(start(3), Runtime(failing(1)))
    (manifest,) = recorded(context)
    assert result is None
    assert manifest.status == ArchiveStatus.RETRYING
    assert [c.index for c in manifest.chunks] == [0, 2]  # what did arrive is kept
    assert manifest.errors == ("chunk 1: the recording host answered 503",)
    assert manifest.next_attempt_at == (T0 + timedelta(seconds=4 * 5 + 30)).isoformat()
    assert context.custom_status[-1]["phase"] == "retrying"


def test_the_next_round_waits_on_a_durable_timer_then_starts_afresh_with_what_is_verified() -> None:
    context, _ = one_round(start(3), Runtime(failing(1)))
    waits = [t for t in context.scheduled if t.kind == "timer"]
    assert waits[-1].input == T0 + timedelta(seconds=4 * 5 + 30)
    following = ArchiveRun.from_json(context.continued_with)
    assert following.attempt == 2
    assert [c.index for c in following.verified] == [0, 2]
    assert [u.index for u in following.unverified] == [1]


def test_the_next_round_asks_only_for_what_is_missing_and_completes_the_archive() -> None:
    first, _ = one_round(start(3), Runtime(failing(1)))
    second, result = one_round(
        ArchiveRun.from_json(first.continued_with), Runtime(), at=T0 + timedelta(minutes=1)
    )
    assert chunks_asked(second) == [1]
    (manifest,) = recorded(second)
    assert (manifest.status, [c.index for c in manifest.chunks], manifest.attempt) == (
        ArchiveStatus.COMPLETED,
        [0, 1, 2],
        2,
    )
    assert result["chunks"] == 3


def test_a_wake_ends_the_wait_at_once_and_cancels_the_timer() -> None:
    context, _ = one_round(start(2), Runtime(failing(0), wake=True))
    (wake,) = [t for t in context.scheduled if t.kind == "event"]
    assert wake.name == WAKE_EVENT
    assert [t for t in context.scheduled if t.kind == "timer"][-1].cancelled
    assert ArchiveRun.from_json(context.continued_with).attempt == 2


def test_an_outage_stops_the_pass_at_the_first_wave_that_failed_whole() -> None:
    chunks = FAN_OUT_WAVE * 2 + 3
    context, _ = one_round(start(chunks), Runtime(failing(*range(chunks))))
    assert chunks_asked(context) == sorted(
        list(range(FAN_OUT_WAVE)) * PASSES
    )  # later waves wait for the next round
    assert recorded(context)[0].status == ArchiveStatus.RETRYING


def test_a_failing_chunk_does_not_keep_later_waves_from_being_archived() -> None:
    chunks = FAN_OUT_WAVE * 2
    context, _ = one_round(start(chunks), Runtime(failing(0)))
    (manifest,) = recorded(context)
    assert len(manifest.chunks) == chunks - 1


def run_rounds(run: ArchiveRun, runtime: Runtime, *, limit: int = 400) -> list[Context]:
    """Follow the archive from round to round (each starting when its timer fired) until it ends."""
    contexts: list[Context] = []
    at = T0
    for _ in range(limit):
        context, _ = one_round(run, runtime, at)
        contexts.append(context)
        if context.continued_with is None:
            return contexts
        run = ArchiveRun.from_json(context.continued_with)
        at = context.current_utc_datetime
    raise AssertionError("the archive never ended")


def test_a_chunk_acs_calls_gone_for_thirty_minutes_is_lost_and_the_rest_kept_undeleted() -> None:
    rounds = run_rounds(start(3, delete_source=True), Runtime(failing(1, gone=True)))
    final = recorded(rounds[-1])[-1]
    assert final.status == ArchiveStatus.LOST
    assert [c.index for c in final.chunks] == [0, 2]
    assert [(u.index, u.lost) for u in final.lost] == [(1, True)]
    assert rounds[-1].current_utc_datetime - T0 >= timedelta(minutes=30)
    assert all(not c.activities(DELETE_SOURCE_CHUNK) for c in rounds)  # a lost chunk's copy is never deleted
    assert rounds[-1].custom_status[-1]["phase"] == "lost"


def test_a_gone_chunk_is_not_asked_again_within_a_round() -> None:
    context, _ = one_round(start(2), Runtime(failing(0, gone=True)))
    assert chunks_asked(context) == [0, 1]


def test_another_answer_breaks_a_run_of_404s_so_lost_needs_thirty_unbroken_minutes() -> None:
    def flapping(task: ChunkTask, asked: int) -> Any:
        if task.chunk.index == 0 and asked <= 60:
            gone = asked % 2 == 1
            return ChunkAttempt(0, error="404" if gone else "503", gone=gone)
        return succeed(task, asked)

    rounds = run_rounds(start(1, lost_after_s=1800), Runtime(flapping))
    assert rounds[-1].current_utc_datetime - T0 > timedelta(minutes=30)  # 404s came for longer than that
    assert [m.status for c in rounds for m in recorded(c)][-1] == ArchiveStatus.COMPLETED


def test_a_chunk_still_failing_at_the_deadline_is_lost() -> None:
    rounds = run_rounds(start(2), Runtime(failing(1)))
    final = recorded(rounds[-1])[-1]
    assert final.status == ArchiveStatus.LOST
    assert final.lost[0].error.startswith("still unverified at the deadline")
    assert rounds[-1].current_utc_datetime >= DEADLINE
    round_waits = [[t for t in c.scheduled if t.kind == "timer"][-1].input for c in rounds[:-1]]
    assert max(round_waits) == DEADLINE  # the last round starts at the deadline, never after


def test_history_stays_one_round_long() -> None:
    rounds = run_rounds(start(3), Runtime(failing(1)))
    assert max(len(c.scheduled) for c in rounds) <= 3 + PASSES + PASSES + 3  # chunks, passes, timers, records


def test_a_manifest_that_cannot_be_recorded_is_tried_again_later_not_lost() -> None:
    context, result = one_round(start(2), Runtime(record_fails=True))
    assert result is None
    following = ArchiveRun.from_json(context.continued_with)
    assert [c.index for c in following.verified] == [0, 1]  # nothing archived twice


def test_a_retrying_archive_deletes_no_acs_copy() -> None:
    context, _ = one_round(start(3, delete_source=True), Runtime(failing(2)))
    assert context.activities(DELETE_SOURCE_CHUNK) == []
    assert recorded(context)[0].source_deletion == "skippedArchiveFailed"


def test_a_verified_archive_deletes_each_chunks_acs_copy_then_records_it_deleted() -> None:
    context, _ = one_round(start(3, delete_source=True), Runtime())
    deleted = [ArchivedChunk.from_json(t.input) for t in context.activities(DELETE_SOURCE_CHUNK)]
    assert [c.index for c in deleted] == [0, 1, 2]
    assert all(c.sha256 and c.delete_location for c in deleted)
    before, after = recorded(context)
    assert (before.source_deletion, after.source_deletion) == ("pending", "deleted")
    assert all(c.source_deleted for c in after.chunks)
    order = [t.name for t in context.scheduled if t.kind == "activity" and t.name != ARCHIVE_CHUNK]
    assert order == [RECORD_ARCHIVE, *[DELETE_SOURCE_CHUNK] * 3, RECORD_ARCHIVE]  # recorded before deleting


def test_a_deletion_refused_by_the_read_back_keeps_that_acs_copy_marked_as_kept() -> None:
    context, _ = one_round(start(2, delete_source=True), Runtime(deletion="refused"))
    after = recorded(context)[-1]
    assert after.source_deletion == "pending"
    assert not any(c.source_deleted for c in after.chunks)


def test_without_deletion_asked_no_acs_copy_is_touched() -> None:
    context, _ = one_round(start(3), Runtime())
    assert context.activities(DELETE_SOURCE_CHUNK) == []
    assert recorded(context)[0].source_deletion == "notRequested"


def test_a_long_recording_is_archived_by_batch_sub_orchestrations_with_fresh_instance_ids() -> None:
    chunks = BATCH_CHUNKS + 8
    context, _ = one_round(start(chunks), Runtime())
    batches = [t for t in context.scheduled if t.kind == "orchestration"]
    assert [t.name for t in batches] == [ARCHIVE_BATCH, ARCHIVE_BATCH]
    assert [len(ChunkBatch.from_json(t.input).chunks) for t in batches] == [BATCH_CHUNKS, 8]
    run_tag = str(batches[0].instance_id).split(":")[1]
    assert [t.instance_id for t in batches] == [
        f"archive-test:{run_tag}:0000",
        f"archive-test:{run_tag}:0001",
    ]
    (manifest,) = recorded(context)
    assert (manifest.status, len(manifest.chunks)) == (ArchiveStatus.COMPLETED, chunks)
    assert context.activities(ARCHIVE_CHUNK) == []  # the parent schedules no chunk itself


def test_a_batch_answers_for_each_of_its_chunks_and_reports_no_progress() -> None:
    batch = ChunkBatch(job_of(3).chunks, "p", None)
    context = Context(batch.to_json())
    outcome = BatchOutcome.from_json(drive(archive_batch_orchestration(context), Runtime(failing(2))))
    assert [(a.index, a.archived is not None) for a in outcome.attempts] == [(0, True), (1, True), (2, False)]
    assert context.custom_status == []


@pytest.mark.parametrize("chunks", [1, BATCH_CHUNKS, BATCH_CHUNKS + 1])
def test_each_chunk_is_archived_exactly_once_at_the_edges_of_batching(chunks: int) -> None:
    context, _ = one_round(start(chunks), Runtime())
    (manifest,) = recorded(context)
    assert [c.index for c in manifest.chunks] == list(range(chunks))

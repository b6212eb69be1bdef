"""Chaos: download faults, a storage restart and host crashes must still end in byte-identical archives.

Every check is made against what the emulator served and what Azurite holds (its access log for
how often a blob was committed), and the ACS deletions the emulator received. A failure message
carries the seed, so CHAOS_SEED=<seed> replays the same fault decisions.
"""

from __future__ import annotations

import math

from devtools.azurite import ACCOUNT_KEY
from tests.chaos.conftest import ChaosReport
from tests.chaos.scenarios import FAULT_MIX, FAULT_SHARE, ScenarioRun
from tests.chaos.stack import ChaosStack
from tests.support.secret_scan import scan_all


def _replay(run: ScenarioRun) -> str:
    return f"seed {run.seed} (CHAOS_SEED={run.seed} replays it): {run.verdict.problems}"


def test_with_a_fifth_of_downloads_faulted_every_chunk_is_archived_once_with_the_served_sha256(
    fault_run: ScenarioRun,
) -> None:
    assert fault_run.verdict.problems == [], _replay(fault_run)
    assert len(fault_run.verdict.verified) == len(fault_run.recordings) - 1


def test_about_a_fifth_of_the_download_requests_were_faulted(fault_run: ScenarioRun) -> None:
    requests = fault_run.observed["matched"]
    spread = 4 * math.sqrt(FAULT_SHARE * (1 - FAULT_SHARE) / requests)  # four standard deviations
    assert abs(fault_run.observed["faultedShare"] - FAULT_SHARE) < spread, fault_run.observed


def test_every_failed_download_was_asked_again(fault_run: ScenarioRun) -> None:
    failing = [label for kind, label, _ in FAULT_MIX if kind != "latency"]
    # Each rule hits distinct requests, and each hit must be followed by the same request again.
    assert fault_run.observed["retriedDownloads"] >= max(fault_run.injected[label] for label in failing)


def test_a_recording_whose_chunk_is_gone_at_acs_is_lost_and_keeps_every_acs_copy(
    fault_run: ScenarioRun, chaos_stack: ChaosStack
) -> None:
    (unarchivable,) = fault_run.expected_failed
    documents = {c.document_id for c in chaos_stack.emulator.recording_files(unarchivable).chunks}
    assert documents.isdisjoint(fault_run.verdict.deleted_documents)
    assert unarchivable not in fault_run.verdict.verified


def test_only_verified_recordings_are_deleted_at_acs(fault_run: ScenarioRun, chaos_stack: ChaosStack) -> None:
    verified_documents = {
        c.document_id
        for r in fault_run.verdict.verified
        for c in chaos_stack.emulator.recording_files(r).chunks
    }
    assert fault_run.verdict.deleted_documents == verified_documents
    assert fault_run.verdict.unverified_deletes == 0


def test_azurite_restarted_mid_transfer_still_ends_in_identical_archives(azurite_run: ScenarioRun) -> None:
    assert azurite_run.disruptions["midTransfer"] == [True], azurite_run.disruptions
    assert azurite_run.verdict.problems == []
    assert azurite_run.verdict.verified == set(azurite_run.recordings)


def test_the_host_was_killed_twice_while_chunks_were_still_transferring(sigkill_run: ScenarioRun) -> None:
    assert sigkill_run.disruptions["midTransfer"] == [True, True], sigkill_run.disruptions


def test_a_host_sigkilled_twice_mid_archive_resumes_and_archives_every_chunk_once(
    sigkill_run: ScenarioRun,
) -> None:
    assert sigkill_run.verdict.problems == []
    assert sigkill_run.verdict.verified == set(sigkill_run.recordings)


def test_at_least_ten_recordings_were_archived_through_the_chaos(
    fault_run: ScenarioRun, azurite_run: ScenarioRun, sigkill_run: ScenarioRun
) -> None:
    assert sum(len(run.verdict.verified) for run in (fault_run, azurite_run, sigkill_run)) >= 10


def _corpus(chaos_stack: ChaosStack) -> list[tuple[str, str]]:
    return chaos_stack.captures.items


def _known(chaos_stack: ChaosStack) -> tuple[str, ...]:
    return chaos_stack.emulator.access_key, ACCOUNT_KEY, chaos_stack.key


def test_no_secret_is_in_any_log_answer_acs_request_or_blob_of_the_app(
    fault_run: ScenarioRun,
    azurite_run: ScenarioRun,
    sigkill_run: ScenarioRun,
    chaos_stack: ChaosStack,
    chaos_report: ChaosReport,
) -> None:
    corpus = _corpus(chaos_stack)
    findings = [str(finding) for finding in scan_all(corpus, known=_known(chaos_stack))]
    chaos_report.secret_scan = {
        "captures": len(corpus),
        "bytes": sum(len(text) for _, text in corpus),
        "findings": len(findings),
    }
    assert findings == []  # kinds and places only: a finding never shows the secret


def test_the_secret_scan_read_every_host_log_and_what_every_recording_left(
    fault_run: ScenarioRun, azurite_run: ScenarioRun, sigkill_run: ScenarioRun, chaos_stack: ChaosStack
) -> None:
    corpus = _corpus(chaos_stack)
    sources = [source for source, _ in corpus]
    host_logs = [text for source, text in corpus if source.startswith("host log")]
    assert len(host_logs) == 5  # faults, azurite, and the sigkill host's three lives
    assert all("Listening on" in log for log in host_logs)
    assert sum(log.count("Executed 'Functions.") for log in host_logs) >= 50
    assert sum(1 for source in sources if source.endswith("manifest.json")) >= 10
    assert any("request to ACS" in source for source in sources)
    telemetry = "\n".join(text for source, text in corpus if ": telemetry " in source)
    assert '"name": "archive.chunk"' in telemetry  # the app's exported spans were scanned too
    assert "recordings.archive.bytes" in telemetry
    text = "\n".join(text for _, text in corpus)
    everything = fault_run.recordings + azurite_run.recordings + sigkill_run.recordings
    assert all(recording_id in text for recording_id in everything)
    planted = [*corpus[:-1], (corpus[-1][0], corpus[-1][1] + chaos_stack.key)]
    found = len(scan_all(planted, known=_known(chaos_stack)))  # outside the assert: never shown
    assert found == 1  # the scan sees what the corpus holds


def test_a_three_minute_outage_of_the_recording_host_heals_by_itself(acs_outage_run: ScenarioRun) -> None:
    """Issue 22: the same outage used to end the archive Failed after 2 min 44 s, for good."""
    assert acs_outage_run.injected["503 answers during the outage"] > 0
    assert acs_outage_run.verdict.problems == []
    assert acs_outage_run.verdict.verified == set(acs_outage_run.recordings)
    assert acs_outage_run.observed["fileEventDeliveries"] == len(acs_outage_run.recordings)  # no redelivery
    # it kept trying through the whole outage: at its end no archive had given up (issue 22's ended
    # Failed at 2 min 44 s). Today one round's retries (azure-core's and ours, 5 passes) outlast the
    # 3 minutes, so this scenario does not reach a second round: see docs/reliability.json's attempts.
    assert set(acs_outage_run.observed["statusAtOutageEnd"]) <= {"Retrying", "Archiving"}


def test_azurite_stopped_for_two_minutes_mid_archive_heals_by_itself(azurite_outage_run: ScenarioRun) -> None:
    assert azurite_outage_run.disruptions["midTransfer"] == [True], azurite_outage_run.disruptions
    assert azurite_outage_run.verdict.problems == []
    assert azurite_outage_run.verdict.verified == set(azurite_outage_run.recordings)
    assert azurite_outage_run.observed["fileEventDeliveries"] == len(azurite_outage_run.recordings)

"""The app as Azure's Python worker indexes it: every function accepted, with the bindings we mean.

The worker's own code (azure-functions-runtime, Python 3.13, in `.venv-worker` built by `make`)
imports function_app.py and runs each function through its binding checks. A function it
refuses never loads on Azure, whatever the local host does, so these tests run that code.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from devtools.devhost.worker_check import (
    WorkerIndex,
    WorkerRefusedError,
    index_with_worker,
    require_worker_accepts,
)
from shared.archive.orchestration import (
    ARCHIVE_BATCH,
    ARCHIVE_CHUNK,
    DELETE_SOURCE_CHUNK,
    ORCHESTRATOR,
    RECORD_ARCHIVE,
)
from shared.recording.auto_record import ATTEMPT_ACTIVITY, RETRY_ORCHESTRATOR

HTTP_ROUTES = {
    "start_recording": ("POST", "recordings"),
    "list_recordings": ("GET", "recordings"),
    "get_recording": ("GET", "recordings/{recordingId}"),
    "stop_recording": ("DELETE", "recordings/{recordingId}"),
    "pause_recording": ("POST", "recordings/{recordingId}/pause"),
    "resume_recording": ("POST", "recordings/{recordingId}/resume"),
    "get_archive": ("GET", "recordings/{recordingId}/archive"),
    "rerun_archive": ("POST", "recordings/{recordingId}/archive"),
    "get_chunk_link": ("GET", "recordings/{recordingId}/archive/chunks/{index}"),
    "get_chunk_metadata_link": ("GET", "recordings/{recordingId}/archive/chunks/{index}/metadata"),
    "delete_recording_content": ("DELETE", "recordings/{recordingId}/content"),
    "recording_state_callback": ("POST", "callbacks/recording-state"),
    "get_recording_policy": ("GET", "recording-policy"),
    "put_recording_policy": ("PUT", "recording-policy"),
    "get_archive_health": ("GET", "archive-health"),
}


@pytest.fixture(scope="module")
def worker_index() -> WorkerIndex:
    return index_with_worker()


def _trigger(bindings: list[dict[str, Any]]) -> dict[str, Any]:
    (trigger,) = [binding for binding in bindings if binding["type"].endswith("Trigger")]
    return trigger


def test_the_worker_accepts_every_function(worker_index: WorkerIndex) -> None:
    assert worker_index.refused == {}


def test_the_worker_indexes_exactly_the_functions_we_declare(worker_index: WorkerIndex) -> None:
    expected = {
        *HTTP_ROUTES,
        "on_acs_event",
        ORCHESTRATOR,
        ARCHIVE_BATCH,
        "apply_retention",
        "watch_archives",
        RETRY_ORCHESTRATOR,
        "replay_dead_letters",
        "publish_lifecycle_events",
    }
    expected |= {ARCHIVE_CHUNK, RECORD_ARCHIVE, DELETE_SOURCE_CHUNK, ATTEMPT_ACTIVITY}
    assert set(worker_index.functions) == expected


@pytest.mark.parametrize(("name", "route"), HTTP_ROUTES.items(), ids=list(HTTP_ROUTES))
def test_each_http_function_has_its_route_method_and_function_auth(
    worker_index: WorkerIndex, name: str, route: tuple[str, str]
) -> None:
    trigger = _trigger(worker_index.functions[name])
    assert (trigger["type"], trigger["methods"], trigger["route"]) == ("httpTrigger", [route[0]], route[1])
    assert trigger["authLevel"] == "FUNCTION"


def test_the_event_grid_function_is_triggered_by_event_grid_with_a_durable_client(
    worker_index: WorkerIndex,
) -> None:
    bindings = worker_index.functions["on_acs_event"]
    assert {binding["type"] for binding in bindings} == {"eventGridTrigger", "durableClient"}


@pytest.mark.parametrize("name", ["get_archive", "rerun_archive"])
def test_each_archive_route_gets_a_durable_client(worker_index: WorkerIndex, name: str) -> None:
    assert "durableClient" in {binding["type"] for binding in worker_index.functions[name]}


def test_the_archive_watch_runs_on_the_schedule_its_setting_names(worker_index: WorkerIndex) -> None:
    trigger = _trigger(worker_index.functions["watch_archives"])
    assert (trigger["type"], trigger["schedule"]) == ("timerTrigger", "%ARCHIVE_WATCH_SCHEDULE%")


def test_the_archive_watch_gets_a_durable_client_for_recovered_archives(worker_index: WorkerIndex) -> None:
    bindings = worker_index.functions["watch_archives"]
    assert {binding["type"] for binding in bindings} == {"timerTrigger", "durableClient"}


def test_the_dead_letter_replay_runs_on_the_schedule_its_setting_names_with_a_durable_client(
    worker_index: WorkerIndex,
) -> None:
    bindings = worker_index.functions["replay_dead_letters"]
    trigger = _trigger(bindings)
    assert (trigger["type"], trigger["schedule"]) == ("timerTrigger", "%DEAD_LETTER_REPLAY_SCHEDULE%")
    assert {binding["type"] for binding in bindings} == {"timerTrigger", "durableClient"}


def test_the_lifecycle_events_retry_runs_on_the_schedule_its_setting_names(worker_index: WorkerIndex) -> None:
    bindings = worker_index.functions["publish_lifecycle_events"]
    trigger = _trigger(bindings)
    assert (trigger["type"], trigger["schedule"]) == ("timerTrigger", "%LIFECYCLE_EVENTS_SCHEDULE%")
    assert {binding["type"] for binding in bindings} == {"timerTrigger"}


def test_retention_runs_on_a_daily_ncrontab_timer(worker_index: WorkerIndex) -> None:
    trigger = _trigger(worker_index.functions["apply_retention"])
    assert (trigger["type"], trigger["schedule"]) == ("timerTrigger", "0 30 2 * * *")
    assert len(trigger["schedule"].split()) == 6  # NCRONTAB: seconds first


@pytest.mark.parametrize("name", [ORCHESTRATOR, ARCHIVE_BATCH, RETRY_ORCHESTRATOR])
def test_each_orchestrator_is_an_orchestration_trigger(worker_index: WorkerIndex, name: str) -> None:
    assert _trigger(worker_index.functions[name])["type"] == "orchestrationTrigger"


@pytest.mark.parametrize("name", [ARCHIVE_CHUNK, RECORD_ARCHIVE, DELETE_SOURCE_CHUNK, ATTEMPT_ACTIVITY])
def test_each_activity_the_orchestrator_calls_is_an_activity_trigger(
    worker_index: WorkerIndex, name: str
) -> None:
    assert _trigger(worker_index.functions[name])["type"] == "activityTrigger"


def test_the_worker_refuses_an_activity_input_annotated_with_a_builtin_generic(tmp_path: Path) -> None:
    # The annotation this app once had (dict[str, Any]): the check must still catch it.
    (tmp_path / "function_app.py").write_text(
        textwrap.dedent(
            """
            from typing import Any
            import azure.durable_functions as df

            app = df.DFApp()

            @app.activity_trigger(input_name="payload")
            def archive_chunk(payload: dict[str, Any]) -> dict[str, Any]:
                return payload
            """
        ),
        encoding="utf-8",
    )
    with pytest.raises(WorkerRefusedError, match=r"archive_chunk.*invalid non-type annotation"):
        require_worker_accepts(tmp_path)


def test_an_app_that_cannot_be_imported_is_refused_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text("import not_a_module_anywhere\n", encoding="utf-8")
    with pytest.raises(WorkerRefusedError, match="not_a_module_anywhere"):
        index_with_worker(tmp_path)

"""Probabilistic fault rules: a share of matching requests, drawn from a seed that replays them."""

from __future__ import annotations

import math
import random

import pytest
import requests
from azure.communication.callautomation import CallAutomationClient

from devtools.acs_emulator import AcsEmulator, Call
from devtools.acs_emulator.faults import HTTP_FAULTS, FaultInjector
from devtools.acs_emulator.recording_files import RecordingChunk

from .conftest import content_get, start_recording

CONTENT = "/v1/objects/doc/content/audio"


def _decisions(injector: FaultInjector, requests_count: int) -> list[bool]:
    return [bool(injector.take(HTTP_FAULTS, "GET", CONTENT)) for _ in range(requests_count)]


def _expected(seed: int, probability: float, requests_count: int) -> list[bool]:
    draws = random.Random(seed)  # the documented rule: the n-th matching request gets the n-th draw
    return [draws.random() < probability for _ in range(requests_count)]


def test_a_rule_with_probability_hits_that_share_of_matching_requests() -> None:
    injector = FaultInjector()
    injector.add("status", "/content/", count=None, probability=0.2, seed=20)
    hits = sum(_decisions(injector, 10_000))
    spread = 4 * math.sqrt(10_000 * 0.2 * 0.8)  # four standard deviations of the binomial
    assert abs(hits - 2_000) < spread
    assert (injector.rules[0].applied, injector.rules[0].matched) == (hits, 10_000)


def test_the_same_seed_makes_the_same_decisions() -> None:
    first, second = FaultInjector(), FaultInjector()
    first.add("reset", "/content/", count=None, probability=0.3, seed=7)
    second.add("reset", "/content/", count=None, probability=0.3, seed=7)
    assert _decisions(first, 500) == _decisions(second, 500) == _expected(7, 0.3, 500)


def test_another_seed_makes_other_decisions() -> None:
    first, second = FaultInjector(), FaultInjector()
    first.add("reset", "/content/", count=None, probability=0.3, seed=7)
    second.add("reset", "/content/", count=None, probability=0.3, seed=8)
    assert _decisions(first, 500) != _decisions(second, 500)


def test_requests_a_rule_skips_do_not_use_up_its_count() -> None:
    injector = FaultInjector()
    rule = injector.add("status", "/content/", count=5, probability=0.25, seed=3)
    assert sum(_decisions(injector, 200)) == 5
    assert (rule.count, rule.applied) == (0, 5)
    assert rule.matched < 200  # once used up, a rule no longer draws


def test_a_rule_without_a_seed_lists_the_one_it_drew_from() -> None:
    injector = FaultInjector()
    rule = injector.add("truncate", "/content/", count=None, probability=0.5)
    assert rule.to_dict()["seed"] is not None
    assert _decisions(injector, 300) == _expected(rule.to_dict()["seed"], 0.5, 300)


@pytest.mark.parametrize("probability", [0, -0.1, 1.5, float("nan"), "half", True])
def test_a_probability_outside_zero_to_one_is_refused(probability: object) -> None:
    with pytest.raises(ValueError, match="probability"):
        FaultInjector().add("status", probability=probability)  # type: ignore[arg-type]


@pytest.fixture
def chunk(dns: None, emulator: AcsEmulator, client: CallAutomationClient, call: Call) -> RecordingChunk:
    recording_id = start_recording(client, call)
    return emulator.stop_recording(recording_id, duration_s=2.0).chunks[0]


def test_admin_api_rule_with_probability_and_seed_faults_the_predicted_requests(
    emulator: AcsEmulator, http: requests.Session, chunk: RecordingChunk
) -> None:
    created = http.post(
        f"{emulator.admin_url}/faults",
        json={
            "kind": "status",
            "path": "/content/",
            "status": 500,
            "count": None,
            "probability": 0.3,
            "seed": 42,
        },
    )
    assert (created.status_code, created.json()["probability"], created.json()["seed"]) == (201, 0.3, 42)
    statuses = [  # the recording host's answers (302 or the fault), one draw each
        content_get(
            emulator, http, chunk.content_location, {"Range": "bytes=0-9"}, allow_redirects=False
        ).status_code
        for _ in range(40)
    ]
    assert [status == 500 for status in statuses] == _expected(42, 0.3, 40)
    listed = http.get(f"{emulator.admin_url}/faults").json()[0]
    assert (listed["matched"], listed["applied"]) == (40, statuses.count(500))


def test_admin_api_refuses_a_probability_above_one(emulator: AcsEmulator, http: requests.Session) -> None:
    answer = http.post(f"{emulator.admin_url}/faults", json={"kind": "status", "probability": 1.5})
    assert answer.status_code == 400
    assert emulator.faults == []

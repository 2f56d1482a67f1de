"""Fault injection: status codes with Retry-After, reset, truncated bodies, slow answers, rates."""

from __future__ import annotations

import json
import time

import pytest
import requests


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504, 401, 403])
def test_status_faults_fire_times_then_stop(api, status):
    api.sim.faults.add(status=status, retry_after=2, times=2, path_contains="allocation")
    assert api.get("order_hdr/").status_code == 200  # path does not match
    for _ in range(2):
        r = api.get("allocation/")
        assert r.status_code == status
        assert r.headers["Retry-After"] == "2"
        assert set(r.json()) == {"reference", "code", "message", "details"}
    assert api.get("allocation/").status_code == 200
    assert [x.status for x in api.sim.requests] == [200, status, status, 200]


def test_after_requests_lets_some_through(api):
    api.sim.faults.add(status=503, after_requests=2, times=1)
    assert [api.get("allocation/").status_code for _ in range(4)] == [200, 200, 503, 200]


def test_429_without_retry_after_has_no_header(api):
    api.sim.faults.add(429)
    assert "Retry-After" not in api.get("allocation/").headers


def test_reset_aborts_the_connection(api):
    api.sim.faults.add("reset")
    with pytest.raises(requests.ConnectionError):
        api.get("allocation/")
    assert api.get("allocation/").status_code == 200


def test_truncate_gives_invalid_json_with_valid_http(api):
    api.sim.faults.add("truncate")
    r = api.get("allocation/")
    assert r.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.text)
    assert api.get("allocation/").json()["results"]


def test_html_is_a_sign_in_page_with_200(api):
    api.sim.faults.add("html")
    r = api.get("allocation/")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.text.startswith("<!DOCTYPE html>")
    assert api.get("allocation/").json()["results"]


def test_incomplete_body_is_a_broken_read(api):
    api.sim.faults.add("incomplete")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api.get("allocation/")
    assert api.get("allocation/").status_code == 200


def test_slow_delays_then_answers(api):
    api.sim.faults.add("slow", delay=0.3)
    start = time.monotonic()
    assert api.get("allocation/").status_code == 200
    assert time.monotonic() - start >= 0.3


def test_rate_is_seeded_and_roughly_right(make_api):
    def run():
        api = make_api()
        api.sim.faults.rate(0.3, kinds=(500, 503), seed=7)
        return [api.get("facility/").status_code for _ in range(40)]

    first, second = run(), run()
    assert first == second
    assert 4 <= sum(s != 200 for s in first) <= 20 and set(first) <= {200, 500, 503}


def test_unknown_fault_kind_is_rejected(api):
    with pytest.raises(ValueError, match="unknown fault kind"):
        api.sim.faults.add(418)

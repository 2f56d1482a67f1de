"""The opt-in page cache (`page_cache_mb`): same bytes, emptied by data changes, faults/auth/log intact."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import requests
from wms_simulator import WmsSimulator

TAP_QUERY = "page_size=100&page_mode=sequenced&ordering=mod_ts,id"


def fetch_all(sim, query: str = TAP_QUERY, session: requests.Session | None = None) -> list[bytes]:
    """Every page's raw body, following next_page as served."""
    session = session or requests.Session()
    url: str | None = f"{sim.api_url}/entity/allocation/?{query}"
    bodies = []
    while url:
        r = session.get(url, auth=(sim.username, sim.password), timeout=10)
        assert r.status_code == 200, r.text
        bodies.append(r.content)
        url = r.json()["next_page"]
    return bodies


def test_off_by_default():
    sim = WmsSimulator()
    assert sim.page_cache.stats()["budget_bytes"] == 0
    with pytest.raises(ValueError, match="page_cache_mb"):
        WmsSimulator(page_cache_mb=-1)


def test_hits_serve_the_bytes_an_uncached_simulator_serves(wms_sim_factory):
    cached = wms_sim_factory(page_cache_mb=16)
    plain = wms_sim_factory()
    first = fetch_all(cached)
    assert cached.page_cache.stats()["hits"] == 0 and cached.page_cache.stats()["entries"] == len(first) == 3
    second = fetch_all(cached)
    assert second == first
    assert cached.page_cache.stats()["hits"] == 3
    # The same pages without a cache: equal bytes but for the port in next_page and in urls (replaced as
    # `127.0.0.1:<port>`: the bare digits of a port may also occur inside an id of the data).
    other = fetch_all(plain)
    assert [b.replace(f"127.0.0.1:{cached.port}".encode(), b"HOST") for b in first] == [
        b.replace(f"127.0.0.1:{plain.port}".encode(), b"HOST") for b in other
    ]
    assert plain.page_cache.stats() == {"budget_bytes": 0, "bytes": 0, "entries": 0, "hits": 0, "misses": 0}


def test_query_is_normalised_before_lookup(wms_sim_factory):
    sim = wms_sim_factory(page_cache_mb=16)
    session = requests.Session()
    session.auth = (sim.username, sim.password)
    url = f"{sim.api_url}/entity/allocation/"
    a = session.get(f"{url}?page_size=100&page_mode=sequenced&ordering=mod_ts,id", timeout=10)
    b = session.get(f"{url}?page_size=100&page_mode=sequenced&ordering=mod_ts%2Cid", timeout=10)
    c = session.get(f"{url}?ordering=mod_ts%2Cid&page_mode=sequenced&page_size=100", timeout=10)
    assert a.content == b.content == c.content
    assert sim.page_cache.stats()["hits"] == 2 and sim.page_cache.stats()["entries"] == 1
    d = session.get(f"{url}?page_size=101&page_mode=sequenced&ordering=mod_ts,id", timeout=10)
    assert d.content != a.content and sim.page_cache.stats()["entries"] == 2


def test_any_data_change_invalidates(wms_sim_factory):
    sim = wms_sim_factory(page_cache_mb=16)
    before = fetch_all(sim)
    sim.update("allocation", [5], status_id=99)
    after = fetch_all(sim)
    assert sim.page_cache.stats()["hits"] == 0
    rows = [r for body in after for r in json.loads(body)["results"]]
    assert [r["status_id"] for r in rows if r["id"] == 5] == [99]
    assert rows[-1]["id"] == 5  # changed rows come last in mod_ts order
    assert after != before
    fetch_all(sim)
    assert sim.page_cache.stats()["hits"] == len(after)
    sim.insert("allocation", 2)
    assert len(b"".join(fetch_all(sim))) > len(b"".join(after))
    hits = sim.page_cache.stats()["hits"]
    sim.advance_clock(60)
    fetch_all(sim)
    assert sim.page_cache.stats()["hits"] == hits

    # A change made by an on_request callback is seen by the very request that triggered it.
    def change_once(info):
        if info.query.get("id__gte") and not info.query.get("cursor"):
            sim.update("allocation", [6], status_id=90)

    sim.on_request(change_once)
    first = fetch_all(sim, TAP_QUERY + "&id__gte=1")
    assert any(r["id"] == 6 and r["status_id"] == 90 for r in json.loads(first[-1])["results"])


def test_faults_auth_and_request_log_apply_to_cached_pages(wms_sim_factory):
    sim = wms_sim_factory(page_cache_mb=16)
    pages = fetch_all(sim)
    sim.clear_requests()
    url = f"{sim.api_url}/entity/allocation/?{TAP_QUERY}"
    auth = (sim.username, sim.password)
    assert requests.get(url, auth=(sim.username, "wrong"), timeout=10).status_code == 401
    sim.faults.add(status=503, times=1, retry_after=2)
    r = requests.get(url, auth=auth, timeout=10)
    assert r.status_code == 503 and r.headers["Retry-After"] == "2"
    sim.faults.add("truncate", times=1)
    r = requests.get(url, auth=auth, timeout=10)
    assert r.status_code == 200 and r.content == pages[0][: len(pages[0]) // 2]
    sim.faults.add("reset", times=1)
    with pytest.raises(requests.ConnectionError):
        requests.get(url, auth=auth, timeout=10)
    assert requests.get(url, auth=auth, timeout=10).content == pages[0]
    assert [r.status for r in sim.requests] == [401, 503, 200, 0, 200]
    assert sim.page_cache.stats()["hits"] >= 2


def test_budget_bounds_bytes_least_recently_used_out(wms_sim_factory):
    probe = fetch_all(wms_sim_factory(page_cache_mb=16))
    budget_mb = (len(probe[0]) * 2.5) / (1024 * 1024)
    sim = wms_sim_factory(page_cache_mb=budget_mb)
    fetch_all(sim)
    stats = sim.page_cache.stats()
    assert stats["entries"] == 2 and stats["bytes"] <= stats["budget_bytes"]
    fetch_all(sim)  # the first page was dropped first, and each miss drops the oldest again
    assert sim.page_cache.stats()["hits"] == 0
    tiny = wms_sim_factory(page_cache_mb=0.001)
    assert fetch_all(tiny) == fetch_all(tiny) and tiny.page_cache.stats()["entries"] == 0


def test_command_line_option_and_admin_stats(simulator_process):
    base = simulator_process("--allocation", "50", "--page-cache-mb", "8")
    url = f"{base}/wms/lgfapi/v10/entity/allocation/?page_size=20"
    for _ in range(2):
        assert requests.get(url, auth=("wms", "wms-secret"), timeout=5).status_code == 200
    stats = requests.get(f"{base}/__sim__/page_cache", timeout=5).json()
    assert stats["budget_bytes"] == 8 * 1024 * 1024 and stats["hits"] == 1 and stats["entries"] == 1
    bad = subprocess.run(
        [sys.executable, "-m", "wms_simulator", "--page-cache-mb", "-3"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "page_cache_mb" in bad.stderr

"""What real tenants do, as switches (all off by default), over real sockets.

Whole-second filters, entities refusing `ordering`, large pages timing out, backdated rows, late commits,
paged-mode quirks (stale page_count with phantom pages, short intermediate pages), a 404 on a link mid-walk,
rows changing mid-walk, and per-request latency served concurrently.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from wms_simulator.faults import Latency

ERROR_KEYS = {"reference", "code", "message", "details"}


def utc(ts: str | datetime, *, whole: bool = True) -> str:
    """A row's timestamp (or a datetime) as a UTC filter value, in whole seconds unless told."""
    dt = datetime.fromisoformat(ts) if isinstance(ts, str) else ts
    dt = dt.astimezone(timezone.utc)
    return dt.isoformat(timespec="seconds" if whole else "microseconds")


def mod_key(row: dict) -> tuple[datetime, int]:
    return datetime.fromisoformat(row["mod_ts"]), row["id"]


# ----- 1. filter timestamps in whole seconds --------------------------------------------------------


def test_fractional_filter_timestamps_are_served_by_default(api):
    r = api.get("allocation/", mod_ts__gte="2025-01-01T00:00:00.123456+00:00")
    assert r.status_code == 200


def test_whole_second_filters_refuse_a_fraction_with_the_error_body(make_api):
    api = make_api(whole_second_filters=True)
    for params in (
        {"mod_ts__gte": "2025-01-01T00:00:00.123456+00:00"},
        {"create_ts__lt": "2025-01-01T00:00:00.5Z"},
        {"mod_ts__range": "2025-01-01T00:00:00+00:00,2025-02-01T00:00:00.000001+00:00"},
    ):
        r = api.get("allocation/", **params)
        assert r.status_code == 400, params
        body = r.json()
        assert set(body) == ERROR_KEYS and body["code"] == "VALIDATION_ERROR"
        assert list(body["details"]) == list(params)
    for params in (
        {"mod_ts__gte": "2025-01-01T00:00:00+00:00"},
        {"mod_ts__gte": "2025-01-01T00:00:00Z", "mod_ts__lt": "2025-03-01T00:00:00-03:00"},
        {"mod_ts__hour": "10"},
    ):
        assert api.get("allocation/", **params).status_code == 200, params
    seq = api.get("allocation/", page_mode="sequenced", mod_ts__gte="2025-01-01T00:00:00.1+00:00")
    assert seq.status_code == 400


# ----- 2. ordering refused --------------------------------------------------------------------------


def test_ordering_refused_for_chosen_entities_only(make_api):
    api = make_api(ordering_refused=("allocation",))
    for mode in ("paged", "sequenced"):
        r = api.get("allocation/", ordering="mod_ts,id", page_mode=mode, mod_ts__gte="2025-01-01T00:00:00Z")
        assert r.status_code == 400
        assert set(r.json()) == ERROR_KEYS and "ordering" in r.json()["details"]
        assert api.get("allocation/", page_mode=mode, mod_ts__gte="2025-01-01T00:00:00Z").status_code == 200
    assert [r["id"] for r in api.follow("order_hdr", ordering="-id")] == list(range(30, 0, -1))


def test_ordering_refused_names_known_entities(wms_sim_factory):
    with pytest.raises(ValueError, match="ordering_refused"):
        wms_sim_factory(ordering_refused=("alocation",))


def test_ordering_ignored_serves_storage_order_in_both_modes(make_api):
    api = make_api(ordering_ignored=("order_hdr",))
    storage = [i for stripe in (0, 1, 2) for i in range(1, 31) if i % 3 == stripe]
    for mode in ("paged", "sequenced"):
        for ordering in ("id", "-id", "mod_ts,id", ""):
            rows = api.follow("order_hdr", ordering=ordering, page_mode=mode, page_size=7)
            assert [r["id"] for r in rows] == storage
        assert api.get("order_hdr/", ordering="nope", page_mode=mode).status_code == 400
    first = [api.get("order_hdr/", ordering=o, page_size=1).json()["results"][0]["id"] for o in ("id", "-id")]
    assert first == [3, 3]
    assert [r["id"] for r in api.follow("order_dtl", ordering="-id")][:2] == [120, 119]


def test_ordering_ignored_names_known_entities(wms_sim_factory):
    with pytest.raises(ValueError, match="ordering_ignored"):
        wms_sim_factory(ordering_ignored=("alocation",))


# ----- 3. large pages time out ----------------------------------------------------------------------


def test_large_pages_answer_504_for_the_chosen_entity(api):
    api.sim.faults.add(504, page_size_above=100, path_contains="/entity/allocation/", times=None)
    r = api.get("allocation/", page_size=101)
    assert r.status_code == 504 and set(r.json()) == ERROR_KEYS
    assert api.get("allocation/", page_size=100).status_code == 200
    assert api.get("allocation/").status_code == 200  # the default page size (100) is not above
    assert api.get("order_hdr/", page_size=500).status_code == 200
    assert api.get("allocation/describe/").status_code == 200
    assert api.get("allocation/1/").status_code == 200
    assert api.get("allocation/", page_size=1000).status_code == 504


def test_a_gateway_waits_its_timeout_before_the_504(api):
    api.sim.faults.add(504, page_size_above=50, delay=0.3, times=None)
    start = time.monotonic()
    assert api.get("allocation/", page_size=60).status_code == 504
    assert time.monotonic() - start >= 0.3


def test_a_large_page_slower_than_the_client_timeout_is_a_read_timeout(api):
    api.sim.faults.add("slow", delay=1.5, page_size_above=50, path_contains="/entity/allocation/", times=None)
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.session.get(f"{api.sim.api_url}/entity/allocation/", params={"page_size": 100}, timeout=0.3)
    r = api.session.get(f"{api.sim.api_url}/entity/allocation/", params={"page_size": 50}, timeout=5)
    assert r.status_code == 200 and len(r.json()["results"]) == 50


# ----- 4. backdated rows ----------------------------------------------------------------------------


def test_backdated_rows_are_missed_by_a_mod_ts_walk_and_found_by_a_create_ts_walk(api):
    sim = api.sim
    sim.update("allocation", [5, 6], status_id=90)
    bookmark = max(r["mod_ts"] for r in sim.records("allocation"))
    sim.advance_clock(600)
    new = sim.insert("allocation", 3, mod_ts_ago=3 * 86_400)  # created now, mod_ts 3 days back
    rows = [sim.get("allocation", i) for i in new]
    assert all(r["create_ts"] > bookmark > r["mod_ts"] for r in rows)
    since = utc(datetime.fromisoformat(bookmark) - timedelta(seconds=300))
    by_mod = [r["id"] for r in api.follow("allocation", mod_ts__gte=since, ordering="mod_ts,id")]
    assert by_mod == [5, 6]
    by_create = [r["id"] for r in api.follow("allocation", create_ts__gte=since, ordering="create_ts")]
    assert by_create == new


@pytest.mark.parametrize("mode", ["paged", "sequenced"])
@pytest.mark.parametrize("ordering", ["mod_ts,id", "-mod_ts,-id"])
def test_backdated_rows_take_their_place_in_mod_ts_order(api, mode, ordering):
    """A row stored with an older mod_ts falls among the base rows: a walk serves each row once, in order."""
    sim = api.sim
    sim.update("allocation", [7, 250], status_id=90)
    sim.insert("allocation", 2, mod_ts_ago=2 * 86_400 + 20 * 86_400)  # among the last base rows
    sim.insert("allocation", 1)
    sim.update("allocation", [100], mod_ts_ago=60 * 86_400, status_id=0)  # moved back among base rows
    rows = api.follow("allocation", ordering=ordering, page_size=37, page_mode=mode)
    keys = [mod_key(r) for r in rows]
    assert keys == sorted(keys, reverse=ordering.startswith("-"))
    assert sorted(r["id"] for r in rows) == list(range(1, 304))
    assert api.get("allocation/", page_size=1).json()["result_count"] == 303


# ----- 5. late commits ------------------------------------------------------------------------------


def hour_count(api, start: datetime) -> int:
    """Rows whose mod_ts falls in one clock hour (page_size=1, paged mode's result_count); 0 on 404."""
    r = api.get(
        "allocation/", page_size=1, mod_ts__gte=utc(start), mod_ts__lt=utc(start + timedelta(hours=1))
    )
    if r.status_code == 404:
        return 0
    assert r.status_code == 200, r.text
    return r.json()["result_count"]


def test_late_commits_grow_the_count_of_an_hour_behind_the_bookmark(api):
    sim = api.sim
    sim.update("allocation", list(range(1, 11)), status_id=90)
    sim.advance_clock(3 * 3600)
    sim.update("allocation", [20], status_id=90)
    bookmark = datetime.fromisoformat(sim.get("allocation", 20)["mod_ts"])
    hour = bookmark.replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    before = [hour_count(api, hour + timedelta(hours=h)) for h in range(4)]
    assert before[0] == 10  # the first changes, three hours back
    sim.insert("allocation", 4, mod_ts_ago=3 * 3600, create_ts_ago=3 * 3600)  # a late commit
    sim.update("allocation", [30, 31], mod_ts_ago=3 * 3600, status_id=0)
    after = [hour_count(api, hour + timedelta(hours=h)) for h in range(4)]
    assert after[0] == before[0] + 6 and after[1:] == before[1:]
    lookback = utc(bookmark - timedelta(seconds=300))
    assert [r["id"] for r in api.follow("allocation", mod_ts__gte=lookback)] == [20]
    assert api.get("allocation/", create_ts__gte=lookback).status_code == 404  # nor a create_ts walk


def test_stamps_in_the_past_only(api):
    with pytest.raises(ValueError, match="mod_ts_ago"):
        api.sim.insert("allocation", 1, mod_ts_ago=-1)
    with pytest.raises(ValueError, match="create_ts_ago"):
        api.sim.insert("allocation", 1, create_ts_ago=-1)
    with pytest.raises(ValueError, match="mod_ts_ago"):
        api.sim.update("allocation", [1], mod_ts_ago=-5, status_id=0)


def test_admin_insert_and_update_take_the_stamps(api):
    admin = api.sim.admin_url
    before = api.sim.clock_us
    r = requests.post(
        f"{admin}/insert",
        json={"entity": "allocation", "n": 1, "mod_ts_ago": 7200, "create_ts_ago": 60},
        timeout=5,
    )
    row = api.sim.get("allocation", r.json()["ids"][0])
    created, modified = (datetime.fromisoformat(row[k]) for k in ("create_ts", "mod_ts"))
    assert created - modified == timedelta(seconds=7140)
    body = {"entity": "allocation", "ids": [3], "changes": {"status_id": 0}, "mod_ts_ago": 7200}
    assert requests.post(f"{admin}/update", json=body, timeout=5).status_code == 200
    assert api.sim.clock_us == before + 2000  # one tick per call: the clock never moves back
    expected = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(
        microseconds=before + 2000 - 7_200_000_000
    )
    assert datetime.fromisoformat(api.sim.get("allocation", 3)["mod_ts"]) == expected


# ----- 6. paged mode: stale page_count, phantom pages, short pages -----------------------------------


def test_stale_page_count_drops_mid_walk_and_phantom_pages_answer_500(make_api):
    api = make_api(stale_page_count=2)
    counts = [api.get("allocation/", page_size=50, page=p).json()["page_count"] for p in range(1, 7)]
    assert counts == [8, 8, 8, 6, 6, 6]
    assert api.get("allocation/", page_size=50, page=6).json()["next_page"] is None
    for page in (7, 8):
        r = api.get("allocation/", page_size=50, page=page)
        assert r.status_code == 500 and set(r.json()) == ERROR_KEYS
    assert api.get("allocation/", page_size=50, page=9).status_code == 404
    assert [r["id"] for r in api.follow("allocation", page_size=50)] == list(range(1, 301))


def test_a_stale_count_on_the_last_page_links_to_a_phantom_page(make_api):
    api = make_api(stale_page_count=1, stale_pages=6)
    last = api.get("allocation/", page_size=50, page=6).json()
    assert last["page_count"] == 7 and len(last["results"]) == 50
    assert api.url(last["next_page"]).status_code == 500


def test_short_intermediate_pages_still_cover_every_row_once(make_api):
    api = make_api(short_page_every=3)
    sizes, ids, body = [], [], api.get("order_hdr/", page_size=4).json()
    while True:
        sizes.append(len(body["results"]))
        ids += [r["id"] for r in body["results"]]
        assert body["page_count"] == 9 and body["result_count"] == 30
        if not body["next_page"]:
            break
        body = api.url(body["next_page"]).json()
    assert sizes == [4, 4, 2, 4, 4, 2, 4, 4, 2]
    assert ids == list(range(1, 31))
    assert api.get("order_hdr/", page_size=4, page=10).status_code == 404


def test_paged_quirks_are_validated(wms_sim_factory):
    for kwargs in ({"short_page_every": 1}, {"stale_page_count": -1}, {"stale_pages": -2}):
        with pytest.raises(ValueError):
            wms_sim_factory(**kwargs)


# ----- 7. a 404 on a link in the middle of a walk ----------------------------------------------------


@pytest.mark.parametrize("mode", ["paged", "sequenced"])
def test_a_404_on_the_third_pages_link(api, mode):
    api.sim.faults.add(404, path_contains="/entity/allocation/", after_requests=2)
    first = api.get("allocation/", page_size=50, page_mode=mode).json()
    second = api.url(first["next_page"]).json()
    r = api.url(second["next_page"])
    assert r.status_code == 404 and set(r.json()) == ERROR_KEYS
    assert api.url(second["next_page"]).status_code == 200  # once only


# ----- 8. rows changing during a walk -----------------------------------------------------------------


def test_paged_walk_by_mod_ts_skips_a_row_when_a_row_ahead_changes(api):
    """Offsets over `ordering=mod_ts,id` in a `mod_ts__gte` window: the row changed mid-walk moves to the
    end, every later row shifts one place towards the start; the row at the page edge is never served."""
    sim = api.sim
    served: list[int] = []

    def change(info):
        served.append(1)
        if len(served) == 3:  # two pages served
            sim.update("allocation", [10], status_id=99)

    sim.on_request(change)
    since = utc(sim.get("allocation", 1)["mod_ts"])
    rows = api.follow("allocation", mod_ts__gte=since, ordering="mod_ts,id", page_size=50)
    ids = [r["id"] for r in rows]
    assert 101 not in ids and ids.count(10) == 2 and ids[-1] == 10 and len(ids) == 300


def test_paged_walk_in_id_order_keeps_changed_rows_in_place(api):
    sim = api.sim
    served: list[int] = []

    def change(info):
        served.append(1)
        if len(served) == 3:
            sim.update("allocation", [10, 280], pick_user="CHANGED")

    sim.on_request(change)
    rows = api.follow("allocation", page_size=50)
    assert [r["id"] for r in rows] == list(range(1, 301))
    assert rows[279]["pick_user"] == "CHANGED" and rows[9]["pick_user"] != "CHANGED"


# ----- 9. latency -------------------------------------------------------------------------------------


def test_latency_delays_each_request_by_sleeping(make_api):
    api = make_api(latency=0.4)
    cpu, start = time.process_time(), time.monotonic()
    assert api.get("facility/").status_code == 200
    assert time.monotonic() - start >= 0.4
    assert time.process_time() - cpu < 0.3  # the server slept, it did not spin
    assert requests.get(f"{api.sim.admin_url}/page_cache", timeout=5).status_code == 200


def test_latency_is_served_concurrently(make_api):
    api = make_api(latency=0.5)
    results: list[int] = []

    def one() -> None:
        with requests.Session() as s:
            s.auth = (api.sim.username, api.sim.password)
            results.append(
                s.get(
                    f"{api.sim.api_url}/entity/allocation/", params={"page_size": 10}, timeout=10
                ).status_code
            )

    threads = [threading.Thread(target=one) for _ in range(10)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 10
    assert time.monotonic() - start < 2.5  # ten requests of 0.5 s each, overlapping (sequential: 5 s)


def test_latency_jitter_is_seeded_and_bounded():
    assert Latency(0.2, 0.1, seed=3).draw() == Latency(0.2, 0.1, seed=3).draw()
    lat = Latency(0.2, 0.1, seed=3)
    many = [lat.draw() for _ in range(200)]
    assert all(0.1 <= d <= 0.3 for d in many) and len(set(many)) > 100
    assert Latency(0.05, 0.5, seed=1).draw() >= 0
    with pytest.raises(ValueError):
        Latency(-1)


# ----- command line ----------------------------------------------------------------------------------


def test_command_line_switches(simulator_process):
    base = simulator_process(
        "--allocation", "50", "--whole-second-filters", "--ordering-refused", "allocation,item",
        "--ordering-ignored", "order_hdr",
        "--short-page-every", "2", "--stale-page-count", "1",
        "--latency", "0.01", "--latency-jitter", "0.005",
    )  # fmt: skip
    url = f"{base}/wms/lgfapi/v10/entity/allocation/"
    auth = ("wms", "wms-secret")
    assert requests.get(url, params={"ordering": "id"}, auth=auth, timeout=5).status_code == 400
    hdr_url = url.replace("allocation", "order_hdr")
    hdr = requests.get(hdr_url, params={"ordering": "-id"}, auth=auth, timeout=5)
    assert hdr.json()["results"][0]["id"] == 3
    frac = {"mod_ts__gte": "2025-01-01T00:00:00.5+00:00"}
    assert requests.get(url, params=frac, auth=auth, timeout=5).status_code == 400
    first = requests.get(url, params={"page_size": 10}, auth=auth, timeout=5).json()
    assert first["page_count"] == 1 + 7  # 50 rows in pages of 10, 5, 10, 5 ...: 7 pages, 1 stale
    second = requests.get(first["next_page"], auth=auth, timeout=5).json()
    assert len(second["results"]) == 5 and parse_qs(urlsplit(first["next_page"]).query)["page"] == ["2"]
    fault = {"status": 504, "page_size_above": 5, "times": None}
    assert requests.post(f"{base}/__sim__/faults", json=fault, timeout=5).status_code == 200
    assert requests.get(url, params={"page_size": 6}, auth=auth, timeout=5).status_code == 504
    assert requests.get(url, params={"page_size": 5}, auth=auth, timeout=5).json()["results"]


# ----- misbehaving servers: a cursor that links back -------------------------------------------------


def test_sequenced_link_back_loops_between_the_first_two_pages(make_api):
    api = make_api(sequenced_link_back=True)
    first = api.get("order_hdr/", page_size=4, page_mode="sequenced").json()
    second = api.url(first["next_page"]).json()
    assert "cursor=" not in second["next_page"]
    again = api.url(second["next_page"]).json()
    assert [r["id"] for r in again["results"]] == [r["id"] for r in first["results"]]
    assert again["next_page"] == first["next_page"]
    assert [r["id"] for r in second["results"]] == [5, 6, 7, 8]


# ----- misbehaving servers: query parameters ignored ---------------------------------------------------


def test_params_ignored_serve_the_first_page_again(make_api):
    api = make_api(params_ignored=("page", "id__gt"))
    first = [r["id"] for r in api.get("order_hdr/", page_size=4, ordering="id").json()["results"]]
    assert first == [1, 2, 3, 4]
    third = api.get("order_hdr/", page_size=4, ordering="id", page=3).json()
    assert [r["id"] for r in third["results"]] == first
    after = api.get("order_hdr/", page_size=4, ordering="id", id__gt=4).json()
    assert [r["id"] for r in after["results"]] == first
    honest = make_api()
    assert [
        r["id"] for r in honest.get("order_hdr/", page_size=4, ordering="id", id__gt=4).json()["results"]
    ] == [
        5,
        6,
        7,
        8,
    ]

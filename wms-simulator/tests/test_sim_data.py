"""Data: determinism, shapes, referential integrity, totals, status domains, anomalies, flat memory."""

from __future__ import annotations

import re
import tracemalloc
from decimal import Decimal

from wms_simulator import WmsSimulator

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}-03:00$")
SIZES = {"allocation": 3000, "order_dtl": 900, "order_hdr": 250}


def test_same_seed_same_data_other_seed_other_data():
    a = list(WmsSimulator(seed=1, sizes=SIZES).records("allocation"))
    b = list(WmsSimulator(seed=1, sizes=SIZES).records("allocation"))
    c = list(WmsSimulator(seed=2, sizes=SIZES).records("allocation"))
    assert a == b and a != c


def test_served_rows_equal_records_and_are_deterministic_over_http(wms_sim_factory, make_api):
    api1, api2 = make_api(seed=9), make_api(seed=9)
    rows1 = api1.follow("order_hdr", page_mode="sequenced", page_size=1000)
    rows2 = api2.follow("order_hdr", page_mode="sequenced", page_size=1000)

    def strip(rows):
        return [
            {k: v for k, v in r.items() if "url" not in k and not k.endswith(("_id", "_set"))} for r in rows
        ]

    assert strip(rows1) == strip(rows2)
    assert rows1 == list(api1.sim.records("order_hdr"))


def test_field_shapes():
    sim = WmsSimulator(sizes=SIZES)
    allocs = list(sim.records("allocation"))
    assert all(len(r) == 24 for r in allocs)
    seen_null = seen_fk = seen_blank_url = False
    for r in allocs:
        assert TS.match(r["create_ts"]) and TS.match(r["mod_ts"]) and r["create_ts"] < r["mod_ts"]
        assert isinstance(r["alloc_qty"], str) and isinstance(r["packed_qty"], str)
        assert isinstance(r["is_picking_flg"], bool) and isinstance(r["status_id"], int)
        assert r["cartonize_uom_id"] is None
        for k, v in r.items():
            if k.endswith("_id") and k != "status_id":
                if v is None:
                    seen_null = True
                else:
                    assert set(v) == {"id", "key", "url"} and isinstance(v["id"], int)
                    seen_fk = True
                    seen_blank_url |= v["url"] == ""
    assert seen_null and seen_fk and seen_blank_url
    assert any(r["final_oblpn_nbr"] == "" for r in allocs) and any(r["pick_user"] == "" for r in allocs)
    dtls = list(sim.records("order_dtl"))
    assert any(r["unit_cost"] == "" for r in dtls)
    hdrs = list(sim.records("order_hdr"))
    assert any(r["order_dtl_set"] for r in hdrs) and any(r["order_lock_set"] is None for r in hdrs)
    assert all(TS.match(r["order_shipped_ts"]) for r in hdrs if r["order_shipped_ts"])


def test_referential_integrity_totals_and_status_domains():
    sim = WmsSimulator(sizes=SIZES, anomaly_rate=0)
    hdrs = {r["id"]: r for r in sim.records("order_hdr")}
    dtls = {r["id"]: r for r in sim.records("order_dtl")}
    allocs = list(sim.records("allocation"))
    assert all(a["order_dtl_id"]["id"] in dtls for a in allocs)
    assert all(d["order_id"]["id"] in hdrs for d in dtls.values())
    totals: dict[int, Decimal] = {}
    for d in dtls.values():
        totals[d["order_id"]["id"]] = totals.get(d["order_id"]["id"], Decimal(0)) + Decimal(d["ord_qty"])
    for h, r in hdrs.items():
        assert Decimal(r["total_orig_ord_qty"]) == totals.get(h, 0)
        assert r["status_id"] in (0, 10, 20, 25, 30, 40, 50, 90, 99)
    assert {d["status_id"] for d in dtls.values()} <= {0, 10, 20, 25, 30, 40, 50, 90, 99}
    assert {a["status_id"] for a in allocs} == {0, 10, 90, 99}
    assert all(
        Decimal(a["alloc_qty"]) > 0 and Decimal(a["packed_qty"]) <= Decimal(a["alloc_qty"]) for a in allocs
    )
    d = dtls[5]
    assert d["order_id"]["key"] == hdrs[d["order_id"]["id"]]["order_nbr"]


def test_anomalies_follow_the_rate_and_break_the_documented_rules():
    sim = WmsSimulator(sizes={"allocation": 20000, "order_dtl": 5000, "order_hdr": 1000}, anomaly_rate=0.01)
    anomalies = sim.anomaly_ids()
    assert 120 <= len(anomalies) <= 280
    kinds = set()
    for a in anomalies:
        r = sim.get("allocation", a)
        if r["alloc_qty"] == "0":
            kinds.add("zero")
        else:
            assert Decimal(r["packed_qty"]) > Decimal(r["alloc_qty"])
            kinds.add("over")
    assert kinds == {"zero", "over"}
    assert WmsSimulator(anomaly_rate=0).anomaly_ids() == []


def test_row_five_million_without_building_the_table(make_api):
    tracemalloc.start()
    api = make_api(sizes={"allocation": 10_000_000, "order_dtl": 4_000_000, "order_hdr": 1_000_000})
    row = api.get("allocation/5000000/").json()
    page = api.get("allocation/", id__gte=5_000_000, page_size=3).json()
    last = api.get("allocation/", page_size=10, page=1_000_000).json()
    seq = api.get(
        "allocation/", page_mode="sequenced", ordering="mod_ts", mod_ts__gte=row["mod_ts"], page_size=2
    ).json()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert row["id"] == 5_000_000 and page["result_count"] == 5_000_001
    assert [r["id"] for r in page["results"]] == [5_000_000, 5_000_001, 5_000_002]
    assert last["results"][-1]["id"] == 10_000_000 and last["next_page"] is None
    assert [r["id"] for r in seq["results"]] == [5_000_000, 5_000_001]
    assert row["order_dtl_id"]["id"] == 2_000_000
    assert peak < 50_000_000

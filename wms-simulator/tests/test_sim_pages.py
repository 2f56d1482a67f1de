"""Entity list, describe, paged and sequenced pagination, ordering, page size limits."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit


def test_entity_list_is_flat_object_of_urls(api):
    body = api.get().json()
    assert set(body) == {"allocation", "order_dtl", "order_hdr", "facility", "company", "item"}
    assert body["allocation"] == f"{api.sim.api_url}/entity/allocation/"


def test_entity_list_in_paged_form_links_page_by_page(make_api):
    api = make_api(entity_list_page_size=4)
    first = api.get().json()
    assert set(first) == {"result_count", "page_count", "page_nbr", "next_page", "previous_page", "results"}
    assert (first["result_count"], first["page_count"], first["page_nbr"]) == (6, 2, 1)
    assert first["results"][0] == {"name": "allocation", "url": f"{api.sim.api_url}/entity/allocation/"}
    assert parse_qs(urlsplit(first["next_page"]).query) == {"page": ["2"]}
    second = api.get(page=2).json()
    assert second["next_page"] is None and len(second["results"]) == 2
    names = [e["name"] for e in first["results"] + second["results"]]
    assert sorted(names) == ["allocation", "company", "facility", "item", "order_dtl", "order_hdr"]
    assert api.get(page=3).status_code == 404


def test_paged_mode_shape_and_next_page_urls_keep_every_filter(api):
    r = api.get("allocation/", page_size=50, status_id__in="0,10,90,99", ordering="id")
    body = r.json()
    assert set(body) == {"result_count", "page_count", "page_nbr", "next_page", "previous_page", "results"}
    assert body["result_count"] == 300 and body["page_count"] == 6 and body["page_nbr"] == 1
    assert body["previous_page"] is None
    nxt = urlsplit(body["next_page"])
    assert nxt.netloc == f"127.0.0.1:{api.sim.port}"
    q = parse_qs(nxt.query)
    assert q == {"page_size": ["50"], "status_id__in": ["0,10,90,99"], "ordering": ["id"], "page": ["2"]}
    rows = api.follow("allocation", page_size=50, status_id__in="0,10,90,99", ordering="id")
    assert [r["id"] for r in rows] == list(range(1, 301))
    last = api.get("allocation/", page_size=50, page=6).json()
    assert last["next_page"] is None and last["page_nbr"] == 6
    assert parse_qs(urlsplit(last["previous_page"]).query)["page"] == ["5"]


def test_page_beyond_last_is_404(api):
    r = api.get("allocation/", page_size=100, page=4)
    assert r.status_code == 404
    assert set(r.json()) == {"reference", "code", "message", "details"}


def test_sequenced_mode_cursor_is_opaque_base64_and_covers_all_rows(api):
    r = api.get("allocation/", page_mode="sequenced", page_size=128, mod_ts__gte="2024-01-01T00:00:00+00:00")
    body = r.json()
    assert set(body) == {"next_page", "previous_page", "results"}
    q = parse_qs(urlsplit(body["next_page"]).query)
    assert q["page_mode"] == ["sequenced"] and q["page_size"] == ["128"] and "mod_ts__gte" in q
    token = q["cursor"][0]
    base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    rows = api.follow("allocation", page_mode="sequenced", page_size=128, ordering="mod_ts")
    assert len(rows) == 300 and len({r["id"] for r in rows}) == 300
    assert [r["mod_ts"] for r in rows] == sorted(r["mod_ts"] for r in rows)


def test_sequenced_last_page_has_no_next_page_even_when_full(api):
    rows = api.follow("order_hdr", page_mode="sequenced", page_size=10)
    assert len(rows) == 30
    assert api.sim.requests[-1].query.get("cursor")  # 3 requests, the third ends the chain
    assert len(api.sim.requests) == 3


def test_page_size_over_1250_is_400_with_error_body(api):
    r = api.get("allocation/", page_size=1251)
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "VALIDATION_ERROR" and body["message"] == "Invalid input."
    assert "page_size" in body["details"] and body["reference"]
    assert api.get("allocation/", page_size=1250).status_code == 200
    assert api.get("allocation/", page_size="abc").status_code == 400


def test_default_page_size(make_api):
    api = make_api(page_size_default=25)
    assert len(api.get("allocation/").json()["results"]) == 25


def test_ordering_multi_field_and_descending(api):
    rows = api.follow("order_dtl", ordering="-status_id,id", page_size=1000)
    keys = [(-r["status_id"], r["id"]) for r in rows]
    assert keys == sorted(keys) and len(rows) == 120
    rows = api.follow("allocation", ordering="-id", page_size=77)
    assert [r["id"] for r in rows] == list(range(300, 0, -1))
    rows = api.follow("allocation", ordering="-mod_ts", page_mode="sequenced", page_size=77)
    assert [r["mod_ts"] for r in rows] == sorted((r["mod_ts"] for r in rows), reverse=True)
    rows = api.follow(
        "order_hdr", ordering="facility_id__code,-order_nbr", page_mode="sequenced", page_size=7
    )
    keys = [(r["facility_id"]["key"], -int(r["order_nbr"])) for r in rows]
    assert keys == sorted(keys) and len(rows) == 30
    assert api.get("allocation/", ordering="nope").status_code == 400


def test_describe_variants_and_required_styles(make_api):
    simple = make_api().get("allocation/describe/").json()
    assert "mod_ts" in simple["parameters"] and "facility_id__code" in simple["parameters"]
    f = simple["fields"]
    assert f["id"]["type"] == "pk" and f["mod_ts"]["type"] == "datetime"
    assert f["alloc_qty"]["type"] == "decimal" and f["order_dtl_id"]["type"] == "relation"
    assert f["is_picking_flg"]["type"] == "boolean" and f["pick_user"]["type"] == "varchar"
    assert f["pick_user"]["max_length"] == 25 and f["pick_user"]["allow_blank"] is True
    assert f["id"]["required"] is True and f["picked_ts"]["required"] is False
    assert f["pick_locn_str"]["type"] == "locn_str"  # unknown to every tap
    alt = make_api(describe_variant="alt", required_style="code").get("order_hdr/describe/").json()["fields"]
    assert alt["mod_ts"]["type"] == "date-time" and alt["id"]["type"] == "number"
    assert alt["order_nbr"]["type"] == "string" and alt["id"]["required"] == "Y"
    assert alt["order_shipped_ts"]["required"] == "N"
    oracle = make_api(describe_variant="oracle").get("order_dtl/describe/").json()["fields"]
    assert oracle["ord_qty"]["type"] == "NUMBER"
    assert set(simple["fields"]) == set(next(make_api().sim.records("allocation")))


def test_fields_restricts_output(api):
    rows = api.get("allocation/", fields="id,mod_ts", page_size=3).json()["results"]
    assert rows and all(set(r) == {"id", "mod_ts"} for r in rows)
    assert api.get("allocation/", fields="id,bogus").status_code == 400


def test_detail_and_unknown_entity(api):
    assert api.get("order_hdr/7/").json() == api.sim.get("order_hdr", 7)
    assert api.get("order_hdr/999/").status_code == 404
    assert api.get("nothing/").status_code == 404

"""Filters: every lookup, negation, related __code paths, timestamps, 404 on no match."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest


def ids(api, entity="allocation", **params):
    return [r["id"] for r in api.follow(entity, page_size=1250, **params)]


def all_rows(api, entity):
    return list(api.sim.records(entity))


def test_id_lookups(api):
    assert ids(api, id__gt=295) == [296, 297, 298, 299, 300]
    assert ids(api, id__gte=299) == [299, 300]
    assert ids(api, id__lt=3) == [1, 2]
    assert ids(api, id__lte=2) == [1, 2]
    assert ids(api, id=7) == [7]
    assert ids(api, id__exact=7) == [7]
    assert ids(api, id__in="5,3,9") == [3, 5, 9]
    assert ids(api, id__range="10,13") == [10, 11, 12, 13]
    assert len(ids(api, **{"id__in!": "1,2,3"})) == 297
    assert ids(api, id__lte=4, **{"id__gt!": "2"}) == [1, 2]


def test_string_lookups(api):
    rows = all_rows(api, "order_hdr")
    nbr = rows[4]["order_nbr"]
    assert ids(api, "order_hdr", order_nbr=nbr) == [5]
    assert ids(api, "order_hdr", order_nbr__iexact=nbr) == [5]
    assert ids(api, "order_hdr", cust_name__contains="Customer") == [r["id"] for r in rows]
    assert ids(api, "order_hdr", cust_name__icontains="CUSTOMER 0") == [
        r["id"] for r in rows if "customer 0" in r["cust_name"].lower()
    ]
    assert ids(api, "order_hdr", order_nbr__startswith=nbr[:-1]) == [
        r["id"] for r in rows if r["order_nbr"].startswith(nbr[:-1])
    ]
    assert ids(api, "order_hdr", erp_source_hdr_ref__istartswith="erp-") == [
        r["id"] for r in rows if r["erp_source_hdr_ref"].startswith("ERP-")
    ]
    assert ids(api, "order_hdr", order_nbr__endswith=nbr[-3:]) == [
        r["id"] for r in rows if r["order_nbr"].endswith(nbr[-3:])
    ]
    assert ids(api, "item", code__iendswith="0001") == [1]
    blank = [r["id"] for r in rows if r["erp_source_hdr_ref"] == ""]
    assert blank and ids(api, "order_hdr", erp_source_hdr_ref="") == blank


def test_status_in_negation_isnull_and_decimal(api):
    rows = all_rows(api, "allocation")
    assert ids(api, status_id__in="90,99") == [r["id"] for r in rows if r["status_id"] in (90, 99)]
    assert ids(api, **{"status_id__in!": "90,99"}) == [
        r["id"] for r in rows if r["status_id"] not in (90, 99)
    ]
    assert ids(api, picked_ts__isnull="true") == [r["id"] for r in rows if r["picked_ts"] is None]
    assert ids(api, picked_ts__isnull="false") == [r["id"] for r in rows if r["picked_ts"] is not None]
    assert ids(api, wave_id__isnull="true") == [r["id"] for r in rows if r["wave_id"] is None]
    assert ids(api, alloc_qty__gte="20") == [r["id"] for r in rows if Decimal(r["alloc_qty"]) >= 20]
    assert ids(api, is_picking_flg="true") == [r["id"] for r in rows if r["is_picking_flg"]]


def test_related_code_filters_through_parents(api):
    hdrs = {r["id"]: r for r in all_rows(api, "order_hdr")}
    dtls = {r["id"]: r for r in all_rows(api, "order_dtl")}
    want_hdr = [h for h, r in hdrs.items() if r["facility_id"]["key"] == "DC02"]
    assert ids(api, "order_hdr", facility_id__code="DC02") == want_hdr
    want_dtl = [d for d, r in dtls.items() if r["order_id"]["id"] in want_hdr]
    assert ids(api, "order_dtl", facility_id__code="DC02") == want_dtl
    allocs = all_rows(api, "allocation")
    want_alloc = [a["id"] for a in allocs if a["order_dtl_id"]["id"] in want_dtl]
    assert want_alloc and ids(api, facility_id__code="DC02") == want_alloc
    gnos = [
        a["id"]
        for a in allocs
        if hdrs[dtls[a["order_dtl_id"]["id"]]["order_id"]["id"]]["company_id"]["key"] == "GNOS"
    ]
    assert ids(api, company_id__code="GNOS") == gnos
    assert ids(api, "order_dtl", order_id=3) == [d for d, r in dtls.items() if r["order_id"]["id"] == 3]
    assert ids(api, order_dtl_id__order_id=3) == [
        a["id"] for a in allocs if dtls[a["order_dtl_id"]["id"]]["order_id"]["id"] == 3
    ]


def test_timestamp_lookups_and_offsets(api):
    rows = all_rows(api, "allocation")
    t = rows[99]["mod_ts"]  # -03:00
    cut = datetime.fromisoformat(t)
    utc = cut.astimezone(datetime.fromisoformat("2000-01-01T00:00:00+00:00").tzinfo).isoformat()
    expected = [r["id"] for r in rows if datetime.fromisoformat(r["mod_ts"]) >= cut]
    assert expected[0] == 100
    assert ids(api, mod_ts__gte=t) == expected
    assert ids(api, mod_ts__gte=utc) == expected  # "+00:00" sent as %2B00:00
    raw_plus = api.url(f"{api.sim.api_url}/entity/allocation/?page_size=1250&mod_ts__gte={utc}")
    assert [r["id"] for r in raw_plus.json()["results"]] == expected  # '+' decoded as space: tolerated
    assert ids(api, mod_ts__gte=t[:-6]) == expected  # no offset: facility zone -03:00
    assert ids(api, mod_ts__gt=t) == expected[1:]
    assert ids(api, mod_ts__lt=t) == list(range(1, 100))
    assert ids(api, mod_ts__lte=t) == list(range(1, 101))
    assert ids(api, mod_ts=t) == [100]
    assert ids(api, mod_ts__range=f"{rows[9]['mod_ts']},{t}") == list(range(10, 101))
    c = rows[49]["create_ts"]
    assert ids(api, create_ts__lte=c) == list(range(1, 51))
    day = cut.day
    assert ids(api, mod_ts__day=day, mod_ts__month=cut.month, mod_ts__year=cut.year) == [
        r["id"] for r in rows if datetime.fromisoformat(r["mod_ts"]).date() == cut.date()
    ]
    assert ids(api, mod_ts__hour=cut.hour) == [
        r["id"] for r in rows if datetime.fromisoformat(r["mod_ts"]).hour == cut.hour
    ]
    assert ids(api, mod_ts__minute=cut.minute, id__lte=100)[-1] == 100
    sunday_first = cut.isoweekday() % 7 + 1  # Django's week_day: 1 = Sunday
    assert ids(api, mod_ts__week_day=sunday_first) == [
        r["id"] for r in rows if datetime.fromisoformat(r["mod_ts"]).isoweekday() == cut.isoweekday()
    ]


def test_filter_matching_nothing_is_404_with_error_body(api):
    for mode in ("paged", "sequenced"):
        r = api.get("allocation/", page_mode=mode, mod_ts__gte="2099-01-01T00:00:00+00:00")
        assert r.status_code == 404
        assert set(r.json()) == {"reference", "code", "message", "details"}
    assert api.get("allocation/", status_id=5).status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"nope": "1"},
        {"id__gt": "abc"},
        {"mod_ts__gte": "not-a-date"},
        {"id__range": "1"},
        {"status_id__year": "1"},
    ],
)
def test_bad_filters_are_400_naming_the_parameter(api, params):
    r = api.get("allocation/", **params)
    assert r.status_code == 400
    assert next(iter(params)) in r.json()["details"]


def test_repeated_parameter_last_wins(api):
    r = api.url(f"{api.sim.api_url}/entity/allocation/?id=1&id=2")
    assert [x["id"] for x in r.json()["results"]] == [2]

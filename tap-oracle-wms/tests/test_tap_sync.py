"""Syncs against the simulator over real sockets: modes, filters, describe variants, state."""

from __future__ import annotations

import datetime
import decimal
import json

import pytest

ENTITIES = ("allocation", "order_hdr", "order_dtl")


def expected_rows(sim, entity, utc, properties):
    """The contract's record for every simulator row, computed independently of the tap's code
    (`properties` of the emitted schema tell which fields are foreign keys)."""
    rows = {}
    for raw in sim.records(entity):
        row = {}
        for name, value in raw.items():
            if name.endswith("_set"):
                continue
            if isinstance(value, dict):
                row[name], row[f"{name}_key"] = value["id"], value["key"]
            elif f"{name}_key" in properties:
                row[name], row[f"{name}_key"] = value, None
            elif properties.get(name, {}).get("type", [None])[0] == "number" and isinstance(value, str):
                row[name] = decimal.Decimal(value) if value else None
            elif properties.get(name, {}).get("format") == "date-time" and value:
                row[name] = utc(value)
            else:
                row[name] = value
        rows[raw["id"]] = row
    return rows


def data_requests(sim, entity="allocation", *, probes=False):
    """The data requests of `entity`, without the ordering probes unless `probes`."""
    return [
        r
        for r in sim.requests
        if r.path.endswith(f"/entity/{entity}/") and (probes or not is_ordering_probe(r))
    ]


def is_ordering_probe(request) -> bool:
    """One of the two one-row requests ordered by `id` and `-id` a full sync starts with (`id_extremes`)."""
    return request.query.get("page_size") == "1" and request.query.get("ordering") in ("id", "-id")


@pytest.mark.parametrize("page_mode", ["sequenced", "paged"])
def test_tap_full_sync_matches_simulator_exactly(sim, make_config, run_tap, utc, page_mode):
    run = run_tap(make_config(sim, page_mode=page_mode))
    for entity in ENTITIES:
        expected = expected_rows(sim, entity, utc, run.schema(entity)["schema"]["properties"])
        got = {r["id"]: r for r in run.records(entity)}
        assert len(run.records(entity)) == len(expected)
        assert got.keys() == expected.keys()
        for ident, row in got.items():
            want = expected[ident]
            assert row.keys() == want.keys(), entity
            for name, value in want.items():
                assert row[name] == value, (entity, ident, name)
        state = run.last_state["bookmarks"][entity]
        assert state == {
            "full_sync": None,
            "full_sync_version": None,
            "replication_key": "mod_ts",
            "replication_key_value": max(r["mod_ts"] for r in got.values()),
        }
    requests = data_requests(sim, "allocation")
    if page_mode == "sequenced":
        assert len(requests) == 3  # 300 rows, 100 per page, following next_page
        assert requests[0].query["ordering"] == "mod_ts,id"
        assert "cursor" in requests[1].query
        assert requests[0].query["page_mode"] == "sequenced"
    else:
        # Keyset pages: ordered by id, each after the last id read, until the empty page (a 404).
        assert len(requests) == 4
        assert [r.query["ordering"] for r in requests] == ["id"] * 4
        assert [r.query.get("id__gt") for r in requests] == [None, "100", "200", "300"]
        assert "page" not in requests[1].query and "page_mode" not in requests[0].query


def test_tap_decimals_are_exact_numbers(sim, make_config, run_tap):
    run = run_tap(make_config(sim, entities=["allocation"]))
    served = {r["id"]: r["alloc_qty"] for r in sim.records("allocation")}
    for row in run.records("allocation"):
        assert not isinstance(row["alloc_qty"], str)
        assert row["alloc_qty"] == decimal.Decimal(served[row["id"]])
    assert run.schema("allocation")["schema"]["properties"]["alloc_qty"]["type"] == ["number", "null"]


def test_tap_incremental_filter_syntax_and_lookback(sim, make_config, run_tap):
    config = make_config(
        sim, entities=["allocation"], company_code="GNOS", facility_code="DC01", lookback_seconds=300
    )
    state = {
        "bookmarks": {
            "allocation": {
                "replication_key": "mod_ts",
                "replication_key_value": "2025-02-01T12:00:00.000000-03:00",
            }
        }
    }
    run_tap(config, state=state)
    backdated, first = data_requests(sim, "allocation")[:2]
    # Parsed by the server: a '+' that was not sent as %2B would have become a space. Whole seconds.
    assert first.query["mod_ts__gte"] == "2025-02-01T14:55:00+00:00"
    assert first.query["ordering"] == "mod_ts,id"
    # The backdated-rows walk comes first, from the same bound, by create_ts, of the rows the changes walk
    # cannot see.
    assert backdated.query["create_ts__gte"] == "2025-02-01T14:55:00+00:00"
    assert backdated.query["mod_ts__lt"] == "2025-02-01T14:55:00+00:00"
    assert "mod_ts__gte" not in backdated.query
    assert first.query["company_id__code"] == "GNOS"
    assert first.query["facility_id__code"] == "DC01"
    assert first.query["page_size"] == "100"


def test_tap_start_date_bounds_first_run(sim, make_config, run_tap, utc):
    start = "2025-03-01T00:00:00+00:00"
    run = run_tap(make_config(sim, entities=["allocation"], start_date=start))
    assert data_requests(sim, "allocation")[0].query["mod_ts__gte"] == "2025-03-01T00:00:00+00:00"
    expected = {
        r["id"] for r in sim.records("allocation") if utc(r["mod_ts"]) >= "2025-03-01T00:00:00.000000+00:00"
    }
    assert {r["id"] for r in run.records("allocation")} == expected


def test_tap_second_run_reads_only_lookback_overlap_and_changes(sim, make_config, run_tap, utc):
    config = make_config(sim, entities=["allocation"], lookback_seconds=0)
    first = run_tap(config)
    assert len(first.records("allocation")) == 300
    sim.update("allocation", [5, 17], pick_user="CHANGED")
    new_ids = sim.insert("allocation", 3)
    second = run_tap(config, state=first.last_state)
    got = {r["id"]: r for r in second.records("allocation")}
    # The row at the old bookmark itself (>=) plus the two changed and three new rows.
    assert {5, 17, *new_ids} <= got.keys()
    assert len(got) <= 6
    assert got[5]["pick_user"] == "CHANGED"
    assert got[5]["mod_ts"] == utc(sim.get("allocation", 5)["mod_ts"])


def test_tap_empty_incremental_window_404_is_zero_rows(sim, make_config, run_tap):
    state = {
        "bookmarks": {
            "allocation": {
                "replication_key": "mod_ts",
                "replication_key_value": "2026-01-01T00:00:00.000000+00:00",
            }
        }
    }
    run = run_tap(make_config(sim, entities=["allocation"], lookback_seconds=0), state=state)
    assert run.records("allocation") == []
    assert data_requests(sim, "allocation")[0].status == 404
    assert (
        run.last_state["bookmarks"]["allocation"]["replication_key_value"]
        == "2026-01-01T00:00:00.000000+00:00"
    )


def test_tap_rows_changed_mid_sync_captured_by_same_or_next_run(sim, make_config, run_tap, utc):
    config = make_config(sim, entities=["allocation"], page_size=50)
    changed: list[int] = []

    def change_during_sync(info):
        pages = [r for r in sim.requests if r.path.endswith("/entity/allocation/")]
        if len(pages) == 3 and not changed:  # rows 1..100 (by mod_ts) were read already
            ids = [r["id"] for r in sorted(sim.records("allocation"), key=lambda r: utc(r["mod_ts"]))[:20]]
            sim.update("allocation", ids, pick_user="MIDSYNC")
            changed.extend(ids)
            changed.extend(sim.insert("allocation", 5))

    sim.on_request(change_during_sync)
    first = run_tap(config)
    second = run_tap(config, state=first.last_state)
    latest = {}
    for row in first.records("allocation") + second.records("allocation"):
        if row["id"] not in latest or row["mod_ts"] >= latest[row["id"]]["mod_ts"]:
            latest[row["id"]] = row
    truth = {r["id"]: utc(r["mod_ts"]) for r in sim.records("allocation")}
    assert len(changed) == 25
    assert {i: r["mod_ts"] for i, r in latest.items()} == truth
    assert all(latest[i]["pick_user"] == "MIDSYNC" for i in changed[:20])


def assert_every_state_resumable(run, stream):
    """Each STATE's bookmark is at most the mod_ts of every record emitted after it: a restart from
    any STATE (even with no lookback) reads every row the killed run had not emitted yet."""
    remaining_min = None
    for message in reversed(run.messages):
        if message["type"] == "RECORD" and message["stream"] == stream:
            ts = message["record"]["mod_ts"]
            remaining_min = ts if remaining_min is None or ts < remaining_min else remaining_min
        elif message["type"] == "STATE" and remaining_min is not None:
            value = message["value"]["bookmarks"].get(stream, {}).get("replication_key_value")
            assert value is None or value <= remaining_min, (value, remaining_min)


def test_tap_sorted_sync_every_state_resumable(sim, make_config, run_tap):
    run = run_tap(make_config(sim, entities=["allocation"], page_size=30))
    assert len(run.states) > 5
    assert_every_state_resumable(run, "allocation")


def test_tap_unsorted_sequenced_pages_keep_bookmark_safe(wms_sim_factory, make_config, run_tap, utc):
    # The server ignores `ordering` in sequenced mode: rows come in id order, and the updated rows
    # (new, late mod_ts) come long before rows with older mod_ts.
    sim = wms_sim_factory(sequenced_ordering="ignore")
    sim.update("allocation", [40, 150], pick_user="LATE")
    start_bookmark = "2025-02-01T00:00:00.000000+00:00"
    state = {
        "bookmarks": {"allocation": {"replication_key": "mod_ts", "replication_key_value": start_bookmark}}
    }
    run = run_tap(make_config(sim, entities=["allocation"], lookback_seconds=0, page_size=20), state=state)
    truth = {r["id"]: utc(r["mod_ts"]) for r in sim.records("allocation")}
    expected = {i for i, ts in truth.items() if ts >= start_bookmark}
    assert {r["id"] for r in run.records("allocation")} == expected
    assert_every_state_resumable(run, "allocation")
    interim = [s["bookmarks"]["allocation"].get("replication_key_value") for s in run.states[1:-1]]
    assert interim[-1] == start_bookmark  # after the disorder, the bookmark waits at the start
    assert run.last_state["bookmarks"]["allocation"] == {
        "replication_key": "mod_ts",
        "replication_key_value": max(truth[i] for i in expected),
    }


@pytest.mark.parametrize(
    ("variant", "required_style"),
    [("simple", "bool"), ("alt", "code"), ("oracle", "bool"), ("oracle", "code")],
)
def test_tap_describe_variants_give_the_same_schema_and_records(
    wms_sim_factory, make_config, run_tap, variant, required_style
):
    reference = wms_sim_factory(describe_variant="simple", required_style="bool")
    sim = wms_sim_factory(describe_variant=variant, required_style=required_style)
    want = run_tap(make_config(reference, entities=["allocation"]))
    got = run_tap(make_config(sim, entities=["allocation"]))
    props = got.schema("allocation")["schema"]["properties"]
    assert props["order_dtl_id"] == {"type": ["integer", "null"]}
    assert props["order_dtl_id_key"] == {"type": ["string", "null"]}
    assert props["mod_ts"]["format"] == "date-time"
    assert props["status_id"]["type"][0] == "integer"
    assert props["alloc_qty"]["type"] == ["number", "null"]
    assert props["pick_locn_str"]["type"] == ["string", "null"]  # an unknown type name -> string
    assert got.schema("allocation")["key_properties"] == ["id"]
    assert got.records("allocation") == want.records("allocation")


def test_tap_star_discovers_every_listed_entity(sim, make_config):
    from tap_oracle_wms.tap import TapOracleWMS

    tap = TapOracleWMS(config=make_config(sim, entities=["*"]))
    assert sorted(tap.streams) == ["allocation", "company", "facility", "item", "order_dtl", "order_hdr"]
    catalog = tap.catalog_dict
    hdr = next(s for s in catalog["streams"] if s["tap_stream_id"] == "order_hdr")
    assert "order_dtl_set" not in hdr["schema"]["properties"]
    assert hdr["key_properties"] == ["id"]
    assert hdr["replication_key"] == "mod_ts"


def test_tap_star_sync_fails_on_a_selected_entity_it_cannot_describe(sim, make_config, tap_cli, tmp_path):
    # `["*"]` skips an entity whose describe fails; a sync whose catalog selects it skipped it too, exit 0,
    # so an entity whose describe kept failing was never synced again while every run succeeded.
    from tap_oracle_wms.tap import TapOracleWMS

    config = make_config(sim, entities=["*"], max_retries=0)
    catalog = TapOracleWMS(config=config).catalog_dict
    sim.faults.add(500, path_contains="/entity/item/describe", times=None)
    catalog_file = tmp_path / "catalog.json"
    catalog_file.write_text(json.dumps(catalog))
    result = tap_cli("--catalog", str(catalog_file), config=config)
    assert result.returncode == 1
    assert "Discovery of entity 'item' failed" in result.stderr
    assert "Traceback" not in result.stderr
    for entry in catalog["streams"]:
        if entry["tap_stream_id"] == "item":
            root = next(m for m in entry["metadata"] if m["breadcrumb"] == [])
            root["metadata"]["selected"] = False
    catalog_file.write_text(json.dumps(catalog))
    result = tap_cli("--catalog", str(catalog_file), config=config)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Entity 'item' skipped: its describe failed" in result.stderr


def test_tap_an_entity_list_in_paged_form_is_read_to_its_last_page(wms_sim_factory, make_config):
    # The list's form is unconfirmed; in paged form only its first page was read: `["*"]` silently left
    # out the entities of the later pages, and naming one of them failed as "not listed".
    from tap_oracle_wms.tap import TapOracleWMS

    sim = wms_sim_factory(entity_list_page_size=4)
    tap = TapOracleWMS(config=make_config(sim, entities=["*"]))
    assert sorted(tap.streams) == ["allocation", "company", "facility", "item", "order_dtl", "order_hdr"]
    tap = TapOracleWMS(config=make_config(sim, entities=["item"]))
    assert list(tap.streams) == ["item"]
    listing = [r for r in sim.requests if r.path.endswith("/entity/")]
    assert [r.query.get("page") for r in listing] == [None, "2", None, "2"]


def test_tap_unknown_entity_named_in_settings_fails_clearly(sim, make_config):
    from singer_sdk.exceptions import FatalAPIError
    from tap_oracle_wms.tap import TapOracleWMS

    with pytest.raises(FatalAPIError, match=r"Setting 'entities' names \['nope'\]"):
        TapOracleWMS(config=make_config(sim, entities=["allocation", "nope"]))


def test_tap_oauth2_token_cached_and_refreshed(wms_sim_factory, make_config, run_tap):
    sim = wms_sim_factory(token_ttl=3600)
    config = make_config(
        sim,
        entities=["order_hdr"],
        auth_method="oauth2",
        oauth_token_url=sim.token_url,
        oauth_client_id=sim.client_id,
        oauth_client_secret=sim.client_secret,
        oauth_scope="urn:resource:fusion:scm:logistics:wms:lgfapi/",
    )
    run = run_tap(config)
    assert len(run.records("order_hdr")) == sim.count("order_hdr")
    token_requests = [r for r in sim.requests if r.path.endswith("/oauth2/v1/token")]
    assert len(token_requests) == 1
    assert all(
        r.headers.get("Authorization", "").startswith("Bearer ") for r in sim.requests if "/entity/" in r.path
    )


def test_tap_oauth2_token_refreshed_before_expiry(wms_sim_factory):
    import time

    from tap_oracle_wms.auth import OAuth2TokenAuth
    from tap_oracle_wms.http import make_session

    sim = wms_sim_factory(token_ttl=1.0)
    auth = OAuth2TokenAuth(
        token_url=sim.token_url,
        client_id=sim.client_id,
        client_secret=sim.client_secret,
        scope=None,
        username=sim.username,
        password=sim.password,
        session=make_session({}),
        timeout=5,
    )
    first = auth.token()
    assert auth.token() == first
    time.sleep(1.0)  # the token's whole lifetime: it must have been replaced before use
    assert auth.token() != first
    assert auth.fetch_count == 2
    assert sim.password not in repr(auth) and sim.client_secret not in repr(auth)


def test_tap_start_date_offset_filter_is_utc(sim, make_config, run_tap):
    run_tap(make_config(sim, entities=["order_hdr"], start_date="2025-03-01T00:00:00-03:00"))
    value = data_requests(sim, "order_hdr")[0].query["mod_ts__gte"]
    assert datetime.datetime.fromisoformat(value) == datetime.datetime(
        2025, 3, 1, 3, tzinfo=datetime.timezone.utc
    )


@pytest.mark.parametrize("page_mode", ["sequenced", "paged"])
def test_tap_progress_lines_give_rate_share_and_time_left(
    sim, make_config, run_tap, caplog, monkeypatch, page_mode
):
    # Progress lines (every 30 s; here at every page): records, rate, and the share of the walk's rows
    # read, from paged mode's result_count or, in sequenced mode, one count request per walk.
    import logging

    import tap_oracle_wms.streams

    monkeypatch.setattr(tap_oracle_wms.streams, "PROGRESS_INTERVAL_SECONDS", 0.0)
    with caplog.at_level(logging.INFO):
        run_tap(make_config(sim, entities=["allocation"], page_mode=page_mode))
    lines = [r.message for r in caplog.records if "records/s" in r.message]
    assert "100 records in 1 pages" in lines[0] and "33% of 300" in lines[0] and "s left" in lines[0]
    assert "finished, 300 records in" in lines[-1]
    counts = [r for r in data_requests(sim, "allocation") if r.query.get("page_size") == "1"]
    assert len(counts) == (1 if page_mode == "sequenced" else 0)

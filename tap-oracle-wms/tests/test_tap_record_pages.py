"""Record mode page by page (`EntityStream._sync_record_pages`) against the SDK's record loop: same bytes."""

from __future__ import annotations

import re

import pytest
from tap_oracle_wms.streams import EntityStream
from tap_oracle_wms.tap import TapOracleWMS

# `time_extracted` (the moment a page was decoded) and the signpost (the moment the run started) differ
# between two runs; everything else must be the same bytes.
_MOMENTS = re.compile(rb'"(time_extracted|replication_key_signpost)":"[^"]*"')


def sync_stdout(
    stdout_bytes, monkeypatch, config, *, pages, state=None, catalog=None, frequency=None
) -> bytes:
    """What an in-process sync with the tap's own writer writes to stdout (moments blanked); `pages`:
    whether the page-by-page loop may run (False: the SDK's record loop, lines written one by one)."""
    out = stdout_bytes()
    paged: list[str] = []
    if pages:
        original = EntityStream._sync_record_pages

        def spy(self):
            paged.append(self.name)
            return original(self)

        monkeypatch.setattr(EntityStream, "_sync_record_pages", spy)
    else:
        monkeypatch.setattr(EntityStream, "_pages_suffice", lambda self, context: False)
    tap = TapOracleWMS(config=config, state=state, catalog=catalog)
    if frequency:
        for stream in tap.streams.values():
            stream.STATE_MSG_FREQUENCY = frequency
    tap.sync_all()
    monkeypatch.undo()
    assert paged == (list(tap.streams) if pages else [])
    return _MOMENTS.sub(rb'"\1":"-"', out.getvalue())


@pytest.mark.parametrize("frequency", [None, 37, 250])
def test_tap_record_pages_write_the_sdk_loops_bytes(sim, make_config, stdout_bytes, monkeypatch, frequency):
    # STATE after every page (the default), after runs that split pages (37), after several pages (250).
    config = make_config(sim, entities=["allocation", "order_hdr"], page_size=100)
    expected = sync_stdout(stdout_bytes, monkeypatch, config, pages=False, frequency=frequency)
    got = sync_stdout(stdout_bytes, monkeypatch, config, pages=True, frequency=frequency)
    assert got == expected
    assert got.count(b'"type":"RECORD"') == len(list(sim.records("allocation"))) + len(
        list(sim.records("order_hdr"))
    )
    # A STATE after every `frequency` records of a stream (page_size, 100, when None) and at its end.
    states = got.count(b'"type":"STATE"')
    assert states >= 330 // (frequency or 100), states


def test_tap_record_pages_from_a_bookmark_with_deselected_properties(
    sim, make_config, stdout_bytes, monkeypatch
):
    config = make_config(sim, entities=["allocation"], page_size=40, lookback_seconds=0)
    state = {
        "bookmarks": {
            "allocation": {
                "replication_key": "mod_ts",
                "replication_key_value": "2025-02-01T00:00:00.000000+00:00",
            }
        }
    }
    catalog = TapOracleWMS(config=config).catalog_dict
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == ["properties", "pick_user"]:
                item["metadata"]["selected"] = False
    expected = sync_stdout(
        stdout_bytes, monkeypatch, config, pages=False, state=state, catalog=catalog, frequency=30
    )
    got = sync_stdout(
        stdout_bytes, monkeypatch, config, pages=True, state=state, catalog=catalog, frequency=30
    )
    assert got == expected
    assert b'"pick_user"' not in got
    assert b'"type":"RECORD"' in got


def test_tap_record_pages_unsorted_rows_keep_the_same_states(
    wms_sim_factory, make_config, stdout_bytes, monkeypatch
):
    # The server ignores `ordering`: the bookmark goes back to the run's start at the first row out of order.
    sim = wms_sim_factory(sequenced_ordering="ignore")
    sim.update("allocation", [40, 150], pick_user="LATE")
    config = make_config(sim, entities=["allocation"], page_size=20)
    expected = sync_stdout(stdout_bytes, monkeypatch, config, pages=False, frequency=15)
    got = sync_stdout(stdout_bytes, monkeypatch, config, pages=True, frequency=15)
    assert got == expected
    assert b"Rows arrived unsorted" in got

"""Rendering: msgspec's encoder serves the JSON the stdlib encoder served; generated rows stay the same."""

from __future__ import annotations

import hashlib
import json

import pytest
import requests
from wms_simulator import WmsSimulator
from wms_simulator.data import ENTITIES
from wms_simulator.server import dumps

# The encoder the simulator used before msgspec (compact, UTF-8, no circular check).
STDLIB = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False)
ODD_TEXT = 'São João \u2013 東京 ✓ \u2028 "quoted" back\\slash tab\t nl\n nul\x00 \x1f'


@pytest.mark.parametrize("mode", ["sequenced", "paged"])
def test_every_entity_page_encodes_as_the_stdlib_encoder_did(wms_sim_factory, mode):
    sim = wms_sim_factory(anomaly_rate=0.2)
    sim.update("order_hdr", [3, 4], cust_name=ODD_TEXT, erp_source_hdr_ref="")
    sim.update("item", [1], description=ODD_TEXT)
    sim.update("allocation", [7], pick_locn_str=ODD_TEXT, status_id=99)
    anomalies = set(sim.anomaly_ids())
    session = requests.Session()
    session.auth = (sim.username, sim.password)
    params = {"page_size": "1250", "page_mode": mode}
    for entity in ENTITIES:
        page = sim._page(entity, f"/prod/wms/lgfapi/v10/entity/{entity}/", params)
        new, old = dumps(page), STDLIB.encode(page).encode()
        assert json.loads(new) == json.loads(old)
        assert new == old
        served = session.get(f"{sim.api_url}/entity/{entity}/", params=params, timeout=10)
        assert served.status_code == 200 and served.content == new
        rows = json.loads(new)["results"]
        if entity == "allocation":
            assert anomalies and anomalies <= {r["id"] for r in rows}
            assert [r["pick_locn_str"] for r in rows if r["id"] == 7] == [ODD_TEXT]
        if entity == "order_hdr":
            assert [r["cust_name"] for r in rows if r["id"] in (3, 4)] == [ODD_TEXT, ODD_TEXT]
    for body in ({"x": ODD_TEXT, "n": [1, -(2**63), 2**64 - 1, True, None]}, {}):
        assert dumps(body) == STDLIB.encode(body).encode()


def test_error_bodies_decode_as_before(api):
    r = api.get("allocation/", page_size=0)
    assert r.status_code == 400
    assert json.loads(r.content) == json.loads(STDLIB.encode(r.json()))


def test_generated_rows_are_unchanged_by_the_faster_generators():
    """Digest of every entity's rows, taken from the generators before they were optimised."""
    sim = WmsSimulator(
        seed=5, sizes={"allocation": 4000, "order_dtl": 1000, "order_hdr": 200, "item": 50}, anomaly_rate=0.05
    )
    digest = hashlib.sha256()
    for entity in ENTITIES:
        for row in sim.records(entity):
            digest.update(json.dumps(row, sort_keys=True, ensure_ascii=True).encode())
    assert digest.hexdigest() == "43533b83ab610c3fa924d174b973a7d82f77222bf0af7ab563e7f8583c8c895a"

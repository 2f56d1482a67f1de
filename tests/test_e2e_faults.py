"""WMS faults during a `meltano run` (429, 5xx, connection resets, truncated bodies): identical results."""

from __future__ import annotations

import pytest

from tests.pipeline import ENTITIES, Pipeline, Simulator
from tests.warehouse import differences, load_tables

pytestmark = pytest.mark.e2e

# Short retries (at most 1 s apart; the default of up to 60 s is for a real tenant), set the way a user
# would: through the documented variables.
FAST_RETRIES = {
    "TAP_ORACLE_WMS_BACKOFF_BASE_SECONDS": "1",
    "TAP_ORACLE_WMS_BACKOFF_MAX_SECONDS": "1",
    "TAP_ORACLE_WMS_PAGE_SIZE": "50",
}


def test_run_through_faults_loads_the_same_data(pipeline: Pipeline, sim: Simulator) -> None:
    pipeline.extra_env.update(FAST_RETRIES)
    sim.fault(429, retry_after=1, times=2, path_contains="entity/allocation", after_requests=2)
    sim.fault(500, times=1, path_contains="entity/allocation", after_requests=4)
    sim.fault(502, times=1, path_contains="entity/order_dtl")
    sim.fault(503, times=1, path_contains="entity/order_hdr")
    sim.fault(504, times=1, path_contains="entity/allocation", after_requests=6)
    sim.fault("reset", times=2, path_contains="entity/allocation", after_requests=3)
    sim.fault("truncate", times=1, path_contains="entity/order_dtl", after_requests=1)

    pipeline.run()

    records = {entity: sim.records(entity) for entity in ENTITIES}
    tables = load_tables(pipeline.duckdb_path)
    for entity in ENTITIES:
        assert differences(entity, records[entity], tables) == [], entity
    statuses = [request["status"] for request in sim.requests()]
    for status in (429, 500, 502, 503, 504):
        assert status in statuses, f"fault {status} never fired: the test proved nothing about it"

"""Benchmark inputs, made once and reused: a simulator of n allocation rows, and the tap's output of it.

The mapper and target suites read the same file the tap wrote from the simulator, so every stage is
measured on the records a real run would hand it (about 900 bytes per allocation record).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.harness import DATA, DEV_BIN, WORK, count_messages
from tests.pipeline import SIM_PASSWORD, SIM_USERNAME, Simulator, simulator

SEED = 42
# Quarantine must have work to do, as on a real tenant, but stay a small share of the rows.
ANOMALY_RATE = 0.005


@contextmanager
def allocation_simulator(rows: int) -> Iterator[Simulator]:
    """A `wms-simulator` process serving `rows` allocation rows (order_hdr/order_dtl sized to match)."""
    WORK.mkdir(parents=True, exist_ok=True)
    with simulator(
        seed=SEED,
        allocation=rows,
        order_hdr=max(rows // 10, 1),
        order_dtl=max(rows // 2, 1),
        anomaly_rate=ANOMALY_RATE,
        log=WORK / f"simulator-{rows}.log",
    ) as sim:
        yield sim


def tap_config(base_url: str, path: Path, **extra: object) -> Path:
    """A tap config file for the benchmark simulator (allocation only, the API's largest page)."""
    config = {
        "base_url": base_url,
        "username": SIM_USERNAME,
        "password": SIM_PASSWORD,
        "entities": ["allocation"],
        "page_size": 1250,
        **extra,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config))
    return path


def singer_allocation(rows: int) -> Path:
    """The tap's output for `rows` allocation rows (SCHEMA, RECORDs, STATEs), made once in .bench/data/."""
    out = DATA / f"allocation-{rows}.singer.jsonl"
    if out.exists() and out.with_suffix(".ok").exists():
        return out
    DATA.mkdir(parents=True, exist_ok=True)
    with allocation_simulator(rows) as sim:
        config = tap_config(sim.base_url, WORK / f"tap-input-{rows}.json")
        with open(out, "wb") as fout, open(WORK / f"tap-input-{rows}.log", "wb") as ferr:
            subprocess.run(
                [str(DEV_BIN / "tap-oracle-wms"), "--config", str(config)],
                stdout=fout,
                stderr=ferr,
                check=True,
            )
    got = count_messages(out)
    if got != rows:
        raise RuntimeError(f"{out}: expected {rows} RECORD messages, found {got}")
    out.with_suffix(".ok").write_text(str(rows))
    return out

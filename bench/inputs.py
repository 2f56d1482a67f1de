"""Benchmark inputs, made once and reused: a simulator of n allocation rows, and the tap's output of it.

The mapper and target suites read the same file the tap wrote from the simulator, so every stage is
measured on the records a real run would hand it (about 900 bytes per allocation record).
"""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec
import requests

from bench.harness import DATA, DEV_BIN, WORK, count_messages
from tests.pipeline import SIM_PASSWORD, SIM_USERNAME, Simulator, simulator

SEED = 42
# Quarantine must have work to do, as on a real tenant, but stay a small share of the rows.
ANOMALY_RATE = 0.005


# The tap's first request of a full sync (tap-oracle-wms `base_params`: page_size, page_mode, ordering, in
# that order): the warm-up asks exactly this, so the `next_page` links stored with each page are the ones
# an uncached simulator would give the tap.
TAP_FIRST_QUERY = "page_size=1250&page_mode=sequenced&ordering=mod_ts,id"
# An encoded allocation row is about 1.1 KB (1.4 MB per 1,250-row page); 1.2 KB, a quarter more, and
# 16 MB keep every page of the table with room to spare.
CACHE_BYTES_PER_ROW = 1.2 * 1024 * 1.25
CACHE_SPARE_MB = 16


class _Page(msgspec.Struct):
    """What the warm-up reads of a page: the link and how many rows (the rows stay undecoded)."""

    results: list[msgspec.Raw]
    next_page: str | None = None


_PAGE = msgspec.json.Decoder(_Page)


@contextmanager
def allocation_simulator(rows: int, warm: bool = False, latency: float = 0.0) -> Iterator[Simulator]:
    """A `wms-simulator` process serving `rows` allocation rows (order_hdr/order_dtl sized to match).

    `warm=True` starts it with a page cache large enough for every allocation page and fetches each page
    once before yielding (`warm_allocation_pages`), so the tap's sync is answered from the cache and a
    benchmark measures the client rather than the simulator's rendering (a real tenant renders pages on
    its own servers). The default starts it without a cache, as before. `latency` > 0: every request is
    answered after that many seconds, as a tenant's servers answer (bench.partitions).
    """
    WORK.mkdir(parents=True, exist_ok=True)
    page_cache_mb = math.ceil(rows * CACHE_BYTES_PER_ROW / 2**20) + CACHE_SPARE_MB if warm else 0
    with simulator(
        seed=SEED,
        allocation=rows,
        order_hdr=max(rows // 10, 1),
        order_dtl=max(rows // 2, 1),
        anomaly_rate=ANOMALY_RATE,
        log=WORK / f"simulator-{rows}.log",
        page_cache_mb=page_cache_mb,
        latency=latency,
    ) as sim:
        if warm:
            warm_allocation_pages(sim, rows)
        yield sim


def warm_allocation_pages(sim: Simulator, rows: int) -> dict:
    """Fetch every allocation page once with the tap's first query, following `next_page` as served.

    Checks that `rows` rows came back and that the cache kept every page (none dropped for lack of
    budget); returns the cache's statistics.
    """
    url: str | None = f"{sim.base_url}/wms/lgfapi/v10/entity/allocation/?{TAP_FIRST_QUERY}"
    got = pages = 0
    with requests.Session() as session:
        session.auth = (SIM_USERNAME, SIM_PASSWORD)
        while url:
            response = session.get(url, timeout=600)
            response.raise_for_status()
            page = _PAGE.decode(response.content)
            got += len(page.results)
            pages += 1
            url = page.next_page
        stats = session.get(f"{sim.base_url}/__sim__/page_cache", timeout=60).json()
    if got != rows:
        raise RuntimeError(f"warming the simulator: expected {rows} allocation rows, fetched {got}")
    if stats["entries"] != pages:
        raise RuntimeError(f"warming the simulator: {pages} pages fetched, the cache kept {stats['entries']}")
    return stats


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

"""pytest fixtures for the WMS simulator (registered as a `pytest11` entry point).

`wms_sim` is a started simulator with small tables (fast to sync end to end); `wms_sim_factory`
starts simulators with any constructor arguments. Both are stopped after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from .server import WmsSimulator

SMALL_SIZES = {"allocation": 300, "order_dtl": 120, "order_hdr": 30, "item": 40}


@pytest.fixture
def wms_sim_factory() -> Iterator[Callable[..., WmsSimulator]]:
    """Call with WmsSimulator's keyword arguments; returns a started simulator."""
    started: list[WmsSimulator] = []

    def make(**kwargs: object) -> WmsSimulator:
        kwargs.setdefault("sizes", dict(SMALL_SIZES))
        sim = WmsSimulator(**kwargs).start()  # type: ignore[arg-type]
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def wms_sim(wms_sim_factory: Callable[..., WmsSimulator]) -> WmsSimulator:
    """A started simulator: seed 42, user `wms` / `wms-secret`, environment `prod`, small tables."""
    return wms_sim_factory()

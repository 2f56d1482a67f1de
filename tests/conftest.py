"""Fixtures of the end-to-end tests: one `meltano install` per session, a simulator process per test group."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.pipeline import (
    SIM_ANOMALY_RATE,
    SIM_SEED,
    SIM_SIZES,
    Pipeline,
    Simulator,
    meltano_install,
    simulator,
)


@pytest.fixture(scope="session")
def meltano_installed(tmp_path_factory: pytest.TempPathFactory) -> None:
    """`meltano install` once for the whole run: the plugins (editable, from this repo) and dbt."""
    meltano_install(log=tmp_path_factory.mktemp("meltano-install") / "install.log")


@pytest.fixture(scope="module")
def start_simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], Simulator]]:
    """Start a fresh simulator (same seed and sizes every time) on a free port; all stop with the module."""
    with ExitStack() as stack:

        def start() -> Simulator:
            log = tmp_path_factory.mktemp("simulator") / "simulator.log"
            return stack.enter_context(
                simulator(seed=SIM_SEED, anomaly_rate=SIM_ANOMALY_RATE, log=log, **SIM_SIZES)
            )

        yield start


@pytest.fixture
def sim(start_simulator: Callable[[], Simulator]) -> Simulator:
    return start_simulator()


@pytest.fixture
def pipeline(meltano_installed: None, sim: Simulator, tmp_path: Path) -> Pipeline:
    """The Meltano project on environment `local`, pointed at `sim` and a DuckDB file of this test."""
    return Pipeline(workdir=tmp_path / "pipeline", base_url=sim.base_url)

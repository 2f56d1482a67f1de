"""Shared helpers for the simulator's own tests (HTTP over real sockets with requests)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests


class Api:
    """A requests session against one simulator's entity API."""

    def __init__(self, sim) -> None:
        self.sim = sim
        self.session = requests.Session()
        self.session.auth = (sim.username, sim.password)

    def get(self, path: str = "", **params):
        return self.session.get(f"{self.sim.api_url}/entity/{path}", params=params, timeout=10)

    def url(self, url: str):
        return self.session.get(url, timeout=10)

    def follow(self, entity: str, **params) -> list[dict]:
        """Every row, following next_page until null."""
        r = self.get(f"{entity}/", **params)
        assert r.status_code == 200, r.text
        rows = []
        while True:
            body = r.json()
            rows += body["results"]
            if not body["next_page"]:
                return rows
            r = self.url(body["next_page"])
            assert r.status_code == 200, r.text


@pytest.fixture
def api(wms_sim) -> Api:
    return Api(wms_sim)


@pytest.fixture
def make_api(wms_sim_factory):
    def make(**kwargs) -> Api:
        return Api(wms_sim_factory(**kwargs))

    return make


@pytest.fixture
def simulator_process():
    """Start `python -m wms_simulator ARGS`, return its base URL; at teardown SIGTERM must end it with 0."""
    procs: list[subprocess.Popen] = []

    def start(*args: str) -> str:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wms_simulator", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        assert proc.stdout is not None
        return proc.stdout.readline().strip()

    yield start
    for proc in procs:
        proc.terminate()
        assert proc.wait(timeout=10) == 0

"""Helpers for the tap's tests: run the tap in-process or as its CLI against a simulator."""

from __future__ import annotations

import decimal
import io
import json
import os
import signal
import subprocess
import sys
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from singer_sdk.contrib.msgspec import MsgSpecWriter
from tap_oracle_wms.tap import TapOracleWMS

# Retries in tests: real backoff, but short.
FAST_RETRIES = {"backoff_base_seconds": 0.05, "backoff_max_seconds": 0.2}


def _sim_config(sim: t.Any, **overrides: t.Any) -> dict[str, t.Any]:
    """Tap settings for a simulator (basic auth, small pages, fast retries)."""
    return {
        "base_url": sim.base_url,
        "username": sim.username,
        "password": sim.password,
        "page_size": 100,
        **FAST_RETRIES,
        **overrides,
    }


@dataclass
class Run:
    """Messages one tap run wrote, decoded as a target would (decimals exact)."""

    messages: list[dict] = field(default_factory=list)
    # The tap that ran (its streams hold what the run left in them).
    tap: t.Any = None

    def records(self, stream: str) -> list[dict]:
        return [m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream]

    @property
    def states(self) -> list[dict]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def last_state(self) -> dict:
        return self.states[-1]

    def schema(self, stream: str) -> dict:
        return next(m for m in self.messages if m["type"] == "SCHEMA" and m["stream"] == stream)


class CollectingWriter(MsgSpecWriter):
    """The tap's real writer, encoding each message and decoding it back into `run`."""

    def __init__(self, run: Run) -> None:
        super().__init__()
        self.run = run

    def write_message(self, message: t.Any) -> None:
        line = bytes(self.format_message(message))
        self.run.messages.append(json.loads(line, parse_float=decimal.Decimal))


def _run_tap(config: dict, state: dict | None = None, catalog: dict | None = None) -> Run:
    """Discover and sync in-process; returns the messages."""
    run = Run()
    tap = TapOracleWMS(config=config, state=state, catalog=catalog, message_writer=CollectingWriter(run))
    run.tap = tap
    tap.sync_all()
    return run


def _tap_cli(*args: str, config: dict, tmp_path: Path, env: dict | None = None, **kwargs: t.Any) -> t.Any:
    """`tap-oracle-wms --config <file> *args` as a subprocess (completed, unless Popen is asked)."""
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    command = [sys.executable, "-m", "tap_oracle_wms.tap", "--config", str(config_file), *args]
    full_env = {**os.environ, **(env or {})}
    if kwargs.pop("popen", False):
        return subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, **kwargs
        )
    return subprocess.run(command, capture_output=True, text=True, env=full_env, timeout=120, **kwargs)


def _kill_after_states(process: subprocess.Popen, states: int) -> list[dict]:
    """Read a running tap's messages until its `states`-th STATE, then SIGKILL it; the messages read."""
    read: list[dict] = []
    try:
        for line in process.stdout:  # type: ignore[union-attr]
            read.append(json.loads(line))
            if read[-1]["type"] == "STATE" and sum(m["type"] == "STATE" for m in read) == states:
                os.kill(process.pid, signal.SIGKILL)
                break
    finally:
        process.stdout.close()  # type: ignore[union-attr]
        process.stderr.close()  # type: ignore[union-attr]
        process.wait(timeout=30)
    return read


def _utc(ts: str) -> str:
    """The contract's UTC form of an API timestamp (independent of the tap's code)."""
    import datetime

    return (
        datetime.datetime.fromisoformat(ts)
        .astimezone(datetime.timezone.utc)
        .strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    )


@pytest.fixture
def sim(wms_sim_factory: t.Callable[..., t.Any]) -> t.Any:
    """A small simulator (the repo's fixture) for one test."""
    return wms_sim_factory()


@pytest.fixture
def make_config() -> t.Callable[..., dict]:
    """`make_config(sim, **overrides)`: tap settings for a simulator."""
    return _sim_config


@pytest.fixture
def run_tap() -> t.Callable[..., Run]:
    """`run_tap(config, state=None, catalog=None)`: discover and sync in-process."""
    return _run_tap


@pytest.fixture
def tap_cli(tmp_path: Path) -> t.Callable[..., t.Any]:
    """`tap_cli(*args, config=..., env=None, popen=False)`: the tap's CLI as a subprocess."""

    def call(*args: str, config: dict, **kwargs: t.Any) -> t.Any:
        return _tap_cli(*args, config=config, tmp_path=tmp_path, **kwargs)

    return call


@pytest.fixture
def utc() -> t.Callable[[str], str]:
    """`utc(ts)`: the contract's UTC text for an API timestamp."""
    return _utc


@pytest.fixture
def kill_after_states() -> t.Callable[[subprocess.Popen, int], list[dict]]:
    """`kill_after_states(process, n)`: read a tap's messages up to its n-th STATE, then SIGKILL it."""
    return _kill_after_states


@pytest.fixture
def stdout_bytes(monkeypatch):
    """Call it in the test (pytest's capture replaces sys.stdout after fixtures): what writers write then."""

    def install() -> io.BytesIO:
        out = io.BytesIO()

        class FakeStdout:
            buffer = out

            def flush(self):
                pass

        monkeypatch.setattr(sys, "stdout", FakeStdout())
        return out

    return install

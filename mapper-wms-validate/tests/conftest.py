"""Shared fixtures for mapper-wms-validate tests: Singer message builders and a real-CLI runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t
from dataclasses import dataclass
from pathlib import Path

import pytest

ALLOCATION_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "mod_ts": {"type": ["string", "null"], "format": "date-time"},
        "alloc_qty": {"type": ["number", "null"]},
        "packed_qty": {"type": ["number", "null"]},
        "status_id": {"type": ["integer", "null"]},
        "order_dtl_id": {"type": ["integer", "null"]},
        "order_dtl_id_key": {"type": ["string", "null"]},
    },
}


@dataclass
class MapperRun:
    """What one CLI run produced."""

    returncode: int
    messages: list[dict]
    stdout: str
    stderr: str

    def of(self, kind: str, stream: str | None = None) -> list[dict]:
        """Output messages of one type (and stream)."""
        return [
            m for m in self.messages if m["type"] == kind and (stream is None or m.get("stream") == stream)
        ]

    def records(self, stream: str) -> list[dict]:
        """The `record` payloads of one output stream."""
        return [m["record"] for m in self.of("RECORD", stream)]

    def metrics(self) -> list[dict]:
        """The SDK METRIC points logged to stderr."""
        points = []
        for line in self.stderr.splitlines():
            if "METRIC: " in line:
                points.append(json.loads(line.split("METRIC: ", 1)[1]))
        return points

    def outcome(self, stream: str, outcome: str, rule: str | None = None) -> int:
        """One counter from the end-of-run metrics (0 when not logged)."""
        for p in self.metrics():
            tags = p["tags"]
            if tags.get("stream") == stream and tags.get("outcome") == outcome and tags.get("rule") == rule:
                return p["value"]
        return 0


@pytest.fixture
def allocation_schema() -> dict:
    """The SCHEMA message of an allocation stream shaped like the tap's (data contract section 2)."""
    return {"type": "SCHEMA", "stream": "allocation", "schema": ALLOCATION_SCHEMA, "key_properties": ["id"]}


@pytest.fixture
def make_allocation() -> t.Callable[..., dict]:
    """Build a valid allocation RECORD message; keyword arguments override record fields."""

    def make(record_id: int = 1, **fields: t.Any) -> dict:
        record = {
            "id": record_id,
            "mod_ts": "2025-01-01T00:00:00.000000+00:00",
            "alloc_qty": 5,
            "packed_qty": 2,
            "status_id": 10,
            "order_dtl_id": 7,
            "order_dtl_id_key": "ODL-7",
        }
        record.update(fields)
        return {"type": "RECORD", "stream": "allocation", "record": record}

    return make


@pytest.fixture
def run_mapper(tmp_path: Path) -> t.Callable[..., MapperRun]:
    """Run the real `mapper-wms-validate` CLI: config file, stdin from messages/lines, stdout parsed."""

    def run(config: dict | None, messages: t.Iterable[dict | str], env: dict | None = None) -> MapperRun:
        config_path = tmp_path / "config.json"
        config_path.write_text(json.dumps(config or {}))
        input_path = tmp_path / "input.jsonl"
        with input_path.open("w") as fh:
            for m in messages:
                fh.write((m if isinstance(m, str) else json.dumps(m)) + "\n")
        exe = Path(sys.executable).parent / "mapper-wms-validate"
        with input_path.open("rb") as stdin:
            proc = subprocess.run(
                [str(exe), "--config", str(config_path)],
                stdin=stdin,
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})},
                check=False,
                timeout=120,
            )
        parsed = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
        return MapperRun(proc.returncode, parsed, proc.stdout, proc.stderr)

    return run

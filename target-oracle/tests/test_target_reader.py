"""The reader: compact RECORD lines taken in runs, chunk by chunk, with everything else in order."""

from __future__ import annotations

import io
import json
import logging

import pytest
from target_oracle.target import FastReader, TargetOracle

PROPS = {"id": {"type": "integer"}, "name": {"type": ["string", "null"]}}


def _compact(message: dict) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def _messages(sg) -> list[dict]:
    """Two streams, STATEs between records, a record holding a long number (decoded on its own)."""
    messages = [sg.schema("a", PROPS), sg.schema("b", PROPS)]
    for i in range(40):
        messages.append(sg.record("a", {"id": i, "name": "1234567890123456789" if i == 17 else f"a{i}"}))
        if i % 7 == 3:
            messages.append(sg.record("b", {"id": i, "name": f"b{i}"}))
        if i % 11 == 10:
            messages.append({"type": "STATE", "value": {"bookmarks": {"a": {"last": i}}}})
    messages.append({"type": "STATE", "value": {"bookmarks": {"a": {"last": 39}}}})
    return messages


@pytest.mark.parametrize("chunk", [1 << 20, 97, 2000])
def test_compact_record_lines_in_chunks_land_like_line_by_line(
    sg, backend, chunk, monkeypatch, capsys, caplog
):
    """Chunks ending mid-line, runs split by `batch_size_rows` (a drain every 3 records of a stream), a
    spaced RECORD line and a last line without newline: the same rows, drains and STATE as line by line."""
    monkeypatch.setattr(FastReader, "CHUNK", chunk)
    caplog.set_level(logging.INFO)
    messages = _messages(sg)
    data = b"".join(_compact(m) for m in messages[:-2])
    data += json.dumps(messages[-2]).encode() + b"\n" + _compact(messages[-1]).rstrip(b"\n")
    TargetOracle(config=backend.config(batch_size_rows=3)).listen(file_input=io.BytesIO(data))

    expected_a = [(i, "1234567890123456789" if i == 17 else f"a{i}") for i in range(40)]
    assert backend.rows("a", '"ID", "NAME"') == expected_a
    assert backend.rows("b", '"ID", "NAME"') == [(i, f"b{i}") for i in range(40) if i % 7 == 3]
    states = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert states[-1] == {"bookmarks": {"a": {"last": 39}}}
    full_a = [r for r in caplog.messages if r.startswith("Target sink for 'a' is full")]
    assert len(full_a) == 40 // 3
    assert all("Current size is '3'" in r for r in full_a)


def test_runs_between_states_are_found_in_a_chunk(sg, backend, monkeypatch, capsys, caplog):
    """Chunks holding a STATE among many records: the records around it land in runs, the STATE after the
    ones before it, and `batch_size_rows` still drains every 100 records."""
    monkeypatch.setattr(FastReader, "CHUNK", 4000)
    caplog.set_level(logging.INFO)
    messages = [sg.schema("a", PROPS)]
    for i in range(300):
        messages.append(sg.record("a", {"id": i, "name": f"a{i}"}))
        if i % 60 == 59:
            messages.append({"type": "STATE", "value": {"bookmarks": {"a": {"last": i}}}})
    data = b"".join(_compact(m) for m in messages)
    TargetOracle(config=backend.config(batch_size_rows=100)).listen(file_input=io.BytesIO(data))

    assert backend.rows("a", '"ID", "NAME"') == [(i, f"a{i}") for i in range(300)]
    states = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert states[-1] == {"bookmarks": {"a": {"last": 299}}}
    full = [r for r in caplog.messages if r.startswith("Target sink for 'a' is full")]
    assert full == ["Target sink for 'a' is full. Current size is '100'. Draining..."] * 3

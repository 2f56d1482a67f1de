"""STATE keeps moving: a STATE is written as soon as every record before it, in every sink (quarantine
streams included), is committed, and at once when nothing is pending; an error later in the run leaves the
STATEs of what was committed before it written."""

from __future__ import annotations

import json

import pytest
from singer_sdk.exceptions import InvalidRecord
from target_oracle.sinks import TargetLoadError

PROPS = {"id": {"type": "integer"}, "qty": {"type": ["number", "null"]}}
REJECTED_PROPS = {
    "record_hash": {"type": "string"},
    "id": {"type": ["integer", "null"]},
    "record": {"type": "object"},
    "rule_names": {"type": "string"},
}


def _state(after: str) -> dict:
    return {"type": "STATE", "value": {"bookmarks": {"items": {"after": after}}}}


def _states(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _rejected(n: int) -> dict:
    return {"record_hash": f"h{n}", "id": n, "record": {"id": n, "qty": -1}, "rule_names": "qty_positive"}


def test_a_state_with_nothing_pending_is_written_at_once(sg, backend, capsys):
    """A tap's STATE at the start of a full sync reaches Meltano before any record is committed: here the
    first batch then fails, and that STATE is still out."""
    with pytest.raises(InvalidRecord, match="qty"):
        sg.run(
            backend.config(),
            sg.schema("items", PROPS),
            _state("start"),
            sg.record("items", {"id": 1, "qty": "one"}),
        )
    assert _states(capsys.readouterr().out) == [{"bookmarks": {"items": {"after": "start"}}}]


def test_a_quarantine_stream_holding_rows_does_not_hold_back_the_state(sg, backend, capsys):
    """The main stream fills its batch while the quarantine stream holds one row from before the STATE: the
    quarantine row is committed with the batch and the STATE written, before the run fails further on."""
    with pytest.raises(InvalidRecord, match="qty"):
        sg.run(
            backend.config(batch_size_rows=2),
            sg.schema("items", PROPS),
            sg.schema("items_rejected", REJECTED_PROPS, keys=["record_hash"]),
            sg.record("items_rejected", _rejected(9)),
            sg.record("items", {"id": 1, "qty": 1}),
            _state("1"),
            sg.record("items", {"id": 2, "qty": 2}),
            sg.record("items", {"id": 3, "qty": "three"}),
            sg.record("items", {"id": 4, "qty": 4}),
        )
    assert backend.rows("items", '"ID", "QTY"') == [(1, 1), (2, 2)]
    assert backend.rows("items_rejected", '"RECORD_HASH"', order='"RECORD_HASH"') == [("h9",)]
    assert _states(capsys.readouterr().out) == [{"bookmarks": {"items": {"after": "1"}}}]


def test_each_state_is_written_once_in_order(sg, backend, capsys):
    sg.run(
        backend.config(batch_size_rows=2),
        sg.schema("items", PROPS),
        _state("0"),
        *[sg.record("items", {"id": i, "qty": i}) for i in range(1, 4)],
        _state("3"),
        _state("3"),
        sg.record("items", {"id": 4, "qty": 4}),
        _state("4"),
    )
    assert [s["bookmarks"]["items"]["after"] for s in _states(capsys.readouterr().out)] == ["0", "3", "4"]
    assert len(backend.rows("items")) == 4


def test_a_bad_batch_file_fails_after_the_batch_before_commits(sg, backend, tmp_path, capsys):
    """The first batch commits, its STATE is written and its file removed; then the run fails naming the
    stream and the bad file, which stays in place."""
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    good.write_text('{"id": 1, "qty": 1.5}\n{"id": 2, "qty": 2}\n')
    bad.write_text('{"id": 3, "qty": \n')
    batch = {"type": "BATCH", "stream": "items", "encoding": {"format": "jsonl", "compression": "none"}}
    named = r"Stream 'items': BATCH file\(s\) \S*bad\.jsonl, record 1 is not a valid JSON object"
    with pytest.raises(TargetLoadError, match=named):
        sg.run(
            backend.config(batch_size_rows=2),
            sg.schema("items", PROPS),
            {**batch, "manifest": [good.as_uri()]},
            _state("good"),
            {**batch, "manifest": [bad.as_uri()]},
            _state("bad"),
        )
    assert backend.rows("items", '"ID", "QTY"') == [(1, 1.5), (2, 2)]
    assert _states(capsys.readouterr().out) == [{"bookmarks": {"items": {"after": "good"}}}]
    assert not good.exists() and bad.exists()


def test_sinks_drain_one_after_the_other_at_the_end_of_the_run(sg, backend, monkeypatch):
    """The sinks share one database connection: the drain at the end of the run never runs two at once (the
    SDK's default drains up to 8 sinks on threads, and DuckDB refuses a second call on a busy connection)."""
    from target_oracle.sinks import OracleSink

    running: list[str] = []
    overlaps: list[tuple[str, ...]] = []
    process_batch = OracleSink.process_batch

    def watched(self, context):
        running.append(self.stream_name)
        if len(running) > 1:
            overlaps.append(tuple(running))
        try:
            return process_batch(self, context)
        finally:
            running.remove(self.stream_name)

    monkeypatch.setattr(OracleSink, "process_batch", watched)
    streams = [f"s{n}" for n in range(6)]
    messages = [sg.schema(name, PROPS) for name in streams]
    messages += [sg.record(name, {"id": n, "qty": n}) for n in range(20) for name in streams]
    target = sg.run(backend.config(), *messages)
    assert target.max_parallelism == 1
    assert overlaps == []
    for name in streams:
        assert backend.query(f"SELECT COUNT(*) FROM {backend.table(name)}") == [(20,)]


def test_the_state_before_an_activate_version_is_written_before_its_marks(sg, backend, capsys):
    """A run that dies after an ACTIVATE_VERSION was applied resumes from the STATE before it: that STATE
    reaches the orchestrator first, even while another stream holds records (here `other`'s)."""
    with pytest.raises(Exception, match="Unknown Singer message type"):
        sg.run(
            backend.config(),
            sg.schema("other", PROPS),
            sg.record("other", {"id": 1, "qty": 1}),
            sg.schema("items", PROPS),
            _state("before"),
            {"type": "ACTIVATE_VERSION", "stream": "items", "version": 5},
            {"type": "NOT_A_MESSAGE", "stream": "items"},
        )
    assert _states(capsys.readouterr().out) == [{"bookmarks": {"items": {"after": "before"}}}]
    assert backend.rows("other", '"ID"') == [(1,)]

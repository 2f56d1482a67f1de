"""Loads overlap (`overlap_loads`, on by default): batch N+1 is prepared (read and checked) while batch N is
applied, yet every batch commits in order, a STATE follows the commit of the data before it, and an error of a
later batch surfaces only after the batches before it are committed (see ``sinks.LoadQueue``)."""

from __future__ import annotations

import json
import threading

import pytest
from singer_sdk.exceptions import InvalidRecord
from target_oracle.sinks import OracleSink, TargetLoadError

PROPS = {"id": {"type": "integer"}, "qty": {"type": ["number", "null"]}}
#: long enough for a broken ordering to show, never reached when the overlap works
PATIENCE_S = 30


def _state(after: str) -> dict:
    return {"type": "STATE", "value": {"bookmarks": {"items": {"after": after}}}}


def _hold_first_apply_until(monkeypatch, event: threading.Event, seen: list[bool]) -> None:
    """The first batch's apply waits for ``event`` (set by the next batch's prepare) before it loads, so
    the next batch is surely prepared while this one is applied; ``seen`` records whether it came."""
    load = OracleSink._load
    calls: list[str] = []

    def held(self, select):
        calls.append(select)
        if len(calls) == 1:
            seen.append(event.wait(PATIENCE_S))
        return load(self, select)

    monkeypatch.setattr(OracleSink, "_load", held)


def _states(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_a_bad_batch_file_prepared_during_the_batch_before_fails_after_that_batch_commits(
    sg, backend, tmp_path, monkeypatch, capsys
):
    """The second batch's file is not valid JSON: its prepare fails while the first batch is being
    applied. The first batch still commits, its STATE is written and its file removed; then the run fails
    naming the stream and the bad file, which stays in place. Run with the default settings: the overlap is
    on unless `overlap_loads: false`."""
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    good.write_text('{"id": 1, "qty": 1.5}\n{"id": 2, "qty": 2}\n')
    bad.write_text('{"id": 3, "qty": \n')
    failed, seen = threading.Event(), []
    materialize = OracleSink._materialize

    def spy(self, src, table):
        try:
            return materialize(self, src, table)
        except Exception:
            failed.set()
            raise

    monkeypatch.setattr(OracleSink, "_materialize", spy)
    _hold_first_apply_until(monkeypatch, failed, seen)
    batch = {"type": "BATCH", "stream": "items", "encoding": {"format": "jsonl", "compression": "none"}}
    with pytest.raises(TargetLoadError, match=r"Stream 'items': BATCH file\(s\) \S*bad\.jsonl could not be"):
        sg.run(
            backend.config(batch_size_rows=2),
            sg.schema("items", PROPS),
            {**batch, "manifest": [good.as_uri()]},
            _state("good"),
            {**batch, "manifest": [bad.as_uri()]},
            _state("bad"),
        )
    assert seen == [True]  # the bad batch was prepared while the good one was being applied
    assert backend.rows("items", '"ID", "QTY"') == [(1, 1.5), (2, 2)]
    assert _states(capsys.readouterr().out) == [{"bookmarks": {"items": {"after": "good"}}}]
    assert not good.exists() and bad.exists()


def test_an_invalid_record_found_while_the_batch_before_is_applied_fails_after_its_commit(
    sg, backend, monkeypatch, capsys
):
    """Record mode: the second batch holds a record the schema rejects (found by its prepare's check while
    the first batch is applied). The first batch commits and its STATE is written before the run fails."""
    checked, seen = threading.Event(), []
    check = OracleSink._check_suspects

    def spy(self, *args):
        try:
            return check(self, *args)
        finally:
            checked.set()

    monkeypatch.setattr(OracleSink, "_check_suspects", spy)
    _hold_first_apply_until(monkeypatch, checked, seen)
    with pytest.raises(InvalidRecord, match="qty"):
        sg.run(
            backend.config(batch_size_rows=2, overlap_loads=True),
            sg.schema("items", PROPS),
            sg.record("items", {"id": 1, "qty": 1}),
            sg.record("items", {"id": 2, "qty": 2}),
            _state("2"),
            sg.record("items", {"id": 3, "qty": 3}),
            sg.record("items", {"id": 4, "qty": "four"}),
            _state("4"),
        )
    assert seen == [True]
    assert backend.rows("items", '"ID", "QTY"') == [(1, 1), (2, 2)]
    assert _states(capsys.readouterr().out) == [{"bookmarks": {"items": {"after": "2"}}}]


def test_a_failed_apply_discards_the_batch_prepared_after_it(sg, backend, monkeypatch, capsys):
    """The first batch fails while being applied (a database error, not transient) after the second batch
    was prepared: the second is never applied, no STATE after either is written, nothing is committed, and
    the error names the stream."""
    prepared, seen = threading.Event(), []
    materialize = OracleSink._materialize
    calls: list[str] = []

    def spy(self, src, table):
        result = materialize(self, src, table)
        calls.append(table)
        if len(calls) == 2:
            prepared.set()
        return result

    load = OracleSink._load

    def failing(self, select):
        seen.append(prepared.wait(PATIENCE_S))
        if len(seen) == 1:
            msg = "ORA-00001: unique constraint (OIC.PK) violated"
            raise RuntimeError(msg)
        return load(self, select)

    monkeypatch.setattr(OracleSink, "_materialize", spy)
    monkeypatch.setattr(OracleSink, "_load", failing)
    with pytest.raises(TargetLoadError, match=r"Stream 'items'.*rolled back \[ORA-00001\]"):
        sg.run(
            backend.config(batch_size_rows=2, overlap_loads=True),
            sg.schema("items", PROPS),
            *[sg.record("items", {"id": i, "qty": i}) for i in range(1, 5)],
            _state("4"),
        )
    assert seen == [True]  # only the first batch was applied (and failed); the second was prepared
    assert backend.rows("items", '"ID"') == []
    assert _states(capsys.readouterr().out) == []


def test_overlap_loads_false_prepares_a_batch_only_after_the_one_before_is_applied(sg, backend, monkeypatch):
    """`overlap_loads: false`: prepare 1, apply 1, prepare 2, apply 2, ... and the same rows land."""
    steps: list[str] = []
    materialize, load = OracleSink._materialize, OracleSink._load

    def prepare_spy(self, src, table):
        steps.append("prepare")
        return materialize(self, src, table)

    def apply_spy(self, select):
        steps.append("apply")
        return load(self, select)

    monkeypatch.setattr(OracleSink, "_materialize", prepare_spy)
    monkeypatch.setattr(OracleSink, "_load", apply_spy)
    sg.run(
        backend.config(batch_size_rows=2, overlap_loads=False),
        sg.schema("items", PROPS),
        *[sg.record("items", {"id": i, "qty": i}) for i in range(1, 8)],
    )
    assert steps == ["prepare", "apply"] * 4
    assert backend.rows("items", '"ID"') == [(i,) for i in range(1, 8)]

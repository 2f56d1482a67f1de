"""Connection faults on a real DuckDB file: transient errors replay the batch, others fail with a code."""

from __future__ import annotations

import duckdb
import pytest
from target_oracle.connector import OracleConnector


class _FaultyConnection:
    """A real DuckDB connection whose next MERGE raises ``error`` (``times`` times), like a dropped link."""

    def __init__(self, conn, error: str, faults: list[str]) -> None:
        self._conn = conn
        self._error = error
        self._faults = faults

    def execute(self, sql, params=None):
        if sql.startswith("MERGE") and self._faults:
            self._faults.pop()
            raise RuntimeError(self._error)
        return self._conn.execute(sql, params or [])

    def __getattr__(self, name):
        return getattr(self._conn, name)


def _inject(monkeypatch, error: str, times: int) -> list[str]:
    faults = ["fault"] * times
    opened: list[str] = []
    real_open = OracleConnector.open_dbapi

    def open_faulty(self):
        opened.append("connection")
        return _FaultyConnection(real_open(self), error, faults)

    monkeypatch.setattr(OracleConnector, "open_dbapi", open_faulty)
    return opened


def _run(sg, tmp_path):
    url = f"duckdb:///{tmp_path / 'f.duckdb'}"
    sg.run(
        {"sqlalchemy_url": url},
        sg.schema("faulty", {"id": {"type": "integer"}, "v": {"type": "string"}}),
        *[sg.record("faulty", {"id": i, "v": "x"}) for i in range(10)],
    )
    with duckdb.connect(str(tmp_path / "f.duckdb")) as conn:
        return conn.execute('SELECT count(*) FROM "FAULTY"').fetchone()[0]


def test_transient_connection_error_reconnects_and_retries_the_batch(monkeypatch, tmp_path, sg):
    opened = _inject(monkeypatch, "DPY-4011: the database or network closed the connection", times=1)
    assert _run(sg, tmp_path) == 10
    assert len(opened) == 2  # the first connection was replaced


def test_other_errors_fail_with_the_oracle_code_and_roll_back(monkeypatch, tmp_path, sg):
    _inject(monkeypatch, "ORA-00001: unique constraint (OIC.PK) violated", times=1)
    with pytest.raises(Exception, match=r"Stream 'faulty'.*rolled back \[ORA-00001\]"):
        _run(sg, tmp_path)
    with duckdb.connect(str(tmp_path / "f.duckdb")) as conn:
        assert conn.execute('SELECT count(*) FROM "FAULTY"').fetchone()[0] == 0


def test_transient_errors_give_up_after_three_attempts(monkeypatch, tmp_path, sg):
    _inject(monkeypatch, "ORA-03113: end-of-file on communication channel", times=5)
    with pytest.raises(Exception, match=r"ORA-03113"):
        _run(sg, tmp_path)


def test_value_over_the_string_byte_limit_widens_the_column_before_the_batch(
    monkeypatch, tmp_path, sg, caplog
):
    """The Oracle path (VARCHAR2 holds 4000 bytes) exercised on DuckDB by giving it the same limit."""
    from target_oracle.dialects import DuckDBStrategy

    monkeypatch.setattr(DuckDBStrategy, "string_byte_limit", 4000)
    widened: list[tuple[str, str, str]] = []
    real_widen = DuckDBStrategy.widen_column_sql

    def spy(self, table_ref, column, old, new):
        widened.append((column, old, new))
        return real_widen(self, table_ref, column, old, new)

    monkeypatch.setattr(DuckDBStrategy, "widen_column_sql", spy)
    text = "ß" * 2500  # 2500 characters, 5000 bytes
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    sg.run(
        {"sqlalchemy_url": url, "batch_size_rows": 2},
        sg.schema("wide", {"id": {"type": "integer"}, "body": {"type": "string"}}),
        *[sg.record("wide", {"id": i, "body": text if i == 2 else "s"}) for i in range(4)],
    )
    assert widened == [("BODY", "string", "clob")]
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        rows = conn.execute('SELECT "ID", "BODY" FROM "WIDE" ORDER BY 1').fetchall()
    assert rows == [(0, "s"), (1, "s"), (2, text), (3, "s")]


def test_overwrite_replayed_after_a_transient_error_still_empties_the_table(monkeypatch, tmp_path, sg):
    """The replay of the run's first batch deletes the earlier runs' rows again (the rollback undid it)."""
    url = f"duckdb:///{tmp_path / 'o.duckdb'}"
    schema = sg.schema("faulty", {"id": {"type": "integer"}, "v": {"type": "string"}})
    sg.run({"sqlalchemy_url": url}, schema, *[sg.record("faulty", {"id": i, "v": "old"}) for i in range(3)])
    _inject(monkeypatch, "DPY-4011: the database or network closed the connection", times=1)
    sg.run(
        {"sqlalchemy_url": url, "load_method": "overwrite"},
        schema,
        *[sg.record("faulty", {"id": i, "v": "new"}) for i in (1, 7)],
    )
    with duckdb.connect(str(tmp_path / "o.duckdb")) as conn:
        rows = conn.execute('SELECT "ID", "V" FROM "FAULTY" ORDER BY 1').fetchall()
    assert rows == [(1, "new"), (7, "new")]


class _LostAtCommit:
    """A real DuckDB connection whose next commit is lost: it commits (``committed``) or not, then raises
    ``DPY-4011`` as a connection dropped before the database's answer arrived."""

    def __init__(self, conn, faults: list[bool]) -> None:
        self._conn = conn
        self._faults = faults

    def commit(self):
        if self._faults:
            if self._faults.pop():
                self._conn.commit()
            raise RuntimeError("DPY-4011: the database or network closed the connection")
        return self._conn.commit()

    def __getattr__(self, name):
        return getattr(self._conn, name)


def _append(monkeypatch, tmp_path, sg, *, committed: bool, metadata: bool = True):
    faults = [committed]
    real_open = OracleConnector.open_dbapi
    monkeypatch.setattr(OracleConnector, "open_dbapi", lambda self: _LostAtCommit(real_open(self), faults))
    url = f"duckdb:///{tmp_path / 'a.duckdb'}"
    try:
        sg.run(
            {"sqlalchemy_url": url, "load_method": "append-only", "add_record_metadata": metadata},
            sg.schema("events", {"id": {"type": "integer"}, "v": {"type": "string"}}),
            *[sg.record("events", {"id": i, "v": "x"}) for i in range(10)],
        )
    finally:
        assert not faults
        with duckdb.connect(str(tmp_path / "a.duckdb")) as conn:
            rows = conn.execute('SELECT "ID" FROM "EVENTS" ORDER BY 1').fetchall()
        assert rows == [(i,) for i in range(10)]  # each row once


@pytest.mark.parametrize("committed", [True, False], ids=["committed", "not-committed"])
def test_an_appended_batch_whose_commit_answer_is_lost_lands_once(
    monkeypatch, tmp_path, sg, caplog, committed
):
    _append(monkeypatch, tmp_path, sg, committed=committed)
    said = "was committed before the connection was lost: not loaded again" in caplog.text
    assert said is committed


def test_an_appended_batch_whose_commit_answer_is_lost_without_metadata_stops_the_run(
    monkeypatch, tmp_path, sg
):
    with pytest.raises(
        Exception, match=r"Stream 'events': the connection was lost while committing .* twice"
    ):
        _append(monkeypatch, tmp_path, sg, committed=True, metadata=False)


def test_a_lost_commit_of_an_appended_batch_is_not_taken_for_the_batch_before_in_the_same_millisecond(
    monkeypatch, tmp_path, sg
):
    # _SDC_SEQUENCE was the batch's millisecond: two batches of a table in one millisecond shared it, so a
    # second batch whose commit was lost (not committed) was found committed by the first one's rows and
    # never loaded again: its rows lost, exit 0
    import time

    monkeypatch.setattr(time, "time", lambda: 1_800_000_000.0)
    commits: list[str] = []
    real_open = OracleConnector.open_dbapi

    class LostSecondBatchCommit:
        def __init__(self, conn) -> None:
            self._conn = conn

        def commit(self):
            commits.append("commit")
            if len(commits) == 2:  # the second batch's: not committed, the answer lost
                raise RuntimeError("DPY-4011: the database or network closed the connection")
            return self._conn.commit()

        def __getattr__(self, name):
            return getattr(self._conn, name)

    monkeypatch.setattr(OracleConnector, "open_dbapi", lambda self: LostSecondBatchCommit(real_open(self)))
    url = f"duckdb:///{tmp_path / 'a.duckdb'}"
    sg.run(
        {"sqlalchemy_url": url, "load_method": "append-only", "batch_size_rows": 5},
        sg.schema("events", {"id": {"type": "integer"}}),
        *[sg.record("events", {"id": i}) for i in range(10)],
    )
    with duckdb.connect(str(tmp_path / "a.duckdb")) as conn:
        rows = conn.execute('SELECT "ID", "_SDC_SEQUENCE" FROM "EVENTS" ORDER BY 1').fetchall()
    assert [row[0] for row in rows] == list(range(10))  # each row once
    assert len({row[1] for row in rows}) == 2  # one sequence per batch, distinct

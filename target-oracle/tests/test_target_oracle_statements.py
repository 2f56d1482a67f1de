"""Every statement the target sends to Oracle, checked without an Oracle.

The target runs on Oracle settings against a recording connection (the batches are still read by DuckDB,
as on Oracle): the recorded statements (DDL, GTT, staging insert, MERGE, the count of matched rows, marks of
superseded rows, widening, ACTIVATE_VERSION) are parsed by an independent Oracle parser (sqlglot's Oracle
dialect) and checked against Oracle's limits: identifiers of at most 128 bytes, VARCHAR2 of at most 4000
bytes, NUMBER precision at most 38. The live suite (``live_oracle``) runs the same streams on a real Oracle.
"""

from __future__ import annotations

import re
import typing as t

import pytest
from target_oracle.connector import OracleConnector
from target_oracle.target import TargetOracle

sqlglot = pytest.importorskip("sqlglot", reason="sqlglot (requirements-dev.txt) parses the Oracle statements")
from sqlglot import exp  # noqa: E402

ORACLE_CONFIG = {"host": "db", "service_name": "svc", "username": "u", "password": "p"}
IDENTIFIER_MAX_BYTES, VARCHAR2_MAX_BYTES, NUMBER_MAX_PRECISION = 128, 4000, 38
UTC_SESSION = "ALTER SESSION SET TIME_ZONE = '+00:00'"


#: ``"NAME" TYPE`` of a column in CREATE TABLE or ALTER TABLE ... ADD
_COLUMN = re.compile(r'"([^"]+)" (NUMBER\((\d+)(?:,(\d+))?\)|VARCHAR2\(4000 BYTE\)|CLOB|TIMESTAMP\(6\)|DATE)')


class Catalog:
    """The tables the recorded DDL made, answered as ``ALL_TAB_COLUMNS`` rows (so schema changes ALTER) and
    their primary keys as ``ALL_CONS_COLUMNS`` rows."""

    def __init__(self, charset: str = "AL32UTF8") -> None:
        self.tables: dict[str, list[tuple]] = {}
        self.keys: dict[str, list[tuple]] = {}
        self.charset = charset
        #: (statement, rows) of each array bind
        self.bound: list[tuple[str, list]] = []

    def record(self, sql: str) -> None:
        sql = sql.strip()
        if match := re.match(r'(?:CREATE (?:GLOBAL TEMPORARY )?TABLE|ALTER TABLE) "([^"]+)"\."([^"]+)"', sql):
            table = match.group(2)
            if key := re.search(r"PRIMARY KEY \(([^)]*)\)", sql):
                self.keys[table] = [(name,) for name in re.findall(r'"([^"]+)"', key.group(1))]
            if sql.startswith("CREATE") or " ADD (" in sql:
                for name, spec, precision, scale in _COLUMN.findall(sql):
                    kind = spec.split("(")[0]
                    number = (int(precision), int(scale or 0)) if precision else (None, None)
                    row = (name, "TIMESTAMP(6)" if kind == "TIMESTAMP" else kind, *number)
                    self.tables.setdefault(table, []).append(row)

    def columns(self, params: t.Any) -> list[tuple]:
        return list(self.tables.get(params[1], [])) if params else []

    def answer(self, sql: str, params: t.Any) -> list[tuple]:
        """The rows of a catalog query (none for any other statement)."""
        if "ALL_TAB_COLUMNS" in sql:
            return self.columns(params)
        if "ALL_CONS_COLUMNS" in sql:
            return list(self.keys.get(params[1], []))
        if "NLS_DATABASE_PARAMETERS" in sql:
            return [(self.charset,)]
        return []


class RecordingCursor:
    """What the sink uses of a python-oracledb cursor; statements recorded, the catalog from them."""

    def __init__(self, sent: list[str], catalog: Catalog) -> None:
        self.sent = sent
        self.catalog = catalog
        self.rowcount = 1
        self.rows: list = []

    def execute(self, sql: str, params: t.Any = None) -> RecordingCursor:
        self.sent.append(sql)
        self.catalog.record(sql)
        self.rows = self.catalog.answer(sql, params)
        return self

    def executemany(self, sql: str, rows: t.Any) -> None:
        self.sent.append(sql)
        self.catalog.bound.append((sql, list(rows)))

    def setinputsizes(self, *sizes: t.Any) -> None:
        pass

    def fetchall(self) -> list:
        return self.rows

    def fetchone(self) -> tuple:
        return self.rows[0] if self.rows else (0,)


class RecordingConnection:
    def __init__(self, sent: list[str], catalog: Catalog) -> None:
        self.sent = sent
        self.catalog = catalog

    def cursor(self) -> RecordingCursor:
        return RecordingCursor(self.sent, self.catalog)

    def execute(self, sql: str, params: t.Any = None) -> RecordingCursor:
        return self.cursor().execute(sql, params)

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture
def sent(monkeypatch) -> list[str]:
    statements: list[str] = []
    catalog = Catalog()
    monkeypatch.setattr(OracleConnector, "open_dbapi", lambda self: RecordingConnection(statements, catalog))
    return statements


def _run(sg, *messages: dict, **config: t.Any) -> None:
    import io

    target = TargetOracle(config={**ORACLE_CONFIG, "default_target_schema": "oic", **config})
    target.listen(file_input=io.StringIO(sg.lines(*messages)))


def _every_statement(sg) -> list[dict]:
    """Streams that make the target send each kind of statement: reserved words, long and unicode names,
    every column kind, a key, a schema change, a value over 4000 bytes (VARCHAR2 -> CLOB), a quarantine
    stream (marks), ACTIVATE_VERSION, an append-only stream."""
    long_name = "a_property_name_that_goes_on_" * 6
    props = {
        "id": {"type": "integer"},
        "select": {"type": ["string", "null"]},
        "qty": {"type": ["number", "null"]},
        "flag": {"type": ["boolean", "null"]},
        "ts": {"type": ["string", "null"], "format": "date-time"},
        "day": {"type": ["string", "null"], "format": "date"},
        "obj": {"type": ["object", "null"]},
        "größe": {"type": ["string", "null"]},
        long_name: {"type": ["integer", "null"]},
        "count": {"type": ["integer", "null"]},
    }
    rejected = {
        "record_hash": {"type": "string"},
        "id": {"type": ["integer", "null"]},
        "record": {"type": "object"},
    }
    return [
        sg.schema("items", props),
        sg.record("items", {"id": 1, "select": "x", "qty": 1.5, "flag": True, "ts": "2024-01-01T00:00:00Z"}),
        sg.schema("items_rejected", rejected, keys=["record_hash"]),
        sg.record("items_rejected", {"record_hash": "h", "id": 1, "record": {"id": 1}}),
        # a new column, and an integer column that now takes decimals (NUMBER(38) -> NUMBER(38,10))
        sg.schema("items", {**props, "added": {"type": ["integer", "null"]}, "count": {"type": ["number"]}}),
        sg.record("items", {"id": 2, "select": "ß" * 2500, "added": 3}),
        {"type": "ACTIVATE_VERSION", "stream": "items", "version": 5},
        sg.schema("events", {"id": {"type": "integer"}, "what": {"type": ["string", "null"]}}, keys=[]),
        sg.record("events", {"id": 1, "what": "x"}),
    ]


def _oracle_parse(sql: str) -> exp.Expression:
    """sqlglot's Oracle parser, with positional binds (``:1``, which it does not read) as named ones."""
    return sqlglot.parse_one(re.sub(r":(\d+)", r":p\1", sql), read="oracle")


def _check_limits(sql: str, tree: exp.Expression) -> None:
    for identifier in tree.find_all(exp.Identifier):
        assert len(identifier.name.encode()) <= IDENTIFIER_MAX_BYTES, (identifier.name, sql)
    for data_type in tree.find_all(exp.DataType):
        sizes = [int(m) for m in re.findall(r"\d+", " ".join(e.sql() for e in data_type.expressions))]
        if data_type.this in {exp.DataType.Type.VARCHAR, exp.DataType.Type.NVARCHAR}:
            assert sizes and sizes[0] <= VARCHAR2_MAX_BYTES and "BYTE" in data_type.sql("oracle"), sql
        if data_type.this == exp.DataType.Type.DECIMAL and sizes:
            assert sizes[0] <= NUMBER_MAX_PRECISION, sql


def test_every_statement_sent_to_oracle_parses_as_oracle_sql_within_oracles_limits(sg, sent):
    _run(sg, *_every_statement(sg), hard_delete=False)
    _run(
        sg,
        *_every_statement(sg)[:2],
        {"type": "ACTIVATE_VERSION", "stream": "items", "version": 6},
        hard_delete=True,
    )
    _run(
        sg,
        sg.schema("events", {"id": {"type": "integer"}}, keys=[]),
        sg.record("events", {"id": 2}),
        load_method="append-only",
    )
    kinds = set()
    for sql in sent:
        tree = _oracle_parse(sql)
        if sql == UTC_SESSION:  # sqlglot reads ALTER SESSION only as a command
            kinds.add("AlterSession")
            continue
        if isinstance(tree, exp.Command):
            # sqlglot reads ALTER TABLE ... MODIFY (column type) only as a command: check its type alone
            match = re.fullmatch(r'ALTER TABLE "[^"]+"\."[^"]+" MODIFY \("[^"]+" (.+)\)', sql)
            assert match, f"not parsed as Oracle SQL: {sql}"
            tree = sqlglot.parse_one(f"CAST(x AS {match.group(1)})", read="oracle")
            kinds.add("Modify")
        else:
            kinds.add(type(tree).__name__)
        _check_limits(sql, tree)
    # every kind of statement was sent (so the test sees them all)
    assert {
        "Create",
        "Select",
        "Insert",
        "Merge",
        "Update",
        "Alter",
        "Modify",
        "Delete",
        "AlterSession",
    } <= kinds
    # timestamps are bound as naive UTC: each connection's session is UTC before anything else is sent (a
    # TIMESTAMP WITH TIME ZONE column would read them in the client machine's time zone)
    assert sent[0] == UTC_SESSION
    text = "\n".join(sent)
    for fragment in (
        "CREATE GLOBAL TEMPORARY TABLE",
        "ON COMMIT DELETE ROWS",
        "MERGE INTO",
        '"_SDC_SUPERSEDED_AT" = :1',
        'ADD ("ADDED" NUMBER(38))',
        'MODIFY ("COUNT" NUMBER(38,10))',
        "RENAME COLUMN",
        "TIMESTAMP(6)",
        "NUMBER(38,10)",
        "VARCHAR2(4000 BYTE)",
        "CONSTRAINT_TYPE = 'P'",
        "NLS_CHARACTERSET",
    ):
        assert fragment in text, fragment


def test_new_key_properties_for_an_existing_table_fail_on_oracle_before_any_merge(sg, sent):
    from target_oracle.errors import StreamSetupError

    props = {"id": {"type": "integer"}, "line": {"type": "integer"}}
    with pytest.raises(
        StreamSetupError, match=r"primary key \(ID, LINE\) but the stream's key properties are \(ID\)"
    ):
        _run(
            sg,
            sg.schema("lines", props, keys=["id", "line"]),
            sg.record("lines", {"id": 1, "line": 1}),
            sg.schema("lines", props, keys=["id"]),
            sg.record("lines", {"id": 1, "line": 2}),
        )
    assert sum(sql.startswith("MERGE") for sql in sent) == 1  # the first batch only


def test_superseded_marks_bind_keys_as_their_columns_store_them(sg, monkeypatch):
    """A quarantined record's key binds as its column's type: a date-time as naive UTC, a number as a number.
    Bound as sent (text), Oracle reads it with the session's NLS format against a TIMESTAMP (ORA-01843) or a
    NUMBER (ORA-01722) and the load fails, where DuckDB converts it and marks the row; a key that does not
    convert marks nothing, as on DuckDB."""
    import datetime as dt
    from decimal import Decimal

    statements: list[str] = []
    catalog = Catalog()
    monkeypatch.setattr(OracleConnector, "open_dbapi", lambda self: RecordingConnection(statements, catalog))
    props = {"at": {"type": "string", "format": "date-time"}, "n": {"type": "integer"}}
    rejected = {
        "record_hash": {"type": "string"},
        "at": {"type": ["string", "null"]},
        "n": {"type": ["string", "integer", "null"]},
    }
    quarantined = {"at": "2024-01-01T02:00:00+02:00", "rejected_at": "2024-05-01T00:00:00Z"}
    _run(
        sg,
        sg.schema("events", props, keys=["at", "n"]),
        sg.record("events", {"at": "2024-01-01T00:00:00Z", "n": 1}),
        sg.schema("events_rejected", rejected, keys=["record_hash"]),
        sg.record("events_rejected", {"record_hash": "h1", **quarantined, "n": 1}),
        sg.record("events_rejected", {"record_hash": "h2", **quarantined, "n": "x1"}),
    )
    marks = [rows for sql, rows in catalog.bound if sql.startswith("UPDATE")]
    assert marks == [[(dt.datetime(2024, 5, 1), dt.datetime(2024, 1, 1), Decimal(1))]]


def test_a_batch_replayed_after_a_transient_error_at_commit_sends_its_superseded_marks_again(sg, monkeypatch):
    """The marks are in the batch's transaction: its rollback undoes them, so the replay sets them again."""
    statements: list[str] = []
    catalog = Catalog()
    faults = ["commit"]

    class DroppedAtCommit(RecordingConnection):
        def commit(self) -> None:
            if faults and any("_SDC_SUPERSEDED_AT" in sql for sql in self.sent):
                faults.pop()
                raise RuntimeError("DPY-4011: the database or network closed the connection")

    opened: list[DroppedAtCommit] = []

    def connect(_connector: OracleConnector) -> DroppedAtCommit:
        opened.append(DroppedAtCommit(statements, catalog))
        return opened[-1]

    monkeypatch.setattr(OracleConnector, "open_dbapi", connect)
    rejected = {"record_hash": {"type": "string"}, "id": {"type": ["integer", "null"]}}
    _run(
        sg,
        sg.schema("items", {"id": {"type": "integer"}, "v": {"type": ["string", "null"]}}),
        sg.record("items", {"id": 1, "v": "valid"}),
        sg.schema("items_rejected", rejected, keys=["record_hash"]),
        sg.record("items_rejected", {"record_hash": "h", "id": 1}),
        sg.record("items", {"id": 2, "v": "valid"}),
    )
    marks = [sql for sql in statements if sql.startswith("UPDATE") and "_SDC_SUPERSEDED_AT" in sql]
    assert not faults and len(marks) == 2  # the first attempt's, rolled back, and the replay's
    # the connection made after the lost one has a UTC session too
    assert len(opened) == 3 and statements.count(UTC_SESSION) == 3


def test_an_appended_batch_whose_commit_answer_is_lost_is_looked_for_with_oracle_sql(sg, monkeypatch):
    """After a connection lost while committing, an append-only batch is looked for by its _SDC_SEQUENCE
    before it is loaded again (here not found: the recording connection keeps no rows, so it is replayed)."""
    statements: list[str] = []
    faults = ["commit"]

    class LostAtCommit(RecordingConnection):
        def commit(self) -> None:
            if faults and any(sql.startswith("INSERT") for sql in self.sent):
                faults.pop()
                raise RuntimeError("DPY-4011: the database or network closed the connection")

    catalog = Catalog()
    monkeypatch.setattr(OracleConnector, "open_dbapi", lambda self: LostAtCommit(statements, catalog))
    _run(
        sg,
        sg.schema("events", {"id": {"type": "integer"}}, keys=[]),
        sg.record("events", {"id": 2}),
        load_method="append-only",
    )
    looked = [sql for sql in statements if '"_SDC_SEQUENCE" = :1' in sql]
    assert not faults and len(looked) == 1
    assert looked[0] == 'SELECT COUNT(*) FROM "OIC"."EVENTS" WHERE "_SDC_SEQUENCE" = :1'
    for sql in statements:
        _check_limits(sql, _oracle_parse(sql))
    assert sum(sql.startswith('INSERT INTO "OIC"."EVENTS"') for sql in statements) == 2  # replayed


def test_a_stream_whose_table_is_named_like_a_staging_table_fails_before_any_ddl(sg, sent):
    """ORDERS' staging table is ORDERS__STG: a stream loading a real ORDERS__STG would have it dropped
    (or its rows loaded into the temporary table, gone at each commit)."""
    from target_oracle.errors import StreamSetupError

    with pytest.raises(StreamSetupError, match=r"Stream 'orders__stg': its table .* ends in __STG"):
        _run(sg, sg.schema("orders__stg", {"id": {"type": "integer"}}), sg.record("orders__stg", {"id": 1}))
    assert not [sql for sql in sent if "ORDERS__STG" in sql]


def test_a_database_character_set_other_than_unicode_fails_before_any_ddl(sg, monkeypatch):
    """Oracle replaces a character its database character set lacks (an emoji in WE8MSWIN1252) without an
    error: the target refuses such a database rather than alter text."""
    from target_oracle.errors import TargetError

    statements: list[str] = []
    catalog = Catalog(charset="WE8MSWIN1252")
    monkeypatch.setattr(OracleConnector, "open_dbapi", lambda self: RecordingConnection(statements, catalog))
    with pytest.raises(TargetError, match=r"character set is WE8MSWIN1252, not AL32UTF8"):
        _run(sg, sg.schema("items", {"id": {"type": "integer"}}), sg.record("items", {"id": 1}))
    assert statements[0] == UTC_SESSION
    assert not [sql for sql in statements[1:] if sql.startswith(("CREATE", "ALTER", "INSERT", "MERGE"))]

"""BATCH messages: files loaded set-based through staging + MERGE, landing exactly as RECORD messages do.

Run on a DuckDB file always, and on a live Oracle when its variables are set (see conftest.py).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import subprocess
import sys
from decimal import Decimal

import duckdb
import pytest
from singer_sdk.exceptions import InvalidRecord
from target_oracle.errors import BatchMessageError
from target_oracle.sinks import TargetLoadError

PROPS = {
    "id": {"type": "integer"},
    "qty": {"type": ["number", "null"]},
    "name": {"type": ["string", "null"], "maxLength": 40},
    "flag": {"type": ["boolean", "null"]},
    "ts": {"type": ["string", "null"], "format": "date-time"},
    "day": {"type": ["string", "null"], "format": "date"},
    "obj": {"type": ["object", "null"], "properties": {}},
}
#: the columns that differ between two loads of the same records (when they were loaded)
LOAD_TIME = {"_SDC_BATCHED_AT", "_SDC_RECEIVED_AT", "_SDC_SEQUENCE"}
RECORDS_JSON = [
    '{"id": 1, "qty": 16, "name": "Grüße 東京 🚚", "flag": true, "ts": "2024-03-01T21:30:00.5-03:00", '
    '"day": "2024-02-29", "obj": {"a": 1.25, "b": {"c": "ü"}}}',
    '{"id": 2, "qty": 2.75, "name": "", "flag": false, "ts": "2024-03-01T12:00:00.000001+00:00", '
    '"day": null, "obj": null}',
    '{"id": 3, "qty": null, "name": null, "flag": null, "ts": null, "day": null, "obj": {}}',
    '{"id": 2, "qty": 3.5, "name": "last one wins", "flag": true, "ts": "2024-03-02T00:00:00Z", '
    '"day": "2024-03-02", "obj": {"x": [1, "y", null]}}',
]
LONG_DECIMAL = '{"id": 4, "qty": 12345678901234567890.1234567891, "name": "exact"}'


def _batch(stream: str, paths, fmt: str = "jsonl", compression: str = "gzip") -> dict:
    return {
        "type": "BATCH",
        "stream": stream,
        "encoding": {"format": fmt, "compression": compression},
        "manifest": [p.as_uri() for p in paths],
    }


def _write_jsonl(path, lines: list[str], compression: str) -> None:
    data = "".join(line + "\n" for line in lines).encode()
    if compression == "gzip":
        with gzip.open(path, "wb") as out:
            out.write(data)
    else:
        path.write_bytes(data)


def _write_parquet(path, lines: list[str], tmp_path) -> None:
    src = tmp_path / "parquet-src.jsonl"
    _write_jsonl(src, lines, "none")
    columns = {
        "id": "BIGINT",
        "qty": "DECIMAL(18,4)",
        "name": "VARCHAR",
        "flag": "BOOLEAN",
        "ts": "VARCHAR",
        "day": "VARCHAR",
        "obj": "JSON",
    }
    spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"
    with duckdb.connect() as conn:
        conn.execute(
            f"COPY (SELECT * FROM read_json('{src}', format = 'newline_delimited', columns = {spec})) "
            f"TO '{path}' (FORMAT parquet)"
        )


def _target_cli(config_file, lines: str) -> subprocess.CompletedProcess:
    """target-oracle's CLI as a subprocess, fed `lines` on stdin."""
    return subprocess.run(
        [sys.executable, "-m", "target_oracle.target", "--config", str(config_file)],
        input=lines,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _table(backend, stream: str, prefix: str) -> list[tuple]:
    cols = [c for c in backend.columns(f"{backend.prefix}{prefix}{stream.upper()}") if c not in LOAD_TIME]
    return backend.rows(stream, ", ".join(f'"{c}"' for c in cols), prefix=prefix)


@pytest.mark.parametrize(("fmt", "compression"), [("jsonl", "gzip"), ("jsonl", "none"), ("parquet", "none")])
def test_batch_files_land_exactly_like_record_messages(sg, backend, tmp_path, fmt, compression):
    lines = RECORDS_JSON + ([LONG_DECIMAL] if fmt == "jsonl" else [])
    _run_lines(backend.config(prefix="R_"), sg, lines)
    paths = [tmp_path / f"part-{i}.{'parquet' if fmt == 'parquet' else 'json'}" for i in range(2)]
    for path, part in zip(paths, (lines[:2], lines[2:]), strict=True):
        if fmt == "parquet":
            _write_parquet(path, part, tmp_path)
        else:
            _write_jsonl(path, part, compression)
    sg.run(
        backend.config(prefix="B_"),
        sg.schema("items", PROPS),
        _batch("items", paths, fmt, compression),
    )
    by_records, by_batch = _table(backend, "items", "R_"), _table(backend, "items", "B_")
    assert by_batch == by_records
    assert [row[0] for row in by_batch] == [1, 2, 3] + ([4] if fmt == "jsonl" else [])
    row2 = backend.rows("items", '"NAME", "TS"', prefix="B_")[1]
    assert row2 == ("last one wins", dt.datetime(2024, 3, 2))
    if fmt == "jsonl":
        qty = backend.rows("items", '"QTY"', prefix="B_")[3][0]
        assert Decimal(qty) == Decimal("12345678901234567890.1234567891")
    assert not any(p.exists() for p in paths)  # removed once committed


def _run_lines(config: dict, sg, lines: list[str]) -> None:
    """RECORD messages written by hand, so numbers keep every digit."""
    import io

    from target_oracle.target import TargetOracle

    text = json.dumps(sg.schema("items", PROPS)) + "\n"
    text += "".join(f'{{"type": "RECORD", "stream": "items", "record": {line}}}\n' for line in lines)
    TargetOracle(config=config).listen(file_input=io.StringIO(text))


def test_keep_batch_files_keeps_them(sg, backend, tmp_path):
    path = tmp_path / "keep.json.gz"
    _write_jsonl(path, RECORDS_JSON, "gzip")
    sg.run(backend.config(keep_batch_files=True), sg.schema("items", PROPS), _batch("items", [path]))
    assert path.exists()
    assert [r[0] for r in backend.rows("items", '"ID"')] == [1, 2, 3]


def test_missing_batch_file_fails_naming_it_and_loads_nothing(sg, backend, tmp_path):
    present, missing = tmp_path / "present.json.gz", tmp_path / "missing.json.gz"
    _write_jsonl(present, RECORDS_JSON, "gzip")
    with pytest.raises(Exception, match=r"missing\.json\.gz"):
        sg.run(backend.config(), sg.schema("items", PROPS), _batch("items", [present, missing]))
    assert present.exists()
    assert backend.rows("items", '"ID"') == []


def test_malformed_batch_file_fails_naming_it_and_loads_nothing(sg, backend, tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    _write_jsonl(good, RECORDS_JSON, "none")
    _write_jsonl(bad, [RECORDS_JSON[0], '{"id": 9, "qty": ', RECORDS_JSON[2]], "none")
    with pytest.raises(Exception, match=r"bad\.json"):
        sg.run(backend.config(), sg.schema("items", PROPS), _batch("items", [good, bad], compression="none"))
    assert good.exists() and bad.exists()
    assert backend.rows("items", '"ID"') == []


def test_invalid_record_in_a_batch_file_names_the_field(sg, backend, tmp_path):
    path = tmp_path / "invalid.json"
    _write_jsonl(path, [RECORDS_JSON[0], '{"id": 7, "qty": "abc"}'], "none")
    with pytest.raises(InvalidRecord, match="qty"):
        sg.run(backend.config(), sg.schema("items", PROPS), _batch("items", [path], compression="none"))
    assert backend.rows("items", '"ID"') == []


def test_a_batch_file_line_holding_no_object_fails_naming_it_and_loads_nothing(sg, backend, tmp_path):
    # a JSON null line reads as a row of NULLs in SQL; in a stream without keys nothing else flags it
    path = tmp_path / "nulls.json"
    _write_jsonl(path, ['{"qty": 1}', "null"], "none")
    with pytest.raises(TargetLoadError, match=r"nulls\.json, record 2 is not a valid JSON object .*: null"):
        sg.run(
            backend.config(load_method="append-only"),
            sg.schema("items", {"qty": PROPS["qty"]}, keys=[]),
            _batch("items", [path], compression="none"),
        )
    assert backend.rows("items", '"QTY"', order='"QTY"') == []


def test_records_and_batches_apply_in_message_order(sg, backend, tmp_path):
    path = tmp_path / "middle.json"
    _write_jsonl(path, ['{"id": 1, "name": "from the batch"}', '{"id": 2, "name": "batch"}'], "none")
    sg.run(
        backend.config(),
        sg.schema("items", PROPS),
        sg.record("items", {"id": 1, "name": "first record"}),
        sg.record("items", {"id": 2, "name": "first record"}),
        _batch("items", [path], compression="none"),
        sg.record("items", {"id": 2, "name": "last record"}),
    )
    assert backend.rows("items", '"ID", "NAME"') == [(1, "from the batch"), (2, "last record")]


def test_cli_exits_non_zero_naming_a_missing_batch_file(sg, tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"sqlalchemy_url": f"duckdb:///{tmp_path / 'cli.duckdb'}"}))
    lines = sg.lines(sg.schema("items", PROPS), _batch("items", [tmp_path / "nowhere.json.gz"]))
    result = _target_cli(cfg, lines)
    assert result.returncode != 0
    assert "nowhere.json.gz" in result.stderr


def test_oracle_load_binds_typed_rows_in_chunks(tmp_path, monkeypatch):
    """The Oracle path, compile-checked: DuckDB reads the file, python-oracledb gets typed array binds."""
    from target_oracle import columns as k
    from target_oracle import dialects
    from target_oracle import loading as ld

    monkeypatch.setattr(dialects, "LOAD_CHUNK_ROWS", 2)
    path = tmp_path / "rows.json"
    _write_jsonl(path, RECORDS_JSON, "none")
    props = ["id", "qty", "flag", "ts", "day", "obj"]
    kinds = [k.INTEGER, k.NUMBER, k.BOOLEAN, k.TIMESTAMP, k.DATE, k.JSON]
    cols = [ld.Column(p, p.upper(), kind) for p, kind in zip(props, kinds, strict=True)]
    src = ld.source_sql(ld.Source((str(path),)), props)
    select = ld.batch_select_sql(cols, [0])

    class Cursor:
        def __init__(self) -> None:
            self.calls: list[tuple[str, list]] = []
            self.sizes: tuple = ()

        def setinputsizes(self, *sizes):
            self.sizes = sizes

        def executemany(self, sql, rows):
            self.calls.append((sql, list(rows)))

    cursor = Cursor()
    conn = type("Conn", (), {"cursor": lambda self: cursor})()
    reader = duckdb.connect()
    reader.execute("SET TimeZone = 'UTC'")
    reader.execute(ld.materialize_sql(src, cols, "true", [0], for_oracle=True, now="2024-01-01", sequence=1))
    oracle = dialects.OracleStrategy()
    oracle.load_select(conn, reader, '"OIC"."ITEMS__STG"', [(c.name, c.kind) for c in cols], select)
    insert = 'INSERT INTO "OIC"."ITEMS__STG" ("ID", "QTY", "FLAG", "TS", "DAY", "OBJ")'
    assert {sql for sql, _ in cursor.calls} == {f"{insert} VALUES (:1, :2, :3, :4, :5, :6)"}
    assert [len(rows) for _, rows in cursor.calls] == [2, 1]  # chunks, three keys after dedup
    rows = sorted(row for _, chunk in cursor.calls for row in chunk)
    assert rows[0] == (
        Decimal(1),
        Decimal("16"),
        1,
        dt.datetime(2024, 3, 2, 0, 30, 0, 500000),
        dt.date(2024, 2, 29),
        '{"a":1.25,"b":{"c":"ü"}}',
    )
    assert rows[1][:3] == (Decimal(2), Decimal("3.5"), 1)  # the later record with key 2
    assert rows[2] == (Decimal(3), None, None, None, None, "{}")
    assert len(cursor.sizes) == len(cols)


def test_spool_files_of_dead_processes_are_removed(sg, tmp_path, monkeypatch):
    """A target killed mid-batch leaves its spool behind; the next run removes it (never loads it)."""
    import os
    import tempfile

    from target_oracle import sinks

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    orphan = tmp_path / f"{sinks.SPOOL_PREFIX}{dead.stdout.strip()}-abc.jsonl"
    orphan.write_text('{"type": "RECORD", "stream": "items", "record": {"id": 99}}\n')
    mine = tmp_path / f"{sinks.SPOOL_PREFIX}{os.getpid()}-abc.jsonl"
    mine.write_text("")
    url = f"duckdb:///{tmp_path / 'o.duckdb'}"
    sg.run({"sqlalchemy_url": url}, sg.schema("items", PROPS), sg.record("items", {"id": 1}))
    assert not orphan.exists() and mine.exists()
    with duckdb.connect(str(tmp_path / "o.duckdb")) as conn:
        assert conn.execute('SELECT "ID" FROM "ITEMS"').fetchall() == [(1,)]
    # this run's own spool was removed after its batch committed; only the pre-made file remains
    assert list(tmp_path.glob(f"{sinks.SPOOL_PREFIX}*.jsonl")) == [mine]


def test_state_after_each_committed_batch_file_survives_a_later_failure(sg, tmp_path):
    """A STATE that follows a loaded BATCH file is emitted at once, not held until the end of the input:
    when a later file fails, the state of the files already committed is out, so a rerun resumes there."""
    cfg = tmp_path / "config.json"
    db = tmp_path / "cli.duckdb"
    cfg.write_text(json.dumps({"sqlalchemy_url": f"duckdb:///{db}"}))
    first = tmp_path / "first.jsonl"
    _write_jsonl(first, RECORDS_JSON[:2], "none")
    lines = sg.lines(
        sg.schema("items", PROPS),
        _batch("items", [first], compression="none"),
        {"type": "STATE", "value": {"bookmarks": {"items": {"after": "first"}}}},
        _batch("items", [tmp_path / "missing.jsonl"], compression="none"),
        {"type": "STATE", "value": {"bookmarks": {"items": {"after": "missing"}}}},
    )
    result = _target_cli(cfg, lines)
    assert result.returncode != 0
    assert "missing.jsonl" in result.stderr
    # a target writes each state value as one JSON line
    states = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert states == [{"bookmarks": {"items": {"after": "first"}}}]
    with duckdb.connect(str(db), read_only=True) as conn:
        schema, table = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_name = 'ITEMS'"
        ).fetchone()
        # the first file's two records are committed
        assert conn.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone() == (2,)


def _file_loads(monkeypatch) -> list[int]:
    """The number of BATCH files in each load of files, in order, appended to as the target runs."""
    from target_oracle.sinks import OracleSink

    loads: list[int] = []
    load_source = OracleSink._load_source

    def spy(self, source, what):
        if not source.messages:
            loads.append(len(source.files))
        return load_source(self, source, what)

    monkeypatch.setattr(OracleSink, "_load_source", spy)
    return loads


def _state(after: str) -> dict:
    return {"type": "STATE", "value": {"bookmarks": {"items": {"after": after}}}}


def test_consecutive_batch_messages_gather_up_to_batch_size_rows(sg, backend, tmp_path, monkeypatch):
    """Files of consecutive BATCH messages load together, one batch per `batch_size_rows` records (one read,
    one MERGE, one commit); a later file's record still wins over an earlier file's with the same key."""
    loads = _file_loads(monkeypatch)
    paths = [tmp_path / f"part-{i}.json" for i in range(5)]
    for i, path in enumerate(paths):
        _write_jsonl(path, [f'{{"id": {i}, "name": "file {i}"}}', f'{{"id": 9, "name": "file {i}"}}'], "none")
    sg.run(
        backend.config(batch_size_rows=4),
        sg.schema("items", PROPS),
        *[_batch("items", [path], compression="none") for path in paths],
    )
    assert loads == [2, 2, 1]
    assert backend.rows("items", '"ID", "NAME"') == [(i, f"file {i}") for i in range(5)] + [(9, "file 4")]
    assert not any(p.exists() for p in paths)


def test_state_after_gathered_batch_files_waits_for_their_commit(sg, tmp_path):
    """Gathered files are not loaded yet when the STATE after them arrives: it is held until they commit.
    A later malformed file fails the gathered batch as a whole: no STATE out, nothing loaded, no file
    removed, so a rerun starts before the first of them."""
    cfg = tmp_path / "config.json"
    db = tmp_path / "cli.duckdb"
    cfg.write_text(json.dumps({"sqlalchemy_url": f"duckdb:///{db}"}))
    first, second, bad = tmp_path / "first.jsonl", tmp_path / "second.jsonl", tmp_path / "bad.jsonl"
    _write_jsonl(first, RECORDS_JSON[:2], "none")
    _write_jsonl(second, RECORDS_JSON[2:], "none")
    _write_jsonl(bad, ['{"id": 9, "qty": '], "none")
    lines = sg.lines(
        sg.schema("items", PROPS),
        _batch("items", [first], compression="none"),
        _state("first"),
        _batch("items", [second], compression="none"),
        _state("second"),
        _batch("items", [bad], compression="none"),
        _state("bad"),
    )
    result = _target_cli(cfg, lines)
    assert result.returncode != 0
    assert "bad.jsonl" in result.stderr
    assert result.stdout.strip() == ""
    assert first.exists() and second.exists() and bad.exists()
    with duckdb.connect(str(db), read_only=True) as conn:
        schema, table = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_name = 'ITEMS'"
        ).fetchone()
        assert conn.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone() == (0,)


REJECTED = {
    "record_hash": {"type": "string"},
    "id": {"type": ["integer", "null"]},
    "record": {"type": "object"},
    "rejected_at": {"type": "string", "format": "date-time"},
}


def test_quarantine_batch_files_leave_the_gathered_batch_whole_and_mark_superseded_rows(
    sg, backend, tmp_path, monkeypatch
):
    """The mapper's BATCH shape: per input file a BATCH of passed records, a BATCH of quarantined ones and a
    STATE. The quarantined files go to their own sink and never force the main stream's gathered files to
    load early (one load per `batch_size_rows`, not one per file); a quarantined version marks its key's row
    unless a valid newer version (a later file) loads."""
    loads = _file_loads(monkeypatch)
    at = "2024-05-01T10:00:00+00:00"
    files = {0: [0, 1], 1: [1, 2], 2: [3, 4]}  # file -> ids of its passed records
    rejected = {0: 1, 1: 2, 2: 0}  # file -> the id of its quarantined record
    messages = [sg.schema("items", PROPS), sg.schema("items_rejected", REJECTED, keys=["record_hash"])]
    for i, ids in files.items():
        passed, quarantined = tmp_path / f"passed-{i}.json", tmp_path / f"rejected-{i}.json"
        _write_jsonl(passed, [json.dumps({"id": n, "name": f"file {i}"}) for n in ids], "none")
        bad = {"record_hash": f"h{i}", "id": rejected[i], "record": {"id": rejected[i]}, "rejected_at": at}
        _write_jsonl(quarantined, [json.dumps(bad)], "none")
        messages += [
            _batch("items", [passed], compression="none"),
            _batch("items_rejected", [quarantined], compression="none"),
            _state(f"file {i}"),
        ]
    sg.run(backend.config(batch_size_rows=4), *messages)
    assert loads == [2, 1]
    marked = dt.datetime(2024, 5, 1, 10, 0)
    assert backend.rows("items", '"ID", "NAME", "_SDC_SUPERSEDED_AT"') == [
        (0, "file 0", marked),  # quarantined after its only version
        (1, "file 1", None),  # file 1's valid version is newer than the one quarantined after file 0
        (2, "file 1", marked),
        (3, "file 2", None),
        (4, "file 2", None),
    ]
    assert len(backend.rows("items_rejected", '"ID"', order='"ID"')) == 3
    assert not list(tmp_path.glob("*.json"))


#: An fsspec filesystem installed the way fsspec packages (s3fs, gcsfs) are: a module and an
#: ``fsspec.specs`` entry point, so every process finds it. ``bucket://<name>/<key>`` is the file
#: ``$TEST_BUCKET_ROOT/<name>/<key>``: no local path in the URLs, like an object store's.
BUCKET_FS = """
import os

from fsspec.implementations.dirfs import DirFileSystem
from fsspec.implementations.local import LocalFileSystem


class BucketFileSystem(DirFileSystem):
    protocol = "bucket"

    def __init__(self, **options):
        super().__init__(path=os.environ["TEST_BUCKET_ROOT"], fs=LocalFileSystem(), **options)
"""


@pytest.fixture
def bucket(tmp_path, monkeypatch):
    """The ``bucket://`` filesystem installed for the target's CLI (PYTHONPATH), its root, and TMPDIR."""
    site = tmp_path / "site"
    (site / "bucketfs-1.0.dist-info").mkdir(parents=True)
    (site / "bucketfs.py").write_text(BUCKET_FS)
    (site / "bucketfs-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: bucketfs\nVersion: 1.0\n"
    )
    (site / "bucketfs-1.0.dist-info" / "entry_points.txt").write_text(
        "[fsspec.specs]\nbucket = bucketfs:BucketFileSystem\n"
    )
    root, temp = tmp_path / "bucket-root", tmp_path / "temp"
    (root / "landing").mkdir(parents=True)
    temp.mkdir()
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("TEST_BUCKET_ROOT", str(root))
    monkeypatch.setenv("TMPDIR", str(temp))
    return root / "landing", temp


def _remote_batch(stream: str, names: list[str], compression: str) -> dict:
    return {
        "type": "BATCH",
        "stream": stream,
        "encoding": {"format": "jsonl", "compression": compression},
        "manifest": [f"bucket://landing/{name}" for name in names],
    }


@pytest.mark.parametrize("keep", [False, True])
def test_batch_files_on_an_fsspec_url_load_through_the_cli(sg, tmp_path, bucket, keep):
    """Manifests naming files by a non-local fsspec URL (a filesystem the target knows only through fsspec)
    load like local files: gzip and plain, the STATE after the commit, the files removed through fsspec
    after the commit (kept with keep_batch_files), no local copy left behind."""
    landing, temp = bucket
    _write_jsonl(landing / "part-1.json.gz", RECORDS_JSON[:2], "gzip")
    _write_jsonl(landing / "part-2.jsonl", RECORDS_JSON[2:], "none")
    db = tmp_path / "remote.duckdb"
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"sqlalchemy_url": f"duckdb:///{db}", "keep_batch_files": keep}))
    result = _target_cli(
        cfg,
        sg.lines(
            sg.schema("items", PROPS),
            _remote_batch("items", ["part-1.json.gz"], "gzip"),
            _state("part 1"),
            _remote_batch("items", ["part-2.jsonl"], "none"),
            _state("part 2"),
        ),
    )
    assert result.returncode == 0, result.stderr
    # each STATE once its file is committed (a change of compression loads the gathered file first)
    states = [json.loads(line) for line in result.stdout.splitlines()]
    assert states == [_state("part 1")["value"], _state("part 2")["value"]]
    with duckdb.connect(str(db), read_only=True) as conn:
        rows = conn.execute('SELECT "ID", "NAME" FROM "ITEMS" ORDER BY "ID"').fetchall()
    assert rows == [(1, "Grüße 東京 🚚"), (2, "last one wins"), (3, None)]
    assert sorted(p.name for p in landing.iterdir()) == (["part-1.json.gz", "part-2.jsonl"] if keep else [])
    assert list(temp.iterdir()) == []


def test_a_missing_file_on_an_fsspec_url_fails_naming_stream_and_url(sg, tmp_path, bucket):
    landing, temp = bucket
    _write_jsonl(landing / "present.jsonl", RECORDS_JSON[:1], "none")
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"sqlalchemy_url": f"duckdb:///{tmp_path / 'missing.duckdb'}"}))
    result = _target_cli(
        cfg,
        sg.lines(
            sg.schema("items", PROPS), _remote_batch("items", ["present.jsonl", "absent.jsonl"], "none")
        ),
    )
    assert result.returncode != 0
    assert "Stream 'items': BATCH file(s) not found: bucket://landing/absent.jsonl" in result.stderr
    assert "Traceback" not in result.stderr
    assert (landing / "present.jsonl").exists()
    assert list(temp.iterdir()) == []


def test_a_url_scheme_fsspec_does_not_know_fails_naming_the_package_to_install(sg, backend):
    with pytest.raises(Exception, match=r"nosuchfs://landing/x\.jsonl.*fsspec package"):
        sg.run(
            backend.config(),
            sg.schema("items", PROPS),
            {**_batch("items", [], compression="none"), "manifest": ["nosuchfs://landing/x.jsonl"]},
        )


@pytest.mark.parametrize("bad_line", ['{"record_hash": "h2", "id": ', "[1, 2]"])
def test_a_malformed_quarantine_file_fails_naming_it_and_commits_nothing_of_it(
    sg, backend, tmp_path, bad_line
):
    good = json.dumps(
        {"record_hash": "h1", "id": 1, "record": {}, "rejected_at": "2024-05-01T10:00:00+00:00"}
    )
    path = tmp_path / "rejected-bad.json"
    _write_jsonl(path, [good, bad_line], "none")
    with pytest.raises(Exception, match=r"rejected-bad\.json, record 2"):
        sg.run(
            backend.config(),
            sg.schema("items", PROPS),
            sg.schema("items_rejected", REJECTED, keys=["record_hash"]),
            _batch("items_rejected", [path], compression="none"),
        )
    assert backend.rows("items_rejected", '"RECORD_HASH"', order='"RECORD_HASH"') == []
    assert path.exists()


def test_parquet_on_an_fsspec_url_lands_like_a_local_file(sg, backend, tmp_path):
    """Any format read from a copy: a Parquet file on fsspec's in-memory filesystem (``memory://``)."""
    import fsspec

    local = tmp_path / "items.parquet"
    _write_parquet(local, RECORDS_JSON, tmp_path)
    fs = fsspec.filesystem("memory")
    fs.pipe("/landing/items.parquet", local.read_bytes())
    message = {
        **_batch("items", [], fmt="parquet", compression="none"),
        "manifest": ["memory://landing/items.parquet"],
    }
    sg.run(backend.config(), sg.schema("items", PROPS), message)
    assert backend.rows("items", '"ID", "NAME"') == [(1, "Grüße 東京 🚚"), (2, "last one wins"), (3, None)]
    assert not fs.exists("/landing/items.parquet")


def test_order_holds_across_row_groups_threads_and_files(sg, backend, tmp_path):
    # 300,000 rows over three files and several DuckDB row groups, read on every core: the last row of each
    # key wins, and the line of an invalid row near the end is found (the message names its key)
    keys = 1000
    paths = []
    for part in range(3):
        path = tmp_path / f"part{part}.json"
        rows = range(part * 100_000, (part + 1) * 100_000)
        _write_jsonl(path, [f'{{"id": {i % keys}, "qty": {i}}}' for i in rows], "none")
        paths.append(path)
    config = backend.config(duckdb_threads=0, batch_size_rows=1_000_000)
    props = {"id": PROPS["id"], "qty": PROPS["qty"]}
    sg.run(config, sg.schema("items", props), _batch("items", paths, compression="none"))
    assert backend.rows("items", '"ID", "QTY"') == [(i, 299_000 + i) for i in range(keys)]

    lines = [f'{{"id": {i % keys}, "qty": {i}}}' for i in range(250_000)]
    lines[249_000] = '{"id": 999999, "qty": "late"}'
    _write_jsonl(paths[0], lines[:120_000], "none")
    _write_jsonl(paths[1], lines[120_000:], "none")
    with pytest.raises(InvalidRecord, match=r"key id=999999, field 'qty'"):
        sg.run(config, sg.schema("items", props), _batch("items", paths[:2], compression="none"))


@pytest.mark.parametrize("hard_delete", [False, True])
def test_rows_without_a_version_take_the_streams_activated_version(sg, backend, tmp_path, hard_delete):
    # BATCH file lines carry no table version (nor need a RECORD message): they belong to the version the
    # stream's last ACTIVATE_VERSION named, so the ACTIVATE_VERSION ending the sync keeps them
    props = {"id": PROPS["id"], "name": PROPS["name"]}
    cfg = backend.config(hard_delete=hard_delete)

    def sync(version: int, ids: list[int]) -> None:
        path = tmp_path / f"v{version}.json"
        _write_jsonl(path, [json.dumps({"id": i, "name": f"v{version}"}) for i in ids[:-1]], "none")
        sg.run(
            cfg,
            sg.schema("items", props),
            {"type": "ACTIVATE_VERSION", "stream": "items", "version": version},
            _batch("items", [path], compression="none"),
            {"type": "RECORD", "stream": "items", "record": {"id": ids[-1], "name": f"v{version}"}},
            {"type": "ACTIVATE_VERSION", "stream": "items", "version": version},
        )

    sync(1, [1, 2, 3])
    rows = backend.rows("items", '"ID", "NAME", "_SDC_TABLE_VERSION", "_SDC_DELETED_AT"')
    assert rows == [(1, "v1", 1, None), (2, "v1", 1, None), (3, "v1", 1, None)]
    sync(2, [2, 3])
    rows = backend.rows("items", '"ID", "NAME", "_SDC_TABLE_VERSION", "_SDC_DELETED_AT"')
    if hard_delete:
        assert rows == [(2, "v2", 2, None), (3, "v2", 2, None)]
    else:
        assert [r[:3] for r in rows] == [(1, "v1", 1), (2, "v2", 2), (3, "v2", 2)]
        assert [r[3] is not None for r in rows] == [True, False, False]


@pytest.mark.parametrize("name", ["part[1].json", "part*.json", "part?.json"])
def test_a_batch_file_whose_name_holds_glob_characters_is_read_itself(sg, backend, tmp_path, name):
    # DuckDB reads a name holding * ? [ as a glob pattern: part[1].json read part1.json, another file,
    # and the named file was then removed as loaded
    decoy = tmp_path / "part1.json"
    _write_jsonl(decoy, ['{"id": 9, "name": "another file"}'], "none")
    path = tmp_path / name
    _write_jsonl(path, ['{"id": 1, "name": "the named file"}'], "none")
    sg.run(backend.config(), sg.schema("items", PROPS), _batch("items", [path], compression="none"))
    assert backend.rows("items", '"ID", "NAME"') == [(1, "the named file")]
    assert decoy.exists() and not path.exists()


def test_a_batch_file_named_twice_fails_instead_of_landing_twice(sg, backend, tmp_path):
    # DuckDB reads a file listed twice twice: appended, every record of it landed twice, exit 0
    path = tmp_path / "once.json"
    _write_jsonl(path, ['{"id": 1, "name": "a"}', '{"id": 2, "name": "b"}'], "none")
    twice = {**_batch("items", [path], compression="none"), "manifest": [path.as_uri(), str(path)]}
    config = backend.config(load_method="append-only")
    with pytest.raises(BatchMessageError, match=r"BATCH file .*once\.json is named twice"):
        sg.run(config, sg.schema("items", PROPS), twice)
    assert backend.rows("items", '"ID"') == []
    assert path.exists()
    # named again by a later message while the first one's files are gathered: they land once, then it fails
    with pytest.raises(BatchMessageError, match=r"BATCH file .*once\.json is named twice"):
        sg.run(
            config,
            sg.schema("items", PROPS),
            _batch("items", [path], compression="none"),
            _batch("items", [path], compression="none"),
        )
    assert backend.rows("items", '"ID", "NAME"') == [(1, "a"), (2, "b")]


@pytest.mark.parametrize("first", ["QTY", "qty"])
def test_parquet_columns_spelled_like_a_property_but_for_case_fail_the_batch(sg, backend, tmp_path, first):
    # DuckDB unites Parquet columns by name without case: with QTY in one file and qty in the next, the
    # batch held one column: named QTY, the property qty read NULL for every file (its values lost); named
    # qty, the undeclared QTY's values landed as qty
    other = "qty" if first == "QTY" else "QTY"
    paths = [tmp_path / "a.parquet", tmp_path / "b.parquet"]
    with duckdb.connect() as conn:
        for i, (path, name) in enumerate(zip(paths, (first, other), strict=True)):
            conn.execute(f"COPY (SELECT {i + 1} AS id, {i + 5} AS \"{name}\") TO '{path}' (FORMAT parquet)")
    with pytest.raises(
        TargetLoadError, match="hold a column 'QTY', which differs from property 'qty' only in case"
    ):
        sg.run(backend.config(), sg.schema("items", PROPS), _batch("items", paths, "parquet", "none"))
    assert backend.rows("items", '"ID"') == []
    assert all(path.exists() for path in paths)


def test_quarantine_parquet_files_load_and_mark_superseded_rows(sg, backend, tmp_path):
    # a quarantine stream's files are read in Python: a Parquet file was read as JSON lines and failed
    # ("record 1 is not a valid JSON object ... PAR1"), so a mapper writing Parquet stopped at its first
    # quarantined record
    passed, quarantined = tmp_path / "passed.parquet", tmp_path / "rejected.parquet"
    _write_parquet(passed, ['{"id": 1, "name": "valid"}', '{"id": 2, "name": "valid"}'], tmp_path)
    with duckdb.connect() as conn:
        conn.execute(
            "COPY (SELECT 'h1' AS record_hash, 2 AS id, {'id': 2, 'qty': 1.5} AS record, "
            "TIMESTAMPTZ '2024-05-01 12:00:00+02' AS rejected_at) "
            f"TO '{quarantined}' (FORMAT parquet)"
        )
    sg.run(
        backend.config(),
        sg.schema("items", PROPS),
        sg.schema("items_rejected", REJECTED, keys=["record_hash"]),
        _batch("items", [passed], "parquet", "none"),
        _batch("items_rejected", [quarantined], "parquet", "none"),
    )
    marked = dt.datetime(2024, 5, 1, 10, 0)
    assert backend.rows("items", '"ID", "_SDC_SUPERSEDED_AT"') == [(1, None), (2, marked)]
    record = backend.rows("items_rejected", '"RECORD_HASH", "ID", "RECORD"', order='"ID"')
    assert [(h, i, json.loads(r, parse_float=Decimal)) for h, i, r in record] == [
        ("h1", 2, {"id": 2, "qty": Decimal("1.5")})
    ]
    assert not passed.exists() and not quarantined.exists()


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_a_batch_records_table_version_that_is_no_integer_fails_the_batch(sg, backend, tmp_path, fmt):
    # _sdc_table_version 1.5 was cast to 2 (the row then counted as version 2 at ACTIVATE_VERSION)
    lines = ['{"id": 1, "_sdc_table_version": 5}', '{"id": 2, "_sdc_table_version": 1.5}']
    path = tmp_path / f"versions.{fmt}"
    if fmt == "parquet":
        with duckdb.connect() as conn:
            conn.execute(
                "COPY (SELECT * FROM (VALUES (1, 5.0), (2, 1.5)) v(id, _sdc_table_version)) "
                f"TO '{path}' (FORMAT parquet)"
            )
    else:
        _write_jsonl(path, lines, "none")
    with pytest.raises(TargetLoadError, match=r"table version .* must be an integer, not 1\.5"):
        sg.run(backend.config(), sg.schema("items", PROPS), _batch("items", [path], fmt, "none"))
    assert backend.rows("items", '"ID"') == []

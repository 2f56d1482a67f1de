"""BATCH messages through the real `mapper-wms-validate` CLI: files read, validated, written, announced."""

from __future__ import annotations

import gzip
import importlib.util
import json
import sys
from pathlib import Path

import pytest

STATE = {"type": "STATE", "value": {"bookmarks": {"allocation": {"replication_key_value": "2025-01-02"}}}}


def compact(record: dict) -> bytes:
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"


def write_jsonl(path: Path, records: list[dict], *, gzipped: bool = True) -> str:
    """A BATCH file as the SDK's JSONL batcher writes it (one record per line); its file:// URL."""
    body = b"".join(compact(r) for r in records)
    path.write_bytes(gzip.compress(body) if gzipped else body)
    return path.as_uri()


def batch(urls: list[str], compression: str = "gzip", **extra) -> dict:
    return {
        "type": "BATCH",
        "stream": "allocation",
        "encoding": {"format": "jsonl", "compression": compression},
        "manifest": urls,
        **extra,
    }


def read_jsonl(url: str) -> list[bytes]:
    path = Path(url.removeprefix("file://"))
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return data.splitlines(keepends=True)


@pytest.fixture
def records(make_allocation) -> list[dict]:
    """Six allocation records: 1, 4, 6 valid; 2 and 3 break default rules; 5 has a mistyped quantity."""
    return [
        make_allocation(1)["record"],
        make_allocation(2, alloc_qty=0)["record"],
        make_allocation(3, packed_qty=9)["record"],
        make_allocation(4, alloc_qty=2.5)["record"],
        make_allocation(5, alloc_qty="five")["record"],
        make_allocation(6)["record"],
    ]


def test_batch_files_are_validated_split_and_announced(run_mapper, allocation_schema, records, tmp_path):
    first = write_jsonl(tmp_path / "in-1.jsonl.gz", records[:3])
    second = write_jsonl(tmp_path / "in-2.jsonl.gz", records[3:])
    result = run_mapper({}, [allocation_schema, batch([first, second], version=7), STATE])
    assert result.returncode == 0, result.stderr[-3000:]

    kinds = [(m["type"], m.get("stream")) for m in result.messages]
    assert kinds == [
        ("SCHEMA", "allocation"),
        ("BATCH", "allocation"),
        ("SCHEMA", "allocation_rejected"),
        ("BATCH", "allocation_rejected"),
        ("STATE", None),
    ]
    passed, rejected = result.of("BATCH", "allocation")[0], result.of("BATCH", "allocation_rejected")[0]
    assert passed["encoding"] == rejected["encoding"] == {"format": "jsonl", "compression": "gzip"}
    assert passed["version"] == 7 and "version" not in rejected
    assert len(passed["manifest"]) == len(rejected["manifest"]) == 2
    for url in passed["manifest"] + rejected["manifest"]:
        assert url.startswith(tmp_path.as_uri() + "/") and url.endswith(".jsonl.gz")

    # passed records: their lines byte for byte, per input file
    passed_lines = [read_jsonl(url) for url in passed["manifest"]]
    assert passed_lines == [[compact(records[0])], [compact(records[3]), compact(records[5])]]
    # quarantined records: the same rows record mode would give
    rows = [json.loads(line) for url in rejected["manifest"] for line in read_jsonl(url)]
    assert [(r["id"], r["rule_names"]) for r in rows] == [
        (2, "alloc_qty_positive,packed_not_above_allocated"),
        (3, "packed_not_above_allocated"),
        (5, "schema,alloc_qty_positive,packed_not_above_allocated"),
    ]
    record_mode = run_mapper(
        {}, [allocation_schema, *({"type": "RECORD", "stream": "allocation", "record": r} for r in records)]
    )
    expected = record_mode.records("allocation_rejected")
    for row, want in zip(rows, expected, strict=True):
        assert {**row, "rejected_at": None} == {**want, "rejected_at": None}

    # the invariant per file and in the summary; input files removed once consumed
    assert (
        f"BATCH file {first} (stream 'allocation'): 3 in, 1 passed, 2 quarantined, 0 dropped" in result.stderr
    )
    assert (
        f"BATCH file {second} (stream 'allocation'): 3 in, 2 passed, 1 quarantined, 0 dropped"
        in result.stderr
    )
    assert result.outcome("allocation", "passed") == 3
    assert result.outcome("allocation", "quarantined") == 3
    assert not (tmp_path / "in-1.jsonl.gz").exists() and not (tmp_path / "in-2.jsonl.gz").exists()
    assert not list(tmp_path.glob("*.part"))


def test_keep_files_plain_jsonl_and_batch_config(run_mapper, allocation_schema, records, tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", records, gzipped=False)
    out_dir = tmp_path / "validated"
    config = {
        "keep_batch_files": True,
        "batch_config": {
            "encoding": {"format": "jsonl", "compression": "gzip"},
            "storage": {"root": str(out_dir), "prefix": "wms-"},
        },
    }
    result = run_mapper(config, [allocation_schema, batch([source], compression="none")])
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "in.jsonl").exists()  # kept
    passed = result.of("BATCH", "allocation")[0]
    assert passed["encoding"] == {"format": "jsonl", "compression": "gzip"}
    (url,) = passed["manifest"]
    assert url.startswith(out_dir.as_uri() + "/wms-mapper-wms-validate--allocation-")
    assert [json.loads(line)["id"] for line in read_jsonl(url)] == [1, 4, 6]

    # without batch_config: the input's own directory and encoding (plain JSONL here)
    result = run_mapper({}, [allocation_schema, batch([source], compression="none")])
    passed = result.of("BATCH", "allocation")[0]
    assert passed["encoding"] == {"format": "jsonl", "compression": "none"}
    assert passed["manifest"][0].startswith(tmp_path.as_uri() + "/") and passed["manifest"][0].endswith(
        ".jsonl"
    )
    assert not (tmp_path / "in.jsonl").exists()  # removed


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_passed_lines_keep_their_order_across_chunks_and_paths(
    gzipped, run_mapper, allocation_schema, make_allocation, tmp_path
):
    # more than a read chunk (1 MiB) of records; some pass only through the full path (spaced lines,
    # 4.0 for an integer), some are rejected, one line is blank, one ends in CRLF, one is longer than a
    # read chunk, the last has no line end: the passed file holds the passed lines, byte for byte (each
    # with a line end), in their input order, and the counts balance
    lines, passed, rejected = [], [], []
    for i in range(1, 12_001):
        record = make_allocation(i, order_dtl_id_key="ODL-" + "x" * 100)["record"]
        if i % 997 == 0:
            record["alloc_qty"] = 0
        if i % 1009 == 0:
            record["id"] = float(i)
        if i == 7000:
            record["order_dtl_id_key"] = "y" * (3 << 19)
        line = json.dumps(record).encode() if i % 1013 == 0 else compact(record).rstrip(b"\n")
        if i == 3000:
            line += b"\r"
        lines.append(line)
        (rejected if i % 997 == 0 else passed).append(line + b"\n")
        if i == 6000:
            lines.append(b"")
    source = tmp_path / "in.jsonl"
    body = b"\n".join(lines)  # no line end after the last line
    source.write_bytes(gzip.compress(body) if gzipped else body)
    assert len(body) > 3 << 20
    compression = "gzip" if gzipped else "none"
    result = run_mapper({}, [allocation_schema, batch([source.as_uri()], compression=compression)])
    assert result.returncode == 0, result.stderr[-3000:]
    (url,) = result.of("BATCH", "allocation")[0]["manifest"]
    assert read_jsonl(url) == passed
    (quarantine,) = result.of("BATCH", "allocation_rejected")[0]["manifest"]
    assert [json.loads(line)["id"] for line in read_jsonl(quarantine)] == [
        json.loads(line)["id"] for line in rejected
    ]
    assert (
        f"BATCH file {source.as_uri()} (stream 'allocation'): 12000 in, {len(passed)} passed, "
        f"{len(rejected)} quarantined, 0 dropped" in result.stderr
    )


def test_drop_and_all_valid_files(run_mapper, allocation_schema, records, tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl.gz", records)
    result = run_mapper({"on_invalid": "drop"}, [allocation_schema, batch([source])])
    assert result.returncode == 0, result.stderr[-3000:]
    assert [m["stream"] for m in result.of("BATCH")] == ["allocation"]  # nothing quarantined: no file
    assert result.of("SCHEMA", "allocation_rejected") == []
    assert (
        f"BATCH file {source} (stream 'allocation'): 6 in, 3 passed, 0 quarantined, 3 dropped"
        in result.stderr
    )


def test_fail_in_a_batch_file_names_it_and_leaves_no_output(run_mapper, allocation_schema, records, tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl.gz", records)
    result = run_mapper({"on_invalid": "fail"}, [STATE, allocation_schema, batch([source])])
    assert result.returncode != 0
    assert f"line 3: BATCH file {source!r}, record 2: record with key {{'id': 2}}" in result.stderr
    assert result.of("BATCH") == [] and result.messages[0] == STATE
    assert sorted(p.name for p in tmp_path.iterdir() if "in.jsonl" in p.name or "mapper" in p.name) == [
        "in.jsonl.gz"
    ]


def test_missing_and_malformed_files_are_clear_errors(run_mapper, allocation_schema, records, tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl.gz", records)
    missing = (tmp_path / "missing.jsonl.gz").as_uri()
    result = run_mapper({}, [allocation_schema, batch([good, missing])])
    assert result.returncode != 0
    assert f"line 2: BATCH for stream 'allocation': BATCH file {missing!r} does not exist" in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "good.jsonl.gz").exists()  # nothing consumed
    assert not list(tmp_path.glob("mapper-wms-validate--*"))  # nothing half-written left behind

    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(compact(records[0]) + b'{"id": 2, \n')
    result = run_mapper({}, [allocation_schema, batch([broken.as_uri()], compression="none")])
    assert result.returncode != 0
    assert f"BATCH file {broken.as_uri()!r}, line 2: not valid JSON" in result.stderr

    not_gzip = tmp_path / "plain.jsonl.gz"
    not_gzip.write_bytes(compact(records[0]))
    result = run_mapper({}, [allocation_schema, batch([not_gzip.as_uri()])])
    assert result.returncode != 0
    assert f"BATCH file {not_gzip.as_uri()!r} is not a valid gzip file" in result.stderr

    result = run_mapper({}, [batch([good])])
    assert "line 1: BATCH for stream 'allocation' arrived before any SCHEMA" in result.stderr
    result = run_mapper({}, [allocation_schema, {**batch([good]), "encoding": {"format": "csv"}}])
    assert "unsupported BATCH format 'csv'" in result.stderr


def test_parquet_without_pyarrow_names_the_file_and_the_extra(run_mapper, allocation_schema, tmp_path):
    # hide pyarrow whether or not it is installed: a package of that name that fails to import
    shadow = tmp_path / "shadow" / "pyarrow"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('pyarrow hidden by the test')\n")
    source = tmp_path / "in.parquet"
    source.write_bytes(b"PAR1")
    message = {**batch([source.as_uri()]), "encoding": {"format": "parquet", "compression": "none"}}
    result = run_mapper({}, [allocation_schema, message], env={"PYTHONPATH": str(tmp_path / "shadow")})
    assert result.returncode != 0
    assert f"BATCH file {source.as_uri()!r} is Parquet" in result.stderr
    assert "pip install 'mapper-wms-validate[parquet]'" in result.stderr
    assert source.exists()


def test_batch_and_records_mix_in_one_stream(
    run_mapper, allocation_schema, make_allocation, records, tmp_path
):
    source = write_jsonl(tmp_path / "in.jsonl.gz", records[:2])
    result = run_mapper(
        {},
        [allocation_schema, make_allocation(10, alloc_qty=0), batch([source]), make_allocation(11), STATE],
    )
    assert result.returncode == 0, result.stderr[-3000:]
    kinds = [(m["type"], m.get("stream")) for m in result.messages]
    assert kinds == [
        ("SCHEMA", "allocation"),
        ("SCHEMA", "allocation_rejected"),  # sent once, before the first reject
        ("RECORD", "allocation_rejected"),
        ("BATCH", "allocation"),
        ("BATCH", "allocation_rejected"),
        ("RECORD", "allocation"),
        ("STATE", None),
    ]
    assert result.outcome("allocation", "passed") == 2
    assert result.outcome("allocation", "quarantined") == 2


# --- BATCH files on remote storage ---------------------------------------------------------------------
# Manifests and `batch_config.storage.root` as fsspec URLs of a filesystem that is not the local one:
# `wmsremote://<bucket>/<key>`, an object-store-like fsspec filesystem (a `DirFileSystem` over one local
# folder, so that separate processes on this machine share it) with a universal-pathlib path class like
# S3's. A `sitecustomize` module on PYTHONPATH registers it in each process, as an installed fsspec
# package (s3fs, gcsfs, adlfs) registers its protocol.

PROTOCOL = "wmsremote"
SITECUSTOMIZE = '''
"""Registers the `wmsremote://` fsspec filesystem: the folder named by WMSREMOTE_ROOT."""
import os

import fsspec
import upath.registry
from fsspec.implementations.dirfs import DirFileSystem
from fsspec.implementations.local import LocalFileSystem
from upath.implementations.cloud import CloudPath


class WmsRemoteFileSystem(DirFileSystem):
    protocol = "wmsremote"
    sep = "/"

    def __init__(self, *args, **kwargs):
        super().__init__(path=os.environ["WMSREMOTE_ROOT"], fs=LocalFileSystem())


class WmsRemotePath(CloudPath):
    __slots__ = ()


fsspec.register_implementation("wmsremote", WmsRemoteFileSystem, clobber=True)
upath.registry.register_implementation("wmsremote", WmsRemotePath, clobber=True)
'''


@pytest.fixture
def remote(tmp_path, monkeypatch) -> tuple[Path, dict[str, str]]:
    """The remote filesystem's folder (a bucket `b` in it) and the environment that registers it in the
    mapper's process; it is registered in this process too, to read what the mapper wrote."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    root = tmp_path / "remote"
    (root / "b" / "in").mkdir(parents=True)
    monkeypatch.setenv("WMSREMOTE_ROOT", str(root))
    spec = importlib.util.spec_from_file_location("wmsremote_site", site / "sitecustomize.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    paths = [str(site), *(p for p in sys.path if p)]
    return root, {"WMSREMOTE_ROOT": str(root), "PYTHONPATH": ":".join(paths)}


def read_url(url: str) -> list[bytes]:
    from upath import UPath

    data = UPath(url).read_bytes()
    return (gzip.decompress(data) if url.endswith(".gz") else data).splitlines(keepends=True)


@pytest.fixture
def remote_records(make_allocation) -> list[dict]:
    """Three allocation records: 1 and 3 valid, 2 breaks a default rule."""
    return [
        make_allocation(1)["record"],
        make_allocation(2, alloc_qty=0)["record"],
        make_allocation(3)["record"],
    ]


@pytest.mark.parametrize("root", ["wmsremote://b/out", None], ids=["storage root", "beside the input"])
def test_batch_files_read_and_written_on_a_remote_filesystem(
    run_mapper, allocation_schema, remote_records, remote, root
):
    records = remote_records
    folder, env = remote
    (folder / "b" / "in" / "part-1.jsonl.gz").write_bytes(gzip.compress(b"".join(map(compact, records))))
    url = f"{PROTOCOL}://b/in/part-1.jsonl.gz"
    config = {"batch_config": {"storage": {"root": root}}} if root else {}
    result = run_mapper(config, [allocation_schema, batch([url]), STATE], env=env)
    assert result.returncode == 0, result.stderr[-3000:]

    (passed,) = result.of("BATCH", "allocation")
    (rejected,) = result.of("BATCH", "allocation_rejected")
    where = root or f"{PROTOCOL}://b/in"
    for manifest in (passed["manifest"], rejected["manifest"]):
        assert len(manifest) == 1 and manifest[0].startswith(where + "/mapper-wms-validate--")
    # what the target reads: any process with the filesystem installed opens these URLs
    assert read_url(passed["manifest"][0]) == [compact(records[0]), compact(records[2])]
    assert [json.loads(line)["record"]["id"] for line in read_url(rejected["manifest"][0])] == [2]
    # the input was consumed and removed; no part file is left
    assert not (folder / "b" / "in" / "part-1.jsonl.gz").exists()
    assert not list(folder.rglob("*.part"))


def test_a_missing_remote_file_names_the_stream_and_url(
    run_mapper, allocation_schema, remote_records, remote
):
    records = remote_records
    folder, env = remote
    (folder / "b" / "in" / "good.jsonl.gz").write_bytes(gzip.compress(compact(records[0])))
    good, missing = f"{PROTOCOL}://b/in/good.jsonl.gz", f"{PROTOCOL}://b/in/missing.jsonl.gz"
    config = {"batch_config": {"storage": {"root": f"{PROTOCOL}://b/out"}}}
    result = run_mapper(config, [allocation_schema, batch([good, missing])], env=env)
    assert result.returncode != 0
    assert f"line 2: BATCH for stream 'allocation': BATCH file {missing!r} does not exist" in result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert (folder / "b" / "in" / "good.jsonl.gz").exists()  # nothing consumed
    assert not [p for p in folder.rglob("*") if p.is_file() and "mapper-wms-validate" in p.name]


@pytest.mark.parametrize("read_bytes", [1, 7, 64, 1 << 20])
@pytest.mark.parametrize("final_line_end", [True, False])
def test_chunks_give_back_the_lines_as_read(monkeypatch, read_bytes, final_line_end):
    """Runs of a chunk's lines, between lines taken out one by one (as the engine's undecided lines
    are), come back as the bytes read, whatever the lines' lengths against the size of a read."""
    import io
    import random

    from mapper_wms_validate import batch as batch_module

    monkeypatch.setattr(batch_module, "READ_CHUNK_BYTES", read_bytes)
    rng = random.Random(read_bytes)
    lines = [b"x" * rng.choice([0, 1, 5, 30, 200]) + str(n).encode() for n in range(300)]
    data = b"\n".join(lines) + (b"\n" if final_line_end else b"")
    out: list[bytes] = []
    seen: list[bytes] = []
    for chunk in batch_module.jsonl_chunks("mem", io.BytesIO(data), "none"):
        seen += [line.removesuffix(b"\n") for line in chunk.lines]
        assert all(line.endswith(b"\n") for line in chunk.lines)
        taken = sorted(rng.sample(range(len(chunk.lines)), rng.randrange(len(chunk.lines) + 1) // 3))
        start = 0
        for stop in [*taken, len(chunk.lines)]:
            if stop > start:
                out += [bytes(piece) for piece in chunk.text(start, stop)]
            if stop < len(chunk.lines):
                out.append(chunk.lines[stop])
            start = stop + 1
    assert seen == lines
    assert b"".join(out) == b"\n".join(lines) + b"\n"

"""Target benchmark: target-oracle loading the tap's real output into a fresh DuckDB file.

Subjects, interleaved in one run on the same input (bench.inputs.singer_allocation(N)):
- `target-oracle upsert` and `target-oracle append-only`: the CLI with `sqlalchemy_url: duckdb:///...`;
- `target-oracle upsert, duckdb_memory_limit 16GB`: the same with DuckDB's memory as good as uncapped (what
  the default was before `auto`, DuckDB's own 80% of RAM), beside the default `auto` of the first subject;
- `..., duckdb_threads 0`: the upsert and the 10k-file BATCH with DuckDB's own thread count (one per core)
  instead of the target's default of one thread;
- `target-oracle upsert re-load`: the same upsert into a table that already holds every row (MERGE updates);
- `target-oracle BATCH upsert`: the records as BATCH messages, one per gzip JSONL file of 100,000 records;
- `target-oracle BATCH upsert, 10k plain files`: the tap's shape in the full-sync jobs of meltano.yml: one
  BATCH message per plain JSONL file of 10,000 records, a STATE after each;
- `target-oracle BATCH upsert, mapper's files`: what the target reads in those jobs: the same files passed
  through mapper-wms-validate (made once), per input file one BATCH message of its passed records, one of its
  quarantined records (`allocation_rejected`) and the STATE; measured even with `--lean`;
- peer `target-duckdb` (PyPI, its own venv), with its metadata columns on (as ours);
- floor `duckdb read_json`: a small program running `CREATE TABLE AS SELECT * FROM read_json(...)` on the
  record payloads, extracted once to JSONL outside the timing.

`--revisions REV ...` adds `target-oracle upsert @ REV`, `target-oracle BATCH upsert, mapper's files @ REV`
and (without `--lean`) `target-oracle BATCH upsert, 10k plain files @ REV`: the target as it was at those
commits (git worktrees under .bench/, run with PYTHONPATH on their target-oracle), so a change is measured
before/after in the same run.

    .venv/bin/python -m bench.target --rows 100000 1000000 --repeats 3
    .venv/bin/python -m bench.target --rows 100000 --repeats 2 --no-peer --revisions 7d4c6b9
    .venv/bin/python -m bench.target --rows 200000 1000000 --repeats 1 --lean --no-reload \
        --peer-max-rows 200000 --revisions c73b8c9
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from bench import harness
from bench.harness import DATA, DEV_BIN, WORK, interleaved, measure, ratio_table, save, venv_tool
from bench.inputs import singer_allocation
from bench.tap import worktree

SUITE = "target"
PEER_REQUIREMENTS = ["target-duckdb"]
#: BATCH file shapes: (records per file, compression); the second is what meltano.yml's full syncs send.
BATCH_SHAPES = ((100_000, "gzip"), (10_000, "none"))

FLOOR_PROGRAM = """
import sys, duckdb
con = duckdb.connect(sys.argv[2])
sql = "CREATE TABLE allocation AS SELECT * FROM read_json(?, format='newline_delimited')"
con.execute(sql, [sys.argv[1]])
con.close()
"""


def records_jsonl(singer: Path) -> Path:
    """The RECORD payloads of a Singer file, one JSON object a line (made once, outside any timing)."""
    out = singer.with_name(singer.name.replace(".singer.jsonl", ".records.jsonl"))
    if out.exists() and out.with_suffix(".ok").exists():
        return out
    with open(singer, "rb") as fin, open(out, "wb") as fout:
        for line in fin:
            if b'"RECORD"' in line[:40]:
                fout.write(json.dumps(json.loads(line)["record"], separators=(",", ":")).encode() + b"\n")
    out.with_suffix(".ok").write_text("ok")
    return out


def _record_chunks(singer: Path, size: int) -> Iterator[list[bytes]]:
    """The record payloads of a Singer file as compact JSON lines, `size` at a time."""
    chunk: list[bytes] = []
    with open(singer, "rb") as fin:
        for line in fin:
            if b'"RECORD"' in line[:40]:
                chunk.append(json.dumps(json.loads(line)["record"], separators=(",", ":")).encode() + b"\n")
                if len(chunk) == size:
                    yield chunk
                    chunk = []
    if chunk:
        yield chunk


def batch_messages(singer: Path, work: Path, file_rows: int, compression: str) -> tuple[Path, Path]:
    """A Singer file (SCHEMA, one BATCH message per JSONL file of `file_rows` records, and STATE: after each
    file in the new shapes, as the tap sends them) and the folder of its files.

    Made once per size and shape in `.bench/data/`; every run copies the files (the target removes them).
    """
    shape = f"{file_rows}-{compression}"
    legacy = (file_rows, compression) == BATCH_SHAPES[0]  # the first shape keeps its names (cached data)
    folder = DATA / (f"{singer.stem}.batch-files" if legacy else f"{singer.stem}.batch-files-{shape}")
    stream_file = DATA / (f"{singer.stem}.batch.jsonl" if legacy else f"{singer.stem}.batch-{shape}.jsonl")
    if stream_file.exists() and stream_file.with_suffix(".ok").exists():
        return stream_file, folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with open(singer, "rb") as fin:
        lines = fin.readlines(1 << 20)
        schema = next(line for line in lines if b'"SCHEMA"' in line[:40])
    with open(singer, "rb") as fin:
        state = [line for line in fin if b'"STATE"' in line[:40]][-1]
    suffix = ".json.gz" if compression == "gzip" else ".jsonl"
    with open(stream_file, "wb") as fout:
        fout.write(schema)
        for i, chunk in enumerate(_record_chunks(singer, file_rows)):
            name = f"allocation-{i:04d}{suffix}"
            if compression == "gzip":
                with gzip.open(folder / name, "wb", compresslevel=1) as out:
                    out.writelines(chunk)
            else:
                (folder / name).write_bytes(b"".join(chunk))
            batch = {
                "type": "BATCH",
                "stream": "allocation",
                "encoding": {"format": "jsonl", "compression": compression},
                "manifest": [(work / "batch-files" / name).as_uri()],
            }
            fout.write(json.dumps(batch).encode() + b"\n")
            if not legacy:  # a state per file, each one new (the target skips a repeated state)
                progress = {"bookmarks": {"allocation": {"batch_files_sent": i + 1}}}
                fout.write(json.dumps({"type": "STATE", "value": progress}).encode() + b"\n")
        if legacy:
            fout.write(state)
    stream_file.with_suffix(".ok").write_text("ok")
    return stream_file, folder


def mapper_batch_messages(singer: Path, work: Path) -> tuple[Path, Path]:
    """The 10k plain-file BATCH shape passed through mapper-wms-validate (default rules, as the full-sync
    jobs run it): a Singer file of its BATCH messages (passed and quarantined records) and STATEs, and the
    folder of its files. Made once per size in `.bench/data/`; every run copies the files to
    `work/mapper-batch-files`, where the manifests point (the target removes them)."""
    stream_file = DATA / f"{singer.stem}.batch-mapped.jsonl"
    folder = DATA / f"{singer.stem}.batch-files-mapped"
    if stream_file.exists() and stream_file.with_suffix(".ok").exists():
        return stream_file, folder
    tap_stream, tap_files = batch_messages(singer, work, *BATCH_SHAPES[1])
    shutil.rmtree(work / "batch-files", ignore_errors=True)
    shutil.copytree(tap_files, work / "batch-files")
    out = work / "mapper-batch-files"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    config = _config(work / "mapper.json", batch_config={"storage": {"root": str(out)}})
    measure([DEV_BIN / "mapper-wms-validate", "--config", config], stdin=tap_stream, stdout=stream_file)
    shutil.rmtree(folder, ignore_errors=True)
    shutil.move(out, folder)
    stream_file.with_suffix(".ok").write_text("ok")
    return stream_file, folder


def _config(file: Path, **values: object) -> Path:
    file.write_text(json.dumps(values))
    return file


def _fresh(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)


def _target(ours: Path, revision: str | None) -> tuple[list[str | Path], dict[str, str] | None]:
    """The command running target-oracle: the dev venv's, or the code as it was at `revision` (a worktree)."""
    if revision is None:
        return [ours], None
    path = os.pathsep.join([str(worktree(revision) / "target-oracle"), os.environ.get("PYTHONPATH", "")])
    return [DEV_BIN / "python", "-m", "target_oracle.target"], {"PYTHONPATH": path}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-peer", action="store_true", help="skip target-duckdb (quick local runs)")
    parser.add_argument("--no-reload", action="store_true", help="skip the upsert re-load figure")
    parser.add_argument("--no-batch", action="store_true", help="skip the BATCH-message figure")
    parser.add_argument(
        "--lean",
        action="store_true",
        help="only the default upsert (and --revisions), the peer and the floor (no other variants)",
    )
    parser.add_argument(
        "--all-cores",
        action="store_true",
        help="with --lean, also the upsert with duckdb_threads 0 (DuckDB on every core, as the floor runs)",
    )
    parser.add_argument(
        "--peer-max-rows",
        type=int,
        default=None,
        help="run target-duckdb only for row counts up to this (it takes minutes at 1M)",
    )
    parser.add_argument(
        "--revisions", nargs="*", default=[], help="also measure the target as it was at these git commits"
    )
    args = parser.parse_args(argv)

    work = WORK / "target"
    work.mkdir(parents=True, exist_ok=True)
    ours = DEV_BIN / "target-oracle"
    peer = None if args.no_peer else venv_tool("target-duckdb", PEER_REQUIREMENTS, "target-duckdb")
    db = work / "bench.duckdb"
    reload_seed = work / "reload-seed.duckdb"
    url = f"duckdb:///{db}"
    common = {"sqlalchemy_url": url, "default_target_schema": "OIC", "table_prefix": "WMS_"}
    upsert_cfg = _config(work / "upsert.json", **common, load_method="upsert")
    append_cfg = _config(work / "append.json", **common, load_method="append-only")
    uncapped_cfg = _config(work / "uncapped.json", **common, load_method="upsert", duckdb_memory_limit="16GB")
    # DuckDB's own thread count (one per core) instead of the target's default of one thread.
    all_cores_cfg = _config(work / "all-cores.json", **common, load_method="upsert", duckdb_threads=0)
    peer_cfg = _config(
        work / "peer.json", path=str(db), default_target_schema="oic", add_metadata_columns=True
    )
    floor_py = work / "floor.py"
    floor_py.write_text(FLOOR_PROGRAM)

    figures = []
    for rows in args.rows:
        singer = singer_allocation(rows)
        records = records_jsonl(singer)
        batches = [batch_messages(singer, work, rows_, comp) for rows_, comp in BATCH_SHAPES]
        mapped = None if args.no_batch else mapper_batch_messages(singer, work)

        def run_ours(cfg: Path, singer: Path = singer, revision: str | None = None) -> harness.Run:
            _fresh(db)
            argv, env = _target(ours, revision)
            return measure([*argv, "--config", cfg], stdin=singer, env=env)

        def run_reload(singer: Path = singer) -> harness.Run:
            _fresh(db)
            shutil.copyfile(reload_seed, db)
            return measure([ours, "--config", upsert_cfg], stdin=singer)

        def run_batch(
            stream: Path,
            src: Path,
            revision: str | None = None,
            cfg: Path = upsert_cfg,
            folder: str = "batch-files",
        ) -> harness.Run:
            _fresh(db)
            shutil.rmtree(work / folder, ignore_errors=True)
            shutil.copytree(src, work / folder)
            argv, env = _target(ours, revision)
            return measure([*argv, "--config", cfg], stdin=stream, env=env)

        def run_peer(singer: Path = singer) -> harness.Run:
            _fresh(db)
            return measure([peer, "--config", peer_cfg], stdin=singer)

        def run_floor(records: Path = records) -> harness.Run:
            _fresh(db)
            return measure([DEV_BIN / "python", floor_py, records, db])

        subjects = {"target-oracle upsert": lambda: run_ours(upsert_cfg)}
        if not args.lean:
            subjects["target-oracle append-only"] = lambda: run_ours(append_cfg)
            subjects["target-oracle upsert, duckdb_memory_limit 16GB"] = lambda: run_ours(uncapped_cfg)
        if not args.lean or args.all_cores:
            subjects["target-oracle upsert, duckdb_threads 0"] = lambda: run_ours(all_cores_cfg)
        if not args.no_batch and not args.lean:
            subjects["target-oracle BATCH upsert"] = lambda b=batches[0]: run_batch(*b)
            subjects["target-oracle BATCH upsert, 10k plain files"] = lambda b=batches[1]: run_batch(*b)
            subjects["target-oracle BATCH upsert, 10k plain files, duckdb_threads 0"] = lambda b=batches[1]: (
                run_batch(*b, cfg=all_cores_cfg)
            )
        if mapped is not None:
            subjects["target-oracle BATCH upsert, mapper's files"] = lambda m=mapped: run_batch(
                *m, folder="mapper-batch-files"
            )
        for revision in args.revisions:
            subjects[f"target-oracle upsert @ {revision}"] = lambda r=revision: run_ours(
                upsert_cfg, revision=r
            )
            if mapped is not None:
                subjects[f"target-oracle BATCH upsert, mapper's files @ {revision}"] = (
                    lambda r=revision, m=mapped: run_batch(*m, revision=r, folder="mapper-batch-files")
                )
            if not args.no_batch and not args.lean:
                subjects[f"target-oracle BATCH upsert, 10k plain files @ {revision}"] = (
                    lambda r=revision, b=batches[1]: run_batch(*b, revision=r)
                )
        if not args.no_reload:
            _fresh(db)
            measure([ours, "--config", upsert_cfg], stdin=singer)
            shutil.copyfile(db, reload_seed)
            subjects["target-oracle upsert re-load"] = run_reload
        with_peer = peer is not None and (args.peer_max_rows is None or rows <= args.peer_max_rows)
        if with_peer:
            subjects["target-duckdb"] = run_peer
        subjects["duckdb read_json (floor)"] = run_floor
        notes = {}
        if with_peer:
            notes["target-duckdb"] = f"{harness.pip_version(peer.parent, 'target-duckdb')}, PyPI"
        notes["duckdb read_json (floor)"] = f"duckdb {harness.pip_version(DEV_BIN, 'duckdb')}"
        figures += interleaved(SUITE, rows, subjects, args.repeats, notes)

    versions = {
        "target-oracle": harness.pip_version(DEV_BIN, "target-oracle"),
        "singer-sdk": harness.pip_version(DEV_BIN, "singer-sdk"),
        "duckdb": harness.pip_version(DEV_BIN, "duckdb"),
    }
    if peer is not None:
        versions["target-duckdb"] = harness.pip_version(peer.parent, "target-duckdb")
    command = harness.suite_command(SUITE, argv)
    tables = [ratio_table(figures, "duckdb read_json (floor)")]
    if peer is not None:
        tables.append(ratio_table(figures, "target-duckdb"))
    markdown = f"## target\n\n`{command}`. {harness.run_context(versions, args.repeats)}\n\n" + "\n\n".join(
        tables
    )
    print(markdown)
    save(SUITE, figures, markdown)


if __name__ == "__main__":
    main()

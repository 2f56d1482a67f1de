"""Mapper benchmark: `mapper-wms-validate` (default rules) beside meltano-map-transform and two floors.

    .venv/bin/python -m bench.mapper --rows 100000 1000000 --repeats 3 [--baseline REV ...] [--skip WORD ...]

Every subject reads the tap's real Singer output for N allocation rows (bench.inputs.singer_allocation) from
a file on stdin and writes to /dev/null; the harness times it and takes its peak RSS with os.wait4.

- `mapper-wms-validate`: the console script, empty config (default rules, schema check, quarantine).
- `meltano-map-transform` (peer, the registry's latest, in its own venv): SDK stream maps with `__filter__`
  expressions equivalent to the default rules, and an `allocation_rejected` copy of the stream (`__source__`)
  with the negated filter, so it routes rejects as the mapper does. What the expressions cannot say is in
  `PEER_NOT_EXPRESSED`.
- `floor (msgspec)` / `floor (json)`: a few lines that decode every line and encode it again unchanged, with
  msgspec and with the standard library's json, through a 256 KiB output buffer: what reading and writing the
  same lines costs in Python.
- `mapper-wms-validate (BATCH jsonl)`: the same records as plain JSONL BATCH files of 10,000 records each,
  the shape of the pipeline's full sync (meltano.yml), one BATCH message per file then a STATE, as the tap
  sends them; the mapper reads, validates and writes new plain files (inputs kept, outputs removed after
  each run).
- `mapper-wms-validate (BATCH jsonl.gz)`: the same as gzipped files (level 1, tap-oracle-wms' default);
  the mapper writes gzipped files.
- `--baseline REV ...`: also the mapper as committed at each REV (a git worktree of REV under .bench/, put
  first on PYTHONPATH), in record mode and on the plain BATCH files, for before/after figures measured in
  the same run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
from collections.abc import Callable
from functools import partial
from pathlib import Path

from bench.harness import (
    DEV_BIN,
    WORK,
    Figure,
    Run,
    interleaved,
    measure,
    pip_version,
    ratio_table,
    run_context,
    save,
    suite_command,
    venv_tool,
)
from bench.inputs import singer_allocation
from bench.tap import worktree

SUITE = "mapper"
SUBJECT = "mapper-wms-validate"
PEER = "meltano-map-transform"

# The default rules (mapper_wms_validate/defaults.py) as one simpleeval condition a valid record meets.
# Null semantics as in the mapper: a null passes every check but not_null.
VALID = (
    "(id is not None and id > 0)"
    " and mod_ts is not None and datetime.datetime.fromisoformat(mod_ts) is not None"
    " and (alloc_qty is None or alloc_qty > 0)"
    " and (packed_qty is None or packed_qty >= 0)"
    " and (packed_qty is None or alloc_qty is None or packed_qty <= alloc_qty)"
    " and (status_id is None or status_id in (0, 10, 90, 99))"
)
PEER_CONFIG = {
    "stream_maps": {
        "allocation": {"__filter__": VALID},
        "allocation_rejected": {"__source__": "allocation", "__filter__": f"not ({VALID})"},
    }
}
PEER_NOT_EXPRESSED = (
    "the schema check (simpleeval has no type()/isinstance, so a string quantity is compared, not rejected); "
    "mod_ts_datetime as a predicate (no try/except: an unparseable mod_ts stops the run instead of being "
    "quarantined; the benchmark data has none); the quarantine record's contents (record_hash, violations, "
    "rule_names, rejected_at: the peer copies the record as is); per-rule counts"
)

BATCH_FILE_RECORDS = 10_000


def batch_input(source: Path, rows: int, compression: str = "gzip") -> Path:
    """The records of `source` as BATCH files (.bench/data/mapper-batch-<rows>[-plain]/), gzipped or plain,
    and the Singer input naming them: SCHEMA, then per file a BATCH message and a STATE, as a tap in batch
    mode sends them."""
    folder = source.parent / (f"mapper-batch-{rows}" + ("" if compression == "gzip" else "-plain"))
    singer = folder / "input.singer.jsonl"
    if singer.exists():
        return singer
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    messages: list[bytes] = []
    pending: list[bytes] = []
    encode = json.dumps
    suffix = ".jsonl.gz" if compression == "gzip" else ".jsonl"

    def flush() -> None:
        path = folder / f"part-{len(messages):05d}{suffix}"
        if compression == "gzip":
            with gzip.open(path, "wb", compresslevel=1) as out:
                out.writelines(pending)
        else:
            path.write_bytes(b"".join(pending))
        encoding = {"format": "jsonl", "compression": compression}
        manifest = [path.resolve().as_uri()]
        batch = {"type": "BATCH", "stream": stream, "encoding": encoding, "manifest": manifest}
        messages.append(encode(batch).encode() + b"\n")
        messages.append(encode({"type": "STATE", "value": {"files": len(messages) // 2}}).encode() + b"\n")
        pending.clear()

    stream = "allocation"
    with open(source, "rb") as lines:
        for line in lines:
            if line.startswith(b'{"type":"RECORD"'):
                # the record object as the tap wrote it: between '"record":' and ',"time_extracted"'
                start = line.index(b'"record":') + len(b'"record":')
                end = line.rindex(b',"time_extracted"')
                pending.append(line[start:end] + b"\n")
                if len(pending) == BATCH_FILE_RECORDS:
                    flush()
            elif line.startswith(b'{"type":"SCHEMA"'):
                stream = json.loads(line)["stream"]
                messages.append(line)
    if pending:
        flush()
    singer.write_bytes(b"".join(messages))
    return singer


# The floors write through a buffer of their own: with PYTHONUNBUFFERED (set on these machines) standard
# output would be unbuffered, one system call per line, and the floor would be slower than it has to be.
FLOOR_MSGSPEC = """
import os, sys, msgspec
decode, encode = msgspec.json.Decoder().decode, msgspec.json.Encoder().encode
with os.fdopen(sys.stdout.fileno(), "wb", buffering=1 << 18, closefd=False) as out:
    write = out.write
    for line in sys.stdin.buffer:
        write(encode(decode(line)) + b"\\n")
"""
FLOOR_JSON = """
import io, json, os, sys
loads, dumps = json.loads, json.dumps
with io.TextIOWrapper(os.fdopen(sys.stdout.fileno(), "wb", buffering=1 << 18, closefd=False)) as out:
    write = out.write
    for line in sys.stdin:
        write(dumps(loads(line)) + "\\n")
"""


def baseline_tree(rev: str) -> Path:
    """The mapper package as committed at `rev` (in the worktree of `rev`, see `bench.tap.worktree`)."""
    return worktree(rev) / "mapper-wms-validate"


def subjects(
    source: Path, rows: int, baselines: list[str], skip: list[str] = ()
) -> tuple[dict[str, Callable[[], Run]], dict[str, str]]:
    """The commands measured on one input file, by name, and a note for each; none whose name contains a
    word of `skip`."""
    WORK.mkdir(parents=True, exist_ok=True)
    empty = WORK / "mapper-config.json"
    empty.write_text("{}")
    peer_config = WORK / "mapper-peer-config.json"
    peer_config.write_text(json.dumps(PEER_CONFIG))
    python = DEV_BIN / "python"
    run = partial(measure, stdin=source)
    runs: dict[str, Callable[[], Run]] = {
        SUBJECT: lambda: run([DEV_BIN / SUBJECT, "--config", empty]),
    }
    notes = {SUBJECT: "default rules"}
    batch_out = WORK / "mapper-batch-out"
    batch_config = WORK / "mapper-batch-config.json"
    batch_config.write_text(
        json.dumps({"keep_batch_files": True, "batch_config": {"storage": {"root": str(batch_out)}}})
    )

    def batch_run(singer: Path, env: dict[str, str] | None = None, *argv: str | Path) -> Run:
        shutil.rmtree(batch_out, ignore_errors=True)
        try:
            command = list(argv) or [DEV_BIN / SUBJECT]
            return measure([*command, "--config", batch_config], stdin=singer, env=env)
        finally:
            shutil.rmtree(batch_out, ignore_errors=True)

    plain = batch_input(source, rows, "none")
    runs[f"{SUBJECT} (BATCH jsonl)"] = partial(batch_run, plain)
    notes[f"{SUBJECT} (BATCH jsonl)"] = f"plain files of {BATCH_FILE_RECORDS:,} records, as in the pipeline"
    runs[f"{SUBJECT} (BATCH jsonl.gz)"] = partial(batch_run, batch_input(source, rows))
    notes[f"{SUBJECT} (BATCH jsonl.gz)"] = f"{BATCH_FILE_RECORDS:,} records per file"
    for baseline in baselines:
        tree = baseline_tree(baseline)
        name = f"{SUBJECT}@{baseline}"
        runs[name] = partial(
            run,
            [python, "-m", "mapper_wms_validate.mapper", "--config", empty],
            env={"PYTHONPATH": str(tree)},
        )
        notes[name] = "before"
        runs[f"{name} (BATCH jsonl)"] = partial(
            batch_run, plain, {"PYTHONPATH": str(tree)}, python, "-m", "mapper_wms_validate.mapper"
        )
        notes[f"{name} (BATCH jsonl)"] = "before"
    if not any(word in PEER for word in skip):
        peer = venv_tool(PEER, [PEER], PEER)
        runs[PEER] = lambda: run([peer, "--config", peer_config])
        notes[PEER] = f"{pip_version(peer.parent, PEER)}, __filter__"
    runs["floor (msgspec)"] = lambda: run([python, "-c", FLOOR_MSGSPEC])
    runs["floor (json)"] = lambda: run([python, "-c", FLOOR_JSON])
    kept = {name: runs[name] for name in runs if not any(word in name for word in skip)}
    return kept, {name: notes[name] for name in kept if name in notes}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--baseline",
        nargs="+",
        default=[],
        help="also measure the mapper as committed at these git revisions",
    )
    parser.add_argument(
        "--skip",
        nargs="+",
        default=[],
        metavar="WORD",
        help="leave out the subjects whose name contains one of these words (e.g. meltano-map-transform "
        "floor jsonl.gz), for quicker runs while developing",
    )
    args = parser.parse_args(argv)

    figures: list[Figure] = []
    for rows in args.rows:
        runs, notes = subjects(singer_allocation(rows), rows, args.baseline, args.skip)
        figures += interleaved(SUITE, rows, runs, args.repeats, notes)
    versions = {
        "mapper-wms-validate": pip_version(DEV_BIN, "mapper-wms-validate"),
        "singer-sdk": pip_version(DEV_BIN, "singer-sdk"),
        "msgspec": pip_version(DEV_BIN, "msgspec"),
    }
    if any(f.subject == PEER for f in figures):
        peer_dir = venv_tool(PEER, [PEER], PEER).parent
        sdk = pip_version(peer_dir, "singer-sdk")
        versions[PEER] = f"{pip_version(peer_dir, PEER)} (on singer-sdk {sdk})"
    markdown = "\n\n".join(
        [
            f"### mapper (`{suite_command(SUITE, argv)}`)",
            ratio_table(figures, SUBJECT),
            run_context(versions, args.repeats),
            f"Peer filter (valid records): `{VALID}`; not expressible: {PEER_NOT_EXPRESSED}.",
        ]
    )
    print(markdown)
    save(SUITE, figures, markdown)


if __name__ == "__main__":
    main()

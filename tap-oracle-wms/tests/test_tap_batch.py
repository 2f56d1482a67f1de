"""BATCH mode through the real CLI against the simulator: the files hold exactly the records record
mode emits, the BATCH messages have the Singer SDK's standard shape, and every STATE follows the files
it covers."""

from __future__ import annotations

import datetime
import decimal
import gzip
import json
import signal
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pyarrow.parquet as pq
import pytest
from tap_oracle_wms.settings import validate_settings


def messages(stdout: str) -> list[dict]:
    return [json.loads(line, parse_float=decimal.Decimal) for line in stdout.splitlines()]


def local_path(uri: str) -> Path:
    parts = urlsplit(uri)
    assert parts.scheme == "file", uri
    return Path(url2pathname(parts.path))


def file_records(uri: str, encoding: dict) -> list[dict]:
    """The records of one batch file, decoded as a target would (decimals exact)."""
    path = local_path(uri)
    if encoding["format"] == "parquet":
        return pq.read_table(path).to_pylist()
    data = path.read_bytes()
    assert (data[:2] == b"\x1f\x8b") == (encoding["compression"] == "gzip"), uri
    if encoding["compression"] == "gzip":
        data = gzip.decompress(data)
    return [json.loads(line, parse_float=decimal.Decimal) for line in data.splitlines()]


def record_mode(tap_cli, config) -> list[dict]:
    result = tap_cli(config=config)
    assert result.returncode == 0, result.stderr[-2000:]
    return [m["record"] for m in messages(result.stdout) if m["type"] == "RECORD"]


def batch_mode(tap_cli, config, **kwargs) -> list[dict]:
    result = tap_cli(config=config, **kwargs)
    assert result.returncode == 0, result.stderr[-2000:]
    return messages(result.stdout)


@pytest.mark.parametrize(
    ("encoding", "suffix"),
    [
        ({"format": "jsonl", "compression": "gzip"}, ".jsonl.gz"),
        ({"format": "jsonl", "compression": "none"}, ".jsonl"),
        ({"format": "parquet", "compression": "gzip"}, ".parquet"),
        ({"format": "parquet", "compression": "none"}, ".parquet"),
    ],
)
def test_tap_batch_files_hold_exactly_the_records_of_record_mode(
    sim, make_config, tap_cli, tmp_path, encoding, suffix
):
    config = make_config(sim, entities=["allocation"])
    expected = record_mode(tap_cli, config)
    assert len(expected) == 300
    root = tmp_path / "batches"
    batch_config = {"encoding": encoding, "storage": {"root": str(root)}, "batch_size": 120}
    out = batch_mode(tap_cli, {**config, "batch_config": batch_config})

    assert not [m for m in out if m["type"] == "RECORD"]
    batches = [m for m in out if m["type"] == "BATCH"]
    assert len(batches) == 3  # 120 + 120 + 60
    got = []
    for message in batches:
        # The Singer SDK's standard BATCH message, one file per message.
        assert set(message) == {"type", "stream", "encoding", "manifest"}
        assert message["stream"] == "allocation"
        assert message["encoding"] == encoding
        assert len(message["manifest"]) == 1
        uri = message["manifest"][0]
        assert local_path(uri).parent == root.resolve()
        assert uri.endswith(suffix)
        got.append(file_records(uri, encoding))
    assert [len(chunk) for chunk in got] == [120, 120, 60]
    # Same records, same order, same values (Parquet decimals compare by value).
    assert [r for chunk in got for r in chunk] == expected
    if encoding["format"] == "jsonl":
        # JSONL: the very text of the RECORD messages' values (exact decimals, UTC timestamps).
        first = local_path(batches[0]["manifest"][0]).read_bytes()
        line = (gzip.decompress(first) if encoding["compression"] == "gzip" else first).splitlines()[0]
        assert json.loads(line, parse_float=str) == {
            k: (str(v) if isinstance(v, decimal.Decimal) else v) for k, v in expected[0].items()
        }
    assert sorted(p.name for p in root.iterdir()) == sorted(
        local_path(m["manifest"][0]).name for m in batches
    )


def test_tap_batch_state_follows_each_file(sim, make_config, tap_cli, tmp_path):
    config = make_config(sim, entities=["allocation"])
    root = tmp_path / "b"
    # 300 rows in files of 100: the last file ends exactly at the last row.
    out = batch_mode(tap_cli, {**config, "batch_config": {"storage": {"root": str(root)}, "batch_size": 100}})
    kinds = [m["type"] for m in out]
    # The first STATE says a full sync is in progress (no bookmark), its table version's ACTIVATE_VERSION
    # follows; then a STATE after each file; the closing ACTIVATE_VERSION before the final STATE.
    assert kinds == [
        "SCHEMA",
        "STATE",
        "ACTIVATE_VERSION",
        *["BATCH", "STATE"] * 3,
        "ACTIVATE_VERSION",
        "STATE",
    ]
    assert out[1]["value"]["bookmarks"]["allocation"]["replication_key_value"] is None
    seen: list[dict] = []
    for message in out[2:]:
        if message["type"] == "BATCH":
            seen += file_records(message["manifest"][0], message["encoding"])
        elif message["type"] == "STATE":
            bookmark = message["value"]["bookmarks"]["allocation"]
            # The bookmark is the latest mod_ts of the records in the files announced so far: never
            # ahead of them (a resumed run misses nothing) and never behind them (it re-reads little).
            assert bookmark["replication_key_value"] == max(r["mod_ts"] for r in seen)
    assert len(seen) == 300
    # Defaults: gzip JSONL.
    assert out[3]["encoding"] == {"format": "jsonl", "compression": "gzip"}
    # The final STATE is the finished one (no signpost left in it, the full sync marked done).
    assert out[-1]["value"]["bookmarks"]["allocation"] == {
        "full_sync": None,
        "full_sync_version": None,
        "replication_key": "mod_ts",
        "replication_key_value": max(r["mod_ts"] for r in seen),
    }


def test_tap_batch_default_root_is_local_output_batches(sim, make_config, tap_cli, tmp_path):
    config = make_config(sim, entities=["order_hdr"], batch_config={})
    out = batch_mode(tap_cli, config, cwd=tmp_path)
    batches = [m for m in out if m["type"] == "BATCH"]
    assert len(batches) == 1
    assert local_path(batches[0]["manifest"][0]).parent == (tmp_path / "output" / "batches").resolve()
    assert len(file_records(batches[0]["manifest"][0], batches[0]["encoding"])) == 30


def test_tap_batch_killed_run_resumes_after_the_last_announced_file(
    wms_sim_factory, make_config, tap_cli, tmp_path, kill_after_states
):
    sim = wms_sim_factory(sizes={"allocation": 2000, "order_dtl": 120, "order_hdr": 30, "item": 40})
    lookback = 60
    config = make_config(
        sim,
        entities=["allocation"],
        page_size=50,
        lookback_seconds=lookback,
        batch_config={"storage": {"root": str(tmp_path / "b")}, "batch_size": 100},
    )
    crashed = tap_cli(config=config, popen=True)
    read = kill_after_states(crashed, 5)  # the full-sync STATE, then one after each of four files
    announced = [m for m in read if m["type"] == "BATCH"]
    states = [m["value"] for m in read if m["type"] == "STATE"]
    assert crashed.returncode == -signal.SIGKILL
    records = [r for m in announced for r in file_records(m["manifest"][0], m["encoding"])]
    assert len(records) == 400
    bookmark = states[-1]["bookmarks"]["allocation"]["replication_key_value"]
    assert bookmark == max(r["mod_ts"] for r in records)

    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(states[-1]))
    out = messages(tap_cli("--state", str(state_file), config=config).stdout)
    resumed = [r for m in out if m["type"] == "BATCH" for r in file_records(m["manifest"][0], m["encoding"])]
    ids = {r["id"] for r in records} | {r["id"] for r in resumed}
    assert ids == set(range(1, 2001))
    floor = (datetime.datetime.fromisoformat(bookmark) - datetime.timedelta(seconds=lookback)).replace(
        microsecond=0
    )
    assert all(datetime.datetime.fromisoformat(r["mod_ts"]) >= floor for r in resumed)
    assert len({r["id"] for r in records} & {r["id"] for r in resumed}) < 100


@pytest.mark.parametrize(
    ("batch_config", "setting"),
    [
        ({"encoding": {"format": "csv"}}, "batch_config.encoding.format"),
        ({"encoding": {"compression": "zstd"}}, "batch_config.encoding.compression"),
        ({"batch_size": 0}, "batch_config.batch_size"),
    ],
)
def test_tap_batch_invalid_settings_named(batch_config, setting):
    config = {"base_url": "http://127.0.0.1:9/prod", "username": "u", "password": "p"}
    assert any(setting in e for e in validate_settings({**config, "batch_config": batch_config}))


def test_tap_batch_full_sync_only_uses_record_mode_from_a_bookmark(sim, make_config, tap_cli, tmp_path):
    config = make_config(
        sim,
        entities=["allocation"],
        batch_full_sync_only=True,
        batch_config={"storage": {"root": str(tmp_path / "b")}, "batch_size": 100},
    )
    # No state: the full sync writes files.
    full = batch_mode(tap_cli, config)
    assert [m["type"] for m in full].count("BATCH") == 3
    assert not [m for m in full if m["type"] == "RECORD"]

    # From the full sync's final state, after a change: the same extractor emits RECORD messages.
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(full[-1]["value"]))
    sim.advance_clock(600)
    sim.update("allocation", [5, 7], status_id=90)
    result = tap_cli("--state", str(state_file), config=config)
    assert result.returncode == 0, result.stderr[-2000:]
    incremental = messages(result.stdout)
    assert not [m for m in incremental if m["type"] == "BATCH"]
    changed = {m["record"]["id"] for m in incremental if m["type"] == "RECORD"}
    assert {5, 7} <= changed


@pytest.mark.parametrize("batch_size", [1, 3, 4, 5, 12, 100])
def test_tap_batch_pages_split_at_file_limits_and_never_pulled_past_one(tmp_path, batch_size):
    # Pages of 4 records (one empty) into files of `batch_size`: the files hold the records in order, the
    # records of a file are all handed to `taken` before its manifest is yielded, and the next page is
    # pulled only while a file has room.
    from singer_sdk.helpers._batch import BaseBatchFileEncoding, BatchConfig, StorageTarget
    from tap_oracle_wms.batch import write_batches

    records = [{"id": i, "q": decimal.Decimal(f"{i}.50")} for i in range(12)]
    pulled: list[dict] = []
    taken: list[dict] = []

    def pages():
        for start in (0, 4, 8, 12):
            page = records[start : start + 4]
            pulled.extend(page)
            yield page

    config = BatchConfig(
        encoding=BaseBatchFileEncoding(format="jsonl", compression="none"),
        storage=StorageTarget(root=str(tmp_path)),
        batch_size=batch_size,
    )
    files = []
    for encoding, manifest in write_batches(
        pages(), config, tap_name="t", stream_name="s", schema={}, taken=taken.extend
    ):
        in_file = file_records(manifest[0], {"format": encoding.format, "compression": encoding.compression})
        files.append(in_file)
        written = [r for f in files for r in f]
        assert taken == [{"id": r["id"], "q": r["q"]} for r in written] == records[: len(written)]
        assert len(in_file) <= batch_size
        # Nothing pulled beyond the page that filled this file.
        assert len(pulled) - len(written) < 4 or len(in_file) < batch_size
    assert [len(f) for f in files] == [min(batch_size, 12 - i) for i in range(0, 12, batch_size)]

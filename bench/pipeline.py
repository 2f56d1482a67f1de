"""Pipeline benchmark: `meltano run tap-oracle-wms mapper-wms-validate target-oracle`, simulator -> DuckDB.

    .venv/bin/python -m bench.pipeline --rows 100000 1000000 --repeats 3
    .venv/bin/python -m bench.pipeline --rows 1000000 --repeats 5 --no-record --no-shell --incremental-rows 0

Measured interleaved in one run, per row count, on one `wms-simulator` process of N allocation rows, warm
by default (`bench.inputs.allocation_simulator(rows, warm=True)`: every allocation page rendered once before
the timing and then served from the simulator's page cache, so the plugins, not our Python stand-in for
Oracle's servers, are what the 2 cores spend their time on; `--cold` renders each page on request as before):
- `meltano run (record)`: the repo's Meltano project (environment `local`), the base extractor restricted to
  allocation, into a fresh DuckDB file and a fresh Meltano system database (so a full sync) every run;
- `meltano run (batch)`: the same, through `tap-oracle-wms--allocation` (the extractor of the
  `allocation_full_sync` job), which meltano.yml puts in BATCH mode; only when meltano.yml declares it;
- `floor: meltano run (pass-through)`: the benchmark-only project bench/floor/ with do-nothing plugins (a tap
  that cats the tap's own output file for N rows, a mapper that copies stdin, a target that discards it):
  what Meltano's line-by-line relay costs, whatever the plugins do;
- `shell pipe (record)`: the three real plugins joined by a bare shell pipe, without Meltano (context).

Then `incremental`: on a table of `--incremental-rows` rows loaded by a full run, each repeat changes
`--changed` rows through the simulator's admin endpoint (POST {base}/__sim__/update) and times one
incremental `meltano run` (state kept in the system database) that picks them up.

Peak RSS is os.wait4's ru_maxrss of `meltano run` and its descendants: the largest single process among
them (Meltano itself or one plugin), not their sum. For the record and BATCH runs a second table splits their
CPU by process (tap, its catalog discovery, mapper, target, Meltano, the simulator), sampled from /proc
(bench/procs.py): where a pipeline's seconds go.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import statistics
import sys
import time
import typing as t
from collections.abc import Callable
from pathlib import Path

import duckdb
import yaml

from bench.harness import (
    DEV_BIN,
    REPO,
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
)
from bench.inputs import SIM_PASSWORD, SIM_USERNAME, allocation_simulator, singer_allocation
from bench.procs import timed_stages
from tests.pipeline import MELTANO, Pipeline, Simulator, ensure_meltano, meltano_install

SUITE = "pipeline"
HERE = WORK / "pipeline"
FLOOR_PROJECT = REPO / "bench" / "floor"
RECORD = "meltano run (record)"
BATCH = "meltano run (batch)"
FLOOR = "floor: meltano run (pass-through)"
SHELL = "shell pipe (record)"
INCREMENTAL = "incremental meltano run (record)"
INCREMENTAL_BATCH = "incremental meltano run (batch)"
# The plugins of the product's pipeline, and the per-entity extractor the BATCH full sync uses.
PIPELINE = ("tap-oracle-wms", "mapper-wms-validate", "target-oracle")
BATCH_EXTRACTOR = "tap-oracle-wms--allocation"
ALLOCATION_TABLE = 'OIC."WMS_ALLOCATION"'


def batch_declared() -> bool:
    """Whether meltano.yml puts the allocation extractor in BATCH mode (a `batch_config` in its config)."""
    project = yaml.safe_load((REPO / "meltano.yml").read_text())
    for plugin in project["plugins"]["extractors"]:
        if plugin["name"] == BATCH_EXTRACTOR:
            return bool((plugin.get("config") or {}).get("batch_config"))
    return False


def _pipeline(workdir: Path, base_url: str) -> Pipeline:
    """The repo's Meltano project on `local`, pointed at the simulator, allocation only, files in workdir."""
    return Pipeline(
        workdir=workdir,
        base_url=base_url,
        extra_env={
            "TAP_ORACLE_WMS_ENTITIES": '["allocation"]',
            "MELTANO_LOG_LEVEL": "info",
        },
    )


def _fresh(workdir: Path) -> Path:
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    return workdir


def loaded_rows(duckdb_path: Path) -> int:
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        return con.execute(f"select count(*) from {ALLOCATION_TABLE}").fetchone()[0]


def rejected_rows(duckdb_path: Path) -> int:
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        tables = {
            row[0] for row in con.execute("select table_name from information_schema.tables").fetchall()
        }
        if "WMS_ALLOCATION_REJECTED" not in tables:
            return 0
        return con.execute('select count(*) from OIC."WMS_ALLOCATION_REJECTED"').fetchone()[0]


def _check_loaded(duckdb_path: Path, rows: int, what: str) -> None:
    """Every row either loaded or quarantined: a figure of a run that lost rows is no figure."""
    got = loaded_rows(duckdb_path) + rejected_rows(duckdb_path)
    if got != rows:
        raise RuntimeError(f"{what}: {got} rows loaded + quarantined, expected {rows} ({duckdb_path})")


def meltano_run(pipeline: Pipeline, *blocks: str, full_refresh: bool = False) -> Run:
    """One measured `meltano run`, from the repository root, with the pipeline's environment."""
    pipeline.workdir.mkdir(parents=True, exist_ok=True)
    log = pipeline.workdir / "meltano.log"
    argv = [str(MELTANO), "run", *(["--full-refresh"] if full_refresh else []), *blocks]
    # Its log in the run's own file (the harness's stderr file is shared by every suite on the machine);
    # `exec` keeps one process, so wait4 still measures meltano itself.
    shell = f"exec {shlex.join(argv)} 2>{shlex.quote(str(log))}"
    run = measure(["bash", "-c", shell], env=pipeline.env(), cwd=REPO, check=False)
    if run.returncode != 0:
        errors = [line for line in log.read_text(errors="replace").splitlines() if "Quarantined" not in line]
        raise RuntimeError(
            f"meltano run {' '.join(blocks)} failed ({run.returncode}), see {log}:\n"
            + "\n".join(errors[-60:])
        )
    return run


#: CPU seconds by stage of each sampled run: {(subject, rows): [{stage: seconds}, ...]}.
STAGES: dict[tuple[str, int], list[dict[str, float]]] = {}
STAGE_ORDER = ("tap (discovery)", "tap", "mapper", "target", "meltano", "simulator")


def with_stages(subject: str, rows: int, run: Callable[[], Run]) -> Callable[[], Run]:
    """run, with the CPU of each process of the pipeline sampled and kept in STAGES."""

    def sampled() -> Run:
        result, stages, _ = timed_stages(run)
        STAGES.setdefault((subject, rows), []).append(stages)
        return t.cast("Run", result)

    return sampled


def stage_table(figures: list[Figure]) -> str:
    """Median CPU seconds by stage for each sampled subject, beside the run's wait4 total."""
    lines = [
        "| subject | rows | " + " | ".join(STAGE_ORDER) + " | sum sampled | CPU (wait4) | wall (s) |",
        "|---|---:|" + "---:|" * (len(STAGE_ORDER) + 3),
    ]
    for f in figures:
        runs = STAGES.get((f.subject, f.rows))
        if not runs:
            continue
        medians = [statistics.median(r.get(stage, 0.0) for r in runs) for stage in STAGE_ORDER]
        lines.append(
            f"| {f.subject} | {f.rows:,} | "
            + " | ".join(f"{m:.1f}" for m in medians)
            + f" | {sum(medians):.1f} | {f.cpu_s:.1f} | {f.wall_s:.1f} |"
        )
    return "\n".join(lines)


def record_subject(base_url: str, rows: int, name: str = "record") -> Callable[[], Run]:
    def run() -> Run:
        pipeline = _pipeline(_fresh(HERE / f"{name}-{rows}"), base_url)
        result = meltano_run(pipeline, *PIPELINE)
        _check_loaded(pipeline.duckdb_path, rows, RECORD)
        return result

    return run


def _batch_pipeline(workdir: Path, base_url: str, overrides: dict[str, str] | None = None) -> Pipeline:
    """The BATCH pipeline: the allocation extractor of meltano.yml, its files under workdir/files.

    overrides: parts of its batch_config, e.g. {"encoding_format": "parquet", "batch_size": "10000"}.
    """
    pipeline = _pipeline(workdir, base_url)
    prefix = "TAP_ORACLE_WMS__ALLOCATION_BATCH_CONFIG"
    pipeline.extra_env[f"{prefix}_STORAGE_ROOT"] = str(workdir / "files")
    for part, value in (overrides or {}).items():
        pipeline.extra_env[f"{prefix}_{part.upper()}"] = value
    return pipeline


def _left_files(pipeline: Pipeline) -> None:
    """Every BATCH file is removed once loaded: a run that leaves some is reported."""
    files = pipeline.workdir / "files"
    left = [p.name for p in files.rglob("*") if p.is_file()] if files.exists() else []
    if left:
        print(f"[{SUITE}] warning: {len(left)} BATCH files left in {files}: {left[:3]}", file=sys.stderr)


def batch_subject(base_url: str, rows: int, overrides: dict[str, str] | None = None) -> Callable[[], Run]:
    tag = "-".join((overrides or {}).values()) or "default"

    def run() -> Run:
        pipeline = _batch_pipeline(_fresh(HERE / f"batch-{tag}-{rows}"), base_url, overrides)
        result = meltano_run(pipeline, BATCH_EXTRACTOR, *PIPELINE[1:])
        _check_loaded(pipeline.duckdb_path, rows, BATCH)
        _left_files(pipeline)
        return result

    return run


def floor_subject(rows: int) -> Callable[[], Run]:
    """`meltano run` of the pass-through plugins in bench/floor/, on the tap's own output for `rows`."""
    source = singer_allocation(rows)
    system = _fresh(HERE / f"floor-{rows}")

    def run() -> Run:
        (system / "meltano.db").unlink(missing_ok=True)
        env = {
            "BENCH_FLOOR_INPUT": str(source),
            "MELTANO_SYS_DIR_ROOT": str(system / ".meltano"),
            "MELTANO_DATABASE_URI": f"sqlite:///{system / 'meltano.db'}",
            "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MELTANO_DISABLE_TRACKING": "true",
            "MELTANO_ENVIRONMENT": "bench",
        }
        return measure(
            [MELTANO, "run", "tap-cat", "mapper-copy", "target-discard"], env=env, cwd=FLOOR_PROJECT
        )

    return run


def shell_subject(base_url: str, rows: int) -> Callable[[], Run]:
    """The three plugins of the dev venv joined by `|`, configured as the `local` environment does."""
    work = _fresh(HERE / f"shell-{rows}")
    tap_config = work / "tap.json"
    mapper_config = work / "mapper.json"
    target_config = work / "target.json"
    duckdb_path = work / "wms.duckdb"
    tap_config.write_text(
        json.dumps(
            {
                "base_url": base_url,
                "username": SIM_USERNAME,
                "password": SIM_PASSWORD,
                "entities": ["allocation"],
                "page_size": 1250,
            }
        )
    )
    mapper_config.write_text("{}")
    target_config.write_text(
        json.dumps(
            {
                "sqlalchemy_url": f"duckdb:///{duckdb_path}",
                "default_target_schema": "OIC",
                "table_prefix": "WMS_",
            }
        )
    )
    script = (
        f"set -e -o pipefail; {DEV_BIN / 'tap-oracle-wms'} --config {tap_config}"
        f" | {DEV_BIN / 'mapper-wms-validate'} --config {mapper_config}"
        f" | {DEV_BIN / 'target-oracle'} --config {target_config}"
    )

    def run() -> Run:
        for path in (duckdb_path, duckdb_path.with_suffix(".duckdb.wal")):
            path.unlink(missing_ok=True)
        result = measure(["bash", "-c", script])
        _check_loaded(duckdb_path, rows, SHELL)
        return result

    return run


# ----- incremental -------------------------------------------------------------------------------------
def _tap_record_count(log: Path) -> int:
    """RECORDs the tap reports in its record_count metrics (what the incremental run picked up)."""
    total = 0
    for line in log.read_text(errors="replace").splitlines():
        if "record_count" not in line or "tap-oracle-wms" not in line:
            continue
        # Meltano prints a structured-logging plugin's METRIC as `metric_value=N`, a plain one as JSON
        match = re.search(r'(?:"value":\s*|metric_value=)(\d+)', line)
        if match:
            total += int(match.group(1))
    return total


def incremental_figures(
    sim: Simulator, rows: int, changed: int, repeats: int, batch: bool
) -> tuple[list[Figure], list[str]]:
    """Load `rows` once, then per repeat: change `changed` rows, time one incremental run (state kept).

    The table is loaded once (in BATCH mode when meltano.yml has it, the faster way); the record-mode
    pipeline then starts from a copy of that DuckDB file and of its state (set under its own state id), so
    both modes pick up the same changed rows from the same bookmark.
    """
    record = _pipeline(_fresh(HERE / f"incremental-record-{rows}"), sim.base_url)
    subjects: dict[str, tuple[Pipeline, tuple[str, ...]]] = {INCREMENTAL: (record, PIPELINE)}
    if batch:
        loader = _batch_pipeline(_fresh(HERE / f"incremental-batch-{rows}"), sim.base_url)
        subjects[INCREMENTAL_BATCH] = (loader, (BATCH_EXTRACTOR, *PIPELINE[1:]))
    else:
        loader = record
    blocks = subjects[INCREMENTAL_BATCH if batch else INCREMENTAL][1]
    print(f"[{SUITE}] initial full load of {rows:,} rows: meltano run {' '.join(blocks)}", file=sys.stderr)
    started = time.perf_counter()
    loader.meltano("run", *blocks, timeout=7200)
    print(f"[{SUITE}] initial load took {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    if batch:
        for suffix in ("", ".wal"):
            source = Path(f"{loader.duckdb_path}{suffix}")
            if source.exists():
                shutil.copy(source, f"{record.duckdb_path}{suffix}")
        state = loader.meltano("state", "get", f"local:{BATCH_EXTRACTOR}-to-target-oracle").stdout.strip()
        record.meltano("state", "set", "--force", "local:tap-oracle-wms-to-target-oracle", state)
    notes: list[str] = []
    figures = {name: Figure(SUITE, name, changed, note=f"{rows:,}-row table") for name in subjects}
    ids = list(range(1, rows + 1))
    for i in range(repeats):
        # Spread over the table; a new set of ids (and values) every repeat.
        chosen = ids[i :: max(rows // changed, 1)][:changed]
        sim.update("allocation", chosen, {"status_id": 90 if i % 2 == 0 else 10})
        for name, (pipeline, blocks) in subjects.items():
            before = loaded_rows(pipeline.duckdb_path)
            result = meltano_run(pipeline, *blocks)
            picked = _tap_record_count(pipeline.workdir / "meltano.log")
            with duckdb.connect(str(pipeline.duckdb_path), read_only=True) as con:
                status = dict(
                    con.execute(
                        f"select status_id, count(*) from {ALLOCATION_TABLE} where id in "
                        f"(select unnest(?::bigint[])) group by 1",
                        [chosen],
                    ).fetchall()
                )
            figures[name].runs.append(result)
            line = (
                f"{name} run {i + 1}: {result.wall_s:.2f} s, {result.peak_rss_mb:.0f} MB; "
                f"tap emitted {picked:,} records (changed {changed:,}); "
                f"table {before:,} -> {loaded_rows(pipeline.duckdb_path):,} rows; "
                f"status_id of the changed ids now {status}"
            )
            print(f"[{SUITE}] {line}", file=sys.stderr, flush=True)
            notes.append(line)
    return list(figures.values()), notes


# ----- main --------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--incremental-rows", type=int, default=1_000_000, help="0 skips the incremental run")
    parser.add_argument(
        "--changed", type=int, default=10_000, help="rows changed before each incremental run"
    )
    parser.add_argument("--no-batch", action="store_true", help="skip the BATCH-mode figures")
    parser.add_argument("--no-record", action="store_true", help="skip the record-mode full sync")
    parser.add_argument(
        "--batch-variants",
        nargs="*",
        default=[],
        metavar="FORMAT-COMPRESSION",
        help="also BATCH mode with other file encodings, e.g. jsonl-none parquet-none",
    )
    parser.add_argument(
        "--batch-sizes", nargs="*", type=int, default=[], help="also BATCH mode with files of N records"
    )
    parser.add_argument("--no-shell", action="store_true", help="skip the bare shell pipe")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="full syncs from a simulator without page cache (each page rendered on request)",
    )
    parser.add_argument(
        "--no-install", action="store_true", help="skip `meltano install` (plugins up to date)"
    )
    args = parser.parse_args(argv)
    command = suite_command(SUITE, argv)

    ensure_meltano()
    if not args.no_install:
        # The plugins' venvs under .meltano/ are editable installs of this repo; reinstalling picks up any
        # dependency the plugins gained since.
        meltano_install(log=_fresh(HERE / "install") / "install.log")
    batch = batch_declared() and not args.no_batch
    if not batch and not args.no_batch:
        print(
            f"[{SUITE}] meltano.yml declares no BATCH mode for {BATCH_EXTRACTOR}: no BATCH figure",
            file=sys.stderr,
        )

    figures: list[Figure] = []
    sections: list[str] = []
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for rows in sorted(args.rows):
        singer_allocation(rows)  # the floor's input, made before any timing
        with allocation_simulator(rows, warm=not args.cold) as sim:
            subjects = {}
            if not args.no_record:
                subjects[RECORD] = with_stages(RECORD, rows, record_subject(sim.base_url, rows))
            if batch:
                subjects[BATCH] = with_stages(BATCH, rows, batch_subject(sim.base_url, rows))
                for variant in args.batch_variants:
                    fmt, _, compression = variant.partition("-")
                    encoding = {"encoding_format": fmt, "encoding_compression": compression or "none"}
                    subjects[f"{BATCH} {variant}"] = batch_subject(sim.base_url, rows, encoding)
                for size in args.batch_sizes:
                    subjects[f"{BATCH} {size:,}/file"] = batch_subject(
                        sim.base_url, rows, {"batch_size": str(size)}
                    )
            subjects[FLOOR] = floor_subject(rows)
            if not args.no_shell:
                subjects[SHELL] = shell_subject(sim.base_url, rows)
            figures += interleaved(SUITE, rows, subjects, args.repeats)

    incremental: list[Figure] = []
    incremental_notes: list[str] = []
    if args.incremental_rows:
        with allocation_simulator(args.incremental_rows) as sim:
            incremental, incremental_notes = incremental_figures(
                sim, args.incremental_rows, args.changed, args.repeats, batch
            )

    versions = {
        "meltano": pip_version(MELTANO.parent, "meltano"),
        "singer-sdk": pip_version(DEV_BIN, "singer-sdk"),
        "duckdb": pip_version(DEV_BIN, "duckdb"),
    }
    parts = [
        f"### pipeline (`{command}`, started {started})",
        "Full sync of N allocation rows, simulator -> tap -> mapper -> DuckDB, "
        + ("cold simulator (pages rendered on request)" if args.cold else "warm simulator (cached pages)")
        + "; speed relative to the pass-through `meltano run` floor (above 1.00x: faster than Meltano can "
        "relay the same records). CPU: user + system seconds of `meltano run` and every plugin it ran.",
        ratio_table(figures, FLOOR),
        "CPU seconds by process (medians; sampled from /proc every 0.1 s, so each process's last tenth of a "
        "second may be missed; `tap (discovery)` is Meltano's `--discover` run of the tap before the sync; "
        "the simulator's CPU is not part of the wait4 total):",
        stage_table(figures),
    ]
    if incremental:
        parts += [
            f"Incremental: one `meltano run` after {args.changed:,} rows of a {args.incremental_rows:,}-row "
            "table changed (rows column: changed rows; state from the previous run).",
            ratio_table(incremental, INCREMENTAL),
            "\n".join(f"- {line}" for line in incremental_notes),
        ]
    parts += [
        f"{run_context(versions, args.repeats)} Peak RSS: the largest process of the run (wait4 of "
        "`meltano run`)."
    ]
    sections.append("\n\n".join(parts))
    markdown = "\n\n".join(sections)
    print(markdown)
    save(SUITE, figures + incremental, markdown)


if __name__ == "__main__":
    main()

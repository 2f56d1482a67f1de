"""Tap benchmark: `tap-oracle-wms` extracting N allocation rows from a `wms-simulator` process to /dev/null.

Measured beside it, interleaved in one run and against the same simulator process:
- `tap (SDK writer)`: the same tap with the SDK's default message writer (simplejson, one write and flush
  per message), selected by a two-line wrapper (`SDK_WRITER_TAP` below), not by a setting of the product;
- `tap (batch jsonl)`: the same tap in BATCH mode as the full-sync jobs of meltano.yml run it (plain JSONL
  files of 10,000 records, one BATCH and one STATE line per file), files written under .bench/ and removed
  after each run;
- `floor`: the same pages (page_size 1250, sequenced mode, `ordering=mod_ts,id`, the `next_page` links as
  served) fetched and JSON-decoded with plain `requests`, no Singer.

    .venv/bin/python -m bench.tap --rows 100000 1000000 --repeats 3
    .venv/bin/python -m bench.tap --rows 100000 --repeats 3 --warm
    .venv/bin/python -m bench.tap --rows 10000000 --repeats 1 --tap-only --warm
    .venv/bin/python -m bench.tap --rows 100000 --repeats 3 --tap-only --revisions 10dca4a 29af929

`--warm` serves the pages from the simulator's page cache (`allocation_simulator(rows, warm=True)`), so the
server's share of each figure is small and the tap's own work shows; without it, the simulator generates
every page as it is requested. The tables give CPU seconds (user + system) of the measured process beside
wall time: the simulator's work is not in them, and they move less than wall time with other people's load.

`--revisions` adds the tap as it was at earlier commits (checked out as git worktrees under .bench/, run
with the current SDK and simulator), in record mode and, without `--tap-only`, in BATCH mode too, for
before/after figures measured side by side in one run.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import shutil
import subprocess
import sys
import typing as t
from pathlib import Path

from bench.harness import (
    DEV_BIN,
    REPO,
    WORK,
    interleaved,
    measure,
    pip_version,
    ratio_table,
    run_context,
    save,
    suite_command,
)
from bench.inputs import SIM_PASSWORD, SIM_USERNAME, allocation_simulator, tap_config

SUITE = "tap"
PAGE_SIZE = 1250
PYTHON = DEV_BIN / "python"
TAP = DEV_BIN / "tap-oracle-wms"

# The tap with the SDK's default writer: the class attribute set before the CLI runs, nothing else changed.
SDK_WRITER_TAP = (
    "import sys\n"
    "from singer_sdk.io_base import SingerWriter\n"
    "from tap_oracle_wms.tap import TapOracleWMS\n"
    "TapOracleWMS.message_writer_class = SingerWriter\n"
    "TapOracleWMS.cli()\n"
)

# The floor: what any extractor must do at least, one HTTP GET and one JSON decode per page.
FLOOR = (
    "import sys, requests\n"
    "base, user, password, page_size = sys.argv[1:5]\n"
    "session = requests.Session()\n"
    "session.auth = (user, password)\n"
    "session.headers['Accept'] = 'application/json'\n"
    "origin = '/'.join(base.split('/')[:3])\n"
    "url = f'{base}/wms/lgfapi/v10/entity/allocation/'\n"
    "params = {'page_size': page_size, 'page_mode': 'sequenced', 'ordering': 'mod_ts,id'}\n"
    "rows = 0\n"
    "while url:\n"
    "    response = session.get(url, params=params, timeout=60)\n"
    "    response.raise_for_status()\n"
    "    body = response.json()\n"
    "    rows += len(body['results'])\n"
    "    link = body.get('next_page')\n"
    "    url = (link if link.startswith('http') else origin + link) if link else None\n"
    "    params = None\n"
    "print(rows)\n"
)


def logged(argv: list, log: Path) -> list:
    """`argv` with its stderr sent to `log` (the harness's shared stderr file is written by other suites
    running at the same time); `exec`, so the measured process is the tap itself."""
    return ["sh", "-c", 'log="$1"; shift; exec "$@" 2>"$log"', "sh", log, *argv]


def records_counted(log: Path) -> int:
    """The records a tap run reported (the SDK's `record_count` metrics in its stderr)."""
    total = 0
    for line in log.read_text(errors="replace").splitlines():
        if '"metric":"record_count"' in line or '"metric": "record_count"' in line:
            total += int(json.loads(line.split("METRIC: ", 1)[1])["value"])
    return total


def worktree(revision: str) -> Path:
    """The repository at `revision`, checked out once under .bench/worktrees/ (the work tree is untouched)."""
    path = WORK / "worktrees" / revision
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), revision],
            check=True,
            capture_output=True,
        )
    return path


def subjects(base_url: str, rows: int, tap_only: bool, revisions: list[str]) -> dict:
    """The callables `interleaved` runs: each one full extraction of the simulator's allocation rows."""
    # One folder per size and process: runs of the suite for other sizes must not overwrite these files.
    folder = WORK / "tap-bench" / f"{rows}-{os.getpid()}"
    config = tap_config(base_url, folder / "config.json")
    batch_root = folder / "batches"
    batch_config = tap_config(
        base_url,
        folder / "config-batch.json",
        batch_config={
            "encoding": {"format": "jsonl", "compression": "none"},
            "storage": {"root": str(batch_root)},
            "batch_size": 10000,
        },
    )
    floor_out = folder / "floor.out"

    log = folder / "tap-stderr.log"

    def counted(argv: list, **kwargs: t.Any) -> object:
        run = measure(logged(argv, log), **kwargs)
        got = records_counted(log)
        if got != rows:
            raise RuntimeError(f"the tap reported {got} records, expected {rows}; see {log}")
        return run

    def tap(argv: tuple = (TAP,), env: dict | None = None) -> object:
        return counted([*argv, "--config", config], env=env)

    def sdk_writer() -> object:
        return counted([PYTHON, "-c", SDK_WRITER_TAP, "--config", config], cwd=REPO)

    def batch(argv: tuple = (TAP,), env: dict | None = None) -> object:
        shutil.rmtree(batch_root, ignore_errors=True)
        run = counted([*argv, "--config", batch_config], env=env)
        shutil.rmtree(batch_root, ignore_errors=True)
        return run

    def floor() -> object:
        run = measure(
            [PYTHON, "-c", FLOOR, base_url, SIM_USERNAME, SIM_PASSWORD, str(PAGE_SIZE)], stdout=floor_out
        )
        got = int(floor_out.read_text().strip())
        if got != rows:
            raise RuntimeError(f"floor fetched {got} rows, expected {rows}")
        return run

    def at_revision(revision: str, run: t.Callable[..., object]) -> t.Callable[[], object]:
        """`run` (tap or batch) with the tap's code as it was at `revision`."""
        source = worktree(revision) / "tap-oracle-wms"
        env = {"PYTHONPATH": os.pathsep.join([str(source), os.environ.get("PYTHONPATH", "")])}
        return lambda: run((PYTHON, "-m", "tap_oracle_wms.tap"), env=env)

    chosen: dict[str, t.Callable[[], object]] = {"tap": tap}
    chosen.update({f"tap @ {revision}": at_revision(revision, tap) for revision in revisions})
    if not tap_only:
        chosen.update({"tap (SDK writer)": sdk_writer, "tap (batch jsonl)": batch})
        chosen.update(
            {f"tap (batch jsonl) @ {revision}": at_revision(revision, batch) for revision in revisions}
        )
        chosen["floor"] = floor
    return chosen


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[100000, 1000000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tap-only", action="store_true", help="measure the tap alone (e.g. for 10M rows)")
    parser.add_argument(
        "--revisions", nargs="*", default=[], help="also measure the tap as it was at these git commits"
    )
    parser.add_argument(
        "--warm", action="store_true", help="serve the pages from the simulator's page cache (warm=True)"
    )
    args = parser.parse_args(argv)
    warm = args.warm and "warm" in inspect.signature(allocation_simulator).parameters
    if args.warm and not warm:
        print(
            "bench.tap: this tree's allocation_simulator has no warm=True; the simulator runs cold",
            file=sys.stderr,
        )
    simulator_options = {"warm": True} if warm else {}

    figures = []
    for rows in args.rows:
        with allocation_simulator(rows, **simulator_options) as sim:
            figures += interleaved(
                SUITE, rows, subjects(sim.base_url, rows, args.tap_only, args.revisions), args.repeats
            )
    reference = "tap" if args.tap_only else "floor"
    versions = {
        "singer-sdk": pip_version(DEV_BIN, "singer-sdk"),
        "msgspec": pip_version(DEV_BIN, "msgspec"),
        "requests": pip_version(DEV_BIN, "requests"),
    }
    command = suite_command(SUITE, argv)
    markdown = "\n".join(
        [
            f"### tap: {', '.join(f'{r:,}' for r in args.rows)} allocation rows, "
            f"{'warm' if warm else 'cold'} simulator -> /dev/null",
            "",
            ratio_table(figures, reference),
            "",
            f"Command: `{command}`. {run_context(versions, args.repeats)}",
        ]
    )
    print(markdown)
    save(SUITE, figures, markdown)


if __name__ == "__main__":
    main()

"""Write BENCHMARKS.md, one page: the method, the machine, the current figure of each goal, how to reproduce.

    .venv/bin/python -m bench.report --run [--rows N ...] [--repeats K]   # every suite, then the page
    .venv/bin/python -m bench.report                                       # the page only

`make bench` calls the first form. Each suite is `python -m bench.<suite>` (simulator, tap, mapper, target,
pipeline, in that order); arguments the report does not know go to every suite. The page is composed of:
the method (METHOD below), the machine and the versions installed where the page is written, the goals
with their current figures (bench/figures.md, written by hand from the suites' tables, each figure with its
date), the tables the suites saved last on this machine in .bench/results/<suite>.md (only those that
exist), and how to reproduce (REPRODUCE below). The history of the figures is in git, not in the page.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
import time
from pathlib import Path

from bench.harness import DEV_BIN, REPO, RESULTS, machine, pip_version

SUITES = ("simulator", "tap", "mapper", "target", "pipeline")
FIGURES = REPO / "bench" / "figures.md"
OUTPUT = REPO / "BENCHMARKS.md"
MELTANO_BIN = REPO / ".tools" / "meltano" / "bin"
DEV_DISTRIBUTIONS = ("singer-sdk", "msgspec", "duckdb", "sqlalchemy", "oracledb", "pyarrow")
LOCAL_DISTRIBUTIONS = ("wms-simulator", "tap-oracle-wms", "mapper-wms-validate", "target-oracle")
# Arguments a suite always gets from `--run`: the tap's figures are taken against the warm simulator, as the
# pipeline's are by default.
SUITE_ARGS = {"tap": ["--warm"]}

METHOD = """\
Each suite runs its subject beside its peer (the registry's plugin for the same job, in a venv of its own
under `.bench/venvs/`) and its floor (the least any program doing the job in Python costs: the same pages
fetched with plain `requests`, the same lines decoded and re-encoded with msgspec, DuckDB's own `read_json`,
a `meltano run` of do-nothing plugins), on the same input, interleaved in one run (A, B, C, A, B, C, ...),
and reports medians. Wall time, CPU seconds and peak RSS come from `os.wait4` on the measured program
(`bench/harness.py`). The tap and the pipeline read a `wms-simulator` process whose pages are rendered once
before the timing (a warm page cache), so the plugins, not the stand-in for Oracle's servers, use the cores.
Inputs are the tap's real output for N allocation rows, generated once into `.bench/data/`. Every run checks
its result (rows loaded plus rows quarantined equal N), or it is no figure."""

REPRODUCE = """\
On a machine with python3, pip, venv and make (the suites install their peers from the package registry):

    make bench                                         # every suite, 100k and 1M rows, 3 runs; this page
    make bench BENCH_ARGS="--rows 100000 --repeats 1"  # smaller, while developing
    .venv/bin/python -m bench.report                   # this page again, from what is saved

One suite at a time (`make dev` and, for the pipeline, `make meltano` first):

    .venv/bin/python -m bench.simulator --rows 100000 1000000 --repeats 3
    .venv/bin/python -m bench.tap --rows 100000 1000000 --repeats 3 --warm
    .venv/bin/python -m bench.mapper --rows 100000 1000000 --repeats 3
    .venv/bin/python -m bench.target --rows 100000 1000000 --repeats 3
    .venv/bin/python -m bench.pipeline --rows 100000 1000000 --repeats 3

The partitioned full sync against a slow tenant (not part of `make bench`: one cursor at 0.5 s a page reads
1M rows in about 8 minutes):

    .venv/bin/python -m bench.partitions --rows 200000 --partitions 4 8 16 --repeats 1
    .venv/bin/python -m bench.partitions --rows 1000000 --partitions 8 --repeats 1

`--help` on each lists its options (a git revision to measure beside the tree, subjects to skip). A suite
saves its tables in `.bench/results/<suite>.md`; a changed figure goes into `bench/figures.md` with its
date."""


def suite_exists(suite: str) -> bool:
    return importlib.util.find_spec(f"bench.{suite}") is not None


def run_suites(suites: list[str], passthrough: list[str]) -> list[str]:
    """Run each suite as `python -m bench.<suite> <passthrough>`; the names of those that failed."""
    failed = []
    for suite in suites:
        if not suite_exists(suite):
            print(f"bench: bench/{suite}.py does not exist: suite '{suite}' skipped", file=sys.stderr)
            continue
        argv = [sys.executable, "-m", f"bench.{suite}", *SUITE_ARGS.get(suite, []), *passthrough]
        print(f"bench: {' '.join(argv[1:])}", file=sys.stderr, flush=True)
        if subprocess.run(argv, cwd=REPO, check=False).returncode != 0:
            print(f"bench: suite '{suite}' failed; its previous results (if any) stay", file=sys.stderr)
            failed.append(suite)
    return failed


def versions() -> list[tuple[str, str]]:
    """The versions in Meltano's venv and the development venv ("not installed" when a venv is missing)."""

    def installed(bin_dir: Path, name: str) -> str:
        return pip_version(bin_dir, name) if (bin_dir / "python").exists() else "not installed"

    rows = [("meltano", installed(MELTANO_BIN, "meltano"))]
    rows += [(name, installed(DEV_BIN, name)) for name in (*LOCAL_DISTRIBUTIONS, *DEV_DISTRIBUTIONS)]
    return rows


def saved_tables() -> list[str]:
    """The tables each suite saved last on this machine, headings nested under the page's section."""
    parts = []
    for suite in SUITES:
        table = RESULTS / f"{suite}.md"
        if table.exists():
            stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(table.stat().st_mtime))
            text = re.sub(r"^#+ ", "#### ", table.read_text().strip(), flags=re.MULTILINE)
            parts.append(f"### {suite} (saved {stamp})\n\n{text}")
    return parts


def render() -> str:
    info = machine()
    parts = [
        "# Benchmarks",
        "Written by `python -m bench.report` from `bench/figures.md` and, when present, the tables of the "
        "last `make bench` on this machine. Edit `bench/figures.md`, not this file. How each figure moved "
        "over time is in `git log -- bench/figures.md`.",
        "## Method",
        METHOD,
        "## Machine and versions",
        "Where this page was written (the figures below name their own dates):",
        "\n".join(
            [
                "| | |",
                "|---|---|",
                *(f"| {key} | {value} |" for key, value in info.items()),
                *(f"| {name} | {version} |" for name, version in versions()),
                f"| page written | {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} |",
            ]
        ),
        FIGURES.read_text().strip(),
    ]
    tables = saved_tables()
    if tables:
        parts += ["## Tables of the last run on this machine (.bench/results)", *tables]
    parts += ["## How to reproduce", REPRODUCE]
    return "\n\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Other arguments (e.g. --rows 100000 --repeats 1) go to every suite with --run.",
    )
    parser.add_argument("--run", action="store_true", help="run the suites first")
    parser.add_argument("--suites", nargs="+", default=list(SUITES), choices=SUITES)
    args, passthrough = parser.parse_known_args(argv)
    failed = run_suites(args.suites, passthrough) if args.run else []
    OUTPUT.write_text(render())
    print(f"bench: wrote {OUTPUT.relative_to(REPO)}", file=sys.stderr)
    if failed:
        sys.exit(f"bench: suites failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()

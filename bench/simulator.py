"""Simulator benchmark: the tap's floor (plain `requests`) against a cold and a warm `wms-simulator`.

Two `wms-simulator` processes serve the same N allocation rows: `cold` renders every page as it is asked
(`allocation_simulator(rows)`), `warm` has a page cache that held every allocation page before the first
measured run (`allocation_simulator(rows, warm=True)`, untimed). Each run fetches and decodes every page
(page_size 1250, sequenced, `ordering=mod_ts,id`, `next_page` links as served); runs alternate between
the two. Beside the client's wall and CPU seconds, a second table gives the simulator process's own CPU
seconds per run (from /proc/<pid>/stat, before and after) and its resident memory.

    .venv/bin/python -m bench.simulator --rows 100000 1000000 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from bench.harness import Run, interleaved, measure, ratio_table, save, suite_command
from bench.inputs import SIM_PASSWORD, SIM_USERNAME, allocation_simulator
from bench.tap import FLOOR, PAGE_SIZE, PYTHON

SUITE = "simulator"
COLD, WARM = "plain requests, cold simulator", "plain requests, warm simulator"


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_rss_mb(pid: int) -> tuple[float, float]:
    """Current and peak resident memory of a process (VmRSS, VmHWM), MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def fetch_all(sim, server_cpu: list[float]) -> Callable[[], Run]:
    """One measured run of the floor against `sim`; the simulator's CPU seconds go to `server_cpu`."""

    def run() -> Run:
        before = process_cpu_s(sim.process.pid)
        result = measure([PYTHON, "-c", FLOOR, sim.base_url, SIM_USERNAME, SIM_PASSWORD, PAGE_SIZE])
        server_cpu.append(process_cpu_s(sim.process.pid) - before)
        return result

    return run


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    figures = []
    server_lines = [
        "| simulator | rows | warm-up (s, untimed) | server CPU per fetch (s, median) | RSS after (MB) "
        "| peak RSS (MB) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for rows in args.rows:
        with allocation_simulator(rows) as cold:
            start = time.perf_counter()
            with allocation_simulator(rows, warm=True) as warm:
                warm_up_s = time.perf_counter() - start
                cpu: dict[str, list[float]] = {COLD: [], WARM: []}
                runs = {COLD: fetch_all(cold, cpu[COLD]), WARM: fetch_all(warm, cpu[WARM])}
                figures += interleaved(SUITE, rows, runs, args.repeats)
                for name, sim, warmed in ((COLD, cold, "-"), (WARM, warm, f"{warm_up_s:.1f}")):
                    rss, peak = process_rss_mb(sim.process.pid)
                    server_lines.append(
                        f"| {name.split(', ')[1]} | {rows:,} | {warmed} | "
                        f"{statistics.median(cpu[name]):.2f} | {rss:.0f} | {peak:.0f} |"
                    )
    command = suite_command(SUITE, argv)
    markdown = "\n".join(
        [
            f"Command: `{command}`. The client is the tap's floor (one GET and one JSON decode per page).",
            "",
            ratio_table(figures, COLD),
            "",
            "The simulator processes (their CPU is not in the client's figures above):",
            "",
            *server_lines,
        ]
    )
    print(markdown)
    save(SUITE, figures, markdown)


if __name__ == "__main__":
    main()

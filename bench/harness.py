"""What every benchmark suite shares: timing a command with its peak RSS, medians, inputs, peers' venvs.

Why a harness of our own and not pytest-benchmark: each figure is a whole *program* (a plugin's console
script, a `meltano run`), measured from outside with `os.wait4`, which reports the peak RSS of that child
and of the descendants it waited for, and nothing else the machine runs. Peers are installed from the
package registry into venvs of their own under `.bench/venvs/`, because their singer-sdk pins clash with ours.

Every suite measures its subject and the subject's peers and floors interleaved in one run (A, B, C, A, B,
C, ...), so a noisy neighbour on the shared machine slows all of them alike and the ratios stay honest.
"""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / ".bench"
DATA = WORK / "data"
RESULTS = WORK / "results"
VENVS = WORK / "venvs"
# The development venv `make dev` builds: the four local packages, editable.
DEV_BIN = Path(sys.executable).parent


@dataclass
class Run:
    """One measured execution of a command."""

    wall_s: float
    peak_rss_mb: float
    returncode: int
    # User + system CPU seconds of the program and its waited-for descendants: less sensitive than wall
    # time to other people's load on a shared machine (but a simulator process started by the suite is
    # not a descendant of the measured program, so its work is not counted here).
    cpu_s: float = 0.0


def measure(
    argv: Sequence[str | os.PathLike[str]],
    *,
    stdin: Path | None = None,
    stdout: Path | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
) -> Run:
    """Run argv once; wall time and the peak RSS of it and its waited-for descendants (os.wait4's rusage).

    stdout defaults to /dev/null: a benchmark measures the program, not a pipe's reader. stderr goes to
    `.bench/last-stderr.log`, shown when the command fails.
    """
    WORK.mkdir(parents=True, exist_ok=True)
    err_path = WORK / "last-stderr.log"
    full_env = {**os.environ, **(env or {})}
    with (
        open(stdin or os.devnull, "rb") as fin,
        open(stdout or os.devnull, "wb") as fout,
        open(err_path, "wb") as ferr,
    ):
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(a) for a in argv], stdin=fin, stdout=fout, stderr=ferr, env=full_env, cwd=cwd
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if check and proc.returncode != 0:
        tail = err_path.read_text(errors="replace")[-3000:]
        raise RuntimeError(
            f"benchmark command failed ({proc.returncode}): {' '.join(map(str, argv))}\n{tail}"
        )
    # Linux reports ru_maxrss in KiB.
    return Run(
        wall_s=wall,
        peak_rss_mb=usage.ru_maxrss / 1024,
        returncode=proc.returncode,
        cpu_s=usage.ru_utime + usage.ru_stime,
    )


@dataclass
class Figure:
    """Medians over several runs of one subject (a plugin, a peer or a floor) on one input."""

    suite: str
    subject: str
    rows: int
    runs: list[Run] = field(default_factory=list)
    note: str = ""

    @property
    def wall_s(self) -> float:
        return statistics.median(r.wall_s for r in self.runs)

    @property
    def peak_rss_mb(self) -> float:
        return statistics.median(r.peak_rss_mb for r in self.runs)

    @property
    def cpu_s(self) -> float:
        return statistics.median(r.cpu_s for r in self.runs)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.wall_s if self.wall_s else float("inf")

    def as_dict(self) -> dict:
        return {
            "suite": self.suite,
            "subject": self.subject,
            "rows": self.rows,
            "note": self.note,
            "median_wall_s": round(self.wall_s, 3),
            "median_rows_per_s": round(self.rows_per_s, 1),
            "median_peak_rss_mb": round(self.peak_rss_mb, 1),
            "median_cpu_s": round(self.cpu_s, 3),
            "runs": [asdict(r) for r in self.runs],
        }


def interleaved(
    suite: str,
    rows: int,
    subjects: dict[str, Callable[[], Run]],
    repeats: int,
    notes: dict[str, str] | None = None,
) -> list[Figure]:
    """Run each subject `repeats` times, round-robin, so machine noise falls on all of them alike."""
    figures = {name: Figure(suite, name, rows, note=(notes or {}).get(name, "")) for name in subjects}
    for i in range(repeats):
        for name, run in subjects.items():
            result = run()
            figures[name].runs.append(result)
            print(
                f"[{suite}] {name} rows={rows} run {i + 1}/{repeats}: "
                f"{result.wall_s:.2f} s, {rows / result.wall_s:,.0f} rows/s, {result.peak_rss_mb:.0f} MB, "
                f"{result.cpu_s:.2f} s CPU",
                file=sys.stderr,
                flush=True,
            )
    return list(figures.values())


def ratio_table(figures: list[Figure], reference: str) -> str:
    """A Markdown table of the medians, with each subject's speed and memory as a ratio to `reference`."""
    ref = {f.rows: f for f in figures if f.subject == reference}
    lines = [
        "| subject | rows | median wall (s) | rows/s | CPU (s) | peak RSS (MB) | speed vs "
        + reference
        + " | runs |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for f in figures:
        base = ref.get(f.rows)
        speed = f"{base.wall_s / f.wall_s:.2f}x" if base else "n/a"
        label = f.subject + (f" ({f.note})" if f.note else "")
        lines.append(
            f"| {label} | {f.rows:,} | {f.wall_s:.2f} | {f.rows_per_s:,.0f} | {f.cpu_s:.2f} "
            f"| {f.peak_rss_mb:.0f} | {speed} "
            f"| {len(f.runs)} |"
        )
    return "\n".join(lines)


def save(suite: str, figures: list[Figure], markdown: str) -> Path:
    """Keep a suite's figures (JSON, every run) and its Markdown section under .bench/results/."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{suite}.json"
    path.write_text(
        json.dumps(
            {"suite": suite, "machine": machine(), "figures": [f.as_dict() for f in figures]}, indent=2
        )
    )
    (RESULTS / f"{suite}.md").write_text(markdown + "\n")
    return path


def suite_command(suite: str, argv: Sequence[str] | None) -> str:
    """A suite's command line as it was run, for the caption of its tables."""
    return f"python -m bench.{suite} " + " ".join(sys.argv[1:] if argv is None else argv)


def run_context(versions: Mapping[str, str], repeats: int) -> str:
    """The line under a suite's tables: what was measured (versions), where, and what a median is of."""
    info = machine()
    return (
        "Versions: "
        + ", ".join(f"{name} {version}" for name, version in versions.items())
        + f". Machine: {info['cpu']}, {info['cpus']} CPUs, {info['memory']}, Python {info['python']}. "
        f"Medians of {repeats} interleaved runs."
    )


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem_gb = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": str(os.cpu_count()),
        "memory": mem_gb,
    }


def venv_tool(name: str, requirements: Sequence[str], executable: str) -> Path:
    """A peer from the package registry in `.bench/venvs/<name>` (installed once); its executable."""
    venv = VENVS / name
    exe = venv / "bin" / executable
    stamp = venv / ".installed"
    wanted = "\n".join(requirements)
    if not exe.exists() or not stamp.exists() or stamp.read_text() != wanted:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *requirements,
            ],
            check=True,
        )
        stamp.write_text(wanted)
    return exe


def pip_version(python_bin_dir: Path, distribution: str) -> str:
    """The installed version of a distribution in a venv (for the report's versions table)."""
    out = subprocess.run(
        [
            str(python_bin_dir / "python"),
            "-c",
            f"import importlib.metadata as m; print(m.version({distribution!r}))",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() or "not installed"


def count_messages(path: Path, message_type: str = "RECORD") -> int:
    """How many messages of a type a Singer file holds (any JSON spacing)."""
    needle = re.compile(rb'^\{\s*"type"\s*:\s*"' + message_type.encode() + rb'"')
    n = 0
    with open(path, "rb") as f:
        for line in f:
            if needle.match(line) or (b'"type"' in line and json.loads(line).get("type") == message_type):
                n += 1
    return n

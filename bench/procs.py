"""CPU seconds per process of a `meltano run`: which plugin a pipeline's time goes to.

`os.wait4` gives the CPU of `meltano run` and everything it reaped, as one number. To say which stage costs
what, a thread reads `/proc/<pid>/stat` of every process on the machine every `PERIOD` seconds while the
run lasts and keeps each process's last reading. A process's final `PERIOD` is missed (it may exit between
two readings), so the shares are slightly low, by at most `PERIOD` seconds of CPU per process: a fair
picture of where the seconds go, not an exact account (the wait4 total beside it is exact).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

PERIOD = 0.1
_TICKS = os.sysconf("SC_CLK_TCK")


def _read(pid: str) -> tuple[tuple[str, int], str, float, str] | None:
    """((pid, start time), command line, CPU seconds so far, parent pid) of one process (None: gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    # fields[0] is the state (field 3 of proc(5)): utime is field 14, stime 15, starttime 22.
    cpu = (int(fields[11]) + int(fields[12])) / _TICKS
    return (pid, int(fields[19])), cmdline, cpu, fields[1]


class CpuByProcess:
    """Samples every process's CPU while the `with` block runs; `totals(classify)` sums what it used.

    Only this process's descendants count (what the suite started: the simulator, `meltano run` and the
    plugins), not what other people run on the machine meanwhile. classify(command line) names the stage
    a process belongs to, or None to leave it out.
    """

    def __init__(self) -> None:
        self._before: dict[tuple[str, int], float] = {}
        self._last: dict[tuple[str, int], tuple[str, float]] = {}
        self._parent: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self) -> None:
        for pid in os.listdir("/proc"):
            if pid.isdigit() and (reading := _read(pid)) is not None:
                key, cmdline, cpu, parent = reading
                self._parent.setdefault(pid, parent)
                # An exited process not reaped yet (a zombie) has an empty command line: keep the one seen.
                if not cmdline and key in self._last:
                    cmdline = self._last[key][0]
                self._last[key] = (cmdline, cpu)

    def _loop(self) -> None:
        while not self._stop.wait(PERIOD):
            self._sample()

    def __enter__(self) -> CpuByProcess:
        self._sample()
        self._before = {key: cpu for key, (_, cpu) in self._last.items()}
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _descends_from_us(self, pid: str) -> bool:
        me, seen = str(os.getpid()), set()
        while pid in self._parent and pid not in seen:
            seen.add(pid)
            pid = self._parent[pid]
            if pid == me:
                return True
        return False

    def totals(self, classify: Callable[[str], str | None]) -> dict[str, float]:
        """CPU seconds used during the block by this process's descendants, summed by stage."""
        sums: dict[str, float] = {}
        for key, (cmdline, cpu) in self._last.items():
            if not self._descends_from_us(key[0]):
                continue
            used = cpu - self._before.get(key, 0.0)
            stage = classify(cmdline)
            if stage is not None and used > 0:
                sums[stage] = sums.get(stage, 0.0) + used
        return sums


def pipeline_stage(cmdline: str) -> str | None:
    """The stage of a process of `meltano run tap-oracle-wms mapper-wms-validate target-oracle`."""
    if "/tap-oracle-wms" in cmdline:
        # Meltano runs the tap twice: `--discover` (catalog discovery), then the sync with `--catalog`.
        return "tap (discovery)" if "--discover" in cmdline else "tap"
    if "/mapper-wms-validate" in cmdline:
        return "mapper"
    if "/target-oracle" in cmdline:
        return "target"
    if "/wms-simulator" in cmdline:
        return "simulator"
    if "meltano run" in cmdline:
        return "meltano"
    return None


def timed_stages(run: Callable[[], object]) -> tuple[object, dict[str, float], float]:
    """run() under a CpuByProcess; its result, CPU by pipeline stage, and the wall seconds it took."""
    started = time.perf_counter()
    with CpuByProcess() as sampler:
        result = run()
    return result, sampler.totals(pipeline_stage), time.perf_counter() - started

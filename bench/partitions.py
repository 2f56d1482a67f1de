"""Partitioned full sync benchmark: one cursor against N id ranges read at once, on a slow tenant.

The simulator answers every API request after `--latency` seconds (default 0.5, sleeping, so it costs no
CPU; served concurrently), as a real tenant answers each page in its own time. Measured in one run:
- the tap alone (`tap-oracle-wms` to /dev/null, allocation only, page_size 1250) with
  `full_sync_partitions` 1 (one cursor) and each of `--partitions`;
- the whole `meltano run tap-oracle-wms--allocation mapper-wms-validate target-oracle` in BATCH mode (the
  extractor of meltano.yml's full syncs) with 1 and `--pipeline-partitions` (unless `--tap-only`).

    .venv/bin/python -m bench.partitions --rows 200000 --partitions 4 8 16 --repeats 1
    .venv/bin/python -m bench.partitions --rows 1000000 --partitions 8 --tap-only --repeats 1

Every run is checked: the tap's `record_count` metric must equal the rows, the pipeline's warehouse must
hold every row (loaded or quarantined). The simulator renders every page as it is asked (no page cache:
each range asks pages of its own), on the same two cores as the tap.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bench.harness import (
    DEV_BIN,
    WORK,
    Run,
    interleaved,
    measure,
    pip_version,
    ratio_table,
    run_context,
    save,
    suite_command,
)
from bench.inputs import allocation_simulator, tap_config
from bench.pipeline import BATCH_EXTRACTOR, PIPELINE, _batch_pipeline, _check_loaded, _fresh, meltano_run

SUITE = "partitions"
HERE = WORK / SUITE
TAP = DEV_BIN / "tap-oracle-wms"
RECORD_COUNT = re.compile(rb'"metric":\s*"record_count",\s*"value":\s*(\d+)')


@contextmanager
def slow_simulator(rows: int, latency: float) -> Iterator[str]:
    """A `wms-simulator` process of `rows` allocation rows answering each request after `latency` s;
    yields its base URL."""
    with allocation_simulator(rows, latency=latency) as sim:
        yield sim.base_url


def tap_subject(base_url: str, rows: int, partitions: int) -> Callable[[], Run]:
    """The tap alone, its records to /dev/null; checks the record count it reports."""
    config = tap_config(base_url, HERE / f"tap-{partitions}.json", full_sync_partitions=partitions)

    def run() -> Run:
        result = measure([TAP, "--config", config])
        counts = RECORD_COUNT.findall((WORK / "last-stderr.log").read_bytes())
        if sum(int(c) for c in counts) != rows:
            raise RuntimeError(f"tap with {partitions} partitions: record_count {counts}, expected {rows}")
        return result

    return run


def pipeline_subject(base_url: str, rows: int, partitions: int) -> Callable[[], Run]:
    """`meltano run` of the BATCH full-sync extractor with `full_sync_partitions`; checks the warehouse."""

    def run() -> Run:
        pipeline = _batch_pipeline(_fresh(HERE / f"batch-{partitions}-{rows}"), base_url)
        pipeline.extra_env["TAP_ORACLE_WMS_FULL_SYNC_PARTITIONS"] = str(partitions)
        result = meltano_run(pipeline, BATCH_EXTRACTOR, *PIPELINE[1:])
        _check_loaded(pipeline.duckdb_path, rows, f"meltano run with {partitions} partitions")
        return result

    return run


def subject_name(kind: str, partitions: int) -> str:
    return f"{kind}, {'one cursor' if partitions == 1 else f'{partitions} partitions'}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[200_000])
    parser.add_argument("--partitions", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--pipeline-partitions", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds the simulator takes per request")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--tap-only", action="store_true", help="measure the tap alone")
    args = parser.parse_args(argv)

    figures = []
    for rows in args.rows:
        with slow_simulator(rows, args.latency) as base_url:
            subjects = {subject_name("tap", n): tap_subject(base_url, rows, n) for n in [1, *args.partitions]}
            if not args.tap_only:
                for n in (1, args.pipeline_partitions):
                    subjects[subject_name("meltano run (batch)", n)] = pipeline_subject(base_url, rows, n)
            figures += interleaved(SUITE, rows, subjects, args.repeats)
    tables = [ratio_table([f for f in figures if f.subject.startswith("tap")], subject_name("tap", 1))]
    if not args.tap_only:
        pipeline_figures = [f for f in figures if f.subject.startswith("meltano")]
        tables.append(ratio_table(pipeline_figures, subject_name("meltano run (batch)", 1)))
    versions = {
        "singer-sdk": pip_version(DEV_BIN, "singer-sdk"),
        "requests": pip_version(DEV_BIN, "requests"),
    }
    markdown = "\n".join(
        [
            f"### partitioned full sync: {', '.join(f'{r:,}' for r in args.rows)} allocation rows, "
            f"simulator at {args.latency} s per request",
            "",
            "\n\n".join(tables),
            "",
            f"Command: `{suite_command(SUITE, argv)}`. {run_context(versions, args.repeats)}",
        ]
    )
    print(markdown)
    path = save(SUITE, figures, markdown)
    print(json.dumps({"saved": str(path)}), file=sys.stderr)


if __name__ == "__main__":
    main()

"""Hand the bookmark of a full sync done by partition jobs to the entity's incremental job.

    python orchestrate/finish_full_sync.py <state id> --partitions K [--meltano PATH]

K partition jobs of tap-oracle-wms (settings `partition_count: K`, `partition_index: i`), each run as
`meltano run --state-id-suffix partition-<i> <job>`, leave their states under `<state id>:partition-<i>`;
`<state id>` is the incremental job's (`<env>:<extractor>-to-<loader>`, e.g.
`prod:tap-oracle-wms--allocation-to-target-oracle`). This command reads the K states (`meltano state get`),
checks that every job finished and that their slices of the id line leave no id out, and writes the
incremental job's state (`meltano state set --force`) with, for each stream, the bookmark one sequential
full sync started with the earliest job would leave: the largest of the jobs' bookmarks, capped by the
earliest job's start. (The smallest of the jobs' bookmarks would be safe too, but a slice of old ids whose
rows rarely change can hold a bookmark months old, and the first incremental run would re-read those
months.) Streams of the incremental job's state that no partition job read are kept.

Run it from the Meltano project's root with the environment of the jobs (`MELTANO_DATABASE_URI`, or a state
backend). Exit code 1 with one line naming what is wrong when a job's state is missing, unfinished or the
slices leave a gap: rerun the partition jobs named (with `--full-refresh` for a gap), then this again.
Standard library only, so any worker's Python runs it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import typing as t

# Keys of a stream's state written by tap-oracle-wms (tap_oracle_wms/partitions.py, state.py).
PARTITION_JOB = "partition_job"
PARTITIONS = "full_sync_ranges"
BOOKMARK = "replication_key_value"
KEY = "replication_key"
SUFFIX = "partition-{index}"


class FinishError(Exception):
    """The partition jobs' states cannot be combined (the message says why and what to rerun)."""


def partition_state_id(state_id: str, index: int) -> str:
    """The state id of partition job `index`: `meltano run --state-id-suffix partition-<index>`."""
    return f"{state_id}:{SUFFIX.format(index=index)}"


def combine(states: list[dict[str, t.Any]], count: int) -> dict[str, dict[str, t.Any]]:
    """Stream name -> the incremental job's stream state, from the `count` partition jobs' Singer states
    (index i at position i). Raises FinishError naming the job and stream when a job is missing,
    unfinished, of another partition count, or when the slices leave ids out."""
    streams: dict[str, list[dict[str, t.Any]]] = {}
    for index, state in enumerate(states):
        bookmarks = (state or {}).get("bookmarks") or {}
        if not bookmarks:
            raise FinishError(
                f"partition job {index} has no state: run it (it has not run or has not finished)"
            )
        for stream, stream_state in bookmarks.items():
            job = stream_state.get(PARTITION_JOB)
            if not job or stream_state.get(PARTITIONS) or not stream_state.get(BOOKMARK):
                raise FinishError(
                    f"partition job {index}, stream '{stream}': its full sync has not finished; run the "
                    "job again (without --full-refresh it resumes)"
                )
            if job.get("count") != count or job.get("index") != index:
                raise FinishError(
                    f"partition job {index}, stream '{stream}': its state is of partition "
                    f"{job.get('index')} of {job.get('count')}, not {index} of {count}; run it with "
                    f"partition_index {index} and partition_count {count} (--full-refresh)"
                )
            streams.setdefault(stream, []).append(stream_state)
    combined = {}
    for stream, stream_states in streams.items():
        if len(stream_states) != count:
            raise FinishError(
                f"stream '{stream}' was read by {len(stream_states)} of the {count} partition jobs"
            )
        check_coverage(stream, [s[PARTITION_JOB] for s in stream_states])
        started = min(s[PARTITION_JOB]["started"] for s in stream_states)
        bookmark = min(max(s[BOOKMARK] for s in stream_states), started)
        combined[stream] = {KEY: stream_states[0][KEY], BOOKMARK: bookmark}
    return combined


def check_coverage(stream: str, jobs: list[dict[str, t.Any]]) -> None:
    """The slices (lo <= id < hi, None = open) must cover every id; each job computed its own from the ids
    it saw, so rows inserted between the jobs' starts could in rare cases move a boundary."""
    lows = sorted(jobs, key=lambda job: (job["lo"] is not None, job["lo"] or 0))
    reach: int | None = None  # every id below `reach` is covered; None: nothing yet
    for job in lows:
        if reach is None:
            if job["lo"] is not None:
                raise FinishError(f"stream '{stream}': ids below {job['lo']} were read by no partition job")
        elif job["lo"] is not None and job["lo"] > reach:
            raise FinishError(
                f"stream '{stream}': ids {reach}..{job['lo'] - 1} were read by no partition job (the "
                "slices moved between the jobs' starts); rerun every partition job with --full-refresh"
            )
        if job["hi"] is None:
            return
        reach = job["hi"] if reach is None else max(reach, job["hi"])
    raise FinishError(f"stream '{stream}': ids from {reach} on were read by no partition job")


def meltano_state(meltano: str, *args: str) -> str:
    result = subprocess.run([meltano, "state", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise FinishError(f"meltano state {' '.join(args[:2])} failed: {result.stderr.strip()[-500:]}")
    return result.stdout


def get_singer_state(meltano: str, state_id: str) -> dict[str, t.Any]:
    output = meltano_state(meltano, "get", state_id).strip().splitlines()
    return (json.loads(output[-1]) if output else {}).get("singer_state") or {}


def finish(meltano: str, state_id: str, count: int) -> dict[str, t.Any]:
    """Read the partition jobs' states, write the incremental job's; returns the Singer state written."""
    states = [get_singer_state(meltano, partition_state_id(state_id, i)) for i in range(count)]
    combined = combine(states, count)
    current = get_singer_state(meltano, state_id)
    singer_state = {**current, "bookmarks": {**(current.get("bookmarks") or {}), **combined}}
    meltano_state(meltano, "set", "--force", state_id, json.dumps({"singer_state": singer_state}))
    return singer_state


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "state_id",
        help="the incremental job's state id, e.g. prod:tap-oracle-wms--allocation-to-target-oracle",
    )
    parser.add_argument("--partitions", type=int, required=True, help="partition_count of the jobs")
    parser.add_argument("--meltano", default="meltano", help="the Meltano executable (default: meltano)")
    args = parser.parse_args(argv)
    if args.partitions < 1:
        parser.error("--partitions must be 1 or more")
    try:
        written = finish(args.meltano, args.state_id, args.partitions)
    except FinishError as exc:
        print(f"finish_full_sync: {args.state_id}: {exc}", file=sys.stderr)
        return 1
    for stream, stream_state in written["bookmarks"].items():
        print(f"{args.state_id}: stream '{stream}' continues from {stream_state.get(BOOKMARK)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Table versions (Singer's ACTIVATE_VERSION): how the target learns which rows the WMS no longer serves.

A full sync reads every row the entity serves. With `emit_activate_version_messages` (default true) it
writes ACTIVATE_VERSION v before its first RECORD or BATCH message and again after its last one, once
the whole entity was read; every RECORD message of the sync carries `"version": v` (a BATCH file's rows
take the version of the stream's last ACTIVATE_VERSION in the target). On ACTIVATE_VERSION v the target
marks deleted (or deletes) every row of an older version or of none: after the ending message, the rows
the WMS stopped serving since they were last read.

v is the sync's start in milliseconds. An incremental stream keeps it in its state (`full_sync_version`)
while its full sync is in progress, so a killed full sync resumed from its state (from its bookmark or
its partition plan) goes on with the same v: the rows it wrote before the kill are of that version and
stay. A stream without `mod_ts` reads every row at every run: each run is a full sync with a new v.
Incremental runs write no ACTIVATE_VERSION and their records carry no version. Partition jobs
(`partition_count` > 1) neither: each reads one slice of the id line, and its ending message would mark
every other slice's rows. `--test` (one record per stream) neither.
"""

from __future__ import annotations

import time
import typing as t

import singer_sdk.singerlib as singer
from singer_sdk.mapper import RemoveRecordTransform

from tap_oracle_wms.state import FULL_SYNC, IN_PROGRESS, VERSION

if t.TYPE_CHECKING:
    from singer_sdk import Stream, Tap

EMIT_SETTING = "emit_activate_version_messages"
EMIT_DEFAULT = True


def saved_version(state: t.Mapping[str, t.Any]) -> int | None:
    """The version of the full sync in progress in a stream's state; None when none is, or it has none."""
    version = state.get(VERSION)
    if state.get(FULL_SYNC) != IN_PROGRESS or isinstance(version, bool) or not isinstance(version, int):
        return None
    return version


def table_version(
    config: t.Mapping[str, t.Any],
    state: t.Mapping[str, t.Any],
    *,
    incremental: bool,
    reads_all: bool,
    testing: bool,
) -> int | None:
    """The version this run of a stream writes, None when it writes none (see the module docstring).

    `reads_all`: the run starts without a bookmark. A full sync in progress in `state` keeps its version,
    or stays without one when it started without one (a new version would mark the rows it wrote before
    it was killed)."""
    if not config.get(EMIT_SETTING, EMIT_DEFAULT) or int(config.get("partition_count", 1)) > 1 or testing:
        return None
    if not incremental:
        return new_version()
    if state.get(FULL_SYNC) == IN_PROGRESS:
        return saved_version(state)
    return new_version() if reads_all else None


def new_version() -> int:
    """Now, in milliseconds since the epoch: later than the version of every earlier sync."""
    return time.time_ns() // 1_000_000


def write_activate_version(tap: Tap, stream: Stream, version: int) -> None:
    """ACTIVATE_VERSION for each stream map's output stream, as the SDK writes its own (the SDK's
    `Stream._write_activate_version_message` is private, so through the tap's public message writer)."""
    for stream_map in stream.stream_maps:
        if isinstance(stream_map, RemoveRecordTransform):
            continue
        tap.write_message(singer.ActivateVersionMessage(stream=stream_map.stream_alias, version=version))

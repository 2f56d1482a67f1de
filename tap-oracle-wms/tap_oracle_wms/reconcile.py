"""Reconcile mode (`reconcile_hours`): find the clock hours before the look-back window that gained rows.

Long transactions commit rows whose `mod_ts` is already behind the bookmark by more than
`lookback_seconds`; no `mod_ts` filter from the bookmark can see them. Each incremental run counts the
rows of each of the `reconcile_hours` clock hours up to the one holding the run's lower bound (one
paged-mode request per hour with `page_size=1`, whose `result_count` is the count; up to
COUNT_CONCURRENCY at once), compares with the counts the stream's state kept from the last run, and
re-reads every hour whose count grew. An hour with rows that the kept counts lack (the window moved on
to it since: with an hourly reconcile run, the hour before) is re-read too: the rows committed into it
late, between the run that read its rows and this first count, are part of that count and would never
show as growth. A row that left an hour (changed again, so its `mod_ts` moved on)
while a late one arrived leaves the count unchanged: that late row is not found.
"""

from __future__ import annotations

import datetime
import typing as t
from concurrent.futures import ThreadPoolExecutor

from tap_oracle_wms.pagination import filter_timestamp
from tap_oracle_wms.state import RECONCILE_COUNTS

if t.TYPE_CHECKING:
    from tap_oracle_wms.streams import EntityStream

# Count requests in flight at once (Oracle's guide warns that many concurrent queries degrade a tenant).
COUNT_CONCURRENCY = 10


def clock_hours(bound: datetime.datetime, hours: int) -> list[datetime.datetime]:
    """The `hours` UTC clock hours ending with the one that holds `bound`, oldest first."""
    last = bound.astimezone(datetime.timezone.utc).replace(minute=0, second=0, microsecond=0)
    return [last - datetime.timedelta(hours=n) for n in range(hours - 1, -1, -1)]


def hour_filters(key: str, hour: datetime.datetime) -> dict[str, str]:
    """Filters of the rows whose `key` falls in the clock hour starting at `hour`."""
    return {
        f"{key}__gte": filter_timestamp(hour),
        f"{key}__lt": filter_timestamp(hour + datetime.timedelta(hours=1)),
    }


def hours_to_reread(
    stream: EntityStream, context: t.Any, bound: datetime.datetime, hours: int
) -> tuple[list[datetime.datetime], dict[str, int]]:
    """(the hours whose count grew since the counts kept in the stream's state, or that hold rows and
    were not counted before, the new counts by hour).

    The new counts are for the caller to keep once those hours are read again: a run killed before
    that finds the same growth next time.
    """
    window = clock_hours(bound, hours)
    labels = [filter_timestamp(hour) for hour in window]
    with ThreadPoolExecutor(max_workers=min(COUNT_CONCURRENCY, len(window))) as pool:
        key = t.cast("str", stream.replication_key)
        counted = pool.map(lambda hour: stream.count_rows(hour_filters(key, hour)), window)
        counts = dict(zip(labels, counted, strict=True))
    kept = stream.get_context_state(context).get(RECONCILE_COUNTS)
    # No counts at all: the first run with the setting (or after a full sync) only counts. An hour the
    # kept counts lack is one the window reached since: rows committed late into it before this count
    # are part of its count, so it is read whole once, like an hour that grew.
    grown = [
        hour
        for hour in window
        if kept is not None and counts[filter_timestamp(hour)] > kept.get(filter_timestamp(hour), 0)
    ]
    stream.logger.info(
        "Stream '%s': reconcile counted %d hours from %s; %d grew or were not counted before%s",
        stream.name,
        len(window),
        filter_timestamp(window[0]),
        len(grown),
        f" ({', '.join(filter_timestamp(h) for h in grown)})" if grown else "",
    )
    return grown, counts

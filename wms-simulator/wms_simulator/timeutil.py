"""Timestamps as integer microseconds since the Unix epoch (UTC).

Rows hold times as plain ints so ordering and range filters are integer comparisons; they are
rendered the way the tenant renders them (`-03:00`, always six fraction digits) only on output.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

FACILITY_OFFSET_US = -3 * 3600 * 1_000_000
FACILITY_TZ = timezone(timedelta(hours=-3))
_DAY_US = 86_400_000_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_day_cache: dict[int, str] = {}
_HM = [f"{h:02d}:{m:02d}" for h in range(24) for m in range(60)]  # every minute of a day
_RAW_PLUS = re.compile(r"^(.*\d)\s(\d{2}(?::?\d{2})?)$")


def to_us(dt: datetime) -> int:
    """A timezone-aware datetime as microseconds since the epoch."""
    delta = dt - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def fmt_ts(us: int) -> str:
    """Render like the tenant: `2025-05-31T21:00:01.831732-03:00` (no datetime objects: the dates and the
    1,440 `HH:MM` of a day are cached)."""
    secs, micro = divmod(us + FACILITY_OFFSET_US, 1_000_000)
    days, second = divmod(secs, 86_400)
    day = _day_cache.get(days)
    if day is None:
        day = _day_cache[days] = date.fromordinal(_EPOCH_ORDINAL + days).isoformat()
    minute, second = divmod(second, 60)
    return f"{day}T{_HM[minute]}:{second:02d}.{micro:06d}-03:00"


def parse_ts(value: str) -> int:
    """Parse a filter value; a missing offset means the facility zone (-03:00), as the real API does.

    A raw `+` in a query string arrives decoded as a space (`...26.157304 00:00`); it is read as `+`
    rather than rejected, because the offset it carried is unambiguous.
    """
    text = value.strip()
    match = _RAW_PLUS.match(text)
    if match:
        text = f"{match.group(1)}+{match.group(2)}"
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=FACILITY_TZ)
    return to_us(dt)


def local_parts(us: int) -> datetime:
    """The facility-local datetime (for the year/month/day/hour/minute/week_day lookups)."""
    return datetime(1970, 1, 1) + timedelta(microseconds=us + FACILITY_OFFSET_US)

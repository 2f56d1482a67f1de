"""Record shaping: API records -> the flat, typed rows of docs/data-contract.md section 2.

A plan (field -> kind) is built once per stream by discovery; `RecordShaper.shape` follows it field by
field: foreign-key objects become `<field>` (the id) and `<field>_key`, decimal strings exact `Decimal`s,
timestamps UTC text, `*_set` fields are dropped.
"""

from __future__ import annotations

import datetime
import decimal
import logging
import re
import typing as t

# Field kinds of a shaping plan.
PLAIN = 0
FOREIGN_KEY = 1
DECIMAL = 2
TIMESTAMP = 3
DROP = 4

_UTC = datetime.timezone.utc
_UTC_SUFFIX = "+00:00"
# len("YYYY-MM-DDTHH:MM:SS.ffffff+00:00")
_CANONICAL_LEN = 32
# `:MM:SS.ffffff` of a canonical-length timestamp (positions 13..26): what a whole-hour offset leaves alone.
_MINUTES_TO_MICROS = re.compile(r":[0-5][0-9]:[0-5][0-9]\.[0-9]{6}")
# UTC `YYYY-MM-DDTHH` by local `YYYY-MM-DDTHH` + offset: every timestamp of one hour shares an entry.
_UTC_HOURS: dict[str, str] = {}
_UTC_HOURS_MAX = 100_000


class RecordShapeError(ValueError):
    """A value the API served cannot be shaped into the contract (names stream, record and field)."""


def key_column(field: str) -> str:
    """Name of the column carrying a foreign key's `key` (contract: `<field>_key`)."""
    return f"{field}_key"


def to_utc_timestamp(value: str) -> tuple[str, bool]:
    """Normalise an ISO-8601 timestamp to UTC `YYYY-MM-DDTHH:MM:SS.ffffff+00:00`.

    Returns the text and whether the input lacked an offset (then it is read as UTC). UTC text of one
    format sorts like the instants it names, which the SDK's bookmark logic relies on: it compares
    replication-key values as text (the signpost cap, see the README).

    The API's timestamps carry a whole-hour offset (`-03:00`), which changes only the date and hour:
    those are converted once per hour through the full parser and remembered; minutes to microseconds
    are kept as served. Any other form goes through the full parser.
    """
    if len(value) == _CANONICAL_LEN:
        if value.endswith(_UTC_SUFFIX):
            return value, False
        if value[29:] == ":00" and value[26] in "+-" and _MINUTES_TO_MICROS.fullmatch(value, 13, 26):
            hour_key = value[:13] + value[26:]
            utc_hour = _UTC_HOURS.get(hour_key)
            if utc_hour is None:
                utc_hour = _parse_to_utc(f"{value[:13]}:00:00.000000{value[26:]}")[0][:13]
                if len(_UTC_HOURS) >= _UTC_HOURS_MAX:
                    _UTC_HOURS.clear()
                _UTC_HOURS[hour_key] = utc_hour
            return f"{utc_hour}{value[13:26]}{_UTC_SUFFIX}", False
    return _parse_to_utc(value)


def _parse_to_utc(value: str) -> tuple[str, bool]:
    """`to_utc_timestamp` through the full ISO-8601 parser."""
    parsed = datetime.datetime.fromisoformat(value)
    naive = parsed.tzinfo is None
    if naive:
        parsed = parsed.replace(tzinfo=_UTC)
    return parsed.astimezone(_UTC).isoformat(timespec="microseconds"), naive


def to_decimal(value: t.Any) -> decimal.Decimal | None:
    """Exact decimal from the API's decimal strings (or numbers); `""` -> None.

    `Decimal` keeps every digit; the SDK's msgspec writer emits it as a JSON number without float rounding.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise decimal.InvalidOperation(value)
    result = decimal.Decimal(value if isinstance(value, str) else str(value))
    if not result.is_finite():
        raise decimal.InvalidOperation(value)
    return result


_MISSING = object()


class RecordShaper:
    """Turns one raw API record into the contract's flat record, following the stream's field plan.

    Plain fields (most of a record) are taken over as served in one copy of the record; then only the
    fields of the other kinds are converted, each kind in its own loop over the plan's fields of that kind.
    """

    def __init__(self, stream_name: str, plan: dict[str, int], logger: logging.Logger) -> None:
        self.stream_name = stream_name
        self.plan = plan
        self.logger = logger
        self.known = frozenset(plan)
        self.timestamps = [name for name, kind in plan.items() if kind == TIMESTAMP]
        self.decimals = [name for name, kind in plan.items() if kind == DECIMAL]
        self.foreign_keys = [(name, key_column(name)) for name, kind in plan.items() if kind == FOREIGN_KEY]
        self.dropped = [name for name, kind in plan.items() if kind == DROP]
        self._warned: set[str] = set()

    def _warn_once(self, field: str, message: str, *args: t.Any) -> None:
        if field not in self._warned:
            self._warned.add(field)
            self.logger.warning(message, *args)

    def _fail(self, raw: dict, field: str, value: t.Any, why: str) -> RecordShapeError:
        return RecordShapeError(
            f"Stream '{self.stream_name}', record id={raw.get('id')!r}, field '{field}': "
            f"{why} (value {value!r})"
        )

    def shape(self, raw: dict[str, t.Any]) -> dict[str, t.Any]:
        """The contract record for `raw` (a new dict; `raw` is not modified): warns once per field about
        unknown fields and naive timestamps, names the stream, record and field of a value that cannot
        be shaped. Only the fields `raw` has are emitted (plus `<field>_key` of each foreign key)."""
        out = dict(raw)
        if not out.keys() <= self.known:
            for name in out.keys() - self.known:
                del out[name]
                self._warn_once(
                    name,
                    "Stream '%s': field '%s' is not in the described schema; it is not emitted",
                    self.stream_name,
                    name,
                )
        for name in self.dropped:
            out.pop(name, None)
        for name in self.timestamps:
            value = out.get(name)
            if value is None:
                continue
            if value == "":
                out[name] = None
                continue
            try:
                out[name], naive = to_utc_timestamp(value)
            except (TypeError, ValueError) as exc:
                raise self._fail(raw, name, value, "not an ISO-8601 timestamp") from exc
            if naive:
                self._warn_once(
                    name,
                    "Stream '%s', field '%s': timestamp without offset (%r) read as UTC",
                    self.stream_name,
                    name,
                    value,
                )
        for name, key_name in self.foreign_keys:
            value = out.get(name, _MISSING)
            if type(value) is dict:
                out[name] = value.get("id")
                out[key_name] = value.get("key")
            elif value is None or type(value) is int:
                out[key_name] = None
            elif value is not _MISSING:
                raise self._fail(raw, name, value, "foreign key is neither an object, an integer nor null")
        for name in self.decimals:
            value = out.get(name, _MISSING)
            if value is _MISSING:
                continue
            try:
                out[name] = to_decimal(value)
            except (decimal.InvalidOperation, TypeError, ValueError) as exc:
                raise self._fail(raw, name, value, "not a decimal number") from exc
        return out

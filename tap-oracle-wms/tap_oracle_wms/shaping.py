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
    those are converted once per hour and offset through the full parser and remembered (`utc_hour`);
    minutes to microseconds are kept as served. Any other form goes through the full parser.
    """
    if len(value) == _CANONICAL_LEN:
        if value.endswith(_UTC_SUFFIX):
            return value, False
        utc_hour = _UTC_HOURS.get(value[:13] + value[26:]) or _utc_hour(value)
        if utc_hour is not None and _MINUTES_TO_MICROS.fullmatch(value, 13, 26):
            return f"{utc_hour}{value[13:26]}{_UTC_SUFFIX}", False
    return _parse_to_utc(value)


def _utc_hour(value: str) -> str | None:
    """UTC `YYYY-MM-DDTHH` of a canonical-length timestamp with a whole-hour offset, remembered in
    `_UTC_HOURS` by its local `YYYY-MM-DDTHH` and offset (every timestamp of one hour shares an entry);
    None for any other offset. An entry is made only for a date, hour and offset the full parser reads."""
    if value[29:] != ":00" or value[26] not in "+-":
        return None
    try:
        utc_hour = _parse_to_utc(f"{value[:13]}:00:00.000000{value[26:]}")[0][:13]
    except ValueError:
        return None
    if len(_UTC_HOURS) >= _UTC_HOURS_MAX:
        _UTC_HOURS.clear()
    _UTC_HOURS[value[:13] + value[26:]] = utc_hour
    return utc_hour


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
# Decimal by the API's decimal string (quantities repeat; a Decimal is immutable). Only strings are keys:
# `Decimal("5.0") == 5`, so a number must never find a string's entry.
_DECIMALS: dict[str, decimal.Decimal] = {}
_DECIMALS_MAX = 100_000

# The code of `RecordShaper`'s function for one field of each kind (NAME: the field's name, KEY: its
# `_key` column's, both as Python literals). `out` is the record being built, `raw` the record served.
_DROP_CODE = """\
    out.pop(NAME, None)
"""
# TIMESTAMP: `to_utc_timestamp`, its remembered hours looked up here, the rest through `_timestamp`.
_TIMESTAMP_CODE = """\
    v = out.get(NAME)
    if v is not None:
        if type(v) is str and len(v) == 32 and (h := utc_hours_get(v[:13] + v[26:])) and mid(v, 13, 26):
            out[NAME] = f"{h}{v[13:26]}+00:00"
        elif v == "":
            out[NAME] = None
        else:
            out[NAME] = timestamp(raw, NAME, v)
"""
_FOREIGN_KEY_CODE = """\
    v = out.get(NAME, MISSING)
    if type(v) is dict:
        out[NAME] = v.get("id")
        out[KEY] = v.get("key")
    elif v is None or type(v) is int:
        out[KEY] = None
    elif v is not MISSING:
        raise fail(raw, NAME, v, "foreign key is neither an object, an integer nor null")
"""
_DECIMAL_CODE = """\
    v = out.get(NAME, MISSING)
    if v is not MISSING:
        d = decimals_get(v) if type(v) is str else None
        out[NAME] = number(raw, NAME, v) if d is None else d
"""
_CODE = {DROP: _DROP_CODE, TIMESTAMP: _TIMESTAMP_CODE, FOREIGN_KEY: _FOREIGN_KEY_CODE, DECIMAL: _DECIMAL_CODE}


class RecordShaper:
    """Turns one raw API record into the contract's flat record, following the stream's field plan.

    The plan is turned once, when the stream is made, into one Python function (`shape`) that copies the
    record and then converts each field of the plan that is not plain, one block of code per field, with
    its name as a literal: the shaping of every record of the stream, in record mode (`post_process`)
    and in BATCH mode alike, is that function, about twice as fast as a loop over the plan per record.
    """

    def __init__(self, stream_name: str, plan: dict[str, int], logger: logging.Logger) -> None:
        self.stream_name = stream_name
        self.plan = plan
        self.logger = logger
        self.known = frozenset(plan)
        self._warned: set[str] = set()
        self.shape: t.Callable[[dict[str, t.Any]], dict[str, t.Any]] = self._compile()
        """The contract record for `raw` (a new dict; `raw` is not modified): warns once per field about
        unknown fields and naive timestamps, names the stream, record and field of a value that cannot
        be shaped. Only the fields `raw` has are emitted (plus `<field>_key` of each foreign key, after
        the record's fields, in the plan's order)."""

    def _compile(self) -> t.Callable[[dict[str, t.Any]], dict[str, t.Any]]:
        """The `shape` function of this plan: the fields in the plan's order, by kind; foreign keys last,
        so their `_key` columns follow the record's own fields."""
        blocks = [
            _CODE[kind].replace("NAME", repr(name))
            for kind in (DROP, TIMESTAMP, DECIMAL)
            for name, field_kind in self.plan.items()
            if field_kind == kind
        ]
        blocks += [
            _FOREIGN_KEY_CODE.replace("NAME", repr(name)).replace("KEY", repr(key_column(name)))
            for name, kind in self.plan.items()
            if kind == FOREIGN_KEY
        ]
        source = (
            "def shape(raw):\n"
            "    out = dict(raw)\n"
            "    if not out.keys() <= known:\n"
            "        drop_unknown(out)\n"
            f"{''.join(blocks)}"
            "    return out\n"
        )
        namespace: dict[str, t.Any] = {
            "MISSING": _MISSING,
            "known": self.known,
            "drop_unknown": self._drop_unknown,
            "timestamp": self._timestamp,
            "number": self._number,
            "decimals_get": _DECIMALS.get,
            "utc_hours_get": _UTC_HOURS.get,
            "mid": _MINUTES_TO_MICROS.fullmatch,
            "fail": self._fail,
        }
        # Field names enter the source only as repr() literals.
        exec(compile(source, f"<shape {self.stream_name}>", "exec"), namespace)
        return t.cast("t.Callable[[dict[str, t.Any]], dict[str, t.Any]]", namespace["shape"])

    def _warn_once(self, field: str, message: str, *args: t.Any) -> None:
        if field not in self._warned:
            self._warned.add(field)
            self.logger.warning(message, *args)

    def _fail(self, raw: dict, field: str, value: t.Any, why: str) -> RecordShapeError:
        return RecordShapeError(
            f"Stream '{self.stream_name}', record id={raw.get('id')!r}, field '{field}': "
            f"{why} (value {value!r})"
        )

    def _drop_unknown(self, out: dict[str, t.Any]) -> None:
        """Remove the fields the plan does not know, with one warning per field."""
        for name in out.keys() - self.known:
            del out[name]
            self._warn_once(
                name,
                "Stream '%s': field '%s' is not in the described schema; it is not emitted",
                self.stream_name,
                name,
            )

    def _timestamp(self, raw: dict[str, t.Any], field: str, value: t.Any) -> str:
        """`to_utc_timestamp(value)`, warning once per field about a timestamp without offset."""
        try:
            text, naive = to_utc_timestamp(value)
        except (TypeError, ValueError) as exc:
            raise self._fail(raw, field, value, "not an ISO-8601 timestamp") from exc
        if naive:
            self._warn_once(
                field,
                "Stream '%s', field '%s': timestamp without offset (%r) read as UTC",
                self.stream_name,
                field,
                value,
            )
        return text

    def _number(self, raw: dict[str, t.Any], field: str, value: t.Any) -> decimal.Decimal | None:
        """`to_decimal(value)`, remembered for a decimal string."""
        try:
            result = to_decimal(value)
        except (decimal.InvalidOperation, TypeError, ValueError) as exc:
            raise self._fail(raw, field, value, "not a decimal number") from exc
        if result is not None and type(value) is str:
            if len(_DECIMALS) >= _DECIMALS_MAX:
                _DECIMALS.clear()
            _DECIMALS[value] = result
        return result

"""Record shaping: API pages -> the flat, typed rows of docs/data-contract.md section 2.

A plan (field -> kind) is built once per stream by discovery. From it `RecordShaper` makes, once per
stream, the two steps every record goes through, in record mode and in BATCH mode alike:
- `decode_page`: a page's JSON decoded by msgspec into records of a type made from the plan (each
  foreign-key object a `ForeignKey`, its `url` skipped; a `*_set` link kept undecoded), the page's
  envelope into a `Page`;
- `shape`: one such record -> the contract's record: foreign keys become `<field>` (the id) and
  `<field>_key`, decimal strings exact `Decimal`s, timestamps UTC text, `*_set` fields are dropped.
"""

from __future__ import annotations

import datetime
import decimal
import logging
import re
import threading
import typing as t

import msgspec

from tap_oracle_wms.errors import RecordShapeError
from tap_oracle_wms.pagination import Page, decode_json, page_records

# Field kinds of a shaping plan.
PLAIN = 0
FOREIGN_KEY = 1
DECIMAL = 2
TIMESTAMP = 3
DROP = 4

__all__ = ["RecordShapeError", "RecordShaper", "key_column", "to_decimal", "to_utc_timestamp"]

_UTC = datetime.timezone.utc
_UTC_SUFFIX = "+00:00"
# len("YYYY-MM-DDTHH:MM:SS.ffffff+00:00")
_CANONICAL_LEN = 32
# `:MM:SS.ffffff` of a canonical-length timestamp (positions 13..26): what a whole-hour offset leaves alone.
_MINUTES_TO_MICROS = re.compile(r":[0-5][0-9]:[0-5][0-9]\.[0-9]{6}")
# UTC `YYYY-MM-DDTHH` by local `YYYY-MM-DDTHH` + offset: every timestamp of one hour shares an entry.
_UTC_HOURS: dict[str, str] = {}
_UTC_HOURS_MAX = 100_000
# The digits of a fraction of a second past the sixth (ISO-8601 allows `.` or `,` before the fraction).
_BEYOND_MICROSECONDS = re.compile(r"[.,][0-9]{6}([0-9]+)")


def key_column(field: str) -> str:
    """Name of the column carrying a foreign key's `key` (contract: `<field>_key`)."""
    return f"{field}_key"


def to_utc_timestamp(value: str) -> tuple[str, bool]:
    """Normalise an ISO-8601 timestamp to UTC `YYYY-MM-DDTHH:MM:SS.ffffff+00:00`.

    Returns the text and whether the input lacked an offset (then it is read as UTC). UTC text of one
    format sorts like the instants it names, which the SDK's bookmark logic relies on: it compares
    replication-key values as text (the signpost cap, see the README).

    The API's timestamps carry a whole-hour offset (`-03:00`, `+00:00`), which changes only the date and
    hour: those are converted once per hour and offset through the full parser and remembered
    (`utc_hour`); minutes to microseconds are kept as served once they read as such. Any other form goes
    through the full parser. ValueError for text that is no timestamp, a fraction of a second finer than
    microseconds (the contract keeps microseconds; trailing zeros are dropped) and an instant outside
    years 1..9999 in UTC (`9999-12-31T23:00:00-03:00`).
    """
    if len(value) == _CANONICAL_LEN:
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
    """`to_utc_timestamp` through the full ISO-8601 parser (which silently drops the digits of a fraction
    past the sixth: refused here unless they are zeros)."""
    parsed = datetime.datetime.fromisoformat(value)
    finer = _BEYOND_MICROSECONDS.search(value)
    if finer and finer.group(1).strip("0"):
        raise ValueError("a fraction of a second finer than microseconds")
    naive = parsed.tzinfo is None
    if naive:
        parsed = parsed.replace(tzinfo=_UTC)
    try:
        return parsed.astimezone(_UTC).isoformat(timespec="microseconds"), naive
    except OverflowError:
        raise ValueError("outside years 1..9999 in UTC") from None


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


# Decimal by the API's decimal string (quantities repeat; a Decimal is immutable). Only strings are keys:
# `Decimal("5.0") == 5`, so a number must never find a string's entry.
_DECIMALS: dict[str, decimal.Decimal] = {}
_DECIMALS_MAX = 100_000
_UNSET = msgspec.UNSET


class ForeignKey(msgspec.Struct, gc=False):
    """A foreign-key object as decoded: its `id` and `key` (its `url`, and any other member, skipped)."""

    id: t.Any = None
    key: t.Any = None


# The code of `RecordShaper.shape` for one field of each kind: V is the field's value in the record
# (`UNSET` when the record lacks it), NAME the field's name and KEY its `_key` column's, as literals.
_PLAIN_CODE = """\
    if V is not UNSET:
        out[NAME] = V
"""
# TIMESTAMP: `to_utc_timestamp`, its remembered hours looked up here, the rest through `_timestamp`.
_TIMESTAMP_CODE = """\
    if V is None or V is UNSET:
        if V is None:
            out[NAME] = None
    elif type(V) is str and len(V) == 32 and (h := utc_hours_get(V[:13] + V[26:])) and mid(V, 13, 26):
        out[NAME] = f"{h}{V[13:26]}+00:00"
    elif V == "":
        out[NAME] = None
    else:
        out[NAME] = timestamp(raw, NAME, V)
"""
_DECIMAL_CODE = """\
    if V is not UNSET:
        d = decimals_get(V) if type(V) is str else None
        out[NAME] = number(raw, NAME, V) if d is None else d
"""
# FOREIGN_KEY: the decoder gives a ForeignKey, an int or None (it refuses anything else).
_FOREIGN_KEY_CODE = """\
    if V is not UNSET:
        out[NAME] = V.id if type(V) is ForeignKey else V
"""
_KEY_COLUMN_CODE = """\
    if V is not UNSET:
        out[KEY] = V.key if type(V) is ForeignKey else None
"""
_CODE = {
    PLAIN: _PLAIN_CODE,
    TIMESTAMP: _TIMESTAMP_CODE,
    DECIMAL: _DECIMAL_CODE,
    FOREIGN_KEY: _FOREIGN_KEY_CODE,
}


class RecordShaper:
    """Decodes a stream's pages and turns each record into the contract's flat record, following the
    stream's field plan.

    The plan is turned once, when the stream is made (and again when a page brings a field the plan does
    not know), into a record type for msgspec and one Python function (`shape`) with one block of code
    per field, its name as a literal. Every record of the stream, in record mode (`post_process`) and in
    BATCH mode, is decoded and shaped by these two; nothing else shapes records.
    """

    def __init__(self, stream_name: str, plan: dict[str, int], logger: logging.Logger) -> None:
        self.stream_name = stream_name
        self.plan = plan
        self.logger = logger
        # The fields of the record type: the plan's, then those pages brought that the plan lacks
        # (decoded as DROP: never emitted).
        self.fields: dict[str, int] = dict(plan)
        self._warned: set[str] = set()
        # A partitioned full sync decodes pages in several threads: one at a time learns new fields.
        self._learning = threading.Lock()
        self._build()

    def _build(self) -> None:
        """The record type, the page decoder and `shape` for `self.fields`."""
        names = {name: "id" if name == "id" else f"f{i}" for i, name in enumerate(self.fields)}
        kinds = {FOREIGN_KEY: ForeignKey | int | None, DROP: msgspec.Raw}
        record = msgspec.defstruct(
            "Record",
            [
                (names[name], kinds.get(kind, t.Any) | msgspec.UnsetType, _UNSET)  # type: ignore[operator]
                for name, kind in self.fields.items()
            ],
            rename={attr: name for name, attr in names.items()},
            forbid_unknown_fields=True,
            gc=False,
        )
        self.record_type = record
        self._decoder = msgspec.json.Decoder(Page[record] | list[record], float_hook=decimal.Decimal)  # type: ignore[valid-type]
        self._id_index = list(self.fields).index("id") if "id" in self.fields else None
        # The contract record of one decoded record (a new dict): only the fields the record has, then
        # each foreign key's `_key` column; a value that cannot be shaped raises RecordShapeError.
        self.shape = self._compile()

    def _compile(self) -> t.Callable[[t.Any], dict[str, t.Any]]:
        """`shape` for the current record type: the fields in its order, then each foreign key's `_key`
        column in the plan's order."""
        values = [f"v{i}" for i in range(len(self.fields))]
        blocks = [
            _CODE[kind].replace("V", value).replace("NAME", repr(name))
            for value, (name, kind) in zip(values, self.fields.items(), strict=True)
            if kind in _CODE
        ]
        blocks += [
            _KEY_COLUMN_CODE.replace("V", value).replace("KEY", repr(key_column(name)))
            for value, (name, kind) in zip(values, self.fields.items(), strict=True)
            if kind == FOREIGN_KEY
        ]
        source = (
            "def shape(raw):\n"
            f"    {', '.join(values)}, = astuple(raw)\n"
            "    out = {}\n"
            f"{''.join(blocks)}"
            "    return out\n"
        )
        namespace: dict[str, t.Any] = {
            "UNSET": _UNSET,
            "ForeignKey": ForeignKey,
            "astuple": msgspec.structs.astuple,
            "timestamp": self._timestamp,
            "number": self._number,
            "decimals_get": _DECIMALS.get,
            "utc_hours_get": _UTC_HOURS.get,
            "mid": _MINUTES_TO_MICROS.fullmatch,
        }
        # Field names enter the source only as repr() literals.
        exec(compile(source, f"<shape {self.stream_name}>", "exec"), namespace)
        return t.cast("t.Callable[[t.Any], dict[str, t.Any]]", namespace["shape"])

    def decode_page(self, content: bytes) -> t.Any:
        """A page's body: a `Page` of records for `shape` (or a bare list of them), or, for a body that is
        no page at all (`null`, an object without a `results` list), its plain JSON value, which
        `page_records` accepts or names.

        A field the plan does not know is warned about once and then decoded (never emitted); a record
        that is not an object, or a foreign key that is neither an object, an integer nor null, raises
        RecordShapeError naming the stream, record and field. msgspec.DecodeError: not complete JSON.
        """
        while True:
            try:
                return self._decoder.decode(content)
            except msgspec.ValidationError:
                with self._learning:
                    try:  # another thread may have learned the fields meanwhile
                        return self._decoder.decode(content)
                    except msgspec.ValidationError as exc:
                        body = decode_json(content)
                        if body is None:
                            return None
                        try:
                            records = page_records(body)
                        except ValueError:
                            return body
                        self._learn_fields(records, exc)

    def _learn_fields(self, records: list[t.Any], exc: msgspec.ValidationError) -> None:
        """Add the fields of `records` that the record type lacks (one warning each); raise
        RecordShapeError for what the record type refused otherwise."""
        for number, raw in enumerate(records):
            if not isinstance(raw, dict):
                raise RecordShapeError(
                    f"Stream '{self.stream_name}': record {number} of a page is not an object "
                    f"(value {str(raw)[:100]!r})"
                )
        unknown = [name for raw in records for name in raw if name not in self.fields]
        if unknown:
            for name in dict.fromkeys(unknown):
                self.fields[name] = DROP
                self._warn_once(
                    name,
                    "Stream '%s': field '%s' is not in the described schema; it is not emitted",
                    self.stream_name,
                    name,
                )
            self._build()
            return
        for raw in records:
            for name, kind in self.plan.items():
                value = raw.get(name)
                if kind == FOREIGN_KEY and not (value is None or type(value) in (dict, int)):
                    raise self._fail(
                        raw.get("id"), name, value, "foreign key is neither an object, an integer nor null"
                    )
        raise RecordShapeError(f"Stream '{self.stream_name}': a page the record type refuses: {exc}")

    def _warn_once(self, field: str, message: str, *args: t.Any) -> None:
        if field not in self._warned:
            self._warned.add(field)
            self.logger.warning(message, *args)

    def _fail(self, record_id: t.Any, field: str, value: t.Any, why: str) -> RecordShapeError:
        return RecordShapeError(
            f"Stream '{self.stream_name}', record id={record_id!r}, field '{field}': {why} (value {value!r})"
        )

    def _record_id(self, raw: t.Any) -> t.Any:
        record_id = None if self._id_index is None else msgspec.structs.astuple(raw)[self._id_index]
        return None if record_id is _UNSET else record_id

    def _timestamp(self, raw: t.Any, field: str, value: t.Any) -> str:
        """`to_utc_timestamp(value)`, warning once per field about a timestamp without offset."""
        try:
            text, naive = to_utc_timestamp(value)
        except (TypeError, ValueError) as exc:
            raise self._fail(
                self._record_id(raw), field, value, f"not an ISO-8601 timestamp the contract holds: {exc}"
            ) from exc
        if naive:
            self._warn_once(
                field,
                "Stream '%s', field '%s': timestamp without offset (%r) read as UTC",
                self.stream_name,
                field,
                value,
            )
        return text

    def _number(self, raw: t.Any, field: str, value: t.Any) -> decimal.Decimal | None:
        """`to_decimal(value)`, remembered for a decimal string."""
        try:
            result = to_decimal(value)
        except (decimal.InvalidOperation, TypeError, ValueError) as exc:
            raise self._fail(self._record_id(raw), field, value, "not a decimal number") from exc
        if result is not None and type(value) is str:
            if len(_DECIMALS) >= _DECIMALS_MAX:
                _DECIMALS.clear()
            _DECIMALS[value] = result
        return result

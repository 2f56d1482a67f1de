"""Record shaping: API pages -> the flat, typed rows of docs/data-contract.md section 2.

A plan (field -> kind) is built once per stream by discovery. From it `RecordShaper` makes, once per
stream, the two steps every record goes through, in record mode and in BATCH mode alike:
- `decode_page`: a page's JSON decoded by msgspec into records of a type made from the plan (each
  foreign-key object a `ForeignKey`, its `url` skipped; a `*_set` link kept undecoded), the page's
  envelope into a `Page`;
- `shape_for(record type)`: the function turning one such record into the contract's record (a
  `ContractRecord`, which msgspec encodes as the JSON object of its columns): foreign keys become
  `<field>` (the id) and `<field>_key`, decimal strings exact `Decimal`s, timestamps UTC text, `*_set`
  fields are dropped. `shape` gives the same record as a dict (record mode).
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


class ContractRecord(msgspec.Struct, gc=False):
    """Base of a stream's shaped record type (made by `RecordShaper`): one field per emitted column, each
    `UNSET` (left out of the encoded record) unless the API's record had it.

    A struct rather than a dict: made in one call, encoded by msgspec from its precomputed field names, and
    not tracked by the garbage collector (the BATCH full sync shapes a million records in a run).
    """

    #: column name -> attribute name, set on each made type (not annotated: a class attribute, no field)
    _attrs = {}

    def get(self, name: str, default: t.Any = None) -> t.Any:
        """The column's value, `default` when the record lacks it (as `dict.get`)."""
        attr = self._attrs.get(name)
        value = default if attr is None else getattr(self, attr)
        return default if value is _UNSET else value

    def to_dict(self) -> dict[str, t.Any]:
        """The columns the record has, in order (record mode hands the SDK a dict)."""
        return {
            name: value
            for name, value in zip(self.__struct_encode_fields__, msgspec.structs.astuple(self), strict=True)
            if value is not _UNSET
        }


# The code of a shape function for one field of each kind: @V is the local holding the field's value in the
# record (`UNSET` when the record lacks it), rewritten in place into the column's value; @NAME is the field's
# name as a literal, @K the local holding its `_key` column's value.
_TIMESTAMP_CODE = """\
    if @V is None or @V is UNSET:
        pass
    elif type(@V) is str and len(@V) == 32 and (h := utc_hours_get(@V[:13] + @V[26:])) and mid(@V, 13, 26):
        @V = f"{h}{@V[13:26]}+00:00"
    elif @V == "":
        @V = None
    else:
        @V = timestamp(raw, @NAME, @V)
"""
_DECIMAL_CODE = """\
    if @V is not UNSET:
        d = decimals_get(@V) if type(@V) is str else None
        @V = number(raw, @NAME, @V) if d is None else d
"""
# FOREIGN_KEY: the decoder gives a ForeignKey, an int or None (it refuses anything else).
_FOREIGN_KEY_CODE = """\
    if type(@V) is ForeignKey:
        @K = @V.key
        @V = @V.id
    else:
        @K = @V if @V is UNSET else None
"""
_CODE = {
    TIMESTAMP: _TIMESTAMP_CODE,
    DECIMAL: _DECIMAL_CODE,
    FOREIGN_KEY: _FOREIGN_KEY_CODE,
}


class RecordShaper:
    """Decodes a stream's pages and turns each record into the contract's flat record, following the
    stream's field plan.

    The plan is turned once, when the stream is made (and again when a page brings a field the plan does
    not know), into a record type for msgspec; for each record type, one Python function with one block
    of code per field, its name as a literal, makes the shaped record (a `ContractRecord`). Every record
    of the stream, in record mode (`post_process`) and in BATCH mode, is decoded and shaped by these two;
    nothing else shapes records.
    """

    def __init__(self, stream_name: str, plan: dict[str, int], logger: logging.Logger) -> None:
        self.stream_name = stream_name
        self.plan = plan
        self.logger = logger
        # The fields of the record type: the plan's, then those pages brought that the plan lacks
        # (decoded as DROP: never emitted).
        self.fields: dict[str, int] = dict(plan)
        # Columns left out of every shaped record (deselected in the catalog).
        self.omitted: frozenset[str] = frozenset()
        self._warned: set[str] = set()
        # A partitioned full sync decodes pages in several threads: one at a time learns new fields.
        self._learning = threading.Lock()
        # The fields each record type was made from, and its shape function (made when first asked for):
        # a page decoded before new fields were learned is shaped by its own type's function.
        self._fields_of: dict[type, dict[str, int]] = {}
        self._shapes: dict[type, t.Callable[[t.Any], ContractRecord]] = {}
        self._build()

    def _build(self) -> None:
        """The record type and the page decoder for `self.fields`."""
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
        self._fields_of[record] = dict(self.fields)
        self._decoder = msgspec.json.Decoder(Page[record] | list[record], float_hook=decimal.Decimal)  # type: ignore[valid-type]
        self._id_index = list(self.fields).index("id") if "id" in self.fields else None

    def omit(self, columns: t.Iterable[str]) -> None:
        """Leave `columns` out of every record shaped from now on."""
        with self._learning:
            self.omitted = frozenset(columns)
            self._shapes.clear()

    def shape_for(self, record_type: type) -> t.Callable[[t.Any], ContractRecord]:
        """The function shaping one decoded record of `record_type` (as `decode_page` gives them) into the
        contract's record: only the fields the record has, then each foreign key's `_key` column; a value
        that cannot be shaped raises RecordShapeError."""
        shape = self._shapes.get(record_type)
        if shape is None:
            with self._learning:
                shape = self._shapes[record_type] = self._compile(self._fields_of[record_type])
        return shape

    def shape(self, raw: t.Any) -> dict[str, t.Any]:
        """One decoded record's contract record as a dict (record mode)."""
        return self.shape_for(type(raw))(raw).to_dict()

    def _compile(self, fields: dict[str, int]) -> t.Callable[[t.Any], ContractRecord]:
        """The shape function of the record type made from `fields`: its columns are the fields in their
        order, then each foreign key's `_key` column in that order, without `self.omitted`."""
        values = {name: f"v{i}" for i, name in enumerate(fields)}
        keys = {
            key_column(name): f"k{i}" for i, (name, kind) in enumerate(fields.items()) if kind == FOREIGN_KEY
        }
        blocks = [
            _CODE[kind].replace("@V", values[name]).replace("@K", f"k{i}").replace("@NAME", repr(name))
            for i, (name, kind) in enumerate(fields.items())
            if kind in _CODE
        ]
        columns = {name: values[name] for name, kind in fields.items() if kind != DROP}
        columns.update(keys)
        columns = {name: local for name, local in columns.items() if name not in self.omitted}
        attrs = {name: f"c{i}" for i, name in enumerate(columns)}
        record_type = msgspec.defstruct(
            "Contract",
            [(attr, t.Any, _UNSET) for attr in attrs.values()],
            bases=(ContractRecord,),
            rename={attr: name for name, attr in attrs.items()},
            namespace={"_attrs": attrs},
            gc=False,
        )
        source = (
            "def shape(raw):\n"
            f"    {', '.join(values.values())}, = astuple(raw)\n"
            f"{''.join(blocks)}"
            f"    return Contract({', '.join(columns.values())})\n"
        )
        namespace: dict[str, t.Any] = {
            "UNSET": _UNSET,
            "ForeignKey": ForeignKey,
            "Contract": record_type,
            "astuple": msgspec.structs.astuple,
            "timestamp": self._timestamp,
            "number": self._number,
            "decimals_get": _DECIMALS.get,
            "utc_hours_get": _UTC_HOURS.get,
            "mid": _MINUTES_TO_MICROS.fullmatch,
        }
        # Field names enter the source only as repr() literals.
        exec(compile(source, f"<shape {self.stream_name}>", "exec"), namespace)
        return t.cast("t.Callable[[t.Any], ContractRecord]", namespace["shape"])

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

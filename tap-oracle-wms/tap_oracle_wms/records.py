"""Record shaping: API records -> the flat, typed rows of docs/data-contract.md section 2.

Kept apart from the HTTP code because it is the contract every downstream part relies on, and
because it runs once per field of every row: the plan is compiled once per stream so the per-record
loop is a dict lookup and one branch per field.
"""

from __future__ import annotations

import datetime
import decimal
import logging
import re
import typing as t

import msgspec

# Field kinds of a shaping plan (small ints keep the hot loop cheap).
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
# UTC `YYYY-MM-DDTHH` by local `YYYY-MM-DDTHH` + offset; rows of one hour share an entry.
_UTC_HOURS: dict[str, str] = {}
_UTC_HOURS_MAX = 100_000
# Decimal by the API's decimal string: quantities repeat ("1", "12.5"), and Decimal is immutable.
_DECIMALS: dict[str, decimal.Decimal] = {}
_DECIMALS_MAX = 100_000
# Compiled shaping functions kept per stream: one per key order the API serves (normally one).
_COMPILED_MAX = 16


class RecordShapeError(ValueError):
    """A value the API served cannot be shaped into the contract (names stream, record and field)."""


def key_column(field: str) -> str:
    """Name of the column carrying a foreign key's `key` (contract: `<field>_key`)."""
    return f"{field}_key"


def to_utc_timestamp(value: str) -> tuple[str, bool]:
    """Normalise an ISO-8601 timestamp to UTC `YYYY-MM-DDTHH:MM:SS.ffffff+00:00`.

    Returns the text and whether the input lacked an offset (then it is read as UTC). UTC text sorts
    like the instants it names, which the SDK's bookmark logic relies on: it compares
    replication-key values as text (see the signpost pitfall in the README).
    """
    if len(value) == _CANONICAL_LEN:
        if value.endswith(_UTC_SUFFIX):
            return value, False
        if _MINUTES_TO_MICROS.fullmatch(value, 13, 26):
            utc_hour = _UTC_HOURS.get(value[:13] + value[26:]) or _utc_hour(value)
            if utc_hour is not None:
                return f"{utc_hour}{value[13:26]}{_UTC_SUFFIX}", False
    return _parse_to_utc(value)


def _utc_hour(value: str) -> str | None:
    """UTC `YYYY-MM-DDTHH` of a canonical-length timestamp with a whole-hour offset (the API's `-03:00`),
    whose `:MM:SS.ffffff` is well formed; None for any other offset.

    A whole-hour offset moves only the date and hour: those are converted once per hour through the full
    parser and remembered, minutes to microseconds are kept as served.
    """
    if value[29:] != ":00" or value[26] not in "+-":
        return None
    hour_key = value[:13] + value[26:]
    utc_hour = _parse_to_utc(f"{value[:13]}:00:00.000000{value[26:]}")[0][:13]
    if len(_UTC_HOURS) >= _UTC_HOURS_MAX:
        _UTC_HOURS.clear()
    _UTC_HOURS[hour_key] = utc_hour
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

    `Decimal` keeps every digit; the tap's writers emit it as a JSON number without float rounding.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise decimal.InvalidOperation(value)
    result = decimal.Decimal(value if isinstance(value, str) else str(value))
    if not result.is_finite():
        raise decimal.InvalidOperation(value)
    return result


class _NotFast(Exception):
    """A value the compiled shaping function leaves to the general path (which shapes it or names it)."""


def _not_fast() -> t.NoReturn:
    raise _NotFast


def _decimal_remembered(value: str) -> decimal.Decimal | None:
    """`to_decimal(value)` for a string, remembered (only strings: as keys, `Decimal("5.0") == 5`)."""
    result = to_decimal(value)
    if result is not None:
        if len(_DECIMALS) >= _DECIMALS_MAX:
            _DECIMALS.clear()
        _DECIMALS[value] = result
    return result


# The compiled function's code per field kind (VAR: the field's variable, KEY: its `_key` column's).
# TIMESTAMP: `to_utc_timestamp` for UTC text and for a whole-hour offset (its hour converted once).
_TIMESTAMP_CODE = """\
    if VAR is None or VAR == '':
        VAR = None
    elif type(VAR) is not str or len(VAR) != 32:
        raise NotFast
    elif VAR[26:] != '+00:00':
        if not minutes_to_micros(VAR, 13, 26):
            raise NotFast
        hour = utc_hours_get(VAR[:13] + VAR[26:]) or utc_hour(VAR)
        if hour is None:
            raise NotFast
        VAR = f'{hour}{VAR[13:26]}+00:00'
"""
# TIMESTAMP for a typed page: the same, but the `:MM:SS.ffffff` of the whole page checked at once afterwards
# (`RecordShaper._shape_typed`, through `mids_append`) rather than by one regex call per value.
_TIMESTAMP_PAGE_CODE = _TIMESTAMP_CODE.replace(
    """        if not minutes_to_micros(VAR, 13, 26):
            raise NotFast
""",
    "",
).replace(
    "VAR = f'{hour}{VAR[13:26]}+00:00'",
    "mid = VAR[13:26]\n        mids_append(mid)\n        VAR = f'{hour}{mid}+00:00'",
)
# The `:MM:SS.ffffff` parts (13 characters each) of a page's timestamps, joined.
_PAGE_MINUTES_TO_MICROS = re.compile(f"(?:{_MINUTES_TO_MICROS.pattern})*")
_DECIMAL_CODE = """\
    if type(VAR) is str:
        number = decimals_get(VAR)
        VAR = decimal_remembered(VAR) if number is None else number
    else:
        VAR = to_decimal(VAR)
"""
_FOREIGN_KEY_CODE = """\
    if type(VAR) is dict:
        KEY = VAR['key']
        VAR = VAR['id']
    elif VAR is None or type(VAR) is int:
        KEY = None
    else:
        raise NotFast
"""


class ForeignKey(msgspec.Struct, gc=False):
    """A foreign-key object of a typed page (`RecordShaper.page_decoder`): its `id` and `key` (the `url`,
    and any other member, is skipped by the decoder)."""

    id: t.Any
    key: t.Any


def _output_columns(plan: dict[str, int], keys: tuple[str, ...]) -> list[tuple[str, str]]:
    """(column, variable of the compiled function) of the record shaped from one with `keys`, in order:
    the plan's fields but those dropped, each foreign key followed by its `_key` column."""
    columns = []
    for i, name in enumerate(keys):
        kind = plan[name]
        if kind != DROP:
            columns.append((name, f"v{i}"))
        if kind == FOREIGN_KEY:
            columns.append((key_column(name), f"k{i}"))
    return columns


def compile_shape(
    plan: dict[str, int], keys: tuple[str, ...], *, typed: bool = False, row: type | None = None
) -> t.Callable[[t.Any], t.Any] | None:
    """A shaping function for records whose keys are exactly `keys`, in that order (None if a key is not
    in the plan: the general path warns about it); with `typed`, for the records of a typed page (structs
    with those fields, foreign keys as `ForeignKey`); with `row`, building that struct (the record's
    columns as its fields, in order) instead of a dict.

    The function unpacks the record's values in one step, converts them field by field as
    `RecordShaper.shape_general` does, and builds the output with one dict display (or struct) in the
    record's key order. What it does not handle itself (a foreign-key object without `id` or `key`, a
    malformed value) raises, and the caller shapes that record through the general path, which gives the
    same output or names the error.
    """
    if not keys or any(name not in plan for name in keys):
        return None
    foreign_key_code = _FOREIGN_KEY_CODE
    if typed:
        foreign_key_code = (
            foreign_key_code.replace("is dict", "is ForeignKey")
            .replace("VAR['key']", "VAR.key")
            .replace("VAR['id']", "VAR.id")
        )
    code = []
    for i, name in enumerate(keys):
        kind, var = plan[name], f"v{i}"
        if kind == TIMESTAMP:
            code.append((_TIMESTAMP_PAGE_CODE if typed else _TIMESTAMP_CODE).replace("VAR", var))
        elif kind == DECIMAL:
            code.append(_DECIMAL_CODE.replace("VAR", var))
        elif kind == FOREIGN_KEY:
            code.append(foreign_key_code.replace("VAR", var).replace("KEY", f"k{i}"))
    columns = _output_columns(plan, keys)
    unpack = ", ".join(f"v{i}" for i in range(len(keys)))
    source = (
        f"def shape(raw):\n    {unpack}, = {'astuple(raw)' if typed else 'raw.values()'}\n{''.join(code)}"
    )
    if row is None:
        source += f"    return {{{', '.join(f'{name!r}: {var}' for name, var in columns)}}}\n"
    else:
        source += f"    return Row({', '.join(var for _, var in columns)})\n"
    namespace: dict[str, t.Any] = {
        "NotFast": _NotFast,
        "ForeignKey": ForeignKey,
        "Row": row,
        "astuple": msgspec.structs.astuple,
        "utc_hours_get": _UTC_HOURS.get,
        "minutes_to_micros": _MINUTES_TO_MICROS.fullmatch,
        "mids_append": None,  # set per page (typed pages)
        "utc_hour": _utc_hour,
        "decimals_get": _DECIMALS.get,
        "decimal_remembered": _decimal_remembered,
        "to_decimal": to_decimal,
    }
    exec(compile(source, f"<shape {len(keys)} fields>", "exec"), namespace)  # names enter as repr() literals
    return t.cast("t.Callable[[t.Any], t.Any]", namespace["shape"])


def _row_get(row: t.Any, name: str, default: t.Any = None) -> t.Any:
    """`dict.get` for a row (see `RecordShaper.shape_page`)."""
    return getattr(row, name, default)


_ROW_METHODS = {"get": _row_get}


class RecordShaper:
    """Turns one raw API record into the contract's flat record, following a compiled field plan."""

    def __init__(self, stream_name: str, plan: dict[str, int], logger: logging.Logger) -> None:
        self.stream_name = stream_name
        self.plan = plan
        self.logger = logger
        self._key_names = {name: key_column(name) for name, kind in plan.items() if kind == FOREIGN_KEY}
        self._warned: set[str] = set()
        # Compiled shaping functions by record key order (None: that order takes the general path).
        self._compiled: dict[tuple[str, ...], t.Callable[[dict], dict] | None] = {}
        # Typed pages (see `page_type`): their record type, the functions shaping its records into dicts
        # and into rows (None: no row type), and its fields.
        self._typed: tuple[type, t.Callable, t.Callable | None, tuple[str, ...]] | None = None

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
        """Return the contract record for `raw` (a new dict; `raw` is not modified)."""
        return next(self.shape_all((raw,)))

    def shape_all(self, raws: t.Iterable[t.Any], rows: bool = False) -> t.Iterator[t.Any]:
        """`shape` for each record of `raws` (a page), in order (the records of a typed page as rows with
        `rows`, see `shape_page`).

        Through the function compiled for the record's key order (records of a page share one, so the
        order is compared with the record before's); a record it leaves aside (see `compile_shape`) goes
        through `shape_general`.
        """
        if type(raws) is list:
            shaped, raws = self._shape_typed(raws, rows)
            if shaped is not None:
                yield from shaped
                return
        last_keys: tuple[str, ...] | None = None
        fast: t.Callable[[dict], dict] | None = None
        for raw in raws:
            keys = tuple(raw)
            if keys != last_keys:
                last_keys, fast = keys, self._compiled_for(keys)
            if fast is not None:
                try:
                    yield fast(raw)
                    continue
                except Exception:  # the general path shapes it, or raises the error naming the field
                    pass
            yield self.shape_general(raw)

    def shape_page(self, raws: list[t.Any], rows: bool = False) -> list[t.Any]:
        """`shape` for each record of `raws` (a page), as a list (BATCH mode).

        With `rows`, the records of a typed page come as rows: structs with the record's columns as
        fields, in its key order, and a dict's `get`; msgspec encodes a row as the text of its dict.

        In one list comprehension when every record has the first one's key order and the function
        compiled for it shapes them all (it has no side effects but its caches); otherwise the page
        goes through `shape_all`, which gives the same records or raises the same error.
        """
        shaped, raws = self._shape_typed(raws, rows)
        if shaped is not None:
            return shaped
        if not raws:
            return []
        keys = tuple(raws[0])
        fast = self._compiled_for(keys)
        if fast is not None:
            try:
                return [fast(raw) if tuple(raw) == keys else _not_fast() for raw in raws]
            except Exception:  # shape_all shapes the page, or raises the error naming the field
                pass
        return list(self.shape_all(raws))

    def page_type(self, keys: tuple[str, ...]) -> type | None:
        """The type of a page (`results`, `next_page`) whose records have exactly the fields `keys`, for
        msgspec to decode pages into: records as structs (one per record instead of a dict, and one
        `ForeignKey` per foreign-key object instead of a dict and its `url`), every other value as JSON
        decodes it. None when a key is not in the plan or is no possible struct field.

        A page that is not of this type (an unknown or missing field, a foreign key neither an object
        with `id` and `key`, an integer nor null, no `results` list) fails to decode and is decoded as
        plain JSON instead; the records of a typed page are shaped in the field order of `keys`.
        """
        shape = compile_shape(self.plan, keys, typed=True)
        if shape is None:
            return None
        fields = [
            (name, ForeignKey | int | None if self.plan[name] == FOREIGN_KEY else t.Any) for name in keys
        ]
        try:
            record = msgspec.defstruct("WmsRecord", fields, forbid_unknown_fields=True, gc=False)
        except (TypeError, ValueError):
            return None
        self._typed = (record, shape, self._row_shape(keys), keys)
        return msgspec.defstruct("WmsPage", [("results", list[record]), ("next_page", t.Any, None)])

    def _row_shape(self, keys: tuple[str, ...]) -> t.Callable | None:
        """The function shaping the records of a typed page into rows (see `shape_page`), or None when the
        columns cannot be struct fields."""
        columns = [name for name, _ in _output_columns(self.plan, keys)]
        if "get" in columns or len(set(columns)) != len(columns):
            return None
        try:
            row = msgspec.defstruct(
                "WmsRow", [(name, t.Any) for name in columns], gc=False, namespace=_ROW_METHODS
            )
        except (TypeError, ValueError):
            return None
        return compile_shape(self.plan, keys, typed=True, row=row)

    def _shape_typed(self, raws: list[t.Any], rows: bool = False) -> tuple[list[t.Any] | None, list[t.Any]]:
        """(None, `raws`) for a page of dicts; for a typed page, (the records shaped in one list
        comprehension, as rows if `rows` and it can, `raws`), or (None, its records as the dicts plain JSON
        decoding gives, but for the foreign keys' `url`) when a value needs the general path."""
        typed = self._typed
        if typed is None or not raws or type(raws[0]) is not typed[0]:
            return None, raws
        _, shape, row_shape, keys = typed
        if rows and row_shape is not None:
            shape = row_shape
        mids: list[str] = []
        shape.__globals__["mids_append"] = mids.append
        try:
            shaped = [shape(raw) for raw in raws]
            if _PAGE_MINUTES_TO_MICROS.fullmatch("".join(mids)):
                return shaped, raws
        except Exception:  # the dict path shapes the page, or raises the error naming the field
            pass

        def plain(value: t.Any) -> t.Any:
            return {"id": value.id, "key": value.key} if type(value) is ForeignKey else value

        astuple = msgspec.structs.astuple
        return None, [dict(zip(keys, map(plain, astuple(raw)), strict=True)) for raw in raws]

    def _compiled_for(self, keys: tuple[str, ...]) -> t.Callable[[dict], dict] | None:
        """The function compiled for records with `keys` (compiled on first sight; None: general path)."""
        try:
            return self._compiled[keys]
        except KeyError:
            fast = compile_shape(self.plan, keys) if len(self._compiled) < _COMPILED_MAX else None
            self._compiled[keys] = fast
            return fast

    def shape_general(self, raw: dict[str, t.Any]) -> dict[str, t.Any]:
        """`shape`, field by field through the plan: warns about unknown fields and naive timestamps,
        names the stream, record and field of a value that cannot be shaped."""
        out: dict[str, t.Any] = {}
        plan_get = self.plan.get
        for name, value in raw.items():
            kind = plan_get(name)
            if kind == PLAIN:
                out[name] = value
            elif kind == TIMESTAMP:
                if value is None or value == "":
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
            elif kind == FOREIGN_KEY:
                key_name = self._key_names[name]
                if value is None:
                    out[name] = None
                    out[key_name] = None
                elif type(value) is dict:
                    out[name] = value.get("id")
                    out[key_name] = value.get("key")
                elif type(value) is int:
                    out[name] = value
                    out[key_name] = None
                else:
                    raise self._fail(
                        raw, name, value, "foreign key is neither an object, an integer nor null"
                    )
            elif kind == DECIMAL:
                try:
                    out[name] = to_decimal(value)
                except (decimal.InvalidOperation, TypeError, ValueError) as exc:
                    raise self._fail(raw, name, value, "not a decimal number") from exc
            elif kind == DROP:
                continue
            else:
                self._warn_once(
                    name,
                    "Stream '%s': field '%s' is not in the described schema; it is not emitted",
                    self.stream_name,
                    name,
                )
        return out

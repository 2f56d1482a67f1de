"""The storage contract's table, which kind of column a property becomes, and which values a kind stores:
written once, for two plugins.

`storage_contract.json` says what target-oracle stores per JSON Schema type; `kind_for_schema` says which
of its kinds a property's schema becomes; `refusal` says why a value cannot be stored exactly in a column
of a kind (the date-time and date forms stored: `datetime_form`, `DATE_FORM`). target-oracle builds its
columns and refuses values by them, and mapper-wms-validate quarantines each record by the same rules (its
copy of this module, like its copy of the JSON file, is a link to this one). So this module depends on
nothing but the standard library and reads the JSON file that sits beside it, in whichever package it is.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import json
import re
import typing as t
from importlib import resources

INTEGER = "integer"
NUMBER = "number"
STRING = "string"
CLOB = "clob"
BOOLEAN = "boolean"
TIMESTAMP = "timestamp"
DATE = "date"
JSON = "json"


@functools.cache
def contract() -> dict[str, t.Any]:
    """The parsed `storage_contract.json` beside this module."""
    return json.loads(resources.files(__package__).joinpath("storage_contract.json").read_text("utf-8"))


def _non_null_types(schema: t.Any) -> list[str]:
    types = schema.get("type", []) if isinstance(schema, dict) else []
    if isinstance(types, str):
        types = [types]
    return [typ for typ in types if typ != "null"] if isinstance(types, list) else []


def kind_for_schema(schema: t.Any) -> str:
    """Return the column kind for one property's JSON schema.

    ``anyOf`` resolves to the single kind all its non-null options share, else to text (a string column can
    hold every value). Strings longer than the contract's VARCHAR2 bytes by ``maxLength`` become CLOB.
    Every number is NUMBER(38,10) (the storage contract): a value with more decimal places is refused,
    never rounded. A schema that is not an object (``true``) is text.
    """
    if not isinstance(schema, dict):
        return STRING
    options = schema.get("anyOf")
    if isinstance(options, list):
        kinds = {kind_for_schema(option) for option in options if _non_null_types(option)}
        if len(kinds) == 1:
            return kinds.pop()
        if kinds <= {STRING, TIMESTAMP}:
            dated = any(isinstance(o, dict) and o.get("format") == "date-time" for o in options)
            return TIMESTAMP if dated else STRING
        return STRING
    types = _non_null_types(schema)
    if not types:
        return JSON if "properties" in schema or "items" in schema else STRING
    if len(types) > 1:
        if set(types) <= {"integer", "number"}:
            return NUMBER
        return JSON if set(types) & {"object", "array"} else STRING
    typ = types[0]
    plain = {"integer": INTEGER, "number": NUMBER, "boolean": BOOLEAN, "object": JSON, "array": JSON}
    if typ in plain:
        return plain[typ]
    fmt = schema.get("format")
    if fmt == "date-time":
        return TIMESTAMP
    if fmt == "date":
        return DATE
    max_length = schema.get("maxLength")
    if isinstance(max_length, int) and max_length > contract()["kinds"][STRING]["max_bytes"]:
        return CLOB
    return STRING


# --- the values a kind stores ---------------------------------------------------------------------------

#: ISO-8601 calendar date (no week or ordinal dates), ASCII digits
DATE_FORM = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_HOURS = "(?:[01][0-9]|2[0-3])"
_SIXTY = "[0-5][0-9]"
_CLOCK_FORM = rf"{_HOURS}:{_SIXTY}:{_SIXTY}"
_OFFSET_FORM = rf"Z|[+-]{_HOURS}(?::?{_SIXTY})?"


def datetime_form(fraction_digits: str = "+", offset: str = "?") -> str:
    """The date-time forms stored, as a regular expression that Python's `re` and DuckDB's RE2 read alike:
    a calendar date, `T` or a space, the time with seconds (hours 00-23, minutes and seconds 00-59), an
    optional fraction of `fraction_digits` (a quantifier) digits, then a `Z` or an offset of hours (00-23)
    or of hours and minutes (00-59), `offset` (a quantifier: `?` for optional, empty for required). Groups:
    date, time, fraction digits, offset. A value of one of these forms is a date-time when `read_datetime`
    reads it (the calendar, the UTC instant within the years 1 to 9999)."""
    return rf"({DATE_FORM})[T ]({_CLOCK_FORM})(?:\.([0-9]{fraction_digits}))?({_OFFSET_FORM}){offset}"


_DATETIME = re.compile(datetime_form())
_DATE = re.compile(DATE_FORM)


def read_datetime(value: str) -> dt.datetime:
    """``datetime.fromisoformat(value)``, raising ValueError also when the value's UTC instant falls outside
    the years 1 to 9999 (``0001-01-01T00:30:00+01:00``): neither Python nor Oracle's TIMESTAMP holds it; and
    when the offset ends in two digits over 59 (``+05:75``, ``+0575``: minutes, which ``fromisoformat``
    would carry into the hours)."""
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is not None and value[-2:] >= "60" and value[-2:].isdigit():
        raise ValueError(f"{value!r} has an offset whose minutes are over 59")
    if parsed.tzinfo is not None and parsed.year in (1, 9999):
        try:
            parsed.astimezone(dt.timezone.utc)
        except OverflowError as exc:
            raise ValueError(f"{value!r} is outside the years 1 to 9999 in UTC") from exc
    return parsed


def parse_timestamp(value: str) -> tuple[dt.datetime, bool, bool] | None:
    """``(naive UTC datetime, more than the contract's fractional digits, had no offset)``, or None when
    ``value`` is not a stored date-time form (`datetime_form`) that ``datetime.fromisoformat`` reads. A value
    without an offset is read as UTC."""
    match = _DATETIME.fullmatch(value)
    if match is None:
        return None
    try:
        parsed = read_datetime(value)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    fraction = match[3] or ""
    return parsed, len(fraction) > contract()["kinds"][TIMESTAMP]["fraction_digits"], match[4] is None


def _number(value: t.Any) -> decimal.Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, decimal.Decimal)):
        return decimal.Decimal(value)
    if isinstance(value, float):
        return decimal.Decimal(repr(value))
    if isinstance(value, str):
        try:
            return decimal.Decimal(value)
        except decimal.InvalidOperation:
            return None
    return None


#: exact arithmetic for any JSON number's digits (the default context keeps 28)
_EXACT = decimal.Context(prec=1000, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


def refusal(kind_name: str, value: t.Any) -> str | None:
    """The contract's reason why ``value`` (not None) cannot be stored exactly in a column of ``kind_name``,
    or None when it can. Values of other types than the kind's are the schema validator's business."""
    kinds = contract()["kinds"]
    refuses = kinds[kind_name]["refuses"] if kind_name in kinds else {}
    if kind_name == INTEGER:
        number = _number(value)
        if number is None:
            return None
        if not number.is_finite() or number != number.to_integral_value():
            return refuses["not_integer"]
        limit = decimal.Decimal(10) ** kinds[INTEGER]["precision"]
        return refuses["too_large"] if number.copy_abs() >= limit else None
    if kind_name == NUMBER:
        number = _number(value)
        if number is None:
            return None
        if not number.is_finite():
            return refuses["not_finite"]
        scale = kinds[NUMBER]["scale"]
        if number.copy_abs() >= decimal.Decimal(10) ** (kinds[NUMBER]["precision"] - scale):
            return refuses["too_large"]
        quantum = decimal.Decimal(1).scaleb(-scale)
        if number != number.quantize(quantum, rounding=decimal.ROUND_DOWN, context=_EXACT):
            return refuses["too_precise"]
        return None
    if kind_name == TIMESTAMP and isinstance(value, str):
        parsed = parse_timestamp(value)
        if parsed is None:
            return refuses["not_datetime"]
        return refuses["too_precise"] if parsed[1] else None
    if kind_name == DATE and isinstance(value, str):
        if _DATE.fullmatch(value) is None:
            return refuses["not_date"]
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return refuses["not_date"]
        return None
    return None

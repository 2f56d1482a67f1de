"""The storage contract (``storage_contract.json``): what is stored per JSON Schema type, and what is refused.

The JSON file is the one table, shared with mapper-wms-validate (its copy is a link to this file). This
module reads it once and answers, for one value of one column kind, whether it is stored exactly and, if
not, the contract's reason. A refused value stops the run; nothing is rounded, clipped or truncated.
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
    """The parsed ``storage_contract.json`` of this package."""
    return json.loads(resources.files("target_oracle").joinpath("storage_contract.json").read_text("utf-8"))


def kind(name: str) -> dict[str, t.Any]:
    """One kind's entry (``oracle``, ``duckdb``, ``precision``, ``scale``, ``refuses``, ...)."""
    return contract()["kinds"][name]


def reason(kind_name: str, key: str) -> str:
    """The contract's message for a refusal."""
    return kind(kind_name)["refuses"][key]


NUMBER_PRECISION: int = kind(NUMBER)["precision"]
NUMBER_SCALE: int = kind(NUMBER)["scale"]
INTEGER_PRECISION: int = kind(INTEGER)["precision"]
VARCHAR_MAX_BYTES: int = kind(STRING)["max_bytes"]
FRACTION_DIGITS: int = kind(TIMESTAMP)["fraction_digits"]
IDENTIFIER_MAX_BYTES: int = contract()["names"]["identifier_max_bytes"]

_INTEGER_LIMIT = decimal.Decimal(10) ** INTEGER_PRECISION
_NUMBER_LIMIT = decimal.Decimal(10) ** (NUMBER_PRECISION - NUMBER_SCALE)
_NUMBER_QUANTUM = decimal.Decimal(1).scaleb(-NUMBER_SCALE)
#: exact arithmetic for any JSON number's digits (the default context keeps 28)
_EXACT = decimal.Context(prec=1000, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)

#: SQL (DuckDB regex) of the raw JSON text of a value that is surely stored exactly; any other value is
#: checked in Python by ``refusal`` (DuckDB's JSON reader may print a number in another form, e.g. 1e-12).
EXACT_TEXT = {
    INTEGER: rf"-?[0-9]{{1,{INTEGER_PRECISION}}}",
    NUMBER: rf"-?[0-9]{{1,{NUMBER_PRECISION - NUMBER_SCALE}}}(\.[0-9]{{1,{NUMBER_SCALE}}})?",
    TIMESTAMP: (
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}"
        rf"(\.[0-9]{{1,{FRACTION_DIGITS}}})?"
        r"(Z|z|[+-][0-9]{2}:?[0-9]{2})"
    ),
    DATE: r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
}

_DATETIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?"
)


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


def refusal(kind_name: str, value: t.Any) -> str | None:
    """The contract's reason why ``value`` (not None) cannot be stored exactly in a column of ``kind_name``,
    or None when it can. Values of other types than the kind's are the schema validator's business."""
    if kind_name == INTEGER:
        number = _number(value)
        if number is None:
            return None
        if not number.is_finite() or number != number.to_integral_value():
            return reason(INTEGER, "not_integer")
        return reason(INTEGER, "too_large") if number.copy_abs() >= _INTEGER_LIMIT else None
    if kind_name == NUMBER:
        number = _number(value)
        if number is None:
            return None
        if not number.is_finite():
            return reason(NUMBER, "not_finite")
        if number.copy_abs() >= _NUMBER_LIMIT:
            return reason(NUMBER, "too_large")
        if number != number.quantize(_NUMBER_QUANTUM, rounding=decimal.ROUND_DOWN, context=_EXACT):
            return reason(NUMBER, "too_precise")
        return None
    if kind_name == TIMESTAMP and isinstance(value, str):
        parsed = parse_timestamp(value)
        if parsed is None:
            return reason(TIMESTAMP, "not_datetime")
        return reason(TIMESTAMP, "too_precise") if parsed[1] else None
    if kind_name == DATE and isinstance(value, str):
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return reason(DATE, "not_date")
        return None if len(value) == 10 else reason(DATE, "not_date")
    return None


def parse_timestamp(value: str) -> tuple[dt.datetime, bool, bool] | None:
    """``(naive UTC datetime, more than 6 fractional digits, had no offset)`` or None when not a date-time.
    A value without an offset is read as UTC."""
    match = _DATETIME.fullmatch(value.strip())
    if match is None:
        return None
    day, clock, fraction, offset = match.groups()
    fraction = fraction or ""
    text = f"{day}T{clock or '00:00:00'}"
    if len(clock or "") == 5:
        text += ":00"
    if fraction:
        text += "." + fraction[:6].ljust(6, "0")
    if offset and offset not in {"Z", "z"}:
        text += offset if ":" in offset or len(offset) == 3 else f"{offset[:3]}:{offset[3:]}"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return parsed, len(fraction) > FRACTION_DIGITS, offset is None


def markdown_table() -> str:
    """The contract as the Markdown table docs/data-contract.md shows (a test keeps the two equal)."""
    lines = [
        "| kind | JSON Schema | Oracle | DuckDB | stores | refused (run stops) |",
        "|---|---|---|---|---|---|",
    ]
    for name, entry in contract()["kinds"].items():
        refuses = "; ".join(entry["refuses"].values()) or "nothing"
        cells = [
            name,
            entry["json_schema"],
            f"`{entry['oracle']}`",
            f"`{entry['duckdb']}`",
            entry["stores"],
            refuses,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    names = contract()["names"]
    lines.append("")
    lines.append(
        f"Names: {names['property_names']}; identifiers at most {names['identifier_max_bytes']} bytes; "
        f"properties starting with `{names['metadata_prefix']}` named like a metadata column are refused."
    )
    return "\n".join(lines)

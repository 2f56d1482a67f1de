"""Column kinds: the one place that decides what a JSON-schema property
becomes in the database.

A *kind* is dialect-neutral (``integer``, ``number``, ``string``, ...); each dialect strategy turns a
kind into its SQL type and back. Keeping the decision here lets schema
evolution compare kinds ("may NUMBER(38) become NUMBER(38,10)?") without parsing
SQL type strings of two databases.
"""

from __future__ import annotations

import datetime as dt
import typing as t

import simplejson

from target_oracle.contract import (
    BOOLEAN,
    CLOB,
    DATE,
    INTEGER,
    JSON,
    NUMBER,
    NUMBER_SCALE,
    STRING,
    TIMESTAMP,
    VARCHAR_MAX_BYTES,
    parse_timestamp,
)

__all__ = [
    "BOOLEAN",
    "CLOB",
    "DATE",
    "INTEGER",
    "JSON",
    "NUMBER",
    "NUMBER_SCALE",
    "STRING",
    "TIMESTAMP",
    "VARCHAR_MAX_BYTES",
]

#: kind -> kinds it may be widened to in place, in order of preference.
WIDENINGS: dict[str, tuple[str, ...]] = {
    INTEGER: (NUMBER,),
    STRING: (CLOB,),
}
#: kinds whose columns can hold a value of any kind as text.
TEXT_KINDS = frozenset({STRING, CLOB, JSON})


def _non_null_types(schema: dict) -> list[str]:
    types = schema.get("type", [])
    if isinstance(types, str):
        types = [types]
    return [typ for typ in types if typ != "null"]


def kind_for_schema(schema: dict) -> str:
    """Return the column kind for one property's JSON schema.

    ``anyOf`` resolves to the single kind all its non-null options share, else to text (a string column can
    hold every value). Strings longer than 4000 bytes by ``maxLength`` become CLOB. Every number is
    NUMBER(38,10) (the storage contract): a value with more decimal places is refused, never rounded.
    """
    if "anyOf" in schema:
        kinds = {kind_for_schema(option) for option in schema["anyOf"] if _non_null_types(option)}
        if len(kinds) == 1:
            return kinds.pop()
        if kinds <= {STRING, TIMESTAMP}:
            return TIMESTAMP if any(o.get("format") == "date-time" for o in schema["anyOf"]) else STRING
        return STRING
    types = _non_null_types(schema)
    if not types:
        return JSON if "properties" in schema or "items" in schema else STRING
    if len(types) > 1:
        if set(types) <= {"integer", "number"}:
            return NUMBER
        return JSON if set(types) & {"object", "array"} else STRING
    typ = types[0]
    if typ == "integer":
        return INTEGER
    if typ == "number":
        return NUMBER
    if typ == "boolean":
        return BOOLEAN
    if typ in {"object", "array"}:
        return JSON
    fmt = schema.get("format")
    if fmt == "date-time":
        return TIMESTAMP
    if fmt == "date":
        return DATE
    if (schema.get("maxLength") or 0) > VARCHAR_MAX_BYTES:
        return CLOB
    return STRING


def to_utc_naive(value: t.Any) -> t.Any:
    """Normalise a timestamp to naive UTC (the contract stores UTC without a zone)."""
    if isinstance(value, str):
        parsed = parse_timestamp(value)
        if parsed is None:
            msg = f"not an ISO-8601 date-time: {value!r}"
            raise ValueError(msg)
        return parsed[0]
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    return value


def to_date(value: t.Any) -> t.Any:
    """Return a ``date`` for a date column (a timestamp is cut to its UTC day)."""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.datetime):
        return to_utc_naive(value).date()
    return value


def dump_json(value: t.Any) -> str:
    """Serialise an object/array exactly (Decimals keep their digits, unicode kept as is)."""
    return simplejson.dumps(value, use_decimal=True, ensure_ascii=False, separators=(",", ":"), default=str)


def to_text(value: t.Any) -> str:
    """Render any value for a text column: JSON for objects/arrays, ISO for timestamps."""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return dump_json(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_json_text(value: t.Any) -> str:
    """Render any value as JSON text (for JSON columns, which only accept valid JSON)."""
    return dump_json(value)

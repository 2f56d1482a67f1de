"""The type map: what a JSON-schema property becomes in Oracle and in DuckDB, and back.

A *kind* is dialect-neutral (``integer``, ``number``, ``string``, ...): ``kind_for_schema`` gives a
property's kind, ``column_type`` its column type in either database (as the storage contract,
``storage_contract.json``, spells it), ``oracle_column_kind`` / ``duckdb_column_kind`` read a catalog's column
back into a kind, ``oracle_bind_type`` the python-oracledb bind type. Schema evolution compares kinds ("may
NUMBER(38) become NUMBER(38,10)?") without parsing SQL type strings of two databases.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import typing as t

import simplejson

from target_oracle import contract
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
from target_oracle.storage_contract import kind_for_schema

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
    "kind_for_schema",
]

#: kind -> kinds it may be widened to in place, in order of preference.
WIDENINGS: dict[str, tuple[str, ...]] = {
    INTEGER: (NUMBER,),
    STRING: (CLOB,),
}
#: kinds whose columns can hold a value of any kind as text.
TEXT_KINDS = frozenset({STRING, CLOB, JSON})
#: kinds stored as CLOB on Oracle, which cannot be in a primary key (ORA-02329)
NOT_KEY_KINDS = frozenset({CLOB, JSON})


def value_kind(column_kind: str, schema_kind: str) -> str:
    """The kind a property's values are converted as, in a column of ``column_kind``: the column's, but for
    booleans kept in a number column (a property that became boolean keeps its wider column), which convert
    as booleans: 1 and 0 (on Oracle as NUMBER values; DuckDB casts BOOLEAN to DECIMAL on insert)."""
    if schema_kind == BOOLEAN and column_kind in {INTEGER, NUMBER}:
        return BOOLEAN
    return column_kind


def column_type(kind: str, database: str) -> str:
    """The column type of ``kind`` in ``database`` (``oracle`` or ``duckdb``), from the storage contract."""
    return contract.kind(kind)[database]


def oracle_column_kind(data_type: str, precision: int | None, scale: int | None) -> str:
    """The kind of an Oracle column (``ALL_TAB_COLUMNS``); ``other:<type>`` for a type the target does not
    make (an unconstrained ``NUMBER`` among them)."""
    data_type = str(data_type).upper()
    if data_type == "NUMBER" and precision is not None:
        if precision == 1 and not scale:
            return BOOLEAN
        if not scale:
            return INTEGER
        if scale == NUMBER_SCALE:
            return NUMBER
    if data_type in {"VARCHAR2", "NVARCHAR2", "CHAR", "NCHAR"}:
        return STRING
    if data_type in {"CLOB", "NCLOB"}:
        return CLOB
    if data_type.startswith("TIMESTAMP"):
        return TIMESTAMP
    if data_type == "DATE":
        return DATE
    return f"other:{data_type}"


_DUCKDB_KINDS = {
    "BIGINT": INTEGER,
    "INTEGER": INTEGER,
    "HUGEINT": INTEGER,
    "SMALLINT": INTEGER,
    "VARCHAR": STRING,
    "BOOLEAN": BOOLEAN,
    "DATE": DATE,
    "JSON": JSON,
}


def duckdb_column_kind(data_type: str) -> str:
    """The kind of a DuckDB column (``information_schema.columns``); ``other:<type>`` otherwise."""
    data_type = str(data_type).upper()
    if match := re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", data_type):
        scale = int(match.group(2))
        if scale == 0:
            return INTEGER
        if scale == NUMBER_SCALE:
            return NUMBER
    if data_type in _DUCKDB_KINDS:
        return _DUCKDB_KINDS[data_type]
    if data_type.startswith("TIMESTAMP"):
        return TIMESTAMP
    return f"other:{data_type}"


def oracle_bind_type(kind: str) -> t.Any:
    """The python-oracledb bind type of a column of ``kind`` (None: let the driver choose)."""
    import oracledb

    return {
        INTEGER: oracledb.DB_TYPE_NUMBER,
        NUMBER: oracledb.DB_TYPE_NUMBER,
        BOOLEAN: oracledb.DB_TYPE_NUMBER,
        STRING: VARCHAR_MAX_BYTES,
        CLOB: oracledb.DB_TYPE_LONG,
        JSON: oracledb.DB_TYPE_LONG,
        TIMESTAMP: oracledb.DB_TYPE_TIMESTAMP,
        DATE: oracledb.DB_TYPE_DATE,
    }.get(kind)


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


def key_value(kind: str, value: t.Any) -> t.Any:
    """A quarantined record's key value as a key column of ``kind`` holds it (it marks that row superseded):
    a number as a Decimal, a date-time as naive UTC, a date, a boolean as 1 or 0, anything else as text.
    ValueError when no value of the column can equal it (not a number, or one the contract refuses: 1.5 for
    an integer key; not a date-time): such a key marks no row, where a cast would round it onto another
    row's key (1.5 -> 2) or fail the load (text against an Oracle TIMESTAMP or NUMBER)."""
    if kind in {INTEGER, NUMBER}:
        if isinstance(value, bool) or not isinstance(value, (str, int, float, decimal.Decimal)):
            raise ValueError(value)
        try:
            number = decimal.Decimal(repr(value) if isinstance(value, float) else value)
        except decimal.InvalidOperation as exc:
            raise ValueError(value) from exc
        if contract.refusal(kind, number) is not None:
            raise ValueError(value)
        return number
    if kind in {TIMESTAMP, DATE}:
        if not isinstance(value, str) or contract.refusal(kind, value) is not None:
            raise ValueError(value)
        return to_utc_naive(value) if kind == TIMESTAMP else dt.date.fromisoformat(value)
    if kind == BOOLEAN:
        if not isinstance(value, bool):
            raise ValueError(value)
        return int(value)
    return to_text(value)


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

"""The storage contract's table and which kind of column a property becomes: written once, for two plugins.

`storage_contract.json` says what target-oracle stores per JSON Schema type; `kind_for_schema` says which
of its kinds a property's schema becomes. target-oracle builds its columns by them, and mapper-wms-validate
checks each record against the same kind (its copy of this module, like its copy of the JSON file, is a
link to this one). So this module depends on nothing but the standard library and reads the JSON file that
sits beside it, in whichever package it is.
"""

from __future__ import annotations

import functools
import json
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

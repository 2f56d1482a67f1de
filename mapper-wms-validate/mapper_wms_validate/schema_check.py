"""`validate_schema`: check records against their stream's JSON Schema, compiled once per SCHEMA message.

Why hand-rolled: `jsonschema` validates at Python speed through a generic interpreter (it dominated a no-op
SDK target's profile). Singer schemas use a small subset of JSON Schema, so each property is compiled into a
closure that checks the value's Python type against a precomputed set. Supported keywords: `type` (string or
list), `properties`, `required`, `additionalProperties: false`, `items`, `enum`, `anyOf`/`oneOf` (treated as
anyOf). Other keywords (`format`, `minimum`, `pattern`, ...) are ignored: use rules for those.
"""

from __future__ import annotations

import typing as t
from decimal import Decimal

ValueCheck = t.Callable[[t.Any], "str | None"]
RecordSchemaCheck = t.Callable[[dict], "list[tuple[str, str]] | None"]

_TYPES: dict[str, tuple[type, ...]] = {
    "null": (type(None),),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float, Decimal),
    "string": (str,),
    "object": (dict,),
    "array": (list,),
}
_MISSING = object()


def _describe(value: t.Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class _TypeCheck(t.NamedTuple):
    """A pure type check, kept apart so record checks can test `type(value) in allowed` inline."""

    allowed: frozenset
    check: ValueCheck


def _type_check(path: str, types: list[str]) -> _TypeCheck | None:
    unknown = [x for x in types if x not in _TYPES]
    if unknown:
        return None  # a type we do not know: do not guess, accept
    allowed = frozenset(tp for name in types for tp in _TYPES[name])
    integral_decimals = "integer" in types and "number" not in types
    expected = " or ".join(types)

    def check(value: t.Any) -> str | None:
        kind = type(value)
        if kind in allowed:
            return None
        if integral_decimals and kind in (Decimal, float) and value == int(value):
            return None  # 5.0 is an integer in JSON Schema
        return f"{path} must be {expected}, got {_describe(value)}"

    return _TypeCheck(allowed, check)


def compile_value(schema: t.Any, path: str) -> ValueCheck | None:
    """Compile one (sub)schema; None means "accepts anything" so callers can skip it entirely."""
    return _compile_value(schema, path)[0]


def simple_types(schema: t.Any) -> frozenset | None:
    """The Python types a (sub)schema allows when its check is nothing but a type check, else None."""
    return _compile_value(schema, "")[1]


def _compile_value(schema: t.Any, path: str) -> tuple[ValueCheck | None, frozenset | None]:
    """The compiled check, plus the allowed Python types when the check is nothing but a type check."""
    if not isinstance(schema, dict):
        return None, None
    checks: list[ValueCheck] = []
    type_check = None
    declared = schema.get("type")
    if declared is not None:
        type_check = _type_check(path, [declared] if isinstance(declared, str) else list(declared))
        if type_check is not None:
            checks.append(type_check.check)
    alternatives = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(alternatives, list) and alternatives:
        compiled = [compile_value(s, path) for s in alternatives]
        if all(c is not None for c in compiled):
            checks.append(_any_of(path, t.cast("list[ValueCheck]", compiled)))
    if isinstance(schema.get("enum"), list):
        checks.append(_enum(path, schema["enum"]))
    if isinstance(schema.get("properties"), dict) or schema.get("required"):
        record_check = compile_record(schema, prefix=path + ".")
        checks.append(_nested_object(record_check))
    items = compile_value(schema.get("items"), path + "[]")
    if items is not None:
        checks.append(_array_items(items))
    if not checks:
        return None, None
    if len(checks) == 1:
        only_types = type_check.allowed if type_check is not None else None
        return checks[0], only_types
    return _all_of(checks), None


def _all_of(checks: list[ValueCheck]) -> ValueCheck:
    def check(value: t.Any) -> str | None:
        for one in checks:
            problem = one(value)
            if problem is not None:
                return problem
        return None

    return check


def _any_of(path: str, alternatives: list[ValueCheck]) -> ValueCheck:
    def check(value: t.Any) -> str | None:
        problems = [alt(value) for alt in alternatives]
        if any(p is None for p in problems):
            return None
        return f"{path} matches none of its anyOf schemas ({'; '.join(t.cast('list[str]', problems))})"

    return check


def _enum(path: str, values: list) -> ValueCheck:
    def check(value: t.Any) -> str | None:
        if value in values:
            return None
        return f"{path} must be one of {values!r}, got {_describe(value)}"

    return check


def _nested_object(record_check: RecordSchemaCheck) -> ValueCheck:
    def check(value: t.Any) -> str | None:
        if type(value) is not dict:
            return None  # the type check reports non-objects
        problems = record_check(value)
        return None if problems is None else problems[0][1]

    return check


def _array_items(item_check: ValueCheck) -> ValueCheck:
    def check(value: t.Any) -> str | None:
        if type(value) is not list:
            return None
        for item in value:
            problem = item_check(item)
            if problem is not None:
                return problem
        return None

    return check


def compile_record(schema: dict, prefix: str = "") -> RecordSchemaCheck:
    """Compile a stream's schema into a record check returning None or [(field, message), ...].

    The hot path iterates the record's items once: a property whose schema is a plain type check passes
    when `type(value)` is in its precomputed set; anything else (nested schemas, enum, 5.0 for an integer)
    goes through its compiled check.
    """
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    full: dict[str, ValueCheck] = {}
    simple: dict[str, frozenset] = {}
    for name, prop in properties.items():
        value_check, only_types = _compile_value(prop, prefix + name)
        if value_check is not None:
            full[name] = value_check
        if only_types is not None:
            simple[name] = only_types
    required = [name for name in schema.get("required") or [] if isinstance(name, str)]
    closed = schema.get("additionalProperties") is False
    known = frozenset(properties)
    simple_get, full_get = simple.get, full.get
    empty: frozenset = frozenset()

    def check(record: dict) -> list[tuple[str, str]] | None:
        problems: list[tuple[str, str]] | None = None
        for name, value in record.items():
            if type(value) in simple_get(name, empty):
                continue
            value_check = full_get(name)
            if value_check is None:
                continue
            problem = value_check(value)
            if problem is not None:
                (problems := problems or []).append((prefix + name, problem))
        for name in required:
            if name not in record:
                message = f"{prefix + name} is required but missing"
                (problems := problems or []).append((prefix + name, message))
        if closed:
            for name in record:
                if name not in known:
                    message = f"{prefix + name} is not in the schema (additionalProperties is false)"
                    (problems := problems or []).append((prefix + name, message))
        return problems

    return check

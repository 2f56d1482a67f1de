"""The fast path for RECORD lines: one typed msgspec decode does most of the schema check in C.

Why: decoding a record into a plain dict and then checking each property's type in Python costs about as
much as the decode itself. msgspec can decode straight into a TypedDict (a plain dict at run time) and check
each declared property's type while it decodes. So for every stream the mapper builds, from its SCHEMA, a
TypedDict of the properties whose JSON Schema is exactly a type check msgspec makes the same way (`null`,
`boolean`, `integer`, `string`, `object`, `array` and lists of them); the other properties (`number`, which
must stay exact decimals, `enum`, `anyOf`, nested schemas) are decoded as they would be anyway and checked
by their compiled Python checks.

The fast path only ever says "this record passes": anything it is not sure of (a decode or type error, a
missing required property, a broken rule) returns None, and the line goes through the full path, which
decides, counts and explains. So the fast path can be conservative (`5.0` for an integer, a line spaced
differently) without changing a single outcome. It is not built for a schema with
`additionalProperties: false`, because a TypedDict leaves undeclared properties out instead of reporting
them.
"""

from __future__ import annotations

import decimal
import typing as t

import msgspec
from singer_sdk.contrib.msgspec import dec_hook

from mapper_wms_validate.schema_check import compile_value, simple_types

if t.TYPE_CHECKING:
    from mapper_wms_validate.rules import Rule

# How a RECORD line the tap wrote compactly starts; the stream name follows up to its closing quote.
RECORD_PREFIX = b'{"type":"RECORD","stream":"'

_EXACT = {
    "null": type(None),
    "boolean": bool,
    "integer": int,
    "string": str,
    "object": dict,
    "array": list,
}
# Keywords that make the compiled check look at more than the value's type.
_BEYOND_TYPE = ("anyOf", "oneOf", "enum", "properties", "required", "items")
_MISSING = object()


def _exact_types(schema: t.Any) -> tuple[type, ...] | None:
    """The Python types a property allows when msgspec can check exactly what the compiled check
    checks, or None."""
    if not isinstance(schema, dict) or any(k in schema for k in _BEYOND_TYPE):
        return None
    declared = schema.get("type")
    names = [declared] if isinstance(declared, str) else declared
    if not isinstance(names, list) or not names or not all(n in _EXACT for n in names):
        return None
    return tuple(dict.fromkeys(_EXACT[n] for n in names))


class _Field:
    """One declared property's msgspec type, narrowed by the rules folded into it."""

    def __init__(self, types: tuple[type, ...]) -> None:
        self.nullable = type(None) in types
        self.types = tuple(tp for tp in types if tp is not type(None))
        self.required = False
        self.meta: dict[str, t.Any] = {}
        self.literal: tuple | None = None

    def fold(self, check: str, params: dict[str, t.Any]) -> bool:
        """Narrow the type so that msgspec accepts a value only if the rule passes; False: cannot.

        Sound only: whatever msgspec still accepts passes the rule (a value it now refuses goes through
        the full path, which decides). Only integer and string properties are narrowed; `number` stays
        exact decimals checked in Python.
        """
        if check == "not_null":
            if not self.types:  # a property that can only be null never passes: leave it to the rule
                return False
            self.nullable, self.required = False, True
            return True
        if len(self.types) != 1 or self.literal is not None:
            return False
        (base,) = self.types
        bounds = {
            "positive": {"gt": 0},
            "non_negative": {"ge": 0},
            "min": {"ge": params.get("value")},
            "max": {"le": params.get("value")},
            "range": {"ge": params.get("min"), "le": params.get("max")},
        }.get(check)
        if bounds is not None and base is int:
            if any(type(v) is not int for v in bounds.values()) or set(bounds) & set(self.meta):
                return False
            self.meta.update(bounds)
            return True
        if check == "in" and base in (int, str) and not self.meta:
            values = params.get("values") or ()
            if values and all(type(v) is base for v in values):
                self.literal = tuple(values)
                return True
            return False
        if check == "max_length" and base is str and "max_length" not in self.meta:
            self.meta["max_length"] = params["value"]
            return True
        return False

    def msgspec_type(self) -> t.Any:
        if self.literal is not None:
            kind: t.Any = t.Literal[self.literal]  # type: ignore[valid-type]
        elif len(self.types) == 1:
            kind = self.types[0]
            if self.meta:
                kind = t.Annotated[kind, msgspec.Meta(**self.meta)]
        else:
            kind = t.Union[self.types]  # noqa: UP007 - a runtime union of types
        if self.nullable:
            kind = t.Union[kind, None]  # noqa: UP007
        return t.Required[kind] if self.required else kind


class FastRecords:
    """Decodes one stream's RECORD lines into their record when it passes the schema check, else None.

    `tests` are the rule checks the caller must still run on the record: rules on integer and string
    properties that msgspec can check while decoding (`not_null`, bounds on integers, `in` with integer or
    string values, `max_length`) are folded into the property's type instead.
    """

    def __init__(self, stream: str, schema: dict, rules: t.Sequence[Rule], *, check_schema: bool):
        self.stream = stream
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        exact: dict[str, _Field] = {}
        fields: dict[str, t.Any] = {}
        checks: list[tuple[str, frozenset, t.Callable[[t.Any], str | None]]] = []
        for name, prop in properties.items():
            types = _exact_types(prop) if check_schema else None
            if types is not None:
                exact[name] = _Field(types)
                continue
            fields[name] = t.Any
            check = compile_value(prop, name) if check_schema else None
            if check is not None:
                checks.append((name, simple_types(prop) or frozenset(), check))
        tests = []
        for rule in rules:
            target = exact.get(rule.field) if rule.field is not None else None
            if target is None or not target.fold(rule.check, dict(rule.params)):
                tests.append(rule.test)
            for name in rule.fields:  # fields rules read that the schema does not declare: keep them
                if name not in exact:
                    fields.setdefault(name, t.Any)
        self.tests = tuple(tests)
        fields.update((name, field.msgspec_type()) for name, field in exact.items())
        record_type: t.Any = t.TypedDict("Record", fields, total=False)  # type: ignore[operator]
        message_type = t.TypedDict(  # type: ignore[operator]  # noqa: UP013 - record_type is built at run time
            "RecordMessage",
            {"type": str, "stream": str, "record": record_type},
            total=False,
        )
        self._decode_bare = msgspec.json.Decoder(
            record_type, dec_hook=dec_hook, float_hook=decimal.Decimal
        ).decode
        self._decode = msgspec.json.Decoder(
            message_type, dec_hook=dec_hook, float_hook=decimal.Decimal
        ).decode
        self._checks = tuple(checks)
        self._required = tuple(
            n for n in (schema.get("required") or []) if isinstance(n, str) and check_schema
        )

    @staticmethod
    def applies(schema: dict) -> bool:
        """Whether a fast path can be exact for this schema."""
        return schema.get("additionalProperties") is not False

    @property
    def key(self) -> bytes | None:
        """What follows RECORD_PREFIX up to the closing quote in this stream's lines (None: never fast)."""
        encoded = msgspec.json.encode(self.stream)
        return encoded[1:-1] if b"\\" not in encoded else None

    def record(self, line: bytes) -> dict | None:
        """The line's record if it is a RECORD of this stream that passes the schema check, else None."""
        try:
            message = self._decode(line)
        except msgspec.MsgspecError:
            return None
        record = message.get("record")
        if record is None or message.get("stream") != self.stream or message.get("type") != "RECORD":
            return None
        return self._checked(record)

    def bare_record(self, line: bytes) -> dict | None:
        """A BATCH file's JSONL line (a record, no message around it) if it passes the schema check."""
        try:
            record = self._decode_bare(line)
        except msgspec.MsgspecError:
            return None
        return self._checked(record)

    def _checked(self, record: dict) -> dict | None:
        for name, allowed, check in self._checks:
            value = record.get(name, _MISSING)
            if value is _MISSING or type(value) in allowed:
                continue
            if check(value) is not None:
                return None
        for name in self._required:
            if name not in record:
                return None
        return record

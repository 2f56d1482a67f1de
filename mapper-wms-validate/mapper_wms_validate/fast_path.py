"""The fast path for RECORD lines and BATCH file lines: one typed msgspec decode does most checks in C.

Why: decoding a record into a plain dict and then checking each property's type in Python costs about as
much as the decode itself. msgspec can decode straight into a Struct built from the stream's SCHEMA and
check each declared property's type while it decodes (a Struct is cheaper to build than a dict: no hashing
of 30-odd keys per record). The Struct types the properties whose JSON Schema is exactly a type check
msgspec makes the same way (`null`, `boolean`, `integer`, `string`, `object`, `array` and lists of them),
narrowed by the rules msgspec can check; the other properties (`number`, which must stay exact decimals,
`enum`, `anyOf`, nested schemas) are decoded as they would be anyway and checked by their compiled Python
checks. Of the other rules, a rule on one field gets the field's value read from the Struct, a comparison
of two fields (`packed_qty <= alloc_qty`) is made in the same function, and any other expression reads
the Struct (or a small dict of the fields it reads): a Python call per rule costs more than its check.

The fast path only ever says "this record passes": anything it is not sure of (a decode or type error, a
missing required property, a broken rule) returns False, and the line goes through the full path, which
decides, counts and explains. So the fast path can be conservative (`5.0` for an integer, a line spaced
differently, a missing property whose schema refuses null) without changing a single outcome. It is not
built for a schema with `additionalProperties: false`, because the Struct skips undeclared properties
instead of reporting them.
"""

from __future__ import annotations

import decimal
import operator
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
# What a RECORD line that passes is handed to: its stream's counters (`records_in`, `passed`) and a write.
Taken = tuple[t.Any, t.Callable[[bytes], t.Any]]
# Keywords that make the compiled check look at more than the value's type.
_BEYOND_TYPE = ("anyOf", "oneOf", "enum", "properties", "required", "items")


def _exact_types(schema: t.Any, *, narrow_numbers: bool = False) -> tuple[type, ...] | None:
    """The Python types a property allows when msgspec can check exactly what the compiled check
    checks, or None. With `narrow_numbers`, `number` allows integers only: sound for a fast path that
    only ever says "passes" (a JSON integer is a number), and the fallback takes the other numbers."""
    if not isinstance(schema, dict) or any(k in schema for k in _BEYOND_TYPE):
        return None
    declared = schema.get("type")
    names = [declared] if isinstance(declared, str) else declared
    exact = {**_EXACT, "number": int} if narrow_numbers else _EXACT
    if not isinstance(names, list) or not names or not all(n in exact for n in names):
        return None
    return tuple(dict.fromkeys(exact[n] for n in names))


def _has_number(schema: t.Any) -> bool:
    declared = schema.get("type") if isinstance(schema, dict) else None
    return declared == "number" or (isinstance(declared, list) and "number" in declared)


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
        """The property's type (whether it must be present is `required`, the struct field's default)."""
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
        return kind


class _Plan:
    """One typed decode of a stream's records (a msgspec Struct built from its SCHEMA, with the rules it
    can check folded into the property types), and what Python still checks after it. With a fallback,
    `number` properties are decoded as integers, and a line with another number goes to the fallback."""

    # lines between two looks at the share of lines the integer decode could not take
    FALLBACK_WINDOW = 4096

    def __init__(
        self,
        stream: str,
        schema: dict,
        rules: t.Sequence[Rule],
        *,
        check_schema: bool,
        taken: Taken,
        fallback: _Plan | None = None,
    ) -> None:
        narrow_numbers = fallback is not None
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        exact: dict[str, _Field] = {}
        loose: list[str] = []  # decoded as they are (Any), checked by compiled checks if at all
        checks: list[tuple[str, frozenset, t.Callable[[t.Any], str | None]]] = []
        for name, prop in properties.items():
            types = _exact_types(prop, narrow_numbers=narrow_numbers) if check_schema else None
            if types is not None:
                exact[name] = _Field(types)
                continue
            loose.append(name)
            check = compile_value(prop, name) if check_schema else None
            if check is not None:
                checks.append((name, simple_types(prop) or frozenset(), check))
        tests = []
        read: dict[str, None] = {}  # the fields the remaining expression rules read, in order
        valued: list[tuple[str, t.Callable[[t.Any], str | None]]] = []  # rules on a field: value check
        compared: list[tuple[t.Callable, str, str]] = []  # expressions `field <op> field`
        for rule in rules:
            target = exact.get(rule.field) if rule.field is not None else None
            if target is not None and target.fold(rule.check, dict(rule.params)):
                continue
            value_check = getattr(rule.test, "value", None)
            compare = getattr(rule.test, "compare", None)
            if rule.field is not None and value_check is not None:
                valued.append((rule.field, value_check))
            elif compare is not None:
                compared.append(compare)
            else:
                tests.append(rule.test)
                read.update(dict.fromkeys(rule.fields))
        required = {n for n in (schema.get("required") or []) if isinstance(n, str) and check_schema}
        valued_fields = [f for f, _ in valued] + [f for _, *pair in compared for f in pair]
        names = list(dict.fromkeys([*exact, *loose, *read, *valued_fields, *sorted(required)]))
        # A Struct field is named like its property where Python allows (renamed otherwise): the rules
        # left to Python then read the record as it is, through `get` (what they call on a dict).
        attr = {name: name if _attribute(name) else f"_f{i}" for i, name in enumerate(names)}
        direct = all(attr[name] == name for name in read)
        fields: list[tuple] = []
        for name in names:
            field = exact.get(name)
            kind = field.msgspec_type() if field is not None else t.Any
            if name in required or (field is not None and field.required):
                fields.append((attr[name], kind))
            else:
                # A missing property reads as None, which every rule treats as a missing one; a schema
                # check that refuses a null sends such a record to the full path, which decides.
                fields.append((attr[name], kind, None))
        record_type = msgspec.defstruct(
            "Record",
            fields,
            rename={a: n for n, a in attr.items()},
            kw_only=True,
            gc=False,
            namespace={"get": object.__getattribute__} if direct else None,
        )
        # a RECORD message of this stream, checked by msgspec (any other line is a ValidationError)
        message_type = msgspec.defstruct(
            "RecordMessage",
            [("type", t.Literal["RECORD"]), ("stream", t.Literal[stream]), ("record", record_type)],
            kw_only=True,
            gc=False,
        )
        decode_bare = msgspec.json.Decoder(record_type, dec_hook=dec_hook, float_hook=decimal.Decimal).decode
        decode_message = msgspec.json.Decoder(
            message_type, dec_hook=dec_hook, float_hook=decimal.Decimal
        ).decode
        checked = (
            # the schema checks of the properties msgspec does not type, then the value checks of rules
            tuple((attr[name], allowed, check) for name, allowed, check in checks)
            + tuple((attr[name], frozenset(), check) for name, check in valued),
            tuple((op, attr[left], attr[right]) for op, left, right in compared),
            tuple(tests),
            None if direct else tuple(read),
            tuple(attr[n] for n in read),
        )
        # whether a RECORD line is one of this stream's and passes the schema check and every rule; one
        # that passes is counted and written (`taken`: the stream's counts and the write)
        self.take = self._compile(decode_message, *checked, fallback.take if fallback else None, taken)
        # whether a BATCH file's JSONL line (a record, no message around it) passes
        self.passes_bare = self._compile(decode_bare, *checked, fallback.passes_bare if fallback else None)

    @classmethod
    def _compile(
        cls,
        decode: t.Callable[[bytes], t.Any],
        checks: tuple,
        compared: tuple,
        tests: tuple,
        read: tuple[str, ...] | None,
        attrs: tuple[str, ...],
        fallback: t.Callable[[bytes], bool] | None,
        taken: Taken | None = None,
    ) -> t.Callable[[bytes], bool]:
        """One function per line (it runs once per record): decode, the compiled checks (schema checks
        and the value checks of rules on one field), the comparisons of two fields (`compared`: op and
        the two attributes), the other rules, which read the record itself (`read` None) or a dict of the
        fields `read` they need.
        A line this decode refuses goes to `fallback`, when there is one; if more than half of a window
        of lines do, the function hands every later line to `fallback` straight away. With `taken`
        (a stream's counts and a write), `decode` gives a RECORD message, whose record is checked, and a
        line that passes is also counted as in and passed, and written (with a newline if it had none), in
        the same call."""
        counts, write = taken if taken is not None else (None, None)
        values = operator.attrgetter(*attrs) if attrs else None
        if len(attrs) == 1:
            single = values
            values = lambda r: (single(r),)  # noqa: E731
        window, calls, misses, tried = cls.FALLBACK_WINDOW, 0, 0, True

        def passes(line: bytes) -> bool:
            nonlocal calls, misses, tried
            if fallback is not None:
                if not tried:
                    return fallback(line)
                calls += 1
            try:
                record = decode(line)
            except msgspec.MsgspecError:
                if fallback is None:
                    return False
                misses += 1
                if calls >= window:
                    tried = misses * 2 <= calls
                    calls = misses = 0
                return fallback(line)
            if counts is not None:  # a RECORD message: the record in it
                record = record.record
            for attr, allowed, check in checks:
                value = getattr(record, attr)
                if type(value) in allowed:
                    continue
                if check(value) is not None:
                    return False
            # as `expression._cmp_fields` does (no floats here: the decoders read them as Decimals)
            for op, left, right in compared:
                a = getattr(record, left)
                b = getattr(record, right)
                if a is None or b is None:
                    continue  # unknown passes
                try:
                    if op(a, b) is False:
                        return False
                except TypeError:  # a violation; the full path explains it
                    return False
            if tests:
                view = record if read is None else dict(zip(read, values(record)))  # noqa: B905
                for test in tests:
                    if test(view) is not None:
                        return False
            if counts is not None:
                counts.records_in += 1
                counts.passed += 1
                write(line if line[-1:] == b"\n" else line + b"\n")
            return True

        return passes


def _attribute(name: str) -> bool:
    """Whether a property can be a Struct attribute of the same name (and so read by `get`)."""
    return name.isidentifier() and not name.startswith("_") and name != "get"


class FastRecords:
    """Says whether one stream's RECORD lines (or BATCH file lines) pass the schema check and every rule.

    Rules on integer and string properties that msgspec can check while decoding (`not_null`, bounds on
    integers, `in` with integer or string values, `max_length`) are folded into the property's type; the
    other rules run in Python on the decoded record. A `number` property is first decoded as an integer,
    so that its rules fold too; a record whose numbers are not all integers is decoded again with its
    numbers as exact decimals, checked in Python. When more than half of a stream's records need that
    second decode, the stream stops trying integers first.
    """

    def __init__(
        self,
        stream: str,
        schema: dict,
        rules: t.Sequence[Rule],
        *,
        check_schema: bool,
        taken: Taken,
    ):
        self.stream = stream
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        plan = _Plan(stream, schema, rules, check_schema=check_schema, taken=taken)
        if check_schema and any(_has_number(p) for p in properties.values()):
            plan = _Plan(stream, schema, rules, check_schema=check_schema, taken=taken, fallback=plan)
        # RECORD lines: True when the line passes, and then it has been counted and written
        self.take = plan.take
        # BATCH file lines: True when the line passes (the caller counts and writes)
        self.passes_bare = plan.passes_bare

    @staticmethod
    def applies(schema: dict) -> bool:
        """Whether a fast path can be exact for this schema."""
        return schema.get("additionalProperties") is not False

    @property
    def key(self) -> bytes | None:
        """What follows RECORD_PREFIX up to the closing quote in this stream's lines (None: never fast)."""
        encoded = msgspec.json.encode(self.stream)
        return encoded[1:-1] if b"\\" not in encoded else None

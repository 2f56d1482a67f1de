"""The rule engine: one compiled test per stream of whether a record passes its schema check and rules.

Why generated code: the test runs once per record, over every declared property and every rule, in record
mode and in BATCH mode alike, and a Python call per property or rule costs more than most checks. So each
SCHEMA message compiles the source of two Python functions (`exec`) from one list of tests: per property,
the tests of its common values, from the property's schema (`schema_check.inline_accept`) and from the
rules on it (`checks.Accept`). A value those tests do not accept goes to the property's check and the
rules' checks, the closures that decide every case and say why; so the inline tests only skip calls, and
decide nothing the checks would decide otherwise. If an inline test raises (a date-time `fromisoformat`
refuses), the record goes to every check.

- `passes(record)` tests a decoded record (a dict): RECORD messages, and whatever `passing_lines` leaves.
- `passing_lines(lines, start)` tests BATCH JSONL lines as they are read, and returns where the first line
  it cannot say passes is (the caller decodes that one into a dict and asks `passes`, which decides). When
  every rule has an inline test, it decodes each line with msgspec straight into a Struct made from the
  SCHEMA: a plain-typed property (null, boolean, integer within int64, string, object, array) is typed, so
  msgspec checks its type while it decodes and the property needs no Python test unless its value has more
  to pass (a date-time, a key's non-empty string); every other property is decoded untyped, into the same
  value the decode into a dict gives, and tested as in `passes`. Required properties are required fields,
  `additionalProperties: false` forbids unknown fields. A line the typed decode refuses (a value of
  another type, a larger integer, a missing required property, not an object, blank, malformed) and a line
  whose tests need a record-wide rule check are left to `passes`. The typed decode reads what the dict
  decode reads: duplicate keys end with the last value, escaped names match their property.

Names from the SCHEMA and the rules enter the source only as `repr()` literals; values only as bound
constants.
"""

from __future__ import annotations

import operator
import typing as t
from datetime import datetime

import msgspec

from mapper_wms_validate.batch import BATCH_DECODER_HOOKS, decode_line
from mapper_wms_validate.schema_check import (
    DIGITS_AS_ZERO,
    STORED_DATETIME_SHAPES,
    RecordSchemaCheck,
    decoded_type,
    inline_accept,
    property_check,
)

if t.TYPE_CHECKING:
    from mapper_wms_validate.rules import Rule

RecordTest = t.Callable[[dict], bool]
# (lines, start) -> the index of the first line from `start` not known to pass; len(lines) when all pass
LinesTest = t.Callable[[list[bytes], int], int]
# a property the record lacks: what the typed decode leaves in its field, and what `passes` reads then
MISSING = msgspec.UNSET


class StreamTest(t.NamedTuple):
    """A stream's compiled test, on a decoded record and on BATCH JSONL lines."""

    passes: RecordTest
    passing_lines: LinesTest


class _Source:
    """The generated functions' namespace: constants get fresh names."""

    def __init__(self) -> None:
        self.namespace: dict[str, t.Any] = {
            "MISSING": MISSING,
            "DecodeError": msgspec.DecodeError,
            "fromisoformat": datetime.fromisoformat,
            "digits_as_zero": DIGITS_AS_ZERO,
            "stored_shapes": STORED_DATETIME_SHAPES,
        }

    def bind(self, value: t.Any) -> str:
        name = f"k{len(self.namespace)}"
        self.namespace[name] = value
        return name


class _Field:
    """What the generated functions test of one field (a declared property or a field a rule reads)."""

    def __init__(self, variable: str) -> None:
        self.variable = variable
        self.schema_test: str | None = None  # the property's inline test (source), None: no check
        self.schema_call = ""  # the property's check, true when it refuses the value (source)
        self.typed_test: str | None = None  # the test once the typed decode has read the value
        self.decoded: t.Any = t.Any  # the type the typed decode reads the property as
        self.rule_tests: list[str] = []  # the inline tests of the rules run with this field
        self.rule_calls: list[str] = []  # their checks, true when they refuse the record
        self.read_by_rule = False  # an inline test of a rule reads it

    def used(self, *, typed: bool) -> bool:
        test = self.typed_test if typed else self.schema_test
        return test is not None or self.read_by_rule

    def lines(self, *, typed: bool, refuse: str, undecided: str) -> list[str]:
        """The field's statements: `refuse` when a check refuses; in the typed function a record-wide
        rule check cannot run (it reads the record as a dict): its line is `undecided` instead."""
        body = []
        test = self.typed_test if typed else self.schema_test
        if test is not None:
            body += [f"if not ({test}):", f"    if {self.schema_call}: {refuse}"]
        if self.rule_tests:
            body.append(f"if not ({' and '.join(self.rule_tests)}):")
            if typed:
                body.append(f"    {undecided}")
            else:
                body += [f"    if {call}: {refuse}" for call in self.rule_calls]
        return body


def compile_passes(
    schema: dict,
    key_properties: t.Sequence[str],
    rules: t.Sequence[Rule],
    *,
    check_schema: bool,
    schema_problems: RecordSchemaCheck | None,
) -> StreamTest:
    """A stream's test: a record passes when it passes the schema check (if `check_schema`) and every
    rule.

    `schema_problems` (the stream's `schema_check.compile_record`) decides a record whose inline tests
    raise, with the rules' own checks."""
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    keys = set(key_properties)
    src = _Source()
    bind = src.bind
    # the fields read: declared properties first, then fields only rules read
    names: list[str] = list(properties)
    names += [f for rule in rules for f in rule.fields if f not in properties and f not in names]
    fields = {name: _Field(f"v{i}") for i, name in enumerate(names)}

    def read(name: str) -> str:
        return fields[name].variable

    record_calls: list[str] = []  # rules without an inline test
    if check_schema:
        for name, prop in properties.items():
            field = fields[name]
            v = field.variable
            typed = decoded_type(prop, key=name in keys, v=v)
            full = property_check(prop, name, key=name in keys)
            if full is None:
                continue
            accept = inline_accept(prop, key=name in keys, v=v)
            field.schema_test = f"({accept})" if accept else "False"
            field.schema_call = f"({v} is not MISSING and {bind(full)}({v}) is not None)"
            if typed is None:
                field.typed_test = field.schema_test
            else:
                field.decoded, field.typed_test = typed
    for rule in rules:
        accept = getattr(rule.test, "accept", None)
        call = f"{bind(rule.test)}(record) is not None"
        if accept is None or not rule.fields:
            record_calls.append(call)
            continue
        # an inline test is run with the last field it reads (all of them are read by then)
        last = fields[rule.fields[-1]]
        for name in rule.fields:
            fields[name].read_by_rule = True
        last.rule_tests.append(accept(read, bind))
        last.rule_calls.append(call)
    required = [name for name in schema.get("required") or [] if isinstance(name, str)]
    closed = check_schema and schema.get("additionalProperties") is False

    # passes(record)
    body = ["def passes(record):"]
    body += _read(fields, typed=False, bind=bind, indent="    ")
    body.append("    try:")
    for field in fields.values():
        body += [f"        {s}" for s in field.lines(typed=False, refuse="return False", undecided="")]
    body += [f"        if {call}: return False" for call in record_calls]
    body.append("        pass")
    body += [
        "    except (ValueError, TypeError, ArithmeticError):",
        f"        return {bind(_every_check(rules, schema_problems if check_schema else None))}(record)",
    ]
    if check_schema and required:
        body.append(f"    if not {bind(frozenset(required))}.issubset(record): return False")
    if closed:
        body.append(f"    if not {bind(frozenset(properties))}.issuperset(record): return False")
    body.append("    return True")

    # passing_lines(lines, start): typed when no rule needs the whole record and msgspec can name every
    # field, else through `passes`
    body += ["def passing_lines(lines, start):", "    for i in range(start, len(lines)):"]
    # (with additionalProperties false, a field a rule reads or a required name the schema does not
    # declare would be a Struct field, which the decode accepts while `passes` refuses it)
    undeclared = closed and not set(fields).union(required) <= set(properties)
    if record_calls or undeclared or not all(map(_nameable, [*fields, *required])):
        body += [
            "        try:",
            f"            record = {bind(decode_line)}(lines[i])",
            "        except DecodeError:",
            "            return i",
            "        if type(record) is not dict or not passes(record): return i",
        ]
    else:
        struct = _struct(fields, required if check_schema else [], closed=closed)
        decoder = msgspec.json.Decoder(struct, **BATCH_DECODER_HOOKS)
        body += [
            "        try:",
            f"            record = {bind(decoder.decode)}(lines[i])",
            "        except DecodeError:",
            "            return i",
        ]
        body += _read(fields, typed=True, bind=bind, indent="        ")
        body.append("        try:")
        for field in fields.values():
            statements = field.lines(typed=True, refuse="return i", undecided="return i")
            body += [f"            {s}" for s in statements]
        body += [
            "            pass",
            "        except (ValueError, TypeError, ArithmeticError):",
            "            return i",
        ]
    body.append("    return len(lines)")
    namespace = src.namespace
    exec("\n".join(body), namespace)
    return StreamTest(namespace["passes"], namespace["passing_lines"])


def _read(fields: dict[str, _Field], *, typed: bool, bind: t.Callable[[t.Any], str], indent: str) -> list:
    """The statements that read the tested fields into their variables: from a dict (a missing key reads
    as MISSING) or, typed, from the Struct's attributes (named like the variables: `v0`, `v1`, ...)."""
    used = [(name, f.variable) for name, f in fields.items() if f.used(typed=typed)]
    if not used:
        return []
    if typed:  # one attribute read each costs less than an attrgetter's tuple
        return [f"{indent}{v} = record.{v}" for _, v in used]
    targets = "".join(f"{v}, " for _, v in used)
    one = "" if len(used) > 1 else ","
    getter = operator.itemgetter(*(name for name, _ in used))
    return [
        f"{indent}try:",
        f"{indent}    {targets}= {bind(getter)}(record){one}",
        f"{indent}except KeyError:",
        f"{indent}    {targets}= [record.get(name, MISSING) for name in {bind([n for n, _ in used])}]",
    ]


def _nameable(name: str) -> bool:
    """Whether msgspec can match a JSON object's key to a Struct field of this name (it refuses to rename
    a field to a name with a backslash, a double quote or a control character)."""
    return not any(ch in '\\"' or ch < " " for ch in name)


def _struct(fields: dict[str, _Field], required: t.Sequence[str], *, closed: bool) -> type[msgspec.Struct]:
    """The Struct a stream's lines decode into: one field per declared property or rule field, named like
    its variable and renamed to the property's name; required properties without a default."""
    by_name = {name: (f.variable, f.decoded) for name, f in fields.items()}
    extra = [name for name in dict.fromkeys(required) if name not in by_name]
    by_name.update({name: (f"r{i}", t.Any) for i, name in enumerate(extra)})
    needed = set(required)
    spec = [
        (variable, kind) if name in needed else (variable, kind, MISSING)
        for name, (variable, kind) in by_name.items()
    ]
    return msgspec.defstruct(
        "Record",
        spec,
        rename={variable: name for name, (variable, _) in by_name.items()},
        kw_only=True,
        forbid_unknown_fields=closed,
        gc=False,
    )


def _every_check(rules: t.Sequence[Rule], schema_problems: RecordSchemaCheck | None) -> RecordTest:
    """The test by the checks alone (for a record an inline test raised on)."""
    tests = [rule.test for rule in rules]

    def passes(record: dict) -> bool:
        if schema_problems is not None and schema_problems(record) is not None:
            return False
        return all(test(record) is None for test in tests)

    return passes

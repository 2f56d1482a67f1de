"""The rule engine: one compiled test per stream of whether a record passes its schema check and rules.

Why generated code: the test runs once per record, over every declared property and every rule, in record
mode and in BATCH mode alike, and a Python call per property or rule costs more than most checks. So each
SCHEMA message compiles the source of two Python functions (`exec`) from one list of tests: per property,
the tests of its common values, from the property's schema (`schema_check.inline_accept`) and from the
rules on it (`checks.Accept`). A value those tests do not accept goes to the property's check and the
rules' checks, the closures that decide every case and say why; so the inline tests only skip calls, and
decide nothing the checks would decide otherwise. If an inline test raises (a date-time `fromisoformat`
refuses), the record goes to every check.

- `passes(record)` tests a decoded record (a dict): RECORD messages, and whatever `undecided_lines` leaves.
- `undecided_lines(lines)` tests a chunk of BATCH JSONL lines as they are read, and returns the indexes of
  the lines it cannot say pass (the caller decodes each into a dict and asks `passes`, which decides). When
  every rule has an inline test, it decodes each line with msgspec straight into a Struct made from the
  SCHEMA: a plain-typed property (null, boolean, integer within int64, string, object, array) is typed, so
  msgspec checks its type while it decodes and the property needs no Python test unless its value has more
  to pass (a date-time, a key's non-empty string); every other property is decoded untyped, into the same
  value the decode into a dict gives, and tested as in `passes`. Required properties are required fields,
  `additionalProperties: false` forbids unknown fields. A line the typed decode refuses (a value of
  another type, a larger integer, an empty date-time, a missing required property, not an object, blank,
  malformed) and a line whose tests need a record-wide rule check are left to `passes`. The typed decode
  reads what the dict decode reads: duplicate keys end with the last value, escaped names match their
  property.

  A rule on one typed property that msgspec can check while it decodes (`checks.Narrowing`: not null, an
  integer's bounds or list) narrows the property's type instead, and needs no test after the decode.

  Date-time strings are tested a chunk at a time, not line by line (`schema_check.Decoded.bulk`, and the
  `datetime` rule's `bulk`): one call per chunk tests the values of every line in C, which costs a
  fraction of a test per value in Python. Only when it refuses the chunk are its values tested one by one,
  by the same tests as in `passes`, to find the lines they refuse. Per line only those values are kept
  (each record is freed once its line is tested).

A `datetime` rule (without `require_timezone`) on a property whose schema test is the contract's
date-time test alone adds no test: every value that test passes, the rule passes.

Names from the SCHEMA and the rules enter the source only as `repr()` literals; values only as bound
constants.
"""

from __future__ import annotations

import itertools
import operator
import types
import typing as t

import msgspec

from mapper_wms_validate.batch import BATCH_DECODER_HOOKS, decode_line
from mapper_wms_validate.schema_check import (
    INLINE_NAMES,
    RecordSchemaCheck,
    decoded_type,
    inline_accept,
    property_check,
)

if t.TYPE_CHECKING:
    from mapper_wms_validate.checks import Narrowing
    from mapper_wms_validate.rules import Rule

RecordTest = t.Callable[[dict], bool]
# lines -> the indexes, in order, of the lines not known to pass
LinesTest = t.Callable[[list[bytes]], list[int]]
# a property the record lacks: what the typed decode leaves in its field, and what `passes` reads then
MISSING = msgspec.UNSET


class StreamTest(t.NamedTuple):
    """A stream's compiled test, on a decoded record and on BATCH JSONL lines."""

    passes: RecordTest
    undecided_lines: LinesTest


class _Source:
    """The generated functions' namespace: constants get fresh names."""

    def __init__(self) -> None:
        self.namespace: dict[str, t.Any] = {
            **INLINE_NAMES,
            "MISSING": MISSING,
            "DecodeError": msgspec.DecodeError,
            "chain": itertools.chain.from_iterable,
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
        self.present = False  # the typed decode requires it (a rule refuses it missing or null)
        # the `format` whose contract test the schema test is, alone (a value that passes it is null,
        # missing or a value of that format the target stores)
        self.format_only: str | None = None
        self.rule_tests: list[str] = []  # the inline tests of the rules run with this field
        self.rule_calls: list[str] = []  # their checks, true when they refuse the record
        self.read_by_rule = False  # an inline test of a rule reads it
        # in the typed function: the rule tests run line by line, and whether one reads the field
        self.typed_rule_tests: list[str] = []
        self.read_by_typed_rule = False
        # tests of a chunk's values of the field at once, and the statements that test one value instead
        # (`{undecided}` where it is not known to pass), when one of them refuses the chunk
        self.bulk: dict[t.Callable[[t.Iterable[t.Any]], bool], None] = {}
        self.bulk_lines: list[str] = []

    def used(self, *, typed: bool) -> bool:
        if typed:
            return self.typed_test is not None or self.read_by_typed_rule
        return self.schema_test is not None or self.read_by_rule

    def lines(self, *, typed: bool, refuse: str, undecided: str) -> list[str]:
        """The field's statements: `refuse` when a check refuses; in the typed function a record-wide
        rule check cannot run (it reads the record as a dict): its line is `undecided` instead."""
        body = []
        test = self.typed_test if typed else self.schema_test
        if test is not None:
            body += [f"if not ({test}):", f"    if {self.schema_call}: {refuse}"]
        rule_tests = self.typed_rule_tests if typed else self.rule_tests
        if rule_tests:
            body.append(f"if not ({' and '.join(rule_tests)}):")
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
            elif typed.bulk is not None and typed.test is not None:
                field.format_only = prop.get("format")
                field.decoded = typed.type
                field.bulk[typed.bulk] = None
                field.bulk_lines += [f"if not ({typed.test}):", f"    if {field.schema_call}: {{undecided}}"]
            else:
                field.decoded, field.typed_test = typed.type, typed.test
    for rule in rules:
        accept = getattr(rule.test, "accept", None)
        call = f"{bind(rule.test)}(record) is not None"
        if accept is None or not rule.fields:
            record_calls.append(call)
            continue
        implied = getattr(rule.test, "implied_by_format", None)
        if implied is not None and len(rule.fields) == 1 and fields[rule.fields[0]].format_only == implied:
            continue  # the property's schema test passes only values the rule passes
        # an inline test is run with the last field it reads (all of them are read by then)
        last = fields[rule.fields[-1]]
        for name in rule.fields:
            fields[name].read_by_rule = True
        test = accept(read, bind)
        last.rule_tests.append(test)
        last.rule_calls.append(call)
        narrowed = _narrowed(last.decoded, getattr(rule.test, "narrowing", None))
        if narrowed is not None and len(rule.fields) == 1:
            # the typed decode reads only values the rule passes: no test after it
            last.decoded = narrowed
            last.present = last.present or rule.test.narrowing.present
            continue
        bulk = getattr(rule.test, "bulk", None)
        if bulk is not None and len(rule.fields) == 1 and last.bulk:
            # a field whose values the typed function tests a chunk at a time: so is this rule
            last.bulk[bulk] = None
            last.bulk_lines += [f"if not ({test}):", "    {undecided}"]
            continue
        for name in rule.fields:
            fields[name].read_by_typed_rule = True
        last.typed_rule_tests.append(test)
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

    # undecided_lines(lines): typed when no rule needs the whole record and msgspec can name every field,
    # else through `passes`
    body += [
        "def undecided_lines(lines):",
        "    undecided = []",
        "    refuse = undecided.append",
    ]
    # (with additionalProperties false, a field a rule reads or a required name the schema does not
    # declare would be a Struct field, which the decode accepts while `passes` refuses it)
    undeclared = closed and not set(fields).union(required) <= set(properties)
    if record_calls or undeclared or not all(map(_nameable, [*fields, *required])):
        body += [
            "    for i, line in enumerate(lines):",
            "        try:",
            f"            record = {bind(decode_line)}(line)",
            "        except DecodeError:",
            "            refuse(i)",
            "            continue",
            "        if type(record) is not dict or not passes(record): refuse(i)",
            "    return undecided",
        ]
    else:
        struct = _struct(fields, required if check_schema else [], closed=closed)
        decoder = msgspec.json.Decoder(struct, **BATCH_DECODER_HOOKS)
        bulk = [f for f in fields.values() if f.bulk]
        # per line, the values of the bulk fields (a tuple, or the value of the one field), so that each
        # record is freed as soon as it is tested; a line the decode refuses stands in as MISSING values
        variables = [f.variable for f in bulk]
        unread = (MISSING,) * len(bulk) if len(bulk) > 1 else MISSING
        keep = [f"            keep({bind(operator.attrgetter(*variables))}(record))"] if bulk else []
        body += ["    values = []", "    keep = values.append"] if bulk else []
        body += [
            "    for i, line in enumerate(lines):",
            "        try:",
            f"            record = {bind(decoder.decode)}(line)",
            *keep,
            "        except DecodeError:",
            "            refuse(i)",
            *([f"            keep({bind(unread)})"] if bulk else []),
            "            continue",
        ]
        body += _read(fields, typed=True, bind=bind, indent="        ")
        body.append("        try:")
        for field in fields.values():
            not_known = "refuse(i); continue"
            statements = field.lines(typed=True, refuse=not_known, undecided=not_known)
            body += [f"            {s}" for s in statements]
        body += [
            "            pass",
            "        except (ValueError, TypeError, ArithmeticError):",
            "            refuse(i)",
        ]
        if bulk:
            body += _bulk(bulk, bind)
        body.append("    return undecided")
    namespace = src.namespace
    exec("\n".join(body), namespace)
    return StreamTest(namespace["passes"], namespace["undecided_lines"])


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


def _bulk(fields: list[_Field], bind: t.Callable[[t.Any], str]) -> list[str]:
    """The statements that test the chunk's values of `fields` at once (one call per test, on the values
    of every field it tests), and, when one refuses, every value of those fields one by one, to find the
    lines not known to pass. `values` holds, per line, the fields' values (a tuple of them in the order
    of `fields`, or the one field's value)."""
    tested: dict[t.Callable, list[int]] = {}
    for index, field in enumerate(fields):
        for test in field.bulk:
            tested.setdefault(test, []).append(index)
    calls = []
    for test, indexes in tested.items():
        if len(fields) == 1:
            chosen = "values"
        elif len(indexes) == len(fields):
            chosen = "chain(values)"
        else:
            picked = f"map({bind(operator.itemgetter(*indexes))}, values)"
            chosen = picked if len(indexes) == 1 else f"chain({picked})"
        calls.append(f"{bind(test)}({chosen})")
    targets = "".join(f"{f.variable}, " for f in fields) if len(fields) > 1 else fields[0].variable
    body = [f"    if not ({' and '.join(calls)}):", f"        for i, ({targets}) in enumerate(values):"]
    body.append("            try:")
    for field in fields:
        body += [" " * 16 + s.replace("{undecided}", "refuse(i); continue") for s in field.bulk_lines]
    body += [
        "                pass",
        "            except (ValueError, TypeError, ArithmeticError):",
        "                refuse(i)",
        "        undecided = sorted(set(undecided))",
    ]
    return body


INT64_RANGE = (-(2**63), 2**63 - 1)


def _narrowed(decoded: t.Any, narrowing: Narrowing | None) -> t.Any:
    """The type `decoded` (a typed property's, `schema_check.decoded_type`) narrowed as a rule's
    `Narrowing` says, so that the decode reads only values the rule passes; None when msgspec cannot check
    it (an untyped property, bounds on another type than an integer, no integer left): the rule is then
    tested after the decode."""
    if narrowing is None or decoded is t.Any:
        return None
    members = t.get_args(decoded) if t.get_origin(decoded) in (t.Union, types.UnionType) else (decoded,)
    nullable = any(m is None or m is type(None) for m in members)
    kinds = [m for m in members if m is not None and m is not type(None)]
    if narrowing.present:
        if not kinds:
            return None
        nullable = False
    if (narrowing.low, narrowing.high, narrowing.values) != (None, None, None):
        domain = _integers(kinds[0]) if len(kinds) == 1 else None
        if domain is None:
            return None
        low, high, values = domain
        low = max(low, narrowing.low if narrowing.low is not None else low)
        high = min(high, narrowing.high if narrowing.high is not None else high)
        if narrowing.values is not None:
            values = narrowing.values if values is None else values & narrowing.values
        if values is not None:
            values = frozenset(v for v in values if low <= v <= high)
            if not values:
                return None
            kinds = [t.Literal[tuple(sorted(values))]]
        elif low <= high:
            kinds = [t.Annotated[int, msgspec.Meta(ge=low, le=high)]]
        else:
            return None
    kinds += [None] if nullable else []
    return kinds[0] if len(kinds) == 1 else t.Union[tuple(kinds)]  # noqa: UP007 - built at run time


def _integers(kind: t.Any) -> tuple[int, int, frozenset[int] | None] | None:
    """The integers a decode type reads: from `low` to `high`, or among `values`; None for other types."""
    if t.get_origin(kind) is t.Literal:
        return (*INT64_RANGE, frozenset(t.get_args(kind)))
    if t.get_origin(kind) is t.Annotated and t.get_args(kind)[0] is int:
        meta = [m for m in t.get_args(kind)[1:] if isinstance(m, msgspec.Meta)]
        low = max([m.ge for m in meta if m.ge is not None], default=INT64_RANGE[0])
        high = min([m.le for m in meta if m.le is not None], default=INT64_RANGE[1])
        return low, high, None
    return None


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
    needed = set(required).union(name for name, f in fields.items() if f.present)
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

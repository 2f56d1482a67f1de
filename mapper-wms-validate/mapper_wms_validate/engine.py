"""The rule engine: one compiled test per stream of whether a record passes its schema check and rules.

Why generated code: the test runs once per record, over every declared property and every rule, in record
mode and in BATCH mode alike, and a Python call per property or rule costs more than most checks. So each
SCHEMA message compiles the source of one Python function (`exec`): it reads the properties in one call
(an itemgetter), and per property inlines the tests of its common values, from the property's schema
(`schema_check.inline_accept`) and from the rules on it (`checks.Accept`). A value those tests do not
accept goes to the property's check and the rules' checks, the closures that decide every case and say
why; so the inline tests only skip calls, and decide nothing the checks would decide otherwise. If an
inline test raises (a date-time `fromisoformat` refuses), the record goes to every check.

Names from the SCHEMA and the rules enter the source only as `repr()` literals; values only as bound
constants.
"""

from __future__ import annotations

import operator
import typing as t
from datetime import datetime

from mapper_wms_validate.schema_check import (
    STORED_DATETIME,
    RecordSchemaCheck,
    inline_accept,
    property_check,
)

if t.TYPE_CHECKING:
    from mapper_wms_validate.rules import Rule

RecordTest = t.Callable[[dict], bool]
MISSING = object()  # a property the record lacks


class _Source:
    """The generated function's namespace: constants get fresh names."""

    def __init__(self) -> None:
        self.namespace: dict[str, t.Any] = {
            "MISSING": MISSING,
            "fromisoformat": datetime.fromisoformat,
            "stored_datetime": STORED_DATETIME,
        }

    def bind(self, value: t.Any) -> str:
        name = f"k{len(self.namespace)}"
        self.namespace[name] = value
        return name


def compile_passes(
    schema: dict,
    key_properties: t.Sequence[str],
    rules: t.Sequence[Rule],
    *,
    check_schema: bool,
    schema_problems: RecordSchemaCheck | None,
) -> RecordTest:
    """A stream's test: True when `record` passes the schema check (if `check_schema`) and every rule.

    `schema_problems` (the stream's `schema_check.compile_record`) decides a record whose inline tests
    raise, with the rules' own checks."""
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    keys = set(key_properties)
    src = _Source()
    bind = src.bind
    # the fields read: declared properties first, then fields only rules read
    fields: list[str] = list(properties)
    fields += [f for rule in rules for f in rule.fields if f not in properties and f not in fields]
    variable = {name: f"v{i}" for i, name in enumerate(fields)}
    read = variable.__getitem__
    # per field: the inline tests and the calls that decide when they do not accept
    tests: dict[str, list[str]] = {name: [] for name in fields}
    calls: dict[str, list[str]] = {name: [] for name in fields}
    record_calls: list[str] = []  # rules without an inline test
    if check_schema:
        for name, prop in properties.items():
            full = property_check(prop, name, key=name in keys)
            if full is None:
                continue
            v = read(name)
            accept = inline_accept(prop, key=name in keys, v=v)
            tests[name].append(f"({accept})" if accept else "False")
            calls[name].append(f"({v} is not MISSING and {bind(full)}({v}) is not None)")
    for rule in rules:
        accept = getattr(rule.test, "accept", None)
        call = f"{bind(rule.test)}(record) is not None"
        if accept is None or not rule.fields:
            record_calls.append(call)
            continue
        # an inline test is run with the last field it reads (all of them are read by then)
        last = rule.fields[-1]
        tests[last].append(accept(read, bind))
        calls[last].append(call)
    used = [name for name in fields if tests[name] or calls[name]]
    body = ["def passes(record):"]
    if used:
        targets = "".join(f"{read(name)}, " for name in used)
        body += [
            "    try:",
            f"        {targets}= {bind(operator.itemgetter(*used))}(record)" + ("" if len(used) > 1 else ","),
            "    except KeyError:",
            f"        {targets}= [record.get(name, MISSING) for name in {bind(used)}]",
        ]
    body.append("    try:")
    for name in used:
        body.append(f"        if not ({' and '.join(tests[name])}):")
        body += [f"            if {call}: return False" for call in calls[name]]
    body += [f"        if {call}: return False" for call in record_calls]
    body.append("        pass")
    body += [
        "    except (ValueError, TypeError, ArithmeticError):",
        f"        return {bind(_every_check(rules, schema_problems if check_schema else None))}(record)",
    ]
    required = [name for name in schema.get("required") or [] if isinstance(name, str)]
    if check_schema and required:
        body.append(f"    if not {bind(frozenset(required))}.issubset(record): return False")
    if check_schema and schema.get("additionalProperties") is False:
        body.append(f"    if not {bind(frozenset(properties))}.issuperset(record): return False")
    body.append("    return True")
    namespace = src.namespace
    exec("\n".join(body), namespace)
    return namespace["passes"]


def _every_check(rules: t.Sequence[Rule], schema_problems: RecordSchemaCheck | None) -> RecordTest:
    """The test by the checks alone (for a record an inline test raised on)."""
    tests = [rule.test for rule in rules]

    def passes(record: dict) -> bool:
        if schema_problems is not None and schema_problems(record) is not None:
            return False
        return all(test(record) is None for test in tests)

    return passes

"""The check functions behind rules, compiled once per rule from its parameters.

Why closures: each check runs once per record, so everything that can be decided from the config (regex
compilation, parameter conversion, the message prefix) is done here, once. A compiled check takes the whole
record and returns None when the record passes or a human-readable message when it breaks the rule.
A check of one field is written as a check of its value; `on_field` makes it a record check reading
`record.get(field)`. An expression reads the record through `record.get(name)`.

Each check of one field also says, as Python source (`Accept`), when a value plainly passes it: the rule
engine (engine.py) inlines that test in the one function it compiles per stream, and calls the check only
for a value the test does not accept, so the check stays the one that decides.

Null semantics: a null or missing value passes every check except `not_null` (a `positive` rule says "if
there is a quantity, it is positive"; whether there must be one is `not_null`'s job). Expressions follow SQL
CHECK semantics (see expression.py).
"""

from __future__ import annotations

import re
import typing as t
from decimal import Decimal

from mapper_wms_validate.expression import CompiledExpression, ExpressionTypeError, compile_expression
from mapper_wms_validate.schema_check import (
    ALL_STORED_DATETIMES,
    ALL_STORED_DATETIMES_WITH_OFFSET,
    datetime_problem,
    stored_datetime,
)
from mapper_wms_validate.storage_contract import read_datetime

RecordCheck = t.Callable[[dict], "str | None"]
ValueCheck = t.Callable[[t.Any], "str | None"]
# Source of a test that is true only for records the check passes: `read(field)` names the variable that
# holds a field's value (`MISSING` when the record lacks it: the test must then be false, as the check
# reads a missing field as null), `bind(obj)` names a constant. The test runs inside a try: an exception
# means "not accepted here", and the check decides.
Accept = t.Callable[[t.Callable[[str], str], t.Callable[[t.Any], str]], str]
ValueAccept = t.Callable[[str, t.Callable[[t.Any], str]], str]  # the same, on the one value `v`
# A test of many values of the field at once (each a non-empty string, None or the engine's MISSING), true
# only if the check passes each; it may refuse more (then `Accept` and the check decide value by value).
BulkAccept = t.Callable[[t.Iterable[t.Any]], bool]
NUMBER_TYPES = (int, float, Decimal)  # bool is excluded on purpose: type(True) is bool


class Narrowing(t.NamedTuple):
    """What a typed decode can check of a one-field check while it decodes, so that the value needs no
    test after it: the value is present and not null (`present`), or an integer from `low` to `high`, or
    one of the integers `values`. Such a decode refuses every value the check refuses (the line then goes
    to the record test, which decides); it accepts nothing the check refuses."""

    present: bool = False
    low: int | None = None
    high: int | None = None
    values: frozenset[int] | None = None


class CheckConfigError(ValueError):
    """A rule's parameters are missing or wrong (reported at start with the rule's location)."""


class CheckSpec(t.NamedTuple):
    """How to build one check: the factory, its required and optional parameters, whether it needs a field."""

    factory: t.Callable[[str, dict], RecordCheck]
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    needs_field: bool = True


def on_field(
    field: str,
    check: ValueCheck,
    accept: ValueAccept,
    bulk: BulkAccept | None = None,
    narrowing: Narrowing | None = None,
    implied_by_format: str | None = None,
) -> RecordCheck:
    """The record check of a check on one field's value (a missing field reads as null), with its
    `Accept` as `.accept`, its `BulkAccept` as `.bulk`, its `Narrowing` as `.narrowing` and
    `.implied_by_format` (or None), for the rule engine. `implied_by_format`: the check passes every
    value that the schema check of a property with that JSON Schema `format` passes."""

    def record_check(r: dict) -> str | None:
        return check(r.get(field))

    record_check.accept = lambda read, bind: accept(read(field), bind)  # type: ignore[attr-defined]
    record_check.bulk = bulk  # type: ignore[attr-defined]
    record_check.narrowing = narrowing  # type: ignore[attr-defined]
    record_check.implied_by_format = implied_by_format  # type: ignore[attr-defined]
    return record_check


def _number_param(params: dict, key: str) -> int | Decimal:
    value = params[key]
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise CheckConfigError(f"parameter '{key}' must be a number, got {value!r}")
    return Decimal(repr(value)) if isinstance(value, float) else value


def _is_number(value: t.Any) -> bool:
    return type(value) in NUMBER_TYPES


def _not_null(field: str, _params: dict) -> RecordCheck:
    message = f"{field} must not be null"

    def check(v: t.Any) -> str | None:
        return message if v is None else None

    accept = lambda v, _bind: f"({v} is not None and {v} is not MISSING)"  # noqa: E731
    return on_field(field, check, accept, narrowing=Narrowing(present=True))


def _compare_factory(symbol: str, op: t.Callable[[t.Any, t.Any], bool], fixed: int | None = None):
    """Build a factory for one-sided numeric bounds (positive, non_negative, min, max)."""

    def factory(field: str, params: dict) -> RecordCheck:
        bound = fixed if fixed is not None else _number_param(params, "value")

        def check(v: t.Any) -> str | None:
            if v is None:
                return None
            if type(v) in NUMBER_TYPES:
                if op(v, bound):
                    return None
                return f"{field} must be {symbol} {bound}, got {v}"
            return f"{field} must be a number {symbol} {bound}, got {v!r}"

        def accept(v: str, bind: t.Callable[[t.Any], str]) -> str:
            test = f"{v} {symbol} {bind(bound)}"
            return f"({v} is None or (type({v}) in {bind(NUMBER_TYPES)} and {test}))"

        narrowing = None
        if type(bound) is int:  # as integers: v > b is v >= b + 1
            low = {">": bound + 1, ">=": bound}.get(symbol)
            narrowing = Narrowing(low=low, high=bound if symbol == "<=" else None)
        return on_field(field, check, accept, narrowing=narrowing)

    return factory


def _range(field: str, params: dict) -> RecordCheck:
    low, high = _number_param(params, "min"), _number_param(params, "max")
    if low > high:
        raise CheckConfigError(f"'min' ({low}) is greater than 'max' ({high})")

    def check(v: t.Any) -> str | None:
        if v is None:
            return None
        if type(v) in NUMBER_TYPES and low <= v <= high:
            return None
        return f"{field} must be between {low} and {high} (inclusive), got {v!r}"

    def accept(v: str, bind: t.Callable[[t.Any], str]) -> str:
        return f"({v} is None or (type({v}) in {bind(NUMBER_TYPES)} and {bind(low)} <= {v} <= {bind(high)}))"

    integers = type(low) is int and type(high) is int
    return on_field(field, check, accept, narrowing=Narrowing(low=low, high=high) if integers else None)


def _in(field: str, params: dict) -> RecordCheck:
    values = params["values"]
    if not isinstance(values, list) or not values:
        raise CheckConfigError(f"parameter 'values' must be a non-empty list, got {values!r}")
    if any(isinstance(v, (dict, list)) for v in values):
        raise CheckConfigError("parameter 'values' may hold only strings, numbers, booleans and null")
    # bools are kept apart because True == 1 in Python but not in a status domain
    bools = frozenset(v for v in values if isinstance(v, bool))
    others = frozenset(
        Decimal(repr(v)) if isinstance(v, float) else v for v in values if not isinstance(v, bool)
    )
    shown = ", ".join(repr(v) for v in values)

    def check(v: t.Any) -> str | None:
        if v is None:
            return None
        try:
            if (v in bools) if type(v) is bool else (v in others):
                return None
        except TypeError:  # object/array values are unhashable and never allowed
            pass
        return f"{field} must be one of [{shown}], got {v!r}"

    def accept(v: str, bind: t.Callable[[t.Any], str]) -> str:
        return f"({v} is None or (type({v}) is not bool and {v} in {bind(others)}))"

    integers = all(type(value) is int for value in values)
    return on_field(field, check, accept, narrowing=Narrowing(values=frozenset(values)) if integers else None)


def _pattern(field: str, params: dict) -> RecordCheck:
    source = params["pattern"]
    if not isinstance(source, str):
        raise CheckConfigError(f"parameter 'pattern' must be a string, got {source!r}")
    try:
        fullmatch = re.compile(source).fullmatch
    except re.error as exc:
        raise CheckConfigError(
            f"parameter 'pattern' is not a valid regular expression {source!r}: {exc}"
        ) from exc

    def check(v: t.Any) -> str | None:
        if v is None:
            return None
        if type(v) is str and fullmatch(v) is not None:
            return None
        return f"{field} must match the pattern {source!r}, got {v!r}"

    def accept(v: str, bind: t.Callable[[t.Any], str]) -> str:
        return f"({v} is None or (type({v}) is str and {bind(fullmatch)}({v}) is not None))"

    return on_field(field, check, accept)


def _max_length(field: str, params: dict) -> RecordCheck:
    limit = params["value"]
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise CheckConfigError(f"parameter 'value' must be a non-negative integer, got {limit!r}")

    def check(v: t.Any) -> str | None:
        if v is None:
            return None
        if type(v) is str:
            if len(v) <= limit:
                return None
            return f"{field} must be at most {limit} characters long, got {len(v)}"
        return f"{field} must be a string of at most {limit} characters, got {v!r}"

    def accept(v: str, bind: t.Callable[[t.Any], str]) -> str:
        return f"({v} is None or (type({v}) is str and len({v}) <= {limit}))"

    return on_field(field, check, accept)


def _datetime(field: str, params: dict) -> RecordCheck:
    """A date-time the target stores: the storage contract's test (`schema_check.datetime_problem`, the
    same as a `format: date-time` property's), so a record passing the rule loads."""
    require_tz = params.get("require_timezone", False)
    if not isinstance(require_tz, bool):
        raise CheckConfigError(f"parameter 'require_timezone' must be true or false, got {require_tz!r}")

    def check(v: t.Any) -> str | None:
        if v is None:
            return None
        if type(v) is not str:
            return f"{field} must be an ISO-8601 date-time string, got {v!r}"
        problem = datetime_problem(v)
        if problem is not None:
            return f"{field}: {problem}, got {v!r}"
        if require_tz and read_datetime(v).tzinfo is None:
            return f"{field} must carry a UTC offset, got {v!r}"
        return None

    def accept(v: str, _bind: t.Callable[[t.Any], str]) -> str:
        return f"({v} is None or (type({v}) is str and {stored_datetime(v, offset=require_tz)}))"

    bulk = ALL_STORED_DATETIMES_WITH_OFFSET if require_tz else ALL_STORED_DATETIMES
    # without an offset required, the rule is the `format: date-time` schema check's contract test
    return on_field(field, check, accept, bulk, implied_by_format=None if require_tz else "date-time")


def expression_check(compiled: CompiledExpression) -> RecordCheck:
    """Wrap a compiled expression as a record check (false -> violation, unknown -> pass)."""
    evaluate = compiled.evaluate
    message = f"expression is false: {compiled.source}"

    def check(r: dict) -> str | None:
        try:
            if evaluate(r) is not False:
                return None
        except ExpressionTypeError as exc:
            return f"expression {compiled.source!r} cannot be evaluated: {exc}"
        return message

    check.accept = getattr(evaluate, "accept", None)  # type: ignore[attr-defined]
    return check


def _expression(_field: str, params: dict) -> RecordCheck:
    return expression_check(compile_expression(params["expression"]))


_GT = _compare_factory(">", lambda v, b: v > b, fixed=0)
_GE0 = _compare_factory(">=", lambda v, b: v >= b, fixed=0)

CHECKS: dict[str, CheckSpec] = {
    "not_null": CheckSpec(_not_null, ()),
    "positive": CheckSpec(_GT, ()),
    "non_negative": CheckSpec(_GE0, ()),
    "min": CheckSpec(_compare_factory(">=", lambda v, b: v >= b), ("value",)),
    "max": CheckSpec(_compare_factory("<=", lambda v, b: v <= b), ("value",)),
    "range": CheckSpec(_range, ("min", "max")),
    "in": CheckSpec(_in, ("values",)),
    "pattern": CheckSpec(_pattern, ("pattern",)),
    "max_length": CheckSpec(_max_length, ("value",)),
    "datetime": CheckSpec(_datetime, (), ("require_timezone",)),
    "expression": CheckSpec(_expression, ("expression",), needs_field=False),
}

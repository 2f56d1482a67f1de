"""The rule `schema`: a record must match its stream's JSON Schema and be storable as the target stores it.

One check per SCHEMA message, compiled once, used for every record in record mode and in BATCH mode.

JSON Schema keywords checked: `type` (a name or a list; an integer-valued number such as 1.0 is an integer),
`properties`, `required`, `additionalProperties: false`, `items`, `enum`, `anyOf`/`oneOf` (both read as
anyOf), `format` `date-time` and `date`. Ignored: `maxLength`/`minLength` (the target widens a long string
to CLOB and never refuses one), `minimum`, `pattern` and other keywords (rules say those).

The storage contract (contract.py) adds, per top-level property by the kind of column it becomes: integers
below 10**38 in absolute value, numbers with at most 28 digits before the point and 10 after, finite;
date-times with at most 6 fractional second digits; no empty string in a key property. A violation's
message carries the contract's reason ("integer beyond NUMBER(38)", "more than 10 decimal places", ...).

Numbers are judged exactly: the reader decodes JSON numbers with a fraction or exponent to Decimal, from
their text, never through float.

Each property's check is a closure that decides every case; `inline_accept` gives the rule engine
(engine.py) the common cases of a plain-typed property as source to inline, so that only other values
cost a call.
"""

from __future__ import annotations

import re
import typing as t
from datetime import datetime
from decimal import Decimal

import msgspec

from mapper_wms_validate import contract as c
from mapper_wms_validate import storage_contract as sc

ValueCheck = t.Callable[[t.Any], "str | None"]
Problem = tuple[str, str]  # (field, message)
RecordSchemaCheck = t.Callable[[dict], "list[Problem] | None"]

CONTRACT = c.load()

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


def describe(value: t.Any) -> str:
    """A value as shown in a violation message (cut at 80 characters); a decimal as its digits."""
    text = str(value) if type(value) is Decimal else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _exact(value: t.Any) -> Decimal | None:
    """A number as an exact Decimal (a float by its shortest repr, as written); None for other values."""
    kind = type(value)
    if kind is Decimal:
        return value
    if kind is int:
        return Decimal(value)
    if kind is float:
        return Decimal(repr(value))
    return None


def _integral(number: Decimal) -> bool:
    """Whether a finite Decimal has no fractional part, read from its digits (no rounding context)."""
    _, digits, exponent = number.as_tuple()
    return exponent >= 0 or not any(digits[exponent:])  # type: ignore[operator]


# --- format ----------------------------------------------------------------------------------------


# The date-time forms target-oracle stores are `storage_contract.datetime_form` (a date, `T` or a space, the
# time with seconds, an optional fraction, an optional `Z` or offset of hours and minutes) that
# `fromisoformat` reads: `storage_contract.refusal`, the target's own rule. Those with at most the
# contract's fractional digits, as the set of their shapes: a value's UTF-8 bytes with every digit written
# as 0 (`DIGITS_AS_ZERO`). A value whose shape is in the set is of one of those forms; if `fromisoformat`
# reads it too, the target stores it as it is (the rule engine's inline test, `inline_accept`; a test keeps
# it equal to `refusal`). A set lookup of the translated bytes costs a third of the regular expression's
# match, and it runs once per date-time value in record mode.
DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
STORED_DATETIME_SHAPES = frozenset(
    f"0000-00-00{separator}00:00:00{fraction}{offset}".encode()
    for separator in "T "
    for fraction in ["", *("." + "0" * n for n in range(1, CONTRACT.fraction_digits + 1))]
    for offset in ["", "Z", *(sign + hours for sign in "+-" for hours in ("00", "0000", "00:00"))]
)


# The names the inline tests' source reads (`inline_accept`, `decoded_type`, `stored_datetime`), besides
# the rule engine's MISSING: the contract's reading of a date-time, the shapes of the stored forms.
INLINE_NAMES: dict[str, t.Any] = {
    "Decimal": Decimal,
    "fromisoformat": sc.read_datetime,
    "digits_as_zero": DIGITS_AS_ZERO,
    "stored_shapes": STORED_DATETIME_SHAPES,
}


def datetime_problem(value: str) -> str | None:
    """None when `value` is an ISO-8601 date-time the target stores, else the contract's reason (more than
    the contract's fractional digits would be cut by TIMESTAMP(6): refused)."""
    return sc.refusal(sc.TIMESTAMP, value)


# A chunk of date-time values at once (the rule engine's test of BATCH lines). The values are joined into
# one JSON array and decoded by msgspec as datetimes: its RFC 3339 parser reads `YYYY-MM-DD`, `T`, `t` or a
# space, `HH:MM:SS`, any number of fractional digits, then nothing, `Z`, `z` or `+HH:MM`/`+HHMM`, and checks
# the calendar (leap years), the clock and the offset (hours to 23, minutes to 59), in C. Without a lowercase
# `t` or `z` and with at most the contract's fractional digits, what it reads is one of the target's forms
# that `fromisoformat` reads: a value `datetime_problem` accepts. It refuses an offset of hours alone
# (`+05`), which the contract accepts: the caller then tests the values one by one.
NON_EMPTY_STRING = t.Annotated[str, msgspec.Meta(min_length=1)]
_MORE_DIGITS = re.compile(rf"\.[0-9]{{{CONTRACT.fraction_digits + 1}}}").search


def _all_stored(decode: t.Callable[[str], t.Any]) -> t.Callable[[t.Iterable[t.Any]], bool]:
    def all_stored(values: t.Iterable[t.Any]) -> bool:
        """True only when every non-empty string of `values` is a date-time `datetime_problem` accepts.
        Falsy values (None, the engine's MISSING) are skipped, and so is an empty string: the caller
        gives none (the engine's typed decode reads a date-time as a `NON_EMPTY_STRING`)."""
        texts = list(filter(None, values))
        if not texts:
            return True
        try:
            text = '["' + '","'.join(texts) + '"]'
        except TypeError:  # not a string
            return False
        if "\\" in text or "t" in text or "z" in text:
            return False  # (an escape would change what the array holds)
        if "0001-" in text or "9999-" in text or _MORE_DIGITS(text) is not None:
            return False  # (the first and last year: their UTC instant may fall outside, see `read_datetime`)
        try:
            decoded = decode(text)
        except msgspec.DecodeError:  # (a ValidationError is one)
            return False
        return len(decoded) == len(texts)  # (a value with a quote in it makes more items, or none)

    return all_stored


ALL_STORED_DATETIMES = _all_stored(msgspec.json.Decoder(list[datetime]).decode)
# the same, each with an offset (the `datetime` rule's `require_timezone`)
ALL_STORED_DATETIMES_WITH_OFFSET = _all_stored(
    msgspec.json.Decoder(list[t.Annotated[datetime, msgspec.Meta(tz=True)]]).decode
)


def date_problem(value: str) -> str | None:
    """None when `value` is an ISO-8601 calendar date (YYYY-MM-DD), else the contract's reason."""
    return sc.refusal(sc.DATE, value)


_FORMATS: dict[str, t.Callable[[str], str | None]] = {"date-time": datetime_problem, "date": date_problem}
_FORMAT_OF = {sc.TIMESTAMP: "date-time", sc.DATE: "date"}


# --- JSON Schema -------------------------------------------------------------------------------------


def _type_check(path: str, types: list[str]) -> ValueCheck | None:
    if any(name not in _TYPES for name in types):
        return None  # a type we do not know: do not guess, accept
    allowed = frozenset(tp for name in types for tp in _TYPES[name])
    integral_numbers = "integer" in types and "number" not in types
    expected = " or ".join(types)

    def check(value: t.Any) -> str | None:
        kind = type(value)
        if kind in allowed:
            return None
        if integral_numbers and kind in (Decimal, float):
            number = _exact(value)
            if number is not None and number.is_finite() and _integral(number):
                return None  # 5.0 is an integer in JSON Schema
        return f"{path} must be {expected}, got {describe(value)}"

    return check


def _format_check(path: str, name: t.Any) -> ValueCheck | None:
    problem_of = _FORMATS.get(name)
    if problem_of is None:
        return None

    def check(value: t.Any) -> str | None:
        if type(value) is not str:
            return None  # only strings have a format
        problem = problem_of(value)
        return None if problem is None else f"{path}: {problem}, got {describe(value)}"

    return check


def compile_value(schema: t.Any, path: str) -> ValueCheck | None:
    """The JSON Schema check of one (sub)schema: None (accepts anything) or value -> message or None."""
    if not isinstance(schema, dict):
        return None
    checks: list[ValueCheck] = []
    declared = schema.get("type")
    if declared is not None:
        type_check = _type_check(path, [declared] if isinstance(declared, str) else list(declared))
        if type_check is not None:
            checks.append(type_check)
    alternatives = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(alternatives, list) and alternatives:
        compiled = [compile_value(s, path) for s in alternatives]
        if all(check is not None for check in compiled):
            checks.append(_any_of(path, t.cast("list[ValueCheck]", compiled)))
    if isinstance(schema.get("enum"), list):
        checks.append(_enum(path, schema["enum"]))
    format_check = _format_check(path, schema.get("format"))
    if format_check is not None:
        checks.append(format_check)
    if isinstance(schema.get("properties"), dict) or schema.get("required"):
        checks.append(_nested_object(_object_check(schema, path + ".")))
    items = compile_value(schema.get("items"), path + "[]")
    if items is not None:
        checks.append(_array_items(items))
    if not checks:
        return None
    return checks[0] if len(checks) == 1 else _all_of(checks)


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
        problems = [alternative(value) for alternative in alternatives]
        if any(p is None for p in problems):
            return None
        return f"{path} matches none of its anyOf schemas ({'; '.join(t.cast('list[str]', problems))})"

    return check


def _enum(path: str, values: list) -> ValueCheck:
    def check(value: t.Any) -> str | None:
        for allowed in values:
            # True == 1 in Python, not in JSON
            if value == allowed and (type(value) is bool) == (type(allowed) is bool):
                return None
        return f"{path} must be one of {values!r}, got {describe(value)}"

    return check


def _nested_object(object_check: t.Callable[[dict], list[Problem] | None]) -> ValueCheck:
    def check(value: t.Any) -> str | None:
        if type(value) is not dict:
            return None  # the type check reports non-objects
        problems = object_check(value)
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


def _object_check(schema: dict, prefix: str) -> t.Callable[[dict], list[Problem] | None]:
    """A nested object's check: its properties, `required`, `additionalProperties: false`."""
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    checks = [(name, check) for name, p in properties.items() if (check := compile_value(p, prefix + name))]
    required = [name for name in schema.get("required") or [] if isinstance(name, str)]
    closed = schema.get("additionalProperties") is False
    known = frozenset(properties)

    def check(value: dict) -> list[Problem] | None:
        problems: list[Problem] = []
        for name, value_check in checks:
            item = value.get(name, _MISSING)
            if item is not _MISSING:
                problem = value_check(item)
                if problem is not None:
                    problems.append((prefix + name, problem))
        missing = [prefix + n for n in required if n not in value]
        problems += [(path, f"{path} is required but missing") for path in missing]
        if closed:
            problems += [
                (prefix + n, f"{prefix + n} is not in the schema (additionalProperties is false)")
                for n in value
                if n not in known
            ]
        return problems or None

    return check


# --- the storage contract ----------------------------------------------------------------------------


def contract_check(kind: str, path: str, *, key: bool = False, fmt: t.Any = None) -> ValueCheck | None:
    """The storage contract's check for a top-level property of `kind` (after its JSON Schema check,
    whose `format`, `fmt`, may already say what the contract says)."""
    reasons = CONTRACT.reasons
    if kind in (sc.INTEGER, sc.NUMBER):

        def numeric(value: t.Any) -> str | None:
            if _exact(value) is None:
                return None  # not a number: the JSON Schema check decides
            problem = sc.refusal(kind, value)
            return None if problem is None else f"{path}: {problem}, got {describe(value)}"

        return numeric
    if kind in (sc.TIMESTAMP, sc.DATE):
        if fmt == _FORMAT_OF[kind]:
            return None  # the JSON Schema format check applies the contract (see `_FORMATS`)
        problem_of = datetime_problem if kind == sc.TIMESTAMP else date_problem

        def dated(value: t.Any) -> str | None:
            if type(value) is not str:
                return None
            problem = problem_of(value)
            return None if problem is None else f"{path}: {problem}, got {describe(value)}"

        return dated
    if key:
        empty_key, long_key = reasons["string"]["empty_key"], reasons["string"]["long_key"]
        max_bytes = CONTRACT.string_max_bytes

        def key_text(value: t.Any) -> str | None:
            if value == "":
                return f"{path}: {empty_key}"
            # a character is at most 4 UTF-8 bytes: only a longer text can be over the limit
            if type(value) is str and len(value) * 4 > max_bytes and len(value.encode()) > max_bytes:
                return f"{path}: {long_key}"
            return None

        return key_text
    return None


def property_check(schema: t.Any, name: str, *, key: bool = False) -> ValueCheck | None:
    """A top-level property's full check: its JSON Schema, then the storage contract for its kind."""
    fmt = schema.get("format") if isinstance(schema, dict) else None
    checks = [compile_value(schema, name), contract_check(c.kind_of(schema), name, key=key, fmt=fmt)]
    present = [check for check in checks if check is not None]
    if not present:
        return None
    return present[0] if len(present) == 1 else _all_of(present)


# keywords that leave a property's check a plain type check (and the format and contract of its kind)
_PLAIN = frozenset({"type", "format", "maxLength", "minLength", "description", "title", "default"})


def _plain_types(schema: t.Any, known: t.Collection[str]) -> list[str] | None:
    """The type names of a plain-typed property (only `_PLAIN` keywords), when all are `known`."""
    if not isinstance(schema, dict) or not set(schema) <= _PLAIN:
        return None
    declared = schema.get("type")
    names = [declared] if isinstance(declared, str) else declared
    if not isinstance(names, list) or not names or any(n not in known for n in names):
        return None
    return names


def key_text_test(v: str) -> str:
    """A Python expression true for a key's text (a str in `v`) surely stored (`contract_check`): not
    empty, and short enough that its UTF-8 bytes cannot pass the contract's limit (4 bytes a character at
    most); a longer text is left to `contract_check`, which counts its bytes."""
    return f"{v} != '' and len({v}) <= {CONTRACT.string_max_bytes // 4}"


def inline_accept(schema: t.Any, *, key: bool, v: str) -> str | None:
    """A Python expression on the variable named `v`, true only for values `property_check` accepts, for
    properties whose schema is a plain type: null, in-range integers, a number's in-range decimals with at
    most the contract's decimal places as written, strings, booleans, objects, arrays, date-times of the
    contract's common form (`Decimal`, like the names below, is bound in the engine's namespace). It may
    raise (a date-time `fromisoformat` refuses, a NaN is compared): the rule engine then leaves the
    decision to `property_check`. False for the engine's `MISSING`.

    The date-time test is the contract's (`datetime_problem`): a form the target stores (its shape is one
    of `STORED_DATETIME_SHAPES`, bound in the engine's namespace as `stored_shapes`, after `digits_as_zero`)
    that `fromisoformat` reads. A value that is not ASCII fails to match a shape (or to encode)."""
    names = _plain_types(schema, _TYPES)
    if names is None:
        return None
    kind = c.kind_of(schema)
    terms = [f"{v} is None"] if "null" in names else []
    if "integer" in names or "number" in names:
        digits = CONTRACT.integer_precision if kind == sc.INTEGER else CONTRACT.number_integer_digits
        terms.append(f"(type({v}) is int and {-(10**digits)} < {v} < {10**digits})")
        if kind == sc.NUMBER:  # a decimal within the digits, with no more places than the scale
            places = f"{v}.as_tuple().exponent >= {-CONTRACT.number_scale}"
            terms.append(f"(type({v}) is Decimal and {-(10**digits)} < {v} < {10**digits} and {places})")
    if "string" in names and kind in (sc.STRING, sc.CLOB, sc.JSON):
        terms.append(f"(type({v}) is str and {key_text_test(v)})" if key else f"type({v}) is str")
    elif "string" in names and kind == sc.TIMESTAMP and schema.get("format") == "date-time":
        terms.append(f"(type({v}) is str and {stored_datetime(v)})")
    plain = (("boolean", "bool"), ("object", "dict"), ("array", "list"))
    terms += [f"type({v}) is {tp}" for n, tp in plain if n in names]
    return " or ".join(terms) or None


# The Python type a typed msgspec decode gives each JSON type, exactly the value a decode into a dict gives.
# Integers are bounded to int64, which msgspec checks while it decodes: every such integer is inside
# NUMBER(38); a larger one fails the typed decode and goes to the decode into a dict. `number` is not
# here: its values must be the exact Decimals the dict decode makes (they are decoded untyped).
INT64 = t.Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
_DECODED: dict[str, t.Any] = {
    "null": None,
    "boolean": bool,
    "integer": INT64,
    "string": str,
    "object": dict,
    "array": list,
}


class Decoded(t.NamedTuple):
    """How the typed decode reads a property: its type; the test (a Python expression on the variable
    named `v`, as `inline_accept`'s) a value of that type still needs, None when every such value passes
    `property_check`; and `bulk`, when not None, a test of a whole chunk's values of the property at once,
    true only if each passes `test` (it may refuse more: then `test` decides value by value)."""

    type: t.Any
    test: str | None
    bulk: t.Callable[[t.Iterable[t.Any]], bool] | None = None


def decoded_type(schema: t.Any, *, key: bool, v: str) -> Decoded | None:
    """For a plain-typed property whose JSON types msgspec decodes exactly as the untyped decode does
    (null, boolean, integer, string, object, array): how the typed decode reads it (`Decoded`). None for
    other properties (`number`, `enum`, `anyOf`, nested schemas): they are decoded untyped.

    A string's value still needs its test when the property has a format or becomes a date-time or date
    column, or is a key (no empty string); the test of a string or null property skips the type test.
    A date-time string (not a key) is read as a `NON_EMPTY_STRING` (an empty one fails the decode: it is
    never a date-time) and tested a chunk at a time (`ALL_STORED_DATETIMES`)."""
    names = _plain_types(schema, _DECODED)
    if names is None:
        return None
    kinds = tuple(dict.fromkeys(_DECODED[n] for n in names))
    decoded = kinds[0] if len(kinds) == 1 else t.Union[kinds]  # noqa: UP007 - a union built at run time
    kind = c.kind_of(schema)
    if "string" not in names or not (key or schema.get("format") in _FORMATS or kind in _FORMAT_OF):
        return Decoded(decoded, None)
    # (a missing property's variable holds the engine's MISSING, which passes: the decode checks
    # `required`)
    plain_string = set(names) <= {"string", "null"}
    if plain_string and not key and kind == sc.TIMESTAMP and schema.get("format") == "date-time":
        non_empty = NON_EMPTY_STRING if "null" not in names else NON_EMPTY_STRING | None
        test = f"({v} is None or {v} is MISSING or ({stored_datetime(v)}))"
        return Decoded(non_empty, test, ALL_STORED_DATETIMES)
    if plain_string and kind in (sc.STRING, sc.CLOB, sc.JSON):
        # a key: None and MISSING pass too
        return Decoded(decoded, f"(type({v}) is not str or ({key_text_test(v)}))")
    accept = inline_accept(schema, key=key, v=v)
    return Decoded(decoded, f"({accept})" if accept else "False")


def stored_datetime(v: str, *, offset: bool = False) -> str:
    """The date-time test on a string in the variable named `v`, true only when `datetime_problem`
    accepts it (see `inline_accept`; the names it reads are the rule engine's), and with `offset` only
    when it has a UTC offset too. It may raise ValueError (`fromisoformat` refuses)."""
    read = f"fromisoformat({v}){'.tzinfo' if offset else ''}"
    return f"{v}.encode().translate(digits_as_zero) in stored_shapes and {read} is not None"


def compile_record(schema: dict, key_properties: t.Sequence[str] = ()) -> RecordSchemaCheck:
    """A stream's record check: None when the record passes, else [(field, message), ...], one per
    property that breaks its JSON Schema or the storage contract, then required and undeclared ones.

    It says why a record is refused; whether one is, record by record, the rule engine decides with
    the same property checks (engine.py)."""
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    keys = set(key_properties)
    checks = [
        (n, _accepting(check, p, key=n in keys))
        for n, p in properties.items()
        if (check := property_check(p, n, key=n in keys))
    ]
    required = [name for name in schema.get("required") or [] if isinstance(name, str)]
    known = frozenset(properties) if schema.get("additionalProperties") is False else None

    def check(record: dict) -> list[Problem] | None:
        problems: list[Problem] = []
        for name, value_check in checks:
            value = record.get(name, _MISSING)
            if value is not _MISSING and (problem := value_check(value)) is not None:
                problems.append((name, problem))
        problems += [(name, f"{name} is required but missing") for name in required if name not in record]
        if known is not None:
            problems += [
                (name, f"{name} is not in the schema (additionalProperties is false)")
                for name in record
                if name not in known
            ]
        return problems or None

    return check


def _accepting(check: ValueCheck, schema: t.Any, *, key: bool) -> ValueCheck:
    """`check`, called only for a value the property's inline test (`inline_accept`, the rule engine's)
    does not accept: a refused record's other properties, mostly common values, then cost no call of the
    contract's checks (a record's 30-odd checks took about 55 us, its inline tests a tenth of that)."""
    source = inline_accept(schema, key=key, v="v")
    if source is None:
        return check
    accept = eval(f"lambda v: {source}", dict(INLINE_NAMES))  # (names enter the source only by repr())

    def accepting(value: t.Any) -> str | None:
        try:
            if accept(value):
                return None
        except (ValueError, TypeError, ArithmeticError):
            pass  # (a date-time `fromisoformat` refuses, a NaN is compared: the check says why)
        return check(value)

    return accepting

"""The storage contract: what target-oracle stores for each JSON Schema type, read from storage_contract.json.

Why here: the mapper passes a record only if the target will store it as it is, so its schema check enforces
the same table the target builds its columns from. The file is the target's (the package holds a link to it,
built into the wheel as a copy); this module reads it once and names its limits and refusal reasons.

`kind_of` decides which of the contract's kinds a property becomes, as the target decides its column type:
one kind shared by every non-null type of the property, else text (a text column holds any value).
"""

from __future__ import annotations

import dataclasses
import json
import typing as t
from importlib import resources

CONTRACT_FILE = "storage_contract.json"

INTEGER = "integer"
NUMBER = "number"
STRING = "string"
TIMESTAMP = "timestamp"
DATE = "date"
BOOLEAN = "boolean"
JSON = "json"


@dataclasses.dataclass(frozen=True)
class Contract:
    """The limits and refusal reasons of storage_contract.json that the mapper enforces."""

    integer_precision: int
    number_precision: int
    number_scale: int
    fraction_digits: int
    reasons: dict[str, dict[str, str]]

    @property
    def integer_limit(self) -> int:
        """An integer is stored when its absolute value is below this (10**38 for NUMBER(38))."""
        return 10**self.integer_precision

    @property
    def number_integer_digits(self) -> int:
        """Digits a number may have before the decimal point (28 for NUMBER(38,10))."""
        return self.number_precision - self.number_scale

    def reason(self, kind: str, key: str) -> str:
        """The contract's message for one refusal: ("integer", "too_large") is "integer beyond NUMBER(38)"."""
        return self.reasons[kind][key]


def load(text: str | None = None) -> Contract:
    """Read the contract (the packaged file, or `text`); a missing key is an error naming it."""
    if text is None:
        text = resources.files(__package__).joinpath(CONTRACT_FILE).read_text(encoding="utf-8")
    data = json.loads(text)
    kinds = data["kinds"]
    return Contract(
        integer_precision=kinds["integer"]["precision"],
        number_precision=kinds["number"]["precision"],
        number_scale=kinds["number"]["scale"],
        fraction_digits=kinds["timestamp"]["fraction_digits"],
        reasons={name: dict(kind.get("refuses") or {}) for name, kind in kinds.items()},
    )


def _types(schema: dict) -> list[str]:
    declared = schema.get("type", [])
    names = [declared] if isinstance(declared, str) else declared
    return [n for n in names if n != "null"] if isinstance(names, list) else []


def kind_of(schema: t.Any) -> str:
    """The contract kind of one top-level property's schema (what its column stores).

    `anyOf` takes the one kind its non-null options share, else text; several non-null types are a number
    when all are numeric, JSON when one is an object or array, else text.
    """
    if not isinstance(schema, dict):
        return STRING
    options = schema.get("anyOf")
    if isinstance(options, list):
        kinds = {kind_of(o) for o in options if isinstance(o, dict) and _types(o)}
        if len(kinds) == 1:
            return kinds.pop()
        if kinds <= {STRING, TIMESTAMP}:
            dated = any(isinstance(o, dict) and o.get("format") == "date-time" for o in options)
            return TIMESTAMP if dated else STRING
        return STRING
    types = _types(schema)
    if not types:
        return JSON if "properties" in schema or "items" in schema else STRING
    if len(types) > 1:
        if set(types) <= {"integer", "number"}:
            return NUMBER
        return JSON if set(types) & {"object", "array"} else STRING
    plain = {"integer": INTEGER, "number": NUMBER, "boolean": BOOLEAN, "object": JSON, "array": JSON}
    kind = plain.get(types[0])
    if kind is not None:
        return kind
    return {"date-time": TIMESTAMP, "date": DATE}.get(schema.get("format"), STRING)  # type: ignore[arg-type]

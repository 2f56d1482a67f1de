"""The storage contract: what target-oracle stores for each JSON Schema type, read from storage_contract.json.

Why here: the mapper passes a record only if the target will store it as it is, so its schema check enforces
the same table the target builds its columns from. The file is the target's (the package holds a link to it,
built into the wheel as a copy); this module reads it once and names its limits and refusal reasons.

Which of the contract's kinds a property becomes is `storage_contract.kind_for_schema`, the target's own
function (the package holds a link to its module, as to the JSON file).
"""

from __future__ import annotations

import dataclasses
import json

from mapper_wms_validate.storage_contract import contract
from mapper_wms_validate.storage_contract import kind_for_schema as kind_of

__all__ = ["kind_of", "load"]


@dataclasses.dataclass(frozen=True)
class Contract:
    """The limits and refusal reasons of storage_contract.json that the mapper enforces."""

    integer_precision: int
    number_precision: int
    number_scale: int
    fraction_digits: int
    #: UTF-8 bytes a key's text may hold (VARCHAR2(4000 BYTE): a CLOB cannot be in Oracle's primary key)
    string_max_bytes: int
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
    data = contract() if text is None else json.loads(text)
    kinds = data["kinds"]
    return Contract(
        integer_precision=kinds["integer"]["precision"],
        number_precision=kinds["number"]["precision"],
        number_scale=kinds["number"]["scale"],
        fraction_digits=kinds["timestamp"]["fraction_digits"],
        string_max_bytes=kinds["string"]["max_bytes"],
        reasons={name: dict(kind.get("refuses") or {}) for name, kind in kinds.items()},
    )

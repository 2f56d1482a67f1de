"""The storage contract (``storage_contract.json``): what is stored per JSON Schema type, and what is refused.

The JSON file is the one table, shared with mapper-wms-validate (its copy is a link to this file). This
module reads it once; whether one value of one column kind is stored exactly and, if not, the contract's
reason is ``storage_contract.refusal``, the one definition the mapper applies too. A refused value stops
the run; nothing is rounded, clipped or truncated.
"""

from __future__ import annotations

import typing as t

from target_oracle.storage_contract import (
    BOOLEAN,
    CLOB,
    DATE,
    DATE_FORM,
    INTEGER,
    JSON,
    NUMBER,
    STRING,
    TIMESTAMP,
    contract,
    datetime_form,
)

# the shared rules of which values a kind stores, used by the target as by the mapper
from target_oracle.storage_contract import parse_timestamp as parse_timestamp
from target_oracle.storage_contract import refusal as refusal

__all__ = ["BOOLEAN", "CLOB", "DATE", "INTEGER", "JSON", "NUMBER", "STRING", "TIMESTAMP", "contract"]


def kind(name: str) -> dict[str, t.Any]:
    """One kind's entry (``oracle``, ``duckdb``, ``precision``, ``scale``, ``refuses``, ...)."""
    return contract()["kinds"][name]


def reason(kind_name: str, key: str) -> str:
    """The contract's message for a refusal."""
    return kind(kind_name)["refuses"][key]


NUMBER_PRECISION: int = kind(NUMBER)["precision"]
NUMBER_SCALE: int = kind(NUMBER)["scale"]
INTEGER_PRECISION: int = kind(INTEGER)["precision"]
VARCHAR_MAX_BYTES: int = kind(STRING)["max_bytes"]
FRACTION_DIGITS: int = kind(TIMESTAMP)["fraction_digits"]
IDENTIFIER_MAX_BYTES: int = contract()["names"]["identifier_max_bytes"]

#: SQL (DuckDB regex) of the raw JSON text of a value that is surely stored exactly; any other value is
#: checked in Python by ``refusal`` (DuckDB's JSON reader may print a number in another form, e.g. 1e-12).
#: A date-time needs its offset here: one without is checked (and warned about) in Python.
EXACT_TEXT = {
    INTEGER: rf"-?[0-9]{{1,{INTEGER_PRECISION}}}",
    NUMBER: rf"-?[0-9]{{1,{NUMBER_PRECISION - NUMBER_SCALE}}}(\.[0-9]{{1,{NUMBER_SCALE}}})?",
    TIMESTAMP: datetime_form(f"{{1,{FRACTION_DIGITS}}}", offset=""),
    DATE: DATE_FORM,
}


def markdown_table() -> str:
    """The contract as the Markdown table docs/data-contract.md shows (a test keeps the two equal)."""
    lines = [
        "| kind | JSON Schema | Oracle | DuckDB | stores | refused (run stops) |",
        "|---|---|---|---|---|---|",
    ]
    for name, entry in contract()["kinds"].items():
        refuses = "; ".join(entry["refuses"].values()) or "nothing"
        cells = [
            name,
            entry["json_schema"],
            f"`{entry['oracle']}`",
            f"`{entry['duckdb']}`",
            entry["stores"],
            refuses,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    names = contract()["names"]
    lines.append("")
    lines.append(
        f"Names: {names['property_names']}; identifiers at most {names['identifier_max_bytes']} bytes; "
        f"properties starting with `{names['metadata_prefix']}` named like a metadata column are refused."
    )
    return "\n".join(lines)

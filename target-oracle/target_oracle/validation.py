"""Record validation compiled once per stream (fastjsonschema), as the SDK's ``get_validator`` hook suggests.

The SDK's default validator walks the schema with ``jsonschema`` for every record; in profiles that was
three quarters of the target's time. fastjsonschema generates Python code for the schema once, so validation
keeps its meaning (types, required, enums, nested objects) at a fraction of the cost. Formats are not checked
here: date and date-time values are parsed right after validation, and a bad one fails there.
"""

from __future__ import annotations

import decimal
import typing as t

import fastjsonschema
from singer_sdk.exceptions import InvalidJSONSchema, InvalidRecord
from singer_sdk.sinks.core import BaseJSONSchemaValidator


def _without_formats(schema: t.Any) -> t.Any:
    """Copy of ``schema`` without ``format`` keywords (fastjsonschema would check them as strings)."""
    if isinstance(schema, dict):
        return {key: _without_formats(value) for key, value in schema.items() if key != "format"}
    if isinstance(schema, list):
        return [_without_formats(item) for item in schema]
    return schema


def _as_floats(value: t.Any) -> t.Any:
    """Copy of ``value`` (a schema or a record) with its decimals as floats."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dict):
        return {key: _as_floats(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_floats(item) for item in value]
    return value


def _holds_decimal(value: t.Any) -> bool:
    """True when ``value`` (a schema) holds a decimal anywhere."""
    if isinstance(value, decimal.Decimal):
        return True
    if isinstance(value, dict):
        return any(_holds_decimal(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_decimal(item) for item in value)
    return False


class CompiledValidator(BaseJSONSchemaValidator):
    """Validate records with a schema compiled to Python once per sink."""

    def __init__(
        self, schema: dict[str, t.Any], where: t.Callable[[dict, str | None], str] | None = None
    ) -> None:
        super().__init__(schema)
        #: (record, field or None) -> where a bad value is (``Stream 's', key id=3, field 'qty'``)
        self._where = where
        #: top-level properties that may be integers: a number with no fractional part (1.0) is one there
        self._integers = [
            name
            for name, prop in (schema.get("properties") or {}).items()
            if "integer" in (prop.get("type") if isinstance(prop.get("type"), list) else [prop.get("type")])
        ]
        compiled = _without_formats(schema)
        #: the schema holds decimals (``"minimum": 0.1``, ``"multipleOf": 0.01``, an ``enum`` of them; a
        #: SCHEMA message is read with exact numbers): fastjsonschema writes them into its code as float
        #: literals, which a Decimal value compares with exactly (0.1 < 0.1000000000000000055), and its
        #: multipleOf check cannot divide a Decimal. Records are then checked with their decimals as floats,
        #: like the schema's (what is stored is checked exactly afterwards, by the storage contract).
        self._floats = _holds_decimal(compiled)
        try:
            self._validate = fastjsonschema.compile(_as_floats(compiled), use_default=False)
        except fastjsonschema.JsonSchemaDefinitionException as exc:
            msg = f"Schema Validation Error: {exc}"
            raise InvalidJSONSchema(msg) from exc

    def validate(self, record: dict[str, t.Any]) -> None:
        """Raise ``InvalidRecord`` naming the stream, the key and the field (``Stream 's', key id=3, field
        'qty': data.qty must be number``). An integral decimal in an integer property (``1.0``) becomes that
        integer first, as the storage contract stores it."""
        for name in self._integers:
            value = record.get(name)
            if isinstance(value, decimal.Decimal) and value.is_finite() and value == int(value):
                record[name] = int(value)
        try:
            self._validate(_as_floats(record) if self._floats else record)
        except fastjsonschema.JsonSchemaValueException as exc:
            message = exc.message
            if self._where is not None:
                field = ".".join(str(part) for part in exc.path[1:]) or None  # path: ["data", "qty"]
                message = f"{self._where(record, field)}: {message}"
            raise InvalidRecord(message, record) from exc

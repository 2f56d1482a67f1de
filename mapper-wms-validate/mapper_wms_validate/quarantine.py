"""The quarantine stream (docs/data-contract.md section 3): its SCHEMA and the records built for rejects.

Why a stream rather than a file: the target loads `<stream><suffix>` like any other table, so what was
rejected, and why, is one SQL query away, next to the data that passed.
"""

from __future__ import annotations

import copy
import hashlib
import typing as t
from datetime import datetime, timezone

import msgspec
from singer_sdk import singerlib as singer

from mapper_wms_validate.schema_check import property_check

QUARANTINE_FIELDS = ("record_hash", "record", "violations", "rule_names", "rejected_at")

# Canonical JSON for the record hash: keys sorted at every level, no whitespace, decimals written with the
# digits they arrived with. The same record (same stream, same values) always gets the same hash.
_canonical = msgspec.json.Encoder(
    order="sorted",
    decimal_format="number",
    enc_hook=lambda obj: obj.isoformat() if hasattr(obj, "isoformat") else str(obj),
)

VIOLATION_SCHEMA = {
    "type": "object",
    "properties": {
        "rule": {"type": "string"},
        "check": {"type": "string"},
        "field": {"type": ["string", "null"]},
        "message": {"type": "string"},
    },
}


class QuarantineSchemaError(ValueError):
    """The source stream's key properties cannot be carried into the quarantine stream."""


def record_hash(stream: str, record: dict) -> str:
    """SHA-256 hex of the UTF-8 stream name, a newline, and the record's canonical JSON."""
    digest = hashlib.sha256(stream.encode())
    digest.update(b"\n")
    digest.update(_canonical.encode(record))
    return digest.hexdigest()


def _nullable(prop_schema: t.Any) -> dict:
    """The key property's schema with null allowed (a rejected record's key may be missing or mistyped)."""
    prop = copy.deepcopy(prop_schema) if isinstance(prop_schema, dict) else {}
    declared = prop.get("type")
    if isinstance(declared, str):
        prop["type"] = [declared, "null"] if declared != "null" else "null"
    elif isinstance(declared, list) and "null" not in declared:
        prop["type"] = [*declared, "null"]
    elif "anyOf" in prop and not any(s.get("type") == "null" for s in prop["anyOf"] if isinstance(s, dict)):
        prop["anyOf"] = [*prop["anyOf"], {"type": "null"}]
    return prop


class QuarantineStream:
    """Everything about one source stream's quarantine stream, rebuilt whenever the source SCHEMA changes."""

    def __init__(self, source_stream: str, suffix: str, schema: dict, key_properties: list[str]) -> None:
        self.source_stream = source_stream
        self.name = source_stream + suffix
        clash = [k for k in key_properties if k in QUARANTINE_FIELDS]
        if clash:
            msg = (
                f"stream {source_stream!r}: key properties {clash} clash with the "
                f"quarantine stream's own columns {list(QUARANTINE_FIELDS)}; rename the key in the tap"
            )
            raise QuarantineSchemaError(msg)
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        self.key_properties = list(key_properties)
        key_schemas = {k: _nullable(properties.get(k, {})) for k in key_properties}
        # A key value is copied only when it fits its declared type and the storage contract; otherwise the
        # column is null (the original is still in `record`), so a mistyped or unstorable key never makes
        # the target reject the quarantine row.
        self._key_checks = [(k, property_check(properties.get(k), k, key=True)) for k in key_properties]
        self.schema_message = singer.SchemaMessage(
            stream=self.name,
            schema={
                "type": "object",
                "properties": {
                    "record_hash": {"type": "string"},
                    **key_schemas,
                    "record": {"type": "object"},
                    "violations": {"type": "array", "items": VIOLATION_SCHEMA},
                    "rule_names": {"type": "string"},
                    "rejected_at": {"type": "string", "format": "date-time"},
                },
                "required": ["record_hash", "record", "violations", "rule_names", "rejected_at"],
            },
            key_properties=["record_hash"],
        )

    def key_of(self, record: dict) -> dict[str, t.Any]:
        """The source key properties of `record`, each null when missing, not of its declared type or not
        storable."""
        key: dict[str, t.Any] = {}
        for name, check in self._key_checks:
            value = record.get(name)
            key[name] = value if value is None or check is None or check(value) is None else None
        return key

    def record_message(self, message: dict, violations: list[dict]) -> singer.RecordMessage:
        """The quarantine RECORD message for a rejected source RECORD message (its `time_extracted`
        kept when it is an ISO-8601 time with an offset, as the Singer spec has it)."""
        record = message["record"]
        rule_names: list[str] = []
        for violation in violations:
            if violation["rule"] not in rule_names:
                rule_names.append(violation["rule"])
        return singer.RecordMessage(
            stream=self.name,
            record={
                "record_hash": record_hash(self.source_stream, record),
                **self.key_of(record),
                "record": record,
                "violations": violations,
                "rule_names": ",".join(rule_names),
                "rejected_at": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
            },
            time_extracted=_time_extracted(message.get("time_extracted")),
        )


def _time_extracted(value: t.Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None

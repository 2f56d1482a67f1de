"""Entity list and describe payloads -> stream names, JSON Schemas and record-shaping plans.

The describe format is not settled by any source (see the API notes): type names come in several
naming schemes and `required` as a boolean or an X/Y/N/C code. Everything here is tolerant: an
unknown type becomes a string column with a warning, never a failed discovery.
"""

from __future__ import annotations

import logging
import re
import typing as t
from dataclasses import dataclass, field

from tap_oracle_wms.shaping import DECIMAL, DROP, FOREIGN_KEY, PLAIN, TIMESTAMP, key_column

KEY_PROPERTY = "id"
REPLICATION_KEY = "mod_ts"
# `*_id` fields that are plain integers, not foreign-key objects (data contract section 1).
PLAIN_ID_FIELDS = frozenset({"id", "status_id"})

_INTEGER = {
    "integer", "int", "bigint", "smallint", "tinyint", "long", "short", "int64", "int32", "serial",
    "bigserial", "pk", "primarykey", "auto", "bigauto", "smallauto", "positiveinteger",
    "positivesmallinteger", "positivebiginteger", "biginteger", "smallinteger", "id",
}  # fmt: skip
_DECIMAL = {"decimal", "numeric", "number", "float", "double", "real", "money", "currency", "quantity"}
_TIMESTAMP = {
    "datetime", "timestamp", "timestamptz", "datetimetz", "timestampwithtimezone",
    "timestampwithlocaltimezone", "timestampwithouttimezone", "instant",
}  # fmt: skip
_DATE = {"date"}
_BOOLEAN = {"boolean", "bool", "flag", "nullboolean", "bit", "yn"}
_STRING = {
    "string", "str", "char", "character", "varchar", "varchar2", "nvarchar", "nvarchar2", "text",
    "clob", "nclob", "email", "url", "slug", "uuid", "time", "ipaddress", "genericipaddress",
    "filepath", "file", "image", "charactervarying",
}  # fmt: skip
_RELATION = {
    "relation", "foreignkey", "fk", "fkey", "reference", "ref", "related", "manytoone", "onetoone",
    "relatedfield", "link", "object",
}  # fmt: skip
_COLLECTION = {"set", "manytomany", "onetomany", "reverse", "relatedset", "list", "array", "reverserelation"}

# Checked in this order: the first set holding the normalised type name gives the kind.
_KIND_BY_TOKEN: dict[str, str] = {}
for _kind, _names in (
    ("relation", _RELATION),
    ("collection", _COLLECTION),
    ("integer", _INTEGER),
    ("decimal", _DECIMAL),
    ("timestamp", _TIMESTAMP),
    ("date", _DATE),
    ("boolean", _BOOLEAN),
    ("string", _STRING),
):
    for _name in _names:
        _KIND_BY_TOKEN.setdefault(_name, _kind)

_REQUIRED_TRUE = {"true", "y", "yes", "x", "1", "t", "required", "mandatory"}
_REQUIRED_FALSE = {"false", "n", "no", "c", "0", "f", "", "none", "optional"}
_NORMALISE = re.compile(r"[^a-z0-9]")


@dataclass
class EntityDescription:
    """What discovery learned about one entity: its JSON Schema and how to shape its records."""

    name: str
    schema: dict[str, t.Any]
    plan: dict[str, int]
    required: list[str] = field(default_factory=list)

    @property
    def replication_key(self) -> str | None:
        """`mod_ts` when the entity has it (incremental), else None (full table)."""
        return REPLICATION_KEY if REPLICATION_KEY in self.plan else None


def normalise_type_name(raw: t.Any) -> str:
    """`"DateTimeField"`, `"timestamp with time zone"`, `"NUMBER(10,2)"` -> comparable tokens."""
    text = str(raw).strip().lower()
    text = text.split("(", 1)[0]
    text = _NORMALISE.sub("", text)
    if text.endswith("field") and len(text) > len("field"):
        text = text[: -len("field")]
    return text


def parse_required(raw: t.Any) -> bool | None:
    """`required` as a boolean or one of the guide's codes (Y/X required; N/C not); None if unknown."""
    if isinstance(raw, bool):
        return raw
    if raw is None:
        return False
    text = str(raw).strip().lower()
    if text in _REQUIRED_TRUE:
        return True
    if text in _REQUIRED_FALSE:
        return False
    return None


def entity_names_from_listing(payload: t.Any) -> list[str]:
    """Entity names from `/entity/`: a flat `{name: url}` object (seen on a tenant), a list of
    names, or a list/`results` of objects with a `name`/`entity` key."""
    if isinstance(payload, dict):
        if isinstance(payload.get("results"), list):
            return entity_names_from_listing(payload["results"])
        if isinstance(payload.get("entities"), list | dict):
            return entity_names_from_listing(payload["entities"])
        skip = {"result_count", "page_count", "page_nbr", "next_page", "previous_page"}
        return sorted(k for k in payload if k not in skip)
    if isinstance(payload, list):
        names = []
        for item in payload:
            if isinstance(item, str):
                names.append(item)
            elif isinstance(item, dict):
                name = item.get("name") or item.get("entity") or item.get("entity_name")
                if name:
                    names.append(str(name))
        return sorted(names)
    raise ValueError(f"Unexpected entity list payload of type {type(payload).__name__}")


def _field_items(payload: t.Any) -> list[tuple[str, dict[str, t.Any]]]:
    """(name, properties) pairs from the describe payload's `fields` in any plausible layout."""
    fields = payload.get("fields") if isinstance(payload, dict) else None
    if fields is None and isinstance(payload, dict):
        fields = {k: v for k, v in payload.items() if isinstance(v, dict) and k != "parameters"}
    if isinstance(payload, list):
        fields = payload
    items: list[tuple[str, dict[str, t.Any]]] = []
    if isinstance(fields, dict):
        for name, props in fields.items():
            items.append((str(name), props if isinstance(props, dict) else {"type": props}))
    elif isinstance(fields, list):
        for entry in fields:
            if isinstance(entry, dict) and (entry.get("name") or entry.get("field")):
                items.append((str(entry.get("name") or entry.get("field")), entry))
            elif isinstance(entry, str):
                items.append((entry, {}))
    return items


def _type_of(props: dict[str, t.Any]) -> t.Any:
    for key in ("type", "data_type", "datatype", "field_type", "db_type", "internal_type"):
        if key in props:
            return props[key]
    return None


def classify(name: str, raw_type: t.Any) -> str | None:
    """Logical kind of one described field: integer, decimal, timestamp, date, boolean, string,
    relation or collection; None when the type name is not recognised."""
    if name.endswith("_set"):
        return "collection"
    token = normalise_type_name(raw_type) if raw_type is not None else ""
    kind = _KIND_BY_TOKEN.get(token)
    if kind is None:
        return None
    # Schemes that call every number "NUMBER" say nothing about ids: `*_id` fields are foreign
    # keys (objects on the wire) except the plain-integer ones (contract section 1).
    if name in PLAIN_ID_FIELDS and kind in ("integer", "decimal", "relation"):
        return "integer"
    if kind in ("integer", "decimal") and name.endswith("_id"):
        return "relation"
    return kind


def _nullable(json_type: str, **extra: t.Any) -> dict[str, t.Any]:
    return {"type": [json_type, "null"], **extra}


def describe_to_entity(name: str, payload: t.Any, logger: logging.Logger) -> EntityDescription:
    """Build the stream schema and shaping plan from one describe payload."""
    properties: dict[str, t.Any] = {}
    plan: dict[str, int] = {}
    required: list[str] = []
    for field_name, props in _field_items(payload):
        raw_type = _type_of(props)
        kind = classify(field_name, raw_type)
        if field_name == REPLICATION_KEY and kind != "timestamp":
            # Its values become the bookmark, compared as UTC text with the sync's start (the SDK's
            # signpost), and its filters are timestamps: kept as served (`-03:00`), they defeat both.
            logger.warning(
                "Entity '%s': describe gives the replication key '%s' the type %r; it is read as a timestamp",
                name,
                field_name,
                raw_type,
            )
            kind = "timestamp"
        if kind is None:
            if field_name.endswith("_id") and field_name not in PLAIN_ID_FIELDS:
                kind = "relation"
            else:
                kind = "string"
            logger.warning(
                "Entity '%s', field '%s': unknown describe type %r, emitted as %s",
                name,
                field_name,
                raw_type,
                "a foreign key" if kind == "relation" else "a string",
            )
        is_required = parse_required(props.get("required"))
        if is_required is None:
            logger.warning(
                "Entity '%s', field '%s': unknown 'required' value %r, read as not required",
                name,
                field_name,
                props.get("required"),
            )
        elif is_required:
            required.append(field_name)

        if kind == "collection":
            plan[field_name] = DROP
        elif kind == "relation":
            plan[field_name] = FOREIGN_KEY
            properties[field_name] = _nullable("integer")
            properties[key_column(field_name)] = _nullable("string")
        elif kind == "decimal":
            plan[field_name] = DECIMAL
            properties[field_name] = _nullable("number")
        elif kind == "timestamp":
            plan[field_name] = TIMESTAMP
            properties[field_name] = _nullable("string", format="date-time")
        elif kind == "date":
            plan[field_name] = PLAIN
            properties[field_name] = _nullable("string", format="date")
        elif kind == "integer":
            plan[field_name] = PLAIN
            properties[field_name] = _nullable("integer")
        elif kind == "boolean":
            plan[field_name] = PLAIN
            properties[field_name] = _nullable("boolean")
        else:
            plan[field_name] = PLAIN
            max_length = props.get("max_length")
            extra = {"maxLength": max_length} if isinstance(max_length, int) and max_length > 0 else {}
            properties[field_name] = _nullable("string", **extra)

    if not plan:
        raise ValueError(f"Entity '{name}': describe returned no fields")
    for field_name, kind in plan.items():
        if kind == FOREIGN_KEY and key_column(field_name) in plan:
            # One column would carry both values, one of them silently lost.
            raise ValueError(
                f"Entity '{name}': field '{key_column(field_name)}' has the name of the column that carries "
                f"the key of foreign key '{field_name}' (data contract: <field>_key); the two cannot both "
                "be emitted"
            )
    if KEY_PROPERTY not in plan:
        logger.warning("Entity '%s': describe does not list 'id'; adding it as the integer key", name)
        plan[KEY_PROPERTY] = PLAIN
    properties[KEY_PROPERTY] = {"type": ["integer"]}
    if REPLICATION_KEY not in plan:
        logger.warning("Entity '%s' has no 'mod_ts': it is synced as a full table", name)
    schema = {"type": "object", "properties": properties, "required": [KEY_PROPERTY]}
    return EntityDescription(name=name, schema=schema, plan=plan, required=required)

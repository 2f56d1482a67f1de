"""Field lists of the served entities and their `describe` documents in several naming schemes.

The describe type names of the real API are unconfirmed, so the simulator can serve each plausible
scheme (`describe_variant`) and `required` as booleans or Y/N codes (`required_style`); the tap
must cope with all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

# kind -> type name, per describe variant. "odd" marks fields whose type name no scheme knows,
# so a tap's fallback-to-string path is exercised by every variant.
TYPE_NAMES: dict[str, dict[str, str]] = {
    "simple": {
        "pk": "pk",
        "int": "integer",
        "decimal": "decimal",
        "datetime": "datetime",
        "bool": "boolean",
        "str": "varchar",
        "fk": "relation",
        "set": "reverse_relation",
        "url": "varchar",
        "odd": "locn_str",
    },
    "alt": {
        "pk": "number",
        "int": "number",
        "decimal": "number",
        "datetime": "date-time",
        "bool": "bool",
        "str": "string",
        "fk": "foreign_key",
        "set": "related_set",
        "url": "text",
        "odd": "wms_location_path",
    },
    "oracle": {
        "pk": "NUMBER",
        "int": "NUMBER",
        "decimal": "NUMBER",
        "datetime": "TIMESTAMP WITH TIME ZONE",
        "bool": "BOOLEAN",
        "str": "VARCHAR2",
        "fk": "RELATION",
        "set": "SET",
        "url": "VARCHAR2",
        "odd": "LOCN_STR",
    },
}
DESCRIBE_VARIANTS = tuple(TYPE_NAMES)
REQUIRED_STYLES = ("bool", "code")


@dataclass(frozen=True)
class Field:
    """One served field: `kind` drives generation, filtering, ordering and describe."""

    name: str
    kind: str
    required: bool = False
    max_length: int | None = None
    allow_blank: bool = False
    default: object = None
    target: str | None = None  # related entity of a foreign key / *_set field

    @property
    def value_kind(self) -> str:
        """The kind of the served value (an `odd` field is a string)."""
        return "str" if self.kind in ("odd", "url") else self.kind


def _f(name: str, kind: str, **kw: object) -> Field:
    return Field(name, kind, **kw)  # type: ignore[arg-type]


_AUDIT = [
    _f("create_user", "str", max_length=25, allow_blank=True, default=""),
    _f("create_ts", "datetime", required=True),
    _f("mod_user", "str", max_length=25, allow_blank=True, default=""),
    _f("mod_ts", "datetime", required=True),
]

FIELDS: dict[str, list[Field]] = {
    "facility": [
        _f("id", "pk", required=True),
        _f("url", "url"),
        *_AUDIT,
        _f("code", "str", required=True, max_length=10),
        _f("name", "str", required=True, max_length=100),
        _f("time_zone", "str", max_length=50, allow_blank=True, default=""),
        _f("is_active", "bool", required=True, default=True),
    ],
    "company": [
        _f("id", "pk", required=True),
        _f("url", "url"),
        *_AUDIT,
        _f("code", "str", required=True, max_length=10),
        _f("name", "str", required=True, max_length=100),
        _f("parent_company_id", "fk", target="company"),
    ],
    "item": [
        _f("id", "pk", required=True),
        _f("url", "url"),
        *_AUDIT,
        _f("company_id", "fk", required=True, target="company"),
        _f("code", "str", required=True, max_length=25),
        _f("description", "str", max_length=255, allow_blank=True, default=""),
        _f("unit_cost", "decimal", default="0"),
        _f("unit_weight", "decimal", default="0"),
        _f("is_serial_tracked", "bool", required=True, default=False),
    ],
    "order_hdr": [
        _f("id", "pk", required=True),
        _f("url", "url"),
        *_AUDIT,
        _f("facility_id", "fk", required=True, target="facility"),
        _f("company_id", "fk", required=True, target="company"),
        _f("order_nbr", "str", required=True, max_length=50),
        _f("status_id", "int", required=True, default=0),
        _f("type_id", "fk", required=True, target="order_type"),
        _f("ship_via_id", "fk", target="ship_via"),
        _f("order_shipped_ts", "datetime"),
        _f("erp_source_hdr_ref", "str", max_length=100, allow_blank=True, default=""),
        _f("cust_name", "str", max_length=100, allow_blank=True, default=""),
        _f("cust_nbr", "str", max_length=50, allow_blank=True, default=""),
        _f("ord_date", "datetime"),
        _f("priority", "int", default=0),
        _f("total_orig_ord_qty", "decimal", default="0"),
        _f("is_back_ordered", "bool", required=True, default=False),
        _f("dest_facility_id", "fk", target="facility"),
        _f("order_dtl_set", "set", target="order_dtl"),
        _f("order_lock_set", "set", target="order_lock"),
    ],
    "order_dtl": [
        _f("id", "pk", required=True),
        _f("url", "url"),
        *_AUDIT,
        _f("order_id", "fk", required=True, target="order_hdr"),
        _f("seq_nbr", "int", required=True),
        _f("item_id", "fk", required=True, target="item"),
        _f("ord_qty", "decimal", required=True, default="0"),
        _f("orig_ord_qty", "decimal", default="0"),
        _f("alloc_qty", "decimal", default="0"),
        _f("unit_cost", "decimal", allow_blank=True),
        _f("erp_source_line_ref", "str", max_length=100, allow_blank=True, default=""),
        _f("status_id", "int", required=True, default=0),
        _f("uom_id", "fk", target="uom"),
        _f("is_back_ordered", "bool", required=True, default=False),
    ],
    "allocation": [
        _f("id", "pk", required=True),
        *_AUDIT,
        _f("order_dtl_id", "fk", required=True, target="order_dtl"),
        _f("from_inventory_id", "fk", target="inventory"),
        _f("to_inventory_id", "fk", target="inventory"),
        _f("status_id", "int", required=True, default=0),
        _f("alloc_qty", "decimal", required=True, default="0"),
        _f("packed_qty", "decimal", default="0"),
        _f("type_id", "fk", required=True, target="allocation_type"),
        _f("wave_id", "fk", target="wave"),
        _f("task_id", "fk", target="task"),
        _f("alloc_uom_id", "fk", target="uom"),
        _f("cartonize_uom_id", "fk", target="uom"),
        _f("task_seq_nbr", "int", default=0),
        _f("ob_lpn_type_id", "fk", target="container_type"),
        _f("mhe_system_id", "fk", target="mhe_system"),
        _f("pick_user", "str", max_length=25, allow_blank=True, default=""),
        _f("picked_ts", "datetime"),
        _f("pick_locn_str", "odd", max_length=100, allow_blank=True, default=""),
        _f("final_oblpn_nbr", "str", max_length=50, allow_blank=True, default=""),
        _f("is_picking_flg", "bool", required=True, default=False),
    ],
}
FIELD_MAP: dict[str, dict[str, Field]] = {e: {f.name: f for f in fs} for e, fs in FIELDS.items()}

# Related entities that are not served: their foreign-key urls are "" (as a tenant does for entities
# the user cannot reach), or point at an entity path that is simply not in the entity list.
UNEXPOSED_EMPTY_URL = {"allocation_type", "order_type", "mhe_system"}

# Filters that reach the facility/company through the parent order (allocation and order_dtl carry
# no facility_id/company_id of their own).
DERIVED_PARAMETERS = {
    "order_dtl": ["facility_id", "facility_id__code", "company_id", "company_id__code"],
    "allocation": [
        "facility_id",
        "facility_id__code",
        "company_id",
        "company_id__code",
        "order_dtl_id__order_id",
    ],
}


def describe(entity: str, variant: str, required_style: str) -> dict:
    """The `describe` document for one entity."""
    names = TYPE_NAMES[variant]
    fields = {}
    for f in FIELDS[entity]:
        meta: dict[str, object] = {
            "type": names[f.kind],
            "required": f.required if required_style == "bool" else ("Y" if f.required else "N"),
        }
        if f.max_length is not None:
            meta["max_length"] = f.max_length
        meta["allow_blank"] = f.allow_blank
        meta["default"] = f.default
        fields[f.name] = meta
    params = [f.name for f in FIELDS[entity] if f.kind not in ("set", "url")]
    params += DERIVED_PARAMETERS.get(entity, [])
    return {"parameters": params, "fields": fields}

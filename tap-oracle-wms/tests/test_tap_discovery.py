"""Describe payloads in every plausible form become stream schemas; nothing crashes discovery."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from tap_oracle_wms.discovery import (
    classify,
    describe_to_entity,
    entity_names_from_listing,
    normalise_type_name,
    parse_required,
)
from tap_oracle_wms.shaping import DECIMAL, DROP, FOREIGN_KEY, PLAIN, TIMESTAMP, RecordShaper

LOG = logging.getLogger("test")
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    ("raw", "name", "kind"),
    [
        ("integer", "task_seq_nbr", "integer"),
        ("IntegerField", "task_seq_nbr", "integer"),
        ("pk", "id", "integer"),
        ("AutoField", "id", "integer"),
        ("decimal", "alloc_qty", "decimal"),
        ("DecimalField", "alloc_qty", "decimal"),
        ("NUMBER(10,2)", "alloc_qty", "decimal"),
        ("number", "alloc_qty", "decimal"),
        ("datetime", "mod_ts", "timestamp"),
        ("DateTimeField", "mod_ts", "timestamp"),
        ("timestamp with time zone", "mod_ts", "timestamp"),
        ("date-time", "mod_ts", "timestamp"),
        ("boolean", "is_picking_flg", "boolean"),
        ("BooleanField", "is_picking_flg", "boolean"),
        ("varchar", "pick_locn_str", "string"),
        ("VARCHAR2(40)", "pick_locn_str", "string"),
        ("text", "pick_locn_str", "string"),
        ("CharField", "pick_locn_str", "string"),
        ("relation", "order_dtl_id", "relation"),
        ("ForeignKey", "order_dtl_id", "relation"),
        ("integer", "order_dtl_id", "relation"),
        ("integer", "status_id", "integer"),
        ("NUMBER", "status_id", "integer"),
        ("NUMBER", "id", "integer"),
        ("number", "order_dtl_id", "relation"),
        ("foreign_key", "order_dtl_id", "relation"),
        ("TIMESTAMP WITH TIME ZONE", "mod_ts", "timestamp"),
        ("reverse_relation", "order_dtl_set", "collection"),
        ("related_set", "x", "collection"),
        ("locn_str", "pick_locn_str", None),
        ("set", "order_dtl_set", "collection"),
        ("relation", "order_dtl_set", "collection"),
        ("hologram", "x", None),
    ],
)
def test_tap_type_names_in_several_schemes(raw, name, kind):
    assert classify(name, raw) == kind


def test_tap_normalise_type_name():
    assert normalise_type_name("DateTimeField") == "datetime"
    assert normalise_type_name(" Timestamp With Time Zone ") == "timestampwithtimezone"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (True, True),
        (False, False),
        ("Y", True),
        ("N", False),
        ("X", True),
        ("C", False),
        (None, False),
        ("?", None),
    ],
)
def test_tap_required_as_bool_or_code(raw, expected):
    assert parse_required(raw) is expected


def test_tap_entity_listing_forms():
    assert entity_names_from_listing({"b": "https://x/b/", "a": "https://x/a/"}) == ["a", "b"]
    assert entity_names_from_listing(["b", "a"]) == ["a", "b"]
    assert entity_names_from_listing({"results": [{"name": "a"}, {"entity": "b"}]}) == ["a", "b"]


def describe_payload(fields):
    return {"parameters": ["id", "mod_ts"], "fields": fields}


def test_tap_describe_builds_schema_and_plan(caplog):
    payload = describe_payload(
        {
            "id": {"type": "pk", "required": True},
            "mod_ts": {"type": "datetime", "required": "Y"},
            "order_dtl_id": {"type": "relation", "required": "X"},
            "alloc_qty": {"type": "decimal", "required": False},
            "pick_locn_str": {"type": "varchar", "max_length": 40, "required": "N"},
            "order_dtl_set": {"type": "set"},
            "weird": {"type": "hologram", "required": "C"},
        }
    )
    with caplog.at_level(logging.WARNING):
        entity = describe_to_entity("allocation", payload, LOG)
    props = entity.schema["properties"]
    assert props["id"] == {"type": ["integer"]}
    assert props["mod_ts"] == {"type": ["string", "null"], "format": "date-time"}
    assert props["order_dtl_id"] == {"type": ["integer", "null"]}
    assert props["order_dtl_id_key"] == {"type": ["string", "null"]}
    assert props["alloc_qty"] == {"type": ["number", "null"]}
    assert props["pick_locn_str"] == {"type": ["string", "null"], "maxLength": 40}
    assert props["weird"] == {"type": ["string", "null"]}
    assert "order_dtl_set" not in props
    assert entity.plan == {
        "id": PLAIN,
        "mod_ts": TIMESTAMP,
        "order_dtl_id": FOREIGN_KEY,
        "alloc_qty": DECIMAL,
        "pick_locn_str": PLAIN,
        "order_dtl_set": DROP,
        "weird": PLAIN,
    }
    assert entity.replication_key == "mod_ts"
    assert any("'weird'" in r.message and "hologram" in r.message for r in caplog.records)


def test_tap_describe_fields_as_list_and_missing_mod_ts():
    payload = {"fields": [{"name": "id", "data_type": "integer"}, {"name": "code", "data_type": "string"}]}
    entity = describe_to_entity("facility", payload, LOG)
    assert set(entity.schema["properties"]) == {"id", "code"}
    assert entity.replication_key is None


def test_tap_describe_without_fields_fails_clearly():
    with pytest.raises(ValueError, match="'empty': describe returned no fields"):
        describe_to_entity("empty", {"parameters": []}, LOG)


@pytest.mark.parametrize("order", ["foreign key first", "key column first"])
def test_tap_a_field_named_like_a_foreign_keys_key_column_fails_discovery(order):
    # `item_id` emits `item_id` and `item_id_key`: a described `item_id_key` field went into the same
    # column, and one of the two values was silently lost in every record.
    fields = {"id": {"type": "pk"}, "item_id": {"type": "relation"}, "item_id_key": {"type": "varchar"}}
    if order == "key column first":
        fields = dict(reversed(fields.items()))
    with pytest.raises(ValueError, match=r"'odd': field 'item_id_key' .* foreign key 'item_id'"):
        describe_to_entity("odd", {"fields": fields}, LOG)


@pytest.mark.parametrize("mod_ts_type", ["ZonedDateTime", "DATE", "varchar", None])
def test_tap_replication_key_of_another_described_type_is_read_as_a_timestamp(caplog, mod_ts_type):
    # The recorded describe with mod_ts typed otherwise (type names are unconfirmed): shaped as served,
    # its -03:00 values reached the bookmark and defeated the signpost cap (a text comparison).
    payload = json.loads((FIXTURES / "allocation_describe.json").read_text())
    payload["fields"]["mod_ts"]["type"] = mod_ts_type
    with caplog.at_level(logging.WARNING):
        entity = describe_to_entity("allocation", payload, LOG)
    assert entity.plan["mod_ts"] == TIMESTAMP
    assert entity.schema["properties"]["mod_ts"] == {"type": ["string", "null"], "format": "date-time"}
    assert any("replication key 'mod_ts'" in r.getMessage() for r in caplog.records)
    shaper = RecordShaper("allocation", entity.plan, LOG)
    page = shaper.decode_page(b'{"results": [{"id": 1, "mod_ts": "2025-05-31T21:00:01.831732-03:00"}]}')
    assert shaper.shape(page.results[0])["mod_ts"] == "2025-06-01T00:00:01.831732+00:00"

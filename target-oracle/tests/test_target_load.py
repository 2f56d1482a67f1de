"""What actually lands: values, types, names, batches, schema changes, versions.

Run on a DuckDB file always, and on a live Oracle when its variables are set (see conftest.py).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from target_oracle.errors import TargetError

ALLOCATION_PROPS = {
    "id": {"type": "integer"},
    "alloc_qty": {"type": ["number", "null"]},
    "order_dtl_id": {"type": ["integer", "null"]},
    "order_dtl_id_key": {"type": ["string", "null"]},
    "status_id": {"type": ["integer", "null"]},
    "mod_ts": {"type": ["string", "null"], "format": "date-time"},
}


def _alloc(i: int, qty: str = "16", ts: str = "2024-03-01T12:00:00.000001+00:00") -> dict:
    return {
        "id": i,
        "alloc_qty": Decimal(qty),
        "order_dtl_id": 100 + i,
        "order_dtl_id_key": f"DTL{i}",
        "status_id": 10,
        "mod_ts": ts,
    }


def _jsonable(record: dict) -> dict:
    return {key: float(v) if isinstance(v, Decimal) else v for key, v in record.items()}


def test_contract_names_allocation_into_oic_wms_allocation(sg, backend):
    sg.run(
        backend.config(prefix="WMS_"),
        sg.schema("allocation", ALLOCATION_PROPS),
        sg.record("allocation", _jsonable(_alloc(1))),
    )
    cols = backend.columns(f"{backend.prefix}WMS_ALLOCATION")
    assert list(cols)[:6] == ["ID", "ALLOC_QTY", "ORDER_DTL_ID", "ORDER_DTL_ID_KEY", "STATUS_ID", "MOD_TS"]
    assert set(list(cols)[6:]) == {
        "_SDC_EXTRACTED_AT",
        "_SDC_BATCHED_AT",
        "_SDC_RECEIVED_AT",
        "_SDC_DELETED_AT",
        "_SDC_SEQUENCE",
        "_SDC_TABLE_VERSION",
        "_SDC_SUPERSEDED_AT",
    }
    assert backend.rows("allocation", '"ID", "ORDER_DTL_ID_KEY", "MOD_TS"', prefix="WMS_") == [
        (1, "DTL1", dt.datetime(2024, 3, 1, 12, 0, 0, 1))
    ]


def test_values_types_nulls_unicode_big_numbers_objects_and_utc(sg, backend):
    props = {
        "id": {"type": "integer"},
        "big": {"type": ["integer", "null"]},
        "qty": {"type": ["number", "null"]},
        "name": {"type": ["string", "null"]},
        "flag": {"type": ["boolean", "null"]},
        "ts": {"type": ["string", "null"], "format": "date-time"},
        "day": {"type": ["string", "null"], "format": "date"},
        "obj": {"type": ["object", "null"], "properties": {}},
        "arr": {"type": ["array", "null"], "items": {}},
    }
    big = 2**70 + 1
    lines = (
        '{"type": "RECORD", "stream": "vals", "record": {"id": 1, "big": BIG, '
        '"qty": 12345678901234567890.1234567891, "name": "Grüße 東京 🚚", "flag": true, '
        '"ts": "2024-03-01T21:30:00.5-03:00", "day": "2024-02-29", '
        '"obj": {"a": 1.10, "b": {"c": "ü"}}, "arr": [1, "x", null]}}'.replace("BIG", str(big))
    )
    import io

    from target_oracle.target import TargetOracle

    target = TargetOracle(config=backend.config())
    schema = json.dumps(sg.schema("vals", props))
    null_rec = json.dumps(sg.record("vals", dict.fromkeys(props) | {"id": 2}))
    target.listen(file_input=io.StringIO(f"{schema}\n{lines}\n{null_rec}\n"))
    cols = '"ID", "BIG", "QTY", "NAME", "FLAG", "TS", "DAY", "OBJ", "ARR"'
    row1, row2 = backend.rows("vals", cols)
    assert int(row1[1]) == big
    assert Decimal(row1[2]) == Decimal("12345678901234567890.1234567891")
    assert row1[3] == "Grüße 東京 🚚"
    assert bool(row1[4]) is True
    assert row1[5] == dt.datetime(2024, 3, 2, 0, 30, 0, 500000)
    assert row1[6] in (dt.date(2024, 2, 29), dt.datetime(2024, 2, 29))
    assert json.loads(row1[7]) == {"a": 1.10, "b": {"c": "ü"}}
    assert json.loads(row1[8]) == [1, "x", None]
    assert row2 == (2, None, None, None, None, None, None, None, None)
    types = backend.columns(f"{backend.prefix}VALS")
    if backend.name == "duckdb":
        assert types["BIG"] == "DECIMAL(38,0)" and types["QTY"] == "DECIMAL(38,10)"
        assert types["OBJ"] == "JSON" and types["FLAG"] == "BOOLEAN" and types["TS"] == "TIMESTAMP"
    else:
        assert types["BIG"] == "NUMBER(38,0)" and types["QTY"] == "NUMBER(38,10)"
        assert types["OBJ"] == "CLOB" and types["FLAG"] == "NUMBER(1,0)"


def test_long_multibyte_strings_are_never_truncated(sg, backend):
    long_text = "é東" * 2500  # 5000 characters, 12500 UTF-8 bytes: over VARCHAR2's 4000 bytes
    sg.run(
        backend.config(),
        sg.schema("notes", {"id": {"type": "integer"}, "body": {"type": ["string", "null"]}}),
        sg.record("notes", {"id": 1, "body": "short"}),
        sg.record("notes", {"id": 2, "body": long_text}),
    )
    assert backend.rows("notes", '"ID", "BODY"') == [(1, "short"), (2, long_text)]
    if backend.name == "oracle":
        assert backend.columns(f"{backend.prefix}NOTES")["BODY"] == "CLOB"


def test_duplicate_keys_in_one_batch_last_record_wins(sg, backend):
    sg.run(
        backend.config(),
        sg.schema("allocation", ALLOCATION_PROPS),
        *[sg.record("allocation", _jsonable(_alloc(i % 3, qty=str(i)))) for i in range(9)],
    )
    assert backend.rows("allocation", '"ID", "ALLOC_QTY"') == [(0, 6), (1, 7), (2, 8)]


def test_reruns_are_idempotent(sg, backend):
    messages = [sg.schema("allocation", ALLOCATION_PROPS)] + [
        sg.record("allocation", _jsonable(_alloc(i, qty=f"{i}.5"))) for i in range(20)
    ]
    stable = '"ID", "ALLOC_QTY", "ORDER_DTL_ID", "ORDER_DTL_ID_KEY", "STATUS_ID", "MOD_TS"'
    sg.run(backend.config(batch_size_rows=7), *messages)
    first = backend.rows("allocation", stable)
    sg.run(backend.config(batch_size_rows=7), *messages)
    assert backend.rows("allocation", stable) == first
    assert len(first) == 20


def test_schema_change_mid_stream_adds_and_widens_columns(sg, backend):
    v1 = {"id": {"type": "integer"}, "qty": {"type": ["integer", "null"]}}
    v2 = {**v1, "qty": {"type": ["number", "null"]}, "note": {"type": ["string", "null"]}}
    sg.run(
        backend.config(),
        sg.schema("evolve", v1),
        sg.record("evolve", {"id": 1, "qty": 5}),
        sg.schema("evolve", v2),
        sg.record("evolve", {"id": 2, "qty": 2.75, "note": "new"}),
    )
    assert backend.rows("evolve", '"ID", "QTY", "NOTE"') == [(1, 5, None), (2, Decimal("2.75"), "new")]
    types = backend.columns(f"{backend.prefix}EVOLVE")
    assert types["QTY"] in {"DECIMAL(38,10)", "NUMBER(38,10)"}


def test_unsafe_type_change_fails_clearly_and_keeps_the_data(sg, backend):
    sg.run(
        backend.config(),
        sg.schema("narrow", {"id": {"type": "integer"}, "when": {"type": "string", "format": "date-time"}}),
        sg.record("narrow", {"id": 1, "when": "2024-01-01T00:00:00+00:00"}),
    )
    with pytest.raises(Exception, match=r"WHEN.*cannot be made without losing data"):
        sg.run(
            backend.config(),
            sg.schema("narrow", {"id": {"type": "integer"}, "when": {"type": "boolean"}}),
            sg.record("narrow", {"id": 2, "when": True}),
        )
    assert backend.rows("narrow", '"ID", "WHEN"') == [(1, dt.datetime(2024, 1, 1))]


def test_records_before_schema_fail_naming_the_stream(sg, backend):
    from singer_sdk.exceptions import RecordsWithoutSchemaException

    with pytest.raises(RecordsWithoutSchemaException, match="orphan"):
        sg.run(backend.config(), sg.record("orphan", {"id": 1}))


def test_reserved_words_leading_underscores_and_very_long_names(sg, backend):
    long_name = "a_property_name_that_goes_on_" * 8  # 232 characters
    props = {
        "id": {"type": "integer"},
        "select": {"type": ["string", "null"]},
        "_private": {"type": ["string", "null"]},
        "order date": {"type": ["string", "null"]},
        long_name: {"type": ["string", "null"]},
        long_name + "x": {"type": ["string", "null"]},
    }
    record = {
        "id": 1,
        "select": "s",
        "_private": "p",
        "order date": "d",
        long_name: "L1",
        long_name + "x": "L2",
    }
    sg.run(backend.config(), sg.schema("table", props), sg.record("table", record))
    sg.run(backend.config(), sg.schema("table", props), sg.record("table", record | {"select": "t"}))
    cols = list(backend.columns(f"{backend.prefix}TABLE"))
    long_cols = [c for c in cols if c.startswith("A_PROPERTY")]
    assert len(long_cols) == 2 and all(len(c.encode()) <= 128 for c in long_cols)
    assert {"SELECT", "_PRIVATE", "ORDER_DATE"} <= set(cols)
    assert len(cols) == len(set(cols)) == 6 + 7  # stable names: the re-run added no column
    assert backend.rows("table", '"SELECT", "_PRIVATE", "ORDER_DATE"') == [("t", "p", "d")]


def test_failure_mid_batch_rolls_the_whole_batch_back(sg, backend):
    props = {"id": {"type": "integer"}, "qty": {"type": ["integer", "null"]}}
    good = [sg.record("atomic", {"id": i, "qty": i}) for i in range(5)]
    bad_batch = [sg.record("atomic", {"id": i, "qty": i}) for i in range(5, 9)]
    bad_batch.insert(2, sg.record("atomic", {"id": 99, "qty": "not a number"}))
    cfg = backend.config(batch_size_rows=5, validate_records=False)
    sg.run(cfg, sg.schema("atomic", props), *good)
    with pytest.raises(Exception, match=r"rolled back"):
        sg.run(cfg, sg.schema("atomic", props), *[sg.record("atomic", {"id": 0, "qty": 1000})], *bad_batch)
    assert backend.rows("atomic", '"ID", "QTY"') == [(i, i) for i in range(5)]


def test_append_only_keeps_every_record(sg, backend):
    messages = [sg.schema("events", {"id": {"type": "integer"}, "v": {"type": "string"}})] + [
        sg.record("events", {"id": 1, "v": str(i)}) for i in range(3)
    ]
    sg.run(backend.config(load_method="append-only", add_record_metadata=False), *messages)
    assert backend.rows("events", '"ID", "V"', order='"V"') == [(1, "0"), (1, "1"), (1, "2")]


def test_overwrite_replaces_the_rows_of_earlier_runs(sg, backend):
    props = {"id": {"type": "integer"}, "v": {"type": "string"}}
    cfg = backend.config(load_method="overwrite", batch_size_rows=2)
    sg.run(cfg, sg.schema("snap", props), *[sg.record("snap", {"id": i, "v": "old"}) for i in range(5)])
    sg.run(cfg, sg.schema("snap", props), *[sg.record("snap", {"id": i, "v": "new"}) for i in (7, 8, 9)])
    assert backend.rows("snap", '"ID", "V"') == [(7, "new"), (8, "new"), (9, "new")]


@pytest.mark.parametrize("hard_delete", [False, True])
def test_activate_version_soft_and_hard_delete(sg, backend, hard_delete):
    props = {"id": {"type": "integer"}, "v": {"type": "string"}}
    cfg = backend.config(hard_delete=hard_delete)
    sg.run(
        cfg,
        sg.schema("versioned", props),
        {"type": "ACTIVATE_VERSION", "stream": "versioned", "version": 1},
        *[sg.record("versioned", {"id": i, "v": "v1"}, version=1) for i in range(4)],
        {"type": "ACTIVATE_VERSION", "stream": "versioned", "version": 1},
    )
    sg.run(
        cfg,
        sg.schema("versioned", props),
        {"type": "ACTIVATE_VERSION", "stream": "versioned", "version": 2},
        *[sg.record("versioned", {"id": i, "v": "v2"}, version=2) for i in (2, 3)],
        {"type": "ACTIVATE_VERSION", "stream": "versioned", "version": 2},
    )
    rows = backend.rows("versioned", '"ID", "V", "_SDC_TABLE_VERSION", "_SDC_DELETED_AT"')
    if hard_delete:
        assert [(r[0], r[1], r[2], r[3]) for r in rows] == [(2, "v2", 2, None), (3, "v2", 2, None)]
    else:
        assert [(r[0], r[1], r[2]) for r in rows] == [(0, "v1", 1), (1, "v1", 1), (2, "v2", 2), (3, "v2", 2)]
        assert [r[3] is not None for r in rows] == [True, True, False, False]


@pytest.mark.parametrize("hard_delete", [False, True])
def test_activate_version_without_record_metadata_fails_and_deletes_nothing(sg, backend, hard_delete):
    """Without add_record_metadata the rows carry no table version, so every row would count as older."""
    props = {"id": {"type": "integer"}, "v": {"type": "string"}}
    cfg = backend.config(hard_delete=hard_delete, add_record_metadata=False)
    with pytest.raises(TargetError, match=r"Stream 'plain': ACTIVATE_VERSION .* add_record_metadata"):
        sg.run(
            cfg,
            sg.schema("plain", props),
            *[sg.record("plain", {"id": i, "v": "v1"}, version=1) for i in range(3)],
            {"type": "ACTIVATE_VERSION", "stream": "plain", "version": 1},
        )
    assert backend.rows("plain", '"ID", "V"') == [(0, "v1"), (1, "v1"), (2, "v1")]
    assert "_SDC_DELETED_AT" not in backend.columns(f"{backend.prefix}PLAIN")

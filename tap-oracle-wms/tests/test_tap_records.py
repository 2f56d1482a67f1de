"""Record shaping follows docs/data-contract.md section 2 exactly."""

from __future__ import annotations

import decimal
import json
import logging

import pytest
from singer_sdk.singerlib.messages import RecordMessage, StateMessage
from tap_oracle_wms.records import (
    DECIMAL,
    DROP,
    FOREIGN_KEY,
    PLAIN,
    TIMESTAMP,
    RecordShapeError,
    RecordShaper,
    to_utc_timestamp,
)
from tap_oracle_wms.writer import WmsMessageWriter

PLAN = {
    "id": PLAIN,
    "order_dtl_id": FOREIGN_KEY,
    "alloc_qty": DECIMAL,
    "mod_ts": TIMESTAMP,
    "order_dtl_set": DROP,
    "final_oblpn_nbr": PLAIN,
    "status_id": PLAIN,
}


def shaper() -> RecordShaper:
    return RecordShaper("allocation", PLAN, logging.getLogger("test"))


def test_tap_foreign_key_object_becomes_id_and_key_columns():
    row = shaper().shape({"id": 1, "order_dtl_id": {"id": 647, "key": "DC01", "url": "https://x/647"}})
    assert row == {"id": 1, "order_dtl_id": 647, "order_dtl_id_key": "DC01"}


def test_tap_foreign_key_null_and_plain_integer():
    assert shaper().shape({"order_dtl_id": None}) == {"order_dtl_id": None, "order_dtl_id_key": None}
    assert shaper().shape({"order_dtl_id": 5}) == {"order_dtl_id": 5, "order_dtl_id_key": None}


def test_tap_set_fields_dropped_and_empty_strings_kept():
    row = shaper().shape(
        {"order_dtl_set": {"result_count": 2, "url": "u"}, "final_oblpn_nbr": "", "status_id": 10}
    )
    assert row == {"final_oblpn_nbr": "", "status_id": 10}


def test_tap_decimals_exact_and_empty_is_null():
    row = shaper().shape({"alloc_qty": "12345678901234567890.1234567891"})
    assert row["alloc_qty"] == decimal.Decimal("12345678901234567890.1234567891")
    assert shaper().shape({"alloc_qty": ""})["alloc_qty"] is None
    assert shaper().shape({"alloc_qty": None})["alloc_qty"] is None


def test_tap_timestamps_normalised_to_utc():
    assert shaper().shape({"mod_ts": "2025-05-31T21:00:01.831732-03:00"})["mod_ts"] == (
        "2025-06-01T00:00:01.831732+00:00"
    )
    assert to_utc_timestamp("2025-06-01T00:00:01+00:00") == ("2025-06-01T00:00:01.000000+00:00", False)
    assert to_utc_timestamp("2025-06-01T00:00:01Z")[0] == "2025-06-01T00:00:01.000000+00:00"
    assert to_utc_timestamp("2025-06-01T00:00:01.5")[1] is True


def test_tap_bad_values_name_stream_record_and_field():
    with pytest.raises(RecordShapeError, match=r"'allocation', record id=7, field 'alloc_qty'"):
        shaper().shape({"id": 7, "alloc_qty": "twelve"})
    with pytest.raises(RecordShapeError, match="field 'mod_ts'"):
        shaper().shape({"id": 7, "mod_ts": "yesterday"})
    with pytest.raises(RecordShapeError, match="field 'order_dtl_id'"):
        shaper().shape({"id": 7, "order_dtl_id": "DC01"})


def test_tap_unknown_field_not_emitted_with_one_warning(caplog):
    s = shaper()
    with caplog.at_level(logging.WARNING):
        assert s.shape({"id": 1, "surprise": 3}) == {"id": 1}
        s.shape({"id": 2, "surprise": 4})
    assert sum("surprise" in r.message for r in caplog.records) == 1


def test_tap_writer_emits_decimals_without_float_rounding(stdout_bytes):
    out = stdout_bytes()
    value = decimal.Decimal("0.1000000000000000055511151231257827")
    writer = WmsMessageWriter()
    writer.write_message(RecordMessage(stream="s", record={"q": value, "n": decimal.Decimal("16")}))
    assert out.getvalue() == b""  # records wait for a chunk or the next STATE
    writer.write_message(StateMessage(value={"bookmarks": {}}))
    line = out.getvalue().decode().splitlines()[0]
    assert '"q":0.1000000000000000055511151231257827' in line
    assert '"n":16' in line
    assert json.loads(line, parse_float=decimal.Decimal)["record"]["q"] == value


GENERAL_CASES = [
    {"id": 1, "order_dtl_id": {"id": 647, "key": "DC01", "url": "u"}, "alloc_qty": "11.01", "mod_ts": None},
    {"id": 2, "order_dtl_id": None, "alloc_qty": "", "mod_ts": ""},
    {"id": 3, "order_dtl_id": 5, "alloc_qty": None, "mod_ts": "2025-05-31T21:00:01.831732-03:00"},
    {"id": 4, "order_dtl_id": {"key": "no id"}, "alloc_qty": 7, "mod_ts": "2025-05-31T21:59:59.000001-03:00"},
    {"id": 5, "alloc_qty": decimal.Decimal("2.50"), "mod_ts": "2025-06-01T00:00:01.831732+00:00"},
    {"id": 6, "mod_ts": "2025-06-01T00:00:01+02:00", "order_dtl_set": {"url": "u"}, "status_id": 10},
    {"id": 7, "mod_ts": "2025-06-01T00:00:01.5", "final_oblpn_nbr": ""},
    {"id": 8, "mod_ts": "2025-06-01T05:30:00.000000+05:30", "alloc_qty": "1E+2"},
    {
        "mod_ts": "2031-12-31T23:00:00.000000-13:00",
        "id": 9,
        "alloc_qty": "0.1000000000000000055511151231257827",
    },
    {"id": 10, "mod_ts": "2025-06-01T00:61:01.831732-03:00"},
    {"id": 11, "mod_ts": "2025-06-01T00:00:01.83173x-03:00"},
    {"id": 12, "alloc_qty": "NaN"},
    {"id": 13, "alloc_qty": True},
    {"id": 14, "order_dtl_id": True},
    {"id": 15, "order_dtl_id": "DC01"},
    {"id": 16, "mod_ts": 20250601},
    {"id": 17, "surprise": 1},
]


def _outcome(shape, raw):
    try:
        return shape(dict(raw))
    except RecordShapeError as exc:
        return str(exc)


@pytest.mark.parametrize("raw", GENERAL_CASES, ids=lambda raw: str(raw.get("id")))
def test_tap_compiled_shaping_matches_the_general_path(raw):
    # Twice through a fresh shaper: the first call may fill the hour cache through the general path,
    # the second takes the compiled function for the same key order.
    compiled = shaper()
    expected = _outcome(shaper().shape_general, raw)
    assert _outcome(compiled.shape, raw) == expected
    assert _outcome(compiled.shape, raw) == expected
    if isinstance(expected, dict):
        assert list(compiled.shape(dict(raw))) == list(expected)  # same key order
    if "surprise" not in raw:
        assert compiled._compiled[tuple(raw)] is not None  # a compiled function took part


def test_tap_record_line_is_the_sdk_message_byte_for_byte(stdout_bytes):
    import datetime

    from tap_oracle_wms.writer import record_line_parts

    out = stdout_bytes()
    record = {"id": 1, "q": decimal.Decimal("0.10"), "s": 'a"\u00e9', "t": None, "b": True}
    at = datetime.datetime(2026, 1, 2, 3, 4, 5, 60, tzinfo=datetime.timezone(datetime.timedelta(hours=-3)))
    for version in (None, 1767323045):
        for when in (at, at.replace(microsecond=0)):
            expected = bytes(
                WmsMessageWriter().format_message(
                    RecordMessage(stream="allo\u00e7", record=record, version=version, time_extracted=when)
                )
            )
            writer = WmsMessageWriter()
            assert writer.takes_record_lines()
            head, tail = record_line_parts("allo\u00e7", version, when)
            writer.write_record_line(head, record, tail)
            writer.write_message(StateMessage(value={}))
            assert out.getvalue().splitlines(keepends=True)[0] == expected
            out.seek(0)
            out.truncate()


def test_tap_page_shaping_matches_record_by_record():
    # A page of records with one key order, one with the general cases mixed in (other key orders, values
    # the compiled function leaves aside, unknown fields), and one whose bad value stops the run.
    uniform = [
        {
            "id": i,
            "order_dtl_id": {"id": i, "key": f"K{i}", "url": "u"},
            "alloc_qty": str(i / 4),
            "mod_ts": f"2025-05-{1 + i % 28:02d}T{i % 24:02d}:00:01.831732-03:00",
        }
        for i in range(50)
    ]
    valid_cases = [raw for raw in GENERAL_CASES if isinstance(_outcome(shaper().shape_general, raw), dict)]
    for page in (uniform, uniform[:3] + valid_cases + uniform[3:]):
        expected = [shaper().shape(dict(raw)) for raw in page]
        got = shaper().shape_page([dict(raw) for raw in page])
        assert got == expected
        assert [list(record) for record in got] == [list(record) for record in expected]  # key order
    bad = [*uniform[:3], {**uniform[0], "id": 99, "alloc_qty": "abc"}]
    with pytest.raises(RecordShapeError, match="record id=99, field 'alloc_qty'"):
        shaper().shape_page(bad)
    assert shaper().shape_page([]) == []


TYPED_KEYS = ("id", "order_dtl_id", "alloc_qty", "mod_ts", "order_dtl_set", "final_oblpn_nbr", "status_id")


def typed_record(i: int, **values: object) -> dict:
    record = {
        "id": i,
        "order_dtl_id": {"id": i, "key": f"K{i}", "url": f"https://wms/order_dtl/{i}"},
        "alloc_qty": f"{i}.25",
        "mod_ts": f"2025-05-{1 + i % 28:02d}T{i % 24:02d}:10:01.831732-03:00",
        "order_dtl_set": {"result_count": 1, "url": "u"},
        "final_oblpn_nbr": f"OL{i}",
        "status_id": 10,
    }
    record.update(values)
    return record


def decode_both(page: list[dict]) -> tuple[RecordShaper, list, list]:
    """The page's body decoded typed (as `check_response` does with the stream's page decoder), and as
    plain JSON."""
    import requests
    from tap_oracle_wms.http import check_response, json_decoder

    typed_shaper = shaper()
    decoder = json_decoder(typed_shaper.page_type(TYPED_KEYS))
    response = requests.Response()
    response.status_code = 200
    response.url = "https://wms/prod/wms/lgfapi/v10/entity/allocation/"
    response._content = json.dumps({"results": page, "next_page": "/next", "page_nbr": 1}).encode()
    typed = check_response(response, auth_method="basic", page_decoder=decoder)
    plain = check_response(response, auth_method="basic")
    assert typed["next_page"] == plain["next_page"] == "/next"
    return typed_shaper, typed["results"], plain["results"]


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"order_dtl_id": None, "alloc_qty": "", "mod_ts": None},
        {"order_dtl_id": 5, "alloc_qty": 7.5, "status_id": 1.25},
        {"mod_ts": "2025-06-01T00:00:01.5"},  # naive: the general path, with its warning
        {"mod_ts": "2025-06-01T05:30:00.000000+05:30", "alloc_qty": "1E+2"},
    ],
    ids=str,
)
def test_tap_typed_pages_shape_like_plain_json_pages(values):
    page = [typed_record(i) for i in range(20)] + [typed_record(20, **values)]
    typed_shaper, typed, plain = decode_both(page)
    assert type(typed[0]) is not dict  # decoded into structs
    expected = shaper().shape_page(plain)
    assert typed_shaper.shape_page(typed) == expected
    assert list(typed_shaper.shape_all(typed)) == expected
    assert [list(r) for r in typed_shaper.shape_page(typed)] == [list(r) for r in expected]  # key order
    # As rows (BATCH files): the same text once encoded, and the same values through `get`.
    from singer_sdk.contrib.msgspec import encoder

    rows = typed_shaper.shape_page(typed, rows=True)
    assert encoder.encode_lines(rows) == encoder.encode_lines(expected)
    assert [[row.get(name) for name in PLAN] for row in rows] == [
        [r.get(name) for name in PLAN] for r in expected
    ]
    assert rows[0].get("order_dtl_id_key") == "K0"
    if not values:
        assert type(rows[0]) is not dict
    assert [type(r["alloc_qty"]) for r in expected] == [decimal.Decimal] * 20 + [
        type(expected[20]["alloc_qty"])
    ]


@pytest.mark.parametrize(
    "page",
    [
        [typed_record(1), {**typed_record(2), "surprise": 1}],  # a field the struct does not know
        [typed_record(1), {k: v for k, v in typed_record(2).items() if k != "status_id"}],  # one missing
        [typed_record(1), typed_record(2, order_dtl_id={"id": 2})],  # a foreign key without `key`
        [typed_record(1), typed_record(2, order_dtl_id="DC01")],  # neither object, integer nor null
    ],
)
def test_tap_pages_of_another_shape_are_decoded_as_plain_json(page):
    _, typed, plain = decode_both(page)
    assert typed == plain
    assert all(type(r) is dict for r in typed)


def test_tap_typed_page_record_error_names_the_record_and_field():
    page = [typed_record(i) for i in range(3)] + [typed_record(3, alloc_qty="abc")]
    typed_shaper, typed, _ = decode_both(page)
    with pytest.raises(RecordShapeError, match="record id=3, field 'alloc_qty'"):
        typed_shaper.shape_page(typed)
    # Record by record (record mode): the records before the bad one are shaped first, as for plain JSON.
    records = typed_shaper.shape_all(typed)
    assert [next(records)["id"] for _ in range(3)] == [0, 1, 2]
    with pytest.raises(RecordShapeError, match="record id=3, field 'alloc_qty'"):
        next(records)


@pytest.mark.parametrize(
    "mod_ts",
    [
        "2025-06-01T00:61:01.831732-03:00",  # minute 61
        "2025-06-01T00:00:01.83173x-03:00",
        "2025-06-01T00:00:0\u0661.831732-03:00",  # a digit, but not an ASCII one
        "2025-06-01T00:00:01,831732-03:00",
    ],
)
def test_tap_typed_page_checks_every_timestamp_like_plain_json(mod_ts):
    # The `:MM:SS.ffffff` of a typed page's timestamps are checked for the whole page at once: a page with
    # one malformed value is shaped (or fails) exactly as plain JSON is, record by record.
    page = [typed_record(i) for i in range(30)] + [typed_record(30, mod_ts=mod_ts)]
    typed_shaper, typed, plain = decode_both(page)

    def outcome(shape, records):
        try:
            return list(shape(records))
        except RecordShapeError as exc:
            return str(exc)

    expected = outcome(shaper().shape_page, plain)
    assert outcome(typed_shaper.shape_page, typed) == expected
    assert outcome(typed_shaper.shape_all, typed) == expected

"""Record shaping follows docs/data-contract.md section 2 exactly."""

from __future__ import annotations

import decimal
import json
import logging

import msgspec
import pytest
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib.messages import RecordMessage
from tap_oracle_wms.pagination import page_records
from tap_oracle_wms.shaping import (
    DECIMAL,
    DROP,
    FOREIGN_KEY,
    PLAIN,
    TIMESTAMP,
    RecordShapeError,
    RecordShaper,
    to_utc_timestamp,
)

PLAN = {
    "id": PLAIN,
    "order_dtl_id": FOREIGN_KEY,
    "alloc_qty": DECIMAL,
    "mod_ts": TIMESTAMP,
    "order_dtl_set": DROP,
    "final_oblpn_nbr": PLAIN,
    "status_id": PLAIN,
}


class Shaper(RecordShaper):
    """The stream's decoder and shaper, given one record as a dict: it goes through the JSON of a page."""

    def shape_one(self, record: dict) -> dict:
        body = self.decode_page(msgspec.json.encode({"results": [record]}))
        return self.shape(page_records(body)[0])


def shaper() -> Shaper:
    return Shaper("allocation", PLAN, logging.getLogger("test"))


def test_tap_foreign_key_object_becomes_id_and_key_columns():
    row = shaper().shape_one({"id": 1, "order_dtl_id": {"id": 647, "key": "DC01", "url": "https://x/647"}})
    assert row == {"id": 1, "order_dtl_id": 647, "order_dtl_id_key": "DC01"}


def test_tap_foreign_key_null_and_plain_integer():
    assert shaper().shape_one({"order_dtl_id": None}) == {"order_dtl_id": None, "order_dtl_id_key": None}
    assert shaper().shape_one({"order_dtl_id": 5}) == {"order_dtl_id": 5, "order_dtl_id_key": None}


def test_tap_set_fields_dropped_and_empty_strings_kept():
    row = shaper().shape_one(
        {"order_dtl_set": {"result_count": 2, "url": "u"}, "final_oblpn_nbr": "", "status_id": 10}
    )
    assert row == {"final_oblpn_nbr": "", "status_id": 10}


def test_tap_decimals_exact_and_empty_is_null():
    row = shaper().shape_one({"alloc_qty": "12345678901234567890.1234567891"})
    assert row["alloc_qty"] == decimal.Decimal("12345678901234567890.1234567891")
    assert shaper().shape_one({"alloc_qty": ""})["alloc_qty"] is None
    assert shaper().shape_one({"alloc_qty": None})["alloc_qty"] is None


def test_tap_timestamps_normalised_to_utc():
    assert shaper().shape_one({"mod_ts": "2025-05-31T21:00:01.831732-03:00"})["mod_ts"] == (
        "2025-06-01T00:00:01.831732+00:00"
    )
    assert to_utc_timestamp("2025-06-01T00:00:01+00:00") == ("2025-06-01T00:00:01.000000+00:00", False)
    assert to_utc_timestamp("2025-06-01T00:00:01Z")[0] == "2025-06-01T00:00:01.000000+00:00"
    assert to_utc_timestamp("2025-06-01T00:00:01.5")[1] is True


@pytest.mark.parametrize(
    ("served", "emitted"),
    [
        ("2025-06-18T10:48:26.1+05:30", "2025-06-18T05:18:26.100000+00:00"),
        ("2025-06-18T10:48:26-00:00", "2025-06-18T10:48:26.000000+00:00"),
        ("2025-06-18T10:48:26.123456+00:00", "2025-06-18T10:48:26.123456+00:00"),
        ("2025-06-18T10:48:26.123456000-03:00", "2025-06-18T13:48:26.123456+00:00"),
        ("9999-12-31T20:59:59.999999-03:00", "9999-12-31T23:59:59.999999+00:00"),
    ],
)
def test_tap_timestamp_edges_keep_the_instant_to_the_microsecond(served, emitted):
    assert shaper().shape_one({"id": 7, "mod_ts": served})["mod_ts"] == emitted


@pytest.mark.parametrize(
    ("served", "why"),
    [
        # Python's parser would keep .123456 and drop 789 without a word.
        ("2025-06-18T10:48:26.123456789-03:00", "finer than microseconds"),
        ("2025-06-18T10:48:26.1234567Z", "finer than microseconds"),
        # A "never" sentinel in a facility zone west of UTC lands in year 10000 in UTC.
        ("9999-12-31T23:00:00.000000-03:00", "outside years 1..9999"),
        ("0001-01-01T00:00:00.000000+01:00", "outside years 1..9999"),
        # Canonical length and a UTC offset, but no date.
        ("2025-13-45T99:99:99.999999+00:00", "month must be in 1..12"),
    ],
)
def test_tap_timestamp_the_contract_cannot_hold_is_an_error_naming_record_and_field(served, why):
    with pytest.raises(RecordShapeError, match=rf"record id=7, field 'mod_ts': .*{why}"):
        shaper().shape_one({"id": 7, "mod_ts": served})


def test_tap_bad_values_name_stream_record_and_field():
    with pytest.raises(RecordShapeError, match=r"'allocation', record id=7, field 'alloc_qty'"):
        shaper().shape_one({"id": 7, "alloc_qty": "twelve"})
    with pytest.raises(RecordShapeError, match="field 'mod_ts'"):
        shaper().shape_one({"id": 7, "mod_ts": "yesterday"})
    with pytest.raises(RecordShapeError, match="field 'order_dtl_id'"):
        shaper().shape_one({"id": 7, "order_dtl_id": "DC01"})


def test_tap_unknown_field_not_emitted_with_one_warning(caplog):
    s = shaper()
    with caplog.at_level(logging.WARNING):
        assert s.shape_one({"id": 1, "surprise": 3}) == {"id": 1}
        s.shape_one({"id": 2, "surprise": 4})
    assert sum("surprise" in r.message for r in caplog.records) == 1


def test_tap_writer_emits_decimals_without_float_rounding(stdout_bytes):
    out = stdout_bytes()
    value = decimal.Decimal("0.1000000000000000055511151231257827")
    writer = MsgSpecWriter()
    writer.write_message(RecordMessage(stream="s", record={"q": value, "n": decimal.Decimal("16")}))
    line = out.getvalue().decode().splitlines()[0]
    assert '"q":0.1000000000000000055511151231257827' in line
    assert '"n":16' in line
    assert json.loads(line, parse_float=decimal.Decimal)["record"]["q"] == value


def test_tap_page_decoder_learns_an_unknown_field_once_and_keeps_decoding(caplog):
    s = shaper()
    first = msgspec.json.encode({"results": [{"id": 1, "order_dtl_id": 5}], "next_page": "n"})
    second = msgspec.json.encode({"results": [{"id": 2, "surprise": [1]}, {"id": 3, "surprise": None}]})
    with caplog.at_level(logging.WARNING):
        assert s.shape(page_records(s.decode_page(first))[0]) == {
            "id": 1,
            "order_dtl_id": 5,
            "order_dtl_id_key": None,
        }
        assert [s.shape(r) for r in page_records(s.decode_page(second))] == [{"id": 2}, {"id": 3}]
        assert s.decode_page(first).next_page == "n"
    assert sum("surprise" in r.message for r in caplog.records) == 1


def test_tap_page_decoder_names_records_it_cannot_take():
    with pytest.raises(RecordShapeError, match=r"'allocation': record 1 of a page is not an object"):
        shaper().decode_page(b'{"results": [{"id": 1}, 7]}')
    for value in (b"true", b"1.0", b"[1]"):
        with pytest.raises(RecordShapeError, match=r"'allocation', record id=4, field 'order_dtl_id'"):
            shaper().decode_page(b'{"results": [{"id": 4, "order_dtl_id": ' + value + b"}]}")


def test_tap_page_decoder_other_bodies():
    s = shaper()
    assert page_records(s.decode_page(b"null")) == []
    assert [s.shape(r) for r in page_records(s.decode_page(b'[{"id": 9}]'))] == [{"id": 9}]
    with pytest.raises(ValueError, match="no 'results' list"):
        page_records(s.decode_page(b'{"items": []}'))
    # A truncated body stays a decode error (retried by check_response), also after an unknown field.
    with pytest.raises(msgspec.DecodeError):
        s.decode_page(b'{"results": [{"id": 1, "surprise": 2}, {"id": 2')


def test_tap_a_page_decoded_before_a_new_field_was_learned_is_shaped_by_its_own_type():
    # A partitioned full sync decodes pages in threads: a page decoded with the record type of before a
    # new field was learned may be shaped after it.
    s = shaper()
    first = page_records(s.decode_page(b'{"results": [{"id": 1, "alloc_qty": "2.50"}]}'))
    second = page_records(s.decode_page(b'{"results": [{"id": 2, "surprise": 1, "alloc_qty": "3"}]}'))
    assert [s.shape(r) for r in first] == [{"id": 1, "alloc_qty": decimal.Decimal("2.50")}]
    assert [s.shape(r) for r in second] == [{"id": 2, "alloc_qty": decimal.Decimal("3")}]


def test_tap_shaped_record_leaves_out_omitted_columns_and_encodes_as_its_dict():
    s = shaper()
    row = {"id": 1, "order_dtl_id": {"id": 5, "key": "K"}, "alloc_qty": "1.5", "mod_ts": None}
    raw = page_records(s.decode_page(msgspec.json.encode({"results": [row]})))[0]
    shaped = s.shape_for(type(raw))(raw)
    assert shaped.get("order_dtl_id_key") == "K"
    assert shaped.get("status_id") is None  # the API's record lacks it: left out, not null
    assert "status_id" not in shaped.to_dict()
    encoder = msgspec.json.Encoder(decimal_format="number")
    assert encoder.encode(shaped) == encoder.encode(shaped.to_dict())
    assert encoder.encode(shaped) == (
        b'{"id":1,"order_dtl_id":5,"alloc_qty":1.5,"mod_ts":null,"order_dtl_id_key":"K"}'
    )
    s.omit({"order_dtl_id_key", "alloc_qty"})
    assert s.shape(raw) == {"id": 1, "order_dtl_id": 5, "mod_ts": None}

"""Exact or refused: every value lands exactly as the storage contract says, or the run stops with an error
naming stream, key and field. Record mode (RECORD messages, through the spool and its SQL check) and BATCH
files take the same checks."""

from __future__ import annotations

import datetime as dt
import json
import logging
from decimal import Decimal

import pytest
from target_oracle import contract
from target_oracle.errors import RefusedValueError

PROPS = {
    "id": {"type": "integer"},
    "qty": {"type": ["number", "null"]},
    "n": {"type": ["integer", "null"]},
    "ts": {"type": ["string", "null"], "format": "date-time"},
    "day": {"type": ["string", "null"], "format": "date"},
    "note": {"type": ["string", "null"]},
}


def _raw_record(stream: str, record_json: str) -> str:
    """A RECORD line with the record's JSON text as written (exact number spellings)."""
    return f'{{"type":"RECORD","stream":"{stream}","record":{record_json}}}\n'


def _run_lines(sg, config: dict, *lines: str) -> None:
    import io

    from target_oracle.target import TargetOracle

    text = sg.lines(sg.schema("items", PROPS)) + "".join(lines)
    TargetOracle(config=config).listen(file_input=io.StringIO(text))


@pytest.mark.parametrize(
    ("field", "text", "reason"),
    [
        ("qty", "0.12345678901234567", "more than 10 decimal places"),
        ("qty", "1e-12", "more than 10 decimal places"),
        ("qty", "0.00000000001", "more than 10 decimal places"),
        ("qty", "12345678901234567890123456789", "number beyond NUMBER(38,10)"),
        ("n", "123456789012345678901234567890123456789", "integer beyond NUMBER(38)"),
        ("ts", '"2024-03-01T12:00:00.1234567+00:00"', "more than 6 fractional second digits"),
        ("ts", '"2024-13-01T12:00:00+00:00"', "not an ISO-8601 date-time"),
        ("day", '"2024-02-30"', "not an ISO-8601 date"),
        ("day", '"2024-02-03T10:00:00"', "not an ISO-8601 date"),
        # the forms the mapper refuses too (storage_contract.refusal, one definition for both plugins)
        ("day", '"2025-W01-1"', "not an ISO-8601 date"),  # a week date
        ("ts", '"2024-03-01"', "not an ISO-8601 date-time"),  # a date alone
        ("ts", '"2024-03-01T12:00"', "not an ISO-8601 date-time"),  # no seconds
        ("ts", '"2024-03-01T12:00:00z"', "not an ISO-8601 date-time"),
        ("ts", '" 2024-03-01T12:00:00Z"', "not an ISO-8601 date-time"),
        ("ts", '"2024-03-01T12:00:00Z\\n"', "not an ISO-8601 date-time"),
        ("ts", '"2025-W01-1T12:00:00"', "not an ISO-8601 date-time"),
    ],
)
def test_a_value_that_cannot_be_stored_exactly_stops_the_run_naming_stream_key_and_field(
    sg, backend, field, text, reason
):
    with pytest.raises(RefusedValueError) as info:
        _run_lines(
            sg,
            backend.config(),
            _raw_record("items", '{"id": 1, "qty": 1.5}'),
            _raw_record("items", f'{{"id": 7, "{field}": {text}}}'),
        )
    message = str(info.value)
    assert f"Stream 'items', key id=7, field '{field}'" in message
    assert reason in message
    assert reason in {r for kind in contract.contract()["kinds"].values() for r in kind["refuses"].values()}


#: date-time and date texts the contract refuses though DuckDB's casts read them (as another instant, a year
#: 0 or a year 10000): the SQL check must send them to the Python check, in record mode and in BATCH files
OUT_OF_RANGE = [
    ("ts", "0001-01-01T00:30:00+01:00", "not an ISO-8601 date-time"),  # before year 1 in UTC
    ("ts", "9999-12-31T23:30:00-01:00", "not an ISO-8601 date-time"),  # after year 9999 in UTC
    ("ts", "0000-01-01T00:00:00Z", "not an ISO-8601 date-time"),
    ("ts", "2024-03-01T12:00:00+05:75", "not an ISO-8601 date-time"),  # offset minutes over 59
    ("ts", "2024-03-01T12:00:00+0575", "not an ISO-8601 date-time"),
    ("ts", "2024-03-01T12:00:00-00:60", "not an ISO-8601 date-time"),
    ("ts", "2024-03-01T12:00:00+24:00", "not an ISO-8601 date-time"),  # offset hours over 23
    ("ts", "2024-03-01T12:00:00+99", "not an ISO-8601 date-time"),
    ("ts", "2024-03-01T24:00:00Z", "not an ISO-8601 date-time"),  # the clock's hour 24
    ("day", "0000-01-01", "not an ISO-8601 date"),
]


@pytest.mark.parametrize(("field", "value", "reason"), OUT_OF_RANGE)
def test_a_date_time_out_of_range_is_refused_in_records_and_in_batch_files(
    sg, backend, tmp_path, field, value, reason
):
    rows = [{"id": 1, "ts": "2024-03-01T12:00:00Z", "day": "2024-03-01"}, {"id": 7, field: value}]
    with pytest.raises(RefusedValueError) as info:
        sg.run(backend.config(), sg.schema("items", PROPS), *[sg.record("items", row) for row in rows])
    assert f"Stream 'items', key id=7, field '{field}': {value!r} refused: {reason}" in str(info.value)
    path = tmp_path / "items.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    batch = {"type": "BATCH", "stream": "items", "encoding": {"format": "jsonl", "compression": "none"}}
    with pytest.raises(RefusedValueError) as info:
        sg.run(backend.config(), sg.schema("items", PROPS), {**batch, "manifest": [path.as_uri()]})
    assert f"Stream 'items', key id=7, field '{field}': {value!r} refused: {reason}" in str(info.value)
    assert contract.refusal(contract.TIMESTAMP if field == "ts" else contract.DATE, value) == reason


def test_the_years_1_and_9999_and_offsets_within_range_land(sg, backend, tmp_path):
    rows = [
        {"id": 1, "ts": "0001-01-01T00:30:00-01:00", "day": "0001-01-01"},
        {"id": 2, "ts": "9999-12-31T23:30:00+01:00", "day": "9999-12-31"},
        {"id": 3, "ts": "2024-03-01T12:00:00+23:59"},
        {"id": 4, "ts": "2024-03-01T12:00:00-0059"},
    ]
    path = tmp_path / "items.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    batch = {"type": "BATCH", "stream": "items", "encoding": {"format": "jsonl", "compression": "none"}}
    sg.run(backend.config(), sg.schema("items", PROPS), {**batch, "manifest": [path.as_uri()]})
    assert backend.rows("items", '"ID", "TS", "DAY"') == [
        (1, dt.datetime(1, 1, 1, 1, 30), dt.date(1, 1, 1)),
        (2, dt.datetime(9999, 12, 31, 22, 30), dt.date(9999, 12, 31)),
        (3, dt.datetime(2024, 2, 29, 12, 1), None),
        (4, dt.datetime(2024, 3, 1, 12, 59), None),
    ]


def test_refused_values_in_batch_files_stop_the_run_too(sg, backend, tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_text('{"id": 1, "qty": 1.5}\n{"id": 2, "qty": 1e-12}\n')
    batch = {"type": "BATCH", "stream": "items", "encoding": {"format": "jsonl", "compression": "none"}}
    with pytest.raises(RefusedValueError, match=r"Stream 'items', key id=2, field 'qty'.*more than 10"):
        sg.run(backend.config(), sg.schema("items", PROPS), {**batch, "manifest": [path.as_uri()]})


def test_values_within_the_contract_land_exactly(sg, backend):
    _run_lines(
        sg,
        backend.config(),
        _raw_record("items", '{"id": 1, "qty": 0.1234567891, "n": 1.0}'),
        _raw_record("items", '{"id": 2, "qty": 1.50000000000000, "n": 1e3}'),
        _raw_record("items", '{"id": 3, "qty": 9999999999999999999999999999.9999999999}'),
        _raw_record("items", '{"id": 4, "qty": -1.5e2, "n": 99999999999999999999999999999999999999}'),
    )
    assert backend.rows("items", '"ID", "QTY", "N"') == [
        (1, Decimal("0.1234567891"), 1),
        (2, Decimal("1.5"), 1000),
        (3, Decimal("9999999999999999999999999999.9999999999"), None),
        (4, Decimal("-150"), 99999999999999999999999999999999999999),
    ]


def test_a_date_time_without_offset_is_read_as_utc_with_one_warning_per_stream_and_field(sg, backend, caplog):
    caplog.set_level(logging.WARNING)
    sg.run(
        backend.config(),
        sg.schema("items", PROPS),
        *[sg.record("items", {"id": i, "ts": f"2024-03-01T12:00:0{i}"}) for i in range(3)],
        sg.record("items", {"id": 3, "ts": "2024-03-01T12:00:00-03:00"}),
    )
    assert [row[1] for row in backend.rows("items", '"ID", "TS"')] == [
        dt.datetime(2024, 3, 1, 12, 0, 0),
        dt.datetime(2024, 3, 1, 12, 0, 1),
        dt.datetime(2024, 3, 1, 12, 0, 2),
        dt.datetime(2024, 3, 1, 15, 0, 0),
    ]
    warnings = [r.getMessage() for r in caplog.records if "no UTC offset" in r.getMessage()]
    assert len(warnings) == 1
    assert "Stream 'items', field 'ts'" in warnings[0]


@pytest.mark.parametrize("key", ["", None])
def test_an_empty_or_null_key_is_refused_on_every_database(sg, backend, key):
    props = {"code": {"type": ["string", "null"]}, "note": {"type": ["string", "null"]}}
    with pytest.raises(RefusedValueError, match=r"Stream 'codes', key code=.*field 'code'"):
        sg.run(
            backend.config(),
            sg.schema("codes", props, keys=["code"]),
            sg.record("codes", {"code": "A", "note": "x"}),
            sg.record("codes", {"code": key, "note": "y"}),
        )


def test_empty_strings_in_other_columns_land_as_null_on_every_database(sg, backend):
    sg.run(
        backend.config(),
        sg.schema("items", {**PROPS, "extra": {"type": ["string", "integer", "null"]}}),
        sg.record("items", {"id": 1, "note": "", "extra": ""}),
        sg.record("items", {"id": 2, "note": "x", "extra": 5}),
        # a long number sends the record through the Python path: the same result
        sg.record("items", {"id": 3, "note": "", "qty": 0.1234567891}),
    )
    assert backend.rows("items", '"ID", "NOTE", "EXTRA"') == [(1, None, None), (2, "x", "5"), (3, None, None)]


def test_the_contract_file_is_the_package_data_and_gives_the_columns(backend):
    kinds = contract.contract()["kinds"]
    from target_oracle.dialects import DuckDBStrategy, OracleStrategy

    for name, entry in kinds.items():
        oracle = OracleStrategy().type_sql(name).replace(" ", "")
        duck = DuckDBStrategy().type_sql(name).replace(" ", "")
        assert oracle == entry["oracle"].replace(" ", ""), name
        assert duck.replace("NUMERIC", "DECIMAL") == entry["duckdb"].replace(" ", ""), name
    assert json.loads(json.dumps(kinds)) == kinds


def test_exact_text_of_date_times_and_dates_is_the_shared_form():
    """``EXACT_TEXT`` (the SQL check's text of a value surely stored) is built from the one definition of
    the stored forms (``storage_contract.datetime_form``, ``DATE_FORM``): DuckDB's regex reads it as Python
    does, and a date-time it matches is one ``refusal`` stores (when its calendar and clock are real; the
    SQL cast refuses the others)."""
    import re

    import duckdb

    values = [
        "2024-03-01T12:00:00Z",
        "2024-03-01 12:00:00.123456+05:30",
        "2024-03-01T12:00:00.1234567Z",
        "2024-03-01T12:00:00+0530",
        "2024-03-01T12:00:00+05",
        "2024-03-01T12:00:00",
        "2024-03-01T12:00:00z",
        "2024-03-01t12:00:00Z",
        "2024-03-01T12:00Z",
        "2024-03-01",
        "2025-W01-1",
        " 2024-03-01",
        "2024-03-01T12:00:00Z ",
        "2024-03-01T12:00:00+05:75",
        "2024-03-01T12:00:00+24:00",
        "2024-03-01T24:00:00Z",
        "2024-03-01T23:59:60Z",
        "2024-03-01T12:00:00+23:59",
    ]
    con = duckdb.connect()
    for kind_name in (contract.TIMESTAMP, contract.DATE):
        pattern = contract.EXACT_TEXT[kind_name]
        for value in values:
            python = re.fullmatch(pattern, value) is not None
            assert con.execute("SELECT regexp_full_match(?, ?)", [value, pattern]).fetchone()[0] is python
            if python:
                assert contract.refusal(kind_name, value) is None, value
    assert re.fullmatch(contract.EXACT_TEXT[contract.TIMESTAMP], "2024-03-01T12:00:00.123456-03:00")
    assert not re.fullmatch(contract.EXACT_TEXT[contract.TIMESTAMP], "2024-03-01T12:00:00z")

"""Edge cases as data: each `tests/data_files/<case>.singer` is fed to the target as a tap would send it,
and the test says what must land (or which error must stop the run), on DuckDB and on a live Oracle."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import typing as t
from decimal import Decimal
from pathlib import Path

import pytest
from singer_sdk.exceptions import InvalidRecord, MissingKeyPropertiesError
from singer_sdk.singerlib.exceptions import InvalidInputLine
from target_oracle.errors import BatchMessageError, RefusedValueError, StreamSetupError, TargetLoadError
from target_oracle.target import TargetOracle

DATA = Path(__file__).parent / "data_files"
UTC = dt.datetime

#: case -> (stream, columns, rows ordered by the first column) or (error class, text of the message)
EXPECTED: dict[str, t.Any] = {
    "reserved_words": (
        "select",
        '"ID", "FROM", "WHERE", "ORDER", "GROUP_BY"',
        [(1, "a", "b", 3, "c")],
    ),
    "stream_collision": (StreamSetupError, "Streams 'Orders' and 'orders' both load into table"),
    # ORDERS__STG is the name of ORDERS' staging table on Oracle (a global temporary table, dropped and
    # re-created when ORDERS' columns change): a stream's table cannot have it
    "staging_table_name": (StreamSetupError, "Stream 'orders__stg': its table .* ends in __STG"),
    "stream_collision_schema_table": (StreamSetupError, "Streams 'sales-orders' and 'orders' both load"),
    "big_numbers": (
        "big",
        '"ID", "N", "X"',
        [
            (1, 10**38 - 1, Decimal("9999999999999999999999999999.9999999999")),
            (2, -(10**38) + 1, Decimal("-0.0000000001")),
            (3, 2**63, Decimal("12345678901234567890.5")),
        ],
    ),
    "big_number_refused": (RefusedValueError, "key id=2, field 'n': .* integer beyond NUMBER(38)"),
    "decimals": (
        "dec",
        '"ID", "X"',
        [
            (1, Decimal("0.1")),
            (2, Decimal("1.1")),
            (3, Decimal("1E-10")),
            (4, Decimal("123.4567890123")),
            (5, Decimal("2500")),
        ],
    ),
    "decimal_too_precise": (RefusedValueError, "key id=2, field 'x': .* more than 10 decimal places"),
    "unicode": ("unicode", '"ID", "GRÖSSE", "名前"', [(1, "Maß 😀", "東京"), (2, 'e\u0301 \\ " \t', None)]),
    "long_text": ("long", '"ID", "BODY"', [(1, "ß" * 2500), (2, "short")]),
    "offsets": (
        "ts",
        '"ID", "AT"',
        [
            (1, UTC(2024, 3, 1, 6, 30)),
            (2, UTC(2024, 3, 1, 15, 0)),
            (3, UTC(2024, 3, 1, 12, 0, 0, 123456)),
            (4, UTC(2024, 3, 1, 12, 0)),
        ],
    ),
    "nested_json": (
        "nested",
        '"ID", "OBJ", "ARR"',
        [
            (1, {"a": Decimal("1.25"), "b": {"c": "ü", "d": [1, 2]}}, [{"x": Decimal("0.1")}, None, "s"]),
            (2, {}, []),
        ],
    ),
    "sdc_names": (StreamSetupError, "property '_sdc_extracted_at' has the name of a metadata column"),
    "sdc_other_names": ("sdc", '"ID", "_SDC_SOURCE"', [(1, "erp")]),
    "schema_changes": ("evolve", '"ID", "N", "ADDED"', [(1, Decimal(5), None), (2, Decimal("2.5"), "new")]),
    # the integer column is kept (it holds booleans): true and false land as 1 and 0
    "schema_change_integer_to_boolean": ("flags", '"ID", "F"', [(1, 5), (2, 1), (3, 0), (4, None)]),
    # records taken before a new SCHEMA of their stream land before the records after it (last one wins)
    "schema_change_pending_records": (
        "resent",
        '"ID", "STATUS", "NOTE"',
        [(1, "new", "after the schema change"), (2, "old", None)],
    ),
    # the table's primary key is (ID, LINE): a MERGE on ID alone would fold both rows of id 1 into one
    "key_properties_changed": (
        StreamSetupError,
        "Stream 'rekeyed': table .* has the primary key (ID, LINE) but the stream's key properties are (ID)",
    ),
    # a value of another type than the schema's is refused naming stream, key and field (1 is no boolean)
    "invalid_record": (
        InvalidRecord,
        "Stream 'typed', key id=2, field 'flag': data.flag must be boolean or null",
    ),
    # text that is not Unicode (half of a UTF-16 pair) cannot be stored: the record is named by its line
    "lone_surrogate": (
        TargetLoadError,
        "Stream 'text': record 2 of the batch is not a valid JSON object (.*): "
        '{"type":"RECORD","stream":"text","record":{"id": 2, ',
    ),
    "lone_surrogate_long_number": (
        TargetLoadError,
        "Stream 'text': RECORD message is not a valid JSON object (.*): "
        '{"type":"RECORD","stream":"text","record":{"id": 2, ',
    ),
    # an object is a CLOB on Oracle, which cannot be in a primary key: refused on DuckDB too
    "key_object": (StreamSetupError, "Stream 'keyed': key property 'id' is stored as CLOB"),
    # NaN (Python's json.dumps writes it) is not JSON: refused like any line that is not, even in an object
    "not_a_number": (
        TargetLoadError,
        "Stream 'readings': RECORD message is not a valid JSON object (.*): "
        '{"type":"RECORD","stream":"readings","record":{"id": 2, ',
    ),
    # a record without a key property is named by what it has, so it can be found
    "key_missing": (
        MissingKeyPropertiesError,
        'Stream \'lines\': record without its key property \'line\': {"order_id":7,"sku":"B-2"}',
    ),
    # a RECORD message whose record is null would load as a row of NULLs (SQL path, and Python path: a
    # long number in the line)
    "record_null": (
        TargetLoadError,
        "Stream 'notes': record 2 of the batch: the record of a RECORD message must be a JSON object, "
        "not null",
    ),
    "record_null_long_number": (
        TargetLoadError,
        "Stream 'notes': RECORD message: the record of a RECORD message must be a JSON object, not null",
    ),
    # Oracle holds at most 4000 bytes in a key (VARCHAR2; a CLOB cannot be in a primary key): DuckDB loaded
    # such a key, Oracle failed the stream; now refused on both
    "key_too_long": (
        RefusedValueError,
        "Stream 'keys', key code=.*, field 'code': a value of 4002 bytes refused",
    ),
    # a schema's decimals (multipleOf, minimum, maximum, enum) against exact record numbers: fastjsonschema
    # writes them as float literals, so 0.1 was below "minimum": 0.1, 1.5 not in "enum": [1.5], and a
    # multipleOf ended the run in a TypeError traceback
    "multiple_of": (
        InvalidRecord,
        "Stream 'prices', key id=2, field 'price': data.price must be multiple of 0.01",
    ),
    # 0.5 is a float exactly: with no other decimal in the schema the records kept theirs, and
    # fastjsonschema's Decimal(repr(value)) of a Decimal raised InvalidOperation (a traceback)
    "multiple_of_half": (InvalidRecord, "key id=2, field 'half': data.half must be multiple of 0.5"),
    "number_rules_valid": (
        "prices",
        '"ID", "PRICE", "RATE", "HALF"',
        [
            (1, Decimal("19.01"), "1.5", Decimal("2.5")),
            (2, Decimal("12345678901234.3"), "0.5", None),
            (3, None, None, None),
            (4, Decimal("0.1"), None, None),
        ],
    ),
    # and 0.3 passed "exclusiveMinimum": 0.3 (0.3 > 0.29999999999999998889), stored
    "number_exclusive_minimum": (InvalidRecord, "key id=2, field 'rate': data.rate must be bigger than 0.3"),
    # a table version is an integer: 1.5 was cast to 2, so the row counted as version 2 at ACTIVATE_VERSION
    "version_not_integer": (TargetLoadError, "Stream 'versions': records could not be read: .* not 1.5"),
    # a BATCH message's manifest holding something else than file URLs ended in a TypeError traceback (a
    # string was read as a list of one-letter file names); an empty one failed in DuckDB's read_json; an
    # unknown compression was read as none
    "batch_manifest_not_urls": (
        BatchMessageError,
        "Stream 'files': a BATCH message's manifest must be a list of file URLs, not [null]",
    ),
    "batch_manifest_empty": ("files", '"ID"', [(1,), (2,)]),
    "batch_compression_unknown": (
        BatchMessageError,
        "BATCH compression 'zstd' is not supported (gzip, none)",
    ),
    # an ACTIVATE_VERSION's version is an integer: null marked (or, hard_delete, deleted) every row without a
    # version, 1.5 kept version 1's rows and stamped later ones 2 (and no version: a KeyError traceback)
    "activate_version_null": (
        InvalidInputLine,
        "Stream 'acts': an ACTIVATE_VERSION message's version must be an integer, not null",
    ),
    "activate_version_not_integer": (InvalidInputLine, "version must be an integer, not 1.5"),
    # a RECORD message carrying the key the target's spool marks lines checked in Python with ("__checked")
    # skipped every check: 0.123456789012 was rounded to 0.1234567890
    "record_marked_checked": (RefusedValueError, "key id=2, field 'x': .* more than 10 decimal places"),
    "empty_strings": (RefusedValueError, "Stream 'codes', key code='', field 'code': empty string"),
    # a UTC instant before year 1 or after 9999 (neither Python nor Oracle's TIMESTAMP holds it)
    "datetime_before_year_1": (RefusedValueError, "key id=2, field 'at': .* not an ISO-8601 date-time"),
    "datetime_after_year_9999": (RefusedValueError, "key id=2, field 'at': .* not an ISO-8601 date-time"),
    # an offset is hours 00-23 and minutes 00-59 (DuckDB would read +05:75 as +06:15, +24:00 as a day)
    "offset_minutes_over_59": (RefusedValueError, "key id=2, field 'at': .* not an ISO-8601 date-time"),
    "offset_hours_over_23": (RefusedValueError, "key id=2, field 'at': .* not an ISO-8601 date-time"),
}


def _load(value: t.Any) -> t.Any:
    """JSON columns come back as text (Oracle CLOB, DuckDB JSON): parsed, decimals exact."""
    if hasattr(value, "read"):
        value = value.read()
    if isinstance(value, str) and value[:1] in "{[":
        return json.loads(value, parse_float=Decimal)
    return value


def test_every_data_file_has_an_expectation():
    assert sorted(p.stem for p in DATA.glob("*.singer")) == sorted(EXPECTED)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_data_file(case, backend):
    text = (DATA / f"{case}.singer").read_text(encoding="utf-8")
    expected = EXPECTED[case]
    target = TargetOracle(config=backend.config())
    if isinstance(expected[0], type):
        error, pattern = expected
        with pytest.raises(error, match=re.escape(pattern).replace(r"\.\*", ".*")):
            target.listen(file_input=io.StringIO(text))
        return
    target.listen(file_input=io.StringIO(text))
    stream, columns, rows = expected
    got = [tuple(_load(v) for v in row) for row in backend.rows(stream, columns)]
    assert got == rows

"""The rules and the storage contract on edge cases, one fixture file each (tests/data/<case>.singer), run
through the real CLI in record mode and in BATCH mode with the same assertions.

Each fixture holds one stream's SCHEMA and RECORD messages. `EXPECTED` says, by the record's position in
the file (1 = first RECORD), which records pass and which are quarantined, under which rule, for which
field, with which words of the contract's reason. A passed record must come out byte for byte as it went
in (its line in record mode, its JSONL line in BATCH mode).
"""

from __future__ import annotations

import decimal
import gzip
import json
import typing as t
from pathlib import Path

import msgspec
import pytest
from mapper_wms_validate.contract import kind_of, load
from mapper_wms_validate.schema_check import contract_check

DATA = Path(__file__).parent / "data"
PACKAGE = Path(__file__).parents[1] / "mapper_wms_validate"
CONTRACT = json.loads((PACKAGE / "storage_contract.json").read_text())
REASONS = {kind: body["refuses"] for kind, body in CONTRACT["kinds"].items()}

Violation = tuple[str, str, str]  # rule, field, words of the message
# case -> (records that pass, {record: violations}), records numbered from 1 in file order
EXPECTED: dict[str, tuple[list[int], dict[int, list[Violation]]]] = {
    "integer_valued_number": (
        [1, 3],  # 1.0 and 3E+2 are integers: the target stores 1 and 300
        {
            2: [("schema", "qty", "must be integer or null, got 2.50")],
            4: [("schema", "qty", "must be integer or null, got 1.0000000000000000000001")],
        },
    ),
    "integer_beyond_number38": (
        [2],  # 38 nines fit NUMBER(38)
        {
            1: [("schema", "qty", REASONS["integer"]["too_large"])],
            3: [("schema", "qty", REASONS["integer"]["too_large"])],
            4: [("schema", "qty", REASONS["integer"]["too_large"])],
        },
    ),
    "number_beyond_number38_10": (
        [3, 4, 7, 8],  # trailing zeros, 28+10 digits, 10 places, zero with an exponent
        {
            1: [("schema", "amount", REASONS["number"]["too_large"])],
            2: [("schema", "amount", REASONS["number"]["too_precise"])],
            5: [("schema", "amount", REASONS["number"]["too_large"])],
            6: [("schema", "amount", REASONS["number"]["too_precise"])],
        },
    ),
    "datetime_format": (
        [5, 6, 7, 8, 12],  # with an offset, without one (read as UTC), Z, null, space and +HHMM
        {
            1: [("schema", "happened_at", REASONS["timestamp"]["not_datetime"])],
            2: [("schema", "happened_at", REASONS["timestamp"]["not_datetime"])],
            3: [("schema", "happened_at", REASONS["timestamp"]["too_precise"])],
            4: [("schema", "happened_at", REASONS["timestamp"]["not_datetime"])],
            # Python parses these, the target does not store them: a week date, an offset with seconds,
            # a decimal comma
            9: [("schema", "happened_at", REASONS["timestamp"]["not_datetime"])],
            10: [("schema", "happened_at", REASONS["timestamp"]["not_datetime"])],
            11: [("schema", "happened_at", REASONS["timestamp"]["not_datetime"])],
        },
    ),
    # one chunk of BATCH lines whose date-times the engine tests at once: bad values in the middle and
    # on the last line, next to values only a test of each value accepts (an offset of hours)
    "datetime_chunk": (
        [1, 2, 4, 6, 8],  # leap days of 2024 and 2000, `+05`, no offset, nulls
        {
            3: [("schema", "at", REASONS["timestamp"]["not_datetime"])],  # 2025-02-29
            5: [("schema", "until", REASONS["timestamp"]["too_precise"])],
            7: [("schema", "at", REASONS["timestamp"]["not_datetime"])],  # a lowercase z
            9: [("schema", "until", REASONS["timestamp"]["not_datetime"])],  # 1900-02-29
        },
    ),
    # the default rule `mod_ts_datetime` on a property without a format (no schema check of its form): it
    # passes only the date-times the target stores, not everything `datetime.fromisoformat` reads
    "datetime_rule": (
        [1, 5, 12, 15],  # an offset, a space and no offset, an offset of hours, +HHMM
        {
            n: [("mod_ts_datetime", "mod_ts", REASONS["timestamp"][reason])]
            for n, reason in {
                2: "not_datetime",  # an hour alone
                3: "not_datetime",  # a basic-format date
                4: "not_datetime",  # a week date
                6: "too_precise",
                7: "not_datetime",  # a date alone
                8: "not_datetime",  # a lowercase t
                9: "not_datetime",  # a basic-format date-time
                10: "not_datetime",  # no seconds
                11: "not_datetime",  # an offset with seconds
                13: "not_datetime",  # 2025-02-29
                14: "not_datetime",  # its UTC instant is before year 1
            }.items()
        },
    ),
    "date_format": (
        [2],
        {
            1: [("schema", "due", REASONS["date"]["not_date"])],
            3: [("schema", "due", REASONS["date"]["not_date"])],
            4: [("schema", "due", REASONS["date"]["not_date"])],
            5: [("schema", "due", REASONS["date"]["not_date"])],  # a week date
        },
    ),
    "empty_string_key": (
        [2],  # an empty string outside the key is stored (as NULL)
        {1: [("schema", "code", REASONS["string"]["empty_key"])]},
    ),
    "long_key": (
        [2, 3],  # 4000 bytes in a key, and a long text outside the key (a CLOB), are stored
        {1: [("schema", "code", REASONS["string"]["long_key"])]},
    ),
    "key_not_storable": (
        [3],
        {
            1: [("schema", "id", REASONS["integer"]["too_large"])],
            2: [("schema", "code", REASONS["string"]["empty_key"])],
        },
    ),
    "long_string": ([1], {}),  # 10,000 bytes with maxLength 25: the target widens to CLOB
    "nulls_and_missing": (
        [1, 2],
        {
            3: [("schema", "code", "code must be string, got None")],
            4: [("schema", "id", "id is required but missing"), ("id_not_null", "id", "must not be null")],
            5: [("schema", "id", "id must be integer, got None"), ("id_not_null", "id", "must not be null")],
        },
    ),
    "nested_objects_and_arrays": (
        [1],
        {
            2: [("schema", "payload", "payload.at: " + REASONS["timestamp"]["not_datetime"])],
            3: [("schema", "payload", "payload.kind is required but missing")],
            4: [("schema", "tags", "tags[] must be string, got 5")],
            5: [("schema", "lines", "lines[].qty must be number, got 'many'")],
            6: [("schema", "payload", "payload.n must be integer, got 1.5")],
        },
    ),
    "unicode_names": (
        [1],
        {
            2: [
                ("schema", "größe", "größe must be number or null, got 'big'"),
                ("schema", "a b", REASONS["integer"]["too_large"]),
            ]
        },
    ),
    "quote_in_name": (
        [1],
        {
            2: [
                ("schema", 'he said "hi"', "must be integer or null, got 'seven'"),
                ("schema", "line\nbreak '''", REASONS["integer"]["too_large"]),
            ]
        },
    ),
    "sdc_names": ([1], {}),
    # values at the edges of the typed decode of BATCH lines (engine.py): they pass or are refused as the
    # decode into a dict has them, whether the typed decode reads them or leaves them to the dict
    "typed_decode_boundaries": (
        [1, 2, 3, 4, 5, 7, 8, 10, 11, 13, 14],  # 1.0, -0.0, int64 and beyond, escapes, duplicate keys
        {
            6: [("schema", "qty", REASONS["integer"]["too_large"])],
            9: [("schema", "code", "code must be string or null, got 5")],  # the last value of a key
            12: [("schema", "at", REASONS["timestamp"]["not_datetime"])],  # a lowercase t
            15: [("schema", "at", REASONS["timestamp"]["not_datetime"])],  # a non-ASCII digit
            16: [("schema", "qty", "qty must be integer or null, got True")],
        },
    ),
}

_decode = msgspec.json.Decoder(float_hook=decimal.Decimal).decode


class _Message(msgspec.Struct):
    type: str
    record: msgspec.Raw = msgspec.Raw(b"")


def fixture_lines(case: str) -> list[bytes]:
    return (DATA / f"{case}.singer").read_bytes().splitlines()


def record_texts(lines: list[bytes]) -> list[bytes]:
    """The JSON text of each RECORD's record, exactly as in the file."""
    messages = [msgspec.json.decode(line, type=_Message) for line in lines]
    return [bytes(m.record) for m in messages if m.type == "RECORD"]


def read_file(url: str) -> list[bytes]:
    path = Path(url.removeprefix("file://"))
    data = path.read_bytes()
    return (gzip.decompress(data) if path.name.endswith(".gz") else data).splitlines()


class Outcome(t.NamedTuple):
    passed: list[bytes]  # passed records as JSON text, as written
    rejected: list[dict]  # quarantine rows


def run_record_mode(run_mapper, case: str, tmp_path: Path) -> Outcome:
    lines = fixture_lines(case)
    result = run_mapper({}, [line.decode() for line in lines])
    assert result.returncode == 0, result.stderr[-3000:]
    out = [line.encode() for line in result.stdout.splitlines()]
    passed_lines = [line for line in out if line.startswith(b'{"type":"RECORD","stream":"edge"')]
    # a passed RECORD message is the input line itself
    assert set(passed_lines) <= set(lines)
    messages = map(_decode, out)
    rejected = [m["record"] for m in messages if m.get("stream") == "edge_rejected" and "record" in m]
    return Outcome(record_texts(passed_lines), rejected)


def run_batch_mode(run_mapper, case: str, tmp_path: Path) -> Outcome:
    lines = fixture_lines(case)
    source = tmp_path / "records.jsonl"
    source.write_bytes(b"".join(text + b"\n" for text in record_texts(lines)))
    batch = {
        "type": "BATCH",
        "stream": "edge",
        "encoding": {"format": "jsonl", "compression": "none"},
        "manifest": [source.as_uri()],
    }
    result = run_mapper({}, [lines[0].decode(), json.dumps(batch)])
    assert result.returncode == 0, result.stderr[-3000:]
    manifests = {m["stream"]: m["manifest"] for m in result.of("BATCH")}
    passed = [line for url in manifests.get("edge", []) for line in read_file(url)]
    rejected = [_decode(line) for url in manifests.get("edge_rejected", []) for line in read_file(url)]
    return Outcome(passed, rejected)


@pytest.mark.parametrize("mode", ["record", "batch"])
@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_edge_case_outcome_is_the_storage_contracts(case, mode, run_mapper, tmp_path):
    passes, rejects = EXPECTED[case]
    texts = record_texts(fixture_lines(case))
    records = [_decode(text) for text in texts]
    run = run_record_mode if mode == "record" else run_batch_mode
    outcome = run(run_mapper, case, tmp_path)

    assert outcome.passed == [texts[n - 1] for n in passes]  # byte for byte, in order
    got = {records.index(row["record"]) + 1: row for row in outcome.rejected}
    assert sorted(got) == sorted(rejects)
    for number, expected in rejects.items():
        row = got[number]
        violations = [(v["rule"], v["field"], v["message"]) for v in row["violations"]]
        assert [(rule, field) for rule, field, _ in violations] == [(r, f) for r, f, _ in expected]
        for (_, _, message), (_, _, words) in zip(violations, expected, strict=True):
            assert words in message
        assert row["rule_names"] == ",".join(dict.fromkeys(rule for rule, _, _ in expected))


@pytest.mark.parametrize("mode", ["record", "batch"])
def test_quarantine_row_holds_only_keys_the_target_can_store(mode, run_mapper, tmp_path):
    """A key the target could not store is null in the quarantine row (the record keeps it), so the
    quarantine row itself always loads."""
    run = run_record_mode if mode == "record" else run_batch_mode
    rows = run(run_mapper, "key_not_storable", tmp_path).rejected
    assert [(row["id"], row["code"]) for row in rows] == [(None, "A"), (7, None)]
    assert rows[0]["record"]["id"] == 10**41


def test_every_fixture_has_an_expectation():
    assert sorted(p.stem for p in DATA.glob("*.singer")) == sorted(EXPECTED)


def test_contract_limits_come_from_the_packaged_file():
    """The mapper reads the target's table (the packaged link), not numbers of its own."""
    contract = load()
    assert contract.integer_limit == 10 ** CONTRACT["kinds"]["integer"]["precision"]
    assert contract.number_scale == CONTRACT["kinds"]["number"]["scale"]
    assert contract.number_integer_digits == 28
    assert contract.fraction_digits == CONTRACT["kinds"]["timestamp"]["fraction_digits"]
    assert contract.reason("integer", "too_large") == "integer beyond NUMBER(38)"


@pytest.mark.parametrize(
    ("schema", "kind"),
    [
        ({"type": "integer"}, "integer"),
        ({"type": ["integer", "null"]}, "integer"),
        ({"type": ["integer", "number"]}, "number"),
        ({"type": ["string", "integer"]}, "string"),
        ({"type": ["object", "string"]}, "json"),
        ({"type": "string", "format": "date-time"}, "timestamp"),
        ({"type": ["string", "null"], "format": "date"}, "date"),
        ({"type": "string", "maxLength": 25}, "string"),
        ({"type": "string", "maxLength": 5000}, "clob"),
        ({"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]}, "timestamp"),
        ({"anyOf": [{"type": "integer"}, {"type": "string"}]}, "string"),
        ({"properties": {"a": {"type": "integer"}}}, "json"),
        ({}, "string"),
        (True, "string"),
        ({"anyOf": [True, {"type": "integer"}]}, "integer"),
    ],
)
def test_a_property_becomes_the_kind_of_column_the_target_makes(schema, kind):
    assert kind_of(schema) == kind
    # the target's own decision: its module, linked into this package
    assert kind_of.__module__ == "mapper_wms_validate.storage_contract"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1.0", None),
        ("0.0000000001", None),
        ("0.00000000010", None),
        ("0.00000000001", "more than 10 decimal places"),
        ("1E-11", "more than 10 decimal places"),
        ("0E-30", None),
        ("-9999999999999999999999999999.5", None),
        ("1E+28", "number beyond NUMBER(38,10)"),
        ("-1E+28", "number beyond NUMBER(38,10)"),
        ("NaN", "not a finite number"),
    ],
)
def test_numbers_are_judged_from_their_exact_digits(text, problem):
    check = contract_check("number", "amount")
    message = check(decimal.Decimal(text))
    assert (message is None) if problem is None else (problem in message)

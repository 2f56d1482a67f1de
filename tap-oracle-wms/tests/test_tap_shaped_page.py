"""A recorded allocation page (tests/fixtures), decoded and shaped as a sync does, gives exactly the
recorded RECORD payloads: every value, key and digit of docs/data-contract.md section 2.

The page is the simulator's, with edge cases written into some of its records: a foreign key as an
integer, as null, as an object without `id` or `key`; decimals as `""`, as a JSON number, with 30
digits; timestamps in `Z`, without offset, with a `+05:30` offset, across a day, month and leap day;
a `*_set` link; a field `describe` does not list; a record with only four of its fields.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import requests
from singer_sdk.contrib.msgspec import encoder as record_encoder
from tap_oracle_wms.discovery import describe_to_entity
from tap_oracle_wms.http import check_response
from tap_oracle_wms.pagination import page_records
from tap_oracle_wms.shaping import RecordShaper

FIXTURES = Path(__file__).parent / "fixtures"


def shaped_lines(caplog) -> list[bytes]:
    """The fixture page through the tap's decoder and shaper, encoded as the RECORD payloads are."""
    logger = logging.getLogger("test")
    entity = describe_to_entity(
        "allocation", json.loads((FIXTURES / "allocation_describe.json").read_text()), logger
    )
    response = requests.Response()
    response.status_code = 200
    response._content = (FIXTURES / "allocation_page.json").read_bytes()
    response.url = "https://tenant.example/prod/wms/lgfapi/v10/entity/allocation/"
    shaper = RecordShaper("allocation", entity.plan, logger)
    with caplog.at_level(logging.WARNING):
        body = check_response(response, auth_method="basic", decode=shaper.decode_page)
        records = [shaper.shape(raw) for raw in page_records(body)]
    return record_encoder.encode_lines(records).splitlines()


def test_tap_recorded_page_shaped_exactly(caplog):
    expected = (FIXTURES / "allocation_page.shaped.jsonl").read_bytes().splitlines()
    got = shaped_lines(caplog)
    assert len(got) == len(expected) == 30
    for number, (line, want) in enumerate(zip(got, expected, strict=True)):
        assert json.loads(line) == json.loads(want), f"record {number}"
        assert line == want, f"record {number}: same content, different text"
    assert sum("surprise" in r.getMessage() for r in caplog.records) == 1
    assert sum("without offset" in r.getMessage() for r in caplog.records) == 1

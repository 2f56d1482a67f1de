"""docs/data-contract.md renders target-oracle's storage contract: the table there equals the JSON file."""

from __future__ import annotations

from pathlib import Path

from target_oracle.contract import markdown_table

DOC = Path(__file__).resolve().parents[1] / "docs" / "data-contract.md"


def test_the_storage_contract_table_in_the_docs_matches_the_json():
    text = DOC.read_text(encoding="utf-8")
    rendered = text.split("<!-- storage-contract:start -->\n", 1)[1].split(
        "\n<!-- storage-contract:end -->", 1
    )[0]
    assert rendered == markdown_table(), (
        "re-render it: python -c 'from target_oracle.contract import *; print(markdown_table())'"
    )


def test_the_mappers_contract_is_the_targets_file():
    root = DOC.parents[1]
    mapper = root / "mapper-wms-validate" / "mapper_wms_validate" / "storage_contract.json"
    target = root / "target-oracle" / "target_oracle" / "storage_contract.json"
    assert mapper.read_bytes() == target.read_bytes()

"""The Singer SDK's standard target tests, run on an embedded DuckDB file."""

from __future__ import annotations

import tempfile
from pathlib import Path

from singer_sdk.testing import get_target_test_class
from target_oracle.target import TargetOracle

# A real file (not :memory:) so every sink of a test writes into the same database.
_DB = Path(tempfile.mkdtemp(prefix="target-oracle-sdk-")) / "sdk.duckdb"

TestTargetOracleStandard = get_target_test_class(
    TargetOracle,
    config={"sqlalchemy_url": f"duckdb:///{_DB}", "default_target_schema": "SDK_TESTS"},
)

"""The Singer SDK's standard target tests, run on an embedded DuckDB file."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from singer_sdk.testing import get_target_test_class
from target_oracle.target import TargetOracle

# A real file (not :memory:) so every sink of a test writes into the same database.
_DB = Path(tempfile.mkdtemp(prefix="target-oracle-sdk-")) / "sdk.duckdb"
# the class takes its config when it is made, so the folder outlives any fixture: removed at exit
atexit.register(shutil.rmtree, _DB.parent, ignore_errors=True)

TestTargetOracleStandard = get_target_test_class(
    TargetOracle,
    config={"sqlalchemy_url": f"duckdb:///{_DB}", "default_target_schema": "SDK_TESTS"},
)

"""Oracle target class."""

from __future__ import annotations

from singer_sdk import typing as th
from singer_sdk.target_base import SQLTarget

from target_oracle.sinks import OracleSink


class TargetOracle(SQLTarget):
    """Singer target that bulk-upserts into Oracle or an embedded DuckDB file."""

    name = "target-oracle"
    default_sink_class = OracleSink

    config_jsonschema = th.PropertiesList(
        th.Property("sqlalchemy_url", th.StringType, secret=True, description="SQLAlchemy URL."),
    ).to_dict()


if __name__ == "__main__":
    TargetOracle.cli()

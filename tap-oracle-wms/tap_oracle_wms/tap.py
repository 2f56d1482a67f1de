"""Oracle WMS Cloud tap class."""

from __future__ import annotations

from singer_sdk import Stream, Tap
from singer_sdk import typing as th


class TapOracleWMS(Tap):
    """Singer tap for the Oracle WMS Cloud LGF REST API."""

    name = "tap-oracle-wms"

    config_jsonschema = th.PropertiesList(
        th.Property(
            "base_url",
            th.StringType,
            required=True,
            description="Tenant URL including the environment, e.g. https://tenant.wms.ocs.oraclecloud.com/prod",
        ),
    ).to_dict()

    def discover_streams(self) -> list[Stream]:
        return []


if __name__ == "__main__":
    TapOracleWMS.cli()

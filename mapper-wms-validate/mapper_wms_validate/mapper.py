"""Validation mapper class."""

from __future__ import annotations

import typing as t

import singer_sdk.singerlib as singer
from singer_sdk import typing as th
from singer_sdk.mapper_base import InlineMapper


class WmsValidateMapper(InlineMapper):
    """Enforces data-quality rules on Singer records."""

    name = "mapper-wms-validate"

    config_jsonschema = th.PropertiesList(
        th.Property("on_invalid", th.StringType, default="quarantine", description="Default action."),
    ).to_dict()

    def map_schema_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        yield singer.SchemaMessage.from_dict(message_dict)

    def map_record_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        yield singer.RecordMessage.from_dict(message_dict)

    def map_state_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        yield singer.StateMessage.from_dict(message_dict)

    def map_activate_version_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        yield singer.ActivateVersionMessage.from_dict(message_dict)


if __name__ == "__main__":
    WmsValidateMapper.cli()

"""Oracle WMS Cloud tap: settings and stream discovery (`/entity/`, then `/describe/` per entity)."""

from __future__ import annotations

import gc
from functools import cached_property

from singer_sdk import Tap
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError

from tap_oracle_wms.discovery import describe_to_entity
from tap_oracle_wms.errors import WmsAuthError
from tap_oracle_wms.http import WmsApi
from tap_oracle_wms.settings import CONFIG_SCHEMA, hide_secret_values, validate_settings
from tap_oracle_wms.streams import EntityStream
from tap_oracle_wms.writer import WmsMessageWriter

# During a sync the cyclic garbage collector runs after this many new container objects (Python's default:
# 700). Every page decodes into some 14,000 dicts, all freed by reference counting, so the default ran a
# collection every few dozen records and a full one (over every object of the process) every few pages.
SYNC_GC_THRESHOLD = (10_000, 10, 10)


class TapOracleWMS(Tap):
    """Singer tap for the Oracle WMS Cloud LGF REST API."""

    name = "tap-oracle-wms"
    # The catalog comes from the API's describe: settings are validated before discovery too.
    dynamic_catalog = True
    message_writer_class = WmsMessageWriter
    config_jsonschema = CONFIG_SCHEMA

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """JSON Schema checks plus the cross-field rules, with secrets hidden from every message."""
        errors = [hide_secret_values(e, self.config) for e in super()._validate_config(raise_errors=False)]
        errors += validate_settings(self.config)
        if errors and raise_errors:
            raise ConfigValidationError("Config validation failed", errors=errors)
        return errors

    @cached_property
    def api(self) -> WmsApi:
        """The run's session, credentials (token cache) and retry policy."""
        return WmsApi(self.config, self.logger)

    def sync_all(self) -> None:
        """The SDK's sync, with the collector tuned for it: what exists before the sync (modules, the SDK,
        the catalog) is frozen out of its passes, and it runs after `SYNC_GC_THRESHOLD` new objects.
        Both are restored when the sync ends."""
        threshold = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(*SYNC_GC_THRESHOLD)
        try:
            super().sync_all()
        finally:
            gc.set_threshold(*threshold)
            gc.unfreeze()

    def selected_entity_names(self) -> list[str]:
        """`entities`, with `["*"]` expanded to what the API lists; names it does not list fail."""
        listed = self.api.list_entities()
        wanted = list(self.config.get("entities") or [])
        if wanted == ["*"]:
            self.logger.info("Discovered %d entities at %s", len(listed), self.api.entity_url())
            return listed
        unknown = [name for name in wanted if name not in listed]
        if listed and unknown:
            raise FatalAPIError(
                f"Setting 'entities' names {unknown} which the API does not list "
                f"({len(listed)} entities listed, e.g. {listed[:5]})"
            )
        return wanted

    def discover_streams(self) -> list[EntityStream]:
        wildcard = list(self.config.get("entities") or []) == ["*"]
        streams = []
        for name in self.selected_entity_names():
            try:
                payload = self.api.describe(name)
                description = describe_to_entity(name, payload, self.logger)
            except WmsAuthError:
                raise
            except (FatalAPIError, ValueError) as exc:
                if not wildcard:
                    raise FatalAPIError(f"Discovery of entity '{name}' failed: {exc}") from exc
                self.logger.warning("Entity '%s' skipped: its describe failed (%s)", name, exc)
                continue
            streams.append(EntityStream(self, description))
        return streams


if __name__ == "__main__":
    TapOracleWMS.cli()

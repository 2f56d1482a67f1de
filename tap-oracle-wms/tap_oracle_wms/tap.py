"""Oracle WMS Cloud tap: settings and stream discovery (`/entity/`, then `/describe/` per entity)."""

from __future__ import annotations

import copy
import io
import json
import os
import typing as t
from functools import cached_property

import click
from singer_sdk import Tap
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError

from tap_oracle_wms.discovery import describe_to_entity
from tap_oracle_wms.errors import WmsAuthError, WmsStateError, errors_exit
from tap_oracle_wms.http import WmsApi
from tap_oracle_wms.settings import (
    CONFIG_SCHEMA,
    environment_settings,
    future_start_date_warning,
    hide_secret_values,
    insecure_url_warning,
    object_setting_errors,
    unknown_settings,
    validate_settings,
)
from tap_oracle_wms.state import check_state
from tap_oracle_wms.streams import EntityStream


class TapOracleWMS(Tap):
    """Singer tap for the Oracle WMS Cloud LGF REST API."""

    name = "tap-oracle-wms"
    # The catalog comes from the API's describe: settings are validated before discovery too.
    dynamic_catalog = True
    # The SDK's msgspec writer: Decimal as exact JSON numbers, every message written and flushed at once.
    message_writer_class = MsgSpecWriter
    config_jsonschema = CONFIG_SCHEMA

    # `_validate_config` is the SDK's one validation step, run by its constructor; it has no public hook
    # for checks JSON Schema cannot express or for keeping secrets out of its messages.
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """JSON Schema checks plus the cross-field rules, with secrets hidden from every message; a
        warning for each setting name the tap does not know, and for plain HTTP to another host."""
        errors = object_setting_errors(self.config, self.config_jsonschema) or [
            hide_secret_values(e, self.config) for e in super()._validate_config(raise_errors=False)
        ]
        errors += validate_settings(self.config)
        for name in unknown_settings(self.config, self.config_jsonschema):
            self.logger.warning("Setting '%s' is not a setting of %s; it is ignored", name, self.name)
        for warning in (insecure_url_warning(self.config), future_start_date_warning(self.config)):
            if warning:
                self.logger.warning(warning)
        if errors and raise_errors:
            raise ConfigValidationError("Config validation failed", errors=errors)
        return errors

    # The SDK runs `--discover` and `--test` in these click callbacks, a sync in `invoke`: each runs
    # inside `errors_exit`, so a user's error ends the tap with one ERROR line and exit code 1.
    @classmethod
    def invoke(cls, *args: t.Any, **kwargs: t.Any) -> None:  # type: ignore[override]
        """The SDK's sync entry (see `errors_exit`); a `--state` file that is not JSON fails with one line
        naming it (the SDK parses it with a traceback, and reads a JSON string as a file name)."""
        with errors_exit(cls.logger):
            state = kwargs.get("state")
            if state is not None:
                text = state.read()
                name = getattr(state, "name", "")
                try:
                    content = json.loads(text)
                except ValueError as exc:
                    raise WmsStateError(f"State file {name} cannot be read as JSON: {exc}") from None
                if not isinstance(content, dict):
                    raise WmsStateError(
                        f"State file {name} must hold a JSON object, not {type(content).__name__}"
                    )
                kwargs["state"] = io.StringIO(text)
            super().invoke(*args, **kwargs)

    @classmethod
    def cb_discover(cls, ctx: click.Context, param: click.Option, value: bool) -> None:
        """The SDK's `--discover` (see `errors_exit`)."""
        with errors_exit(cls.logger):
            super().cb_discover(ctx, param, value)

    @classmethod
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        """The SDK's `--test` (see `errors_exit`)."""
        with errors_exit(cls.logger):
            super().cb_test(ctx, param, value)

    @classmethod
    def cb_config(cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]) -> t.Any:
        """`--config` files; one that is not a JSON object fails with one line naming it. `ENV`: the
        variables are read here (`environment_settings`), over the files, and each that does not read
        as its setting's type fails with one line naming it."""
        for path in value:
            if path == "ENV":
                continue
            try:
                with open(path, encoding="utf-8") as file:
                    content = json.load(file)
            except (OSError, ValueError) as exc:
                raise click.BadParameter(f"config file {path} cannot be read as JSON: {exc}") from None
            if not isinstance(content, dict):
                raise click.BadParameter(
                    f"config file {path} must hold a JSON object, not {type(content).__name__}"
                )
        config_input = super().cb_config(ctx, param, tuple(path for path in value if path != "ENV"))
        if "ENV" in value:
            schema = copy.deepcopy(cls.config_jsonschema)
            cls.append_builtin_config(schema)
            prefix = f"{cls.name.upper().replace('-', '_')}_"
            settings, errors = environment_settings(schema, os.environ, prefix)
            if errors:
                raise click.BadParameter("; ".join(errors))
            config_input.config.update(settings)
        return config_input

    def load_state(self, state: dict[str, t.Any]) -> None:
        """The SDK's documented place to check a state before it is used (see `check_state`)."""
        check_state(state)
        super().load_state(state)

    @cached_property
    def api(self) -> WmsApi:
        """The run's session, credentials (token cache) and retry policy."""
        return WmsApi(self.config, self.logger)

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

    def catalog_selects(self, name: str) -> bool:
        """Whether the run's input catalog selects entity `name`: a sync asked for it, so an entity that
        cannot be described fails the run instead of being skipped (as `["*"]` discovery skips it)."""
        entry = self.input_catalog.get_stream(name) if self.input_catalog is not None else None
        return entry is not None and bool(entry.metadata.resolve_selection()[()])

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
                if not wildcard or self.catalog_selects(name):
                    raise FatalAPIError(f"Discovery of entity '{name}' failed: {exc}") from exc
                self.logger.warning("Entity '%s' skipped: its describe failed (%s)", name, exc)
                continue
            streams.append(EntityStream(self, description))
        return streams


if __name__ == "__main__":
    TapOracleWMS.cli()

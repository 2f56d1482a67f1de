"""The `tap-oracle-wms` command: `--discover` without importing the Singer SDK, everything else through it.

Meltano runs `tap-oracle-wms --config FILE --discover` before every `meltano run`; importing the Singer SDK
(and what it imports: fsspec, upath, jsonschema, joblib, ...) is most of that run's CPU time, while
discovery itself is two to four small GET requests. `main` answers exactly that form of the command with
the SDK's catalog, byte for byte, built here from the same describe mapping (`describe_to_entity`), and
hands every other command line, and every discovery it is not sure to answer as the SDK would, to the
SDK's CLI (`TapOracleWMS.cli`) untouched:

- only `--config FILE` (one or more; not `ENV`) and `--discover`, nothing else;
- settings the SDK's JSON Schema check surely accepts (the types, enums and required keys of
  `config_schema.json`, a copy of `CONFIG_SCHEMA` that a test keeps equal to it; no key outside it) and
  `validate_settings` accepts; basic auth; a log level of INFO or above; a `SINGER_SDK_LOG_CONFIG` file
  (Meltano writes one for every run) applied as the SDK applies it, if it is JSON;
- every request answered 200 with JSON, every entity named in `entities` listed by the API, every describe
  mapped without error.

Otherwise the SDK runs the whole discovery again from the start (its retries, its error messages). The
only trace of the attempt is then the requests already sent, at most one of them failed or refused.
"""

from __future__ import annotations

import json
import logging
import logging.config
import os
import re
import sys
import typing as t
from pathlib import Path

import requests

from tap_oracle_wms.discovery import (
    KEY_PROPERTY,
    WILDCARD_LOG,
    EntityDescription,
    choose_entities,
    describe_to_entity,
    entity_names_from_listing,
)
from tap_oracle_wms.rules import validate_settings
from tap_oracle_wms.wire import api_root, describe_url, entity_url, json_decoder, make_session

NAME = "tap-oracle-wms"
# The settings' JSON Schema (`tap_oracle_wms.settings.CONFIG_SCHEMA`, as the SDK's `--about` shows it).
SCHEMA_FILE = Path(__file__).with_name("config_schema.json")
# The SDK's console log format (singer_sdk.logging.DEFAULT_FORMAT).
LOG_FORMAT = "{asctime:23s} | {levelname:8s} | {name:30s} | {message}"
LOG_LEVELS = ("INFO", "WARNING", "ERROR", "CRITICAL")
# A logging configuration file the SDK applies (`logging.config.dictConfig`) after its console logging:
# Meltano sets it for every plugin it runs (a JSON file). Read here as JSON; a file that is not JSON (the SDK
# reads YAML) or cannot be read leaves the discovery to the SDK.
LOG_CONFIG_VARIABLE = "SINGER_SDK_LOG_CONFIG"
# The order in which the SDK's `Schema.to_dict` writes a JSON Schema's keywords (after `properties`).
SCHEMA_KEY_ORDER = (
    "title", "description", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
    "maxLength", "minLength", "format", "type", "default", "required", "enum", "pattern",
    "contentMediaType", "contentEncoding", "deprecated", "additionalProperties", "anyOf",
    "patternProperties", "allOf", "oneOf", "x-sql-datatype", "x-sql-datatype-properties",
)  # fmt: skip
# JSON Schema keywords `_surely_valid` checks, and those that do not constrain a value.
_CHECKED = {"type", "properties", "items", "enum", "required", "additionalProperties", "format"}
_ANNOTATIONS = {"title", "description", "examples", "default", "secret", "writeOnly", "$schema"}
# RFC 3339 date-time (what a `format: date-time` check asks at most).
_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")


class _Unsure(Exception):
    """This discovery is left to the SDK."""


def main() -> t.Any:
    """The `tap-oracle-wms` command."""
    paths = discovery_config_paths(sys.argv[1:])
    if paths is not None:
        text = quick_catalog_text(paths)
        if text is not None:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
            return 0
    from tap_oracle_wms.tap import TapOracleWMS

    return TapOracleWMS.cli()


def discovery_config_paths(args: list[str]) -> list[str] | None:
    """The config files of `--config FILE [--config FILE ...] --discover` (in any order), else None."""
    paths: list[str] = []
    discover = 0
    rest = iter(args)
    for arg in rest:
        if arg == "--discover":
            discover += 1
        elif arg == "--config":
            paths.append(next(rest, ""))
        elif arg.startswith("--config="):
            paths.append(arg.split("=", 1)[1])
        else:
            return None
    if discover != 1 or not paths or any(not path or path == "ENV" for path in paths):
        return None
    return paths


def quick_catalog_text(paths: list[str]) -> str | None:
    """The catalog `TapOracleWMS --discover` prints for these config files, or None to leave it to the SDK."""
    level = os.environ.get(f"{NAME.upper().replace('-', '_')}_LOGLEVEL") or os.environ.get("LOGLEVEL")
    level = (level or "INFO").upper()
    if level not in LOG_LEVELS:
        return None
    log = _Log()
    try:
        if LOG_CONFIG_VARIABLE in os.environ:
            log.config = json.loads(Path(os.environ[LOG_CONFIG_VARIABLE]).read_text())
        config: dict[str, t.Any] = {}
        for path in paths:
            config.update(json.loads(Path(path).read_text(encoding="utf-8")))
        log.info("Skipping parse of env var settings...")
        _surely_valid(config, json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))
        if validate_settings(config) or config.get("auth_method", "basic") != "basic":
            return None
        descriptions = _discover(config, log)
        text = catalog_json_text(descriptions)
    except Exception:  # anything unexpected: the SDK discovers, and reports it its own way
        return None
    log.emit(level)
    return text


def _discover(config: dict[str, t.Any], log: _Log) -> list[EntityDescription]:
    """`TapOracleWMS.discover_streams`'s descriptions: one GET for the entity list, one per describe."""
    session = make_session(config)
    auth = requests.auth.HTTPBasicAuth(config["username"], config["password"])
    timeout = float(config.get("request_timeout", 60))
    decoder = json_decoder()

    def get(url: str) -> t.Any:
        response = session.get(url, auth=auth, timeout=timeout)
        if response.status_code != 200:
            raise _Unsure
        return decoder.decode(response.content)

    root = api_root(config)
    listed = entity_names_from_listing(get(entity_url(root)))
    wanted = list(config.get("entities") or [])
    names, unknown = choose_entities(listed, wanted)
    if unknown or len(set(names)) != len(names):  # (the SDK keeps one stream of a name given twice)
        raise _Unsure
    if wanted == ["*"]:
        log.info(WILDCARD_LOG, len(listed), entity_url(root))
    return [describe_to_entity(name, get(describe_url(root, name)), log) for name in names]  # type: ignore[arg-type]


def _surely_valid(value: t.Any, schema: dict[str, t.Any]) -> None:
    """Raise `_Unsure` unless the SDK's JSON Schema check surely accepts `value`; fill in the defaults of
    the objects' properties as the SDK's validator does (`setdefault`)."""
    if not set(schema) <= _CHECKED | _ANNOTATIONS:
        raise _Unsure
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else types
    kinds = {
        "string": str,
        "integer": int,
        "number": (int, float),
        "boolean": bool,
        "array": list,
        "object": dict,
        "null": type(None),
    }
    if not any(
        isinstance(value, kinds[kind]) and (kind == "boolean" or not isinstance(value, bool))
        for kind in types
        if kind in kinds
    ):
        raise _Unsure
    if "enum" in schema and value is not None and value not in schema["enum"]:
        raise _Unsure
    if (
        "format" in schema
        and value is not None
        and not (schema["format"] == "date-time" and _DATE_TIME.fullmatch(value))
    ):
        raise _Unsure
    if isinstance(value, list) and "items" in schema:
        for item in value:
            _surely_valid(item, schema["items"])
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name, subschema in properties.items():
            if "default" in subschema:
                value.setdefault(name, subschema["default"])
        if any(name not in value for name in schema.get("required", ())):
            raise _Unsure
        for name, item in value.items():
            if name not in properties:
                raise _Unsure  # additional properties: left to the SDK (its own settings, typos)
            _surely_valid(item, properties[name])


def catalog_json_text(descriptions: list[EntityDescription]) -> str:
    """The SDK's catalog of these entities' streams (`Tap.catalog_json_text`: streams by name, each entry
    and schema with the SDK's keys in the SDK's order, standard metadata, all selected), as it prints it."""
    streams = [_catalog_entry(d) for d in sorted(descriptions, key=lambda d: d.name)]
    return json.dumps({"streams": streams}, indent=2, separators=(",", ":"))


def _catalog_entry(description: EntityDescription) -> dict[str, t.Any]:
    """`Stream._singer_catalog_entry.to_dict()` of an `EntityStream` discovered from `description`."""
    name, key = description.name, description.replication_key
    entry: dict[str, t.Any] = {"tap_stream_id": name}
    if key:
        entry["replication_key"] = key
    entry["replication_method"] = "INCREMENTAL" if key else "FULL_TABLE"
    entry["key_properties"] = [KEY_PROPERTY]
    entry["schema"] = _schema_dict(description.schema)
    entry["stream"] = name
    metadata: list[dict[str, t.Any]] = [
        {
            "breadcrumb": ["properties", field],
            "metadata": {"inclusion": "automatic" if field in (KEY_PROPERTY, key) else "available"},
        }
        for field in description.schema["properties"]
    ]
    root: dict[str, t.Any] = {
        "inclusion": "available",
        "selected": True,
        "selected-by-default": True,
        "table-key-properties": [KEY_PROPERTY],
    }
    if key:
        root["replication-key"] = key
        root["valid-replication-keys"] = [key]
    metadata.append({"breadcrumb": [], "metadata": root})
    entry["metadata"] = metadata
    return entry


def _schema_dict(schema: dict[str, t.Any]) -> dict[str, t.Any]:
    """`singer_sdk.singerlib.Schema.from_dict(schema).to_dict()` of a schema `describe_to_entity` built."""
    if not set(schema) <= {"properties", *SCHEMA_KEY_ORDER}:
        raise _Unsure
    result: dict[str, t.Any] = {}
    if "properties" in schema:
        result["properties"] = {name: _schema_dict(sub) for name, sub in schema["properties"].items()}
    for key in SCHEMA_KEY_ORDER:
        if schema.get(key) is not None:
            result[key] = schema[key]
    return result


class _Log:
    """Log lines held until the catalog is ready (a discovery left to the SDK logs its own), then written
    as the SDK's logging writes them: its console handler and format, then `SINGER_SDK_LOG_CONFIG`'s."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, str, tuple]] = []
        # The configuration of `SINGER_SDK_LOG_CONFIG`, if set.
        self.config: dict[str, t.Any] | None = None

    def info(self, message: str, *args: t.Any) -> None:
        self.lines.append((logging.INFO, message, args))

    def warning(self, message: str, *args: t.Any) -> None:
        self.lines.append((logging.WARNING, message, args))

    def emit(self, level: str) -> None:
        logger = logging.getLogger(NAME)
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT, style="{"))
        root = logging.getLogger()
        root.setLevel(level)
        root.addHandler(handler)
        if self.config is not None:
            logging.config.dictConfig(self.config)
        for line_level, message, args in self.lines:
            logger.log(line_level, message, *args)


__all__ = ["catalog_json_text", "discovery_config_paths", "main", "quick_catalog_text"]

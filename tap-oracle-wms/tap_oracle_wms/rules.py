"""Checks of the tap's settings that JSON Schema cannot express, and the constants they use.

Kept free of the Singer SDK (and of anything that imports it), so that `tap_oracle_wms.quick` can check
the settings of a discovery without importing the SDK. Every message names the setting and never shows
a secret's value.
"""

from __future__ import annotations

import datetime
import decimal
import os
import re
import typing as t
from urllib.parse import urlsplit

DEFAULT_ENTITIES = ["allocation", "order_hdr", "order_dtl"]
MAX_PAGE_SIZE = 1250
PAGE_MODES = ("sequenced", "paged")
AUTH_METHODS = ("basic", "oauth2")
SECRET_SETTINGS = ("password", "oauth_client_secret")
_ENTITY_NAME = re.compile(r"^[A-Za-z0-9_]+$")
# Parts of the `batch_config` setting.
DEFAULT_FORMAT = "jsonl"
DEFAULT_COMPRESSION = "gzip"
DEFAULT_STORAGE_ROOT = "output/batches"
DEFAULT_BATCH_SIZE = 10_000
FORMATS = ("jsonl", "parquet")
COMPRESSIONS = ("gzip", "none")


def validate_batch_settings(config: t.Mapping[str, t.Any]) -> list[str]:
    """Problems with `batch_config`, each naming the part (JSON Schema checks the types)."""
    raw = config.get("batch_config")
    if not raw:
        return []
    if not isinstance(raw, dict):
        return ["Setting 'batch_config' must be an object"]
    errors = []
    encoding = raw.get("encoding") or {}
    if encoding.get("format") not in (None, *FORMATS):
        errors.append(f"Setting 'batch_config.encoding.format' must be one of {', '.join(FORMATS)}")
    if encoding.get("compression") not in (None, *COMPRESSIONS):
        errors.append(f"Setting 'batch_config.encoding.compression' must be one of {', '.join(COMPRESSIONS)}")
    size = raw.get("batch_size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        errors.append(f"Setting 'batch_config.batch_size' must be a whole number of 1 or more, got {size!r}")
    return errors


def _parse_offset_datetime(value: str) -> datetime.datetime | None:
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _check_number(config: t.Mapping[str, t.Any], name: str, low: float, high: float | None) -> list[str]:
    value = config.get(name)
    if value is None:
        return []
    if isinstance(value, bool) or not isinstance(value, int | float | decimal.Decimal):
        return [f"Setting '{name}' must be a number, got {type(value).__name__}"]
    if value < low or (high is not None and value > high):
        upper = f"..{high:g}" if high is not None else " or more"
        return [f"Setting '{name}' must be {low:g}{upper}, got {value}"]
    return []


def validate_settings(config: t.Mapping[str, t.Any]) -> list[str]:
    """Problems with `config`, each naming the setting; empty when the settings are usable."""
    errors: list[str] = []
    base_url = config.get("base_url")
    if isinstance(base_url, str):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            errors.append(f"Setting 'base_url' must be an http(s) URL, got {base_url!r}")
        elif "/wms/lgfapi" in parts.path:
            errors.append(
                "Setting 'base_url' must stop at the environment (e.g. .../prod), without /wms/lgfapi/..."
            )
    api_version = config.get("api_version", "v10")
    if not isinstance(api_version, str) or not re.fullmatch(r"v\d+", api_version):
        errors.append(f"Setting 'api_version' must look like 'v10', got {api_version!r}")

    auth_method = config.get("auth_method", "basic")
    if auth_method not in AUTH_METHODS:
        errors.append(f"Setting 'auth_method' must be one of {', '.join(AUTH_METHODS)}, got {auth_method!r}")
    elif auth_method == "basic":
        errors.extend(
            f"Setting '{name}' is required with auth_method=basic"
            for name in ("username", "password")
            if not config.get(name)
        )
    else:
        errors.extend(
            f"Setting '{name}' is required with auth_method=oauth2"
            for name in ("oauth_token_url", "oauth_client_id", "oauth_client_secret")
            if not config.get(name)
        )
        if config.get("username") and not config.get("password"):
            errors.append("Setting 'password' is required when 'username' is set (OAuth2 password grant)")

    entities = config.get("entities", DEFAULT_ENTITIES)
    if not isinstance(entities, list) or not entities:
        errors.append("Setting 'entities' must be a non-empty list of entity names, or [\"*\"]")
    else:
        bad = [e for e in entities if not isinstance(e, str) or (e != "*" and not _ENTITY_NAME.match(e))]
        if bad:
            errors.append(f"Setting 'entities' has invalid entity names: {bad!r}")
        if "*" in entities and len(entities) > 1:
            errors.append("Setting 'entities': \"*\" selects every entity and cannot be combined with names")

    errors += _check_number(config, "page_size", 1, MAX_PAGE_SIZE)
    if isinstance(config.get("page_size"), float):
        errors.append("Setting 'page_size' must be a whole number")
    page_mode = config.get("page_mode", "sequenced")
    if page_mode not in PAGE_MODES:
        errors.append(f"Setting 'page_mode' must be one of {', '.join(PAGE_MODES)}, got {page_mode!r}")

    start_date = config.get("start_date")
    if start_date is not None and (
        not isinstance(start_date, str) or _parse_offset_datetime(start_date) is None
    ):
        errors.append(
            f"Setting 'start_date' must be an ISO-8601 date-time with an explicit offset "
            f"(e.g. 2025-01-01T00:00:00+00:00), got {start_date!r}"
        )
    errors += _check_number(config, "lookback_seconds", 0, None)
    errors += _check_number(config, "request_timeout", 0.001, None)
    errors += _check_number(config, "max_retries", 0, 100)
    errors += _check_number(config, "backoff_base_seconds", 0, None)
    errors += _check_number(config, "backoff_max_seconds", 0, None)
    errors += validate_batch_settings(config)
    ca_bundle = config.get("ca_bundle")
    if ca_bundle and not os.path.isfile(str(ca_bundle)):
        errors.append(f"Setting 'ca_bundle' must name a readable CA bundle file, got {ca_bundle!r}")
    return errors


def hide_secret_values(message: str, config: t.Mapping[str, t.Any]) -> str:
    """Replace any secret's value that a (JSON Schema) message quotes."""
    for name in SECRET_SETTINGS:
        value = config.get(name)
        if value and isinstance(value, str | int | float):
            message = message.replace(repr(value), "'***'").replace(str(value), "***")
    return message

"""Settings: the JSON Schema the SDK validates and documents, plus the checks JSON Schema cannot
express. Every message names the setting, and never shows a secret's value."""

from __future__ import annotations

import datetime
import decimal
import json
import os
import re
import typing as t
from urllib.parse import urlsplit

from singer_sdk import typing as th

from tap_oracle_wms.batch import (
    COMPRESSIONS,
    DEFAULT_BATCH_SIZE,
    DEFAULT_COMPRESSION,
    DEFAULT_FORMAT,
    DEFAULT_STORAGE_ROOT,
    FORMATS,
    validate_batch_settings,
)
from tap_oracle_wms.versions import EMIT_DEFAULT, EMIT_SETTING

DEFAULT_ENTITIES = ["allocation", "order_hdr", "order_dtl"]
DEFAULT_FULL_SYNC_PARTITIONS = 1
MAX_PARTITIONS = 64
MAX_PAGE_SIZE = 1250
PAGE_MODES = ("sequenced", "paged")
AUTH_METHODS = ("basic", "oauth2")
SECRET_SETTINGS = ("password", "oauth_client_secret")
# Upper bounds of the time settings: beyond them the standard library fails (a bookmark minus the look-back
# before year 1, a socket timeout or a sleep past the platform's time_t) with a traceback, not a message.
MAX_LOOKBACK_SECONDS = 100 * 365 * 24 * 3600
MAX_REQUEST_TIMEOUT = 24 * 3600
MAX_BACKOFF_SECONDS = 3600
MAX_RECONCILE_HOURS = 24 * 31
_ENTITY_NAME = re.compile(r"^[A-Za-z0-9_]+$")

CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "base_url",
        th.StringType,
        required=True,
        title="Base URL",
        description="Tenant URL including the environment, without /wms/lgfapi.",
        examples=["https://tenant.wms.ocs.oraclecloud.com/prod"],
    ),
    th.Property(
        "api_version",
        th.StringType,
        default="v10",
        description="LGF API version in the URL path (v10 is current through release 26C).",
        examples=["v10"],
    ),
    th.Property(
        "auth_method",
        th.StringType,
        default="basic",
        allowed_values=list(AUTH_METHODS),
        description="`basic` (username/password) or `oauth2` (bearer token from oauth_token_url).",
    ),
    th.Property("username", th.StringType, description="API user (basic auth; OAuth2 password grant)."),
    th.Property(
        "password",
        th.StringType,
        secret=True,
        description="API user's password (basic auth; OAuth2 password grant).",
    ),
    th.Property(
        "oauth_token_url",
        th.StringType,
        description="OAuth2 token endpoint (required with auth_method=oauth2).",
        examples=["https://idcs-tenant.identity.oraclecloud.com/oauth2/v1/token"],
    ),
    th.Property("oauth_client_id", th.StringType, description="OAuth2 client id."),
    th.Property("oauth_client_secret", th.StringType, secret=True, description="OAuth2 client secret."),
    th.Property(
        "oauth_scope",
        th.StringType,
        description="OAuth2 scope.",
        examples=["urn:resource:fusion:scm:logistics:wms:lgfapi/"],
    ),
    th.Property(
        "entities",
        th.ArrayType(th.StringType),
        default=DEFAULT_ENTITIES,
        description='Entities to expose as streams; ["*"] = every entity the API lists.',
        examples=[["allocation", "order_hdr", "order_dtl"], ["*"]],
    ),
    th.Property(
        "page_size",
        th.IntegerType,
        default=MAX_PAGE_SIZE,
        description=f"Records per page, 1..{MAX_PAGE_SIZE} (the API's maximum).",
    ),
    th.Property(
        "page_mode",
        th.StringType,
        default="sequenced",
        allowed_values=list(PAGE_MODES),
        description="`sequenced` (cursor pages, Oracle's advice for extraction) or `paged` (numbered pages).",
    ),
    th.Property(
        "start_date",
        th.DateTimeType,
        description="Lower bound (mod_ts) of the first sync; ISO-8601 with an explicit offset.",
        examples=["2025-01-01T00:00:00+00:00"],
    ),
    th.Property(
        "lookback_seconds",
        th.IntegerType,
        default=300,
        description="Each incremental run starts this far behind the bookmark, to catch rows whose "
        f"mod_ts was set before they were committed (long transactions); 0..{MAX_LOOKBACK_SECONDS} "
        "(100 years).",
    ),
    th.Property(
        "read_backdated_rows",
        th.BooleanType,
        default=True,
        description="Each incremental run also reads the rows created since the bookmark minus "
        "lookback_seconds (create_ts__gte): rows created after the bookmark with an older mod_ts. "
        "Their rows never move the bookmark.",
    ),
    th.Property(
        "reconcile_hours",
        th.IntegerType,
        default=0,
        description="Late commits beyond lookback_seconds: count the rows of each of this many clock hours "
        "up to the run's lower bound (one small request per hour), keep the counts in the state, and "
        "re-read every hour whose count grew since the last run. 0 = off; at most "
        f"{MAX_RECONCILE_HOURS} (31 days).",
    ),
    th.Property(
        "full_sync_partitions",
        th.IntegerType,
        default=DEFAULT_FULL_SYNC_PARTITIONS,
        description="A full sync (no bookmark, or --full-refresh) of an entity with mod_ts is read in this "
        f"many id ranges at once (1..{MAX_PARTITIONS}), each resumable on its own; incremental runs are not "
        "affected. 1 = one cursor. A tenant answers each page in its own time, so N ranges read about N "
        "times faster until the tenant or the pipeline's CPU is the limit; 8 stays under the ~10 concurrent "
        "requests real tenants serve (Oracle warns that many concurrent large-page queries degrade a "
        "tenant). The default is 1 because that load is the tenant owner's choice: set it for full syncs.",
    ),
    th.Property(
        "partition_count",
        th.IntegerType,
        default=1,
        description="Partition jobs: this many Meltano jobs (each on its own worker and state id) together "
        "do one full sync, each reading one slice of the id line (see partition_index). 1 = off.",
    ),
    th.Property(
        "partition_index",
        th.IntegerType,
        default=0,
        description="Partition jobs: the slice this run reads, 0..partition_count-1.",
    ),
    th.Property("company_code", th.StringType, description="Narrow every request with company_id__code."),
    th.Property("facility_code", th.StringType, description="Narrow every request with facility_id__code."),
    th.Property(
        "request_timeout",
        th.NumberType,
        default=60,
        description=f"Seconds to wait for each HTTP response; 0.001..{MAX_REQUEST_TIMEOUT}.",
    ),
    th.Property(
        "max_retries",
        th.IntegerType,
        default=8,
        description="Retries of a failed request (429, 5xx, timeout, reset, truncated body) before the run "
        "fails; with the default backoff they span about three minutes; 0..100.",
    ),
    th.Property(
        "verify_tls",
        th.BooleanType,
        default=True,
        description="Verify the server's TLS certificate. False takes effect even when REQUESTS_CA_BUNDLE "
        "or CURL_CA_BUNDLE is set.",
    ),
    th.Property(
        "ca_bundle",
        th.StringType,
        description="Path to a CA bundle file used to verify TLS; wins over REQUESTS_CA_BUNDLE and "
        "CURL_CA_BUNDLE.",
    ),
    th.Property(
        "backoff_base_seconds",
        th.NumberType,
        default=1.0,
        description="First retry delay; each retry doubles it (plus up to 25% jitter); "
        f"0..{MAX_BACKOFF_SECONDS}.",
    ),
    th.Property(
        "backoff_max_seconds",
        th.NumberType,
        default=60.0,
        description="Longest delay between retries (a longer Retry-After is still honoured); "
        f"0..{MAX_BACKOFF_SECONDS}.",
    ),
    th.Property(
        "batch_config",
        th.ObjectType(
            th.Property(
                "encoding",
                th.ObjectType(
                    th.Property(
                        "format",
                        th.StringType,
                        default=DEFAULT_FORMAT,
                        allowed_values=list(FORMATS),
                        description="Batch file format: `jsonl` (one record per line) or `parquet`.",
                    ),
                    th.Property(
                        "compression",
                        th.StringType,
                        default=DEFAULT_COMPRESSION,
                        allowed_values=list(COMPRESSIONS),
                        description="`gzip` or `none` (Parquet: the codec inside the file).",
                    ),
                ),
                description="Format and compression of the batch files.",
            ),
            th.Property(
                "storage",
                th.ObjectType(
                    th.Property(
                        "root",
                        th.StringType,
                        default=DEFAULT_STORAGE_ROOT,
                        description="Directory or fsspec URL the batch files are written under; a relative "
                        "path is taken from the working directory (Meltano: the project root).",
                    ),
                    th.Property(
                        "prefix",
                        th.StringType,
                        description="Prefix of every batch file name.",
                    ),
                ),
                description="Where the batch files are written.",
            ),
            th.Property(
                "batch_size",
                th.IntegerType,
                default=DEFAULT_BATCH_SIZE,
                description="Records per batch file; a STATE message follows each file, so a killed run "
                "resumes after the last complete file.",
            ),
        ),
        description="BATCH mode: records are written to files and one BATCH message per file is emitted "
        "instead of RECORD messages. Absent (the default) = record mode; `{}` = BATCH mode with "
        "every default (gzip JSONL under output/batches, 10,000 records per file).",
        examples=[
            {"encoding": {"format": "jsonl", "compression": "gzip"}, "storage": {"root": "output/batches"}}
        ],
    ),
    th.Property(
        "batch_full_sync_only",
        th.BooleanType,
        default=False,
        description="With `batch_config`: BATCH mode only for a stream that starts without a bookmark (the "
        "first sync, or `--full-refresh`); a run that continues from a bookmark emits RECORD messages.",
    ),
    th.Property(
        EMIT_SETTING,
        th.BooleanType,
        default=EMIT_DEFAULT,
        title="Emit ACTIVATE_VERSION messages",
        description="A full sync (first sync, `--full-refresh`, or every run of an entity without `mod_ts`) "
        "writes ACTIVATE_VERSION before its first record and after its last, and its RECORD messages carry "
        "that table version: the target then marks deleted (or deletes) the rows the WMS no longer serves. "
        "A resumed full sync keeps its version; incremental runs and partition jobs (`partition_count` > 1) "
        "write none.",
    ),
).to_dict()


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
        upper = f"..{high}" if high is not None else " or more"
        return [f"Setting '{name}' must be {low}{upper}, got {value}"]
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
    errors += _check_number(config, "lookback_seconds", 0, MAX_LOOKBACK_SECONDS)
    errors += _check_number(config, "reconcile_hours", 0, MAX_RECONCILE_HOURS)
    if isinstance(config.get("reconcile_hours"), float):
        errors.append("Setting 'reconcile_hours' must be a whole number")
    for name, low, high in (
        ("full_sync_partitions", 1, MAX_PARTITIONS),
        ("partition_count", 1, MAX_PARTITIONS),
        ("partition_index", 0, MAX_PARTITIONS - 1),
    ):
        errors += _check_number(config, name, low, high)
        if isinstance(config.get(name), float):
            errors.append(f"Setting '{name}' must be a whole number")
    count, index = config.get("partition_count", 1), config.get("partition_index", 0)
    if isinstance(count, int) and isinstance(index, int) and count >= 1 and index >= count:
        errors.append(
            f"Setting 'partition_index' must be 0..{count - 1} (partition_count={count}), got {index}"
        )
    errors += _check_number(config, "request_timeout", 0.001, MAX_REQUEST_TIMEOUT)
    errors += _check_number(config, "max_retries", 0, 100)
    errors += _check_number(config, "backoff_base_seconds", 0, MAX_BACKOFF_SECONDS)
    errors += _check_number(config, "backoff_max_seconds", 0, MAX_BACKOFF_SECONDS)
    errors += validate_batch_settings(config)
    ca_bundle = config.get("ca_bundle")
    if ca_bundle and not os.path.isfile(str(ca_bundle)):
        errors.append(f"Setting 'ca_bundle' must name a readable CA bundle file, got {ca_bundle!r}")
    return errors


def object_setting_errors(
    config: t.Mapping[str, t.Any], schema: t.Mapping[str, t.Any], path: str = ""
) -> list[str]:
    """A message for each setting the schema declares an object (`batch_config`, its `encoding` and
    `storage`) that holds another kind of value: the SDK's JSON Schema check fills defaults into objects
    and fails with a traceback on anything else, so it runs only when this finds nothing."""
    errors = []
    for name, spec in schema.get("properties", {}).items():
        value = config.get(name)
        if value is None or "properties" not in spec:
            continue
        if not isinstance(value, dict):
            errors.append(f"Setting '{path}{name}' must be an object, got {type(value).__name__}")
        else:
            errors += object_setting_errors(value, spec, f"{path}{name}.")
    return errors


TRUE_WORDS = ("true", "1", "yes", "on")
FALSE_WORDS = ("false", "0", "no", "off")


def environment_settings(
    schema: t.Mapping[str, t.Any], environ: t.Mapping[str, str], prefix: str
) -> tuple[dict[str, t.Any], list[str]]:
    """Settings from the variables `<prefix><SETTING>` (`--config ENV`), each read as the type the schema
    declares, and a message for each variable that does not read as its type (never quoting a secret's).

    The SDK's own reading fails with a traceback on a whole number or an object it cannot read, reads any
    word but true/1/yes/on as false (`verify_tls=ture` turned verification off), and passes a number
    setting on as text, which the schema then refuses (`request_timeout=60`). An empty variable of a typed
    setting is no setting; a list of names may also be given as `a,b,c`."""
    config: dict[str, t.Any] = {}
    errors: list[str] = []
    for name, spec in schema.get("properties", {}).items():
        variable = f"{prefix}{name.upper().replace('-', '_')}"
        text = environ.get(variable)
        if text is None:
            continue
        types = spec.get("type") or []
        types = [types] if isinstance(types, str) else types
        kind = next((k for k in ("integer", "number", "boolean", "array", "object") if k in types), "string")
        if kind == "string":
            config[name] = text
            continue
        if not text.strip():
            continue
        shown = "***" if name in SECRET_SETTINGS else repr(text[:100])
        problem = f"Environment variable {variable} (setting '{name}') must be"
        try:
            if kind == "integer":
                config[name] = int(text)
            elif kind == "number":
                value = decimal.Decimal(text.strip())
                if not value.is_finite():
                    raise decimal.InvalidOperation(text)
                config[name] = value
            elif kind == "boolean":
                if text.strip().lower() not in (*TRUE_WORDS, *FALSE_WORDS):
                    errors.append(f"{problem} one of {', '.join(TRUE_WORDS + FALSE_WORDS)}, got {shown}")
                    continue
                config[name] = text.strip().lower() in TRUE_WORDS
            else:
                config[name] = _json_setting(text, kind)
        except (ValueError, ArithmeticError):
            what = {"integer": "a whole number", "number": "a number"}.get(kind, f"a JSON {kind}")
            errors.append(f"{problem} {what}, got {shown}")
    return config, errors


def _json_setting(text: str, kind: str) -> t.Any:
    """A JSON array or object setting from a variable's text (`a,b,c` is a list of strings too)."""
    try:
        value = json.loads(text)
    except ValueError:
        if kind == "array" and not text.lstrip().startswith("["):
            return [item.strip() for item in text.split(",") if item.strip()]
        raise
    if not isinstance(value, list if kind == "array" else dict):
        raise ValueError(text)
    return value


def hide_secret_values(message: str, config: t.Mapping[str, t.Any]) -> str:
    """`message` (a JSON Schema message) with no secret's value in it.

    A message about a secret setting itself (`... in config['password']`) is replaced by one naming the
    setting and the type it has: a secret given as a list or an object would otherwise be quoted whole.
    Any other message has each string secret's value replaced by `***`.
    """
    for name in SECRET_SETTINGS:
        if f"in config[{name!r}" in message:
            return f"Setting '{name}' must be a string, got {type(config.get(name)).__name__}"
    for name in SECRET_SETTINGS:
        value = config.get(name)
        if value and isinstance(value, str | int | float):
            message = message.replace(repr(value), "'***'").replace(str(value), "***")
    return message


def unknown_settings(config: t.Mapping[str, t.Any], schema: t.Mapping[str, t.Any]) -> list[str]:
    """Names in `config` that neither the tap's settings nor the SDK's built-in ones declare."""
    known = set(schema.get("properties", {}))
    return sorted(name for name in config if name not in known)


def insecure_url_warning(config: t.Mapping[str, t.Any]) -> str | None:
    """A warning when `base_url` is plain http:// to a host other than this machine (credentials and
    data would cross the network unencrypted)."""
    base_url = config.get("base_url")
    if not isinstance(base_url, str):
        return None
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "http" or host in ("localhost", "::1") or host.startswith("127."):
        return None
    return f"Setting 'base_url' is plain http:// to {host}: credentials and data travel unencrypted; use https://"


def future_start_date_warning(config: t.Mapping[str, t.Any]) -> str | None:
    """A warning when `start_date` is later than now: every run reads nothing until then, exit code 0
    (a mistyped year would otherwise go unnoticed)."""
    value = config.get("start_date")
    start = _parse_offset_datetime(value) if isinstance(value, str) else None
    now = datetime.datetime.now(datetime.timezone.utc)
    if start is None or start <= now:
        return None
    return (
        f"Setting 'start_date' {value} is later than now ({now.isoformat(timespec='seconds')}): no row "
        "is read until then"
    )

"""Settings: the JSON Schema the SDK validates and documents, plus the checks JSON Schema cannot
express. Every message names the setting, and never shows a secret's value."""

from __future__ import annotations

from singer_sdk import typing as th

from tap_oracle_wms.rules import (
    AUTH_METHODS,
    COMPRESSIONS,
    DEFAULT_BATCH_SIZE,
    DEFAULT_COMPRESSION,
    DEFAULT_ENTITIES,
    DEFAULT_FORMAT,
    DEFAULT_STORAGE_ROOT,
    FORMATS,
    MAX_PAGE_SIZE,
    PAGE_MODES,
    SECRET_SETTINGS,
    hide_secret_values,
    validate_settings,
)

__all__ = ["CONFIG_SCHEMA", "SECRET_SETTINGS", "hide_secret_values", "validate_settings"]

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
        "mod_ts was set before they were committed (long transactions).",
    ),
    th.Property("company_code", th.StringType, description="Narrow every request with company_id__code."),
    th.Property("facility_code", th.StringType, description="Narrow every request with facility_id__code."),
    th.Property(
        "request_timeout", th.NumberType, default=60, description="Seconds to wait for each HTTP response."
    ),
    th.Property(
        "max_retries",
        th.IntegerType,
        default=8,
        description="Retries of a failed request (429, 5xx, timeout, reset, truncated body) before the run "
        "fails; with the default backoff they span about three minutes.",
    ),
    th.Property(
        "verify_tls", th.BooleanType, default=True, description="Verify the server's TLS certificate."
    ),
    th.Property("ca_bundle", th.StringType, description="Path to a CA bundle file used to verify TLS."),
    th.Property(
        "backoff_base_seconds",
        th.NumberType,
        default=1.0,
        description="First retry delay; each retry doubles it (plus up to 25% jitter).",
    ),
    th.Property(
        "backoff_max_seconds",
        th.NumberType,
        default=60.0,
        description="Longest delay between retries (a longer Retry-After is still honoured).",
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
).to_dict()

"""Invalid settings fail at start, naming the setting and never showing a secret."""

from __future__ import annotations

import pytest
from singer_sdk.exceptions import ConfigValidationError
from tap_oracle_wms.settings import CONFIG_SCHEMA, SECRET_SETTINGS, validate_settings
from tap_oracle_wms.tap import TapOracleWMS

GOOD = {"base_url": "http://127.0.0.1:9/prod", "username": "u", "password": "s3cret-pw"}


@pytest.mark.parametrize(
    ("change", "setting"),
    [
        ({"page_size": 0}, "page_size"),
        ({"page_size": 1251}, "page_size"),
        ({"page_mode": "cursor"}, "page_mode"),
        ({"start_date": "2025-01-01T00:00:00"}, "start_date"),
        ({"start_date": "soon"}, "start_date"),
        ({"auth_method": "oauth2"}, "oauth_token_url"),
        ({"auth_method": "kerberos"}, "auth_method"),
        ({"password": ""}, "password"),
        ({"base_url": "tenant.example.com"}, "base_url"),
        ({"base_url": "https://t.example.com/prod/wms/lgfapi/v10"}, "base_url"),
        ({"api_version": "10"}, "api_version"),
        ({"entities": []}, "entities"),
        ({"entities": ["*", "allocation"]}, "entities"),
        ({"lookback_seconds": -1}, "lookback_seconds"),
        ({"max_retries": -1}, "max_retries"),
        ({"request_timeout": 0}, "request_timeout"),
        # Past these the standard library fails with a traceback (date before year 1, time_t overflow).
        ({"lookback_seconds": 10**11}, "lookback_seconds"),
        ({"request_timeout": 1e300}, "request_timeout"),
        ({"backoff_base_seconds": 1e300}, "backoff_base_seconds"),
        ({"backoff_max_seconds": 10**6}, "backoff_max_seconds"),
        ({"ca_bundle": "/nonexistent/ca.pem"}, "ca_bundle"),
    ],
)
def test_tap_invalid_setting_named_at_start(change, setting):
    config = {**GOOD, **change}
    assert any(setting in e for e in validate_settings(config))
    with pytest.raises(ConfigValidationError) as info:
        TapOracleWMS(config=config)
    assert any(setting in e for e in info.value.errors)
    assert not any("s3cret-pw" in e for e in info.value.errors)


@pytest.mark.parametrize(
    ("batch_config", "message"),
    [
        ([], "Setting 'batch_config' must be an object, got list"),
        ("jsonl", "Setting 'batch_config' must be an object, got str"),
        ({"encoding": "jsonl"}, "Setting 'batch_config.encoding' must be an object, got str"),
        ({"storage": ["/tmp"]}, "Setting 'batch_config.storage' must be an object, got list"),
    ],
)
def test_tap_object_setting_of_another_kind_is_named(batch_config, message):
    # The SDK's JSON Schema check fills in defaults and failed with an AttributeError on these.
    with pytest.raises(ConfigValidationError) as info:
        TapOracleWMS(config={**GOOD, "batch_config": batch_config})
    assert message in info.value.errors


def test_tap_secret_never_in_validation_errors():
    with pytest.raises(ConfigValidationError) as info:
        TapOracleWMS(config={**GOOD, "password": 12345678, "page_size": 0})
    assert not any("12345678" in e for e in info.value.errors)


def test_tap_defaults_and_secrets_in_schema():
    props = CONFIG_SCHEMA["properties"]
    assert props["api_version"]["default"] == "v10"
    assert props["auth_method"]["default"] == "basic"
    assert props["entities"]["default"] == ["allocation", "order_hdr", "order_dtl"]
    assert props["page_size"]["default"] == 1250
    assert props["page_mode"]["default"] == "sequenced"
    assert props["lookback_seconds"]["default"] == 300
    assert props["request_timeout"]["default"] == 60
    assert props["max_retries"]["default"] == 8
    assert props["verify_tls"]["default"] is True
    for name in SECRET_SETTINGS:
        assert props[name].get("secret") is True
    for name, prop in props.items():
        assert prop.get("description"), name


def test_tap_valid_settings_have_no_errors():
    assert validate_settings({**GOOD, "start_date": "2025-01-01T00:00:00-03:00"}) == []


def test_tap_structured_logging_reported_and_levels_kept(sim, make_config, tap_cli, tmp_path):
    # Meltano 4.4.1 runs a plugin whose capabilities list `structured-logging` with SINGER_SDK_LOG_CONFIG
    # pointing at a logging config using the SDK's StructuredFormatter, and parses each JSON line with
    # its level: a WARNING of the tap must come out as a JSON line with level WARNING.
    import json
    import subprocess
    import sys

    about = subprocess.run(
        [sys.executable, "-m", "tap_oracle_wms.tap", "--about", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "structured-logging" in json.loads(about.stdout)["capabilities"]

    log_config = tmp_path / "logging.json"
    log_config.write_text(
        json.dumps(
            {
                "version": 1,
                "disable_existing_loggers": False,
                "formatters": {"singer_formatter": {"()": "singer_sdk.logging.StructuredFormatter"}},
                "handlers": {
                    "console": {
                        "class": "logging.StreamHandler",
                        "formatter": "singer_formatter",
                        "stream": "ext://sys.stderr",
                    }
                },
                "root": {"handlers": ["console"], "level": "INFO"},
            }
        )
    )
    result = tap_cli(
        "--discover",
        config=make_config(sim, page_sise=1),
        env={"SINGER_SDK_LOG_CONFIG": str(log_config)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    warning = next(line for line in lines if "page_sise" in line["message"])
    assert warning["level"].upper() == "WARNING"

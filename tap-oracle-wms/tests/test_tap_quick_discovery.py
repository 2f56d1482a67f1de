"""`tap-oracle-wms --config FILE --discover` without the Singer SDK (`tap_oracle_wms.quick`): the SDK's
catalog, byte for byte, or the SDK's own discovery."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from tap_oracle_wms import quick
from tap_oracle_wms.discovery import describe_to_entity
from tap_oracle_wms.settings import CONFIG_SCHEMA
from tap_oracle_wms.tap import TapOracleWMS

QUICK_CLI = "import sys; from tap_oracle_wms.quick import main; sys.exit(main())"
# The same, telling on its last line of stderr whether the SDK was imported (also when the SDK's CLI exits).
PROBE = (
    "import sys\nfrom tap_oracle_wms.quick import main\n"
    "try:\n    sys.exit(main())\nfinally:\n    print('singer_sdk' in sys.modules, file=sys.stderr)\n"
)


def sdk_catalog_text(config: dict) -> str:
    """What the SDK's `--discover` prints (`Tap.run_discovery`), less its newline."""
    return TapOracleWMS(config=dict(config), setup_mapper=False).catalog_json_text


def quick_text(config: dict, tmp_path) -> str | None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return quick.quick_catalog_text([str(path)])


def test_tap_quick_schema_file_is_the_settings_schema():
    # CONFIG_SCHEMA as settings.py builds it; a tap made before adds the SDK's own settings to it (which the
    # quick discovery leaves to the SDK).
    from singer_sdk.helpers.capabilities import FLATTENING_CONFIG, STREAM_MAPS_CONFIG

    builtin = {**STREAM_MAPS_CONFIG["properties"], **FLATTENING_CONFIG["properties"]}
    properties = {k: v for k, v in CONFIG_SCHEMA["properties"].items() if k not in builtin}
    assert json.loads(quick.SCHEMA_FILE.read_text()) == {**CONFIG_SCHEMA, "properties": properties}


def test_tap_quick_schema_key_order_is_the_sdks():
    from singer_sdk.singerlib.schema import STANDARD_KEYS

    assert list(quick.SCHEMA_KEY_ORDER) == list(STANDARD_KEYS)


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"entities": ["*"]},
        {"entities": ["order_dtl", "allocation"], "api_version": "v10", "verify_tls": False},
        {"start_date": "2025-01-01T00:00:00+00:00", "lookback_seconds": 0, "request_timeout": 30.5},
        {"batch_config": {"encoding": {"format": "jsonl", "compression": "none"}, "batch_size": 10000}},
        {"batch_config": {}, "batch_full_sync_only": True, "company_code": "GNOS", "facility_code": "DC01"},
    ],
)
def test_tap_quick_catalog_is_the_sdks(sim, make_config, tmp_path, overrides):
    config = make_config(sim, **overrides)
    text = quick_text(config, tmp_path)
    assert text is not None  # the quick path answered
    assert text == sdk_catalog_text(config)


@pytest.mark.parametrize(
    ("variant", "required_style"),
    [("simple", "bool"), ("alt", "code"), ("oracle", "bool"), ("oracle", "code")],
)
def test_tap_quick_catalog_of_describe_variants_is_the_sdks(
    wms_sim_factory, make_config, tmp_path, variant, required_style
):
    config = make_config(wms_sim_factory(describe_variant=variant, required_style=required_style))
    assert quick_text(config, tmp_path) == sdk_catalog_text(config)


def test_tap_quick_catalog_entry_without_replication_key_is_the_sdks(sim, make_config):
    from singer_sdk.helpers._util import dump_json
    from singer_sdk.singerlib import Catalog
    from tap_oracle_wms.streams import EntityStream

    tap = TapOracleWMS(config=make_config(sim, entities=["allocation"]), setup_mapper=False)
    payload = {
        "fields": {
            "id": {"type": "integer", "required": True},
            "code": {"type": "string", "max_length": 10},
            "qty": {"type": "decimal"},
            "parent_id": {"type": "relation"},
            "created": {"type": "datetime"},
            "child_set": {"type": "set"},
        }
    }
    description = describe_to_entity("thing", payload, tap.logger)
    assert description.replication_key is None
    stream = EntityStream(tap, description)
    expected = dump_json(Catalog([(stream.tap_stream_id, stream._singer_catalog_entry)]).to_dict(), indent=2)
    assert quick.catalog_json_text([description]) == expected


@pytest.mark.parametrize(
    "overrides",
    [
        {"page_size": 5000},  # validate_settings refuses it
        {"page_size": "100"},  # the JSON Schema check refuses it
        {"stream_maps": {"allocation": {"extra": "1"}}},  # a setting of the SDK's own
        {"auth_method": "oauth2", "oauth_token_url": "http://127.0.0.1:9/t", "oauth_client_id": "c"},
        {"entities": ["allocation", "nope"]},  # the API does not list it
        {"entities": ["allocation", "order_hdr", "allocation"]},  # a name twice
        {"password": "wrong-pw-123"},  # 401
        {"api_version": "v99"},  # 404
    ],
)
def test_tap_quick_discovery_leaves_the_rest_to_the_sdk(sim, make_config, tmp_path, overrides):
    assert quick_text(make_config(sim, **overrides), tmp_path) is None


@pytest.mark.parametrize(
    "args",
    [
        ["--discover"],
        ["--config", "ENV", "--discover"],
        ["--config", "c.json"],
        ["--config", "c.json", "--discover", "--about"],
        ["--config", "c.json", "--discover", "--discover"],
        ["--config", "c.json", "--catalog", "x.json", "--discover"],
        ["--config"],
    ],
)
def test_tap_quick_discovery_takes_only_config_and_discover(args):
    assert quick.discovery_config_paths(args) is None


def test_tap_quick_discovery_config_paths():
    args = ["--config", "a.json", "--discover", "--config=b.json"]
    assert quick.discovery_config_paths(args) == ["a.json", "b.json"]


def test_tap_quick_cli_prints_the_sdk_clis_catalog_without_the_sdk(sim, make_config, tmp_path):
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(make_config(sim, entities=["*"])))
    command = ["--config", str(config_file), "--discover"]
    got = subprocess.run([sys.executable, "-c", PROBE, *command], capture_output=True, text=True, timeout=60)
    sdk = subprocess.run(
        [sys.executable, "-m", "tap_oracle_wms.tap", *command], capture_output=True, text=True, timeout=60
    )
    assert got.returncode == sdk.returncode == 0
    assert got.stdout == sdk.stdout
    assert got.stderr.splitlines()[-1] == "False"  # the SDK was not imported
    assert "Discovered 6 entities" in got.stderr


def test_tap_quick_cli_leaves_a_bad_config_to_the_sdk(sim, make_config, tmp_path):
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(make_config(sim, page_size=5000)))
    command = ["--config", str(config_file), "--discover"]
    got = subprocess.run(
        [sys.executable, "-c", QUICK_CLI, *command], capture_output=True, text=True, timeout=60
    )
    assert got.returncode == 1
    assert got.stdout == ""
    assert "Setting 'page_size' must be 1..1250, got 5000" in got.stderr


@pytest.mark.parametrize("log_config", ["json", "yaml"])
def test_tap_quick_cli_under_meltanos_logging_config(sim, make_config, tmp_path, log_config):
    # Meltano sets SINGER_SDK_LOG_CONFIG for every plugin it runs (a JSON file, messages only): the quick
    # discovery applies it as the SDK does; a file that is not JSON is left to the SDK (which reads YAML).
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(make_config(sim)))
    logging_file = tmp_path / "tap.singer_sdk_logging.json"
    handlers = {"console": {"class": "logging.StreamHandler", "formatter": "f", "stream": "ext://sys.stderr"}}
    settings = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"f": {"format": "%(message)s"}},
        "handlers": handlers,
        "root": {"handlers": ["console"], "level": "INFO"},
    }
    if log_config == "json":
        logging_file.write_text(json.dumps(settings, indent=2))
    else:
        logging_file.write_text(
            "version: 1\nformatters: {f: {format: 'sdk: %(message)s'}}\n"
            + "\n".join(
                [
                    "handlers: {console: {class: logging.StreamHandler, formatter: f, stream: 'ext://sys.stderr'}}",
                    "root: {handlers: [console], level: INFO}",
                ]
            )
        )
    env = {**os.environ, "SINGER_SDK_LOG_CONFIG": str(logging_file)}
    command = ["--config", str(config_file), "--discover"]
    got = subprocess.run(
        [sys.executable, "-c", PROBE, *command], capture_output=True, text=True, timeout=60, env=env
    )
    sdk = subprocess.run(
        [sys.executable, "-m", "tap_oracle_wms.tap", *command],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert got.returncode == sdk.returncode == 0
    assert got.stdout == sdk.stdout
    assert got.stderr.splitlines()[:-1] == sdk.stderr.splitlines()  # the same log lines
    assert got.stderr.splitlines()[-1] == str(log_config == "yaml")  # the SDK imported only for YAML
    assert any(
        line.startswith("Entity 'allocation', field 'pick_locn_str'") for line in sdk.stderr.splitlines()
    ) == (log_config == "json")

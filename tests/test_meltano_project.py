"""meltano.yml declares what the plugins accept, and the jobs, schedules and environments asked for."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PROJECT = yaml.safe_load((REPO / "meltano.yml").read_text())
PLUGINS = {
    "extractors": ("tap-oracle-wms", "tap-oracle-wms"),
    "mappers": ("wms-validate", "mapper-wms-validate"),
    "loaders": ("target-oracle", "target-oracle"),
}
# Settings every SDK plugin gets from the SDK (stream maps, flattening, batching...): not ours to declare.
SDK_BUILTINS = {
    "stream_maps",
    "stream_map_config",
    "faker_config",
    "flattening_enabled",
    "flattening_max_depth",
    "flattening_max_key_length",
    "flattening_separator",
    "batch_config",
    "load_method",
    "batch_size_rows",
    "add_record_metadata",
    "validate_records",
    "hard_delete",
    "default_target_schema",
    "process_activate_version_messages",
}


def _plugin(kind: str, name: str) -> dict:
    return next(p for p in PROJECT["plugins"][kind] if p["name"] == name)


def _about(executable: str) -> dict:
    script = Path(sys.executable).with_name(executable)
    result = subprocess.run(
        [str(script), "--about", "--format=json"], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(result.stdout)


@pytest.mark.parametrize("kind", sorted(PLUGINS))
def test_every_plugin_setting_is_declared_with_kind_and_description(kind: str) -> None:
    name, executable = PLUGINS[kind]
    plugin = _plugin(kind, name)
    assert plugin["pip_url"] == f"-e ./{executable}"
    assert plugin["executable"] == executable
    declared = {setting["name"]: setting for setting in plugin["settings"]}
    about = _about(executable)
    accepted = about["settings"]["properties"]
    missing = set(accepted) - set(declared) - SDK_BUILTINS
    assert not missing, (
        f"{name}: settings the plugin accepts but meltano.yml does not declare: {sorted(missing)}"
    )
    unknown = set(declared) - set(accepted)
    assert not unknown, (
        f"{name}: settings meltano.yml declares but the plugin does not accept: {sorted(unknown)}"
    )
    assert set(plugin.get("capabilities", [])) <= set(about["capabilities"]), f"{name}: unclaimed capability"
    for setting_name, setting in declared.items():
        assert setting.get("kind") and setting.get("description"), f"{name}.{setting_name}"
        if accepted[setting_name].get("secret"):
            assert setting.get("sensitive") is True, f"{name}.{setting_name} is secret but not sensitive"


def test_the_mapping_is_called_like_the_mapper_and_the_plugin_is_not() -> None:
    mapper = _plugin("mappers", "wms-validate")
    assert [m["name"] for m in mapper["mappings"]] == ["mapper-wms-validate"]


def test_jobs_per_entity_with_their_own_extractor_and_schedules_every_minute() -> None:
    jobs = {job["name"]: job["tasks"] for job in PROJECT["jobs"]}
    for entity in ("allocation", "order_hdr", "order_dtl"):
        for mode in ("full", "incremental"):
            assert jobs[f"{entity}_{mode}_sync"] == [
                f"tap-oracle-wms--{entity} mapper-wms-validate target-oracle"
            ]
        extractor = _plugin("extractors", f"tap-oracle-wms--{entity}")
        assert extractor["inherit_from"] == "tap-oracle-wms"
        assert extractor["config"]["entities"] == [entity]
    schedules = {s["job"]: s["interval"] for s in PROJECT["schedules"]}
    assert schedules == {
        f"{e}_incremental_sync": "* * * * *" for e in ("allocation", "order_hdr", "order_dtl")
    }


def test_environments_use_config_not_env_blocks() -> None:
    """Meltano 4.4.1 lets an environment's `env:` override exported variables; prod must read them."""
    environments = {env["name"]: env for env in PROJECT["environments"]}
    assert PROJECT["default_environment"] == "local"
    assert set(environments) == {"local", "prod"}
    for env in environments.values():
        assert "env" not in env, env["name"]
    prod_plugins = environments["prod"]["config"]["plugins"]
    assert "extractors" not in prod_plugins and "loaders" not in prod_plugins
    local_loader = environments["local"]["config"]["plugins"]["loaders"][0]["config"]
    assert local_loader["default_target_schema"] == "OIC" and local_loader["table_prefix"] == "WMS_"


@pytest.mark.e2e
@pytest.mark.parametrize("environment", ["local", "prod"])
def test_exported_variables_reach_the_plugins_in_both_environments(environment: str, tmp_path: Path) -> None:
    """What a user or a scheduler exports wins over meltano.yml (the Meltano 4.4.1 `env:` pitfall)."""
    from tests.pipeline import Pipeline, ensure_meltano

    ensure_meltano()
    pipeline = Pipeline(
        workdir=tmp_path,
        base_url="https://tenant.example.invalid/test",
        extra_env={"TARGET_ORACLE_TABLE_PREFIX": "X_"},
    )
    config = ("--environment", environment, "config", "print")
    tap = json.loads(pipeline.meltano(*config, "tap-oracle-wms--order_dtl").stdout)
    target = json.loads(pipeline.meltano(*config, "target-oracle").stdout)
    assert tap["base_url"] == "https://tenant.example.invalid/test"
    assert tap["entities"] == ["order_dtl"]
    assert target["table_prefix"] == "X_"
    assert target["sqlalchemy_url"] == "*****"  # a secret: masked, never printed


def test_dbt_rule_catalogue_is_the_mappers_default_rule_set() -> None:
    """transform/seeds/quarantine_rules.csv lists exactly the rules mapper-wms-validate applies by default."""
    import csv

    from mapper_wms_validate.defaults import DEFAULT_RULES

    with (REPO / "transform" / "seeds" / "quarantine_rules.csv").open() as seed:
        catalogue = {(row["entity"], row["rule_name"]) for row in csv.DictReader(seed)}
    defaults = set()
    for stream, rules in DEFAULT_RULES.items():
        for entity in ("allocation", "order_hdr", "order_dtl") if stream == "*" else (stream,):
            defaults |= {(entity, rule["name"]) for rule in rules}
    assert catalogue == defaults


@pytest.mark.e2e
def test_meltano_accepts_the_schedules(tmp_path: Path) -> None:
    from tests.pipeline import Pipeline, ensure_meltano

    ensure_meltano()
    listed = json.loads(Pipeline(workdir=tmp_path).meltano("schedule", "list", "--format=json").stdout)
    jobs = {schedule["name"]: schedule for schedule in listed["schedules"]["job"]}
    assert {s["job"]["name"] for s in jobs.values()} == {
        f"{entity}_incremental_sync" for entity in ("allocation", "order_hdr", "order_dtl")
    }
    assert {s["interval"] for s in jobs.values()} == {"* * * * *"}

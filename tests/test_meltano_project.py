"""meltano.yml declares what the plugins accept, and the jobs, schedules and environments asked for."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tools.hub_definitions import project_declaration

REPO = Path(__file__).resolve().parents[1]
PROJECT = yaml.safe_load((REPO / "meltano.yml").read_text())
PLUGINS = {
    "extractors": ("tap-oracle-wms", "tap-oracle-wms"),
    "mappers": ("wms-validate", "mapper-wms-validate"),
    "loaders": ("target-oracle", "target-oracle"),
}
ENTITIES = ("allocation", "order_hdr", "order_dtl")


def _plugin(kind: str, name: str) -> dict:
    return next(p for p in PROJECT["plugins"][kind] if p["name"] == name)


def _about(executable: str) -> dict:
    script = Path(sys.executable).with_name(executable)
    result = subprocess.run(
        [str(script), "--about", "--format=json"], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(result.stdout)


def _hub(executable: str) -> dict:
    return yaml.safe_load((REPO / executable / "meltano-hub.yml").read_text())


def declaration_problems(plugin: dict, hub: dict) -> list[str]:
    """Where a plugin of meltano.yml declares other capabilities, groups or settings than its Hub file
    (`tools.hub_definitions` writes both)."""
    expected = project_declaration(hub)
    found = [
        f"{key}: meltano.yml {plugin.get(key)}, Hub file {expected.get(key)}"
        for key in ("capabilities", "settings_group_validation")
        if plugin.get(key) != expected.get(key)
    ]
    declared = {s["name"]: s for s in plugin.get("settings", [])}
    published = {s["name"]: s for s in expected["settings"]}
    if list(declared) != list(published):
        found.append(f"settings: meltano.yml {list(declared)}, Hub file {list(published)}")
    found += [
        f"{name}: meltano.yml {declared[name]}, Hub file {published[name]}"
        for name in sorted(set(declared) & set(published))
        if declared[name] != published[name]
    ]
    return found


@pytest.mark.parametrize("kind", sorted(PLUGINS))
def test_each_plugin_is_declared_as_its_hub_file_says(kind: str) -> None:
    """One source: meltano.yml's capabilities, settings groups and settings are the Hub file's (itself held
    to --about by tests/test_project_hub_definitions.py), so `meltano config` shows labels and defaults."""
    name, executable = PLUGINS[kind]
    plugin = _plugin(kind, name)
    assert plugin["pip_url"] == f"-e ./{executable}"
    assert plugin["executable"] == executable
    assert declaration_problems(plugin, _hub(executable)) == []
    assert plugin["capabilities"] == _about(executable)["capabilities"]
    for setting in plugin["settings"]:
        assert setting.get("label") and setting.get("kind") and setting.get("description"), setting["name"]


def test_a_declaration_that_lags_the_hub_file_is_named() -> None:
    plugin = copy.deepcopy(_plugin("loaders", "target-oracle"))
    hub = _hub("target-oracle")
    plugin["capabilities"].remove("structured-logging")
    plugin["settings"][0]["label"] = "Other"
    plugin["settings"].pop()
    found = declaration_problems(plugin, hub)
    assert any(p.startswith("capabilities:") for p in found)
    assert any(p.startswith(f"{plugin['settings'][0]['name']}:") for p in found)
    assert any(p.startswith("settings:") for p in found)


def test_the_mapping_is_called_like_the_mapper_and_the_plugin_is_not() -> None:
    mapper = _plugin("mappers", "wms-validate")
    assert [m["name"] for m in mapper["mappings"]] == ["mapper-wms-validate"]


def test_jobs_per_entity_with_their_own_extractor_and_schedules() -> None:
    """Full, incremental and reconcile jobs of an entity run its one extractor: one state id per entity."""
    jobs = {job["name"]: job["tasks"] for job in PROJECT["jobs"]}
    for entity in ENTITIES:
        for job in ("full_sync", "incremental_sync", "reconcile"):
            assert jobs[f"{entity}_{job}"] == [f"tap-oracle-wms--{entity} mapper-wms-validate target-oracle"]
        extractor = _plugin("extractors", f"tap-oracle-wms--{entity}")
        assert extractor["inherit_from"] == "tap-oracle-wms"
        assert extractor["config"]["entities"] == [entity]
        assert "reconcile_hours" not in extractor["config"]
    schedules = {s["name"]: s for s in PROJECT["schedules"]}
    assert {name: (s["interval"], s["job"]) for name, s in schedules.items()} == {
        **{f"{e}_incremental_every_minute": ("* * * * *", f"{e}_incremental_sync") for e in ENTITIES},
        **{f"{e}_reconcile_hourly": ("@hourly", f"{e}_reconcile") for e in ENTITIES},
    }
    for entity in ENTITIES:
        assert schedules[f"{entity}_reconcile_hourly"]["env"] == {
            f"TAP_ORACLE_WMS__{entity.upper()}_RECONCILE_HOURS": "24"
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
    loader = _plugin("loaders", "target-oracle")["config"]
    assert loader["default_target_schema"] == "OIC" and loader["table_prefix"] == "WMS_"


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
    pipeline = Pipeline(workdir=tmp_path)
    listed = json.loads(pipeline.meltano("schedule", "list", "--format=json").stdout)
    jobs = {schedule["name"]: schedule for schedule in listed["schedules"]["job"]}
    assert {name: (s["job"]["name"], s["interval"]) for name, s in jobs.items()} == {
        **{f"{e}_incremental_every_minute": (f"{e}_incremental_sync", "* * * * *") for e in ENTITIES},
        **{f"{e}_reconcile_hourly": (f"{e}_reconcile", "@hourly") for e in ENTITIES},
    }


@pytest.mark.e2e
def test_the_reconcile_schedule_gives_its_extractor_reconcile_hours(tmp_path: Path) -> None:
    """The variable the reconcile schedule sets (`meltano schedule run` passes a schedule's env) reaches the
    entity's extractor as reconcile_hours, and only that entity's."""
    from tests.pipeline import Pipeline, ensure_meltano

    ensure_meltano()
    env = next(s["env"] for s in PROJECT["schedules"] if s["name"] == "order_hdr_reconcile_hourly")
    pipeline = Pipeline(workdir=tmp_path, extra_env=env)
    dumped = ("invoke", "--dump=config")
    assert json.loads(pipeline.meltano(*dumped, "tap-oracle-wms--order_hdr").stdout)["reconcile_hours"] == 24
    assert json.loads(pipeline.meltano(*dumped, "tap-oracle-wms--allocation").stdout)["reconcile_hours"] == 0

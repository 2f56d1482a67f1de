"""Each plugin's Meltano Hub definition (`<plugin>/meltano-hub.yml`) says what the plugin's `--about` says.

The Hub shows users these files, not the code: a capability, setting, default or secret that the file lags
is a wrong promise. `tools/hub_definitions.py` writes the files; these tests keep them true whoever edits
the plugin or the file.
"""

from __future__ import annotations

import copy
import typing as t
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from tools.hub_definitions import HUB_FILE, PLUGINS, about

REPO = Path(__file__).resolve().parents[1]
# The kinds a Hub setting may have (the Hub's base_setting schema), and those that fit each JSON Schema type.
HUB_KINDS = {
    "oauth", "hidden", "password", "date_iso8601", "file", "email", "integer", "options", "object", "array",
    "boolean", "string", "decimal",
}  # fmt: skip
KINDS_OF_TYPE = {
    "boolean": {"boolean"},
    "integer": {"integer"},
    "number": {"decimal"},
    "array": {"array"},
    "object": {"object"},
    "string": {"string", "options", "date_iso8601", "file", "email", "password", "hidden"},
}


def problems(hub: dict[str, t.Any], info: dict[str, t.Any]) -> list[str]:
    """Where a Hub definition disagrees with the plugin's --about (empty when it agrees)."""
    found = []
    declared = sorted(hub.get("capabilities", []))
    if declared != sorted(info["capabilities"]):
        found.append(f"capabilities: file {declared}, --about {sorted(info['capabilities'])}")
    props = info["settings"]["properties"]
    settings = {s["name"]: s for s in hub.get("settings", [])}
    if missing := sorted(set(props) - set(settings)):
        found.append(f"settings missing from the file: {missing}")
    if unknown := sorted(set(settings) - set(props)):
        found.append(f"settings the plugin does not accept: {unknown}")
    for name in sorted(set(props) & set(settings)):
        prop, entry = props[name], settings[name]
        types = [prop["type"]] if isinstance(prop.get("type"), str) else [x for x in prop.get("type", [])]
        json_type = next((x for x in types if x != "null"), "string")
        kind = entry.get("kind")
        if kind not in HUB_KINDS or kind not in KINDS_OF_TYPE[json_type]:
            found.append(f"{name}: kind {kind!r} for a {json_type} setting")
        if prop.get("enum") and sorted(o["value"] for o in entry.get("options", [])) != sorted(
            v for v in prop["enum"] if v is not None
        ):
            found.append(f"{name}: options {entry.get('options')} but --about allows {prop['enum']}")
        default = prop.get("default")
        if entry.get("value") != default:
            found.append(f"{name}: value {entry.get('value')!r} but --about's default is {default!r}")
        if bool(entry.get("sensitive")) != bool(prop.get("secret")):
            found.append(f"{name}: sensitive {entry.get('sensitive')!r} but secret {prop.get('secret')!r}")
        if not entry.get("label"):
            found.append(f"{name}: no label")
        if entry.get("description") != prop.get("description", ""):
            found.append(f"{name}: the description differs from --about's")
    required = set(info["settings"].get("required", []))
    for group in hub.get("settings_group_validation") or []:
        if unknown := sorted(set(group) - set(settings)):
            found.append(f"settings_group_validation names unknown settings: {unknown}")
        if lacking := sorted(required - set(group)):
            found.append(f"settings_group_validation group {group} lacks required {lacking}")
    return found


def _hub(plugin: str) -> dict[str, t.Any]:
    return yaml.safe_load((REPO / plugin / HUB_FILE).read_text())


@pytest.fixture(scope="module", params=sorted(PLUGINS))
def plugin(request: pytest.FixtureRequest) -> tuple[str, dict[str, t.Any], dict[str, t.Any]]:
    return request.param, _hub(request.param), about(request.param)


def test_hub_definition_agrees_with_about(plugin: tuple[str, dict, dict]) -> None:
    name, hub, info = plugin
    assert problems(hub, info) == [], f"{name}/{HUB_FILE} lags `{name} --about`: run tools/hub_definitions.py"


def test_hub_definition_names_the_plugin_its_variant_and_its_package(plugin: tuple[str, dict, dict]) -> None:
    name, hub, _ = plugin
    assert hub["name"] == name
    assert hub["executable"] == name
    assert Requirement(hub["pip_url"]).name == name
    assert hub["variant"] and hub["namespace"] == name.replace("-", "_")
    assert hub["label"] and hub["description"]


@pytest.mark.parametrize("name", ["tap-oracle-wms", "target-oracle"])
def test_tap_and_target_say_which_settings_make_a_connection(name: str) -> None:
    groups = _hub(name).get("settings_group_validation") or []
    assert len(groups) >= 2, f"{name}: one group per way to connect"
    if name == "tap-oracle-wms":
        assert ["base_url", "username", "password"] in groups
        assert any("oauth_client_secret" in group for group in groups)
    else:
        assert ["sqlalchemy_url"] in groups
        assert any("dsn" in group and "wallet_location" in group for group in groups)
        assert any({"host", "port", "service_name"} <= set(group) for group in groups)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda hub: hub["capabilities"].remove("about"), "capabilities"),
        (lambda hub: hub["settings"].pop(), "settings missing from the file"),
        (lambda hub: hub["settings"].append({"name": "gone", "kind": "string"}), "does not accept"),
        (lambda hub: hub["settings"][0].update(kind="integer"), "kind 'integer'"),
        (lambda hub: hub["settings"][0].update(value="changed"), "but --about's default is"),
        (lambda hub: hub["settings"][0].pop("label"), "no label"),
        (lambda hub: hub["settings"][0].update(description="other"), "description differs"),
        (lambda hub: hub.update(settings_group_validation=[["no_such_setting"]]), "unknown settings"),
    ],
)
def test_a_lagging_definition_is_named(change: t.Callable[[dict], object], complaint: str) -> None:
    """The check fails on each way a file can lag its plugin (on a copy of the target's definition)."""
    info = about("target-oracle")
    hub = copy.deepcopy(_hub("target-oracle"))
    change(hub)
    assert any(complaint in problem for problem in problems(hub, info)), problems(hub, info)


def test_a_secret_not_marked_sensitive_is_named() -> None:
    info = about("target-oracle")
    hub = copy.deepcopy(_hub("target-oracle"))
    for entry in hub["settings"]:
        if entry["name"] == "password":
            entry.pop("sensitive")
    assert "password: sensitive None but secret True" in problems(hub, info)

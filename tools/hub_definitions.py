"""Write each plugin's Meltano Hub definition, `<plugin>/meltano-hub.yml`, from its `--about --format=json`,
and the same declaration (capabilities, settings_group_validation, settings) into the plugin's entry of
the project's meltano.yml, so the project and the Hub say one thing.

    .venv/bin/python -m tools.hub_definitions                 # the three plugins
    .venv/bin/python -m tools.hub_definitions target-oracle   # one

Run it after a plugin's settings or capabilities change (the plugins' console scripts in `.venv`, which
`make dev` installs editable, answer with the code of this tree). What `--about` cannot say (the Hub's
variant, labels, keywords, which settings together make a working connection) is in PLUGINS below.
tests/test_project_hub_definitions.py checks every file against `--about`, so a file that lags its plugin
fails the tests rather than the users.
"""

from __future__ import annotations

import json
import subprocess
import sys
import typing as t
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
HUB_FILE = "meltano-hub.yml"
PROJECT_FILE = REPO / "meltano.yml"
# Declared `integer` in meltano.yml though --about says `number` (the Hub file: `decimal`): Meltano 4.4.1
# reads a `decimal` setting from an environment variable as a Decimal and then cannot write the plugin's
# config ("Decimal is not JSON serializable"). Whole seconds come from variables; fractions from config.
INTEGER_IN_MELTANO = frozenset({"request_timeout", "backoff_base_seconds", "backoff_max_seconds"})
# The Hub tells variants of one plugin name apart by their variant; this is this project's.
VARIANT = "wms-pipeline"
# Words a label spells other than capitalised.
LABEL_WORDS = {
    "api": "API",
    "ca": "CA",
    "dn": "DN",
    "dsn": "DSN",
    "duckdb": "DuckDB",
    "id": "ID",
    "oauth": "OAuth",
    "sid": "SID",
    "sqlalchemy": "SQLAlchemy",
    "ssl": "SSL",
    "tls": "TLS",
    "url": "URL",
}

PLUGINS: dict[str, dict[str, t.Any]] = {
    "tap-oracle-wms": {
        "plugin_type": "extractors",
        "project_name": "tap-oracle-wms",
        "namespace": "tap_oracle_wms",
        "label": "Oracle WMS Cloud",
        "keywords": ["oracle", "wms", "warehouse", "meltano_sdk"],
        "domain_url": "https://www.oracle.com/scm/logistics/warehouse-management/",
        # basic authentication, or OAuth2 (auth_method oauth2 and the client's credentials)
        "settings_group_validation": [
            ["base_url", "username", "password"],
            ["base_url", "auth_method", "oauth_token_url", "oauth_client_id", "oauth_client_secret"],
        ],
    },
    "mapper-wms-validate": {
        "plugin_type": "mappers",
        # the plugin is not named like its mapping: Meltano refuses a mapping named like its plugin
        "project_name": "wms-validate",
        "namespace": "mapper_wms_validate",
        "label": "WMS data-quality rules and quarantine",
        "keywords": ["data quality", "validation", "quarantine", "meltano_sdk"],
        "domain_url": None,
        # every setting has a default: the mapper runs with an empty config
        "settings_group_validation": None,
    },
    "target-oracle": {
        "plugin_type": "loaders",
        "project_name": "target-oracle",
        "namespace": "target_oracle",
        "label": "Oracle (or an embedded DuckDB file)",
        "keywords": ["oracle", "duckdb", "database", "meltano_sdk"],
        "domain_url": "https://www.oracle.com/database/",
        # a SQLAlchemy URL (DuckDB or Oracle); host, port and service name or SID; a DSN; a DSN with a wallet
        "settings_group_validation": [
            ["sqlalchemy_url"],
            ["host", "port", "service_name", "username", "password"],
            ["host", "port", "sid", "username", "password"],
            ["dsn", "username", "password"],
            ["dsn", "wallet_location", "wallet_password", "username", "password"],
        ],
    },
}


def about(plugin: str) -> dict[str, t.Any]:
    """The plugin's `--about --format=json`, from the console script beside this Python."""
    script = Path(sys.executable).with_name(plugin)
    result = subprocess.run(
        [str(script), "--about", "--format=json"], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(result.stdout)


def types_of(prop: dict[str, t.Any]) -> list[str]:
    kinds = prop.get("type", [])
    return [kinds] if isinstance(kinds, str) else list(kinds)


def kind_of(prop: dict[str, t.Any]) -> str:
    """The Hub's setting kind for a JSON Schema property of the plugin's settings."""
    types = types_of(prop)
    if prop.get("enum"):
        return "options"
    for json_type, kind in (
        ("boolean", "boolean"),
        ("integer", "integer"),
        ("number", "decimal"),
        ("array", "array"),
        ("object", "object"),
    ):
        if json_type in types:
            return kind
    if prop.get("format") == "date-time":
        return "date_iso8601"
    return "string"


def label_of(name: str, prop: dict[str, t.Any]) -> str:
    if prop.get("title"):
        return prop["title"]
    words = [LABEL_WORDS.get(word, word) for word in name.split("_")]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def setting(name: str, prop: dict[str, t.Any]) -> dict[str, t.Any]:
    """One setting of a Hub definition: what `--about` says of it, in the Hub's terms."""
    entry: dict[str, t.Any] = {
        "name": name,
        "label": label_of(name, prop),
        "kind": kind_of(prop),
        "description": prop.get("description", ""),
    }
    if prop.get("default") is not None:
        entry["value"] = prop["default"]
    if entry["kind"] == "options":
        values = [value for value in prop["enum"] if value is not None]
        entry["options"] = [{"label": str(value), "value": value} for value in values]
    if prop.get("secret"):
        entry["sensitive"] = True
    return entry


def definition(plugin: str, info: dict[str, t.Any]) -> dict[str, t.Any]:
    meta = PLUGINS[plugin]
    out: dict[str, t.Any] = {
        "name": plugin,
        "variant": VARIANT,
        "namespace": meta["namespace"],
        "label": meta["label"],
        "description": " ".join(info["description"].split()),
        "pip_url": plugin,
        "executable": plugin,
        "maintenance_status": "beta",
        "keywords": meta["keywords"],
    }
    if meta["domain_url"]:
        out["domain_url"] = meta["domain_url"]
    out["capabilities"] = list(info["capabilities"])
    if meta["settings_group_validation"]:
        out["settings_group_validation"] = meta["settings_group_validation"]
    out["settings"] = [setting(name, prop) for name, prop in info["settings"]["properties"].items()]
    return out


def write(plugin: str) -> Path:
    path = REPO / plugin / HUB_FILE
    header = (
        f"# Meltano Hub definition of {plugin} (plugin type: {PLUGINS[plugin]['plugin_type']}).\n"
        f"# Written by tools/hub_definitions.py from `{plugin} --about --format=json`;\n"
        "# tests/test_project_hub_definitions.py checks it against --about.\n"
    )
    body = yaml.safe_dump(definition(plugin, about(plugin)), sort_keys=False, width=110, allow_unicode=True)
    path.write_text(header + body)
    return path


def project_declaration(hub: dict[str, t.Any]) -> dict[str, t.Any]:
    """What meltano.yml declares of a plugin: its Hub file's capabilities, groups and settings."""
    out: dict[str, t.Any] = {"capabilities": hub["capabilities"]}
    if hub.get("settings_group_validation"):
        out["settings_group_validation"] = hub["settings_group_validation"]
    out["settings"] = [
        {**entry, "kind": "integer"} if entry["name"] in INTEGER_IN_MELTANO else entry
        for entry in hub["settings"]
    ]
    return out


def write_project(plugin: str) -> Path:
    """Replace the plugin's `capabilities:` ... `settings:` lines in meltano.yml with its Hub file's, keeping
    every other line (comments, pip_url, config, mappings) as it is."""
    lines = PROJECT_FILE.read_text().splitlines(keepends=True)
    entry = lines.index(f"  - name: {PLUGINS[plugin]['project_name']}\n")
    start = next(n for n in range(entry, len(lines)) if lines[n] == "    capabilities:\n")
    settings = next(n for n in range(start, len(lines)) if lines[n] == "    settings:\n")
    inside = ("    -", "      ")
    end = next((n for n in range(settings + 1, len(lines)) if not lines[n].startswith(inside)), len(lines))
    hub = yaml.safe_load((REPO / plugin / HUB_FILE).read_text())
    text = yaml.safe_dump(project_declaration(hub), sort_keys=False, width=110, allow_unicode=True)
    block = [f"    {line}" if line.strip() else line for line in text.splitlines(keepends=True)]
    PROJECT_FILE.write_text("".join(lines[:start] + block + lines[end:]))
    return PROJECT_FILE


def main(argv: list[str] | None = None) -> None:
    for plugin in (argv if argv is not None else sys.argv[1:]) or list(PLUGINS):
        if plugin not in PLUGINS:
            sys.exit(f"hub_definitions: unknown plugin {plugin!r}; one of {', '.join(PLUGINS)}")
        print(f"hub_definitions: wrote {write(plugin).relative_to(REPO)}", file=sys.stderr)
        project = write_project(plugin).relative_to(REPO)
        print(f"hub_definitions: declared {plugin} in {project}", file=sys.stderr)


if __name__ == "__main__":
    main()

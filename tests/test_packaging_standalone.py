"""Each plugin is its own package: installed alone into a clean venv, its console script answers --about.

This is what a user outside Meltano does (`pip install ./tap-oracle-wms`), so it is tested the same way:
a fresh virtual environment, a non-editable install, the real console script.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PLUGINS = ["tap-oracle-wms", "mapper-wms-validate", "target-oracle"]


@pytest.mark.parametrize("plugin", PLUGINS)
def test_plugin_installs_alone_and_answers_about(plugin: str, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / ("Scripts" if sys.platform == "win32" else "bin")
    subprocess.run(
        [
            str(bin_dir / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(REPO / plugin),
        ],
        check=True,
        timeout=600,
    )
    about = subprocess.run(
        [str(bin_dir / plugin), "--about", "--format=json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    info = json.loads(about.stdout)
    assert info["name"] == plugin
    assert info["settings"]["properties"], f"{plugin} --about lists no settings"
    # The package is the installed copy, not the source tree: nothing else of the repo leaks in.
    others = [p.replace("-", "_") for p in PLUGINS if p != plugin]
    probe = subprocess.run(
        [
            str(bin_dir / "python"),
            "-c",
            "import importlib.util,sys; sys.exit(any(importlib.util.find_spec(m) for m in sys.argv[1:]))",
            *others,
        ],
        cwd=tmp_path,
        check=False,
    )
    assert probe.returncode == 0, f"{plugin}'s clean venv can import another plugin"

"""Installs are reproducible and bounded: the pyprojects' ranges, constraints.txt's pins, the Parquet extra.

Each plugin's pyproject gives ranges with an upper bound (a new major release of a dependency is tested
before users get it); constraints.txt pins the versions `make dev` installs, inside those ranges; pyarrow
comes only with the `parquet` extra of the tap and the mapper, the two plugins that write Parquet files.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # requirements-dev.txt installs tomli on Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("wms-simulator", "tap-oracle-wms", "mapper-wms-validate", "target-oracle")
PARQUET_PLUGINS = ("tap-oracle-wms", "mapper-wms-validate")


def _project(package: str) -> dict:
    return tomllib.loads((REPO / package / "pyproject.toml").read_text())["project"]


def _requirements(package: str) -> list[Requirement]:
    project = _project(package)
    extras = [req for reqs in project.get("optional-dependencies", {}).values() for req in reqs]
    return [Requirement(req) for req in [*project["dependencies"], *extras]]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


@pytest.mark.parametrize("package", PACKAGES)
def test_every_dependency_has_an_upper_bound(package: str) -> None:
    unbounded = [
        str(req)
        for req in _requirements(package)
        if not any(spec.operator in ("<", "<=", "~=", "==") for spec in req.specifier)
    ]
    assert not unbounded, f"{package}: dependencies without an upper bound: {unbounded}"


@pytest.mark.parametrize("package", PACKAGES)
def test_constraints_pin_every_dependency_inside_its_range(package: str) -> None:
    pins = _pins(REPO / "constraints.txt")
    for req in _requirements(package):
        name = canonicalize_name(req.name)
        assert name in pins, f"{package}: {req.name} is not pinned in constraints.txt (make constraints)"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"{package}: constraints.txt pins {req.name}=={pins[name]}, outside {req}"
        )


def test_the_dev_venv_is_what_constraints_pin() -> None:
    """`make dev` installs with `-c constraints.txt`: the running venv has exactly the pinned versions."""
    pins = _pins(REPO / "constraints.txt")
    installed = {
        canonicalize_name(dist.metadata["Name"]): dist.version for dist in importlib.metadata.distributions()
    }
    local = {canonicalize_name(package) for package in PACKAGES}
    # Development tools only some Pythons need (a marker in requirements-dev.txt) are not pinned.
    local |= {
        canonicalize_name(Requirement(line).name)
        for line in (REPO / "requirements-dev.txt").read_text().splitlines()
        if ";" in line and not line.startswith("#")
    }
    differ = {
        name: (installed[name], pins.get(name))
        for name in installed.keys() - local
        if pins.get(name) != installed[name]
    }
    assert not differ, f"installed vs constraints.txt (run `make constraints`, then `make dev`): {differ}"


@pytest.mark.parametrize("package", PACKAGES)
def test_only_the_parquet_extra_brings_pyarrow(package: str) -> None:
    project = _project(package)
    base = [Requirement(req) for req in project["dependencies"]]
    assert not [req for req in base if req.name == "pyarrow" or "parquet" in req.extras], (
        f"{package} installs pyarrow without the parquet extra"
    )
    extras = project.get("optional-dependencies", {})
    if package in PARQUET_PLUGINS:
        assert [Requirement(req).name for req in extras.get("parquet", [])] == ["pyarrow"]


def _resolved(target: str) -> set[str]:
    """What pip would install for `target` into an empty environment (resolution only, nothing installed)."""
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"),
            *("--report", "-", "--disable-pip-version-check", "-c", str(REPO / "constraints.txt"), target),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return {canonicalize_name(item["metadata"]["name"]) for item in json.loads(result.stdout)["install"]}


def test_the_tap_installs_without_pyarrow_and_with_it_on_request() -> None:
    assert "pyarrow" not in _resolved(str(REPO / "tap-oracle-wms"))
    assert "pyarrow" in _resolved(f"{REPO / 'tap-oracle-wms'}[parquet]")

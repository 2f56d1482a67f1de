"""`make demo` keeps its data apart from what the README's jobs load, so a user who runs the demo and then the
jobs (against the simulator they start, with other data) gets tables of that simulator's rows alone."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
import yaml

from tests import demo
from tests.pipeline import REPO, Pipeline


def _jobs_duckdb_file() -> Path:
    """The DuckDB file the `local` environment of meltano.yml loads."""
    project = yaml.safe_load((REPO / "meltano.yml").read_text())
    local = next(env for env in project["environments"] if env["name"] == "local")
    loader = next(p for p in local["config"]["plugins"]["loaders"] if p["name"] == "target-oracle")
    url = loader["config"]["sqlalchemy_url"].replace("${MELTANO_PROJECT_ROOT}", str(REPO))
    return Path(sa.make_url(url).database)


def test_the_demo_loads_neither_the_jobs_duckdb_file_nor_their_state() -> None:
    demo_env = Pipeline(workdir=demo.OUTPUT).env()
    demo_duckdb = Path(sa.make_url(demo_env["TARGET_ORACLE_SQLALCHEMY_URL"]).database)
    demo_state = Path(sa.make_url(demo_env["MELTANO_DATABASE_URI"]).database)
    assert demo_duckdb != _jobs_duckdb_file()
    for path in (demo_duckdb, demo_state, Path(demo_env["DBT_TARGET_PATH"])):
        assert demo.OUTPUT in path.parents, path
    assert REPO / ".meltano" not in demo_state.parents

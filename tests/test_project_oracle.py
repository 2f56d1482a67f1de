"""The pipeline into a real Oracle database, then dbt's Oracle target on what it loaded (`make test-oracle`).

Runs only against a live database (marker `live_oracle`; skipped with the reason otherwise), given the way the
target's live suite takes it: TARGET_ORACLE_TEST_DSN (Easy Connect, `host:port/service`: dbt's Oracle
profile takes the three apart), TARGET_ORACLE_TEST_USER, TARGET_ORACLE_TEST_PASSWORD, and
TARGET_ORACLE_TEST_SCHEMA (default: the user). `make test-oracle` starts Oracle Database Free in Docker and
sets them (docker/README.md).
The loader writes the WMS_* tables to that schema, dbt reads them from there and builds its models there.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from dataclasses import dataclass

import pytest

from tests.pipeline import ENTITIES, SIM_SIZES, Pipeline, Simulator
from tests.warehouse import PREFIX, expected, table_name

pytestmark = [pytest.mark.e2e, pytest.mark.live_oracle]

LIVE_VARS = ("TARGET_ORACLE_TEST_DSN", "TARGET_ORACLE_TEST_USER", "TARGET_ORACLE_TEST_PASSWORD")
EASY_CONNECT = re.compile(r"^(?P<host>[^:/?]+)(?::(?P<port>\d+))?/(?P<service>[^:/?]+)$")


@dataclass
class Oracle:
    """The live database of the test run."""

    host: str
    port: str
    service: str
    user: str
    password: str
    schema: str

    def query(self, sql: str) -> list[tuple]:
        import oracledb

        dsn = f"{self.host}:{self.port}/{self.service}"
        with oracledb.connect(user=self.user, password=self.password, dsn=dsn) as conn, conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall() if cur.description else []

    def drop_table(self, name: str) -> None:
        import oracledb

        try:
            self.query(f'DROP TABLE "{self.schema}"."{name}" PURGE')
        except oracledb.DatabaseError as exc:
            if "ORA-00942" not in str(exc):  # table or view does not exist
                raise

    def pipeline_env(self) -> dict[str, str]:
        """The project's `local` environment pointed at this database: the loader and dbt's target oracle."""
        user, password = (urllib.parse.quote_plus(value) for value in (self.user, self.password))
        return {
            "TARGET_ORACLE_SQLALCHEMY_URL": (
                f"oracle+oracledb://{user}:{password}@{self.host}:{self.port}/?service_name={self.service}"
            ),
            "TARGET_ORACLE_DEFAULT_TARGET_SCHEMA": self.schema,
            "TARGET_ORACLE_TABLE_PREFIX": PREFIX,
            # dbt's profile (transform/profiles.yml), target oracle
            "DBT_DUCKDB_TARGET": "oracle",
            "TARGET_ORACLE_HOST": self.host,
            "TARGET_ORACLE_PORT": self.port,
            "TARGET_ORACLE_SERVICE_NAME": self.service,
            "TARGET_ORACLE_USERNAME": self.user,
            "TARGET_ORACLE_PASSWORD": self.password,
            "DBT_ORACLE_SCHEMA": self.schema,
            "WMS_SOURCE_SCHEMA": self.schema,
        }


@pytest.fixture
def oracle() -> Oracle:
    missing = [name for name in LIVE_VARS if not os.environ.get(name)]
    if missing:
        pytest.skip(f"live Oracle: set {', '.join(missing)} (or run `make test-oracle`)")
    match = EASY_CONNECT.match(os.environ["TARGET_ORACLE_TEST_DSN"])
    if not match:
        pytest.skip("live Oracle pipeline: TARGET_ORACLE_TEST_DSN must be host:port/service (dbt's profile)")
    user = os.environ["TARGET_ORACLE_TEST_USER"]
    return Oracle(
        host=match["host"],
        port=match["port"] or "1521",
        service=match["service"],
        user=user,
        password=os.environ["TARGET_ORACLE_TEST_PASSWORD"],
        schema=os.environ.get("TARGET_ORACLE_TEST_SCHEMA", user).upper(),
    )


def test_pipeline_and_dbt_on_oracle(oracle: Oracle, request: pytest.FixtureRequest) -> None:
    """Every record the simulator serves is in Oracle (or its quarantine), and dbt builds and tests on it."""
    for entity in ENTITIES:
        oracle.drop_table(table_name(entity))
        oracle.drop_table(table_name(f"{entity}_rejected"))
    sim: Simulator = request.getfixturevalue("sim")
    pipeline: Pipeline = request.getfixturevalue("pipeline")
    pipeline.extra_env.update(oracle.pipeline_env())

    pipeline.run()
    for entity in ENTITIES:
        want = expected(entity, sim.records(entity))
        loaded = oracle.query(f'SELECT "ID" FROM "{oracle.schema}"."{table_name(entity)}"')
        assert sorted(row[0] for row in loaded) == sorted(want.rows), entity
        if want.rejected:
            quarantine = table_name(f"{entity}_rejected")
            rejected = oracle.query(f'SELECT "ID" FROM "{oracle.schema}"."{quarantine}"')
            assert sorted(row[0] for row in rejected) == sorted(want.rejected), entity

    build = pipeline.meltano("invoke", "dbt-duckdb", "build")
    assert "ERROR=0" in build.stdout + build.stderr, (build.stdout + build.stderr)[-3000:]
    orders = oracle.query(f'SELECT COUNT(*) FROM "{oracle.schema}"."FCT_ORDER_FULFILMENT"')[0][0]
    assert orders == SIM_SIZES["order_hdr"]
    freshness = pipeline.meltano("invoke", "dbt-duckdb:freshness")
    for entity in ENTITIES:
        assert f"PASS freshness of wms.{table_name(entity)}" in freshness.stdout + freshness.stderr

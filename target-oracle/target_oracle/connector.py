"""Connection handling: settings -> SQLAlchemy URL (python-oracledb thin mode) or an embedded DuckDB file.

The SDK's ``SQLConnector`` owns URL building and engine creation; we extend its hooks so Oracle's connect
parameters that do not fit in a URL (a full ``dsn`` descriptor, TLS wallet settings) go to python-oracledb as
``connect_args``. Loading itself uses the DBAPI connection directly (array binds, explicit input sizes,
explicit transactions), which the SDK's row-dict insert path cannot express.
"""

from __future__ import annotations

import logging
import time
import typing as t
from pathlib import Path

import sqlalchemy as sa
from singer_sdk.sql import SQLConnector

from target_oracle.dialects import DialectStrategy, strategy_for_url


def oracle_url(config: t.Mapping[str, t.Any]) -> sa.URL:
    """Build the ``oracle+oracledb`` URL from host/port/service_name|sid (the password stays in the URL
    object, which SQLAlchemy masks when rendered)."""
    query = {"service_name": config["service_name"]} if config.get("service_name") else {}
    return sa.URL.create(
        "oracle+oracledb",
        username=config.get("username"),
        password=config.get("password"),
        host=None if config.get("dsn") else config.get("host"),
        port=None if config.get("dsn") else int(config.get("port") or 1521),
        database=None if config.get("dsn") else config.get("sid"),
        query=query,
    )


def oracle_connect_args(config: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """python-oracledb connect() keywords that a URL cannot carry: dsn, protocol, wallet, DN matching."""
    args: dict[str, t.Any] = {}
    if config.get("dsn"):
        args["dsn"] = config["dsn"]
    if config.get("protocol") and not config.get("dsn"):
        args["protocol"] = config["protocol"]
    if config.get("wallet_location"):
        args["wallet_location"] = config["wallet_location"]
        args["config_dir"] = config["wallet_location"]
    if config.get("wallet_password"):
        args["wallet_password"] = config["wallet_password"]
    if config.get("ssl_server_dn_match") is not None:
        args["ssl_server_dn_match"] = bool(config["ssl_server_dn_match"])
    return args


#: ``duckdb_memory_limit`` default: a fixed budget for the batch plus room for the primary-key indexes.
AUTO_MEMORY_LIMIT = "auto"
AUTO_BASE_MB = 256
#: bytes of memory allowed per row already in the database (DuckDB keeps a table's primary-key index in
#: memory, about 10 bytes a key measured; 64MB failed to commit at 6M rows): 3x that, for headroom.
AUTO_BYTES_PER_ROW = 32


#: ``duckdb_threads`` default: one DuckDB thread, so the tap and the mapper of a pipeline keep the other cores
#: (the batch's read is a single pass anyway; more threads cost more CPU seconds for the same work).
DEFAULT_DUCKDB_THREADS = 1


#: ``duckdb_lock_timeout_seconds`` default: how long a loader waits for another process's hold on the file.
DEFAULT_DUCKDB_LOCK_TIMEOUT = 60
#: What DuckDB says when another process holds the database file.
_LOCKED = "Could not set lock on file"


def connect_duckdb_file(path: str, timeout: float, logger: logging.Logger) -> t.Any:
    """``duckdb.connect(path)``, waiting up to ``timeout`` seconds while another process holds the file (a
    DuckDB file takes one writing process: another job loading it, a dbt run): the jobs of a project that
    share one file then take turns instead of failing each other. After that, DuckDB's own error."""
    import duckdb

    deadline = time.monotonic() + timeout
    pause = 0.1
    while True:
        try:
            return duckdb.connect(path)
        except duckdb.IOException as exc:
            left = deadline - time.monotonic()
            if _LOCKED not in str(exc) or left <= 0:
                raise
            if pause == 0.1:
                logger.warning(
                    "DuckDB file %s is in use by another process; waiting up to %s s "
                    "(duckdb_lock_timeout_seconds)",
                    path,
                    timeout,
                )
            time.sleep(min(pause, left))
            pause = min(pause * 2, 2.0)


def set_duckdb_threads(conn: t.Any, config: t.Mapping[str, t.Any]) -> None:
    """Apply ``duckdb_threads`` to a DuckDB connection (0: DuckDB's own default, one per core)."""
    threads = config.get("duckdb_threads")
    threads = DEFAULT_DUCKDB_THREADS if threads is None else int(threads)
    if threads > 0:
        conn.execute(f"SET threads = {threads}")


def auto_memory_limit(conn: t.Any) -> str:
    """``256MB`` plus 32 bytes per row in the database's tables: the peak then does not grow with the rows
    loaded (DuckDB's default, 80% of RAM, lets its buffer pool keep every block it wrote), while the key
    indexes, which must fit in memory, always do."""
    rows = conn.execute("SELECT coalesce(sum(estimated_size), 0) FROM duckdb_tables()").fetchone()[0]
    return f"{AUTO_BASE_MB + int(rows) * AUTO_BYTES_PER_ROW // (1 << 20)}MB"


class OracleConnector(SQLConnector):
    """Connector for Oracle (thin mode) and, through ``sqlalchemy_url``, an embedded DuckDB file."""

    allow_column_add = True
    allow_column_alter = True
    allow_merge_upsert = True
    allow_temp_tables = True

    def get_sqlalchemy_url(self, config: dict[str, t.Any]) -> str:
        """``sqlalchemy_url`` when set, else the URL built from the Oracle connection settings."""
        if config.get("sqlalchemy_url"):
            return str(config["sqlalchemy_url"])
        return oracle_url(config).render_as_string(hide_password=False)

    @property
    def strategy(self) -> DialectStrategy:
        """The dialect strategy for this connection's database."""
        if not hasattr(self, "_strategy"):
            self._strategy = strategy_for_url(self.sqlalchemy_url)
        return self._strategy

    def create_engine(self) -> sa.Engine:
        """Engine with python-oracledb thin-mode connect arguments (DuckDB: SDK default)."""
        if self.strategy.name == "oracle":
            return sa.create_engine(
                self.sqlalchemy_url, connect_args=oracle_connect_args(self.config), pool_pre_ping=True
            )
        return super().create_engine()

    def set_memory_limit(self, conn: t.Any) -> None:
        """DuckDB: apply ``duckdb_memory_limit``; ``auto`` is re-computed after each commit (rows grew)."""
        limit = str(self.config.get("duckdb_memory_limit") or AUTO_MEMORY_LIMIT)
        if limit.lower() == AUTO_MEMORY_LIMIT:
            limit = auto_memory_limit(conn)
        conn.execute("SET memory_limit = $1", [limit])

    def duckdb_connection(self, database: str | None = None) -> t.Any:
        """A DuckDB connection set up for loading (UTC session, ``duckdb_threads``): to the embedded DuckDB
        file, with ``duckdb_memory_limit`` (another connection to the same file in this process shares its
        database), or to ``database`` (``:memory:``: Oracle's private batch reader)."""
        import duckdb

        path = database or sa.make_url(self.sqlalchemy_url).database or ":memory:"
        if path == ":memory:":
            conn = duckdb.connect(path)
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)  # a fresh clone has no output/ yet
            timeout = self.config.get("duckdb_lock_timeout_seconds")
            timeout = DEFAULT_DUCKDB_LOCK_TIMEOUT if timeout is None else float(timeout)
            conn = connect_duckdb_file(path, timeout, self.logger)
        conn.execute("SET TimeZone = 'UTC'")  # timestamps with offsets are cast to naive UTC
        set_duckdb_threads(conn, self.config)
        if database is None:
            self.set_memory_limit(conn)
        return conn

    def open_dbapi(self) -> t.Any:
        """A fresh DBAPI connection owned by one sink (closed by it, replaced after a transient error)."""
        if self.strategy.name == "duckdb":
            return self.duckdb_connection()
        raw = self._engine.raw_connection()
        conn = raw.driver_connection
        conn.autocommit = False
        return _PooledOracle(raw, conn)


class _PooledOracle:
    """Pairs the pool's proxy (returned on close) with the python-oracledb connection used for loading."""

    def __init__(self, raw: t.Any, conn: t.Any) -> None:
        self._raw = raw
        self.conn = conn

    def cursor(self) -> t.Any:
        return self.conn.cursor()

    def execute(self, sql: str, params: t.Sequence[t.Any] | None = None) -> t.Any:
        cursor = self.conn.cursor()
        cursor.execute(sql, params or [])
        return cursor

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        """Drop the connection rather than pooling it: a sink closes it at the end or after an error."""
        try:
            self._raw.invalidate()
        finally:
            self._raw.close()

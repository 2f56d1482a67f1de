"""Dialect strategies: everything that differs between Oracle and the embedded DuckDB, and nothing else.

The sink runs one algorithm (dedup -> bulk insert into staging -> one MERGE -> commit) and asks a strategy for
each statement. Every statement sent to the database is built here: CREATE TABLE through SQLAlchemy's
``CreateTable`` with the database's dialect (column types as the storage contract spells them:
``columns.column_type``), names through the dialect's identifier preparer, so the Oracle text the tests
inspect is the text a live Oracle receives.

What differs:
- staging: Oracle uses a global temporary table ``ON COMMIT DELETE ROWS`` created once in the target schema
  and reused (rows vanish at each batch's commit, DDL is never repeated per batch); DuckDB uses a
  connection-local temporary table.
- types (``columns.py``, the type map): Oracle NUMBER/VARCHAR2/CLOB, DuckDB DECIMAL/VARCHAR/JSON.
- bulk load of a batch's files (see ``loading.py``): DuckDB runs ``INSERT ... SELECT`` over them itself;
  Oracle gets the rows DuckDB reads in chunks of array binds (``executemany`` with ``setinputsizes``).
- upsert: one MERGE; on DuckDB, rows replaced whole (MERGE ... DELETE, then INSERT) when staging holds every
  column, since DuckDB updates scattered rows of a large table very slowly.
- errors: Oracle codes (ORA-00955 exists, ORA-01430 column exists, transient ORA-03113/03114/12541, DPY-4011).
"""

from __future__ import annotations

import functools
import re
import typing as t

import sqlalchemy as sa
from sqlalchemy.schema import CreateTable
from sqlalchemy.types import UserDefinedType

from target_oracle import columns as k
from target_oracle.loading import marks_binds, marks_sql

if t.TYPE_CHECKING:
    from collections.abc import Sequence

Converter = t.Callable[[t.Any], t.Any]

_ORA_CODE = re.compile(r"\b(ORA-\d{5}|DPY-\d{4}|DPI-\d{4})\b")
#: rows per array-bind round trip on Oracle (memory is bounded by this, not by the batch size).
LOAD_CHUNK_ROWS = 10_000
TRANSIENT_CODES = frozenset(
    {"ORA-03113", "ORA-03114", "ORA-03135", "ORA-12541", "ORA-12170", "ORA-12537", "DPY-4011", "DPY-6005"}
)


def error_code(exc: BaseException) -> str | None:
    """Return the first Oracle/python-oracledb error code in an exception's text, if any."""
    match = _ORA_CODE.search(str(exc))
    return match.group(1) if match else None


def _bool_to_int(value: t.Any) -> int:
    return int(bool(value))


_SHARED_CONVERTERS: dict[str, Converter] = {
    k.TIMESTAMP: k.to_utc_naive,
    k.DATE: k.to_date,
    k.JSON: k.to_json_text,
}


class ContractType(UserDefinedType):
    """A column type written as the storage contract spells it (``NUMBER(38,10)``, ``VARCHAR2(4000 BYTE)``,
    ``DECIMAL(38,0)``): the DDL of both databases comes from that one table."""

    cache_ok = True

    def __init__(self, spec: str) -> None:
        self.spec = spec

    def get_col_spec(self, **_kw: t.Any) -> str:
        return self.spec


class DialectStrategy:
    """Base strategy: statement shapes both databases share (MERGE, DELETE/UPDATE for versions)."""

    name = "base"
    #: Byte limit of the plain string type, or None when strings are unbounded.
    string_byte_limit: int | None = None

    @property
    def sa_dialect(self) -> sa.Dialect:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- names -------------------------------------------------------------------------------------
    def quote(self, name: str) -> str:
        """Quote one identifier with the dialect's preparer (upper-case names always come out quoted)."""
        return self.sa_dialect.identifier_preparer.quote(name)

    def table_ref(self, schema: str | None, table: str) -> str:
        """Schema-qualified, quoted table reference."""
        return f"{self.quote(schema)}.{self.quote(table)}" if schema else self.quote(table)

    def staging_ref(self, schema: str | None, staging: str) -> str:
        """Reference to the staging table (DuckDB temp tables live outside the target schema)."""
        return self.table_ref(schema, staging)

    def placeholder(self, position: int) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- types -------------------------------------------------------------------------------------
    def sql_type(self, kind: str) -> sa.types.TypeEngine:
        """The column type of a kind in this database (``columns.column_type``: the storage contract's)."""
        return ContractType(k.column_type(kind, self.name))

    def type_sql(self, kind: str) -> str:
        """The SQL text of a kind's type in this dialect."""
        return self.sql_type(kind).compile(dialect=self.sa_dialect)

    def kind_from_catalog(self, row: Sequence[t.Any]) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def converter(self, kind: str) -> Converter | None:
        """Value -> bind value for a column of ``kind`` (None: bind as is). Called for non-null values."""
        return _SHARED_CONVERTERS.get(kind) or (k.to_text if kind in k.TEXT_KINDS else None)

    # -- DDL ---------------------------------------------------------------------------------------
    def _sa_table(
        self, schema: str | None, table: str, cols: Sequence[tuple[str, str]], **kw: t.Any
    ) -> sa.Table:
        keys = set(kw.pop("keys", ()))
        return sa.Table(
            table,
            sa.MetaData(),
            *[sa.Column(name, self.sql_type(kind), primary_key=name in keys) for name, kind in cols],
            schema=schema,
            **kw,
        )

    def create_schema_sql(self, schema: str) -> str | None:
        """Statement creating a schema, or None where schemas are users made by a DBA (Oracle)."""
        return None

    def session_sql(self) -> list[str]:
        """Statements run on each new connection before any other (DuckDB's are in ``duckdb_connection``)."""
        return []

    #: database character sets that store any Unicode text as sent (empty: no check, the text is UTF-8)
    unicode_charsets: frozenset[str] = frozenset()

    def charset_sql(self) -> str | None:
        """The query of the database's character set, or None where text is always Unicode (DuckDB)."""
        return None

    def create_table_sql(
        self, schema: str | None, table: str, cols: Sequence[tuple[str, str]], keys: Sequence[str]
    ) -> str:
        """CREATE TABLE with a primary key on the stream's key properties."""
        return str(
            CreateTable(self._sa_table(schema, table, cols, keys=keys)).compile(dialect=self.sa_dialect)
        )

    def create_staging_sql(self, schema: str | None, staging: str, cols: Sequence[tuple[str, str]]) -> str:
        raise NotImplementedError  # pragma: no cover - abstract

    def drop_table_sql(self, ref: str) -> str:
        return f"DROP TABLE {ref}"

    def add_column_sql(self, table_ref: str, column: str, kind: str) -> list[str]:
        raise NotImplementedError  # pragma: no cover - abstract

    def widen_column_sql(self, table_ref: str, column: str, old: str, new: str) -> list[str]:
        raise NotImplementedError  # pragma: no cover - abstract

    def columns_query(self, schema: str | None, table: str) -> tuple[str, list[t.Any]]:
        raise NotImplementedError  # pragma: no cover - abstract

    def primary_key_query(self, schema: str | None, table: str) -> tuple[str, list[t.Any]]:
        """The names of a table's primary-key columns, one a row (none: no primary key)."""
        raise NotImplementedError  # pragma: no cover - abstract

    # -- DML ---------------------------------------------------------------------------------------
    def insert_sql(self, table_ref: str, cols: Sequence[tuple[str, str]]) -> str:
        """Array-bind INSERT (one placeholder per column)."""
        names = ", ".join(self.quote(name) for name, _ in cols)
        values = ", ".join(self.placeholder(i + 1) for i in range(len(cols)))
        return f"INSERT INTO {table_ref} ({names}) VALUES ({values})"

    def merge_sql(self, target_ref: str, staging_ref: str, cols: Sequence[str], keys: Sequence[str]) -> str:
        """One MERGE applying the deduplicated staging rows: update on key match, insert otherwise."""
        q = self.quote
        on = " AND ".join(f"t.{q(key)} = s.{q(key)}" for key in keys)
        updates = ", ".join(f"{q(col)} = s.{q(col)}" for col in cols if col not in keys)
        names = ", ".join(q(col) for col in cols)
        values = ", ".join(f"s.{q(col)}" for col in cols)
        matched = f" WHEN MATCHED THEN UPDATE SET {updates}" if updates else ""
        return (
            f"MERGE INTO {target_ref} t USING {staging_ref} s ON ({on}){matched}"
            f" WHEN NOT MATCHED THEN INSERT ({names}) VALUES ({values})"
        )

    def upsert_sql(
        self, target_ref: str, staging_ref: str, cols: Sequence[str], keys: Sequence[str], *, whole_rows: bool
    ) -> list[str]:
        """Statements applying the staging rows (``whole_rows``: staging holds every column of the table)."""
        return [self.merge_sql(target_ref, staging_ref, cols, keys)]

    def replaces_matched(self, whole_rows: bool) -> bool:
        """True when ``upsert_sql``'s first statement deletes the matched rows (its count: rows updated)."""
        return False

    def matched_count_sql(self, target_ref: str, source: str, keys: Sequence[str]) -> str:
        """The number of the batch's rows whose key is already in the table (the rows a MERGE updates)."""
        q = self.quote
        on = " AND ".join(f"t.{q(key)} = s.{q(key)}" for key in keys)
        return f"SELECT COUNT(*) FROM {source} s WHERE EXISTS (SELECT 1 FROM {target_ref} t WHERE {on})"

    def sequence_count_sql(self, table_ref: str, column: str) -> str:
        """The rows of one batch (its ``_SDC_SEQUENCE``, the bind) in the table: whether it committed."""
        return f"SELECT COUNT(*) FROM {table_ref} WHERE {self.quote(column)} = {self.placeholder(1)}"

    def mark_superseded_sql(self, table_ref: str, column: str, keys: Sequence[str]) -> str:
        """Set the superseded time (first bind) on the row of one key (the next binds, in key order)."""
        where = " AND ".join(f"{self.quote(key)} = {self.placeholder(n)}" for n, key in enumerate(keys, 2))
        return f"UPDATE {table_ref} SET {self.quote(column)} = {self.placeholder(1)} WHERE {where}"

    def mark_superseded(
        self,
        conn: t.Any,
        table_ref: str,
        column: str,
        keys: Sequence[tuple[str, str]],
        marks: Sequence[tuple[t.Any, ...]],
    ) -> int:
        """Set the superseded time on the rows of the marked keys (``keys``: column and kind; each mark: the
        time, then the key's values), in order (a later mark of a key wins): one array-bind UPDATE, one
        round trip. Returns the rows updated."""
        cursor = conn.cursor()
        cursor.executemany(self.mark_superseded_sql(table_ref, column, [c for c, _ in keys]), list(marks))
        return int(cursor.rowcount)

    def rowcount(self, result: t.Any) -> int:
        """Rows a DML statement touched, from what ``execute`` returned (a cursor)."""
        return int(result.rowcount)

    def delete_all_sql(self, table_ref: str) -> str:
        return f"DELETE FROM {table_ref}"

    def clear_staging_sql(self, staging_ref: str) -> str | None:
        """Statement emptying the staging table before a batch, or None when commit empties it."""
        return f"DELETE FROM {staging_ref}"

    #: True when the MERGE reads the batch from a staging table in the target database (Oracle); False when
    #: it reads the batch's rows straight from the reader's temp table (DuckDB: one connection does both).
    staging_table = True

    def stage(
        self, conn: t.Any, reader: t.Any, staging_ref: str, cols: Sequence[tuple[str, str]], select: str
    ) -> str:
        """Put the batch's rows (``select``, DuckDB's query over the batch) where the MERGE reads them, inside
        the batch's transaction; the MERGE's source: the staging table, or the query itself."""
        if clear := self.clear_staging_sql(staging_ref):
            conn.execute(clear)
        self.load_select(conn, reader, staging_ref, cols, select)
        return staging_ref

    def hard_delete_sql(self, table_ref: str, version_col: str) -> str:
        """Delete rows of older table versions (ACTIVATE_VERSION with hard_delete)."""
        v = self.quote(version_col)
        return f"DELETE FROM {table_ref} WHERE {v} IS NULL OR {v} < {self.placeholder(1)}"

    def soft_delete_sql(self, table_ref: str, version_col: str, deleted_col: str) -> str:
        """Mark rows of older table versions deleted (ACTIVATE_VERSION without hard_delete)."""
        v, d = self.quote(version_col), self.quote(deleted_col)
        return (
            f"UPDATE {table_ref} SET {d} = {self.placeholder(1)}"
            f" WHERE ({v} IS NULL OR {v} < {self.placeholder(2)}) AND {d} IS NULL"
        )

    # -- connections -------------------------------------------------------------------------------
    def begin(self, conn: t.Any) -> None:
        """Open the batch's transaction."""

    def exists_error(self, exc: BaseException) -> bool:
        """True when a CREATE/ADD failed only because the object already exists."""
        return False

    def is_transient(self, exc: BaseException) -> bool:
        return error_code(exc) in TRANSIENT_CODES

    def load_select(
        self, conn: t.Any, reader: t.Any, ref: str, cols: Sequence[tuple[str, str]], select: str
    ) -> None:  # pragma: no cover - abstract
        """Insert the rows of ``select`` (DuckDB's query over the batch's files, loading.py) into ``ref``."""
        raise NotImplementedError


class OracleStrategy(DialectStrategy):
    """Oracle through python-oracledb (thin mode)."""

    name = "oracle"
    string_byte_limit = k.VARCHAR_MAX_BYTES

    @functools.cached_property
    def sa_dialect(self) -> sa.Dialect:
        """Made once per strategy: quoting asks for it for every name."""
        from sqlalchemy.dialects.oracle import oracledb as sa_oracledb

        return sa_oracledb.dialect()

    def placeholder(self, position: int) -> str:
        return f":{position}"

    def kind_from_catalog(self, row: Sequence[t.Any]) -> str:
        """Kind of an ``ALL_TAB_COLUMNS`` row (name, data_type, precision, scale)."""
        return k.oracle_column_kind(*row[1:4])

    def converter(self, kind: str) -> Converter | None:
        """Booleans bind as NUMBER(1) values."""
        return _bool_to_int if kind == k.BOOLEAN else super().converter(kind)

    def input_sizes(self, cols: Sequence[tuple[str, str]]) -> list[t.Any]:
        """Explicit bind types so python-oracledb never re-binds mid-batch (and CLOBs bind as LONG)."""
        return [k.oracle_bind_type(kind) for _, kind in cols]

    def create_staging_sql(self, schema: str | None, staging: str, cols: Sequence[tuple[str, str]]) -> str:
        table = self._sa_table(
            schema, staging, cols, prefixes=["GLOBAL TEMPORARY"], oracle_on_commit="DELETE ROWS"
        )
        return str(CreateTable(table).compile(dialect=self.sa_dialect)).strip()

    def clear_staging_sql(self, staging_ref: str) -> str | None:
        return None  # ON COMMIT DELETE ROWS (and rollback) leave the GTT empty for the next batch.

    #: AL32UTF8, and the older UTF8 (CESU-8), hold every Unicode character; any other character set has
    #: Oracle replace what it lacks (an emoji in WE8MSWIN1252) without an error
    unicode_charsets = frozenset({"AL32UTF8", "UTF8"})

    def session_sql(self) -> list[str]:
        """A UTC session: timestamps are bound as naive UTC, and a ``TIMESTAMP WITH (LOCAL) TIME ZONE``
        column (made by someone else) reads such a value in the session's time zone, which python-oracledb
        sets from the client machine's."""
        return ["ALTER SESSION SET TIME_ZONE = '+00:00'"]

    def charset_sql(self) -> str | None:
        return "SELECT VALUE FROM NLS_DATABASE_PARAMETERS WHERE PARAMETER = 'NLS_CHARACTERSET'"

    def add_column_sql(self, table_ref: str, column: str, kind: str) -> list[str]:
        return [f"ALTER TABLE {table_ref} ADD ({self.quote(column)} {self.type_sql(kind)})"]

    def widen_column_sql(self, table_ref: str, column: str, old: str, new: str) -> list[str]:
        """NUMBER widens in place; VARCHAR2 -> CLOB needs copy-and-rename (ORA-22858 forbids MODIFY)."""
        col = self.quote(column)
        if new == k.CLOB and old == k.STRING:
            tmp = self.quote(f"{column[:120]}__WIDE")
            return [
                f"ALTER TABLE {table_ref} ADD ({tmp} CLOB)",
                f"UPDATE {table_ref} SET {tmp} = {col}",
                f"ALTER TABLE {table_ref} DROP COLUMN {col}",
                f"ALTER TABLE {table_ref} RENAME COLUMN {tmp} TO {col}",
            ]
        return [f"ALTER TABLE {table_ref} MODIFY ({col} {self.type_sql(new)})"]

    def columns_query(self, schema: str | None, table: str) -> tuple[str, list[t.Any]]:
        cols = "COLUMN_NAME, DATA_TYPE, DATA_PRECISION, DATA_SCALE"
        if schema:
            return (
                f"SELECT {cols} FROM ALL_TAB_COLUMNS WHERE OWNER = :1 AND TABLE_NAME = :2 ORDER BY COLUMN_ID",
                [schema, table],
            )
        return f"SELECT {cols} FROM USER_TAB_COLUMNS WHERE TABLE_NAME = :1 ORDER BY COLUMN_ID", [table]

    def primary_key_query(self, schema: str | None, table: str) -> tuple[str, list[t.Any]]:
        if schema:
            return (
                "SELECT cc.COLUMN_NAME FROM ALL_CONSTRAINTS c JOIN ALL_CONS_COLUMNS cc"
                " ON cc.OWNER = c.OWNER AND cc.CONSTRAINT_NAME = c.CONSTRAINT_NAME"
                " WHERE c.CONSTRAINT_TYPE = 'P' AND c.OWNER = :1 AND c.TABLE_NAME = :2 ORDER BY cc.POSITION",
                [schema, table],
            )
        return (
            "SELECT cc.COLUMN_NAME FROM USER_CONSTRAINTS c JOIN USER_CONS_COLUMNS cc"
            " ON cc.CONSTRAINT_NAME = c.CONSTRAINT_NAME"
            " WHERE c.CONSTRAINT_TYPE = 'P' AND c.TABLE_NAME = :1 ORDER BY cc.POSITION",
            [table],
        )

    def exists_error(self, exc: BaseException) -> bool:
        return error_code(exc) in {"ORA-00955", "ORA-01430"}

    def load_select(
        self, conn: t.Any, reader: t.Any, ref: str, cols: Sequence[tuple[str, str]], select: str
    ) -> None:
        """Array binds of ``LOAD_CHUNK_ROWS`` typed rows at a time, fetched from DuckDB's reading of the
        files: one round trip per chunk, input sizes fixed up front, memory bounded by the chunk."""
        cursor = conn.cursor()
        cursor.setinputsizes(*self.input_sizes(cols))
        sql = self.insert_sql(ref, cols)
        result = reader.execute(select)
        while rows := result.fetchmany(LOAD_CHUNK_ROWS):
            cursor.executemany(sql, rows)


def _decimal_text(value: t.Any) -> t.Any:
    """Exact text for a number so DuckDB casts it without float rounding (big ints, long decimals)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    return format(value, "f") if not isinstance(value, int) else str(value)


class DuckDBStrategy(DialectStrategy):
    """Embedded DuckDB through the duckdb module (same SQL shapes, nearest types)."""

    name = "duckdb"

    @functools.cached_property
    def sa_dialect(self) -> sa.Dialect:
        """Made once per strategy: duckdb_engine's preparer runs a catalog query each time one is made."""
        import duckdb_engine

        return duckdb_engine.Dialect()

    def placeholder(self, position: int) -> str:
        return f"${position}"

    def staging_ref(self, schema: str | None, staging: str) -> str:
        return f"temp.main.{self.quote(staging)}"

    def kind_from_catalog(self, row: Sequence[t.Any]) -> str:
        """Kind of an ``information_schema.columns`` row (name, data_type)."""
        return k.duckdb_column_kind(row[1])

    def converter(self, kind: str) -> Converter | None:
        """Numbers bind as exact text, cast by the INSERT (see ``_decimal_text``)."""
        if kind in {k.INTEGER, k.NUMBER}:
            return _decimal_text
        return bool if kind == k.BOOLEAN else super().converter(kind)

    def create_schema_sql(self, schema: str) -> str | None:
        return f"CREATE SCHEMA IF NOT EXISTS {self.quote(schema)}"

    def upsert_sql(
        self, target_ref: str, staging_ref: str, cols: Sequence[str], keys: Sequence[str], *, whole_rows: bool
    ) -> list[str]:
        """DuckDB updates rows of a large table slowly when every column changes (a MERGE of 1,000 rows into
        a 1M-row table: 13 s; 0.24 s as delete + insert). When staging holds whole rows, matched rows are
        deleted by the MERGE and every staging row inserted: the same final rows, in one transaction."""
        if not whole_rows:
            return super().upsert_sql(target_ref, staging_ref, cols, keys, whole_rows=whole_rows)
        q = self.quote
        on = " AND ".join(f"t.{q(key)} = s.{q(key)}" for key in keys)
        names = ", ".join(q(col) for col in cols)
        return [
            f"MERGE INTO {target_ref} t USING {staging_ref} s ON ({on}) WHEN MATCHED THEN DELETE",
            f"INSERT INTO {target_ref} ({names}) SELECT {names} FROM {staging_ref}",
        ]

    staging_table = False

    def mark_superseded(
        self,
        conn: t.Any,
        table_ref: str,
        column: str,
        keys: Sequence[tuple[str, str]],
        marks: Sequence[tuple[t.Any, ...]],
    ) -> int:
        """One UPDATE joining the marks (DuckDB runs an array of single-row UPDATEs one by one, about a
        millisecond each): per key its last mark's time, the keys converted as the table stores them."""
        q = self.quote
        names = ", ".join(f"k{j}" for j in range(len(keys)))
        on = " AND ".join(f"t.{q(col)} = m.k{j}" for j, (col, _) in enumerate(keys))
        rows = marks_sql([kind for _, kind in keys], times=True)
        sql = (
            f"UPDATE {table_ref} AS t SET {q(column)} = m.__at FROM (SELECT {names}, "
            f"max_by(__at, __i) AS __at FROM ({rows}) v GROUP BY ALL) m WHERE {on}"
        )
        return self.rowcount(conn.execute(sql, marks_binds(marks, times=True)))

    def replaces_matched(self, whole_rows: bool) -> bool:
        return whole_rows

    def rowcount(self, result: t.Any) -> int:
        """DuckDB returns a DML statement's count as its one row."""
        return int(result.fetchone()[0])

    def stage(
        self, conn: t.Any, reader: t.Any, staging_ref: str, cols: Sequence[tuple[str, str]], select: str
    ) -> str:
        """The batch's temp table lives in the target's own connection: the MERGE and the INSERT read the
        rows straight from it (copying them into a staging table first cost about as much as the INSERT)."""
        return f"({select})"

    def add_column_sql(self, table_ref: str, column: str, kind: str) -> list[str]:
        return [f"ALTER TABLE {table_ref} ADD COLUMN {self.quote(column)} {self.type_sql(kind)}"]

    def widen_column_sql(self, table_ref: str, column: str, old: str, new: str) -> list[str]:
        return [f"ALTER TABLE {table_ref} ALTER COLUMN {self.quote(column)} TYPE {self.type_sql(new)}"]

    def columns_query(self, schema: str | None, table: str) -> tuple[str, list[t.Any]]:
        return (
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_catalog = current_database() AND table_schema = $1 AND table_name = $2"
            " ORDER BY ordinal_position",
            [schema or "main", table],
        )

    def primary_key_query(self, schema: str | None, table: str) -> tuple[str, list[t.Any]]:
        return (
            "SELECT unnest(constraint_column_names) FROM duckdb_constraints()"
            " WHERE constraint_type = 'PRIMARY KEY' AND database_name = current_database()"
            " AND schema_name = $1 AND table_name = $2",
            [schema or "main", table],
        )

    def begin(self, conn: t.Any) -> None:
        conn.execute("BEGIN TRANSACTION")

    def exists_error(self, exc: BaseException) -> bool:
        return "already exists" in str(exc)

    def load_select(
        self, conn: t.Any, reader: t.Any, ref: str, cols: Sequence[tuple[str, str]], select: str
    ) -> None:
        """One ``INSERT INTO ... SELECT``: DuckDB reads the files itself, inside the batch's transaction."""
        names = ", ".join(self.quote(name) for name, _ in cols)
        conn.execute(f"INSERT INTO {ref} ({names}) {select}")


def strategy_for_url(url: str) -> DialectStrategy:
    """Pick the strategy from the SQLAlchemy URL's backend name."""
    backend = sa.make_url(url).get_backend_name()
    if backend == "oracle":
        return OracleStrategy()
    if backend == "duckdb":
        return DuckDBStrategy()
    msg = f"Setting 'sqlalchemy_url' must use the oracle+oracledb or duckdb dialect, not '{backend}'"
    raise ValueError(msg)

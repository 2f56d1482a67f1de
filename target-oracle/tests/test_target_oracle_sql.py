"""Every statement the target sends to Oracle, rendered by the code path the DuckDB loads run through."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from target_oracle import columns as k
from target_oracle.dialects import DuckDBStrategy, OracleStrategy, error_code, strategy_for_url
from target_oracle.naming import staging_name

ORACLE = OracleStrategy()
DUCK = DuckDBStrategy()

COLS = [
    ("ID", k.INTEGER),
    ("ALLOC_QTY", k.NUMBER),
    ("ORDER_DTL_ID_KEY", k.STRING),
    ("NOTE", k.CLOB),
    ("IS_PACKED", k.BOOLEAN),
    ("MOD_TS", k.TIMESTAMP),
    ("SHIP_DATE", k.DATE),
    ("DETAILS", k.JSON),
    ("SELECT", k.STRING),
    ("_SDC_EXTRACTED_AT", k.TIMESTAMP),
    ("_SDC_TABLE_VERSION", k.INTEGER),
]


def test_oracle_create_table_types_quoting_and_primary_key():
    sql = ORACLE.create_table_sql("OIC", "WMS_ALLOCATION", COLS, ["ID"])
    assert sql.strip().startswith('CREATE TABLE "OIC"."WMS_ALLOCATION" (')
    assert "IF NOT EXISTS" not in sql
    expected = {
        '"ID" NUMBER(38) NOT NULL',
        '"ALLOC_QTY" NUMBER(38,10)',
        '"ORDER_DTL_ID_KEY" VARCHAR2(4000 BYTE)',
        '"NOTE" CLOB',
        '"IS_PACKED" NUMBER(1)',
        '"MOD_TS" TIMESTAMP(6)',
        '"SHIP_DATE" DATE',
        '"DETAILS" CLOB',
        '"SELECT" VARCHAR2(4000 BYTE)',
        '"_SDC_EXTRACTED_AT" TIMESTAMP',
        '"_SDC_TABLE_VERSION" NUMBER(38)',
        'PRIMARY KEY ("ID")',
    }
    for fragment in expected:
        assert fragment in sql, fragment
    assert "NUMERIC" not in sql and "BOOLEAN" not in sql and "VARCHAR(" not in sql


def test_oracle_staging_is_a_global_temporary_table_deleting_rows_on_commit():
    sql = ORACLE.create_staging_sql("OIC", staging_name("WMS_ALLOCATION"), COLS)
    assert sql.startswith('CREATE GLOBAL TEMPORARY TABLE "OIC"."WMS_ALLOCATION__STG" (')
    assert sql.rstrip().endswith("ON COMMIT DELETE ROWS")
    assert "PRIMARY KEY" not in sql
    # commit empties it: no per-batch DELETE is sent to Oracle
    assert ORACLE.clear_staging_sql('"OIC"."WMS_ALLOCATION__STG"') is None


def test_oracle_staging_insert_uses_positional_array_binds():
    sql = ORACLE.insert_sql('"OIC"."WMS_ALLOCATION__STG"', COLS[:3])
    expected = 'INSERT INTO "OIC"."WMS_ALLOCATION__STG" ("ID", "ALLOC_QTY", "ORDER_DTL_ID_KEY") VALUES '
    assert sql == expected + "(:1, :2, :3)"


def test_oracle_input_sizes_are_explicit_for_every_column():
    import oracledb

    sizes = ORACLE.input_sizes(COLS)
    assert len(sizes) == len(COLS)
    assert sizes[0] is oracledb.DB_TYPE_NUMBER
    assert sizes[2] == 4000
    assert sizes[3] is oracledb.DB_TYPE_LONG
    assert sizes[5] is oracledb.DB_TYPE_TIMESTAMP
    assert sizes[6] is oracledb.DB_TYPE_DATE
    assert None not in sizes


def test_oracle_merge_joins_on_keys_updates_the_rest_and_inserts_all():
    sql = ORACLE.merge_sql(
        '"OIC"."WMS_ALLOCATION"', '"OIC"."WMS_ALLOCATION__STG"', ["ID", "QTY", "_SDC_SEQUENCE"], ["ID"]
    )
    assert sql == (
        'MERGE INTO "OIC"."WMS_ALLOCATION" t USING "OIC"."WMS_ALLOCATION__STG" s ON (t."ID" = s."ID")'
        ' WHEN MATCHED THEN UPDATE SET "QTY" = s."QTY", "_SDC_SEQUENCE" = s."_SDC_SEQUENCE"'
        ' WHEN NOT MATCHED THEN INSERT ("ID", "QTY", "_SDC_SEQUENCE")'
        ' VALUES (s."ID", s."QTY", s."_SDC_SEQUENCE")'
    )
    # Oracle rejects AS before table aliases and updating a column of the ON clause (ORA-38104)
    assert " AS " not in sql
    assert 'SET "ID"' not in sql


def test_oracle_merge_with_composite_key_and_key_only_table():
    sql = ORACLE.merge_sql("T", "S", ["A", "B"], ["A", "B"])
    assert 'ON (t."A" = s."A" AND t."B" = s."B")' in sql
    assert "WHEN MATCHED" not in sql  # nothing to update
    assert 'INSERT ("A", "B") VALUES (s."A", s."B")' in sql


def test_oracle_schema_evolution_statements():
    assert ORACLE.add_column_sql('"OIC"."T"', "NEW_COL", k.INTEGER) == [
        'ALTER TABLE "OIC"."T" ADD ("NEW_COL" NUMBER(38))'
    ]
    assert ORACLE.widen_column_sql('"OIC"."T"', "QTY", k.INTEGER, k.NUMBER) == [
        'ALTER TABLE "OIC"."T" MODIFY ("QTY" NUMBER(38,10))'
    ]
    clob = ORACLE.widen_column_sql('"OIC"."T"', "NOTE", k.STRING, k.CLOB)
    assert clob == [
        'ALTER TABLE "OIC"."T" ADD ("NOTE__WIDE" CLOB)',
        'UPDATE "OIC"."T" SET "NOTE__WIDE" = "NOTE"',
        'ALTER TABLE "OIC"."T" DROP COLUMN "NOTE"',
        'ALTER TABLE "OIC"."T" RENAME COLUMN "NOTE__WIDE" TO "NOTE"',
    ]
    # Oracle schemas are users: the target never sends CREATE SCHEMA there
    assert ORACLE.create_schema_sql("OIC") is None


def test_oracle_version_statements():
    hard = ORACLE.hard_delete_sql('"OIC"."T"', "_SDC_TABLE_VERSION")
    assert hard == 'DELETE FROM "OIC"."T" WHERE "_SDC_TABLE_VERSION" IS NULL OR "_SDC_TABLE_VERSION" < :1'
    soft = ORACLE.soft_delete_sql('"OIC"."T"', "_SDC_TABLE_VERSION", "_SDC_DELETED_AT")
    assert soft == (
        'UPDATE "OIC"."T" SET "_SDC_DELETED_AT" = :1 WHERE ("_SDC_TABLE_VERSION" IS NULL OR '
        '"_SDC_TABLE_VERSION" < :2) AND "_SDC_DELETED_AT" IS NULL'
    )
    assert ORACLE.delete_all_sql('"OIC"."T"') == 'DELETE FROM "OIC"."T"'


def test_oracle_catalog_query_and_kinds():
    sql, params = ORACLE.columns_query("OIC", "WMS_ALLOCATION")
    assert "ALL_TAB_COLUMNS" in sql and params == ["OIC", "WMS_ALLOCATION"]
    assert re.search(r"OWNER = :1 AND TABLE_NAME = :2", sql)
    # the primary key: in the target schema, or the login user's
    sql, params = ORACLE.primary_key_query("OIC", "WMS_ALLOCATION")
    assert "ALL_CONS_COLUMNS" in sql and "c.OWNER = :1 AND c.TABLE_NAME = :2" in sql
    assert params == ["OIC", "WMS_ALLOCATION"] and sql.endswith("ORDER BY cc.POSITION")
    sql, params = ORACLE.primary_key_query(None, "WMS_ALLOCATION")
    assert "USER_CONS_COLUMNS" in sql and "c.TABLE_NAME = :1" in sql and params == ["WMS_ALLOCATION"]
    kinds = {
        ("NUMBER", 38, 0): k.INTEGER,
        ("NUMBER", 38, 10): k.NUMBER,
        ("NUMBER", None, None): "other:NUMBER",
        ("NUMBER", 38, 12): "other:NUMBER",
        ("NUMBER", 1, 0): k.BOOLEAN,
        ("VARCHAR2", None, None): k.STRING,
        ("CLOB", None, None): k.CLOB,
        ("TIMESTAMP(6)", None, 6): k.TIMESTAMP,
        ("DATE", None, None): k.DATE,
    }
    for (data_type, precision, scale), kind in kinds.items():
        assert ORACLE.kind_from_catalog(("C", data_type, precision, scale)) == kind
    # every kind the target creates is read back as itself (so re-runs see no schema change)
    for kind in (k.INTEGER, k.NUMBER, k.STRING, k.CLOB, k.BOOLEAN, k.TIMESTAMP, k.DATE):
        assert ORACLE.type_sql(kind)


def test_same_code_renders_duckdb_with_nearest_types():
    sql = DUCK.create_table_sql("OIC", "WMS_ALLOCATION", COLS, ["ID"])
    for fragment in (
        '"ID" DECIMAL(38,0) NOT NULL',
        '"ALLOC_QTY" DECIMAL(38,10)',
        '"NOTE" VARCHAR',
        '"IS_PACKED" BOOLEAN',
        '"DETAILS" JSON',
        'PRIMARY KEY ("ID")',
    ):
        assert fragment in sql, fragment
    oracle_merge = ORACLE.merge_sql("T", "S", ["ID", "QTY"], ["ID"])
    assert DUCK.merge_sql("T", "S", ["ID", "QTY"], ["ID"]) == oracle_merge


def test_error_codes_and_transient_classification():
    assert error_code(Exception("ORA-00955: name is already used by an existing object")) == "ORA-00955"
    assert ORACLE.exists_error(Exception("ORA-01430: column being added already exists in table"))
    for text in (
        "ORA-03113: end-of-file on communication channel",
        "DPY-4011: the database closed the connection",
    ):
        assert ORACLE.is_transient(Exception(text))
    assert not ORACLE.is_transient(Exception("ORA-00001: unique constraint violated"))


def test_strategy_comes_from_the_url_and_rejects_other_databases():
    assert strategy_for_url("duckdb:///x.duckdb").name == "duckdb"
    assert strategy_for_url("oracle+oracledb://u:p@h:1521/?service_name=s").name == "oracle"
    with pytest.raises(ValueError, match="sqlalchemy_url"):
        strategy_for_url("postgresql://u@h/db")
    assert isinstance(ORACLE.sa_dialect, sa.engine.Dialect)
    assert ORACLE.sa_dialect.driver == "oracledb"

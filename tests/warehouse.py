"""What the pipeline should have loaded, derived from the simulator's records, and what it did load.

The expectation follows docs/data-contract.md independently of the plugins' code: the record shape of
section 2 (foreign keys flattened to `f` + `f_key`, `*_set` links dropped, decimals exact, timestamps in UTC),
the default quarantine rules of section 3, the tables of section 4. Loaded values are compared after reading
both sides into plain Python values (Decimal, naive UTC datetime, bool, str, parsed JSON).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb

SCHEMA = "OIC"
PREFIX = "WMS_"
SDC_COLUMNS = {
    "_SDC_EXTRACTED_AT",
    "_SDC_BATCHED_AT",
    "_SDC_RECEIVED_AT",
    "_SDC_DELETED_AT",
    "_SDC_SEQUENCE",
    "_SDC_TABLE_VERSION",
    "_SDC_SUPERSEDED_AT",
}
STATUS_DOMAINS = {
    "allocation": {0, 10, 90, 99},
    "order_hdr": {0, 10, 20, 25, 30, 40, 50, 90, 99},
    "order_dtl": {0, 10, 20, 25, 30, 40, 50, 90, 99},
}


def table_name(stream: str) -> str:
    return f"{PREFIX}{stream.upper()}"


# ----- the record shape of the contract ----------------------------------------------------------------
def flatten(record: dict) -> dict:
    """An API record in the tap's shape, before type conversion: FK objects split, `*_set` links dropped."""
    out: dict = {}
    for name, value in record.items():
        if name.endswith("_set"):
            continue
        if isinstance(value, dict) and "id" in value:
            out[name] = value["id"]
            out[f"{name}_key"] = value.get("key")
        else:
            out[name] = value
    return out


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _utc(value: object) -> datetime | None:
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def canonical(value: object, column_type: str) -> object:
    """One comparable form for an API value and for a loaded value of a column of `column_type`."""
    kind = column_type.upper()
    if kind.startswith(("DECIMAL", "NUMERIC", "DOUBLE", "FLOAT", "REAL", "HUGEINT")) or kind in {
        "BIGINT",
        "INTEGER",
        "SMALLINT",
        "TINYINT",
        "UBIGINT",
    }:
        number = _decimal(value)
        return None if number is None else number.normalize()
    if kind.startswith("TIMESTAMP") or kind == "DATE":
        return _utc(value)
    if kind == "JSON":
        return json.loads(value) if isinstance(value, str) else value
    if kind == "BOOLEAN":
        return None if value is None else bool(value)
    # target-oracle stores an empty string as NULL on both databases (Oracle's rule): the API's "" and a NULL
    # column compare equal.
    return None if value == "" else value


def broken_rules(stream: str, record: dict) -> set[str]:
    """The contract's default rules (section 3) that a flattened record breaks."""
    broken = set()
    ident = record.get("id")
    if ident is None:
        broken.add("id_not_null")
    elif not isinstance(ident, int) or ident <= 0:
        broken.add("id_positive")
    mod_ts = record.get("mod_ts")
    if mod_ts is None:
        broken.add("mod_ts_not_null")
    else:
        try:
            datetime.fromisoformat(str(mod_ts))
        except ValueError:
            broken.add("mod_ts_datetime")
    status = record.get("status_id")
    if status is not None and status not in STATUS_DOMAINS[stream]:
        broken.add(f"{stream}_status_known")
    if stream == "allocation":
        alloc, packed = _decimal(record.get("alloc_qty")), _decimal(record.get("packed_qty"))
        if alloc is not None and alloc <= 0:
            broken.add("alloc_qty_positive")
        if packed is not None and packed < 0:
            broken.add("packed_qty_non_negative")
        if alloc is not None and packed is not None and packed > alloc:
            broken.add("packed_not_above_allocated")
    elif stream == "order_hdr":
        if record.get("order_nbr") is None:
            broken.add("order_nbr_not_null")
    elif stream == "order_dtl":
        qty = _decimal(record.get("ord_qty"))
        if qty is not None and qty < 0:
            broken.add("ord_qty_non_negative")
    return broken


@dataclass
class Expected:
    """The rows a stream's table should hold and the records its quarantine table should hold."""

    rows: dict[int, dict]
    rejected: dict[int, set[str]]


def expected(stream: str, api_records: list[dict]) -> Expected:
    rows, rejected = {}, {}
    for record in api_records:
        flat = flatten(record)
        rules = broken_rules(stream, flat)
        if rules:
            rejected[flat["id"]] = rules
        else:
            rows[flat["id"]] = flat
    return Expected(rows=rows, rejected=rejected)


# ----- what was loaded ---------------------------------------------------------------------------------
@dataclass
class Table:
    """A loaded table: column types, and its rows by upper-case column name."""

    types: dict[str, str]
    rows: list[dict]

    def by_id(self) -> dict[int, dict]:
        return {row["ID"]: row for row in self.rows}

    def business(self, row: dict) -> dict:
        """A row without the loader's metadata columns, canonicalised."""
        return {
            name: canonical(value, self.types[name]) for name, value in row.items() if name not in SDC_COLUMNS
        }


def comparable(table: Table) -> list[tuple]:
    """A table's rows without load metadata, the quarantine's rejection time, and links to the simulator.

    Sorted, for comparing the tables of two runs. `url` values carry the serving simulator's port, which
    differs between two simulators with the same data.
    """
    skip = SDC_COLUMNS | {"REJECTED_AT", "URL"}
    rows = []
    for row in table.rows:
        values = {k: v for k, v in table.business(row).items() if k not in skip}
        if isinstance(values.get("RECORD"), dict):
            values["RECORD"] = {k: v for k, v in values["RECORD"].items() if k != "url"}
        rows.append(tuple(sorted((k, repr(v)) for k, v in values.items())))
    return sorted(rows)


def load_tables(path: Path) -> dict[str, Table]:
    """Every table of schema OIC in the DuckDB file, by table name."""
    tables: dict[str, Table] = {}
    with duckdb.connect(str(path), read_only=True) as con:
        names = [
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables where upper(table_schema) = ?", [SCHEMA]
            ).fetchall()
        ]
        for name in names:
            relation = con.sql(f'select * from "{SCHEMA}"."{name}"')
            columns = [column.upper() for column in relation.columns]
            types = dict(zip(columns, (str(t) for t in relation.types), strict=True))
            rows = [dict(zip(columns, values, strict=True)) for values in relation.fetchall()]
            tables[name.upper()] = Table(types=types, rows=rows)
    return tables


def differences(stream: str, api_records: list[dict], tables: dict[str, Table]) -> list[str]:
    """Everything in which the loaded tables differ from the simulator's records (empty = exact)."""
    problems: list[str] = []
    want = expected(stream, api_records)
    name = table_name(stream)
    if name not in tables:
        return [f"table {SCHEMA}.{name} missing (tables: {sorted(tables)})"]
    table = tables[name]
    ids = [row["ID"] for row in table.rows]
    if len(ids) != len(set(ids)):
        problems.append(f"{name}: {len(ids) - len(set(ids))} duplicate ids")
    loaded = table.by_id()
    if missing := sorted(set(want.rows) - set(loaded)):
        problems.append(f"{name}: {len(missing)} rows missing, e.g. ids {missing[:5]}")
    if extra := sorted(set(loaded) - set(want.rows)):
        problems.append(f"{name}: {len(extra)} unexpected rows, e.g. ids {extra[:5]}")
    for ident in sorted(set(want.rows) & set(loaded))[:100000]:
        row = loaded[ident]
        for field_name, api_value in want.rows[ident].items():
            column = field_name.upper()
            if column not in table.types:
                problems.append(f"{name}: no column {column} for field {field_name}")
                continue
            got = canonical(row[column], table.types[column])
            should = canonical(api_value, table.types[column])
            if got != should:
                problems.append(f"{name} id {ident} {column}: loaded {got!r}, simulator {should!r}")
        if len(problems) > 20:
            return problems
    rejected_name = table_name(f"{stream}_rejected")
    quarantined: dict[int, set[str]] = {}
    for row in tables[rejected_name].rows if rejected_name in tables else []:
        record = canonical(row["RECORD"], "JSON")
        if record.get("id") in want.rejected and record.get("mod_ts") is not None:
            # the latest version of the rejected record is the one the simulator serves now
            current = next(r for r in api_records if r["id"] == record["id"])
            if _utc(record["mod_ts"]) != _utc(current["mod_ts"]):
                continue
        quarantined[row["ID"]] = {rule.strip() for rule in row["RULE_NAMES"].split(",")}
    for ident, rules in want.rejected.items():
        if ident not in quarantined:
            problems.append(f"{rejected_name}: rejected id {ident} ({sorted(rules)}) not quarantined")
        elif quarantined[ident] != rules:
            problems.append(
                f"{rejected_name} id {ident}: rules {sorted(quarantined[ident])}, expected {sorted(rules)}"
            )
    return problems

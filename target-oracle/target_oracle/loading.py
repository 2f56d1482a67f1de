"""Set-based reading of a batch's files by DuckDB: one SELECT per batch, no per-record Python work.

A batch is a list of files DuckDB reads itself: the sink's *spool* (the RECORD message lines exactly as they
arrived, plus lines the target re-encoded, see ``sinks.py``), or the files of a Singer BATCH message (JSONL of
records, gzip or not, or Parquet). For each source the same three statements are built here:

- ``source_sql``: a subquery giving ``__n`` (position in the batch: the last record per key wins),
  ``__checked`` (the line was already validated and made exact in Python: it holds ``CHECKED``),
  ``__te``/``__v`` (the message's ``time_extracted`` and ``version``) and ``f0..fk``, the raw JSON value of
  each schema property;
- ``check_sql``: one aggregate pass finding the rows that may be invalid (a conservative SQL rendering of the
  schema's type and length rules; those rows are re-checked by the very same Python validator record mode
  uses, so verdicts and messages are unchanged), over-long strings and the duplicate count;
- ``select_sql``: the typed, converted (UTC timestamps, exact decimals, JSON text) and, for upserts,
  deduplicated rows, which DuckDB inserts into its staging table and the Oracle path fetches in chunks for
  array binds.

DuckDB's JSON reader parses non-integer numbers as doubles and accepts NaN and Infinity; lines holding a run
of 16 or more digits (a value a double may not keep exactly), NaN or Infinity are therefore decoded in Python
(``read_in_python``) and spooled with such values as exact text, or refused.
"""

from __future__ import annotations

import dataclasses
import decimal
import gzip
import re
import typing as t
import uuid

from target_oracle import columns as k
from target_oracle import contract

if t.TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

#: A run of 16 digits and dots: a number that may have more than the 15 significant digits a double keeps.
LONG_NUMBER = re.compile(rb"[0-9.]{16}")
#: ``line.translate(_DIGITS)`` turns digits and dots into ``d``, all else into a space (a C-speed scan).
_DIGITS = bytes(ord("d") if chr(i) in "0123456789." else ord(" ") for i in range(256))
_RUN = b"d" * 16


def has_long_number(line: bytes) -> bool:
    """True when the line holds a ``LONG_NUMBER`` run (about 20x faster than the regex on such lines)."""
    return _RUN in line.translate(_DIGITS)


def has_non_finite(line: bytes) -> bool:
    """True when the line holds ``NaN`` or ``Infinity`` (Python's ``json.dumps`` writes them for such
    floats): not JSON, but DuckDB's reader accepts them and a JSON column keeps them as they are, while
    Python's decoder refuses the line, naming it. A string holding those letters only takes the slower,
    exact path."""
    return b"NaN" in line or b"Infinity" in line


def read_in_python(line: bytes, *, nested: bool) -> bool:
    """True when the line (or lines) must be decoded in Python rather than by DuckDB's JSON reader: a long
    number, or, when the stream has JSON columns (``nested``: only there would DuckDB keep a non-finite
    value; elsewhere the check of the batch finds it), ``NaN`` or ``Infinity``."""
    return has_long_number(line) or (nested and has_non_finite(line))


#: JSON-schema type -> SQL true when the raw JSON text ``{f}`` of a non-null value has that type. The text is
#: DuckDB's rendering of the value, so its first character tells the JSON type without parsing it again.
_JSON_TYPES = {
    "integer": "regexp_full_match({f}, '-?[0-9]+')",
    "number": "regexp_full_match({f}, '-?[0-9].*')",
    "string": "starts_with({f}, '\"')",
    "boolean": "{f} IN ('true', 'false')",
    "object": "starts_with({f}, '{{')",
    "array": "starts_with({f}, '[')",
    "null": "{f} = 'null'",
}
#: column kind -> the JSON types a non-null value matching its ``contract.EXACT_TEXT`` surely has.
_IMPLIED_TYPES = {
    k.INTEGER: frozenset({"integer", "number"}),
    k.NUMBER: frozenset({"number"}),
    k.TIMESTAMP: frozenset({"string"}),
    k.DATE: frozenset({"string"}),
}
#: Keywords the SQL rendering understands (anything else: every row is checked in Python).
_PROPERTY_KEYWORDS = frozenset(
    {"type", "format", "maxLength", "minLength", "description", "title", "$comment"}
)
_OBJECT_KEYWORDS = frozenset(
    {"type", "properties", "required", "description", "title", "$schema", "$comment"}
)

JSONL, PARQUET = "jsonl", "parquet"
#: a spool line the sink validated and made exact in Python carries ``"__checked": CHECKED`` (see
#: ``source_sql``): a value no RECORD message arriving as it was sent can hold, since a tap cannot know it
CHECKED = uuid.uuid4().hex


def lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def qid(name: str) -> str:
    """A double-quoted identifier (DuckDB side)."""
    return '"' + name.replace('"', '""') + '"'


@dataclasses.dataclass(frozen=True)
class Column:
    """One target column fed from one schema property (or from the message, for ``_sdc_*``)."""

    prop: str
    name: str
    kind: str
    #: where the value comes from: "record", "extracted", "version", "now", "sequence", "null"
    origin: str = "record"


@dataclasses.dataclass(frozen=True)
class Source:
    """Files of one batch: the spool (Singer RECORD lines) or the files of a BATCH message."""

    files: tuple[str, ...]
    format: str = JSONL
    compression: str = "none"
    #: True when each line is a RECORD message (``record``, ``time_extracted``, ``version``), not a record.
    messages: bool = False


#: DuckDB expands ``*``, ``?`` and ``[...]`` in a file name as a glob pattern; each in brackets is itself
_GLOB_CHARS = re.compile(r"[*?\[]")


def file_list(source: Source) -> str:
    """The source's files as a DuckDB list literal, for ``read_json`` / ``read_parquet``. Each name is
    matched literally: ``part[1].json`` would otherwise read ``part1.json`` (another file) instead."""
    return "[" + ", ".join(lit(_GLOB_CHARS.sub(r"[\g<0>]", f)) for f in source.files) + "]"


def _struct(props: Sequence[str]) -> str:
    return "STRUCT(" + ", ".join(f"{qid(p)} JSON" for p in props) + ")"


def _version_sql(text: str) -> str:
    """A row's table version from its text (SQL ``text``): an integer (``5.0`` is 5), or the read fails naming
    it (a cast rounds 1.5 to 2, which made the row count as the newer version at ACTIVATE_VERSION)."""
    text = f"({text})"
    return (
        f"CASE WHEN {text} IS NULL THEN NULL WHEN regexp_full_match({text}, '-?[0-9]{{1,18}}(\\.0*)?') "
        f"THEN CAST({text} AS BIGINT) ELSE error('a table version (a RECORD message''s version, a BATCH "
        f"record''s _sdc_table_version) must be an integer, not ' || {text}) END"
    )


def source_sql(source: Source, props: Sequence[str], parquet_columns: Sequence[str] = ()) -> str:
    """The subquery every statement reads: ``__n, __checked, __te, __v, f0..fk`` (raw JSON values)."""
    files = file_list(source)
    if source.format == PARQUET:
        have = set(parquet_columns)
        values = [f"to_json({qid(p)})" if p in have else "NULL::JSON" for p in props]
        te = f"to_json({qid('_sdc_extracted_at')})->>'$'" if "_sdc_extracted_at" in have else "NULL"
        v = (
            _version_sql(f"CAST({qid('_sdc_table_version')} AS VARCHAR)")
            if "_sdc_table_version" in have
            else "NULL"
        )
        fields = ", ".join(f"{value} AS f{i}" for i, value in enumerate(values))
        return (
            f"SELECT row_number() OVER () AS __n, false AS __checked, {te} AS __te, {v} AS __v, {fields} "
            f"FROM read_parquet({files}, union_by_name = true)"
        )
    opts = f"format = 'newline_delimited', compression = {lit(source.compression)}"
    if source.messages:
        columns = {
            "record": _struct(props),
            "time_extracted": "VARCHAR",
            "version": "JSON",
            "__checked": "VARCHAR",
        }
        fields = ", ".join(f"record.{qid(p)} AS f{i}" for i, p in enumerate(props))
        te, v = "time_extracted", _version_sql("version->>'$'")
        checked = f"coalesce(__checked = {lit(CHECKED)}, false)"
    else:
        extra = [p for p in ("_sdc_extracted_at", "_sdc_table_version") if p not in props]
        columns = {p: "JSON" for p in [*props, *extra]}
        fields = ", ".join(f"{qid(p)} AS f{i}" for i, p in enumerate(props))
        te = f"{qid('_sdc_extracted_at')}->>'$'"
        v = _version_sql(f"{qid('_sdc_table_version')}->>'$'")
        checked = "false"
    spec = "{" + ", ".join(f"{lit(name)}: {lit(typ)}" for name, typ in columns.items()) + "}"
    return (
        f"SELECT row_number() OVER () AS __n, {checked} AS __checked, {te} AS __te, {v} AS __v, {fields} "
        f"FROM read_json({files}, {opts}, columns = {spec})"
    )


def sql_validation(
    schema: dict, props: Sequence[str], skip: set[str], exact: Mapping[str, str] | None = None
) -> str | None:
    """SQL that is true when a row surely passes the schema's rules, or None when the rules go beyond what
    it renders (then every row is validated in Python). It may call a valid row suspect, never the reverse.

    ``exact`` (property -> column kind): properties whose raw text ``materialize_sql`` matches against
    ``contract.EXACT_TEXT`` (a row failing that match is suspect anyway). Where that text implies one of the
    property's types (``_IMPLIED_TYPES``: an exact integer is a JSON integer and number, an exact date-time
    a JSON string), only the property's null rule is rendered here, so the row pays one regular expression
    per value instead of two: then this SQL alone may pass a row the rules reject, the two together never.
    """
    exact = exact or {}
    if set(schema) - _OBJECT_KEYWORDS:
        return None
    required = set(schema.get("required") or ())
    parts = []
    for i, prop in enumerate(props):
        if prop in skip:
            continue
        spec = schema.get("properties", {}).get(prop, {})
        # empty "properties"/"items" constrain nothing (``{"type": "object", "properties": {}}``)
        spec = {
            key: value for key, value in spec.items() if not (key in {"properties", "items"} and not value)
        }
        if set(spec) - _PROPERTY_KEYWORDS or "type" not in spec:
            return None
        types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
        if any(typ not in _JSON_TYPES for typ in types):
            return None
        f = f"f{i}"
        # JSON null reads as SQL NULL, like an absent key: fine only for an optional, nullable property
        null_ok = "null" in types and prop not in required
        implied = _IMPLIED_TYPES.get(exact.get(prop, ""), frozenset())
        if implied & set(types) and not {"maxLength", "minLength"} & set(spec):
            if not null_ok:
                parts.append(f"{f} IS NOT NULL")
            continue
        options = [_JSON_TYPES[typ].format(f=f) for typ in types if typ != "string"]
        if "string" in types:
            # the raw text is at least as long as the string (escapes only add): a bound, never a false pass
            cond = [_JSON_TYPES["string"].format(f=f)]
            if "maxLength" in spec:
                cond.append(f"length({f}) - 2 <= {int(spec['maxLength'])}")
            if "minLength" in spec:
                cond.append(f"NOT contains({f}, '\\') AND length({f}) - 2 >= {int(spec['minLength'])}")
            options.append("(" + " AND ".join(cond) + ")")
        body = " OR ".join(options) if options else "false"
        parts.append(f"({f} IS NULL OR ({body}))" if null_ok else f"({f} IS NOT NULL AND ({body}))")
    return " AND ".join(parts) if parts else "true"


def value_sql(
    col: Column, index: int, *, for_oracle: bool, now: str, sequence: int, version: int | None = None
) -> str:
    """The typed value of one column from the raw JSON ``f<index>`` (or the message/batch metadata).
    ``version``: the table version of a row that carries none (the stream's last ACTIVATE_VERSION)."""
    # to naive UTC: a finite instant's microseconds as they are (half the CPU of the session-time-zone cast,
    # same values under the connection's UTC); infinities keep that cast (they become its min/max timestamps)
    ts = (
        "(CASE WHEN isfinite(CAST({0} AS TIMESTAMPTZ)) "
        "THEN make_timestamp(epoch_us(CAST({0} AS TIMESTAMPTZ))) "
        "ELSE CAST(CAST({0} AS TIMESTAMPTZ) AS TIMESTAMP) END)"
    )
    if col.origin == "extracted":
        return ts.format("__te")
    if col.origin == "version":
        v = "__v" if version is None else f"coalesce(__v, {int(version)})"
        return f"CAST({v} AS DECIMAL(38, 0))"
    if col.origin == "now":
        return f"CAST({lit(now)} AS TIMESTAMP)"
    if col.origin == "sequence":
        return f"CAST({sequence} AS DECIMAL(38, 0))"
    if col.origin == "null":
        return "CAST(NULL AS TIMESTAMP)"
    f = f"f{index}"
    text = text_sql(index)
    kind = col.kind
    if kind == k.INTEGER:
        return f"CAST({text} AS DECIMAL(38, 0))"
    if kind == k.NUMBER:
        return f"CAST({text} AS DECIMAL(38, {k.NUMBER_SCALE}))"
    if kind == k.BOOLEAN:
        return f"CAST(CAST({text} AS BOOLEAN) AS INTEGER)" if for_oracle else f"CAST({text} AS BOOLEAN)"
    if kind == k.TIMESTAMP:
        return ts.format(text)
    if kind == k.DATE:
        return f"CAST(left({text}, 10) AS DATE)"
    if kind == k.JSON:
        json = f"CASE WHEN __checked THEN CAST({text} AS JSON) ELSE {f} END"
        return f"CAST({json} AS VARCHAR)" if for_oracle else json
    # string, clob: the text of a string (an empty one is NULL, as Oracle stores it), the JSON text of
    # anything else
    return f"NULLIF({text}, '')"


def text_sql(index: int) -> str:
    """The raw JSON value ``f<index>`` as text: a JSON string unquoted (unescaped by the JSON functions only
    when it has escapes), anything else as its JSON text."""
    f = f"f{index}"
    return (
        f"(CASE WHEN NOT starts_with({f}, '\"') THEN CAST({f} AS VARCHAR) "
        f"WHEN contains({f}, '\\') THEN {f}->>'$' ELSE {f}[2:-2] END)"
    )


BATCH_TABLE = "__batch"


#: kinds whose value is the text of the raw JSON value (``value_sql``): no conversion that could fail.
_NEVER_FAIL = frozenset({k.STRING, k.CLOB})


#: kind -> the SQL bounds of the values the contract stores (a converted value outside is suspect)
_YEARS_1_TO_9999 = {
    k.TIMESTAMP: "TIMESTAMP '0001-01-01 00:00:00' AND TIMESTAMP '9999-12-31 23:59:59.999999'",
    k.DATE: "DATE '0001-01-01' AND DATE '9999-12-31'",
}


def _presence(col: Column, index: int) -> str | None:
    """SQL true when the column's raw value is there (so a NULL after the conversion means it failed)."""
    return {"record": f"f{index}", "extracted": "__te", "version": "__v"}.get(col.origin)


def materialize_sql(
    source: str,
    cols: Sequence[Column],
    valid: str | None,
    key_fields: Sequence[int],
    *,
    for_oracle: bool,
    now: str,
    sequence: int,
    version: int | None = None,
    table: str = BATCH_TABLE,
) -> str:
    """Read the files once into the batch's temp table: position, converted values ``v0..vk`` and the flags
    the check needs (``__suspect``: rows the Python checks must see; ``__failed``: a value that did not
    convert).

    ``valid`` is SQL true for rows that surely pass the rules (``sql_validation``); None sends every row to
    the Python checks. Rows are suspect too when a key is null or empty, when a value's text is not one the
    storage contract surely stores exactly (``contract.EXACT_TEXT``: the Python check then refuses it or warns
    about a date-time without offset), or when a value did not convert, or when it has no property at all (its
    line may hold no object: a JSON null record reads as a row of NULLs). Checked (re-encoded) rows passed
    those checks when they were spooled.
    """
    suspect = ["true" if valid is None else f"NOT ({valid})"]
    suspect += [f"f{i} IS NULL OR f{i} = '\"\"'" for i in key_fields]  # absent, null or ""
    values, failed = [], []
    #: contract.EXACT_TEXT pattern -> the raw values it must match
    exact_fields: dict[str, list[str]] = {}
    for i, col in enumerate(cols):
        value = value_sql(col, i, for_oracle=for_oracle, now=now, sequence=sequence, version=version)
        values.append(f"{value.replace('CAST(', 'TRY_CAST(')} AS v{i}")
        if col.origin == "record" and (exact := contract.EXACT_TEXT.get(col.kind)) is not None:
            # matched on the raw JSON text: a number as written, a string with its quotes (one with escapes,
            # or a number written as a string, is suspect too: the Python check decides)
            raw = exact if col.kind in {k.INTEGER, k.NUMBER} else f'"{exact}"'
            exact_fields.setdefault(raw, []).append(f"f{i}")
            if (bounds := _YEARS_1_TO_9999.get(col.kind)) is not None:
                # DuckDB's casts hold years 0 and 10000 (``0001-01-01T00:30:00+01:00`` in UTC), the
                # contract does not: such a row goes to the Python check, which refuses it
                suspect.append(f"v{i} NOT BETWEEN {bounds}")
        if col.kind in _NEVER_FAIL and col.origin == "record":
            continue  # the text of a present value is never NULL ('' is NULL on purpose)
        if (present := _presence(col, i)) is not None:
            failed.append(f"(v{i} IS NULL AND {present} IS NOT NULL)")
    suspect += [inexact_sql(raw, fields) for raw, fields in exact_fields.items()]
    if record_fields := [f"f{i}" for i, col in enumerate(cols) if col.origin == "record"]:
        suspect.append("(" + " AND ".join(f"{f} IS NULL" for f in record_fields) + ")")
    any_failed = " OR ".join(failed) or "false"
    names = ", ".join(f"v{i}" for i in range(len(cols)))
    return (
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT __n, {names}, "
        f"NOT __checked AND (__failed OR {' OR '.join(suspect)}) AS __suspect, __failed "
        f"FROM (SELECT *, ({any_failed}) AS __failed "
        f"FROM (SELECT *, {', '.join(values)} FROM ({source}) src) converted) flagged"
    )


#: joins the raw values one regular expression matches (``inexact_sql``): a control character, which
#: DuckDB's JSON text never holds unescaped (inside a string it is written ``\u0001``) and no pattern matches.
_SEPARATOR = "\\x01"


def inexact_sql(raw: str, fields: Sequence[str]) -> str:
    """SQL true when a present value of ``fields`` does not match the pattern ``raw`` in full. Several
    fields: one match over their non-null values joined by ``_SEPARATOR`` (one regular expression a row
    instead of one a value: matching costs mostly per call on such short texts)."""
    if len(fields) == 1:
        return f"({fields[0]} IS NOT NULL AND NOT regexp_full_match({fields[0]}, {lit(raw)}))"
    joined = ", ".join(f"CAST({f} AS VARCHAR)" for f in fields)
    every = f"((?:{raw})(?:{_SEPARATOR}(?:{raw}))*)?"
    return f"NOT regexp_full_match(concat_ws(chr(1), {joined}), {lit(every)})"


def check_sql(key_cols: Sequence[int], limited: Sequence[int], table: str = BATCH_TABLE) -> str:
    """One pass over the batch's table: row count, suspect row numbers in order, duplicate keys, too-long
    string columns, rows with a value that did not convert."""
    keys = ", ".join(f"v{i}" for i in key_cols)
    dupes = f"count(*) - count(DISTINCT ({keys}))" if key_cols else "0"
    longs = ", ".join(f"max(strlen(v{i})) > {k.VARCHAR_MAX_BYTES}" for i in limited)
    return (
        f"SELECT count(*), list(__n ORDER BY __n) FILTER (WHERE __suspect), {dupes}, [{longs}]::BOOLEAN[], "
        f"count(*) FILTER (WHERE __failed) FROM {table}"
    )


def long_text_row_sql(index: int, key_cols: Sequence[int], table: str = BATCH_TABLE) -> str:
    """The byte length of column ``index`` and the key values (as text) of the first row where it holds
    more than VARCHAR2's bytes."""
    keys = "".join(f", CAST(v{i} AS VARCHAR)" for i in key_cols)
    return (
        f"SELECT strlen(v{index}){keys} FROM {table} WHERE strlen(v{index}) > {k.VARCHAR_MAX_BYTES} "
        "ORDER BY __n LIMIT 1"
    )


def select_sql(
    source: str,
    cols: Sequence[Column],
    keys: Sequence[str],
    *,
    for_oracle: bool,
    now: str,
    sequence: int,
    version: int | None = None,
) -> str:
    """Typed rows in target column order straight from the files (strict conversions: a bad value raises);
    with keys, only the last row per key (MERGE needs unique keys)."""
    values = ", ".join(
        f"{value_sql(c, i, for_oracle=for_oracle, now=now, sequence=sequence, version=version)} "
        f"AS {qid(c.name)}"
        for i, c in enumerate(cols)
    )
    sql = f"SELECT {values} FROM ({source}) src"
    if keys:
        idx = {c.name: i for i, c in enumerate(cols)}
        part = ", ".join(
            value_sql(cols[idx[key]], idx[key], for_oracle=False, now=now, sequence=0) for key in keys
        )
        sql += f" QUALIFY row_number() OVER (PARTITION BY {part} ORDER BY __n DESC) = 1"
    return sql


def batch_select_sql(cols: Sequence[Column], key_cols: Sequence[int], table: str = BATCH_TABLE) -> str:
    """The converted rows of the batch's table in target column order, the last row per key."""
    values = ", ".join(f"v{i} AS {qid(c.name)}" for i, c in enumerate(cols))
    sql = f"SELECT {values} FROM {table}"
    if key_cols:
        part = ", ".join(f"v{i}" for i in key_cols)
        sql += f" QUALIFY row_number() OVER (PARTITION BY {part} ORDER BY __n DESC) = 1"
    return sql


def key_text(value: t.Any) -> str:
    """A key value of a record as text DuckDB casts to its column's type (``key_value_sql``): a string as
    it is, anything else as its JSON text (``true``, ``12``, ``1.50``), so keys of any size bind exactly."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    return repr(value) if isinstance(value, float) else str(value)


def key_value_sql(kind: str, text: str) -> str:
    """A key value's text (SQL ``text``, see ``key_text``) as the DuckDB type of its column, NULL when it
    does not convert (no row of a typed column can have that key); a date-time as naive UTC, as the load
    stores it."""
    if kind == k.TIMESTAMP:
        return f"TRY_CAST(TRY_CAST({text} AS TIMESTAMPTZ) AS TIMESTAMP)"
    return f"TRY_CAST({text} AS {k.column_type(kind, 'duckdb')})"


def marks_sql(key_kinds: Sequence[str], *, times: bool) -> str:
    """Marked keys as rows ``(__i, [__at,] k0..kn)`` from list binds, one list per column: the marks'
    indexes, [their times,] then each key column's values as ``key_text``. Lists bind as one value each
    (a ``VALUES`` row per key costs DuckDB about 50 microseconds to plan), and unnest side by side."""
    at = ["unnest(?) AS __at"] if times else []
    keys = [f"{key_value_sql(kind, 'unnest(?)')} AS k{j}" for j, kind in enumerate(key_kinds)]
    return "SELECT " + ", ".join(["unnest(?) AS __i", *at, *keys])


def marks_binds(marks: Sequence[tuple[t.Any, ...]], *, times: bool) -> list[list[t.Any]]:
    """The list binds of ``marks_sql`` for ``marks``: each ``([time,] key value, ...)``."""
    start = 1 if times else 0
    width = len(marks[0]) if marks else start
    binds: list[list[t.Any]] = [list(range(len(marks)))]
    if times:
        binds.append([mark[0] for mark in marks])
    binds += [[key_text(mark[j]) for mark in marks] for j in range(start, width)]
    return binds


def last_positions_sql(key_fields: Sequence[int], key_kinds: Sequence[str], table: str = BATCH_TABLE) -> str:
    """For marked keys (``marks_sql`` without times): the index and the position in the batch of the key's
    last row, for each key the batch holds."""
    on = " AND ".join(f"b.v{i} = m.k{j}" for j, i in enumerate(key_fields))
    return (
        f"SELECT m.__i, max(b.__n) FROM ({marks_sql(key_kinds, times=False)}) m "
        f"JOIN {table} b ON {on} GROUP BY m.__i"
    )


def parquet_count_sql(source: Source) -> str:
    return f"SELECT count(*) FROM read_parquet({file_list(source)}, union_by_name = true)"


def parquet_columns_sql(source: Source) -> str:
    return f"DESCRIBE SELECT * FROM read_parquet({file_list(source)}, union_by_name = true)"


def parquet_schema_sql(source: Source) -> str:
    """Every file's schema elements in order (``parquet_top_level_names`` reads the top-level ones)."""
    return f"SELECT file_name, name, num_children FROM parquet_schema({file_list(source)})"


def parquet_top_level_names(rows: Sequence[tuple[str, str, int | None]]) -> set[str]:
    """The top-level column names of ``parquet_schema_sql``'s rows: each file's schema is a tree written
    depth first, a root holding the columns, each with its ``num_children`` (nested fields) after it."""
    names: set[str] = set()
    elements = iter(rows)

    def skip(children: int) -> None:
        for _ in range(children):
            skip(next(elements)[2] or 0)

    for _file, _root, columns in elements:
        for _ in range(columns or 0):
            _, name, children = next(elements)
            names.add(name)
            skip(children or 0)
    return names


def case_variants(names: set[str], props: Sequence[str]) -> list[tuple[str, str]]:
    """(property, column) for each column whose name equals a property's only when case is ignored."""
    by_lower: dict[str, list[str]] = {}
    for prop in props:
        by_lower.setdefault(prop.lower(), []).append(prop)
    return [
        (prop, name)
        for name in sorted(names)
        for prop in by_lower.get(name.lower(), [])
        if name != prop and name not in props
    ]


def drop_batch_sql(table: str = BATCH_TABLE) -> str:
    return f"DROP TABLE IF EXISTS {table}"


def rows_as_json_sql(source: str, props: Sequence[str], numbers: Sequence[int] | None) -> str:
    """The rows numbered ``numbers`` (None: every row) of ``source`` as ``(__n, JSON text of the record)``,
    in order."""
    fields = ", ".join(f"{lit(p)}: f{i}" for i, p in enumerate(props))
    wanted = "" if numbers is None else f"WHERE __n IN ({', '.join(str(int(n)) for n in numbers)}) "
    return f"SELECT __n, to_json({{{fields}}}) FROM ({source}) src {wanted}ORDER BY __n"


def _open_binary(path: str, compression: str) -> t.IO[bytes]:
    """A batch file opened for reading bytes, gunzipped when ``compression`` is gzip."""
    return gzip.open(path, "rb") if compression == "gzip" else open(path, "rb")


def scan_jsonl(path: str, compression: str, *, nested: bool) -> tuple[int, bool]:
    """One pass over a JSONL file: its line count and whether a line must be read in Python
    (``read_in_python``). Lines end in newlines, which never count as digits, so no run spans two lines."""
    rows, found, tail, last = 0, False, b"", b"\n"
    with _open_binary(path, compression) as fin:
        while chunk := fin.read(1 << 20):
            rows += chunk.count(b"\n")
            last = chunk[-1:]
            if not found:  # the run may start in the tail of the chunk before (no copy of the whole chunk)
                found = read_in_python(tail + chunk[: len(_RUN) - 1], nested=nested) or read_in_python(
                    chunk, nested=nested
                )
                tail = chunk[-(len(_RUN) - 1) :]
    return rows + (last != b"\n"), found


def read_lines(source: Source, wanted: set[int] | None) -> Iterator[tuple[int, bytes]]:
    """The raw lines numbered ``wanted`` (1-based, blank lines skipped as DuckDB does; None: all)."""
    n = 0
    last = max(wanted) if wanted else 0
    for path in source.files:
        with _open_binary(path, source.compression) as fin:
            for line in fin:
                if not line.strip():
                    continue
                n += 1
                if wanted is None or n in wanted:
                    yield n, line
                if wanted is not None and n >= last:
                    return

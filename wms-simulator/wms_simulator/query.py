"""Filters, ordering and pagination over a `Dataset` without materialising the table.

A query is turned into a *plan*: a list of items in output order, each either a range of base ids
(generated on demand) or one overlay row. Filters on `id`, `create_ts` and `mod_ts` narrow the base
range by arithmetic (base timestamps are increasing in id); other filters are checked per row.
Ordering by `id`/`create_ts` or by `mod_ts` (ascending or descending, `id` as tie-breaker) streams
the plan; any other ordering sorts the matching rows in memory (fine for the small entities and for
filtered slices, not for millions of rows).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .data import Dataset
from .schema import FIELD_MAP
from .timeutil import local_parts, parse_ts

LOOKUPS = {
    "exact",
    "iexact",
    "contains",
    "icontains",
    "startswith",
    "istartswith",
    "endswith",
    "iendswith",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "range",
    "isnull",
    "year",
    "month",
    "day",
    "week_day",
    "hour",
    "minute",
}
DATE_PARTS = {"year", "month", "day", "week_day", "hour", "minute"}
TEXT_LOOKUPS = {"iexact", "contains", "icontains", "startswith", "istartswith", "endswith", "iendswith"}
CONTROL_PARAMS = {"page", "page_size", "page_mode", "ordering", "fields", "cursor", "format"}
INDEXED = {"id", "create_ts", "mod_ts"}
# Storage order of an entity that ignores `ordering`: rows as if written by this many writers in turn,
# each writer's rows together (ids 3, 6, 9, .., then 1, 4, 7, .., then 2, 5, 8, ..), ascending within each,
# so a walk sees ids ascend for a third of the rows before they fall back.
STORAGE_STRIPES = 3
RANGE_LOOKUPS = {"exact", "gt", "gte", "lt", "lte", "range"}
_FRACTION = re.compile(r":\d{2}[.,]\d")  # seconds with a fraction: `10:48:26.157304`


class QueryError(Exception):
    """A request the API refuses; `status` and `details` go into the documented error body."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or {}


def bad(param: str, message: str) -> QueryError:
    return QueryError(400, "VALIDATION_ERROR", "Invalid input.", {param: [message]})


@dataclass
class Path:
    """A filterable/orderable path: how to read it from a row, and the type of the value."""

    kind: str
    get: Callable[[dict], Any]


def _fk_part(name: str, part: str) -> Callable[[dict], Any]:
    if part == "id":
        return lambda r: None if r[name] is None else r[name]["id"]
    return lambda r: None if r[name] is None else r[name]["key"]


def resolve_path(ds: Dataset, entity: str, path: str, param: str) -> Path:
    """Map `status_id`, `order_dtl_id__key`, `facility_id__code` ... to a getter."""
    fields = FIELD_MAP[entity]
    head, _, rest = path.partition("__")
    f = fields.get(head)
    if f is not None and f.kind not in ("set",):
        kind = f.value_kind
        if kind == "fk":
            if rest in ("", "id"):
                return Path("int", _fk_part(head, "id"))
            if rest in ("key", "code"):
                return Path("str", _fk_part(head, "key"))
        elif not rest:
            getter = (lambda r, n=head: r[n]) if kind != "datetime" else (lambda r, n=head: _ts(r[n]))
            return Path("int" if kind == "pk" else kind, getter)
    if (
        entity in ("order_dtl", "allocation")
        and head in ("facility_id", "company_id")
        and rest
        in (
            "",
            "id",
            "code",
            "key",
        )
    ):

        def hdr_of(r: dict) -> int | None:
            return r["order_id"]["id"] if entity == "order_dtl" else ds.hdr_of_alloc(r)

        def derived(r: dict, head: str = head, part: str = rest or "id") -> Any:
            fk = ds.fk_of_hdr(hdr_of(r), head)
            return None if fk is None else fk["id" if part == "id" else "key"]

        return Path("int" if rest in ("", "id") else "str", derived)
    if entity == "allocation" and path in ("order_dtl_id__order_id", "order_dtl_id__order_id__id"):
        return Path("int", ds.hdr_of_alloc)
    raise bad(param, f"Unknown field '{path}' for entity '{entity}'.")


def _ts(value: str | None) -> int | None:
    return None if value is None else parse_ts(value)


def _typed(kind: str, raw: str, param: str) -> Any:
    try:
        if kind == "int":
            return int(raw)
        if kind == "decimal":
            return Decimal(raw)
        if kind == "datetime":
            return parse_ts(raw)
        if kind == "bool":
            low = raw.strip().lower()
            if low in ("true", "1", "y", "yes"):
                return True
            if low in ("false", "0", "n", "no"):
                return False
            raise ValueError(raw)
        return raw
    except (ValueError, InvalidOperation) as exc:
        raise bad(param, f"'{raw}' is not a valid {kind} value.") from exc


def _row_value(kind: str, value: Any) -> Any:
    if kind == "decimal" and isinstance(value, str):
        return Decimal(value) if value else None
    return value


@dataclass
class Cond:
    """One `path__lookup[!]=value` filter."""

    param: str
    path: str
    lookup: str
    negate: bool
    getter: Path
    value: Any

    def test(self, row: dict) -> bool:
        kind = self.getter.kind
        raw = self.getter.get(row)
        lookup = self.lookup
        if lookup == "isnull":
            result = (raw is None) == self.value
        elif raw is None:
            result = False
        elif lookup in TEXT_LOOKUPS:
            text, want = str(raw), self.value
            if lookup.startswith("i"):
                text, want = text.lower(), want.lower()
                lookup = lookup[1:]
            if lookup == "exact":
                result = text == want
            elif lookup == "contains":
                result = want in text
            elif lookup == "startswith":
                result = text.startswith(want)
            else:
                result = text.endswith(want)
        elif lookup in DATE_PARTS:
            parts = local_parts(raw)
            got = parts.isoweekday() % 7 + 1 if lookup == "week_day" else getattr(parts, lookup)
            result = got == self.value
        else:
            v = _row_value(kind, raw)
            if v is None:
                result = False
            elif lookup == "exact":
                result = v == self.value
            elif lookup == "gt":
                result = v > self.value
            elif lookup == "gte":
                result = v >= self.value
            elif lookup == "lt":
                result = v < self.value
            elif lookup == "lte":
                result = v <= self.value
            elif lookup == "in":
                result = v in self.value
            else:
                result = self.value[0] <= v <= self.value[1]
        return result != self.negate


def parse_cond(ds: Dataset, entity: str, key: str, raw: str, *, whole_seconds: bool = False) -> Cond:
    """One filter; `whole_seconds` refuses a time value with a fraction of a second, as some tenants do."""
    negate = key.endswith("!")
    name = key[:-1] if negate else key
    parts = name.split("__")
    lookup = "exact"
    if len(parts) > 1 and parts[-1] in LOOKUPS:
        lookup = parts.pop()
    path = "__".join(parts)
    getter = resolve_path(ds, entity, path, key)
    kind = getter.kind
    if lookup == "isnull":
        value: Any = _typed("bool", raw, key)
    elif lookup in TEXT_LOOKUPS:
        value = raw
    elif lookup in DATE_PARTS:
        if kind != "datetime":
            raise bad(key, f"'{lookup}' needs a date/time field; '{path}' is {kind}.")
        value = _typed("int", raw, key)
    elif lookup in ("in", "range"):
        items = [_typed(kind, v, key) for v in raw.split(",")] if raw != "" else []
        if lookup == "range" and len(items) != 2:
            raise bad(key, "A range needs exactly two comma-separated values.")
        value = set(items) if lookup == "in" else items
    else:
        value = _typed(kind, raw, key)
    if whole_seconds and kind == "datetime" and lookup not in DATE_PARTS and _FRACTION.search(raw):
        raise bad(key, "Enter a valid date/time.")
    return Cond(key, path, lookup, negate, getter, value)


@dataclass
class Plan:
    """Output order as items: ("r", a, b, step) base-id runs or ("o", row) overlay rows."""

    entity: str
    items: list[tuple]
    residual: list[Cond]
    mode: str
    descending: bool
    sort_keys: list[tuple[Path, bool]] = field(default_factory=list)
    # Rows in storage order (the entity ignores `ordering`; see STORAGE_STRIPES).
    storage_order: bool = False


class Query:
    """A parsed request for one entity: filters, ordering and output fields."""

    def __init__(
        self,
        ds: Dataset,
        entity: str,
        params: dict[str, str],
        *,
        honour_ordering: bool = True,
        refuse_ordering: bool = False,
        ignore_ordering: bool = False,
        whole_second_filters: bool = False,
    ):
        """`refuse_ordering`: the entity answers 400 to any `ordering` (some real entities do);
        `ignore_ordering`: the entity validates `ordering` but serves its storage order (STORAGE_STRIPES);
        `whole_second_filters`: time filters with a fraction of a second are refused (400)."""
        self.ds, self.entity = ds, entity
        if refuse_ordering and params.get("ordering"):
            raise bad("ordering", f"Ordering is not supported for entity '{entity}'.")
        self.conds = [
            parse_cond(ds, entity, k, v, whole_seconds=whole_second_filters)
            for k, v in params.items()
            if k not in CONTROL_PARAMS
        ]
        self.has_filters = bool(self.conds)
        self.fields = None
        if params.get("fields"):
            self.fields = [f for f in params["fields"].split(",") if f]
            unknown = [f for f in self.fields if f not in FIELD_MAP[entity]]
            if unknown:
                raise bad("fields", f"Unknown field(s) {', '.join(unknown)} for entity '{entity}'.")
        ordering = [o for o in params.get("ordering", "").split(",") if o]
        self.order: list[tuple[str, bool]] = []
        for o in ordering:
            desc = o.startswith("-")
            name = o[1:] if desc else o
            resolve_path(ds, entity, name, "ordering")
            self.order.append((name, desc))
        if not honour_ordering or ignore_ordering:
            self.order = []
        self.storage_order = ignore_ordering
        # Identifies the row sequence (not the page): count and position caches are keyed on it.
        ignored = {"page", "cursor", "page_size", "fields", "format"}
        self.key = (entity, tuple(sorted((k, v) for k, v in params.items() if k not in ignored)))

    def _mode(self) -> tuple[str, bool]:
        if self.storage_order:
            return "generic", False
        names = [n for n, _ in self.order]
        dirs = {d for _, d in self.order}
        if len(dirs) > 1:
            return "generic", False
        desc = bool(dirs and dirs.pop())
        if names in ([], ["id"], ["create_ts"], ["create_ts", "id"]):
            return "id", desc
        if names in (["mod_ts"], ["mod_ts", "id"]):
            return "mod", desc
        return "generic", False

    def plan(self, after: tuple | None = None) -> Plan:
        """Build the plan; `after` is a keyset position from a sequenced cursor."""
        ds, entity = self.ds, self.entity
        lo, hi = 1, ds.sizes[entity]
        residual = []
        for c in self.conds:
            if c.path in INDEXED and c.lookup in RANGE_LOOKUPS and not c.negate:
                lo, hi = self._narrow(c, lo, hi)
            else:
                residual.append(c)
        mode, desc = self._mode()
        overlay = ds.overlay[entity]
        rows = [r for r in overlay.values() if all(c.test(r) for c in self.conds)]
        mods = ds.overlay_mod[entity]
        if after is not None:
            lo, hi, rows = self._apply_after(mode, desc, after, lo, hi, rows, mods)
        split = sorted(k for k in overlay if lo <= k <= hi)
        runs = []
        start = lo
        for k in split:
            if start <= k - 1:
                runs.append(("r", start, k - 1))
            start = k + 1
        if start <= hi:
            runs.append(("r", start, hi))
        if mode == "mod":
            rows.sort(key=lambda r: (mods[r["id"]], r["id"]))
            items = _merge_by_mod(ds, entity, runs, rows)
        else:
            rows.sort(key=lambda r: r["id"])
            items = _merge_by_id(runs, rows)
        if desc:
            items = [("r", it[2], it[1]) if it[0] == "r" else it for it in reversed(items)]
        plan = Plan(entity, items, residual, mode, desc, storage_order=self.storage_order)
        if mode == "generic":
            plan.sort_keys = [(resolve_path(ds, entity, n, "ordering"), d) for n, d in self.order]
        return plan

    def _narrow(self, c: Cond, lo: int, hi: int) -> tuple[int, int]:
        v = c.value
        if c.path == "id":
            first_ge: Callable[[int], int] = lambda x: x  # noqa: E731
        else:
            first_ge = lambda t: self.ds.first_id_at_or_after(self.entity, c.path, t)  # noqa: E731
        lookup = c.lookup
        if lookup == "range":
            low, high = v
        elif lookup == "exact":
            low, high = v, v
        else:
            low = v + 1 if lookup == "gt" else v if lookup == "gte" else None
            high = v - 1 if lookup == "lt" else v if lookup == "lte" else None
        if low is not None:
            lo = max(lo, first_ge(low))
        if high is not None:
            hi = min(hi, first_ge(high + 1) - 1)
        return lo, hi

    def _apply_after(self, mode, desc, after, lo, hi, rows, mods):
        if mode == "id":
            (x,) = after
            if desc:
                return lo, min(hi, x - 1), [r for r in rows if r["id"] < x]
            return max(lo, x + 1), hi, [r for r in rows if r["id"] > x]
        m, x = after
        if desc:
            hi = min(hi, self.ds.first_base_after(self.entity, m, x, inclusive=True) - 1)
            return lo, hi, [r for r in rows if (mods[r["id"]], r["id"]) < (m, x)]
        lo = max(lo, self.ds.first_base_after(self.entity, m, x))
        return lo, hi, [r for r in rows if (mods[r["id"]], r["id"]) > (m, x)]

    def project(self, rows: list[dict]) -> list[dict]:
        if self.fields is None:
            return rows
        return [{f: r[f] for f in self.fields} for r in rows]


def _merge_by_id(runs: list[tuple], rows: list[dict]) -> list[tuple]:
    items: list[tuple] = []
    j = 0
    for run in runs:
        while j < len(rows) and rows[j]["id"] < run[1]:
            items.append(("o", rows[j]))
            j += 1
        items.append(run)
    items.extend(("o", r) for r in rows[j:])
    return items


def _merge_by_mod(ds: Dataset, entity: str, runs: list[tuple], rows: list[dict]) -> list[tuple]:
    """Base runs and overlay rows (sorted by `(mod_ts, id)`) merged in `(mod_ts, id)` order.

    Overlay rows usually follow every base row (the change clock starts after them); a row stored with
    an older `mod_ts` (`mod_ts_ago`: a backdated row, a late commit) goes where its `mod_ts` falls,
    splitting the run around it.
    """
    mods = ds.overlay_mod[entity]
    items: list[tuple] = []
    j = 0
    for _, a, b in runs:
        while a <= b:
            while j < len(rows) and (mods[rows[j]["id"]], rows[j]["id"]) < (ds.base_mod_us(entity, a), a):
                items.append(("o", rows[j]))
                j += 1
            if j == len(rows):
                items.append(("r", a, b))
                break
            k = min(b + 1, ds.first_base_after(entity, mods[rows[j]["id"]], rows[j]["id"]))
            items.append(("r", a, k - 1))
            a = k
    items.extend(("o", r) for r in rows[j:])
    return items


def walk(ds: Dataset, plan: Plan, state: tuple[int, int | None], skip: int, limit: int):
    """Skip `skip` matching rows from `state`, then collect up to `limit` rows.

    Returns (rows, state after the last collected row, more_rows_exist). Runs are skipped by
    arithmetic when no per-row filter applies, so deep pages cost no generation.
    """
    gen = ds._gen[plan.entity]
    residual = plan.residual
    items = plan.items
    idx, pos = state
    out: list[dict] = []
    while idx < len(items):
        item = items[idx]
        if item[0] == "o":
            if pos is None:
                if skip:
                    skip -= 1
                elif len(out) < limit:
                    out.append(item[1])
                else:
                    return out, (idx, None), True
            idx, pos = idx + 1, None
            continue
        _, a, b = item
        step = 1 if a <= b else -1
        cur = a if pos is None else pos
        if not residual and skip:
            remaining = (b - cur) * step + 1
            if skip >= remaining:
                skip -= remaining
                idx, pos = idx + 1, None
                continue
            cur += skip * step
            skip = 0
        end = b + step
        while cur != end:
            row = gen(cur)
            if not residual or all(c.test(row) for c in residual):
                if skip:
                    skip -= 1
                elif len(out) < limit:
                    out.append(row)
                else:
                    return out, (idx, cur), True
            cur += step
        idx, pos = idx + 1, None
    return out, (idx, None), False


def count(ds: Dataset, plan: Plan) -> int:
    """How many rows the plan yields (arithmetic unless per-row filters apply)."""
    total = 0
    for item in plan.items:
        if item[0] == "o":
            total += 1
        elif not plan.residual:
            total += abs(item[2] - item[1]) + 1
        else:
            gen = ds._gen[plan.entity]
            a, b = item[1], item[2]
            step = 1 if a <= b else -1
            total += sum(1 for i in range(a, b + step, step) if all(c.test(gen(i)) for c in plan.residual))
    return total


def sorted_rows(ds: Dataset, plan: Plan) -> list[dict]:
    """Generic ordering: every matching row, sorted by the ordering keys (stable, nulls first)."""
    rows, _, _ = walk(ds, plan, (0, None), 0, 1 << 62)
    rows.sort(key=lambda r: r["id"])
    if plan.storage_order:
        rows.sort(key=lambda r: r["id"] % STORAGE_STRIPES)
    for path, desc in reversed(plan.sort_keys):
        kind = path.kind
        rows.sort(key=lambda r, p=path, k=kind: _sort_key(_row_value(k, p.get(r))), reverse=desc)
    return rows


def _sort_key(v: Any) -> tuple:
    return (0, 0) if v is None else (1, v)


def encode_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise bad("cursor", "Invalid cursor.") from exc

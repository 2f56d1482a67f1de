"""Deterministic, lazily generated WMS data with an overlay for changed and inserted rows.

Why this shape: benchmarks pull millions of rows, so no table is ever built. A base row is a pure
function of (seed, entity, id); `create_ts` and `mod_ts` of base rows are strictly increasing in `id`
(each id owns a time slot of the entity's span), so ordering by `mod_ts,id` or filtering on a time
range maps to an id interval by arithmetic. Changed and inserted rows live in an overlay whose
`mod_ts` comes from a simulated clock that starts after every base timestamp, so "base rows in id
order, then overlay rows in `(mod_ts, id)` order" is the `mod_ts,id` order; a change stored with an
older `mod_ts` (`mod_ts_ago`: backdated rows, late commits) is merged in where its `mod_ts` falls.
"""

from __future__ import annotations

import copy
import random
import threading
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation

from .rng import Bits, mix, salt
from .schema import FIELD_MAP, FIELDS, UNEXPOSED_EMPTY_URL
from .timeutil import fmt_ts, parse_ts, to_us

ENTITIES = ("allocation", "order_dtl", "order_hdr", "facility", "company", "item")
DEFAULT_SIZES = {
    "allocation": 2000,
    "order_dtl": 800,
    "order_hdr": 200,
    "facility": 3,
    "company": 2,
    "item": 100,
}
HDR_STATUSES = (0, 10, 20, 25, 30, 40, 50, 90, 99)
ALLOCATION_STATUSES = (0, 10, 90, 99)
FACILITY_CODES = ("DC01", "DC02", "DC03", "DC04", "DC05")
COMPANY_CODES = ("GNOS", "ACME", "GLOBX")
USERS = ("WMSINT", "JSILVA", "MSOUZA", "APEREIRA", "RCOSTA", "LGOMES")
EPOCH = datetime.fromisoformat("2025-01-01T00:00:00-03:00")
SPAN_US = 90 * 86_400_000_000
LAG_US = 3_600_000_000
READ_ONLY_FIELDS = {"id", "url", "create_ts", "mod_ts", "total_orig_ord_qty", "order_id", "seq_nbr"}


class Dataset:
    """All entities of one simulator; thread-safe through `lock` (an RLock held by callers of reads)."""

    def __init__(self, seed: int, sizes: dict[str, int] | None, anomaly_rate: float) -> None:
        unknown = set(sizes or {}) - set(ENTITIES)
        if unknown:
            raise ValueError(f"unknown entity in sizes: {sorted(unknown)}; known: {list(ENTITIES)}")
        self.seed = seed
        self.sizes = {**DEFAULT_SIZES, **(sizes or {})}
        for name, n in self.sizes.items():
            if not isinstance(n, int) or n < 0:
                raise ValueError(f"sizes[{name!r}] must be a non-negative integer, got {n!r}")
        for name in ("order_hdr", "facility", "company", "item"):
            if self.sizes[name] < 1:
                raise ValueError(f"sizes[{name!r}] must be at least 1 (other entities refer to it)")
        if self.sizes["allocation"] and not self.sizes["order_dtl"]:
            raise ValueError("sizes['order_dtl'] must be at least 1 when there are allocations")
        if not 0 <= anomaly_rate <= 1:
            raise ValueError(f"anomaly_rate must be within 0..1, got {anomaly_rate!r}")
        self.anomaly_rate = anomaly_rate
        self.lock = threading.RLock()
        self.epoch_us = to_us(EPOCH)
        self.step = {e: max(2, SPAN_US // (n + 1)) for e, n in self.sizes.items()}
        self.salt = {e: salt(seed, e) for e in ENTITIES}
        self._anomaly_salt = salt(seed, "anomaly")
        self.overlay: dict[str, dict[int, dict]] = {e: {} for e in ENTITIES}
        self.overlay_mod: dict[str, dict[int, int]] = {e: {} for e in ENTITIES}
        self.next_id = {e: n + 1 for e, n in self.sizes.items()}
        self.extra_lines: dict[int, list[int]] = {}
        self.version = 0
        self.clock_start = self.epoch_us + SPAN_US + LAG_US + 86_400_000_000
        self.clock_us = self.clock_start
        self._rng = random.Random(seed)
        self._key_cache: dict[int, object] = {}
        self.set_url_root("http://127.0.0.1/prod/wms/lgfapi/v10/entity/")
        self._gen = {
            "allocation": self._gen_allocation,
            "order_dtl": self._gen_order_dtl,
            "order_hdr": self._gen_order_hdr,
            "facility": self._gen_facility,
            "company": self._gen_company,
            "item": self._gen_item,
        }

    # ----- urls and keys -------------------------------------------------------------------------
    def set_url_root(self, root: str) -> None:
        """`root` ends with `/entity/`; record and foreign-key urls are built from it."""
        self.url_root = root
        self._prefix: dict[str, str] = {}
        self._fk_memo: dict[tuple[str, int, str], dict] = {}

    def _fk(self, target: str, ident: int, key: str) -> dict:
        prefix = self._prefix.get(target)
        if prefix is None:
            prefix = self._prefix[target] = (
                "" if target in UNEXPOSED_EMPTY_URL else f"{self.url_root}{target}/"
            )
        return {"id": ident, "key": key, "url": f"{prefix}{ident}" if prefix else ""}

    def _fk_repeated(self, target: str, ident: int, key: str) -> dict:
        """`_fk` for a reference many consecutive rows share (a wave, a unit): a copy of a memoised object,
        3x cheaper than building it, and still a fresh dict per row (callers may change what they get)."""
        memo = self._fk_memo
        fk = memo.get((target, ident, key))
        if fk is None:
            if len(memo) > 4096:
                memo.clear()
            fk = memo[(target, ident, key)] = self._fk(target, ident, key)
        return fk.copy()

    # ----- timeline --------------------------------------------------------------------------------
    def base_create_us(self, entity: str, i: int) -> int:
        s = self.step[entity]
        return self.epoch_us + i * s + (mix(self.salt[entity] + i) >> 20) % s

    def base_mod_us(self, entity: str, i: int) -> int:
        s = self.step[entity]
        return self.epoch_us + LAG_US + i * s + mix(self.salt[entity] ^ (i * 0x9E37)) % s

    def first_id_at_or_after(self, entity: str, field: str, t: int) -> int:
        """Smallest base id whose `field` (create_ts/mod_ts) is >= t (may be n+1: none)."""
        n = self.sizes[entity]
        offset = self.epoch_us + (LAG_US if field == "mod_ts" else 0)
        k = (t - offset) // self.step[entity]
        if k < 1:
            return 1
        if k > n:
            return n + 1
        value = self.base_mod_us(entity, k) if field == "mod_ts" else self.base_create_us(entity, k)
        return k if value >= t else k + 1

    def first_base_after(self, entity: str, m: int, x: int, *, inclusive: bool = False) -> int:
        """Smallest base id whose `(mod_ts, id)` is after `(m, x)` (or equal, with `inclusive`); n+1: none."""
        k = self.first_id_at_or_after(entity, "mod_ts", m)
        if (
            k <= self.sizes[entity]
            and self.base_mod_us(entity, k) == m
            and (k < x or (k == x and not inclusive))
        ):
            k += 1
        return k

    def now(self) -> int:
        """Advance the simulated clock by one millisecond and return it (one tick per change call)."""
        self.clock_us += 1000
        return self.clock_us

    def advance(self, seconds: float) -> None:
        """Move the simulated clock forward (e.g. to push changes past a tap's look-back window)."""
        self.clock_us += int(seconds * 1_000_000)

    # ----- relationships ---------------------------------------------------------------------------
    def hdr_of_base_dtl(self, d: int) -> int:
        return ((d - 1) * self.sizes["order_hdr"]) // self.sizes["order_dtl"] + 1

    def base_lines(self, h: int) -> range:
        nd, nh = self.sizes["order_dtl"], self.sizes["order_hdr"]
        if h > nh:
            return range(0)
        return range(((h - 1) * nd + nh - 1) // nh + 1, (h * nd + nh - 1) // nh + 1)

    def lines_of(self, h: int) -> list[int]:
        return [*self.base_lines(h), *self.extra_lines.get(h, ())]

    def dtl_of_base_alloc(self, a: int) -> int:
        return ((a - 1) * self.sizes["order_dtl"]) // self.sizes["allocation"] + 1

    def hdr_of_dtl(self, d: int) -> int | None:
        rec = self.overlay["order_dtl"].get(d)
        if rec is not None:
            return rec["order_id"]["id"]
        return self.hdr_of_base_dtl(d) if 1 <= d <= self.sizes["order_dtl"] else None

    def hdr_of_alloc(self, row: dict) -> int | None:
        dtl = row["order_dtl_id"]
        return None if dtl is None else self.hdr_of_dtl(dtl["id"])

    def order_nbr(self, h: int) -> str:
        rec = self.overlay["order_hdr"].get(h)
        return rec["order_nbr"] if rec is not None else str(100_000_000_000 + h * 37)

    def base_facility_of_hdr(self, h: int) -> int:
        return mix(self.salt["order_hdr"] ^ (h << 7)) % self.sizes["facility"] + 1

    def base_company_of_hdr(self, h: int) -> int:
        return mix(self.salt["order_hdr"] ^ (h << 9)) % self.sizes["company"] + 1

    def fk_of_hdr(self, h: int | None, field: str) -> dict | None:
        """The facility_id/company_id object of an order (for filters on order_dtl/allocation)."""
        if h is None:
            return None
        rec = self.overlay["order_hdr"].get(h)
        if rec is not None:
            return rec[field]
        if field == "facility_id":
            f = self.base_facility_of_hdr(h)
            return self._fk("facility", f, self.facility_code(f))
        c = self.base_company_of_hdr(h)
        return self._fk("company", c, self.company_code(c))

    def facility_code(self, f: int) -> str:
        rec = self.overlay["facility"].get(f)
        if rec is not None:
            return rec["code"]
        return FACILITY_CODES[f - 1] if f <= len(FACILITY_CODES) else f"DC{f:02d}"

    def company_code(self, c: int) -> str:
        rec = self.overlay["company"].get(c)
        if rec is not None:
            return rec["code"]
        return COMPANY_CODES[c - 1] if c <= len(COMPANY_CODES) else f"CO{c:02d}"

    def item_code(self, i: int) -> str:
        rec = self.overlay["item"].get(i)
        return rec["code"] if rec is not None else f"ITM{i:07d}"

    def base_ord_qty(self, d: int) -> str:
        b = Bits(self.salt["order_dtl"] ^ (d << 11))
        whole = b.draw(40) + 1
        return f"{whole}.{b.draw(9) + 1}" if b.chance(0.1) else str(whole)

    def ord_qty(self, d: int) -> str:
        rec = self.overlay["order_dtl"].get(d)
        return rec["ord_qty"] if rec is not None else self.base_ord_qty(d)

    def hdr_total(self, h: int) -> str:
        total = sum((Decimal(self.ord_qty(d)) for d in self.lines_of(h)), Decimal(0))
        return str(total)

    def dtl_key(self, d: int) -> str:
        rec = self.overlay["order_dtl"].get(d)
        if rec is not None:
            return f"{rec['order_id']['key']},{rec['seq_nbr']}"
        h = self.hdr_of_base_dtl(d)
        return f"{self.order_nbr(h)},{d - self.base_lines(h).start + 1}"

    # ----- anomalies -------------------------------------------------------------------------------
    def anomaly_kind(self, a: int) -> str | None:
        """`zero_alloc`, `over_packed` or None for a base allocation id (pure function of seed and id)."""
        h = mix(self._anomaly_salt + a)
        if h % 1_000_000 >= self.anomaly_rate * 1_000_000:
            return None
        return "zero_alloc" if (h >> 40) & 1 else "over_packed"

    # ----- generators ------------------------------------------------------------------------------
    def _audit(self, entity: str, i: int, b: Bits) -> tuple[str, str, str, str]:
        return (
            USERS[b.draw(len(USERS))],
            fmt_ts(self.base_create_us(entity, i)),
            USERS[b.draw(len(USERS))],
            fmt_ts(self.base_mod_us(entity, i)),
        )

    def _dtl_key_cached(self, d: int) -> str:
        """dtl_key memoised per data version (consecutive allocations share their line)."""
        cache = self._key_cache
        if cache.get(0) != self.version or len(cache) > 50_000:
            cache.clear()
            cache[0] = self.version
        key = cache.get(d)
        if key is None:
            key = cache[d] = self.dtl_key(d)
        return str(key)

    def _gen_facility(self, i: int) -> dict:
        b = Bits(self.salt["facility"] ^ i)
        cu, ct, mu, mt = self._audit("facility", i, b)
        return {
            "id": i,
            "url": f"{self.url_root}facility/{i}",
            "create_user": cu,
            "create_ts": ct,
            "mod_user": mu,
            "mod_ts": mt,
            "code": self.facility_code(i),
            "name": f"Distribution Center {i:02d}",
            "time_zone": "America/Sao_Paulo" if b.draw(4) else "",
            "is_active": True,
        }

    def _gen_company(self, i: int) -> dict:
        b = Bits(self.salt["company"] ^ i)
        cu, ct, mu, mt = self._audit("company", i, b)
        return {
            "id": i,
            "url": f"{self.url_root}company/{i}",
            "create_user": cu,
            "create_ts": ct,
            "mod_user": mu,
            "mod_ts": mt,
            "code": self.company_code(i),
            "name": f"Company {self.company_code(i)}",
            "parent_company_id": None if i == 1 else self._fk("company", 1, self.company_code(1)),
        }

    def _gen_item(self, i: int) -> dict:
        b = Bits(self.salt["item"] ^ i)
        cu, ct, mu, mt = self._audit("item", i, b)
        c = b.draw(self.sizes["company"]) + 1
        return {
            "id": i,
            "url": f"{self.url_root}item/{i}",
            "create_user": cu,
            "create_ts": ct,
            "mod_user": mu,
            "mod_ts": mt,
            "company_id": self._fk("company", c, self.company_code(c)),
            "code": self.item_code(i),
            "description": f"Item {i} {('box', 'bag', 'pallet', 'unit')[b.draw(4)]}" if b.draw(10) else "",
            "unit_cost": f"{b.draw(500) + 1}.{b.draw(100):02d}",
            "unit_weight": f"{b.draw(30)}.{b.draw(1000):03d}",
            "is_serial_tracked": b.draw(5) == 0,
        }

    def _gen_order_hdr(self, h: int) -> dict:
        b = Bits(self.salt["order_hdr"] ^ h)
        cu, ct, mu, mt = self._audit("order_hdr", h, b)
        f = self.base_facility_of_hdr(h)
        c = self.base_company_of_hdr(h)
        status = HDR_STATUSES[b.draw(len(HDR_STATUSES))]
        lines = self.lines_of(h)
        create_us = self.base_create_us("order_hdr", h)
        shipped = fmt_ts(create_us + 3_600_000_000 + b.draw(1_000_000_000)) if status >= 90 else None
        ship_via = b.draw(6)
        lock = b.draw(20) == 0
        return {
            "id": h,
            "url": f"{self.url_root}order_hdr/{h}",
            "create_user": cu,
            "create_ts": ct,
            "mod_user": mu,
            "mod_ts": mt,
            "facility_id": self._fk("facility", f, self.facility_code(f)),
            "company_id": self._fk("company", c, self.company_code(c)),
            "order_nbr": self.order_nbr(h),
            "status_id": status,
            "type_id": self._fk("order_type", 1 + b.draw(3), ("STD", "RUSH", "XFER")[b.draw(3)]),
            "ship_via_id": None if ship_via == 0 else self._fk("ship_via", ship_via, f"SV{ship_via:02d}"),
            "order_shipped_ts": shipped,
            "erp_source_hdr_ref": f"ERP-{h:09d}" if b.draw(5) else "",
            "cust_name": f"Customer {b.draw(5000):04d}",
            "cust_nbr": f"C{b.draw(5000):06d}" if b.draw(8) else "",
            "ord_date": fmt_ts(create_us - b.draw(86_400_000_000)),
            "priority": b.draw(10),
            "total_orig_ord_qty": self.hdr_total(h),
            "is_back_ordered": b.draw(12) == 0,
            "dest_facility_id": None,
            "order_dtl_set": (
                {"result_count": len(lines), "url": f"{self.url_root}order_dtl/?order_id={h}"}
                if lines
                else None
            ),
            "order_lock_set": (
                {"result_count": 1, "url": f"{self.url_root}order_lock/?order_id={h}"} if lock else None
            ),
        }

    def _gen_order_dtl(self, d: int) -> dict:
        b = Bits(self.salt["order_dtl"] ^ d)
        cu, ct, mu, mt = self._audit("order_dtl", d, b)
        h = self.hdr_of_base_dtl(d)
        item = b.draw(self.sizes["item"]) + 1
        ord_qty = self.base_ord_qty(d)
        status = HDR_STATUSES[b.draw(len(HDR_STATUSES))]
        alloc = ord_qty if status >= 30 else "0"
        return {
            "id": d,
            "url": f"{self.url_root}order_dtl/{d}",
            "create_user": cu,
            "create_ts": ct,
            "mod_user": mu,
            "mod_ts": mt,
            "order_id": self._fk("order_hdr", h, self.order_nbr(h)),
            "seq_nbr": d - self.base_lines(h).start + 1,
            "item_id": self._fk("item", item, self.item_code(item)),
            "ord_qty": ord_qty,
            "orig_ord_qty": ord_qty,
            "alloc_qty": alloc,
            "unit_cost": f"{b.draw(300) + 1}.{b.draw(100):02d}" if b.draw(10) else "",
            "erp_source_line_ref": f"L{d:010d}" if b.draw(6) else "",
            "status_id": status,
            "uom_id": self._fk("uom", 1, "UNITS"),
            "is_back_ordered": b.draw(15) == 0,
        }

    def _gen_allocation(self, a: int) -> dict:
        # The hottest function of a benchmark (one call per row served): methods bound to locals, every
        # draw in the same order as ever (a row is a pure function of seed and id).
        draw = Bits(self.salt["allocation"] ^ a).draw
        fk, shared = self._fk, self._fk_repeated
        create_us, mod_us = self.base_create_us("allocation", a), self.base_mod_us("allocation", a)
        cu, mu = USERS[draw(len(USERS))], USERS[draw(len(USERS))]
        d = self.dtl_of_base_alloc(a)
        status = ALLOCATION_STATUSES[draw(4)]
        qty = draw(24) + 1
        alloc_qty = f"{qty}.5" if draw(20) == 0 else str(qty)
        packed = (str(qty) if draw(3) else str(draw(qty))) if status >= 90 else "0"
        kind = self.anomaly_kind(a) if self.anomaly_rate else None
        if kind == "zero_alloc":
            alloc_qty, packed = "0", "0"
        elif kind == "over_packed":
            packed = str(qty + 1 + draw(5))
        picked = status >= 90
        inv = 500_000 + draw(2_000_000)
        task = 700_000 + a // 3
        wave = 9_000 + a // 50
        lpn = draw(4)
        return {
            "id": a,
            "create_user": cu,
            "create_ts": fmt_ts(create_us),
            "mod_user": mu,
            "mod_ts": fmt_ts(mod_us),
            "order_dtl_id": shared("order_dtl", d, self._dtl_key_cached(d)),
            "from_inventory_id": fk("inventory", inv, str(inv)),
            "to_inventory_id": fk("inventory", inv + 1, str(inv + 1)) if picked else None,
            "status_id": status,
            "alloc_qty": alloc_qty,
            "packed_qty": packed,
            "type_id": shared("allocation_type", 1, "ORDER"),
            "wave_id": shared("wave", wave, f"W{wave:08d}") if status else None,
            "task_id": shared("task", task, f"T{task:09d}") if status else None,
            "alloc_uom_id": shared("uom", 1, "UNITS"),
            "cartonize_uom_id": None,
            "task_seq_nbr": draw(50) + 1,
            "ob_lpn_type_id": shared("container_type", lpn, f"BOX{lpn}") if lpn else None,
            "mhe_system_id": shared("mhe_system", 1, "SORTER") if draw(40) == 0 else None,
            "pick_user": USERS[draw(len(USERS))] if picked else "",
            "picked_ts": fmt_ts((create_us + mod_us) // 2) if picked else None,
            "pick_locn_str": f"A-{draw(40):02d}-{draw(20):02d}-{draw(6):02d}",
            "final_oblpn_nbr": f"OL{a:010d}" if status == 99 and draw(2) else "",
            "is_picking_flg": status == 10,
        }

    # ----- reads -----------------------------------------------------------------------------------
    def base_row(self, entity: str, i: int) -> dict:
        """The generated (unchanged) row for a base id."""
        return self._gen[entity](i)

    def get(self, entity: str, i: int) -> dict | None:
        """The current row (overlay first), or None when the id does not exist."""
        rec = self.overlay[entity].get(i)
        if rec is not None:
            return rec
        if 1 <= i <= self.sizes[entity]:
            return self._gen[entity](i)
        return None

    def iter_records(self, entity: str) -> Iterator[dict]:
        """Every current row in id order (copies of overlay rows, so callers cannot corrupt them)."""
        overlay = self.overlay[entity]
        n = self.sizes[entity]
        for i in range(1, n + 1):
            rec = overlay.get(i)
            yield copy.deepcopy(rec) if rec is not None else self._gen[entity](i)
        with self.lock:
            inserted = sorted(k for k in overlay if k > n)
        for i in inserted:
            yield copy.deepcopy(overlay[i])

    def count(self, entity: str) -> int:
        return self.next_id[entity] - 1

    # ----- writes ----------------------------------------------------------------------------------
    def _convert(self, entity: str, name: str, value: object) -> object:
        field = FIELD_MAP[entity].get(name)
        if field is None:
            raise ValueError(f"{entity} has no field {name!r}")
        if name in READ_ONLY_FIELDS or field.kind == "set":
            raise ValueError(f"{entity}.{name} cannot be changed (derived or identity field)")
        if value is None:
            if field.required:
                raise ValueError(f"{entity}.{name} is required and cannot be set to None")
            return None
        kind = field.value_kind
        if kind == "fk":
            if isinstance(value, dict):
                return value
            ident = int(value)  # type: ignore[call-overload]
            if field.target in self.sizes:
                target = self.get(field.target, ident)
                if target is None:
                    raise ValueError(f"{entity}.{name}: {field.target} {ident} does not exist")
                key = (
                    self.dtl_key(ident) if field.target == "order_dtl" else self._key_of(field.target, target)
                )
                return self._fk(field.target, ident, key)
            return self._fk(field.target or name, ident, str(ident))
        if kind == "decimal":
            if value == "":
                return ""
            try:
                return str(Decimal(str(value)))
            except InvalidOperation as exc:
                raise ValueError(f"{entity}.{name}: {value!r} is not a decimal") from exc
        if kind == "datetime":
            if isinstance(value, datetime):
                return fmt_ts(to_us(value))
            return fmt_ts(value if isinstance(value, int) else parse_ts(str(value)))
        if kind == "bool":
            return bool(value)
        if kind == "int":
            return int(value)  # type: ignore[call-overload]
        return str(value)

    @staticmethod
    def _key_of(entity: str, rec: dict) -> str:
        return rec["order_nbr"] if entity == "order_hdr" else rec.get("code", str(rec["id"]))

    def _store(self, entity: str, rec: dict, mod_us: int) -> None:
        rec["mod_ts"] = fmt_ts(mod_us)
        self.overlay[entity][rec["id"]] = rec
        self.overlay_mod[entity][rec["id"]] = mod_us

    def _current(self, entity: str, i: int) -> dict:
        """A deep copy of an existing row (ValueError naming it when absent)."""
        rec = self.get(entity, i)
        if rec is None:
            raise ValueError(f"{entity} {i} does not exist")
        return copy.deepcopy(rec)

    def _refresh_hdr(self, h: int, now: int) -> None:
        rec = self._current("order_hdr", h)
        lines = self.lines_of(h)
        rec["total_orig_ord_qty"] = self.hdr_total(h)
        rec["order_dtl_set"] = (
            {"result_count": len(lines), "url": f"{self.url_root}order_dtl/?order_id={h}"} if lines else None
        )
        self._store("order_hdr", rec, now)

    def update(self, entity: str, ids: list[int] | int, changes: dict, mod_ts_ago: float = 0) -> None:
        """Apply `changes` to rows and give them a new `mod_ts` (the parent order follows ord_qty).

        `mod_ts_ago` seconds: the change carries a `mod_ts` that long before the clock's now, as a long
        transaction committing late does (visible now, stamped in the past).
        """
        if entity not in self.sizes:
            raise ValueError(f"unknown entity {entity!r}")
        ids = [ids] if isinstance(ids, int) else list(ids)
        with self.lock:
            converted = {k: self._convert(entity, k, v) for k, v in changes.items()}
            rows = [self._current(entity, int(i)) for i in ids]
            now = self.now() - _ago_us(mod_ts_ago, "mod_ts_ago")
            hdrs: set[int] = set()
            for rec in rows:
                rec.update(copy.deepcopy(converted))
                if "mod_user" not in converted:
                    rec["mod_user"] = "SIMUPDATE"
                self._store(entity, rec, now)
                if entity == "order_dtl" and "ord_qty" in converted:
                    hdrs.add(rec["order_id"]["id"])
            for h in sorted(hdrs):
                self._refresh_hdr(h, now)
            self.version += 1

    def insert(self, entity: str, n: int, mod_ts_ago: float = 0, create_ts_ago: float = 0) -> list[int]:
        """Add `n` rows with new ids and a fresh `mod_ts`, pointing at existing parents.

        `mod_ts_ago` / `create_ts_ago` seconds: the rows carry a `mod_ts` / `create_ts` that long before
        the clock's now. `mod_ts_ago` alone plays backdated rows (created now, older `mod_ts`); both play
        a late commit (rows stamped in the past that only become visible now).
        """
        if entity not in self.sizes:
            raise ValueError(f"unknown entity {entity!r}")
        if n < 0:
            raise ValueError("n must be >= 0")
        mod_back = _ago_us(mod_ts_ago, "mod_ts_ago")
        create_back = _ago_us(create_ts_ago, "create_ts_ago")
        with self.lock:
            clock = self.now()
            now = clock - mod_back
            base_n = self.sizes[entity]
            new_ids = []
            hdrs: set[int] = set()
            for _ in range(n):
                i = self.next_id[entity]
                self.next_id[entity] += 1
                template = self._rng.randint(1, base_n) if base_n else None
                rec = self._template(entity, template)
                rec["id"] = i
                if "url" in rec:
                    rec["url"] = f"{self.url_root}{entity}/{i}"
                rec["create_ts"] = fmt_ts(clock - create_back)
                rec["create_user"] = rec["mod_user"] = "SIMINSERT"
                self._link_new(entity, rec, hdrs)
                self._store(entity, rec, now)
                new_ids.append(i)
            for h in sorted(hdrs):
                self._refresh_hdr(h, now)
            self.version += 1
            return new_ids

    def _template(self, entity: str, template: int | None) -> dict:
        if template is not None:
            return self._current(entity, template)
        # An entity generated empty: borrow generation from id 1 without its relationships.
        return {f.name: f.default for f in FIELDS[entity]}

    def _link_new(self, entity: str, rec: dict, hdrs: set[int]) -> None:
        i = rec["id"]
        if entity == "order_hdr":
            rec["order_nbr"] = str(100_000_000_000 + i * 37)
            rec["total_orig_ord_qty"] = "0"
            rec["order_dtl_set"] = None
            rec["order_lock_set"] = None
            rec["status_id"] = 0
            rec["order_shipped_ts"] = None
        elif entity == "order_dtl":
            h = self._rng.randint(1, self.count("order_hdr"))
            self.extra_lines.setdefault(h, []).append(i)
            rec["order_id"] = self._fk("order_hdr", h, self.order_nbr(h))
            rec["seq_nbr"] = len(self.lines_of(h))
            rec["status_id"] = 0
            rec["alloc_qty"] = "0"
            hdrs.add(h)
        elif entity == "allocation":
            d = self._rng.randint(1, self.count("order_dtl"))
            rec["order_dtl_id"] = self._fk("order_dtl", d, self.dtl_key(d))
        elif entity in ("facility", "company", "item"):
            rec["code"] = {"facility": f"DC{i:02d}", "company": f"CO{i:02d}", "item": f"ITM{i:07d}"}[entity]


def _ago_us(seconds: float, name: str) -> int:
    """`seconds` back from the clock, in microseconds (a negative value is refused: no future stamps)."""
    if seconds < 0:
        raise ValueError(f"{name} must be >= 0 seconds, got {seconds!r}")
    return int(seconds * 1_000_000)

"""The default rule set a user gets without configuring anything (docs/data-contract.md section 3).

Why it lives in config form: the defaults go through the same parser as user rules, so they are validated
the same way and a user can override one by name. Rule names are part of the data contract: the quarantine
table's `rule_names` column is grouped by them downstream.

Rules under "*" apply to every stream whose SCHEMA declares the rule's field (so a stream without `mod_ts`
is not quarantined wholesale by `mod_ts_not_null`); stream-specific defaults apply to that stream as is.
"""

from __future__ import annotations

EVERY_STREAM = "*"

ALLOCATION_STATUSES = [0, 10, 90, 99]
ORDER_STATUSES = [0, 10, 20, 25, 30, 40, 50, 90, 99]

DEFAULT_RULES: dict[str, list[dict]] = {
    EVERY_STREAM: [
        {"name": "id_not_null", "field": "id", "check": "not_null"},
        {"name": "id_positive", "field": "id", "check": "positive"},
        {"name": "mod_ts_not_null", "field": "mod_ts", "check": "not_null"},
        {"name": "mod_ts_datetime", "field": "mod_ts", "check": "datetime"},
    ],
    "allocation": [
        {"name": "alloc_qty_positive", "field": "alloc_qty", "check": "positive"},
        {"name": "packed_qty_non_negative", "field": "packed_qty", "check": "non_negative"},
        {
            "name": "packed_not_above_allocated",
            "check": "expression",
            "expression": "packed_qty <= alloc_qty",
        },
        {
            "name": "allocation_status_known",
            "field": "status_id",
            "check": "in",
            "values": ALLOCATION_STATUSES,
        },
    ],
    "order_hdr": [
        {"name": "order_nbr_not_null", "field": "order_nbr", "check": "not_null"},
        {"name": "order_hdr_status_known", "field": "status_id", "check": "in", "values": ORDER_STATUSES},
    ],
    "order_dtl": [
        {"name": "ord_qty_non_negative", "field": "ord_qty", "check": "non_negative"},
        {"name": "order_dtl_status_known", "field": "status_id", "check": "in", "values": ORDER_STATUSES},
    ],
}

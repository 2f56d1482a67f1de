-- An order header's total_orig_ord_qty equals the sum of its lines' ord_qty (the WMS keeps them in step).
-- Only headers whose lines are loaded are compared: a header without lines carries nothing to check.
with line_totals as (
    select order_id, sum(ord_qty) as lines_ord_qty
    from {{ ref('stg_wms__order_dtl') }}
    group by order_id
)

select
    header.id,
    header.total_orig_ord_qty,
    line_totals.lines_ord_qty
from {{ ref('stg_wms__order_hdr') }} header
inner join line_totals on line_totals.order_id = header.id
where header.total_orig_ord_qty <> line_totals.lines_ord_qty

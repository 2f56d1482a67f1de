-- Per order: quantity ordered (its lines) vs allocated vs packed (the lines' allocations).
with header as (
    select * from {{ ref('stg_wms__order_hdr') }}
),

line as (
    select * from {{ ref('stg_wms__order_dtl') }}
),

allocation_per_line as (
    select
        order_dtl_id,
        count(*) as allocations,
        sum(alloc_qty) as allocated_qty,
        sum(packed_qty) as packed_qty
    from {{ ref('stg_wms__allocation') }}
    group by order_dtl_id
),

per_order as (
    select
        line.order_id,
        count(*) as order_lines,
        sum(line.ord_qty) as ordered_qty,
        sum(coalesce(allocation_per_line.allocations, 0)) as allocations,
        sum(coalesce(allocation_per_line.allocated_qty, 0)) as allocated_qty,
        sum(coalesce(allocation_per_line.packed_qty, 0)) as packed_qty
    from line
    left join allocation_per_line on allocation_per_line.order_dtl_id = line.id
    group by line.order_id
)

select
    header.id as order_id,
    header.order_nbr,
    header.facility_code,
    header.company_code,
    header.status_id,
    header.total_orig_ord_qty,
    coalesce(per_order.order_lines, 0) as order_lines,
    coalesce(per_order.ordered_qty, 0) as ordered_qty,
    coalesce(per_order.allocations, 0) as allocations,
    coalesce(per_order.allocated_qty, 0) as allocated_qty,
    coalesce(per_order.packed_qty, 0) as packed_qty,
    case when per_order.ordered_qty > 0 then per_order.allocated_qty / per_order.ordered_qty end as allocated_ratio,
    case when per_order.ordered_qty > 0 then per_order.packed_qty / per_order.ordered_qty end as packed_ratio
from header
left join per_order on per_order.order_id = header.id

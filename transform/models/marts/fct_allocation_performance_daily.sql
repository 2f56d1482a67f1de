-- Allocation performance per day (of the allocation's creation) and facility (of its order).
with allocation as (
    select * from {{ ref('stg_wms__allocation') }}
),

line as (
    select id, order_id from {{ ref('stg_wms__order_dtl') }}
),

header as (
    select id, facility_code from {{ ref('stg_wms__order_hdr') }}
),

joined as (
    select
        {{ wms_day('allocation.create_ts') }} as allocation_day,
        header.facility_code,
        allocation.id as allocation_id,
        allocation.order_dtl_id,
        allocation.status_id,
        allocation.alloc_qty,
        allocation.packed_qty,
        allocation.picked_ts
    from allocation
    inner join line on line.id = allocation.order_dtl_id
    inner join header on header.id = line.order_id
)

select
    allocation_day,
    facility_code,
    count(*) as allocations,
    count(distinct order_dtl_id) as order_lines,
    sum(alloc_qty) as allocated_qty,
    sum(packed_qty) as packed_qty,
    sum(case when packed_qty >= alloc_qty then 1 else 0 end) as fully_packed_allocations,
    sum(case when picked_ts is not null then 1 else 0 end) as picked_allocations,
    sum(case when status_id = 90 then 1 else 0 end) as completed_allocations,
    sum(case when status_id = 99 then 1 else 0 end) as cancelled_allocations,
    case when sum(alloc_qty) > 0 then sum(packed_qty) / sum(alloc_qty) end as packed_ratio
from joined
group by allocation_day, facility_code

-- An order header's total_orig_ord_qty equals the sum of its lines' ord_qty (the WMS keeps them in step).
-- Only headers whose lines are loaded are compared: a header without lines carries nothing to check.
-- Orders the mapper's quarantine touched are left out: a quarantined header or line keeps an older version
-- in its table (superseded, reported by the is_superseded warnings) or none at all (a line rejected before
-- it ever loaded, in stg_wms__rejected), so the loaded total and lines cannot agree; the WMS's own do.
with line_totals as (
    select order_id, sum(ord_qty) as lines_ord_qty
    from {{ ref('stg_wms__order_dtl') }}
    group by order_id
),

-- as text: stg_wms__rejected's parent_id is the rejected record's value as it came
quarantined_orders as (
    select cast(id as {{ dbt.type_string() }}) as order_id from {{ ref('stg_wms__order_hdr') }} where is_superseded = 1
    union
    select cast(order_id as {{ dbt.type_string() }}) from {{ ref('stg_wms__order_dtl') }} where is_superseded = 1
    union
    select parent_id
    from {{ ref('stg_wms__rejected') }}
    where entity = 'order_dtl'
      and id not in (select id from {{ ref('stg_wms__order_dtl') }})
)

select
    header.id,
    header.total_orig_ord_qty,
    line_totals.lines_ord_qty
from {{ ref('stg_wms__order_hdr') }} header
inner join line_totals on line_totals.order_id = header.id
where header.total_orig_ord_qty <> line_totals.lines_ord_qty
  and cast(header.id as {{ dbt.type_string() }}) not in (
      select order_id from quarantined_orders where order_id is not null
  )

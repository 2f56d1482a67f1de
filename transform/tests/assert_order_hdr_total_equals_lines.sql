-- An order header's total_orig_ord_qty equals the sum of its lines' ord_qty (the WMS keeps them in step).
-- Only headers whose lines are loaded are compared: a header without lines carries nothing to check.
-- Orders the mapper's quarantine touched are left out: a quarantined header or line keeps an older version
-- in its table (superseded, reported by the is_superseded warnings) or none at all (a line rejected before
-- it ever loaded, in stg_wms__rejected), so the loaded total and lines cannot agree; the WMS's own do.
{%- set rejected_lines = load_relation(source('wms', 'WMS_ORDER_DTL_REJECTED')) if execute else none %}
with line_totals as (
    select order_id, sum(ord_qty) as lines_ord_qty
    from {{ ref('stg_wms__order_dtl') }}
    group by order_id
),

quarantined_orders as (
    select id as order_id from {{ ref('stg_wms__order_hdr') }} where is_superseded = 1
    union
    select order_id from {{ ref('stg_wms__order_dtl') }} where is_superseded = 1
    {%- if rejected_lines is not none %}
    union
    select cast(json_value(rejected.record, '$.order_id') as {{ dbt.type_bigint() }}) as order_id
    from {{ rejected_lines }} rejected
    where rejected.id not in (select id from {{ ref('stg_wms__order_dtl') }})
    {%- endif %}
)

select
    header.id,
    header.total_orig_ord_qty,
    line_totals.lines_ord_qty
from {{ ref('stg_wms__order_hdr') }} header
inner join line_totals on line_totals.order_id = header.id
where header.total_orig_ord_qty <> line_totals.lines_ord_qty
  and header.id not in (select order_id from quarantined_orders where order_id is not null)

-- The mapper quarantines allocations that break the quantity rules, so none of them is in the loaded table.
select id, alloc_qty, packed_qty
from {{ ref('stg_wms__allocation') }}
where alloc_qty <= 0
   or packed_qty < 0
   or packed_qty > alloc_qty

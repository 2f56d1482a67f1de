-- One row per live order header.
select
    id as id,
    order_nbr as order_nbr,
    facility_id as facility_id,
    facility_id_key as facility_code,
    company_id as company_id,
    company_id_key as company_code,
    status_id as status_id,
    total_orig_ord_qty as total_orig_ord_qty,
    order_shipped_ts as order_shipped_ts,
    create_ts as create_ts,
    mod_ts as mod_ts,
    "_SDC_BATCHED_AT" as loaded_at
from {{ source('wms', 'WMS_ORDER_HDR') }}
where "_SDC_DELETED_AT" is null

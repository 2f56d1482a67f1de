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
    "_SDC_BATCHED_AT" as loaded_at,
    -- set by target-oracle when the mapper quarantined a newer version of this key (null: current)
    "_SDC_SUPERSEDED_AT" as superseded_at,
    case when "_SDC_SUPERSEDED_AT" is null then 0 else 1 end as is_superseded
from {{ source('wms', 'WMS_ORDER_HDR') }}
where "_SDC_DELETED_AT" is null

-- One row per live order line.
select
    id as id,
    order_id as order_id,
    order_id_key as order_id_key,
    seq_nbr as seq_nbr,
    item_id as item_id,
    item_id_key as item_code,
    status_id as status_id,
    ord_qty as ord_qty,
    create_ts as create_ts,
    mod_ts as mod_ts,
    "_SDC_BATCHED_AT" as loaded_at,
    -- set by target-oracle when the mapper quarantined a newer version of this key (null: current)
    "_SDC_SUPERSEDED_AT" as superseded_at,
    case when "_SDC_SUPERSEDED_AT" is null then 0 else 1 end as is_superseded
from {{ source('wms', 'WMS_ORDER_DTL') }}
where "_SDC_DELETED_AT" is null

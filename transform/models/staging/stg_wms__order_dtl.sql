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
    "_SDC_BATCHED_AT" as loaded_at
from {{ source('wms', 'WMS_ORDER_DTL') }}
where "_SDC_DELETED_AT" is null

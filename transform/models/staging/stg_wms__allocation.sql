-- One row per live allocation; loader columns (upper-case) to model columns, quantities as loaded (numbers).
select
    id as id,
    order_dtl_id as order_dtl_id,
    order_dtl_id_key as order_dtl_id_key,
    status_id as status_id,
    alloc_qty as alloc_qty,
    packed_qty as packed_qty,
    task_seq_nbr as task_seq_nbr,
    pick_user as pick_user,
    picked_ts as picked_ts,
    create_ts as create_ts,
    mod_ts as mod_ts,
    "_SDC_BATCHED_AT" as loaded_at,
    -- set by target-oracle when the mapper quarantined a newer version of this key (null: current)
    "_SDC_SUPERSEDED_AT" as superseded_at,
    case when "_SDC_SUPERSEDED_AT" is null then 0 else 1 end as is_superseded
from {{ source('wms', 'WMS_ALLOCATION') }}
where "_SDC_DELETED_AT" is null

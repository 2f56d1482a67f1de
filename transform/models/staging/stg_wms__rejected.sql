-- Every quarantined record of the three entities, one row per rejected record version (record_hash).
{{ wms_rejected('allocation', 'order_dtl_id') }}
union all
{{ wms_rejected('order_hdr') }}
union all
{{ wms_rejected('order_dtl', 'order_id') }}

-- Every quarantined record names at least one rule of the default set (seed quarantine_rules).
-- A warning, not an error: rules a user configures are legitimate but not in the seed.
{{ config(severity='warn') }}
select rejected.entity, rejected.record_hash, rejected.rule_names
from {{ ref('stg_wms__rejected') }} rejected
where not exists (
    select 1
    from {{ ref('quarantine_rules') }} known
    where known.entity = rejected.entity
      and {{ dbt.concat(["','", "replace(rejected.rule_names, ' ', '')", "','"]) }}
          like {{ dbt.concat(["'%,'", "known.rule_name", "',%'"]) }}
)

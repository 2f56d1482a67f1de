-- Rejected records per entity and rule of the contract's default set (zero when none broke it).
-- Rules a user adds are not in the seed: test rejected_rules_are_known warns about them.
with rejected as (
    select * from {{ ref('stg_wms__rejected') }}
),

known_rules as (
    select entity, rule_name from {{ ref('quarantine_rules') }}
),

counted as (
    select
        known_rules.entity,
        known_rules.rule_name,
        count(rejected.record_hash) as rejected_records,
        count(distinct rejected.id) as rejected_ids,
        max(rejected.rejected_at) as last_rejected_at
    from known_rules
    left join rejected
        on rejected.entity = known_rules.entity
        and {{ dbt.concat(["','", "replace(rejected.rule_names, ' ', '')", "','"]) }}
            like {{ dbt.concat(["'%,'", "known_rules.rule_name", "',%'"]) }}
    group by known_rules.entity, known_rules.rule_name
)

select * from counted

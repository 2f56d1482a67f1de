{#
  The quarantine table of a stream exists only after the mapper rejected one of its records.
  wms_rejected(entity, parent) selects its rows in one shape, or an empty set of that shape when the table is
  absent, so the models and tests work on any database, whatever was rejected so far. `parent`: the field of
  the rejected record that holds its parent's id (order_dtl: order_id), read from the record's JSON as text
  (a record is often rejected for a malformed value: no cast here can fail); none: null.
#}
{% macro wms_rejected(entity, parent=none) %}
  {%- set src = source('wms', 'WMS_' ~ entity | upper ~ '_REJECTED') -%}
  {%- set relation = load_relation(src) if execute else none -%}
  {%- if relation is not none %}
    select
      '{{ entity }}' as entity,
      record_hash,
      id,
      {% if parent -%}
      json_value(record, '$.{{ parent }}')
      {%- else -%}
      cast(null as {{ dbt.type_string() }})
      {%- endif %} as parent_id,
      rule_names,
      cast(rejected_at as {{ dbt.type_timestamp() }}) as rejected_at,
      "_SDC_BATCHED_AT" as loaded_at
    from {{ src }}
  {%- else %}
    select
      cast(null as {{ dbt.type_string() }}) as entity,
      cast(null as {{ dbt.type_string() }}) as record_hash,
      cast(null as {{ dbt.type_bigint() }}) as id,
      cast(null as {{ dbt.type_string() }}) as parent_id,
      cast(null as {{ dbt.type_string() }}) as rule_names,
      cast(null as {{ dbt.type_timestamp() }}) as rejected_at,
      cast(null as {{ dbt.type_timestamp() }}) as loaded_at
    {{ wms_from_dual() }}
    where 1 = 0
  {%- endif %}
{% endmacro %}

{# Oracle needs FROM DUAL for a select without a table; DuckDB needs nothing. #}
{% macro wms_from_dual() %}{{ return(adapter.dispatch('wms_from_dual', 'wms')()) }}{% endmacro %}
{% macro default__wms_from_dual() %}{% endmacro %}
{% macro oracle__wms_from_dual() %}from dual{% endmacro %}

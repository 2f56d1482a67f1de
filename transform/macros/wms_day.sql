{#
  The calendar day of a timestamp, as a date. Not dbt.date_trunc('day', ...): on Oracle that renders
  TRUNC(x, 'day'), which truncates to the first day of the week.
#}
{% macro wms_day(column) %}{{ return(adapter.dispatch('wms_day', 'wms')(column)) }}{% endmacro %}
{% macro default__wms_day(column) %}cast({{ column }} as date){% endmacro %}
{% macro oracle__wms_day(column) %}trunc({{ column }}){% endmacro %}

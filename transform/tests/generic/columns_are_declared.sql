{#
  Generic test on a source: a column the loaded table has (loader metadata "_SDC_*" aside) that the source's
  yml does not declare. The loader adds a column for each field the WMS API starts to serve; the staging
  models select their columns by name, so a new field would otherwise reach no model without anyone knowing.
  One row per such column, and a log line naming them; a declared column the table no longer has fails the
  staging model that selects it (the database names the column).
#}
{% test columns_are_declared(model) %}
{%- set declared = [] -%}
{%- set undeclared = [] -%}
{%- if execute -%}
  {%- for source in graph.sources.values() if source.identifier | upper == model.identifier | upper -%}
    {%- for name in source.columns -%}{%- do declared.append(name | upper) -%}{%- endfor -%}
  {%- endfor -%}
  {%- for column in adapter.get_columns_in_relation(model) -%}
    {%- set name = column.name | upper -%}
    {%- if name not in declared and not name.startswith('_SDC_') -%}{%- do undeclared.append(name) -%}{%- endif -%}
  {%- endfor -%}
  {%- if undeclared -%}
    {{ log(model.identifier ~ " has columns its source does not declare (new fields of the API?): "
           ~ undeclared | join(', ') ~ "; declare them in models/staging/_wms__sources.yml", info=True) }}
  {%- endif -%}
{%- endif -%}
{%- if undeclared %}
  {%- for name in undeclared %}
select '{{ name }}' as undeclared_column {{ wms_from_dual() }}
    {%- if not loop.last %} union all{% endif %}
  {%- endfor %}
{%- else %}
select cast(null as {{ dbt.type_string() }}) as undeclared_column {{ wms_from_dual() }} where 1 = 0
{%- endif %}
{% endtest %}

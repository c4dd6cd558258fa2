{#- Sources that another job writes and that may not exist yet (the ml tables before the first training
    run). A model reads the table when `relation_exists`, else `empty_source`: no rows, with the columns
    and types the source's yml declares (`data_type`), so the model still builds, empty and typed. -#}

{#- Whether `relation` exists in the warehouse. While parsing there is no warehouse: say yes, so the
    source still counts as a dependency (lineage, exposures). -#}
{% macro relation_exists(relation) -%}
    {{ return(not execute or load_relation(relation) is not none) }}
{%- endmacro %}


{#- `select` of no rows with the source's declared columns, each cast to its declared data_type. -#}
{% macro empty_source(source_name, table_name) -%}
    {%- set node = graph.sources['source.' ~ project_name ~ '.' ~ source_name ~ '.' ~ table_name] -%}
    select
    {%- for column in node.columns.values() %}
        cast(null as {{ column.data_type }}) as {{ adapter.quote(column.name) }}{{ ',' if not loop.last }}
    {%- endfor %}
    where false
{%- endmacro %}


{#- The rows of a table another job writes (source `ml` or `ml_outlook`), or none, typed, before it first ran. -#}
{% macro ml_table(table_name, source_name='ml') -%}
    {%- if relation_exists(source(source_name, table_name)) -%}
    select * from {{ source(source_name, table_name) }}
    {%- else -%}
    {{ empty_source(source_name, table_name) }}
    {%- endif -%}
{%- endmacro %}


{#- The newest `decide` run's rows of an outlook table (the run with the latest created_at). -#}
{% macro newest_outlook(table_name) -%}
    select * from ({{ ml_table(table_name, 'ml_outlook') }}) as written
    where run_id = (
        select arg_max(run_id, created_at) from ({{ ml_table(table_name, 'ml_outlook') }}) as runs
    )
{%- endmacro %}

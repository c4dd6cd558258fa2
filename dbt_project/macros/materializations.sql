{#- Two materializations that leave unchanged objects alone, so an incremental run costs what its batch
    costs. With the built-in ones every run replaced each view and each small table with a new object,
    and a new object has no comments: persist_docs then rewrote every column comment (one catalog write
    each), which cost more than the SQL of an incremental refresh. `--full-refresh` and first builds still
    go the built-in way. Incremental models keep dbt-duckdb's own materialization. -#}

{#- Views: re-created only when their definition changed. The compiled SQL is created as a temporary
    view (in memory, never in the file) and DuckDB's normalized text of it is compared with the stored
    view's; equal text means nothing is written. A stored view names relations of its own database
    without the database (raw.events), the temporary one with it (warehouse.raw.events), so that prefix
    is dropped from the temporary view's text before comparing. -#}
{% materialization view, adapter='duckdb' -%}
    {%- set existing = load_cached_relation(this) -%}
    {%- if existing is not none and existing.is_view and not should_full_refresh()
          and view_definition_unchanged(this, sql) -%}
        {%- call statement('main') -%} select 'view unchanged' as status {%- endcall -%}
        {#- a changed description still reaches the catalog; COMMENT ON names the object's type -#}
        {%- do persist_docs(this.incorporate(type='view'), model) -%}
        {%- do adapter.commit() -%}
        {{ return({'relations': [this.incorporate(type='view')]}) }}
    {%- endif -%}
    {{ return(materialization_view_default()) }}
{%- endmaterialization %}


{% macro view_definition_unchanged(relation, sql) -%}
    {%- set probe = '__dbt_view_probe' -%}
    {%- do run_query('create or replace temp view ' ~ probe ~ ' as (' ~ sql ~ ')') -%}
    {%- set body = "regexp_replace(sql, '^CREATE (TEMP )?VIEW \\S+ AS ', '')" -%}
    {%- set same = run_query(
        "select count(*) = 2 and count(distinct case when temporary then replace(" ~ body ~ ", '"
        ~ relation.database ~ ".', '') else " ~ body ~ " end) = 1"
        ~ " from duckdb_views() where (temporary and view_name = '" ~ probe ~ "')"
        ~ " or (database_name = '" ~ relation.database ~ "' and schema_name = '" ~ relation.schema
        ~ "' and view_name = '" ~ relation.identifier ~ "')"
    ).columns[0].values()[0] -%}
    {%- do run_query('drop view ' ~ probe) -%}
    {{ return(same) }}
{%- endmacro %}


{#- table_in_place: a small table recomputed whole on every run, its rows replaced inside the existing
    table (delete + insert in one transaction) instead of swapping in a new table, so comments are written
    only where they changed. A first build, --full-refresh, or columns (names, types, order) that differ
    from the stored table's rebuild it the built-in way. -#}
{% materialization table_in_place, adapter='duckdb' -%}
    {%- set existing = load_cached_relation(this) -%}
    {%- if existing is none or not existing.is_table or should_full_refresh() -%}
        {{ return(materialization_table_duckdb()) }}
    {%- endif -%}
    {%- set batch = make_temp_relation(this) -%}
    {%- do run_query(create_table_as(True, batch, sql)) -%}
    {%- if not same_columns(batch, this) -%}
        {%- do run_query('drop table ' ~ batch) -%}
        {{ return(materialization_table_duckdb()) }}
    {%- endif -%}
    {%- call statement('main') -%}
        delete from {{ this }};
        insert into {{ this }} select * from {{ batch }};
        drop table {{ batch }}
    {%- endcall -%}
    {%- do persist_docs(this.incorporate(type='table'), model) -%}  {#- COMMENT ON needs the type -#}
    {%- do adapter.commit() -%}
    {{ return({'relations': [this]}) }}
{%- endmaterialization %}


{% macro same_columns(batch, relation) -%}
    {#- Names, types and order, from two DESCRIBEs (cheaper than filtering the catalog's column list). -#}
    {%- set signatures = [] -%}
    {%- for each in [batch, relation] -%}
        {%- set signature = [] -%}
        {%- for column in adapter.get_columns_in_relation(each) -%}
            {%- do signature.append(column.column ~ ' ' ~ column.dtype) -%}
        {%- endfor -%}
        {%- do signatures.append(signature) -%}
    {%- endfor -%}
    {{ return(signatures[0] == signatures[1]) }}
{%- endmacro %}

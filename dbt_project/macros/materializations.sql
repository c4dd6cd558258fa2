{#- Materializations that do only what a run needs, so an incremental run costs what its batch costs.
    With the built-in ones every run replaced each view and each small table with a new object, and a new
    object has no comments: persist_docs then rewrote every column comment (one catalog write each), which
    cost more than the SQL of an incremental refresh; and each incremental model spent more round trips on
    checks than on its refresh. `--full-refresh` and first builds still go the built-in way. -#}

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
        {%- do persist_docs(this, model) -%}  {#- a changed description still reaches the catalog -#}
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
    table instead of swapping in a new table. The result is the table a rebuild writes; when the model's
    columns (names, types, order) differ from the stored table's, it is rebuilt the built-in way. -#}
{% materialization table_in_place, adapter='duckdb' -%}
    {{ return(refresh_in_place(delete_and_insert, on_other_columns='rebuild')) }}
{%- endmaterialization %}


{% macro delete_and_insert(batch) -%}
    delete from {{ this }};
    insert into {{ this }} select * from {{ batch }}
{%- endmacro %}


{#- incremental: dbt-duckdb's, less the round trips this project does not need (foreign-key and index
    look-ups, column-type widening, a second schema comparison). Other columns fail the run, as
    on_schema_change: fail does everywhere in this project (a new column needs --full-refresh). -#}
{% materialization incremental, adapter='duckdb' -%}
    {{ return(refresh_in_place(incremental_strategy_sql, on_other_columns='fail')) }}
{%- endmaterialization %}


{% macro incremental_strategy_sql(batch) -%}
    {%- set strategy = adapter.get_incremental_strategy_macro(context, config.get('incremental_strategy') or 'default') -%}
    {{ strategy({
        'target_relation': this,
        'temp_relation': batch,
        'unique_key': config.get('unique_key'),
        'dest_columns': adapter.get_columns_in_relation(batch),
        'incremental_predicates': config.get('incremental_predicates'),
    }) }}
{%- endmacro %}


{% macro refresh_in_place(replace_sql, on_other_columns) -%}
    {#- Both materializations above: a first build and --full-refresh build the table the built-in way (the
        model's SQL without is_incremental()). Otherwise the model's rows go into a temporary table, their
        columns are compared once with the table's, and replace_sql(batch) swaps them in and the temporary
        table is dropped, in one transaction; comments are written only where they changed. -#}
    {%- set existing = load_cached_relation(this) -%}
    {%- if existing is none or not existing.is_table or should_full_refresh() -%}
        {{ return(materialization_table_duckdb()) }}
    {%- endif -%}
    {%- set batch = make_temp_relation(this) -%}
    {%- do run_query(create_table_as(True, batch, sql)) -%}
    {%- if not same_columns(batch, this) -%}
        {%- if on_other_columns == 'rebuild' -%}
            {%- do run_query('drop table ' ~ batch) -%}
            {{ return(materialization_table_duckdb()) }}
        {%- endif -%}
        {%- do exceptions.raise_compiler_error(
            "The columns of " ~ this ~ " changed: run `dbt build --full-refresh --select " ~ this.identifier ~ "`"
        ) -%}
    {%- endif -%}
    {%- call statement('main') -%}
        {{ replace_sql(batch) }};
        drop table {{ batch }}
    {%- endcall -%}
    {%- do persist_docs(this, model) -%}
    {%- do adapter.commit() -%}
    {{ return({'relations': [this]}) }}
{%- endmacro %}


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

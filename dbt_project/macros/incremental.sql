{#-
    How every growing model refreshes, exactly (see the overview page, "Incremental refresh"):

    1. Each row records `last_loaded_at`, the newest ingestion time among the events it counts. It is a
       function of the data alone, so a full rebuild writes the same value.
    2. A run reads the model's watermark, max(last_loaded_at), and picks the partitions (hours, days,
       users...) that received rows loaded after it, however old their event time.
    3. It recomputes those partitions completely from upstream, then `replace_partitions` swaps them in.
-#}

{% macro watermark(column='last_loaded_at') -%}
    {#- Newest ingestion time this model has already absorbed. -#}
    (select coalesce(max({{ column }}), timestamp '1970-01-01') from {{ this }})
{%- endmacro %}


{% macro changed_partitions(relation, keys, loaded_at='last_loaded_at', prune_on=none) -%}
    {#- The rows of `relation` in the partitions (`keys`, one column or a list) that received rows loaded after
        this model's watermark; every row on a full build. Recomputing those partitions whole is what keeps
        an incremental run equal to a full rebuild, whatever the events' lateness.
        `prune_on` (column, key): also bound `column` below the oldest changed partition, so DuckDB skips
        row groups of older history before the partition filter. -#}
    {%- set keys = [keys] if keys is string else keys -%}
    select *
    from {{ relation }}
    {%- if is_incremental() %}
    semi join (
        select distinct {{ keys | join(', ') }}
        from {{ relation }}
        where {{ loaded_at }} > {{ watermark() }}
    ) as changed using ({{ keys | join(', ') }})
    {%- if prune_on %}
    where {{ prune_on[0] }} >= (
        select min({{ prune_on[1] }}) from {{ relation }} where {{ loaded_at }} > {{ watermark() }}
    )
    {%- endif %}
    {%- endif %}
{%- endmacro %}


{% macro incremental_log_relation() -%}
    {{ return(api.Relation.create(database=target.database, schema='staging', identifier='incremental_log')) }}
{%- endmacro %}


{% macro create_incremental_log() -%}
    {#- on-run-start: created once per run, before models run in parallel threads (a concurrent
        CREATE would conflict). -#}
    {%- set log = incremental_log_relation() -%}
    create schema if not exists {{ log.database }}.{{ log.schema }};
    create table if not exists {{ log }} (
        invocation_id varchar,      -- dbt invocation (run_results.json metadata.invocation_id)
        model varchar,              -- incremental model refreshed
        ran_at timestamp,           -- when, UTC
        partitions bigint,          -- partition keys replaced
        rows_deleted bigint,        -- rows removed from those partitions
        rows_inserted bigint        -- rows written back
    )
{%- endmacro %}


{% macro get_incremental_replace_partitions_sql(arg_dict) -%}
    {#-
        Custom strategy `replace_partitions`: delete+insert on the model's partition key (`unique_key`,
        one column or a list; keys are never null), plus what dbt's built-in delete+insert lacks:

        - `replace_from` (optional config): only the tail of each partition is replaced, from the
          earliest `replace_from` value in the batch on. Sessions use it: a user's sessions are replaced
          from the first one the new events can touch, not the user's whole history.
        - `placeholder_when` (optional config): batch rows matching this condition only name a partition
          to clear and are not inserted, for partitions that can become empty (publisher pairs of a day
          whose sessions merged into the previous day's).
        - one row per run in staging.incremental_log (partitions, rows deleted, rows inserted), because
          dbt-duckdb reports no row counts in run_results.json.
    -#}
    {%- set target_relation = arg_dict['target_relation'] -%}
    {%- set batch = arg_dict['temp_relation'] -%}
    {%- set keys = [arg_dict['unique_key']] if arg_dict['unique_key'] is string else arg_dict['unique_key'] -%}
    {%- set replace_from = config.get('replace_from') -%}
    {%- set placeholder_when = config.get('placeholder_when') -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- set log = incremental_log_relation() -%}
    {%- set partitions -%}
        (select {{ keys | join(', ') }}{% if replace_from %}, min({{ replace_from }}) as replace_from{% endif %}
         from {{ batch }} group by {{ keys | join(', ') }})
    {%- endset -%}
    {%- set in_partition -%}
        {% for key in keys %}target_rows.{{ key }} = partitions.{{ key }}{{ ' and ' if not loop.last }}{% endfor %}
        {%- if replace_from %} and target_rows.{{ replace_from }} >= partitions.replace_from{% endif %}
    {%- endset -%}

    insert into {{ log }}
    select
        '{{ invocation_id }}',
        '{{ this.identifier }}',
        cast(now() as timestamp),
        (select count(*) from {{ partitions }}),
        (select count(*) from {{ target_relation }} as target_rows join {{ partitions }} as partitions on {{ in_partition }}),
        (select count(*) from {{ batch }}{% if placeholder_when %} where not ({{ placeholder_when }}){% endif %});

    delete from {{ target_relation }} as target_rows
    using {{ partitions }} as partitions
    where {{ in_partition }};

    insert into {{ target_relation }} ({{ columns }})
    select {{ columns }} from {{ batch }}
    {%- if placeholder_when %}
    where not ({{ placeholder_when }})
    {%- endif %}
{%- endmacro %}

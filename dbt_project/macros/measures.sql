{#- The additive measures every rollup stores, with one type each at every grain: counts BIGINT, money
    DECIMAL(38, 6), watch time DECIMAL(38, 3). Exact decimals make sums independent of row order, so an
    incremental build and a full rebuild agree to the last digit. -#}
{% macro measure_types() -%}
    {{ return({
        'impressions': 'bigint',
        'clicks': 'bigint',
        'conversions': 'bigint',
        'views': 'bigint',
        'earning_events': 'bigint',
        'events': 'bigint',
        'spend': 'decimal(38, 6)',
        'revenue': 'decimal(38, 6)',
        'earnings': 'decimal(38, 6)',
        'watch_seconds': 'decimal(38, 3)',
    }) }}
{%- endmacro %}


{% macro all_measures() -%}
    {{ return(measure_types().keys() | list) }}
{%- endmacro %}


{#- `sum(measure)` for each measure, typed; with `where`, only the rows matching it (0 when none);
    `suffix` renames the outputs (impressions -> impressions_last_7_days). -#}
{% macro sum_measures(measures=none, where=none, suffix='') -%}
    {%- set types = measure_types() -%}
    {%- for measure in (measures or all_measures()) %}
    {% if where -%}
        cast(coalesce(sum({{ measure }}) filter (where {{ where }}), 0) as {{ types[measure] }})
    {%- else -%}
        cast(sum({{ measure }}) as {{ types[measure] }})
    {%- endif %} as {{ measure }}{{ suffix }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}


{#- The measures counted and summed from events (stg_events rows), typed as every rollup stores them. -#}
{% macro count_measures() -%}
    {%- set types = measure_types() -%}
    cast(count(*) filter (where event_type = 'impression') as {{ types['impressions'] }})   as impressions,
    cast(count(*) filter (where event_type = 'click') as {{ types['clicks'] }})             as clicks,
    cast(count(*) filter (where event_type = 'conversion') as {{ types['conversions'] }})   as conversions,
    cast(count(*) filter (where event_type = 'view') as {{ types['views'] }})               as views,
    cast(count(*) filter (where event_type = 'earning') as {{ types['earning_events'] }})   as earning_events,
    cast(count(*) as {{ types['events'] }})                                                 as events,
    cast(sum(cost) as {{ types['spend'] }})                                                 as spend,
    cast(sum(revenue) as {{ types['revenue'] }})                                            as revenue,
    cast(sum(amount) as {{ types['earnings'] }})                                            as earnings,
    cast(coalesce(sum(watch_seconds), 0) as {{ types['watch_seconds'] }})                   as watch_seconds
{%- endmacro %}


{#- A rate next to its numerator and denominator; null when the denominator is 0. -#}
{% macro ratio(numerator, denominator) -%}
    cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0)
{%- endmacro %}

-- Daily totals per media channel.
-- Incremental: a day is recomputed whole from int_events_daily when any of its rows changed since the watermark.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_partitions',
        unique_key='day',
    )
}}

with

{% if is_incremental() %}
changed_days as (
    select distinct day
    from {{ ref('int_events_daily') }}
    where last_loaded_at > {{ watermark() }}
),

days as (
    select *
    from {{ ref('int_events_daily') }}
    where day in (select day from changed_days)
),
{% else %}
days as (
    select * from {{ ref('int_events_daily') }}
),
{% endif %}

per_channel as (
    select
        day,
        channel,
        {{ sum_measures() }},
        max(last_loaded_at)         as last_loaded_at
    from days
    group by day, channel
)

select * from per_channel

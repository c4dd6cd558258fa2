-- Daily totals per media channel.
-- Incremental: a day is recomputed whole from events_daily when any of its rows changed since the watermark.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_partitions',
        unique_key='day',
    )
}}

with

days as (
    {{ changed_partitions(ref('events_daily'), 'day') }}
),

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

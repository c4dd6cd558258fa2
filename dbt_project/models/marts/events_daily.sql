-- The hourly rollup summed per UTC day: 24 times smaller, so daily marts and all-time totals read it instead.
-- A day is recomputed whole from events_hourly when any of its hours changed since this table's watermark.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_partitions',
        unique_key='day',
    )
}}

with

hours as (
    {{ changed_partitions(ref('events_hourly'), 'event_date') }}
),

rolled_up as (
    select
        event_date                  as day,
        campaign_id,
        brand_id,
        channel,
        device,
        {{ sum_measures() }},
        max(last_loaded_at)         as last_loaded_at
    from hours
    group by event_date, campaign_id, brand_id, channel, device
)

select * from rolled_up

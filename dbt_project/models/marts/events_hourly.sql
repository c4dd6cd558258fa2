-- The hourly additive rollup every trend, KPI and device mart derives from: dashboards never scan events.
-- Incremental by ingestion time: an hour is recomputed whole from staging whenever any event of it is loaded
-- after this table's watermark, so late events of any age and re-sent duplicates (skipped at ingestion)
-- leave it equal to a full rebuild.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_partitions',
        unique_key='event_hour',
    )
}}

with

events as (
    {{ changed_partitions(ref('stg_events'), 'event_hour', loaded_at='loaded_at', prune_on=('event_ts', 'event_hour')) }}
),

rolled_up as (
    select
        event_hour,
        any_value(event_date)                                   as event_date,
        campaign_id,
        brand_id,
        channel,
        device,
        {{ count_measures() }},
        max(loaded_at)                                          as last_loaded_at
    from events
    group by event_hour, campaign_id, brand_id, channel, device
)

select * from rolled_up

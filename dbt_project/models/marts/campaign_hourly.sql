-- Hourly totals per campaign: the finest trend a campaign dashboard shows, and the base of the last-hour marts.
-- Incremental: an hour is recomputed whole from events_hourly when any of its rows changed since the watermark.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_partitions',
        unique_key='event_hour',
    )
}}

with

hours as (
    {{ changed_partitions(ref('events_hourly'), 'event_hour') }}
),

per_campaign as (
    select
        event_hour,
        any_value(event_date)       as event_date,
        campaign_id,
        brand_id,
        {{ sum_measures() }},
        max(last_loaded_at)         as last_loaded_at
    from hours
    group by event_hour, campaign_id, brand_id
)

select * from per_campaign

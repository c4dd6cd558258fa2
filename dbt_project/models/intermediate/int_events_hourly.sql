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

{% if is_incremental() %}
hours_with_new_events as (
    select distinct event_hour
    from {{ ref('stg_events') }}
    where loaded_at > {{ watermark() }}
),

events as (
    select *
    from {{ ref('stg_events') }}
    -- the event_ts bound lets DuckDB skip row groups of older history before the hour filter
    where event_ts >= (select min(event_hour) from hours_with_new_events)
      and event_hour in (select event_hour from hours_with_new_events)
),
{% else %}
events as (
    select * from {{ ref('stg_events') }}
),
{% endif %}

rolled_up as (
    select
        event_hour,
        any_value(event_date)                                   as event_date,
        campaign_id,
        brand_id,
        channel,
        device,
        count(*) filter (where event_type = 'impression')       as impressions,
        count(*) filter (where event_type = 'click')            as clicks,
        count(*) filter (where event_type = 'conversion')       as conversions,
        count(*) filter (where event_type = 'view')             as views,
        count(*) filter (where event_type = 'earning')          as earning_events,
        count(*)                                                as events,
        cast(sum(cost) as decimal(38, 6))                       as spend,
        cast(sum(revenue) as decimal(38, 6))                    as revenue,
        cast(sum(amount) as decimal(38, 6))                     as earnings,
        cast(coalesce(sum(watch_seconds), 0) as decimal(38, 3)) as watch_seconds,
        max(loaded_at)                                          as last_loaded_at
    from events
    group by event_hour, campaign_id, brand_id, channel, device
)

select * from rolled_up

-- Daily additive totals per publisher and content topic: the base of the publisher and topic marts.
-- A day is recomputed whole from staging when any of its events is loaded after this table's watermark.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_partitions',
        unique_key='day',
    )
}}

with

{% if is_incremental() %}
days_with_new_events as (
    select distinct event_date
    from {{ ref('stg_events') }}
    where loaded_at > {{ watermark() }}
),

events as (
    select *
    from {{ ref('stg_events') }}
    where event_ts >= (select min(event_date) from days_with_new_events)
      and event_date in (select event_date from days_with_new_events)
),
{% else %}
events as (
    select * from {{ ref('stg_events') }}
),
{% endif %}

rolled_up as (
    select
        event_date                                              as day,
        publisher,
        topic,
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
    group by event_date, publisher, topic
)

select * from rolled_up

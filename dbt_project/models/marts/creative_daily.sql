-- Daily delivery per creative: what creative fatigue (CTR decaying with a creative's age) is measured on.
-- Only impressions, clicks and conversions carry a creative, so only the measures they make are kept.
-- A creative's age is left to the reader (day - its first day here): a first day depends on every earlier
-- partition, so storing it would break the partition-local refresh below.
-- Incremental: a day is recomputed whole from staging when any of its creative events is loaded after the
-- watermark (as campaign_reach_daily), so late events of any age land exactly.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_partitions',
        unique_key='day',
    )
}}

with

creative_events as not materialized (  -- inlined: each use pushes its own filter into the events scan
    select event_date, event_ts, event_type, campaign_id, creative_id, cost, revenue, loaded_at
    from {{ ref('stg_events') }}
    where creative_id is not null
),

days as (
    {{ changed_partitions('creative_events', 'event_date', loaded_at='loaded_at', prune_on=('event_ts', 'event_date')) }}
),

per_creative as (
    select
        event_date                  as day,
        campaign_id,
        creative_id,
        {{ count_measures(['impressions', 'clicks', 'conversions', 'spend', 'revenue']) }},
        max(loaded_at)              as last_loaded_at
    from days
    group by event_date, campaign_id, creative_id
)

select * from per_creative

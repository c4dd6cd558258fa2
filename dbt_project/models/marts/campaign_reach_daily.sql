-- Reach and frequency per campaign and UTC day: reach = distinct users who saw an impression,
-- frequency = impressions / reach (average impressions per reached user).
-- Distinct counts do not add up across days or campaigns: a week's reach is not the sum of its days.
-- Incremental: a day is recomputed whole from staging when any of its impressions is loaded after the watermark.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_partitions',
        unique_key='day',
    )
}}

with

impressions as not materialized (  -- inlined: each use pushes its own filter into the events scan
    select event_date, event_ts, campaign_id, user_id, loaded_at
    from {{ ref('stg_events') }}
    where event_type = 'impression'
),

days as (
    {{ changed_partitions('impressions', 'event_date', loaded_at='loaded_at', prune_on=('event_ts', 'event_date')) }}
),

per_campaign as (
    select
        event_date                          as day,
        campaign_id,
        count(distinct user_id)             as reach,
        count(*)                            as impressions,
        count(user_id)                      as identified_impressions,
        max(loaded_at)                      as last_loaded_at
    from days
    group by event_date, campaign_id
)

select
    day,
    campaign_id,
    reach,
    impressions,
    identified_impressions,
    {{ ratio('impressions', 'reach') }}  as frequency,
    last_loaded_at
from per_campaign

-- The latest var('campaign_activity_feed_limit') (20) events of each campaign, newest first: the live feed.
-- Incremental and exact: events are never removed, so a campaign's latest twenty are the latest twenty of
-- (the twenty already kept + the campaign's newly loaded events), whatever their event time.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_partitions',
        unique_key='campaign_id',
    )
}}

with

events as (
    select campaign_id, event_id, event_ts, event_type, device, channel, publisher, user_id, loaded_at
    from {{ ref('stg_events') }}
),

{% if is_incremental() %}
new_events as (
    select * from events
    where loaded_at > {{ watermark('loaded_at') }}
),

candidates as (
    select * from new_events
    union all
    select campaign_id, event_id, event_ts, event_type, device, channel, publisher, user_id, loaded_at
    from {{ this }}
    where campaign_id in (select campaign_id from new_events)
),
{% else %}
candidates as (
    select * from events
),
{% endif %}

ranked as (
    select
        campaign_id,
        row_number() over (partition by campaign_id order by event_ts desc, event_id desc) as rank,
        event_id,
        event_ts,
        event_type,
        device,
        channel,
        publisher,
        user_id,
        loaded_at
    from candidates
    qualify rank <= {{ var('campaign_activity_feed_limit') }}
)

select * from ranked

-- The latest var('owner_latest_earnings_limit') (5) earnings of each data owner, newest first.
-- Incremental and exact: events are never removed, so an owner's latest five are the latest five of
-- (the five already kept + the owner's newly loaded earnings), whatever their event time.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_partitions',
        unique_key='owner_id',
    )
}}

with

earnings as (
    select owner_id, event_id, event_ts, amount, publisher, campaign_id, loaded_at
    from {{ ref('stg_events') }}
    where event_type = 'earning'
      and owner_id is not null
),

{% if is_incremental() %}
new_earnings as (
    select * from earnings
    where loaded_at > {{ watermark('loaded_at') }}
),

candidates as (
    select * from new_earnings
    union all
    select owner_id, event_id, event_ts, amount, publisher, campaign_id, loaded_at
    from {{ this }}
    where owner_id in (select owner_id from new_earnings)
),
{% else %}
candidates as (
    select * from earnings
),
{% endif %}

ranked as (
    select
        owner_id,
        row_number() over (partition by owner_id order by event_ts desc, event_id desc) as rank,
        event_id,
        event_ts,
        amount,
        publisher,
        campaign_id,
        loaded_at
    from candidates
    qualify rank <= {{ var('owner_latest_earnings_limit') }}
)

select * from ranked

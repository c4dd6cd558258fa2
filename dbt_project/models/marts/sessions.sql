-- User sessions: a user's events (any type) with no gap longer than var('session_timeout_minutes') (30)
-- between consecutive events. A session lasts from its first to its last event.
--
-- Incremental and exact for events of any lateness: for each user with newly loaded events, every session
-- from the first one those events can touch (one ending less than the timeout before the earliest new event,
-- or later) is replayed from the user's events, and `replace_partitions` with replace_from='session_start'
-- swaps that tail of the user's sessions. Sessions before it cannot change: a gap longer than the timeout
-- still separates them from everything new.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_partitions',
        unique_key='user_id',
        replace_from='session_start',
    )
}}

{%- set timeout = "interval '" ~ var('session_timeout_minutes') ~ " minutes'" %}

with

user_events as not materialized (  -- inlined: each use pushes its own filter into the events scan
    select event_id, user_id, event_ts, event_type, publisher, watch_seconds, loaded_at
    from {{ ref('stg_events') }}
    where user_id is not null
),

{% if is_incremental() %}
users_with_new_events as (
    select user_id, min(event_ts) as first_new_event_at
    from user_events
    where loaded_at > {{ watermark() }}
    group by user_id
),

replay_points as (
    -- the earliest existing session the new events can join, or the first new event if none can
    select
        users.user_id,
        least(users.first_new_event_at, min(existing.session_start)) as replay_from
    from users_with_new_events as users
    left join {{ this }} as existing
        on existing.user_id = users.user_id
        and existing.session_end >= users.first_new_event_at - {{ timeout }}
    group by users.user_id, users.first_new_event_at
),

events as (
    select user_events.*
    from user_events
    join replay_points using (user_id)
    where user_events.event_ts >= replay_points.replay_from
      and user_events.event_ts >= (select min(replay_from) from replay_points)
),
{% else %}
events as (
    select * from user_events
),
{% endif %}

flagged as (
    select
        *,
        coalesce(
            event_ts - lag(event_ts) over (partition by user_id order by event_ts, event_id) > {{ timeout }},
            true
        ) as starts_session
    from events
),

numbered as (
    select
        *,
        sum(case when starts_session then 1 else 0 end) over (
            partition by user_id order by event_ts, event_id rows unbounded preceding
        ) as session_number
    from flagged
),

sessions as (
    select
        user_id,
        min(event_ts)                                               as session_start,
        max(event_ts)                                               as session_end,
        count(*)                                                    as events,
        count(*) filter (where event_type = 'impression')           as impressions,
        count(*) filter (where event_type = 'click')                as clicks,
        count(*) filter (where event_type = 'conversion')           as conversions,
        count(*) filter (where event_type = 'view')                 as views,
        cast(coalesce(sum(watch_seconds), 0) as decimal(38, 3))     as watch_seconds,
        coalesce(
            list(distinct publisher order by publisher) filter (where publisher is not null),
            []
        )                                                           as publishers,
        max(loaded_at)                                              as last_loaded_at
    from numbered
    group by user_id, session_number
)

select
    user_id || '@' || strftime(session_start, '%Y-%m-%dT%H:%M:%S.%f')   as session_id,
    user_id,
    session_start,
    session_end,
    round(epoch(session_end - session_start), 3)                        as duration_seconds,
    events,
    impressions,
    clicks,
    conversions,
    views,
    watch_seconds,
    publishers,
    last_loaded_at
from sessions

-- One row per content topic and viewer, all time: distinct viewers per topic are a count of these rows, which
-- no daily sum can give.
-- Incremental and exact without rereading history: every column is a sum, a min or a max, and events are
-- never removed (a re-sent event is skipped at ingestion), so a pair's new row is its kept row merged with
-- the views loaded after this table's watermark, whatever their event time.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_partitions',
        unique_key=['topic', 'user_id'],
    )
}}

with

views as (
    select topic, user_id, event_ts, watch_seconds, loaded_at
    from {{ ref('stg_events') }}
    where event_type = 'view'
      and topic is not null
      and user_id is not null
      {% if is_incremental() %}and loaded_at > {{ watermark() }}{% endif %}
),

per_viewer as (
    select
        topic,
        user_id,
        count(*)                                                as views,
        cast(coalesce(sum(watch_seconds), 0) as decimal(38, 3)) as watch_seconds,
        min(event_ts)                                           as first_view_at,
        max(event_ts)                                           as last_view_at,
        max(loaded_at)                                          as last_loaded_at
    from views
    group by topic, user_id
)

{% if is_incremental() %}
select
    new.topic,
    new.user_id,
    new.views + coalesce(kept.views, 0)                                 as views,
    new.watch_seconds + coalesce(kept.watch_seconds, 0)                 as watch_seconds,
    least(new.first_view_at, kept.first_view_at)                        as first_view_at,  -- least/greatest skip nulls
    greatest(new.last_view_at, kept.last_view_at)                       as last_view_at,
    new.last_loaded_at
from per_viewer as new
left join {{ this }} as kept using (topic, user_id)
{% else %}
select * from per_viewer
{% endif %}

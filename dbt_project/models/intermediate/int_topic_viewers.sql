-- One row per content topic and viewer, all time: distinct viewers per topic are a count of these rows, which
-- no daily sum can give. A (topic, viewer) pair is recomputed from all of that viewer's views of the topic
-- whenever one of them is loaded after this table's watermark.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_partitions',
        unique_key=['topic', 'user_id'],
    )
}}

with

topic_views as not materialized (  -- inlined: each use pushes its own filter into the events scan
    select *
    from {{ ref('stg_events') }}
    where event_type = 'view'
      and topic is not null
      and user_id is not null
),

{% if is_incremental() %}
pairs_with_new_views as (
    select distinct topic, user_id
    from topic_views
    where loaded_at > {{ watermark() }}
),

views as (
    select topic_views.*
    from topic_views
    join pairs_with_new_views using (topic, user_id)
),
{% else %}
views as (
    select * from topic_views
),
{% endif %}

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

select * from per_viewer

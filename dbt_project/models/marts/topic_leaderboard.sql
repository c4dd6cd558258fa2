-- Content topics ranked by views, all time, with total watch time and distinct viewers.
-- Rebuilt on every run from int_content_daily (views, watch time) and int_topic_viewers (one row per viewer).

with

totals as (
    select
        topic,
        {{ sum_measures(['views', 'watch_seconds']) }}
    from {{ ref('int_content_daily') }}
    where topic is not null
    group by topic
    having sum(views) > 0
),

viewers as (
    select topic, count(*) as viewers
    from {{ ref('int_topic_viewers') }}
    group by topic
)

select
    row_number() over (order by totals.views desc, totals.watch_seconds desc, totals.topic) as rank,
    totals.topic,
    totals.views,
    totals.watch_seconds,
    coalesce(viewers.viewers, 0)        as viewers
from totals
left join viewers using (topic)

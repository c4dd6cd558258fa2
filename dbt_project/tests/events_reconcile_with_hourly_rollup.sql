-- Every loaded event is counted once in the hourly rollup, per type: what dashboards show adds up to raw.
with
from_events as (
    select event_type, count(*) as n from {{ ref('stg_events') }} group by event_type
),
from_rollup as (
    unpivot (
        select
            sum(impressions) as impression, sum(clicks) as click, sum(conversions) as conversion,
            sum(views) as view, sum(earning_events) as earning
        from {{ ref('events_hourly') }}
    ) on impression, click, conversion, view, earning into name event_type value n
)
select coalesce(e.event_type, r.event_type) as event_type, e.n as events, r.n as rolled_up
from from_events as e
full outer join from_rollup as r using (event_type)
where coalesce(e.n, 0) <> coalesce(r.n, 0)

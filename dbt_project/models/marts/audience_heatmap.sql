-- When the audience is active, all time: one cell per weekday (0 = Monday .. 6 = Sunday) and UTC hour of day.
-- All 168 cells are present, zeros included, so a heatmap never has holes.
-- Rebuilt from the hourly rollup on every run (168 rows).

with

cells as (
    select day_of_week, hour_of_day
    from range(7) as days(day_of_week)
    cross join range(24) as hours(hour_of_day)
),

activity as (
    select
        isodow(event_hour) - 1          as day_of_week,
        hour(event_hour)                as hour_of_day,
        {{ sum_measures(['impressions', 'clicks', 'conversions', 'views', 'events', 'watch_seconds']) }}
    from {{ ref('events_hourly') }}
    group by all
)

select
    cast(cells.day_of_week as integer)                  as day_of_week,
    cast(cells.hour_of_day as integer)                  as hour_of_day,
    coalesce(activity.impressions, 0)                   as impressions,
    coalesce(activity.clicks, 0)                        as clicks,
    coalesce(activity.conversions, 0)                   as conversions,
    coalesce(activity.views, 0)                         as views,
    coalesce(activity.events, 0)                        as events,
    coalesce(activity.watch_seconds, 0)                 as watch_seconds
from cells
left join activity
    on activity.day_of_week = cells.day_of_week
    and activity.hour_of_day = cells.hour_of_day
order by day_of_week, hour_of_day

-- Content viewing by UTC hour of day and device, all time: when and on what people watch.
-- Average watch time per view = watch_seconds / views. Rebuilt from the hourly rollup on every run.

select
    cast(hour(event_hour) as integer)   as hour_of_day,
    device,
    {{ sum_measures(['views', 'watch_seconds']) }}
from {{ ref('events_hourly') }}
where views > 0
group by all

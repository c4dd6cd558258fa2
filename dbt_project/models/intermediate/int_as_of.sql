-- The warehouse's "now": the latest event hour loaded. Every "last hour / today / last N days" mart measures
-- from it rather than from the wall clock, so those marts agree with each other, with a rebuild, and with a
-- warehouse whose data stopped arriving (a backfill, a replay).
{{ config(materialized='ephemeral') }}  -- one max() over the hourly rollup, inlined where it is used

select
    max(event_hour)                 as as_of,
    cast(max(event_hour) as date)   as as_of_day
from {{ ref('events_hourly') }}

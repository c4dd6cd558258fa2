-- Headline KPIs for five windows, all measured back from as_of (the latest event hour in the warehouse,
-- see int_as_of) and all ending at as_of + 1 hour:
--   last_hour      the as_of hour bucket (the latest hour with events: complete in a backfill, filling in live)
--   today          the UTC day of as_of, from midnight
--   last_7_days    that day and the 6 before it (whole UTC days)
--   last_30_days   that day and the 29 before it
--   all_time       everything since the first event hour
-- Rates sit next to their numerators and denominators; they are null when the denominator is 0.
-- Five rows always; a small table rebuilt from the rollups on every run.

with

as_of as (
    select * from {{ ref('int_as_of') }}
),

windows as (
    select 'last_hour' as window_name, 1 as window_order, as_of as window_start from as_of
    union all
    select 'today', 2, cast(as_of_day as timestamp) from as_of
    union all
    select 'last_7_days', 3, cast(as_of_day - 6 as timestamp) from as_of
    union all
    select 'last_30_days', 4, cast(as_of_day - 29 as timestamp) from as_of
    union all
    select 'all_time', 5, (select min(event_hour) from {{ ref('events_hourly') }}) from as_of
),

last_hour_totals as (
    select
        'last_hour' as window_name,
        {{ sum_measures() }}
    from {{ ref('events_hourly') }}
    where event_hour = (select as_of from as_of)
),

daily_window_totals as (
    -- whole-day windows read the daily rollup: 24 times fewer rows than the hourly one
    select
        windows.window_name,
        {{ sum_measures() }}
    from windows
    join {{ ref('events_daily') }} as daily
        on daily.day >= cast(windows.window_start as date)
    where windows.window_name <> 'last_hour'
    group by windows.window_name
),

totals as (
    select * from last_hour_totals
    union all
    select * from daily_window_totals
),

filled as (
    select
        windows.window_name,
        windows.window_order,
        windows.window_start,
        as_of.as_of + interval '1 hour'     as window_end,
        as_of.as_of,
        {% for measure in all_measures() -%}
        coalesce(totals.{{ measure }}, 0)   as {{ measure }}{{ ',' if not loop.last }}
        {% endfor %}
    from windows
    cross join as_of
    left join totals using (window_name)
)

select
    window_name,
    window_start,
    window_end,
    as_of,
    impressions,
    clicks,
    conversions,
    views,
    spend,
    revenue,
    earnings,
    earning_events,
    events,
    watch_seconds,
    {{ ratio('clicks', 'impressions') }}    as ctr,
    {{ ratio('conversions', 'clicks') }}    as cvr,
    {{ ratio('spend', 'clicks') }}          as cpc,
    {{ ratio('spend', 'conversions') }}     as cpa,
    {{ ratio('revenue', 'spend') }}         as roas
from filled
order by window_order

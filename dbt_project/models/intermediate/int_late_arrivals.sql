-- One row per loaded events file: how late its events arrived compared with what the warehouse already held.
-- An event is late when an earlier load already had a newer event (event_ts < high_water_before); it is beyond
-- the lookback when it is more than var('lookback_hours') (72) older than that high-water mark. Every mart stays
-- exact for such events too (refreshes follow load time, not event time), but the test
-- `late_events_beyond_lookback` warns about them: forecasts and insights already computed from those days
-- are stale until they run again. Incremental: only new files are measured.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_partitions',
        unique_key='file_id',
    )
}}

with

events as (
    select file_id, loaded_at, event_ts
    from {{ ref('stg_events') }}
    {% if is_incremental() %}
    where loaded_at > {{ watermark('loaded_at') }}
    {% endif %}
),

files as (
    select
        file_id,
        loaded_at,
        count(*)            as events,
        min(event_ts)       as first_event_ts,
        max(event_ts)       as last_event_ts
    from events
    group by file_id, loaded_at
),

with_high_water as (
    select
        files.*,
        greatest(
            max(last_event_ts) over (order by loaded_at, file_id rows between unbounded preceding and 1 preceding),
            {% if is_incremental() %}(select max(last_event_ts) from {{ this }}){% else %}null{% endif %}
        ) as high_water_before
    from files
),

measured as (
    select
        files.file_id,
        count(*) filter (where events.event_ts < files.high_water_before)     as late_events,
        count(*) filter (
            where events.event_ts < files.high_water_before - interval '{{ var("lookback_hours") }} hours'
        )                                                                   as events_beyond_lookback
    from with_high_water as files
    join events using (file_id)
    group by files.file_id
)

select
    files.file_id,
    files.loaded_at,
    files.events,
    files.first_event_ts,
    files.last_event_ts,
    files.high_water_before,
    measured.late_events,
    round(greatest(epoch(files.high_water_before - files.first_event_ts), 0) / 3600, 3)    as max_lateness_hours,
    measured.events_beyond_lookback
from with_high_water as files
join measured using (file_id)

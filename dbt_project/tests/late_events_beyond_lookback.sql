-- Warns (does not fail) when a load brought events older than the lookback allows: the marts absorbed them
-- exactly, but consumers that already read those days (forecasts, insights) should run again.
{{ config(severity='warn') }}

select file_id, loaded_at, events_beyond_lookback, max_lateness_hours
from {{ ref('int_late_arrivals') }}
where events_beyond_lookback > 0

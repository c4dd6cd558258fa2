-- Totals per publisher (site or app), all time: ad delivery, content viewing and owner earnings.
-- Rebuilt from int_content_daily on every run (one row per publisher).

select
    publisher,
    {{ sum_measures(['impressions', 'clicks', 'conversions', 'views', 'watch_seconds', 'earning_events', 'spend', 'earnings']) }}
from {{ ref('int_content_daily') }}
where publisher is not null
group by publisher

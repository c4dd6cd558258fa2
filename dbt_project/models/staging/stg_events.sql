-- One row per event, typed and named for analysis. Money stays DECIMAL; missing money is zero.
-- Watch time becomes DECIMAL (to the millisecond) so its sums are exact and independent of row order.
select
    event_id,
    event_ts,
    cast(event_ts as date)              as event_date,
    date_trunc('hour', event_ts)        as event_hour,
    event_type,
    campaign_id,
    brand_id,
    channel,
    device,
    publisher,
    topic,
    creative_id,
    user_id,
    owner_id,
    coalesce(cost, 0)                   as cost,
    coalesce(revenue, 0)                as revenue,
    coalesce(amount, 0)                 as amount,
    cast(watch_seconds as decimal(18, 3))  as watch_seconds,
    _loaded_at                          as loaded_at,
    _file_id                            as file_id
from {{ source('raw', 'events') }}

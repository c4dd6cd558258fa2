-- The top var('top_campaigns_limit') (10) campaigns of the last hour (the as_of hour, see int_as_of), ranked
-- two ways:
--   impressions  most impressions first
--   ctr          highest click-through rate first, among campaigns with at least var('top_ctr_min_impressions')
--                (100) impressions in the hour: without the guard, 1 click on 2 impressions (50%) would top
--                the list on noise
-- Ties fall back to more impressions, then campaign_id, so the ranking is deterministic.

with

last_hour as (
    select
        hourly.event_hour,
        hourly.campaign_id,
        min(hourly.brand_id)        as event_brand_id,
        sum(hourly.impressions)     as impressions,
        sum(hourly.clicks)          as clicks
    from {{ ref('campaign_hourly') }} as hourly
    where hourly.event_hour = (select as_of from {{ ref('int_as_of') }})
    group by hourly.event_hour, hourly.campaign_id
),

named as (
    select
        last_hour.event_hour,
        last_hour.campaign_id,
        campaigns.campaign_name,
        coalesce(campaigns.brand_id, last_hour.event_brand_id)  as brand_id,
        cast(last_hour.impressions as bigint)                   as impressions,
        cast(last_hour.clicks as bigint)                        as clicks,
        {{ ratio('last_hour.clicks', 'last_hour.impressions') }} as ctr
    from last_hour
    left join {{ ref('stg_campaigns') }} as campaigns using (campaign_id)
),

by_impressions as (
    select
        'impressions' as ranked_by,
        row_number() over (order by impressions desc, clicks desc, campaign_id) as rank,
        *
    from named
    where impressions > 0
    qualify rank <= {{ var('top_campaigns_limit') }}
),

by_ctr as (
    select
        'ctr' as ranked_by,
        row_number() over (order by ctr desc, impressions desc, campaign_id) as rank,
        *
    from named
    where impressions >= {{ var('top_ctr_min_impressions') }}
    qualify rank <= {{ var('top_campaigns_limit') }}
)

select ranked_by, rank, event_hour, campaign_id, campaign_name, brand_id, impressions, clicks, ctr
from by_impressions
union all
select ranked_by, rank, event_hour, campaign_id, campaign_name, brand_id, impressions, clicks, ctr
from by_ctr

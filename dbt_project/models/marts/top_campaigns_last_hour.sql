-- The top var('top_campaigns_limit') (10) campaigns of the last hour (the as_of hour, see int_as_of), ranked
-- two ways:
--   impressions  most impressions first
--   ctr          highest ctr_lower_bound first: the lower end of the Wilson score interval of clicks /
--                impressions at var('top_ctr_confidence_z') (1.96: 95%), i.e. the CTR the hour's data
--                supports with that confidence. A raw CTR would put 1 click on 2 impressions (50%) on top; its
--                lower bound is 9%, and 40 clicks on 500 impressions (8%, bound 6%) beats 3 on 20 (15%, bound
--                5%). Only campaigns with at least var('top_ctr_min_impressions') (10) impressions are ranked:
--                a floor against bounds resting on a handful of impressions, not the guard itself.
-- Ties fall back to more impressions, then campaign_id, so the ranking is deterministic. Each row keeps the
-- raw ctr with its clicks and impressions, the score (ctr_lower_bound) and the guard of its ranking
-- (min_impressions).

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
        {{ ratio('last_hour.clicks', 'last_hour.impressions') }} as ctr,
        {{ wilson_lower_bound('last_hour.clicks', 'last_hour.impressions', var('top_ctr_confidence_z')) }}
                                                                as ctr_lower_bound
    from last_hour
    left join {{ ref('stg_campaigns') }} as campaigns using (campaign_id)
),

by_impressions as (
    select
        'impressions' as ranked_by,
        1 as min_impressions,
        row_number() over (order by impressions desc, clicks desc, campaign_id) as rank,
        *
    from named
    where impressions >= 1
    qualify rank <= {{ var('top_campaigns_limit') }}
),

by_ctr as (
    select
        'ctr' as ranked_by,
        {{ var('top_ctr_min_impressions') }} as min_impressions,
        row_number() over (order by ctr_lower_bound desc, impressions desc, campaign_id) as rank,
        *
    from named
    where impressions >= min_impressions
    qualify rank <= {{ var('top_campaigns_limit') }}
),

rankings as (
    select * from by_impressions
    union all
    select * from by_ctr
)

select
    ranked_by, rank, event_hour, campaign_id, campaign_name, brand_id, impressions, clicks, ctr, ctr_lower_bound,
    cast(min_impressions as bigint) as min_impressions
from rankings

-- Daily totals per campaign: the additive counts and sums every rate is derived from.
-- Rates are not stored: CTR = clicks / impressions, CPA = spend / conversions, ROAS = revenue / spend.
select
    e.event_date                                            as day,
    e.campaign_id,
    any_value(c.campaign_name)                              as campaign_name,
    coalesce(any_value(c.brand_id), any_value(e.brand_id))  as brand_id,
    count(*) filter (where e.event_type = 'impression')     as impressions,
    count(*) filter (where e.event_type = 'click')          as clicks,
    count(*) filter (where e.event_type = 'conversion')     as conversions,
    count(*) filter (where e.event_type = 'view')           as views,
    sum(e.cost)                                             as spend,
    sum(e.revenue)                                          as revenue,
    sum(e.amount)                                           as earnings,
    coalesce(sum(e.watch_seconds), 0)                       as watch_seconds
from {{ ref('stg_events') }} as e
left join {{ ref('stg_campaigns') }} as c using (campaign_id)
group by e.event_date, e.campaign_id

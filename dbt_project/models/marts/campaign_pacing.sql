-- Funnel and pace to goal per campaign: "at this pace, 50 conversions by Nov 15".
--   pace_conversions_per_day  conversions in the 7 x 24 hours ending with the as_of hour, per day; a campaign
--                             younger than that is measured over the hours since its first event
--   days_to_goal              remaining conversions / pace, in days from the end of the as_of hour
--   projected_goal_date       the UTC day that lands on (null past ten years: no useful horizon)
--   status                    no_goal | goal_reached | missed (ended short) | stalled (no conversions in the
--                             pace window) | on_track (projected by end_date, or open ended) | behind
-- A small table rebuilt from the campaign rollups on every run.

with

as_of as (
    select * from {{ ref('int_as_of') }}
),

to_date as (
    select
        campaign_id,
        cast(sum(impressions) as bigint)            as impressions_to_date,
        cast(sum(clicks) as bigint)                 as clicks_to_date,
        cast(sum(conversions) as bigint)            as conversions_to_date,
        cast(sum(spend) as decimal(38, 6))          as spend_to_date,
        cast(sum(revenue) as decimal(38, 6))        as revenue_to_date
    from {{ ref('campaign_daily') }}
    group by campaign_id
),

pace_window as (
    select
        campaign_id,
        greatest(min(event_hour), (select as_of from as_of) - interval '167 hours')    as pace_window_start,
        cast(coalesce(sum(conversions) filter (
            where event_hour > (select as_of from as_of) - interval '168 hours'
        ), 0) as bigint)                                                                as conversions_last_7_days
    from {{ ref('campaign_hourly') }}
    group by campaign_id
),

campaigns as (
    select
        coalesce(plan.campaign_id, to_date.campaign_id)     as campaign_id,
        plan.campaign_name,
        plan.brand_id,
        plan.start_date,
        plan.end_date,
        plan.goal_conversions,
        plan.target_cpa,
        coalesce(to_date.impressions_to_date, 0)            as impressions_to_date,
        coalesce(to_date.clicks_to_date, 0)                 as clicks_to_date,
        coalesce(to_date.conversions_to_date, 0)            as conversions_to_date,
        coalesce(to_date.spend_to_date, 0)                  as spend_to_date,
        coalesce(to_date.revenue_to_date, 0)                as revenue_to_date
    from {{ ref('stg_campaigns') }} as plan
    full outer join to_date using (campaign_id)
),

paced as (
    select
        campaigns.*,
        coalesce(pace_window.conversions_last_7_days, 0)                    as conversions_last_7_days,
        date_diff('hour', pace_window.pace_window_start, as_of.as_of) + 1   as pace_window_hours,
        as_of.as_of,
        as_of.as_of_day
    from campaigns
    cross join as_of
    left join pace_window using (campaign_id)
),

projected as (
    select
        *,
        goal_conversions - conversions_to_date                              as remaining_conversions,
        coalesce(conversions_last_7_days * 24.0 / pace_window_hours, 0)     as pace_conversions_per_day
    from paced
),

with_days as (
    select
        *,
        case
            when remaining_conversions <= 0 then 0.0
            when pace_conversions_per_day > 0 then remaining_conversions / pace_conversions_per_day
        end as days_to_goal_exact
    from projected
),

with_date as (
    select
        *,
        case
            when days_to_goal_exact <= 3650 then cast(make_timestamp(cast(
                epoch_us(as_of) + 3600e6 + days_to_goal_exact * 86400e6 as bigint
            )) as date)
        end as projected_goal_date
    from with_days
)

select
    campaign_id,
    campaign_name,
    brand_id,
    start_date,
    end_date,
    goal_conversions,
    conversions_to_date,
    impressions_to_date,
    clicks_to_date,
    spend_to_date,
    revenue_to_date,
    target_cpa,
    case
        when goal_conversions is not null then greatest(remaining_conversions, 0)
    end                                         as remaining_conversions,
    conversions_last_7_days,
    pace_window_hours,
    pace_conversions_per_day,
    round(days_to_goal_exact, 1)                as days_to_goal,
    projected_goal_date,
    case
        when goal_conversions is null or goal_conversions <= 0 then 'no_goal'
        when conversions_to_date >= goal_conversions then 'goal_reached'
        when end_date < as_of_day then 'missed'
        when pace_conversions_per_day = 0 then 'stalled'
        when end_date is null then 'on_track'
        when projected_goal_date <= end_date then 'on_track'
        else 'behind'
    end                                         as status,
    as_of
from with_date

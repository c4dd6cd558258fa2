-- Funnel, pace to goal and budget pacing per campaign: "at this pace, 50 conversions by Nov 15" and "spent 40%
-- of the budget with 55% of the flight gone". "Now" is the end of the as_of hour; a campaign has ended once its
-- end_date is before the as_of day, and has not started while its start_date is after it.
--
-- Goal (conversions):
--   goal_reached_date         the UTC day cumulative conversions (campaign_daily) first reached the goal
--   pace_conversions_per_day  conversions in the 7 x 24 hours ending with the as_of hour, per day; a campaign
--                             younger than that is measured over the hours since its first event
--   days_to_goal              remaining conversions / pace, in days from now; projected_goal_date the UTC day
--                             that lands on (null past ten years: no useful horizon). Both are projections, made
--                             only for a running campaign short of its goal: null once reached (see
--                             goal_reached_date), after the end date, before the start, when stalled.
--   projected_conversions_at_end  conversions to date + pace x the flight days left (to date once ended)
--   status                    no_goal | goal_reached (whenever reached, also after the end) | missed (ended
--                             short) | not_started | stalled (no conversions in the pace window) | on_track
--                             (projected by end_date, or open ended) | behind
-- Budget (spend):
--   flight_elapsed_days       days of the flight gone by now, between 0 and flight_days
--   expected_spend_to_date    budget x flight_elapsed_days / flight_days (open ended: daily_budget x days gone)
--   spend_pace_per_day        spend in the pace window, per day
--   projected_spend_at_end    spend to date + pace x the flight days left (to date once ended)
--   budget_pacing_ratio       spend_to_date / expected_spend_to_date
--   budget_status             no_budget | not_started | ended | underspending (ratio under
--                             var('budget_underspend_ratio')) | overspending (over var('budget_overspend_ratio'))
--                             | on_pace
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

cumulative as (
    select
        campaign_id,
        day,
        sum(conversions) over (partition by campaign_id order by day)  as conversions_through_day
    from {{ ref('campaign_daily') }}
),

reached as (
    select
        cumulative.campaign_id,
        min(cumulative.day)         as goal_reached_date
    from cumulative
    join {{ ref('stg_campaigns') }} as plan using (campaign_id)
    where plan.goal_conversions > 0 and cumulative.conversions_through_day >= plan.goal_conversions
    group by cumulative.campaign_id
),

pace_window as (
    select
        campaign_id,
        greatest(min(event_hour), (select as_of from as_of) - interval '167 hours')    as pace_window_start,
        cast(coalesce(sum(conversions) filter (
            where event_hour > (select as_of from as_of) - interval '168 hours'
        ), 0) as bigint)                                                                as conversions_last_7_days,
        cast(coalesce(sum(spend) filter (
            where event_hour > (select as_of from as_of) - interval '168 hours'
        ), 0) as decimal(38, 6))                                                        as spend_last_7_days
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
        plan.budget,
        plan.daily_budget,
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
        reached.goal_reached_date,
        coalesce(pace_window.conversions_last_7_days, 0)                    as conversions_last_7_days,
        coalesce(pace_window.spend_last_7_days, 0)                          as spend_last_7_days,
        date_diff('hour', pace_window.pace_window_start, as_of.as_of) + 1   as pace_window_hours,
        coalesce(campaigns.end_date < as_of.as_of_day, false)               as has_ended,
        coalesce(campaigns.start_date > as_of.as_of_day, false)             as not_started,
        date_diff('day', campaigns.start_date, campaigns.end_date) + 1      as flight_days,
        as_of.as_of,
        as_of.as_of_day
    from campaigns
    cross join as_of
    left join reached using (campaign_id)
    left join pace_window using (campaign_id)
),

projected as (
    select
        *,
        goal_conversions - conversions_to_date                              as remaining_conversions,
        coalesce(conversions_last_7_days * 24.0 / pace_window_hours, 0)     as pace_conversions_per_day,
        coalesce(spend_last_7_days * 24.0 / pace_window_hours, 0)           as spend_pace_per_day_exact,
        least(
            greatest(date_diff('hour', cast(start_date as timestamp), as_of) + 1, 0) / 24.0, flight_days
        )                                                                   as flight_elapsed_days
    from paced
),

with_days as (
    select
        *,
        flight_days - flight_elapsed_days                                   as flight_days_left,
        case
            when remaining_conversions > 0 and not has_ended and pace_conversions_per_day > 0
                then remaining_conversions / pace_conversions_per_day
        end                                                                 as days_to_goal_exact,
        coalesce(
            budget * flight_elapsed_days / flight_days,
            case when end_date is null then daily_budget * flight_elapsed_days end
        )                                                                   as expected_spend_exact
    from projected
),

with_date as (
    select
        *,
        case
            when days_to_goal_exact <= 3650 then cast(make_timestamp(cast(
                epoch_us(as_of) + 3600e6 + days_to_goal_exact * 86400e6 as bigint
            )) as date)
        end                                                                 as projected_goal_date,
        {{ ratio('spend_to_date', 'expected_spend_exact') }}                as budget_pacing_ratio
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
    end                                                 as remaining_conversions,
    goal_reached_date,
    conversions_last_7_days,
    pace_window_hours,
    pace_conversions_per_day,
    round(days_to_goal_exact, 1)                        as days_to_goal,
    projected_goal_date,
    case
        when goal_conversions > 0 then case
            when has_ended then conversions_to_date
            else conversions_to_date + pace_conversions_per_day * flight_days_left
        end
    end                                                 as projected_conversions_at_end,
    case
        when goal_conversions is null or goal_conversions <= 0 then 'no_goal'
        when conversions_to_date >= goal_conversions then 'goal_reached'
        when has_ended then 'missed'
        when not_started then 'not_started'
        when pace_conversions_per_day = 0 then 'stalled'
        when end_date is null then 'on_track'
        when projected_goal_date <= end_date then 'on_track'
        else 'behind'
    end                                                 as status,
    budget,
    daily_budget,
    {{ ratio('spend_to_date', 'budget') }}              as budget_spent_share,
    flight_days,
    round(flight_elapsed_days, 3)                       as flight_elapsed_days,
    cast(expected_spend_exact as decimal(38, 6))        as expected_spend_to_date,
    spend_last_7_days,
    cast(spend_pace_per_day_exact as decimal(38, 6))    as spend_pace_per_day,
    cast(case
        when has_ended then spend_to_date
        else spend_to_date + spend_pace_per_day_exact * flight_days_left
    end as decimal(38, 6))                              as projected_spend_at_end,
    budget_pacing_ratio,
    case
        when coalesce(budget, 0) <= 0 and coalesce(daily_budget, 0) <= 0 then 'no_budget'
        when not_started or start_date is null then 'not_started'
        when has_ended then 'ended'
        when budget_pacing_ratio < {{ var('budget_underspend_ratio') }} then 'underspending'
        when budget_pacing_ratio > {{ var('budget_overspend_ratio') }} then 'overspending'
        else 'on_pace'
    end                                                 as budget_status,
    as_of
from with_date

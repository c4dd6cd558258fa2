-- One row per campaign: what a campaign manager reads first. Pace and budget (campaign_pacing), the newest
-- `decide` run's goal odds (ml.goals), its conversions scenarios through the end date (the horizon when open
-- ended; campaign_scenarios has every metric and span), the open risks (campaign_risks), the gap to the
-- channel benchmarks (ml.benchmarks, all channels), the top insight (campaign_insights) and the recommendations
-- that touch the campaign, with the first-ranked one (campaign_pivots).
-- Before the first `decide` run the outlook columns are null.

with

goals as (
    {{ newest_outlook('goals') }}
),

conversions as (
    select *
    from {{ ref('campaign_scenarios') }}
    where metric = 'conversions'
    -- through the end date where there is one, else the horizon
    qualify dense_rank() over (partition by campaign_id order by span = 'to_end' desc) = 1
),

scenarios as (
    select
        campaign_id,
        any_value(span)                                                         as scenario_span,
        any_value(through_date)                                                 as scenario_through_date,
        any_value(to_date)                                                      as scenario_conversions_to_date,
        max(upper) filter (where scenario = 'pessimistic')                      as pessimistic_conversions,
        max(value) filter (where scenario = 'realistic')                        as realistic_conversions,
        max(lower) filter (where scenario = 'optimistic')                       as optimistic_conversions,
        max(measured_probability) filter (where scenario = 'pessimistic')       as pessimistic_measured_probability,
        max(measured_probability) filter (where scenario = 'realistic')         as realistic_measured_probability,
        max(measured_probability) filter (where scenario = 'optimistic')        as optimistic_measured_probability
    from conversions
    group by campaign_id
),

open_risks as (
    select
        campaign_id,
        count(*)                                                                as open_risks,
        count(*) filter (where severity = 'high')                               as open_high_risks,
        arg_max(summary, severity_rank * 10 + confidence)                       as top_risk,
        arg_max(risk_type, severity_rank * 10 + confidence)                     as top_risk_type
    from {{ ref('campaign_risks') }}
    where status = 'open'
    group by campaign_id
),

benchmark as (
    select * from ({{ newest_outlook('benchmarks') }}) as newest
    where channel = 'all'
),

pivots as (
    select
        campaign_id,
        count(distinct pivot_id)                                                as pivots,
        arg_min(kind, rank)                                                     as top_pivot_kind,
        arg_min(summary, rank)                                                  as top_pivot,
        arg_min(lift_p50, rank)                                                 as top_pivot_lift_p50,
        arg_min(confidence, rank)                                               as top_pivot_confidence
    from {{ ref('campaign_pivots') }}
    group by campaign_id
),

top_insight as (
    select campaign_id, key as top_insight_key, value as top_insight
    from {{ ref('campaign_insights') }}
    where rank = 1
)

select
    pacing.campaign_id,
    pacing.campaign_name,
    pacing.brand_id,
    pacing.start_date,
    pacing.end_date,
    pacing.goal_conversions,
    pacing.conversions_to_date,
    pacing.pace_conversions_per_day,
    pacing.projected_goal_date,
    pacing.status                                   as pace_status,
    goals.goal_probability,
    goals.goal_date_p10,
    goals.goal_date_p50,
    goals.goal_date_p90,
    pacing.budget,
    pacing.spend_to_date,
    pacing.budget_status,
    goals.overspend_probability,
    goals.underspend_probability,
    scenarios.scenario_span,
    scenarios.scenario_through_date,
    scenarios.scenario_conversions_to_date,
    scenarios.pessimistic_conversions,
    scenarios.realistic_conversions,
    scenarios.optimistic_conversions,
    scenarios.pessimistic_measured_probability,
    scenarios.realistic_measured_probability,
    scenarios.optimistic_measured_probability,
    coalesce(open_risks.open_risks, 0)              as open_risks,
    coalesce(open_risks.open_high_risks, 0)         as open_high_risks,
    open_risks.top_risk_type,
    open_risks.top_risk,
    benchmark.cpa_gap                               as benchmark_cpa_gap,
    benchmark.cpa_driver                            as benchmark_cpa_driver,
    top_insight.top_insight_key,
    top_insight.top_insight,
    coalesce(pivots.pivots, 0)                      as pivots,
    pivots.top_pivot_kind,
    pivots.top_pivot,
    pivots.top_pivot_lift_p50,
    pivots.top_pivot_confidence,
    goals.run_id                                    as decide_run_id,
    goals.created_at                                as decided_at
from {{ ref('campaign_pacing') }} as pacing
left join goals using (campaign_id)
left join scenarios using (campaign_id)
left join open_risks using (campaign_id)
left join benchmark using (campaign_id)
left join top_insight using (campaign_id)
left join pivots using (campaign_id)

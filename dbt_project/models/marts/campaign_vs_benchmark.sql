-- Each campaign's delivery per channel, all time, beside the published industry benchmark for that channel
-- (seed industry_benchmarks). Rates are derived next to their numerators; a null benchmark means no
-- trustworthy published figure exists for that channel and metric.

with

per_channel as (
    select
        campaign_id,
        channel,
        {{ sum_measures(['impressions', 'clicks', 'conversions', 'spend', 'revenue']) }}
    from {{ ref('events_daily') }}
    group by campaign_id, channel
)

select
    per_channel.campaign_id,
    campaigns.campaign_name,
    per_channel.channel,
    per_channel.impressions,
    per_channel.clicks,
    per_channel.conversions,
    per_channel.spend,
    per_channel.revenue,
    {{ ratio('per_channel.clicks', 'per_channel.impressions') }}     as ctr,
    {{ ratio('per_channel.conversions', 'per_channel.clicks') }}     as cvr,
    {{ ratio('per_channel.spend', 'per_channel.clicks') }}           as cpc,
    benchmarks.ctr                                                  as benchmark_ctr,
    benchmarks.cvr                                                  as benchmark_cvr,
    benchmarks.cpc                                                  as benchmark_cpc,
    benchmarks.source                                               as benchmark_source
from per_channel
left join {{ ref('stg_campaigns') }} as campaigns using (campaign_id)
left join {{ ref('industry_benchmarks') }} as benchmarks using (channel)

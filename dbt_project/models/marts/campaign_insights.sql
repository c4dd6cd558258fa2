-- What to know in a few sentences: the newest `decide` run's insights per campaign, ranked, each naming the
-- facts it rests on (evidence). Every number in an insight matched a fact that was sent; source says whether
-- the LLM or the rule-based writer wrote it. Empty until the first `decide` run.

with

insights as (
    {{ newest_outlook('insights') }}
)

select
    insights.campaign_id,
    campaigns.campaign_name,
    insights.rank,
    insights.key,
    insights.value,
    insights.metric,
    insights.trend,
    insights.evidence,
    insights.source,
    insights.model,
    insights.run_id,
    insights.created_at
from insights
left join {{ ref('stg_campaigns') }} as campaigns using (campaign_id)

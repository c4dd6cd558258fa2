-- The risk alert log: one row per problem found by the `decide` flow (dips, creative and audience fatigue,
-- competitor threats, pacing, data), open while it is still found, resolved once it is not. A continuing
-- problem is one row, updated by each run (detected_at), not one row per run. Platform-wide data risks have
-- campaign_id '*'. Empty until the first `decide` run.

with

risks as (
    {{ ml_table('risks', 'ml_outlook') }}
)

select
    risks.risk_id,
    risks.campaign_id,
    campaigns.campaign_name,
    risks.risk_type,
    risks.subject,
    risks.severity,
    risks.status,
    risks.window_start,
    risks.window_end,
    risks.first_detected_at,
    risks.detected_at,
    risks.resolved_at,
    risks.confidence,
    risks.summary,
    risks.evidence,
    case risks.severity when 'high' then 3 when 'medium' then 2 else 1 end    as severity_rank
from risks
left join {{ ref('stg_campaigns') }} as campaigns using (campaign_id)

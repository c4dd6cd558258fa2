-- Where each campaign lands: the newest `decide` run's cumulative scenarios per campaign, metric and span
-- (the forecast horizon, and through the end date), three bands each, with the probability each band states
-- beside the share of backtest outcomes that actually landed in it. Totals at through_date are
-- to_date + the band's values. Empty until the first `decide` run.
-- A small table rebuilt on every run, and by the decide flow right after it writes.

with

scenarios as (
    {{ newest_outlook('scenarios') }}
)

select
    scenarios.campaign_id,
    campaigns.campaign_name,
    scenarios.metric,
    scenarios.span,
    scenarios.scenario,
    scenarios.from_date,
    scenarios.through_date,
    scenarios.days,
    scenarios.to_date,
    scenarios.lower,
    scenarios.value,
    scenarios.upper,
    scenarios.stated_probability,
    scenarios.measured_probability,
    scenarios.calibration_n,
    scenarios.extrapolated,
    scenarios.market_factor,
    scenarios.market_evidence,
    scenarios.run_id,
    scenarios.created_at
from scenarios
left join {{ ref('stg_campaigns') }} as campaigns using (campaign_id)

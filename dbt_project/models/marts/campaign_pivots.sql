-- What to change: the newest `decide` run's recommendations (ml.pivots), each with the lines its budget moves
-- (ml.pivot_moves), ranked by predicted impact x confidence. A move across a brand's campaigns shows under
-- every campaign it touches; kinds that move no budget (creative refresh, audience expansion) have one row with
-- no channel. Empty until the first `decide` run.

with

pivots as (
    {{ newest_outlook('pivots') }}
),

moves as (
    select * from ({{ ml_table('pivot_moves', 'ml_outlook') }}) as moves
    where run_id = (select any_value(run_id) from pivots)
)

select
    coalesce(moves.campaign_id, pivots.campaign_id)     as campaign_id,
    campaigns.campaign_name,
    pivots.brand_id,
    pivots.rank,
    pivots.pivot_id,
    pivots.kind,
    pivots.level,
    pivots.summary,
    moves.channel,
    moves.current_spend,
    moves.recommended_spend,
    moves.change,
    pivots.spend_moved,
    pivots.horizon_days,
    pivots.conversions,
    pivots.lift_p10,
    pivots.lift_p50,
    pivots.lift_p90,
    pivots.confidence,
    pivots.impact,
    pivots.extrapolated,
    pivots.assumptions,
    pivots.response_run_id,
    pivots.run_id,
    pivots.created_at
from pivots
left join moves using (pivot_id)
left join {{ ref('stg_campaigns') }} as campaigns
    on campaigns.campaign_id = coalesce(moves.campaign_id, pivots.campaign_id)
